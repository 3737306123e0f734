"""The PyTorch reference for `bertwork bench`: HF transformers' BertForPreTraining
(SDPA attention, dropout 0.1) trained with torch's AdamW (decay 0.01 off LayerNorm and
biases), clipping at 1.0, on random batches of exactly the given shapes, 15% of the
positions labelled for MLM. Prints one JSON object with tokens_per_s (B x S / median
step time, warm-up steps excluded), like `bertwork bench --json`.

    python bench/hf_reference.py --preset tiny --seq-len 128 --batch-size 32 --threads 2
    python bench/hf_reference.py --peak      # matmul peak (GFLOP/s) on these threads
"""

import argparse
import json
import statistics
import time

import torch
from transformers import BertConfig, BertForPreTraining

PRESETS = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512),
           "base": (12, 768), "large": (24, 1024)}


def matmul_peak(n: int = 2048, reps: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="tiny", choices=PRESETS)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--peak", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.peak:
        print(json.dumps({"matmul_gflops": matmul_peak(), "threads": a.threads}))
        return
    torch.manual_seed(0)
    layers, hidden = PRESETS[a.preset]
    config = BertConfig(vocab_size=a.vocab, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=hidden // 64, intermediate_size=4 * hidden,
                        attn_implementation="sdpa")
    model = BertForPreTraining(config).train()
    no_decay = [p for n, p in model.named_parameters() if "LayerNorm" in n or n.endswith("bias")]
    decay = [p for n, p in model.named_parameters() if not ("LayerNorm" in n or n.endswith("bias"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, eps=1e-6)
    b, s = a.batch_size, a.seq_len
    times = []
    for i in range(a.warmup + a.steps):
        ids = torch.randint(5, a.vocab, (b, s))
        types = torch.zeros(b, s, dtype=torch.long)
        types[:, s // 2:] = 1
        labels = torch.full((b, s), -100)
        chosen = torch.rand(b, s) < 0.15
        labels[chosen] = ids[chosen]
        nsp = torch.randint(0, 2, (b,))
        t = time.perf_counter()
        out = model(input_ids=ids, token_type_ids=types, attention_mask=torch.ones(b, s),
                    labels=labels, next_sentence_label=nsp)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
    median = statistics.median(times)
    print(json.dumps({
        "impl": "hf", "preset": a.preset, "seq_len": s, "batch_size": b, "vocab": a.vocab,
        "threads": a.threads, "steps": a.steps, "tokens_per_s": b * s / median,
        "step_ms_median": median * 1e3, "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
    }))


if __name__ == "__main__":
    main()
