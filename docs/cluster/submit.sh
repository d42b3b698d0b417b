#!/bin/bash
# Submits the worker array (kinembed-array.sbatch) and the merge + verify job
# (kinembed-merge.sbatch) that runs after every task of the array succeeded; prints both job ids.
# Set the variables those two files read, and optionally
#   KINEMBED_TASKS        which workers to submit (default: all, 0-N-1); e.g. 5 or 3,7 to run
#                         failed workers again (with a new merge after them)
#   KINEMBED_ARRAY_LIMIT  at most this many tasks at once (--array=...%L)
#   KINEMBED_LOGS         the job logs' folder (default: $KINEMBED_WORK/logs)
# If a task fails, the merge is cancelled (--kill-on-invalid-dep): submit that task again.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export KINEMBED_REPO=${KINEMBED_REPO:-$(cd "$here/../.." && pwd)}
: "${KINEMBED_WORK:?set KINEMBED_WORK to the shared output dir}"
: "${KINEMBED_WORKERS:?set KINEMBED_WORKERS to the worker count}"

tasks=${KINEMBED_TASKS:-0-$((KINEMBED_WORKERS - 1))}
logs=${KINEMBED_LOGS:-$KINEMBED_WORK/logs}
mkdir -p "$logs"
array=$(sbatch --parsable --array="$tasks${KINEMBED_ARRAY_LIMIT:+%$KINEMBED_ARRAY_LIMIT}" \
  --output="$logs/kinembed_%A_%a.out" "$here/kinembed-array.sbatch")
array=${array%%;*} # "id;cluster" on a multi-cluster setup
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
  --output="$logs/kinembed_merge_%j.out" "$here/kinembed-merge.sbatch")
echo "$array ${merge%%;*}"
