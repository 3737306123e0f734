"""Time to quality: how long a newcomer waits until the model visibly learns.

Runs configurations x seeds of `bertwork train --headless --json` on one machine,
one run at a time, each stopped (SIGTERM: finish the step, save) after --minutes of
wall time, with a held-out evaluation and a kept checkpoint every --eval-every steps.
Then probes every kept checkpoint with bench/probes.txt (`bertwork probe --step N`).

Per run it reports minutes, steps, sequences and tokens (sequences x data.max_seq_len,
padding included) to
  - context onset: held-out MLM loss at least 0.10 below the run's no-context floor;
  - the probe milestone: both `adjective` probes of the first two lines of
    bench/probes.txt rank at least two evaluative adjectives in their top 5;
and the held-out MLM loss per word (loss per token x held-out tokens per word, so
vocabularies compare) at 2, 5 and 10 minutes, plus the final probes.

    python bench/to_quality.py --bertwork target/release/bertwork \\
        --configs bench/to_quality.json --seeds 1,2,3 --minutes 10 --out runs/tq

Writes OUT/results.json, OUT/table.md and, when matplotlib is installed,
OUT/loss_per_word.png (one line per configuration, the median over seeds).
"""

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_words(path):
    return {line.strip() for line in Path(path).read_text().splitlines()
            if line.strip() and not line.startswith("#")}


# Shared with `bertwork report` (src/probe/milestone.rs), which reads the same file.
EVALUATIVE = load_words(HERE / "evaluative.txt")
MARKS = (2, 5, 10)


def load_probes(path):
    probes = []
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, text = line.split("\t", 1)
            probes.append((kind, text))
    return probes


def train(args, name, sets, seed, home):
    # Session names allow letters, digits, '-', '_' and '.'.
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    session = f"tq-{safe}-s{seed}"
    cmd = [args.bertwork, "train", "--headless", "--json", "--session", session,
           "--threads", str(args.threads), "--set", f"train.seed={seed}",
           "--set", f"train.eval_every={args.eval_every}",
           "--set", f"train.checkpoint_every={args.eval_every}",
           "--set", "train.keep_checkpoints=100000"]
    for s in sets:
        cmd += ["--set", s]
    env = dict(os.environ, BERTWORK_HOME=str(home))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    deadline = time.monotonic() + args.minutes * 60
    started = None
    stopped = False
    for line in proc.stdout:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("event") == "started":
            started = event
            # For watching a run in progress: the floor and the plan.
            (Path(home) / f"{session}.started.json").write_text(json.dumps(event))
        if not stopped and time.monotonic() > deadline:
            proc.send_signal(signal.SIGTERM)
            stopped = True
    proc.wait()
    if started is None:
        sys.exit(f"{name} seed {seed}: the run did not start ({' '.join(cmd)})")
    return session, started


def evals(home, session):
    """(step, wall seconds, held-out MLM loss) of each evaluation, in order."""
    path = Path(home) / "sessions" / session / "metrics.csv"
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "heldout"]
    return [(int(r["step"]), float(r["wall_s"]), float(r["mlm_loss"])) for r in rows]


def probe_checkpoints(args, home, session, probes):
    """{step: [top-5 token lists, one per probe]} for every kept checkpoint."""
    root = Path(home) / "sessions" / session / "checkpoints"
    steps = sorted(int(p.name[5:]) for p in root.glob("step-*") if p.is_dir())
    env = dict(os.environ, BERTWORK_HOME=str(home))
    out = {}
    for step in steps:
        cmd = [args.bertwork, "probe", "--session", session, "--step", str(step),
               "--json", *[text for _, text in probes]]
        lines = subprocess.run(cmd, check=True, capture_output=True, text=True,
                               env=env).stdout.splitlines()
        out[step] = [[p["token_str"] for p in json.loads(l)] for l in lines]
    return out


def adjective_milestone(tops, probes):
    adjectives = [i for i, (kind, _) in enumerate(probes) if kind == "adjective"][:2]
    return all(sum(t in EVALUATIVE for t in tops[i][:5]) >= 2 for i in adjectives)


def summarize(name, seed, started, rows, probed, probes):
    floor = started["no_context_mlm_loss"]
    per_word = started["heldout_tokens_per_word"]
    config = started["config"]
    seq, batch = config["data"]["max_seq_len"], config["train"]["batch_size"]

    def at_step(step, wall):
        seqs = step * batch
        return {"minutes": wall / 60, "steps": step, "sequences": seqs,
                "tokens": seqs * seq}

    wall_of = {s: w for s, w, _ in rows}
    onset = next((at_step(s, w) for s, w, l in rows if l <= floor - 0.10), None)
    milestone_step = next((s for s in sorted(probed)
                           if adjective_milestone(probed[s], probes)), None)
    milestone = None
    if milestone_step is not None and milestone_step in wall_of:
        milestone = at_step(milestone_step, wall_of[milestone_step])
    final = max(probed) if probed else None
    return {
        "config": name, "seed": seed, "floor": floor, "tokens_per_word": per_word,
        "onset": onset, "milestone": milestone,
        "curve": [(w / 60, l * per_word) for _, w, l in rows],
        "final_step": final,
        "final_probes": {text: probed[final][i]
                         for i, (_, text) in enumerate(probes)} if final else {},
    }


