"""bf16 against fp32 in bertwork, interleaved: `bertwork bench --json` for each preset
and precision, the order flipping every round; prints every run, the median tokens/s,
the median of the per-round ratios (bf16 / fp32) and the MFU each run measured against
a matmul peak of its own precision taken in the same process.

    python3 bench/precision.py --presets tiny,mini --rounds 3
    python3 bench/precision.py --presets mini --rounds 3 --args "--real-batches 16"

Standard library only.
"""

import argparse
import json
import statistics
import subprocess


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bertwork", default="target/release/bertwork")
    p.add_argument("--presets", default="tiny,mini")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--args", default="", help="extra arguments for bertwork bench")
    a = p.parse_args()
    for preset in a.presets.split(","):
        base = [a.bertwork, "bench", "--json", "--device", "cpu", "--preset", preset,
                "--steps", str(a.steps)] + a.args.split()
        runs = {"fp32": [], "bf16": []}
        ratios = []
        for r in range(a.rounds):
            order = ["fp32", "bf16"] if r % 2 == 0 else ["bf16", "fp32"]
            got = {}
            for prec in order:
                res = run(base + ["--set", f"train.precision={prec}"])
                got[prec] = res
                runs[prec].append(res)
                print(f"{preset} round {r + 1} {prec}: {res['tokens_per_s']:.0f} tokens/s, "
                      f"MFU {100 * res['mfu']:.0f}% of {res['peak_gflops']:.0f} GFLOP/s",
                      flush=True)
            ratios.append(got["bf16"]["tokens_per_s"] / got["fp32"]["tokens_per_s"])
        for prec, rs in runs.items():
            print(f"{preset} {prec}: median {statistics.median(x['tokens_per_s'] for x in rs):.0f} "
                  f"tokens/s, MFU {100 * statistics.median(x['mfu'] for x in rs):.0f}% "
                  f"(peak median {statistics.median(x['peak_gflops'] for x in rs):.0f} GFLOP/s)")
        print(f"{preset} bf16/fp32: median of per-round ratios {statistics.median(ratios):.2f}x "
              f"({', '.join(f'{x:.2f}' for x in ratios)})")


if __name__ == "__main__":
    main()
