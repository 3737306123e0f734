#!/usr/bin/env python3
"""Write a large CSV in the IMDB layout (`review,sentiment`) for preparation measurements.

Reviews are made by resampling sentences of a source CSV (by default the embedded
2,000-review sample, assets/imdb_sample.csv; pass the 25,000-review corpus from
scripts/build_corpus.py --full for more variety). Each new review takes as many
sentences as a randomly chosen source review had, drawn from the whole pool, with
that review's sentiment. Standard library only; the same arguments give the same bytes.

  python3 scripts/make_big_corpus.py --out /tmp/big_1g.csv                # ~1 GB
  python3 scripts/make_big_corpus.py --source /tmp/imdb_full.csv --mb 1024 --out /tmp/big_1g.csv

Never commit the output.
"""
import argparse
import csv
import pathlib
import random
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=str(ROOT / "assets" / "imdb_sample.csv"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--mb", type=float, default=1024.0, help="target size in MiB")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()

    csv.field_size_limit(sys.maxsize)
    with open(args.source, newline="", encoding="utf-8") as f:
        rows = [(r["review"], r["sentiment"]) for r in csv.DictReader(f)]
    if not rows:
        sys.exit(f"{args.source} has no rows")
    shapes = []  # (sentence count, sentiment) of each source review
    pool = []
    for review, sentiment in rows:
        sentences = [s for s in SENTENCE_END.split(review.replace("<br />", " ")) if s]
        shapes.append((max(1, len(sentences)), sentiment))
        pool.extend(sentences)

    rng = random.Random(args.seed)
    target = int(args.mb * 1024 * 1024)
    written = 0
    count = 0
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["review", "sentiment"])
        while written < target:
            n, sentiment = shapes[rng.randrange(len(shapes))]
            review = " ".join(pool[rng.randrange(len(pool))] for _ in range(n))
            out.writerow([review, sentiment])
            written += len(review.encode("utf-8")) + len(sentiment) + 4
            count += 1
    size = pathlib.Path(args.out).stat().st_size
    print(f"{args.out}: {count} rows, {size} bytes")


if __name__ == "__main__":
    main()
