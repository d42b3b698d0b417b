#!/usr/bin/env bash
# The linear probe on a lent GPU machine, in two back-to-back device calls (the machine has no
# network and no Deno, and a call carries at most 64 MiB). The bundles come from
# bench/gpu/make_bundles.sh (see bench/gpu/README.md):
#   call 1: bash bench/linear_probe_gpu.sh 1        carry .gpu/a/ort-node-1.29.0-linux-x64.tar.xz,
#                                                   .gpu/a/ort-cuda13-sm90-1.29.0.tar.xz
#   call 2: bash bench/linear_probe_gpu.sh 2 [FULL SUB]   carry .gpu/b/deno-2.9.6.xz,
#                                                   .gpu/b/node_modules.tar.xz
# Call 1 stages ONNX Runtime and its CUDA provider in ~/kstage/ort; call 2 stages Deno and
# node_modules, installs the provider (tasks/gpu_setup.ts) and runs bench/linear_probe_gpu.ts.
set -uo pipefail
cd "$(dirname "$0")/.."
S=${KSTAGE:-$HOME/kstage}
OUT=${OUT:-.}
mkdir -p "$S/ort" "$S/bin" "$OUT"
unx() {
  if command -v xz >/dev/null; then xz -dc "$1"; else
    python3 -c 'import sys,lzma,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
  fi
}
if [ "${1:-}" = 1 ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  echo "cores $(nproc), $(free -g | awk '/Mem:/{print $2}') GiB"
  for f in .gpu/a/ort-node-1.29.0-linux-x64.tar.xz .gpu/a/ort-cuda13-sm90-1.29.0.tar.xz; do
    unx "$f" | tar x -C "$S/ort"
  done
  ls -la "$S/ort"
  exit 0
fi
[ "${1:-}" = 2 ] || { echo "usage: bench/linear_probe_gpu.sh 1|2 [FULL SUB]"; exit 2; }
shift
R=$OUT/call2.txt
: >"$R"
[ -f "$S/ort/libonnxruntime_providers_cuda.so" ] || { echo "no stage: call 1 did not run on this machine" | tee -a "$R"; exit 3; }
[ -x "$S/bin/deno" ] || { unx .gpu/b/deno-2.9.6.xz >"$S/bin/deno" && chmod +x "$S/bin/deno"; }
[ -e node_modules ] || unx .gpu/b/node_modules.tar.xz | tar x
X64=$(realpath node_modules/onnxruntime-node)/bin/napi-v6/linux/x64
mkdir -p "$X64"
for f in libonnxruntime.so.1 onnxruntime_binding.node; do [ -f "$X64/$f" ] || cp "$S/ort/$f" "$X64/"; done
export PATH="$S/bin:$PATH" DENO_DIR="$S/deno_dir" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
NV=$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null)
[ -n "$NV" ] && export LD_LIBRARY_PATH="$NV/cu13/lib:$NV/cudnn/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
timeout -k 5 120 deno run -A tasks/gpu_setup.ts --from "$S/ort" 2>&1 | tail -15 | tee -a "$R"
OUT=$OUT timeout -k 5 "${PROBE_LIMIT:-420}" deno run -A bench/linear_probe_gpu.ts "$@" 2>&1 |
  grep -v 'onnxruntime:\|^.\[m$\|^$' | tee -a "$R"
echo "exit ${PIPESTATUS[0]}" | tee -a "$R"
