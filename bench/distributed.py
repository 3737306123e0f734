#!/usr/bin/env python3
"""Data-parallel throughput on one machine: `bertwork train --nproc R` with T threads
per rank against one process with R*T threads, at the same global batch, rounds
interleaved (the order alternates each round). Tokens/s is the median of the logged
intervals after the first (warm-up) one; the report gives the ratio of medians and the
median of the per-round ratios.

    python3 bench/distributed.py --bertwork target/release/bertwork --presets tiny,mini

With --overlap-ab it compares instead the ranks with gradient averaging overlapped with
backward (DDP's reducer, the default) against averaging after backward
(BERTWORK_DDP_OVERLAP=0), both with --nproc.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run(bertwork, home, preset, nproc, threads, batch, steps, realtime, overlap=True):
    cmd = [bertwork, "train", "--headless", "--json", "--preset", preset,
           "--max-steps", str(steps), "--threads", str(threads),
           "--set", f"train.batch_size={batch}", "--set", "train.eval_every=0",
           "--set", "train.checkpoint_every=0", "--set", f"train.log_every={max(steps // 6, 1)}"]
    if nproc > 1:
        cmd += ["--nproc", str(nproc)]
    if realtime:
        cmd = ["chrt", "-f", "10"] + cmd
    env = dict(os.environ, BERTWORK_HOME=home, BERTWORK_DDP_OVERLAP="1" if overlap else "0")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    rates = [json.loads(l)["tokens_per_s"] for l in out.stdout.splitlines()
             if l.startswith('{"event":"step"')]
    return statistics.median(rates[1:]) if len(rates) > 1 else rates[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bertwork", default="target/release/bertwork")
    p.add_argument("--presets", default="tiny,mini")
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="threads per rank")
    p.add_argument("--global-batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--realtime", action="store_true", help="run under chrt -f 10")
    p.add_argument("--overlap-ab", action="store_true",
                   help="ranks with overlap against ranks without, instead of ranks against threads")
    a = p.parse_args()
    if a.global_batch % a.nproc:
        sys.exit(f"--global-batch {a.global_batch} is not a multiple of --nproc {a.nproc}")
    home = tempfile.mkdtemp(prefix="bertwork-dist-bench-")
    other = "the same without overlap" if a.overlap_ab else f"1 process x {a.nproc * a.threads} threads"
    print(f"{a.nproc} ranks x {a.threads} thread(s) vs {other}, "
          f"global batch {a.global_batch}, {a.steps} steps, {a.rounds} rounds interleaved")
    for preset in a.presets.split(","):
        ddp, one, ratios = [], [], []
        for r in range(a.rounds):
            order = ["ddp", "one"] if r % 2 == 0 else ["one", "ddp"]
            got = {}
            for which in order:
                if which == "ddp":
                    got[which] = run(a.bertwork, home, preset, a.nproc, a.threads,
                                     a.global_batch // a.nproc, a.steps, a.realtime)
                elif a.overlap_ab:
                    got[which] = run(a.bertwork, home, preset, a.nproc, a.threads,
                                     a.global_batch // a.nproc, a.steps, a.realtime, overlap=False)
                else:
                    got[which] = run(a.bertwork, home, preset, 1, a.nproc * a.threads,
                                     a.global_batch, a.steps, a.realtime)
            ddp.append(got["ddp"])
            one.append(got["one"])
            ratios.append(got["ddp"] / got["one"])
        md, mo = statistics.median(ddp), statistics.median(one)
        label = "without overlap" if a.overlap_ab else "1 process"
        print(f"{preset}: {a.nproc} ranks {md:,.0f} tok/s, {label} {mo:,.0f} tok/s, "
              f"ratio of medians {md / mo:.3f}, median of paired ratios {statistics.median(ratios):.3f}  "
              f"(rounds: ranks {[round(x) for x in ddp]}, {label} {[round(x) for x in one]})")


if __name__ == "__main__":
    main()
