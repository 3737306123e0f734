#!/usr/bin/env bash
# The Python reference for benchmarks and the HF fixture: a venv with torch 2.11.0 and
# transformers, in ~/.cache/bertwork/hf-venv (outside the clone, reused by every
# clone). Only `make bench-hf` and `make hf-fixture` ask for it; the test suite
# does not need Python. About 3 GB (PyPI's torch wheel pulls the CUDA libraries).
set -euo pipefail
venv="${XDG_CACHE_HOME:-$HOME/.cache}/bertwork/hf-venv"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import torch, transformers' 2>/dev/null; then
    echo "$venv"
    exit 0
fi
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet torch==2.11.0 transformers safetensors tokenizers >&2
echo "$venv"
