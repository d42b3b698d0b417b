#!/usr/bin/env bash
# Runs both device calls here, as far as a machine without a GPU allows, the way the GPU machine
# would see them: a copy of the working tree plus .gpu/a and .gpu/b, a fresh $HOME (so the stage and
# an empty DENO_DIR are new), no network (unshare -n, when allowed), small settings, the CPU
# provider as fallback. Checks staging, Deno offline with the carried node_modules, the static
# ffmpeg, gpu-setup --from, the benchmarks' code paths and the report.
#   bash bench/gpu/dry_run.sh [KEEP_DIR]
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
D=${1:-$(mktemp -d /tmp/kinembed-gpu-dry.XXXXXX)}
mkdir -p "$D/repo" "$D/home" "$D/out_a" "$D/out_b"
cd "$ROOT"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -C "$D/repo" -xf -
mkdir -p "$D/repo/.gpu"
cp -r .gpu/a .gpu/b "$D/repo/.gpu/"
NET=()
if unshare -n true 2>/dev/null; then NET=(unshare -n); else echo "dry_run: unshare -n not allowed; network stays on"; fi
cd "$D/repo"
echo "=== call 1 (device_a.sh) in $D/repo"
env HOME="$D/home" OUT="$D/out_a" "${NET[@]}" bash bench/gpu/device_a.sh
echo "=== call 2 (device_b.sh)"
env HOME="$D/home" OUT="$D/out_b" E2E_SCALE="${E2E_SCALE:-1}" E2E_BATCH=16 ORT_BATCHES=4,8 \
  ORT_PROVIDER=cuda,cpu MODEL_SIZE=tiny "${NET[@]}" bash bench/gpu/device_b.sh
echo "=== files back: $(ls "$D/out_a" "$D/out_b" | tr '\n' ' ')"
if grep -h "Download http" "$D/out_a"/* "$D/out_b"/*; then
  echo "dry_run: FAILED: Deno tried to reach the npm registry (lines above)"
  exit 1
fi
echo "dry run in $D"
