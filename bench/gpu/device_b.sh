#!/usr/bin/env bash
# Call 2 of the GPU bench (bench/gpu/README.md), run ON the GPU machine with `.gpu/b` carried,
# right after call 1 (device_a.sh) while the machine is still warm (its stage is in $KSTAGE):
#   1. stages Deno, static ffmpeg/ffprobe 4.1 and node_modules; `gpu-setup --from` the staged
#      provider libraries (installs, checks the CUDA 13 libraries, probes the provider);
#   2. (a) bare ONNX Runtime CUDA session.run throughput: the PyTorch-exported fp32/fp16 models of
#      call 1 and the project's own ViT-B/32 fixture models (fp32, fp16, uint8-NHWC fp16), batch
#      256 and 1024, with numerics checks; meanwhile the fixture dataset is built (nice'd);
#   3. (c) decode alone, encode alone and the streamed sample → encode end to end on the dataset,
#      with the GPU's busy share; then the Markdown table.
# Results: $OUT/device_b.txt, gpu_table.md, ort.jsonl, e2e.jsonl, dataset.log, torch_results.json.
# Env: DEADLINE (575 s), E2E_SCALE (40) E2E_CLASSES (5: the looks ffmpeg 4.1 can draw) give 10·scale videos per
# class; E2E_JOBS (cores), E2E_BATCH (256), ORT_BATCHES (256,1024), ORT_PROVIDER (cuda; a dry run
# elsewhere passes cuda,cpu), MODEL_SIZE (vit-b-32; tiny for a dry run).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
S=${KSTAGE:-${HOME:-/root}/kstage}
OUT=${OUT:-$ROOT/.gpu/out}
SCALE=${E2E_SCALE:-40}
CLASSES=${E2E_CLASSES:-5}
JOBS=${E2E_JOBS:-$(nproc)}
BATCH=${E2E_BATCH:-256}
ORT_BATCHES=${ORT_BATCHES:-256,1024}
P=${ORT_PROVIDER:-cuda}
SIZE=${MODEL_SIZE:-vit-b-32}
mkdir -p "$OUT"
R=$OUT/device_b.txt
: >"$R"
T0=$(date +%s)
say() { echo "[$(date +%T) +$(($(date +%s) - T0))s] $*" | tee -a "$R"; }
# every step ends by DEADLINE seconds after the start (the call's limit is 600), leaving time for
# the report
DEADLINE=${DEADLINE:-575}
step() {
  local limit=$1 left
  shift
  left=$((DEADLINE - ($(date +%s) - T0) - 15))
  if [ "$left" -lt 10 ]; then
    say "skipped (out of time): $*"
    return 124
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  say "\$ $*"
  timeout -k 5 "$limit" "$@" 2>&1 | tee -a "$R"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || say "exit $rc$([ "$rc" = 124 ] && echo " (timed out after ${limit}s)")"
  return "$rc"
}
untxz() {
  if command -v xz >/dev/null; then tar xJf "$1" -C "$2"; else
    python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
  fi
}
unxz1() {
  if command -v xz >/dev/null; then xz -dc "$1"; else
    python3 -c 'import sys,lzma,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
  fi
}

say "device_b: $(nproc) cores; stage $S; scale $SCALE x $CLASSES classes; jobs $JOBS; batch $BATCH; provider $P"
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
UUID=$(nvidia-smi --query-gpu=uuid --format=csv,noheader 2>/dev/null | head -1)
say "GPU: ${GPU:-none} ${UUID:-}; call 1 ran on: $(cat "$S/gpu_uuid" 2>/dev/null || echo 'unknown (no stage)')"

# 1. stage: call 1's files must be here (the machine stayed warm), else stage .gpu/a if carried too
if [ ! -f "$S/ort/libonnxruntime_providers_cuda.so" ]; then
  if [ -f .gpu/a/ort-cuda13-sm90-1.29.0.tar.xz ]; then
    mkdir -p "$S/ort" && untxz .gpu/a/ort-node-1.29.0-linux-x64.tar.xz "$S/ort" &&
      untxz .gpu/a/ort-cuda13-sm90-1.29.0.tar.xz "$S/ort"
  else
    say "ERROR: $S/ort holds no staged ONNX Runtime files: call 1 (bench/gpu/device_a.sh) did not run on this machine (it went cold between the calls). Run both calls again, back to back."
    exit 3
  fi
fi
mkdir -p "$S/bin" "$S/ff" "$S/models"
if [ ! -x "$S/bin/deno" ]; then
  unxz1 .gpu/b/deno-2.9.6.xz >"$S/bin/deno.tmp" && chmod +x "$S/bin/deno.tmp" && mv "$S/bin/deno.tmp" "$S/bin/deno"
