#!/bin/bash
# Try the multi-host path on one machine: N CPU processes joined by jax.distributed,
# each with D CPU devices. The table equals a one-process run on N*D devices.
#
#     PYTHON=/path/to/venv/bin/python scripts/local_processes.sh /tmp/sweep-2x2 2 2
set -euo pipefail

OUT=${1:?usage: scripts/local_processes.sh OUT_DIR [N_PROCESSES] [DEVICES_PER_PROCESS]}
N=${2:-2}
D=${3:-2}
PORT=${PORT:-62111}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
pids=()
for ((i = 0; i < N; i++)); do
  JAX_PLATFORMS=cpu JAX_COORDINATOR_ADDRESS="localhost:$PORT" JAX_NUM_PROCESSES="$N" \
  JAX_PROCESS_ID="$i" PYTHONPATH="$ROOT" \
    "${PYTHON:-python}" "$ROOT/scripts/sweep.py" --out "$OUT" --cpu-devices "$D" --points 2000 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
exit $status
