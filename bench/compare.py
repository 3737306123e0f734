"""Side-by-side: `bertwork bench` against the HF reference (bench/hf_reference.py) on
the same shapes and threads, run alternately (order flipped every round) so that
machine noise hits both; prints per-run figures and the median ratio, and MFU against
a matmul peak measured in the same run.

    python bench/compare.py --bertwork target/release/bertwork --presets tiny,mini

FLOPs per trained token (forward x 3 for forward + backward):
    3 * [ L * (24 H^2 + 4 S H) + f * (2 H^2 + 2 H V) ]
with f the share of positions projected onto the vocabulary: 1 for HF (every
position), the masked share (0.15) for bertwork.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

PRESETS = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512),
           "base": (12, 768)}
HERE = Path(__file__).resolve().parent


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def flops_per_token(preset, seq, vocab, projected):
    layers, h = PRESETS[preset]
    fwd = layers * (24 * h * h + 4 * seq * h) + projected * (2 * h * h + 2 * h * vocab)
    return 3 * fwd


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bertwork", default="target/release/bertwork")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--presets", default="tiny,mini")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    shape = ["--seq-len", str(a.seq_len), "--batch-size", str(a.batch_size),
             "--steps", str(a.steps), "--threads", str(a.threads)]
    ref = [a.python, str(HERE / "hf_reference.py")]
    peaks = [run_json(ref + ["--peak", "--threads", str(a.threads)])["matmul_gflops"]]
    results = {}
    for preset in a.presets.split(","):
        # The reference trains with BERT's dropout 0.1; so does bertwork here, whatever
        # its default (0 since issue 11), so that both do the same work.
        ours_cmd = [a.bertwork, "bench", "--json", "--preset", preset, "--vocab",
                    str(a.vocab), "--device", "cpu", "--set", "model.dropout=0.1"] + shape
        hf_cmd = ref + ["--preset", preset, "--vocab", str(a.vocab)] + shape
        runs = {"bertwork": [], "hf": []}
        for r in range(a.rounds):
            order = [("bertwork", ours_cmd), ("hf", hf_cmd)]
            for name, cmd in (order if r % 2 == 0 else order[::-1]):
                tps = run_json(cmd)["tokens_per_s"]
                runs[name].append(tps)
                print(f"{preset} round {r + 1} {name:8} {tps:9.0f} tokens/s", flush=True)
        results[preset] = runs
    peaks.append(run_json(ref + ["--peak", "--threads", str(a.threads)])["matmul_gflops"])
    peak = statistics.median(peaks) * 1e9
    summary = {"threads": a.threads, "seq_len": a.seq_len, "batch_size": a.batch_size,
               "vocab": a.vocab, "matmul_peak_gflops": peak / 1e9, "presets": {}}
    for preset, runs in results.items():
        ours, hf = statistics.median(runs["bertwork"]), statistics.median(runs["hf"])
        ratios = [o / h for o, h in zip(runs["bertwork"], runs["hf"])]
        summary["presets"][preset] = {
            "bertwork_tokens_per_s": ours, "hf_tokens_per_s": hf,
            "ratio_of_medians": ours / hf, "median_of_paired_ratios": statistics.median(ratios),
            "bertwork_mfu": ours * flops_per_token(preset, a.seq_len, a.vocab, 0.15) / peak,
            "hf_mfu": hf * flops_per_token(preset, a.seq_len, a.vocab, 1.0) / peak,
            "runs": runs,
        }
        print(f"{preset}: bertwork {ours:.0f} vs HF {hf:.0f} tokens/s -> {ours / hf:.2f}x "
              f"(paired median {statistics.median(ratios):.2f}x)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