fi
[ -x "$S/ff/ffmpeg" ] || untxz .gpu/b/ff41.tar.xz "$S/ff"
if [ ! -e node_modules ]; then
  untxz .gpu/b/node_modules.tar.xz . || { say "ERROR: cannot unpack node_modules"; exit 3; }
fi
X64=$(realpath node_modules/onnxruntime-node)/bin/napi-v6/linux/x64
mkdir -p "$X64"
for f in libonnxruntime.so.1 onnxruntime_binding.node; do
  [ -f "$X64/$f" ] || cp "$S/ort/$f" "$X64/"
done
export PATH="$S/bin:$S/ff:$PATH" FFMPEG_PATH="$S/ff/ffmpeg" FFPROBE_PATH="$S/ff/ffprobe"
export DENO_DIR="$S/deno_dir" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
# nothing outside is reachable there: Deno must not wait on the npm registry. The project's own
# runs use --cached-only; anything else (gpu-setup's probe child) meets a closed local port at once.
export NPM_CONFIG_REGISTRY=http://127.0.0.1:9/
DR=(deno run -A --cached-only)
NV=$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null)
[ -n "$NV" ] && export LD_LIBRARY_PATH="$NV/cu13/lib:$NV/cudnn/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "deno $(deno --version | head -1 | cut -d' ' -f2); $("$FFMPEG_PATH" -version | head -1 | cut -c1-40); LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

# the provider libraries into onnxruntime-node's folder, checked and probed
step 120 "${DR[@]}" tasks/gpu_setup.ts --from "$S/ort"

# the dataset, built in the background at low priority while the GPU benchmarks run
say "dataset: $CLASSES classes x $((10 * SCALE)) videos of 10 s, $JOBS ffmpeg jobs (background, nice 19)"
(
  nice -n 19 timeout -k 5 420 "${DR[@]}" fixtures/make_dataset.ts --out "$S/ds" --classes "$CLASSES" \
    --scale "$SCALE" --duration 10 --jobs "$JOBS" --quiet >"$OUT/dataset.log" 2>&1
  echo "exit $?" >>"$OUT/dataset.log"
) &
DS=$!

# 2. (a) bare session.run
for v in "float32-nchw float32" "float32-nchw float16" "uint8-nhwc float16"; do
  set -- $v
  step 120 "${DR[@]}" fixtures/make_models.ts --size "$SIZE" --out "$S/models" --only vision \
    --input-format "$1" --dtype "$2"
done
: >"$OUT/ort.jsonl"
for m in clip_fp32 clip_fp16; do
  [ -f "$S/models/$m.onnx" ] || { say "no $m.onnx from call 1: skipped"; continue; }
  step 150 "${DR[@]}" bench/gpu/ort_session_bench.ts --provider "$P" --model "$S/models/$m.onnx" \
    --label "torch-$m" --batches "$ORT_BATCHES" --check-input "$S/models/check_input_4x3x224x224.f32" \
    --check-ref "$S/models/check_ref_4x512.f32" --jsonl "$OUT/ort.jsonl"
done
for m in "vision_$SIZE" "vision_${SIZE}_fp16" "vision_${SIZE}_uint8_fp16"; do
  step 150 "${DR[@]}" bench/gpu/ort_session_bench.ts --provider "$P" --model "$S/models/$m.onnx" \
    --label "fixture-$m" --batches "$ORT_BATCHES" --compare-cpu --jsonl "$OUT/ort.jsonl"
done

# 3. (c) end to end
say "waiting for the dataset"
wait "$DS"
tail -5 "$OUT/dataset.log" | tee -a "$R"
: >"$OUT/e2e.jsonl"
if [ -f "$S/ds/dataset.json" ]; then
  step 420 "${DR[@]}" bench/gpu/e2e.ts --dataset "$S/ds" --work-root "$S/e2e" \
    --model "$S/models/vision_${SIZE}_uint8_fp16.onnx" --providers "$P" --batch "$BATCH" \
    --jobs "$JOBS" --jsonl "$OUT/e2e.jsonl"
else
  say "no dataset: the end-to-end part is skipped (see dataset.log)"
fi

cp "$S/models/torch_results.json" "$OUT/" 2>/dev/null
DEADLINE=$((DEADLINE + 20))
step 60 "${DR[@]}" bench/gpu/report.ts --torch "$S/models/torch_results.json" --ort "$OUT/ort.jsonl" \
  --e2e "$OUT/e2e.jsonl" --model "fixture-vision_${SIZE}_uint8_fp16" --batch "$BATCH" \
  --device "${GPU:-no GPU} ($(nproc) cores)" --out "$OUT/gpu_table.md"
rm -rf "$S/e2e"
say "device_b: done"
