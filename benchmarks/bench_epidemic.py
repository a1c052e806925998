"""Discrete-time SIS: node updates per second, meshjax vs peers on the same graph.

Case (issue 14): Barabási–Albert n = 10^5, m = 3, dt = 0.1, infection rate β = 0.2 per
S–I edge, recovery μ = 1 (endemic: λ = 0.2 is far above the HMF threshold of this
graph), half the nodes infected at t = 0, no quasi-stationary trick (`qs="none"`).
A node update is one node advanced by one step; `n_steps` steps per timed call.

* meshjax: `epidemic.sis(..., qs="none")` (one `lax.scan`; the neighbour count is a
  gather of int8 states through the graph's layout).
* scipy: the same synchronous update in NumPy with a scipy CSR mat-vec per step (the
  fastest vectorised CPU peer without compiled model code).
* graph-tool `SISState.iterate_sync` (discrete SIS, same parametrisation:
  `beta` = 1 - e^{-β dt} per infected neighbour, `r` = 1 - e^{-μ dt}) — run in a
  subprocess with the system `/usr/bin/python3`, where Debian's python3-graph-tool
  lives, on the same edge list; if it is not importable there the row says so.
* EoN `fast_SIS` (exact continuous-time Gillespie, event driven) at a shorter t_max,
  reported as node-time units per second (a different algorithm; for scale only).

Every row carries `load1` (the 1-minute load average when it was taken): the CPU may be
shared with other jobs.

Usage: `python -m benchmarks.bench_epidemic [--quick] [--n N] [--steps S]`.
"""

from __future__ import annotations

import argparse
import math
import os

import jax.random as jr
import numpy as np

from benchmarks._harness import (
    SYSTEM_PYTHON,
    add_ratios,
    graph_tool_available,
    peer_available,
    print_table,
    row,
    run_graph_tool,
    time_call,
    time_host,
    write_json,
)
from meshjax import epidemic
from meshjax.graph import barabasi_albert, to_edges, to_scipy

SUITE = "epidemic"

_GT_SCRIPT = r"""
import json, sys, time
import numpy as np
import graph_tool as gt
from graph_tool.dynamics import SISState
a = json.loads(sys.argv[1])
edges = np.load(a["edges"])
g = gt.Graph(directed=False)
g.add_vertex(a["n"])
g.add_edge_list(edges)
gt.openmp_set_num_threads(a.get("threads", 2)) if hasattr(gt, "openmp_set_num_threads") else None
x0 = np.load(a["x0"])
times = []
for rep in range(a["repeat"] + 1):
    s0 = g.new_vertex_property("int32_t")
    s0.a[:] = x0
    # beta: per infected neighbour and step; gamma: recovery per step; r: spontaneous
    # infection (none in our model)
    st = SISState(g, beta=a["beta"], gamma=a["gamma"], r=0.0, exposed=False, s=s0)
    t0 = time.perf_counter()
    st.iterate_sync(niter=a["steps"])
    times.append(time.perf_counter() - t0)
    prev = float(np.mean(st.get_state().a))
print(json.dumps({"first_s": times[0], "times": times[1:], "prevalence": prev,
                  "version": gt.__version__}))
"""


def _load1() -> float:
    return round(os.getloadavg()[0], 2)


def _graph_tool_sis(edges, x0, n, beta_step, r_step, steps, repeat) -> dict | None:
    """graph-tool's discrete SIS from the same start (`x0`, half infected)."""
    return run_graph_tool(
        _GT_SCRIPT,
        {"edges": edges, "x0": np.asarray(x0, np.int32)},
        n=n,
        beta=beta_step,
        gamma=r_step,
        steps=steps,
        repeat=repeat,
        threads=os.cpu_count() or 1,  # every core, as XLA gets (was fixed at 2)
    )


