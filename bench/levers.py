"""What each of bertwork's speed levers gains, one at a time: `bertwork bench` with
every lever on against the same with one lever off (`--without LEVER`), alternated
(the order flips every round) on the same shapes; prints every run, the medians and
the median of the per-round ratios (on / off).

    python3 bench/levers.py --presets tiny,mini --rounds 5 --realtime
    python3 bench/levers.py --presets tiny --real-batches 8    # real-corpus batches

`--realtime` runs each benchmark under `chrt -f 10` (root) so that other processes
cannot take its cores mid-step. Standard library only.
"""

import argparse
import json
import statistics
import subprocess

LEVERS = ["allocator", "fused-adamw", "unpadding", "fused-cross-entropy"]


def tokens_per_s(cmd, realtime):
    if realtime:
        cmd = ["chrt", "-f", "10"] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["tokens_per_s"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bertwork", default="target/release/bertwork")
    p.add_argument("--presets", default="tiny,mini")
    p.add_argument("--levers", default=",".join(LEVERS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--real-batches", type=int, default=0)
    p.add_argument("--args", default="", help="extra arguments for bertwork bench")
    p.add_argument("--realtime", action="store_true")
    a = p.parse_args()
    summary = {}
    for preset in a.presets.split(","):
        base = [a.bertwork, "bench", "--json", "--device", "cpu", "--preset", preset,
                "--steps", str(a.steps)] + a.args.split()
        if a.real_batches:
            base += ["--real-batches", str(a.real_batches)]
        for lever in a.levers.split(","):
            on, off = [], []
            for r in range(a.rounds):
                pair = [("on", base), ("off", base + ["--without", lever])]
                for name, cmd in (pair if r % 2 == 0 else pair[::-1]):
                    (on if name == "on" else off).append(tokens_per_s(cmd, a.realtime))
                print(f"{preset} {lever} round {r + 1}: on {on[-1]:.0f} off {off[-1]:.0f} "
                      f"tokens/s", flush=True)
            paired = statistics.median(x / y for x, y in zip(on, off))
            summary[f"{preset} {lever}"] = {
                "on": statistics.median(on), "off": statistics.median(off),
                "median_paired_ratio": paired, "runs_on": on, "runs_off": off}
            print(f"{preset} {lever}: {statistics.median(on):.0f} vs "
                  f"{statistics.median(off):.0f} tokens/s, gain x{paired:.3f} "
                  f"(median of paired ratios)", flush=True)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