def loss_at(result, minutes):
    """Loss per word of the last evaluation by `minutes`; None if the run was shorter."""
    curve = result["curve"]
    if not curve or curve[-1][0] < minutes:
        return None
    seen = [loss for m, loss in curve if m <= minutes]
    return seen[-1] if seen else None


def median_of(results, key):
    """'minutes / steps / tokens' medians over the runs (a run that never got there
    counts as infinitely late)."""
    def med(field):
        values = [r[key][field] if r[key] else float("inf") for r in results]
        return statistics.median(values)
    minutes = med("minutes")
    if minutes == float("inf"):
        return "not reached"
    return f"{minutes:.1f} / {med('steps'):,.0f} / {med('tokens') / 1e6:.1f}M"


def table(results):
    lines = ["| config | seed | onset: min / steps / tokens | probe milestone: min / steps / tokens "
             "| loss/word at 2 / 5 / 10 min |", "|---|---|---|---|---|"]

    def cell(m):
        if not m:
            return "not reached"
        return f"{m['minutes']:.1f} / {m['steps']:,} / {m['tokens'] / 1e6:.1f}M"

    for r in results:
        marks = " / ".join("-" if v is None else f"{v:.3f}"
                           for v in (loss_at(r, m) for m in MARKS))
        lines.append(f"| {r['config']} | {r['seed']} | {cell(r['onset'])} | "
                     f"{cell(r['milestone'])} | {marks} |")
    names = sorted({r["config"] for r in results})
    lines += ["", "| config | runs | median onset: min / steps / tokens "
              "| median milestone: min / steps / tokens | median loss/word at 2 / 5 / 10 min |",
              "|---|---|---|---|---|"]
    for n in names:
        rs = [r for r in results if r["config"] == n]
        marks = []
        for m in MARKS:
            values = [v for v in (loss_at(r, m) for r in rs) if v is not None]
            marks.append(f"{statistics.median(values):.3f}" if values else "-")
        lines.append(f"| {n} | {len(rs)} | {median_of(rs, 'onset')} | "
                     f"{median_of(rs, 'milestone')} | {' / '.join(marks)} |")
    return "\n".join(lines)


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, name in enumerate(sorted({r["config"] for r in results})):
        runs = [r for r in results if r["config"] == name]
        color = colors[i % len(colors)]
        for j, r in enumerate(runs):
            xs, ys = zip(*r["curve"]) if r["curve"] else ((), ())
            seeds = ", ".join(str(r["seed"]) for r in runs)
            plural = "s" if len(runs) > 1 else ""
            label = f"{name} (seed{plural} {seeds})" if j == 0 else None
            ax.plot(xs, ys, color=color, linewidth=1.2, label=label)
        # The no-context floor of this configuration, per word.
        floor = statistics.median(r["floor"] * r["tokens_per_word"] for r in runs)
        ax.axhline(floor, color=color, linestyle=":", linewidth=1,
                   label=f"{name}: no-context floor")
        for r in runs:
            for key, marker in (("onset", "o"), ("milestone", "*")):
                if r[key]:
                    m = r[key]["minutes"]
                    y = next((l for x, l in r["curve"] if x >= m), None)
                    if y is not None:
                        ax.plot([m], [y], marker=marker, color=color, markersize=9)
    ax.plot([], [], "ko", label="context onset")
    ax.plot([], [], "k*", markersize=9, label="adjective-probe milestone")
    ax.set_xlabel("minutes (2 CPU cores)")
    ax.set_ylabel("held-out MLM loss per word (nats)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bertwork", default="target/release/bertwork")
    p.add_argument("--configs", default=str(HERE / "to_quality.json"),
                   help="JSON object: configuration name -> list of KEY=VALUE --set values")
    p.add_argument("--only", help="comma-separated configuration names to run")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--probes", default=str(HERE / "probes.txt"))
    p.add_argument("--out", default="runs/to-quality")
    p.add_argument("--report", action="store_true",
                   help="only write the table and plot from OUT/results.json")
    args = p.parse_args()
    out = Path(args.out)
    if args.report:
        results = json.loads((out / "results.json").read_text())
        report(results, out)
        return
    configs = json.loads(Path(args.configs).read_text())
    if args.only:
        configs = {k: v for k, v in configs.items() if k in args.only.split(",")}
    probes = load_probes(args.probes)
    home = out / "home"
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for name, sets in configs.items():
            print(f"{name} seed {seed}: training for {args.minutes} min", file=sys.stderr)
            session, started = train(args, name, sets, seed, home)
            rows = evals(home, session)
            probed = probe_checkpoints(args, home, session, probes)
            results.append(summarize(name, seed, started, rows, probed, probes))
            (out / "results.json").write_text(json.dumps(results, indent=1))
    report(results, out)


def report(results, out):
    text = table(results)
    (out / "table.md").write_text(text + "\n")
    print(text)
    plot(results, out / "loss_per_word.png")


if __name__ == "__main__":
    main()
