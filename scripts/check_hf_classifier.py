"""Checks a classifier session's `bertwork export --hf` folder with transformers:
`pipeline("text-classification")` on the folder against `bertwork probe --json` on the
session, for every text; prints the largest probability difference.

    python scripts/check_hf_classifier.py EXPORT_DIR SESSION "text" ["text" ...]
"""

import json
import subprocess
import sys

from transformers import pipeline


def main(folder: str, session: str, texts: list[str]) -> None:
    classify = pipeline("text-classification", model=folder, tokenizer=folder, device="cpu")
    worst = 0.0
    for text in texts:
        theirs = {p["label"]: p["score"] for p in classify(text, top_k=None)}
        ours = json.loads(subprocess.run(
            ["bertwork", "probe", "--session", session, "--json", text],
            check=True, capture_output=True, text=True).stdout)
        for p in ours:
            worst = max(worst, abs(p["score"] - theirs[p["label"]]))
        print(f"{text[:40]!r}: bertwork {ours} | transformers {theirs}")
    print(f"largest probability difference: {worst:.2e}")
    sys.exit(0 if worst <= 1e-5 else 1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
