#!/bin/bash
# A sweep over several hosts with mpirun: one process per host.
#
#     NP=2 HOSTS=node1,node2 scripts/mpirun_sweep.sh /shared/runs/sweep-1
#
# Open MPI 4 exports OMPI_MCA_orte_hnp_uri, from which meshjax.distributed finds the
# coordinator (the launcher's host). With Open MPI 5, MPICH or Intel MPI, export
# JAX_COORDINATOR_ADDRESS=<host of rank 0>:<free port> first; it is passed on with -x.
set -euo pipefail

OUT=${1:?usage: scripts/mpirun_sweep.sh OUT_DIR}
NP=${NP:-2}
HOST_ARGS=()
if [[ -n "${HOSTS:-}" ]]; then HOST_ARGS=(-H "$HOSTS"); fi
ENV_ARGS=(-x PYTHONPATH -x XLA_PYTHON_CLIENT_PREALLOCATE=false)
if [[ -n "${JAX_COORDINATOR_ADDRESS:-}" ]]; then ENV_ARGS+=(-x JAX_COORDINATOR_ADDRESS); fi

mpirun -n "$NP" --map-by ppr:1:node "${HOST_ARGS[@]}" "${ENV_ARGS[@]}" \
    "${PYTHON:-python}" "$(dirname "$0")/sweep.py" --out "$OUT"
