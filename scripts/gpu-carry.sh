#!/usr/bin/env bash
# Prepares what scripts/gpu-check.sh needs on a GPU machine that has torch but no
# network: .gpu-carry/bertwork (the release binary built here) and .gpu-carry/wheels
# (transformers and its dependencies for the HF reference, without numpy and torch,
# which a torch install has). Name .gpu-carry in the device tool's `carry`.
# PY_VERSION picks the wheels' Python (default: this machine's python3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -x target/release/bertwork ] || { echo "gpu-carry: build first (make build)" >&2; exit 1; }
rm -rf .gpu-carry && mkdir -p .gpu-carry/wheels
cp target/release/bertwork .gpu-carry/
py_version=${PY_VERSION:-$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')}
transformers=$(grep -o 'transformers==[0-9.]*' scripts/setup-hf-venv.sh | head -1)
python3 -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
  --python-version "$py_version" -d .gpu-carry/wheels "${transformers:-transformers}"
rm -f .gpu-carry/wheels/numpy-*.whl
du -sh .gpu-carry
