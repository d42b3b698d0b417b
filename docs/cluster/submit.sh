#!/bin/bash
# Submits the worker array (kinembed-array.sbatch) and the merge + verify job
# (kinembed-merge.sbatch) that runs after every task of the array succeeded; prints both job ids.
#   submit.sh [--resume] [sbatch options]
# The sbatch options (and those in KINEMBED_SBATCH_ARGS, separated by spaces) go to both jobs:
# resources are asked for only there, e.g. submit.sh --cpus-per-task=8 --mem=8G --gres=gpu:1.
# --resume submits only the workers whose shards are missing or incomplete (as `kinembed merge
# --check` finds them), and a merge after them; with every shard present, only the merge. It is
# the one command after a failed, cancelled or lost task, or a cancelled or refused merge.
# Set the variables those two files read, and optionally
#   KINEMBED_TASKS        which workers to submit (default: all, 0-N-1); e.g. 5 or 3,7
#   KINEMBED_ARRAY_LIMIT  at most this many tasks at once (--array=...%L)
#   KINEMBED_LOGS         the job logs' folder (default: $KINEMBED_WORK/logs)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export KINEMBED_REPO=${KINEMBED_REPO:-$(cd "$here/../.." && pwd)}
: "${KINEMBED_WORK:?set KINEMBED_WORK to the shared output dir}"
: "${KINEMBED_WORKERS:?set KINEMBED_WORKERS to the worker count}"

resume=0
if [ "${1:-}" = --resume ]; then
  resume=1
  shift
fi
set -f # KINEMBED_SBATCH_ARGS is split at spaces, never expanded as globs
# shellcheck disable=SC2206
opts=(${KINEMBED_SBATCH_ARGS:-} "$@")
set +f

all=0-$((KINEMBED_WORKERS - 1))
tasks=${KINEMBED_TASKS:-$all}
if [ "$resume" = 1 ] && [ -d "$KINEMBED_WORK/workers" ]; then
  rc=0
  check=$(cd "$KINEMBED_REPO" && KINEMBED_QUIET=1 ./kinembed merge --work "$KINEMBED_WORK" \
    --workers "$KINEMBED_WORKERS" --check --quiet 2>&1) || rc=$?
  if [ "$rc" = 0 ]; then
    tasks=""
  else
    # the workers merge names: "worker 5/16 has not written it", "worker 3/16 has not run"
    tasks=$(grep -oE "worker [0-9]+/$KINEMBED_WORKERS " <<<"$check" | cut -d' ' -f2 | cut -d/ -f1 |
      sort -nu | paste -sd, - || true)
    if [ -z "$tasks" ]; then
      echo "submit.sh --resume: nothing to resubmit fixes this; kinembed merge --check said:" >&2
      echo "$check" >&2
      exit "$rc"
    fi
    # every worker: the whole array (a list of all N is not one range for kinembed)
    if [ "$(tr ',' '\n' <<<"$tasks" | wc -l)" = "$KINEMBED_WORKERS" ]; then tasks=$all; fi
  fi
fi

logs=${KINEMBED_LOGS:-$KINEMBED_WORK/logs}
mkdir -p "$logs"
after=()
array=-
if [ -n "$tasks" ]; then
  array=$(sbatch --parsable "${opts[@]}" \
    --array="$tasks${KINEMBED_ARRAY_LIMIT:+%$KINEMBED_ARRAY_LIMIT}" \
    --output="$logs/kinembed_%A_%a.out" "$here/kinembed-array.sbatch")
  array=${array%%;*} # "id;cluster" on a multi-cluster setup
  # if a task fails, Slurm cancels this merge: submit.sh --resume submits what is missing
  after=(--dependency=afterok:"$array" --kill-on-invalid-dep=yes)
fi
merge=$(sbatch --parsable "${opts[@]}" "${after[@]}" \
  --output="$logs/kinembed_merge_%j.out" "$here/kinembed-merge.sbatch")
echo "$array ${merge%%;*}"
