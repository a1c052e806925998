#!/bin/bash
# One GPU box: show the devices, then run a config on all of them.
#
#     scripts/gpu_box.sh configs/quickstart.toml runs/quickstart-gpu [--set key=value ...]
set -euo pipefail

CONFIG=${1:?usage: scripts/gpu_box.sh CONFIG OUT_DIR [meshjax run options]}
OUT=${2:?usage: scripts/gpu_box.sh CONFIG OUT_DIR [meshjax run options]}
shift 2
export XLA_PYTHON_CLIENT_PREALLOCATE=false   # sweeps size their chunks from free memory
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
"${PYTHON:-python}" -m meshjax info
"${PYTHON:-python}" -m meshjax run "$CONFIG" --out "$OUT" "$@"