def numpy_sis(a_csr, x0, beta, mu, dt, steps, rng):
    """The same synchronous discrete SIS as `epidemic.sis` (qs="none"), NumPy + CSR."""
    p_rec = -math.expm1(-mu * dt)
    x = x0.copy()
    xf = x.astype(np.float32)
    for _ in range(steps):
        m = a_csr @ xf
        p_inf = -np.expm1(-beta * dt * m)
        u = rng.random(x.shape[0], dtype=np.float32)
        x = np.where(x, u >= p_rec, u < p_inf)
        xf = x.astype(np.float32)
    return x


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--out", default="benchmarks/out/epidemic.json")
    args = ap.parse_args(argv)
    n = args.n or (10_000 if args.quick else 100_000)
    steps = args.steps or (200 if args.quick else 500)
    m_ba, beta, mu, dt = 3, 0.2, 1.0, 0.1
    repeat = 3
    g = barabasi_albert(jr.key(0), n, m_ba)
    size = {"n": n, "m": m_ba, "dt": dt, "beta": beta, "mu": mu, "steps": steps}
    work = n * steps
    rows = []

    def ours():
        return epidemic.sis(
            jr.key(1), g, beta, mu, n_steps=steps, dt=dt, qs="none", record_every=steps
        ).qs_prevalence

    tm = time_call(ours, repeat=repeat)
    r = row(SUITE, "sis", "meshjax", size, tm, work, "node-updates/s")
    r["prevalence"] = float(np.asarray(ours()).ravel()[0])
    r["load1"] = _load1()
    rows.append(r)
    print(f"meshjax: {r['rate']:.3g} node-updates/s (load {r['load1']})", flush=True)

    a = to_scipy(g).astype(np.float32).tocsr()
    rng = np.random.default_rng(0)
    x0 = rng.random(n) < 0.5
    tm = time_host(lambda: numpy_sis(a, x0, beta, mu, dt, steps, rng), repeat=repeat)
    r = row(SUITE, "sis", "numpy+scipy CSR", size, tm, work, "node-updates/s")
    r["prevalence"] = float(numpy_sis(a, x0, beta, mu, dt, steps, rng).mean())
    r["load1"] = _load1()
    rows.append(r)
    print(f"numpy: {r['rate']:.3g} node-updates/s (load {r['load1']})", flush=True)

    edges = np.asarray(to_edges(g), np.int64)
    if graph_tool_available():
        res = _graph_tool_sis(
            edges,
            x0,
            n,
            -math.expm1(-beta * dt),
            -math.expm1(-mu * dt),
            steps,
            repeat,
        )
        if res is not None:
            r = row(
                SUITE,
                "sis",
                "graph-tool iterate_sync",
                size,
                res["timing"],
                work,
                "node-updates/s",
            )
            r["prevalence"] = res["prevalence"]
            r["note"] = (
                f"graph-tool {res['version']}, system python3, "
                f"{os.cpu_count() or 1} OpenMP threads"
            )
            r["load1"] = _load1()
            rows.append(r)
    else:
        print(
            f"graph-tool: not importable by {SYSTEM_PYTHON} (python3-graph-tool is not "
            "installed on this machine), so SISState.iterate_sync was not run."
        )

    if peer_available("EoN") and peer_available("networkx"):
        import EoN
        import networkx as nx

        G = nx.Graph()
        G.add_nodes_from(range(n))
        G.add_edges_from(edges.tolist())
        init = np.flatnonzero(x0).tolist()
        tmax = 2.0 if not args.quick else 5.0
        tm = time_host(
            lambda: EoN.fast_SIS(G, beta, mu, initial_infecteds=init, tmax=tmax),
            repeat=1,
            warmup=0,
        )
        r = row(
            SUITE,
            "sis_continuous",
            "EoN.fast_SIS",
            {**size, "steps": None, "tmax": tmax},
            tm,
            n * tmax,
            "node-time/s",
        )
        r["load1"] = _load1()
        r["note"] = "continuous time (Gillespie); meshjax node-time/s = rate * dt"
        rows.append(r)
    add_ratios(rows)
    print_table(rows)
    write_json(rows, args.out)
    return rows


if __name__ == "__main__":
    main()
