"""Writes tests/fixtures/formats: the first 120 reviews of assets/imdb_sample.csv in
each corpus layout bertwork reads, written by each ecosystem's own tools (Python's csv,
json and gzip modules; the zstd command line; pyarrow for Parquet and Arrow IPC;
Hugging Face `datasets` for `save_to_disk` and `to_parquet`), plus the equivalent CSV
files the test compares them with. Run from the repository root with a Python that has
pyarrow and datasets (`pip install pyarrow datasets`):
python3 scripts/make_format_fixtures.py
"""
import csv
import gzip
import json
import os
import subprocess

OUT = "tests/fixtures/formats"
N = 120

with open("assets/imdb_sample.csv", newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))[:N]
os.makedirs(f"{OUT}/shards", exist_ok=True)


def write_csv(path, records, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(["review", "sentiment"])
        for r in records:
            w.writerow([r["review"], r["sentiment"]])


# Reviews have no line breaks of their own; one per line is a plain-text corpus.
assert not any("\n" in r["review"] for r in rows)
write_csv(f"{OUT}/reviews.csv", rows)
write_csv(f"{OUT}/reviews.tsv", [dict(r, review=r["review"].replace("\t", " ")) for r in rows], "\t")
with open(f"{OUT}/reviews.txt", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(r["review"] + "\n")
with gzip.open(f"{OUT}/reviews.jsonl.gz", "wt", encoding="utf-8") as f:
    for i, r in enumerate(rows):
        f.write(json.dumps({"id": i, "text": r["review"], "meta": {"label": r["sentiment"]}}) + "\n")
for shard in range(3):
    with open(f"{OUT}/shards/part-{shard:03d}.jsonl", "w", encoding="utf-8") as f:
        for r in rows[shard * 40:(shard + 1) * 40]:
            f.write(json.dumps({"text": r["review"]}) + "\n")
subprocess.run(["zstd", "-q", "-f", "-19", f"{OUT}/reviews.csv", "-o", f"{OUT}/reviews.csv.zst"], check=True)

# BERT's layout: a sentence per line, a blank line between documents. Lines are cut at
# ". " so each document has several; the equivalent CSV joins them with paragraph
# breaks (<br /><br />), which bertwork also treats as sentence boundaries.
docs = []
for r in rows:
    parts = [p.strip() + "." for p in r["review"].replace("<br />", " ").split(". ") if p.strip()]
    docs.append([p.rstrip(".") + "." for p in parts])
with open(f"{OUT}/sentences.txt", "w", encoding="utf-8") as f:
    f.write("\n\n".join("\n".join(d) for d in docs) + "\n")
with open(f"{OUT}/sentences.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["review"])
    for d in docs:
        w.writerow(["<br /><br />".join(d)])

# Columnar formats, as the Hugging Face ecosystem writes them.
import pyarrow as pa
import pyarrow.parquet as pq
import datasets

table = pa.table({
    "review": [r["review"] for r in rows],
    "meta": [{"label": r["sentiment"], "stars": 1 + (i % 10)} for i, r in enumerate(rows)],
})
# pyarrow's defaults: snappy pages; small row groups so that reading crosses several.
pq.write_table(table, f"{OUT}/reviews.parquet", row_group_size=50)
pq.write_table(table, f"{OUT}/reviews-zstd.parquet", compression="zstd")
# The Arrow IPC file format (Feather v2), then gzipped as a whole.
with pa.OSFile(f"{OUT}/reviews.arrow", "wb") as sink:
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=40)
with open(f"{OUT}/reviews.arrow", "rb") as f, gzip.open(f"{OUT}/reviews.arrow.gz", "wb") as g:
    g.write(f.read())
os.remove(f"{OUT}/reviews.arrow")
# datasets: a ClassLabel label (stored as integers), save_to_disk's folder of Arrow
# stream files with its state.json, and the Hub's Parquet export.
features = datasets.Features({
    "text": datasets.Value("string"),
    "label": datasets.ClassLabel(names=["negative", "positive"]),
})
ds = datasets.Dataset.from_dict(
    {"text": [r["review"] for r in rows], "label": [r["sentiment"] for r in rows]},
    features=features,
)
ds.save_to_disk(f"{OUT}/saved", num_shards=2)
ds.to_parquet(f"{OUT}/hub.parquet")
