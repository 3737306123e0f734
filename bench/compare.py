"""Side-by-side: `bertwork bench` against PyTorch references (bench/hf_reference.py:
HF transformers with its own full head, and the expert's sparse head, eager and
torch.compile'd) on the same shapes, threads and batches, run alternately (the order
rotates every round) so that machine noise hits all; prints every run, the medians,
bertwork's ratio to each reference (ratio of medians and median of the per-round
ratios) and MFU against a matmul peak measured in the same run.

    python bench/compare.py --bertwork target/release/bertwork --presets tiny,mini
    python bench/compare.py --real-batches 8     # real-corpus batches, padding included
    python bench/compare.py --precision bf16 --references hf-sparse-bf16   # both in bf16

With --real-batches, both sides train on the same first N batches of the embedded
corpus (bertwork writes them, the reference reads them) and tokens/s counts
non-padding tokens; otherwise random full batches of B x S tokens.
`--realtime` runs every benchmark under `chrt -f 10` (root), so that other processes
on the machine cannot take its cores mid-step.

FLOPs per trained token (forward x 3 for forward + backward):
    3 * [ L * (24 H^2 + 4 S H) + f * (2 H^2 + 2 H V) ]
with f the share of positions projected onto the vocabulary: 1 for HF's full head,
the masked share (0.15) for the sparse heads and bertwork.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PRESETS = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512),
           "base": (12, 768)}
HERE = Path(__file__).resolve().parent
REFERENCES = {
    "hf": ["--head", "full"],
    "hf-sparse": ["--head", "sparse"],
    "hf-sparse-fused": ["--head", "sparse", "--fused-adamw"],
    "hf-sparse-compile": ["--head", "sparse", "--compile"],
    "hf-sparse-bf16": ["--head", "sparse", "--bf16"],
}


def run_json(cmd, realtime):
    if realtime:
        cmd = ["chrt", "-f", "10"] + cmd
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
    p.add_argument("--references", default="hf,hf-sparse,hf-sparse-compile",
                   help="comma-separated, from: " + ", ".join(REFERENCES))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.0,
                   help="both sides (bertwork's default is 0)")
    p.add_argument("--real-batches", type=int, default=0)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="both sides' precision (bertwork's train.precision; bf16 needs the "
                        "-bf16 references); MFU is against a matmul peak in it")
    p.add_argument("--bertwork-args", default="",
                   help="extra arguments for bertwork bench, e.g. '--without allocator'")
    p.add_argument("--realtime", action="store_true")
    a = p.parse_args()
    refs = [r for r in a.references.split(",") if r]
    shape = ["--seq-len", str(a.seq_len), "--batch-size", str(a.batch_size),
             "--steps", str(a.steps), "--threads", str(a.threads)]
    ref = [a.python, str(HERE / "hf_reference.py")]
    bf16 = a.precision == "bf16"
    peak_cmd = ref + ["--peak", "--threads", str(a.threads)] + (["--bf16"] if bf16 else [])
    mismatched = [r for r in refs if ("bf16" in r) != bf16]
    if mismatched:
        sys.exit(f"references {', '.join(mismatched)} do not run in {a.precision}; "
                 f"pass --precision {'fp32' if bf16 else 'bf16'} or other references")
    peaks = [run_json(peak_cmd, a.realtime)["matmul_gflops"]]
    tmp = tempfile.TemporaryDirectory()
    results = {}
    for preset in a.presets.split(","):
        ours_cmd = [a.bertwork, "bench", "--json", "--preset", preset, "--vocab",
                    str(a.vocab), "--device", "cpu",
                    "--set", f"model.dropout={a.dropout}",
                    "--set", f"train.precision={a.precision}"] + shape + a.bertwork_args.split()
        vocab = a.vocab
        ref_extra = ["--dropout", str(a.dropout)]
        if a.real_batches:
            batches = str(Path(tmp.name) / f"{preset}.safetensors")
            first = run_json(ours_cmd + ["--real-batches", str(a.real_batches),
                                         "--dump-batches", batches], a.realtime)
            vocab = first["vocab"]
            ours_cmd += ["--real-batches", str(a.real_batches)]
            ref_extra += ["--batches", batches]
        cmds = {"bertwork": ours_cmd}
        for r in refs:
            cmds[r] = (ref + ["--preset", preset, "--vocab", str(vocab)] + shape
                       + ref_extra + REFERENCES[r])
        runs = {name: [] for name in cmds}
        names = list(cmds)
        for rnd in range(a.rounds):
            shift = rnd % len(names)
            for name in names[shift:] + names[:shift]:
                tps = run_json(cmds[name], a.realtime)["tokens_per_s"]
                runs[name].append(tps)
                print(f"{preset} round {rnd + 1} {name:18} {tps:9.0f} tokens/s", flush=True)
        results[preset] = (runs, vocab)
    peaks.append(run_json(peak_cmd, a.realtime)["matmul_gflops"])
    peak = statistics.median(peaks) * 1e9
    summary = {"precision": a.precision,
               "threads": a.threads, "seq_len": a.seq_len, "batch_size": a.batch_size,
               "real_batches": a.real_batches, "dropout": a.dropout,
               "matmul_peak_gflops": peak / 1e9, "presets": {}}
    for preset, (runs, vocab) in results.items():
        ours = statistics.median(runs["bertwork"])
        entry = {"vocab": vocab, "runs": runs, "bertwork_tokens_per_s": ours,
                 "bertwork_mfu": ours * flops_per_token(preset, a.seq_len, vocab, 0.15) / peak,
                 "references": {}}
        for r in refs:
            theirs = statistics.median(runs[r])
            paired = statistics.median(o / t for o, t in zip(runs["bertwork"], runs[r]))
            projected = 1.0 if r == "hf" else 0.15
            entry["references"][r] = {
                "tokens_per_s": theirs, "ratio_of_medians": ours / theirs,
                "median_of_paired_ratios": paired,
                "mfu": theirs * flops_per_token(preset, a.seq_len, vocab, projected) / peak}
            print(f"{preset}: bertwork {ours:.0f} vs {r} {theirs:.0f} tokens/s -> "
                  f"{ours / theirs:.2f}x (paired median {paired:.2f}x)")
        print(f"{preset}: bertwork MFU {entry['bertwork_mfu']:.0%} "
              f"(matmul peak {peak / 1e9:.0f} GFLOP/s)")
        summary["presets"][preset] = entry
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
