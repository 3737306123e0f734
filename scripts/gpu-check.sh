#!/usr/bin/env bash
# The GPU check: run on a machine with an NVIDIA GPU and its own torch 2.11.0, with the
# bertwork binary built on the CPU machine (libtorch 2.11.0 too). It points the binary at
# that machine's torch libraries and writes one report, $OUT/gpu-report.md (OUT defaults
# to ./gpu-check-out), with:
#   1. `bertwork bench` in fp32 and bf16 (autocast + TF32), presets tiny to base;
#   2. HF's BertForPreTraining with the sparse MLM head on the same GPU and shapes
#      (bench/hf_reference.py), when transformers imports or installs from carried wheels;
#   3. a short headless training with held-out evaluation, the GPU memory line and a
#      probe of the saved session;
#   4. data-parallel training with 2 ranks on CUDA tensors (Gloo through host buffers;
#      both ranks share GPU 0 when there is one GPU).
# Each check is PASS or FAIL with its figures; the script exits 1 if any failed.
#
# Prepare on the CPU machine (paths are ignored by git, so name them in the device's
# `carry`): `make build && bash scripts/gpu-carry.sh` puts the binary into
# .gpu-carry/bertwork and transformers' wheels into .gpu-carry/wheels. Then, on the GPU:
#   bash scripts/gpu-check.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$root/gpu-check-out}
mkdir -p "$out"
report=$out/gpu-report.md
log=$out/gpu-check.log
: >"$log"
bin=${BERTWORK_BIN:-}
for candidate in .gpu-carry/bertwork target/release/bertwork; do
  [ -z "$bin" ] && [ -x "$candidate" ] && bin=$root/$candidate
done
py=${PYTHON:-python3}
presets=${GPU_CHECK_PRESETS:-tiny mini small medium base}
failed=0

say() { echo "$*" | tee -a "$report"; }
pass() { say "- PASS $*"; }
fail() { say "- FAIL $*"; failed=1; }

: >"$report"
say "# bertwork GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
if [ -z "$bin" ]; then
  fail "no bertwork binary (.gpu-carry/bertwork or target/release/bertwork; or set BERTWORK_BIN)"
  exit 1
fi
torch_lib=$("$py" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>>"$log")
torch_version=$("$py" -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>>"$log")
if [ -z "$torch_lib" ]; then
  fail "python3 cannot import torch: this machine needs its own torch 2.11.0"
  exit 1
fi
export LD_LIBRARY_PATH="$torch_lib:${LD_LIBRARY_PATH:-}"
export BERTWORK_LIBTORCH_LIB="$torch_lib"
say ""
say "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)"
say "- torch: $torch_version at $torch_lib"
say "- binary: $bin ($(sha256sum "$bin" | cut -c1-12))"
case "$torch_version" in 2.11.0*) ;; *) fail "torch is $torch_version, bertwork is built against 2.11.0" ;; esac

json_field() { "$py" -c "import json,sys; d=json.loads(sys.argv[1]); print(d$2)" "$1" 2>>"$log"; }

# 1 and 2: throughput, bertwork and the sparse-head reference, fp32 and bf16.
say ""
say "## Throughput (batch 32 x seq 128, vocab 8192, tokens/s, median step)"
say ""
hf_path=""
if "$py" -c 'import transformers' 2>>"$log"; then
  hf_path=ok
elif [ -d .gpu-carry/wheels ] && "$py" -m pip install --quiet --no-index --find-links .gpu-carry/wheels \
  --target /tmp/bertwork-hf transformers >>"$log" 2>&1; then
  export PYTHONPATH="/tmp/bertwork-hf:${PYTHONPATH:-}"
  hf_path=ok
fi
[ -z "$hf_path" ] && say "(HF reference skipped: transformers does not import here and no carried wheels installed; see $log)"
say "| preset | precision | bertwork | HF sparse head | ratio | bertwork step ms |"
say "|---|---|---|---|---|---|"
for preset in $presets; do
  for precision in fp32 bf16; do
    line=$(timeout 300 "$bin" bench --preset "$preset" --device cuda --steps 20 --warmup 5 --json \
      --set "train.precision=$precision" 2>>"$log" | tail -1)
    ours=$(json_field "$line" '["tokens_per_s"]')
    step_ms=$(json_field "$line" '.get("step_ms_median", "")')
    theirs=""
    if [ -n "$hf_path" ]; then
      flag=""
      [ "$precision" = bf16 ] && flag=--bf16
      ref=$(timeout 300 "$py" bench/hf_reference.py --preset "$preset" --head sparse --device cuda \
        --steps 20 --warmup 5 $flag 2>>"$log" | tail -1)
      theirs=$(json_field "$ref" '["tokens_per_s"]')
    fi
    ratio=$("$py" -c "import sys; a,b=sys.argv[1:]; print(f'{float(a)/float(b):.2f}x' if a and b else '')" "$ours" "$theirs" 2>/dev/null)
    say "| $preset | $precision | ${ours%.*} | ${theirs%.*} | $ratio | $step_ms |"
    [ -z "$ours" ] && failed=1
  done
done
[ "$failed" = 0 ] && pass "bench ran on every preset and precision" || fail "a bench run failed (see $log)"

# 3: a short training with evaluation, the memory line and a probe.
say ""
say "## Training, evaluation, memory line, probe"
home=$(mktemp -d)
export BERTWORK_HOME=$home
train=$(timeout 400 "$bin" train --headless --json --preset mini --device cuda --session gpu \
  --max-steps 300 --set train.eval_every=150 --set train.log_every=50 2>>"$log")
echo "$train" >>"$log"
finished=$(echo "$train" | grep '"event":"finished"')
if echo "$finished" | grep -q '"reason":"completed"'; then
  pass "mini, 300 steps bf16: $(echo "$finished" | "$py" -c 'import json,sys; d=json.loads(sys.stdin.read()); e=d["last_eval"]; print(f"held-out MLM loss {e[\"mlm_loss\"]:.3f}, acc {e[\"mlm_acc\"]:.3f}, {d[\"elapsed_s\"]:.0f} s")')"
else
  fail "training did not complete: $(echo "$train" | tail -2)"
fi
memory=$(echo "$train" | grep '"event":"step"' | tail -1 | "$py" -c 'import json,sys; print(json.loads(sys.stdin.read()).get("memory"))' 2>>"$log")
case "$memory" in
  None | "") fail "no memory line in the step events" ;;
  *) pass "memory line: $memory" ;;
esac
probe=$(timeout 120 "$bin" probe --session gpu "the movie was [MASK] ." 2>&1 | head -8)
if [ -n "$probe" ] && ! echo "$probe" | grep -q "^error"; then
  pass "probe: $(echo "$probe" | tr '\n' ' ' | cut -c1-200)"
else
  fail "probe: $probe"
fi

# 4: two data-parallel ranks on CUDA tensors.
dp=$(timeout 300 "$bin" train --headless --json --preset tiny --device cuda --nproc 2 --session gpu-dp \
  --max-steps 50 --set train.log_every=10 2>>"$log")
echo "$dp" >>"$log"
if echo "$dp" | grep '"event":"finished"' | grep -q '"reason":"completed"'; then
  pass "2 ranks on CUDA (Gloo through host buffers): $(echo "$dp" | grep '"event":"step"' | tail -1 | cut -c1-240)"
else
  fail "2 ranks on CUDA: $(echo "$dp" | tail -2)"
fi
rm -rf "$home"

say ""
[ "$failed" = 0 ] && say "All checks passed." || say "Some checks FAILED; details in $log."
exit "$failed"
