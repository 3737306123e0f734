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

# torch.distributed's Gloo backend: the wheel ships c10d's headers and Gloo's symbols
# but not Gloo's own headers, which ProcessGroupGloo.hpp includes. Debian's
# libgloo-dev has headers that match (checked at run time by a known all-reduce).
# The package is unpacked into the cache, never installed system-wide; the version is
# pinned so that every clone compiles against the same headers.
GLOO_DEB_VERSION=0.0~git20220518.5b14351-3
gloo_dest="$cache_root/gloo-headers-${GLOO_DEB_VERSION//[~:]/_}"
if [ ! -f "$gloo_dest/usr/include/gloo/config.h" ]; then
  echo "setup: unpacking Debian's libgloo-dev $GLOO_DEB_VERSION headers into $gloo_dest (one time)" >&2
  gtmp=$(mktemp -d "$cache_root/.partial-gloo.XXXXXX")
  trap 'rm -rf "$gtmp"' EXIT
  fetch_deb() { (cd "$gtmp" && apt-get download -qq "libgloo-dev=$GLOO_DEB_VERSION" >/dev/null 2>&1); }
  if ! fetch_deb; then
    # A fresh machine may not have package lists yet.
    apt-get update -qq >/dev/null 2>&1 || true
    if ! fetch_deb; then
      echo "setup: cannot download libgloo-dev=$GLOO_DEB_VERSION with apt-get; it provides the Gloo headers torch.distributed needs (Debian 12)" >&2
      exit 1
    fi
  fi
  dpkg-deb -x "$gtmp"/libgloo-dev_*.deb "$gtmp/root"
  [ -f "$gtmp/root/usr/include/gloo/config.h" ] || { echo "setup: libgloo-dev has no gloo/config.h" >&2; exit 1; }
  rm -rf "$gloo_dest"
  mv "$gtmp/root" "$gloo_dest"
  rm -rf "$gtmp"
  trap - EXIT
fi
ln -sfn "$gloo_dest/usr/include" "$root/.gloo-include"
