"""The PyTorch reference for `bertwork bench`: HF transformers' BertForPreTraining
(SDPA attention) trained with torch's AdamW (decay 0.01 off LayerNorm and biases),
clipping at 1.0. Prints one JSON object with tokens_per_s (median step time, warm-up
steps excluded), like `bertwork bench --json`.

Heads:
  full    HF's own forward with `labels`: every position projected onto the vocabulary.
  sparse  what a PyTorch expert writes (Cramming's and MosaicBERT's "sparse
          prediction"): run `model.bert`, gather the positions whose label is not
          -100, apply `model.cls.predictions` to those only.
`--bf16` runs the forward under CPU bf16 autocast (matmuls in bf16 on CPUs with
AVX512-BF16 or AMX). `--compile` wraps the loss in torch.compile (inductor, dynamic shapes: the number of
masked positions changes every batch); `--fused-adamw` uses AdamW(fused=True).

Batches: random ones of exactly --batch-size x --seq-len (tokens = B x S, 15% of the
positions labelled), or with `--batches FILE` the real-corpus batches that
`bertwork bench --real-batches N --dump-batches FILE` wrote (tokens = non-padding
tokens, the attention mask's sum).

    python bench/hf_reference.py --preset tiny --head sparse --threads 2
    python bench/hf_reference.py --peak      # matmul peak (GFLOP/s) on these threads
    python bench/hf_reference.py --peak --bf16   # the same in bf16
    python bench/hf_reference.py --preset base --head sparse --device cuda --bf16
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForPreTraining

PRESETS = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512),
           "base": (12, 768), "large": (24, 1024)}


def matmul_peak(n: int = 2048, reps: int = 5, dtype=torch.float32) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def random_batches(vocab: int, b: int, s: int, count: int):
    out = []
    for _ in range(count):
        ids = torch.randint(5, vocab, (b, s))
        types = torch.zeros(b, s, dtype=torch.long)
        types[:, s // 2:] = 1
        labels = torch.full((b, s), -100)
        chosen = torch.rand(b, s) < 0.15
        labels[chosen] = ids[chosen]
        out.append({"input_ids": ids, "token_type_ids": types,
                    "attention_mask": torch.ones(b, s, dtype=torch.long),
                    "labels": labels, "next_sentence_label": torch.randint(0, 2, (b,))})
    return out


def file_batches(path: str):
    """The batches `bertwork bench --dump-batches` wrote: batch.N.<field> tensors."""
    from safetensors.torch import load_file
    tensors = load_file(path)
    count = 1 + max(int(k.split(".")[1]) for k in tensors)
    return [{f: tensors[f"batch.{i}.{f}"] for f in
             ("input_ids", "token_type_ids", "attention_mask", "labels",
              "next_sentence_label")} for i in range(count)]


def full_loss(model, batch):
    return model(**batch).loss


def sparse_loss(model, batch):
    out = model.bert(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"],
                     attention_mask=batch["attention_mask"])
    hidden, pooled = out[0], out[1]
    labels = batch["labels"].view(-1)
    index = (labels != -100).nonzero().squeeze(1)
    masked = hidden.view(-1, hidden.size(-1)).index_select(0, index)
    logits = model.cls.predictions(masked)
    mlm = F.cross_entropy(logits, labels.index_select(0, index))
    nsp = F.cross_entropy(model.cls.seq_relationship(pooled), batch["next_sentence_label"])
    return mlm + nsp


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="tiny", choices=PRESETS)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--head", choices=("full", "sparse"), default="full")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--fused-adamw", action="store_true")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for the forward (CPU or CUDA)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (with --bf16 on CUDA also TF32 for the fp32 matmuls left, as bertwork does)")
    p.add_argument("--batches", help="safetensors file of real batches")
    p.add_argument("--peak", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.peak:
        dtype = torch.bfloat16 if a.bf16 else torch.float32
        print(json.dumps({"matmul_gflops": matmul_peak(dtype=dtype), "threads": a.threads}))
        return
    torch.manual_seed(0)
    batches = file_batches(a.batches) if a.batches else random_batches(
        a.vocab, a.batch_size, a.seq_len, 4)
    vocab = a.vocab
    if a.batches:
        vocab = 1 + max(int(b["input_ids"].max()) for b in batches)
        vocab = max(vocab, a.vocab)
    layers, hidden = PRESETS[a.preset]
    config = BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=hidden // 64, intermediate_size=4 * hidden,
                        hidden_dropout_prob=a.dropout, attention_probs_dropout_prob=a.dropout,
                        attn_implementation="sdpa")
    device = torch.device(a.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = a.bf16
        torch.backends.cudnn.allow_tf32 = a.bf16
    batches = [{k: v.to(device) for k, v in b.items()} for b in batches]
    model = BertForPreTraining(config).to(device).train()
    no_decay = [p for n, p in model.named_parameters() if "LayerNorm" in n or n.endswith("bias")]
    decay = [p for n, p in model.named_parameters() if not ("LayerNorm" in n or n.endswith("bias"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, eps=1e-6,
                            fused=a.fused_adamw or None)
    loss_fn = sparse_loss if a.head == "sparse" else full_loss
    if a.compile:
        loss_fn = torch.compile(loss_fn, dynamic=True)
    times, tokens = [], []
    for i in range(a.warmup + a.steps):
        batch = batches[i % len(batches)]
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=a.bf16):
            loss = loss_fn(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
            tokens.append(int(batch["attention_mask"].sum()))
    median = statistics.median(times)
    print(json.dumps({
        "impl": "hf-" + a.head + ("-compile" if a.compile else "")
                + ("-fused" if a.fused_adamw else "") + ("-bf16" if a.bf16 else ""),
        "preset": a.preset, "seq_len": a.seq_len, "batch_size": a.batch_size,
        "vocab": vocab, "threads": a.threads, "steps": a.steps, "device": a.device,
        # Real batches: non-padding tokens per second (mean tokens a batch / median step).
        "tokens_per_s": statistics.mean(tokens) / median,
        "step_ms_median": median * 1e3, "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
    }))


if __name__ == "__main__":
    main()
