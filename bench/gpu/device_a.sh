#!/usr/bin/env bash
# Call 1 of the GPU bench (bench/gpu/README.md), run ON the GPU machine with `.gpu/a` carried:
#   1. stages .gpu/a (onnxruntime-node's native files, the CUDA provider libraries) into
#      $KSTAGE (default ~/kstage), outside the repo, where call 2 finds it while the machine is warm;
#   2. builds a random-weight CLIP ViT-B/32 image tower with the machine's PyTorch, exports it to
#      ONNX (fp32, fp16) into $KSTAGE/models, and times PyTorch fp16 eager on it at batch 256 and 1024.
# Results: $OUT/device_a.txt, $OUT/torch_results.json. Without PyTorch + CUDA (a dry run elsewhere)
# step 2 is skipped with a line saying so.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
S=${KSTAGE:-${HOME:-/root}/kstage}
OUT=${OUT:-$ROOT/.gpu/out}
mkdir -p "$S/ort" "$S/models" "$OUT"
R=$OUT/device_a.txt
: >"$R"
say() { echo "[$(date +%T)] $*" | tee -a "$R"; }
# run LIMIT CMD...: one step with a time limit; its output goes to the report; a failure is noted
step() {
  local limit=$1
  shift
  say "\$ $*"
  timeout -k 5 "$limit" "$@" 2>&1 | tee -a "$R"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || say "exit $rc$([ "$rc" = 124 ] && echo " (timed out after ${limit}s)")"
  return 0
}
untxz() {
  if command -v xz >/dev/null; then tar xJf "$1" -C "$2"; else
    python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
  fi
}

say "device_a: $(uname -m), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; stage $S"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,uuid,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee -a "$R"
  nvidia-smi --query-gpu=uuid --format=csv,noheader >"$S/gpu_uuid" 2>/dev/null
else
  say "no nvidia-smi here"
fi
say "tools: ffmpeg=$(command -v ffmpeg || echo none) ffprobe=$(command -v ffprobe || echo none) xz=$(command -v xz || echo none) readelf=$(command -v readelf || echo none)"

# 1. stage
for f in .gpu/a/ort-node-1.29.0-linux-x64.tar.xz .gpu/a/ort-cuda13-sm90-1.29.0.tar.xz; do
  [ -f "$f" ] || { say "ERROR: $f is missing: run bash bench/gpu/make_bundles.sh and carry .gpu/a"; exit 3; }
done
[ -f "$S/ort/libonnxruntime.so.1" ] || untxz .gpu/a/ort-node-1.29.0-linux-x64.tar.xz "$S/ort"
[ -f "$S/ort/libonnxruntime_providers_cuda.so" ] || untxz .gpu/a/ort-cuda13-sm90-1.29.0.tar.xz "$S/ort"
ls -la "$S/ort" | tee -a "$R"

# CUDA 13 user-space libraries of the PyTorch venv
NV=$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null)
if [ -n "$NV" ]; then
  say "python nvidia wheels: $NV"
  ls "$NV/cu13/lib" 2>/dev/null | grep -E '^lib(cudart|cublas|cublasLt|curand|nvrtc)\.so' | tr '\n' ' ' | tee -a "$R"
  echo | tee -a "$R"
  ls "$NV/cudnn/lib" 2>/dev/null | grep -E '^libcudnn\.so' | tr '\n' ' ' | tee -a "$R"
  echo | tee -a "$R"
else
  say "python3 has no nvidia wheels here"
fi

# 2. PyTorch: ONNX export + fp16 eager baseline
if python3 -c 'import torch, transformers; assert torch.cuda.is_available()' 2>/dev/null; then
  skip=()
  [ -f "$S/models/clip_fp32.onnx" ] && [ -f "$S/models/clip_fp16.onnx" ] && skip=(--skip-export)
  step 240 env PYTHONUNBUFFERED=1 python3 bench/gpu/torch_clip.py "$S/models" \
    --batches "${ORT_BATCHES:-256,1024}" "${skip[@]}"
  cp "$S/models/torch_results.json" "$OUT/" 2>/dev/null
else
  say "SKIP PyTorch: python3 has no torch + transformers with a CUDA GPU here (the ONNX export and the PyTorch baseline need them)"
fi
ls -la "$S/models" | tee -a "$R"
# 3. the clip-video-encode-1.0 preset's OpenCV-style resize against the machine's cv2
if [ -f .gpu/a/cv2_src.npy ] && python3 -c 'import cv2' 2>/dev/null; then
  step 30 python3 bench/gpu/opencv_check.py .gpu/a
else
  say "SKIP opencv check: no cv2 here or no .gpu/a/cv2_src.npy (bench/gpu/opencv_pair.ts makes it)"
fi
say "device_a: done"
