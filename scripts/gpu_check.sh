#!/usr/bin/env bash
# GPU readiness check (issue 14): a few-second correctness smoke test, then the large
# (n = 10^7) graph benchmarks, with nothing to install. Time budget: smoke test at most
# 90 s + benchmarks at most 360 s = 7.5 min (timeouts), under the 10-minute command limit;
# the benchmarks rewrite their JSON after each size, so a timeout keeps what finished.
#
#   bash scripts/gpu_check.sh            # from the repository root
#   GPU_CHECK_SMOKE_ONLY=1 bash scripts/gpu_check.sh    # the smoke test alone
#
# Runs from the source tree (PYTHONPATH=.) with $PYTHON, else `python`, else `python3`.
# First checks that the imports meshjax and the smoke test need are there (jax, numpy,
# equinox, jaxtyping (needs wadler_lindig), filelock, scipy): if not, one line names what
# is missing and the exit status is 2, before anything else runs.
# Writes benchmarks/out/gpu_check.txt (smoke results + the table) and
# benchmarks/out/gpu_graph.json. Exit status 1 if a smoke check fails.
set -u -o pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
if [ -z "${PYTHON:-}" ]; then
    if command -v python >/dev/null 2>&1; then PYTHON=python; else PYTHON=python3; fi
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "gpu_check: no Python interpreter '$PYTHON' (set PYTHON=...)" >&2
    exit 2
fi
# Up-front dependency check: one line naming every missing module, exit 2.
"$PYTHON" - <<'PY' || exit 2
import importlib, sys
missing = []
for name in ("jax", "numpy", "equinox", "jaxtyping", "filelock", "scipy"):
    try:
        importlib.import_module(name)
    except ImportError as e:
        dep = getattr(e, "name", None)
        missing.append(name if dep in (None, name) else f"{name} (needs {dep})")
if missing:
    print(f"gpu_check: missing Python modules: {', '.join(missing)} "
          f"(for {sys.executable}); nothing is installed here, stopping", file=sys.stderr)
    sys.exit(2)
PY
OUT=benchmarks/out
mkdir -p "$OUT"
LOG="$OUT/gpu_check.txt"
: > "$LOG"
say() { echo "$@" | tee -a "$LOG"; }

say "== gpu_check $(date -u +%FT%TZ) on $(hostname)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a "$LOG"

say "== smoke test (correctness, a few seconds)"
timeout 90 "$PYTHON" - <<'PY' 2>&1 | tee -a "$LOG"
import itertools, sys, time
import jax, jax.numpy as jnp, jax.random as jr, numpy as np
import scipy.sparse.csgraph as csgraph
from meshjax import graph as G
from meshjax import potts

t0 = time.perf_counter()
print("backend", jax.default_backend(), jax.devices())
ok = True
# Components against scipy on the host.
g = G.erdos_renyi(jr.key(0), 20_000, 1.2)
lab = np.asarray(G.connected_components(g))
_, ref = csgraph.connected_components(G.to_scipy(g), directed=False)
same = len(set(zip(lab.tolist(), ref.tolist()))) == len(set(ref.tolist())) == len(set(lab.tolist()))
print("components vs scipy:", "ok" if same else "FAIL"); ok &= same
# Same partition without the gather layout (segment path), and neighbour sums.
lab2 = np.asarray(G.connected_components(G.with_layout(g, policy="never")))
print("components layout == segment:", "ok" if (lab == lab2).all() else "FAIL"); ok &= bool((lab == lab2).all())
x = jr.normal(jr.key(1), (g.n_nodes,), jnp.float32)
err = float(np.max(np.abs(np.asarray(G.neighbor_sum(g, x)) - G.to_scipy(g) @ np.asarray(x, np.float64))))
print(f"neighbor_sum vs scipy: max err {err:.2e}", "ok" if err < 1e-4 else "FAIL"); ok &= err < 1e-4
c = G.colouring(jr.key(2), g)
try:
    G.check_colouring(g, c); print("colouring proper:", int(c.max()) + 1, "colours, ok")
except ValueError as e:
    print("colouring FAIL", e); ok = False
# Potts energy on a tiny graph against exact enumeration (q^n states).
q, beta = 3, 0.7
t = G.lattice((3, 3))  # 9 nodes, 18 edges, periodic
states = np.array(list(itertools.product(range(q), repeat=t.n_nodes)), np.int32)
e_jax = np.asarray(jax.vmap(lambda s: potts.energy(t, s))(jnp.asarray(states)), np.float64)
edges = G.to_edges(t)
e_np = -(states[:, edges[:, 0]] == states[:, edges[:, 1]]).sum(1).astype(np.float64)
err = float(np.max(np.abs(e_jax - e_np)))
w = np.exp(-beta * (e_np - e_np.min()))
mean_exact = float((w * e_np).sum() / w.sum())
wj = np.exp(-beta * (e_jax - e_jax.min()))
mean_jax = float((wj * e_jax).sum() / wj.sum())
good = err < 1e-5 and abs(mean_jax - mean_exact) < 1e-4
print(f"potts energy vs enumeration ({len(states)} states): max err {err:.1e}, "
      f"<H>_beta={beta}: {mean_jax:.6f} vs {mean_exact:.6f}", "ok" if good else "FAIL")
ok &= good
print(f"smoke test {'passed' if ok else 'FAILED'} in {time.perf_counter() - t0:.1f} s")
sys.exit(0 if ok else 1)
PY
smoke=$?

if [ "${GPU_CHECK_SMOKE_ONLY:-0}" = 1 ]; then
    say "== smoke only (GPU_CHECK_SMOKE_ONLY=1): rc=$smoke"
    exit "$smoke"
fi
say "== large benchmarks (n = 10^7, ER <k> = 10; layout vs segment path)"
timeout 360 "$PYTHON" -m benchmarks.bench_graph --sizes 10000000 --repeat 2 --no-peers \
    --out "$OUT/gpu_graph.json" 2>&1 | tee -a "$LOG"
bench=$?
say "== done: smoke rc=$smoke, benchmarks rc=$bench; table in $LOG"
[ "$smoke" -eq 0 ]
