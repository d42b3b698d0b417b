#!/usr/bin/env bash
# Builds the two carry folders of the GPU bench (see bench/gpu/README.md) into .gpu/ (git-ignored):
#   .gpu/a  ort-node-1.29.0-linux-x64.tar.xz   onnxruntime-node's linux-x64 native files
#           ort-cuda13-sm90-1.29.0.tar.xz      the CUDA provider libraries, fatbin cut to sm_90
#   .gpu/b  deno-2.9.6.xz                      the Deno binary (npm @deno/linux-x64-glibc)
#           ff41.tar.xz                        static ffmpeg + ffprobe 4.1 (npm @ffmpeg-installer,
#                                              @ffprobe-installer: one build, so they share a dictionary)
#           node_modules.tar.xz                this project's node_modules without onnxruntime-node/bin
#
#   bash bench/gpu/make_bundles.sh     # run right before the device calls: reuses the big bundles
#                                      # already built, always redoes node_modules.tar.xz
# Needs npm (registry), xz, readelf, python3, and node_modules installed (./kinembed bootstrap).
# Env: KINEMBED_CACHE (default ~/.cache/kinembed) holds the npm packages; FF41 an existing ff41.tar.xz.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
ORT=1.29.0
PROV=0.4.9
DENO=2.9.6
FF=4.1.0
LIMIT=$((55 * 1024 * 1024))
CACHE=${KINEMBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kinembed}
A=.gpu/a
B=.gpu/b
mkdir -p "$A" "$B" "$CACHE"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
say() { echo "[$(date +%T)] make_bundles: $*"; }
size() { stat -c %s "$1"; }

# npm pack into the cache unless the package is there already (tgz name: scope/name flattened)
pack() {
  local spec=$1 file=$2
  if [ ! -f "$CACHE/$file" ]; then
    say "npm pack $spec"
    npm pack --silent "$spec" --pack-destination "$CACHE" >/dev/null
  fi
  [ -f "$CACHE/$file" ] || { echo "make_bundles: npm pack $spec gave no $CACHE/$file" >&2; exit 1; }
  echo "$CACHE/$file"
}

# node_modules must match deno.json + deno.lock as they travel (the device cannot install)
KINEMBED_QUIET=1 ./kinembed bootstrap

# --- .gpu/a: onnxruntime-node native files (from the installed node_modules, version-checked)
PKG=$(realpath node_modules/onnxruntime-node)
have=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$PKG/package.json")
[ "$have" = "$ORT" ] || { echo "make_bundles: node_modules has onnxruntime-node $have, need $ORT" >&2; exit 1; }
X64=$PKG/bin/napi-v6/linux/x64
if [ ! -f "$A/ort-node-$ORT-linux-x64.tar.xz" ]; then
  say "ort-node: $X64"
  tar -C "$X64" -cf - libonnxruntime.so.1 onnxruntime_binding.node | xz -9e -T0 >"$W/ort.txz"
  mv "$W/ort.txz" "$A/ort-node-$ORT-linux-x64.tar.xz"
fi

# --- .gpu/a: CUDA provider libraries, every fatbin arch but sm_90 (H100/H200) zeroed
if [ ! -f "$A/ort-cuda13-sm90-$ORT.tar.xz" ]; then
  tgz=$(pack "com.github.asus4.onnxruntime.linux-x64-gpu@$PROV" "com.github.asus4.onnxruntime.linux-x64-gpu-$PROV.tgz")
  say "ort-cuda13-sm90: unpacking $tgz"
  P=package/Plugins/Linux/x64
  tar xzf "$tgz" -C "$W" "$P/libonnxruntime_providers_shared.so" "$P/libonnxruntime_providers_cuda.so"
  mkdir -p "$W/prov"
  cp "$W/$P/libonnxruntime_providers_shared.so" "$W/prov/"
  python3 bench/gpu/fatbin_keep_arch.py "$W/$P/libonnxruntime_providers_cuda.so" \
    "$W/prov/libonnxruntime_providers_cuda.so" 90
  [ "$(size "$W/prov/libonnxruntime_providers_cuda.so")" = "$(size "$W/$P/libonnxruntime_providers_cuda.so")" ]
  say "ort-cuda13-sm90: compressing"
  tar -C "$W/prov" -cf - libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so |
    xz -9e -T0 >"$W/prov.txz"
  mv "$W/prov.txz" "$A/ort-cuda13-sm90-$ORT.tar.xz"
  rm -rf "$W/package" "$W/prov"
