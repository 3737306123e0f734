"""Checks a `bertwork export` folder with transformers: loads it with
BertForPreTraining/BertTokenizerFast.from_pretrained and compares the fill-mask
probabilities with `bertwork probe --json` on the same session.

    python scripts/check_hf_export.py EXPORT_DIR SESSION "text with [MASK] ."
"""

import json
import subprocess
import sys

import torch
from transformers import BertForPreTraining, BertTokenizerFast


def main(folder: str, session: str, text: str) -> None:
    model = BertForPreTraining.from_pretrained(folder).eval()
    tok = BertTokenizerFast.from_pretrained(folder)
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).prediction_logits[0]
    pos = (enc["input_ids"][0] == tok.mask_token_id).nonzero()[0, 0]
    probs = logits[pos].softmax(-1)
    ours = json.loads(subprocess.run(
        ["bertwork", "probe", "--session", session, "--json", "--top-k", "5", text],
        check=True, capture_output=True, text=True).stdout)
    worst = 0.0
    # HF shape: a list for one mask, a list of lists for several.
    first = ours[0] if isinstance(ours[0], list) else ours
    for p in first:
        hf = float(probs[p["token"]])
        worst = max(worst, abs(hf - p["score"]))
        print(f'{p["token_str"]:>12}  bertwork {p["score"]:.6f}  transformers {hf:.6f}')
    print(json.dumps({"max_abs_prob_diff": worst}))
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
