#!/usr/bin/env bash
# Installs libtorch (PyPI's torch==2.11.0 wheel, CPU use) into a per-user cache outside
# the clone and links it as .libtorch. Idempotent: a second run (or a second clone)
# costs nothing. Set BERTWORK_LIBTORCH_CACHE to put the cache elsewhere.
set -euo pipefail

TORCH_VERSION=2.11.0
root=$(cd "$(dirname "$0")/.." && pwd)
cache_root=${BERTWORK_LIBTORCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bertwork}
dest="$cache_root/libtorch-$TORCH_VERSION"

check() {
  local dir=$1
  [ -f "$dir/torch/version.py" ] || return 1
  grep -q "__version__ = '$TORCH_VERSION" "$dir/torch/version.py" || return 1
  [ -f "$dir/torch/lib/libtorch_cpu.so" ] || return 1
  ! ldd "$dir/torch/lib/libtorch_cpu.so" | grep -q "not found"
}

if ! check "$dest"; then
  echo "setup: installing torch==$TORCH_VERSION (libtorch) into $dest (one time, ~550 MB download)" >&2
  mkdir -p "$cache_root"
  tmp=$(mktemp -d "$cache_root/.partial.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$tmp" \
    "torch==$TORCH_VERSION" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
  if ! check "$tmp"; then
    echo "setup: the downloaded libtorch is not torch $TORCH_VERSION or cannot load its libraries:" >&2
    ldd "$tmp/torch/lib/libtorch_cpu.so" | grep "not found" >&2 || true
    exit 1
  fi
  rm -rf "$dest"
  mv "$tmp" "$dest"
  trap - EXIT
fi

ln -sfn "$dest" "$root/.libtorch"