fi

# --- .gpu/a: a frame and our OpenCV-style resize of it, checked against cv2 on the device
deno run -A bench/gpu/opencv_pair.ts "$A" >/dev/null

# --- .gpu/b: Deno
if [ ! -f "$B/deno-$DENO.xz" ]; then
  tgz=$(pack "@deno/linux-x64-glibc@$DENO" "deno-linux-x64-glibc-$DENO.tgz")
  say "deno: compressing"
  tar xzf "$tgz" -C "$W" package/deno
  "$W/package/deno" --version | head -1 | grep -q "deno $DENO"
  xz -9e -T0 -c "$W/package/deno" >"$W/deno.xz"
  mv "$W/deno.xz" "$B/deno-$DENO.xz"
  rm -rf "$W/package"
fi

# --- .gpu/b: static ffmpeg + ffprobe 4.1 in one xz stream with a dictionary covering both
if [ ! -f "$B/ff41.tar.xz" ]; then
  if [ -n "${FF41:-}" ] && [ -f "$FF41" ]; then
    cp "$FF41" "$B/ff41.tar.xz"
  else
    f1=$(pack "@ffmpeg-installer/linux-x64@$FF" "ffmpeg-installer-linux-x64-$FF.tgz")
    f2=$(pack "@ffprobe-installer/linux-x64@$FF" "ffprobe-installer-linux-x64-$FF.tgz")
    mkdir -p "$W/ff" "$W/x1" "$W/x2"
    tar xzf "$f1" -C "$W/x1" && tar xzf "$f2" -C "$W/x2"
    cp "$W/x1/package/ffmpeg" "$W/x2/package/ffprobe" "$W/ff/"
    chmod 755 "$W/ff/ffmpeg" "$W/ff/ffprobe"
    say "ff41: compressing (a few minutes: one thread, 192 MiB dictionary)"
    tar -C "$W/ff" -cf - ffmpeg ffprobe | xz -9e --lzma2=preset=9e,dict=192MiB -T1 >"$W/ff.txz"
    mv "$W/ff.txz" "$B/ff41.tar.xz"
    rm -rf "$W/ff" "$W/x1" "$W/x2"
  fi
fi

# --- .gpu/b: node_modules without onnxruntime-node's native files (those come from .gpu/a)
say "node_modules: packing"
BIN=$(realpath --relative-to="$ROOT" "$PKG")/bin
tar -cf - --exclude="$BIN" --exclude="node_modules/.kinembed-stamp" node_modules |
  xz -6 -T0 >"$W/nm.txz"
mv "$W/nm.txz" "$B/node_modules.tar.xz"

for d in "$A" "$B"; do
  total=0
  for f in "$d"/*; do
    s=$(size "$f")
    total=$((total + s))
    printf '  %-40s %10d bytes (%.1f MiB)\n' "$f" "$s" "$(echo "$s / 1048576" | bc -l)"
  done
  printf '%s: %d bytes (%.1f MiB)\n' "$d" "$total" "$(echo "$total / 1048576" | bc -l)"
  [ "$total" -lt "$LIMIT" ] || { echo "make_bundles: $d is over 55 MiB" >&2; exit 1; }
done
tree=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
printf 'working tree that travels with each call: %d bytes (%.1f MiB)\n' "$tree" "$(echo "$tree / 1048576" | bc -l)"
