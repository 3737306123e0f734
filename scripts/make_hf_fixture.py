"""Builds tests/fixtures/hf_tiny: a tiny random BertForPreTraining saved by HF
transformers, its tokenizer, and the logits transformers computes for two probes.

The Rust test (tests/hf_interop.rs) imports the folder and must reproduce the logits
without Python. Rebuild (needs torch and transformers):

    python scripts/make_hf_fixture.py tests/fixtures/hf_tiny
"""

import json
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertForPreTraining, PreTrainedTokenizerFast

WORDS = (
    "the a an this that movie film was is it i you he she they we and or but not "
    "of to in on with for at by from as good bad great awful boring funny best worst "
    "plot story acting actor actress scene scenes end ending music love hate watch "
    "watched seen ever never very really so too much more most one two time people "
    "character characters director script . , ! ? ' ##s ##ed ##ing ##ly ##er"
).split()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n")

    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
        cls_token="[CLS]", mask_token="[MASK]",
    )
    fast.save_pretrained(out)

    torch.manual_seed(1234)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
    )
    model = BertForPreTraining(config).eval()
    with torch.no_grad():
        # Large random values everywhere (biases and LayerNorms included), so that a
        # wrong bias, scale or LayerNorm shows up in the logits.
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    model.save_pretrained(out, safe_serialization=True)

    pairs = [
        ("this movie was [MASK] .", "the acting was great !"),
        ("i watched it , but the plot was boring", "one of the worst films ever"),
    ]
    enc = fast([a for a, _ in pairs], [b for _, b in pairs], padding=True, return_tensors="pt",
               return_token_type_ids=True)
    with torch.no_grad():
        res = model(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"],
                    attention_mask=enc["attention_mask"])
    expected = {
        "pairs": pairs,
        "input_ids": enc["input_ids"].tolist(),
        "token_type_ids": enc["token_type_ids"].tolist(),
        "attention_mask": enc["attention_mask"].tolist(),
        "prediction_logits": res.prediction_logits.tolist(),
        "seq_relationship_logits": res.seq_relationship_logits.tolist(),
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
    }
    (out / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/hf_tiny"))
