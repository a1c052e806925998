"""Potts sweeps: spin updates per second, meshjax vs a vectorised NumPy heat bath.

Case (issue 3): Erdős–Rényi, n = 10^6, <k> = 10, q = 3, beta near the transition.
* meshjax heat bath: `PottsModel.heat_bath` (class by class on the per-class gather
  layout: int8 spin gathers, packed 8-bit counters, one fused loop per class, no
  scatter; O(n + E) per sweep), jitted, `sweeps` sweeps per timed call under
  `lax.fori_loop`.
* replicas: R = 8 chains (8 β values) one by one vs one `vmap` (4 chains per int32
  word), rate in spin updates/s over all chains.
* meshjax Swendsen–Wang: `PottsModel.identity(g, q).swendsen_wang`, as
  `run(algorithm="swendsen_wang")` uses it (FK bonds folded into the graph's gather
  layout, then FastSV components). (Before 2026-12-01 01:25 this row ran SW on the
  heat-bath model's renumbered graph, which has no gather layout: the segment path.)
* NumPy peer: the same colouring and class layout, one `np.bincount` per class for the
  neighbour-state counts, inverse-CDF sampling; the fastest vectorised CPU heat bath we
  could write without compiled code.
* graph-tool `PottsGlauberState.iterate_async` (compiled C++, sequential heat-bath
  updates of random spins; f = β·I, so P(s) ∝ exp(β · #neighbours in state s), the same
  conditional law), `n × sweeps` updates per timed call, run with the system
  `/usr/bin/python3` where Debian's python3-graph-tool lives (no wheel for a venv), on
  the same edge list and start. The share of edges whose ends agree after the run is
  reported for every implementation as a sanity check (same β, same start, so close).

Every row carries `load1`, the 1-minute load average when it was taken (the CPU may be
shared with other jobs).

* `--many-states`: the heat bath at q = 20, 64, 128 on ER n = 2·10^5, <k> = 10, in both
  counting forms of `potts._classes` (one operation per word or state, the default up
  to `WIDE_STATES`; one 2-D operation per column above it), side by side in one
  process: the first call (compile + run) and the warm rate of each. Each form is a
  fresh program (`jax.clear_caches()` between them: the form is chosen at trace time).

Usage: `python -m benchmarks.bench_potts [--quick | --many-states]` (quick: n = 10^5).
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from benchmarks._harness import (
    add_ratios,
    graph_tool_available,
    print_table,
    row,
    run_graph_tool,
    time_call,
    time_host,
    write_json,
)
from meshjax import potts
from meshjax.graph import colouring, erdos_renyi, to_edges

SUITE = "potts"


def _numpy_peer(model: potts.PottsModel):
    """A vectorised NumPy heat-bath sweep on the model's class layout (internal frame)."""
    q = model.q
    snd = np.asarray(model.pgraph.senders)
    no, so = model.node_offsets, model.slot_offsets
    rcv = np.asarray(model.pgraph.receivers)
    cls = np.repeat(np.arange(model.num_colours), np.diff(so))
    loc = rcv - np.asarray(no)[cls]  # row of each slot inside its class
    mask = (
        None
        if model.pgraph.edge_mask is None
        else np.asarray(model.pgraph.edge_mask).astype(np.float64)
    )
    classes = [(no[c], no[c + 1], so[c], so[c + 1]) for c in range(model.num_colours)]

    def sweep(rng, s, beta):
        for n0, n1, s0, s1 in classes:
            nc = n1 - n0
            idx = loc[s0:s1] * q + s[snd[s0:s1]]
            w = None if mask is None else mask[s0:s1]
            counts = np.bincount(idx, weights=w, minlength=nc * q).reshape(nc, q)
            z = np.exp(beta * (counts - counts.max(1, keepdims=True)))
            cw = np.cumsum(z, 1)
            u = rng.random(nc) * cw[:, -1]
            s[n0:n1] = (cw[:, :-1] <= u[:, None]).sum(1)
        return s

    return sweep


_GT_SCRIPT = r"""
import json, sys, time
import numpy as np
import graph_tool as gt
from graph_tool.dynamics import PottsGlauberState
a = json.loads(sys.argv[1])
edges = np.load(a["edges"])
g = gt.Graph(directed=False)
g.add_vertex(a["n"])
g.add_edge_list(edges)
f = a["beta"] * np.eye(a["q"])
times = []
for rep in range(a["repeat"] + 1):
    s0 = g.new_vertex_property("int32_t")
    s0.a[:] = np.load(a["spins"])
    st = PottsGlauberState(g, f, s=s0)
    t0 = time.perf_counter()
    st.iterate_async(niter=a["n"] * a["sweeps"])
    times.append(time.perf_counter() - t0)
s = np.asarray(st.get_state().a)
agree = float(np.mean(s[edges[:, 0]] == s[edges[:, 1]]))
print(json.dumps({"first_s": times[0], "times": times[1:], "agree": agree,
                  "version": gt.__version__}))
"""


def _agree(edges: np.ndarray, spins: np.ndarray) -> float:
    """Share of edges whose two ends hold the same spin."""
    return float(np.mean(spins[edges[:, 0]] == spins[edges[:, 1]]))


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sweeps", type=int, default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--many-states", action="store_true")
    args = ap.parse_args(argv)
    if args.many_states:
        return _many_states(args.out or "benchmarks/out/potts_many_states.json")
    args.out = args.out or "benchmarks/out/potts.json"
    n = 100_000 if args.quick else 1_000_000
    k, q, beta = 10.0, 3, 0.28
    sweeps = args.sweeps or (5 if args.quick else 5)
    repeat = 3
    key = jr.key(0)
    t0 = time.perf_counter()
    g = erdos_renyi(key, n, k)
    col = colouring(jr.key(0), g)
    jax.block_until_ready(col)
    t_graph = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = potts.PottsModel.build(g, col, q)
    t_build = time.perf_counter() - t0
    print(
        f"graph+colouring {t_graph:.2f} s, layout {t_build:.2f} s, "
        f"{model.num_colours} colours, {g.n_slots // 2} edge slots"
    )
    s0 = model.to_internal(potts.init(key, g, q).spins)
    b = jnp.asarray(beta, jnp.float32)
    size = {"n": n, "mean_degree": k, "q": q, "beta": beta, "sweeps": sweeps}
    rows = []

    @jax.jit
    def hb(model, key, s):
        return lax.fori_loop(
            0, sweeps, lambda t, s: model.heat_bath(jr.fold_in(key, t), s, b), s
        )

    # Swendsen–Wang as `run(algorithm="swendsen_wang")` does it: on the graph itself
    # (original numbering, its gather layout), no colour classes.
    sw_model = potts.PottsModel.identity(g, q)
    inv = model.inverse

    @jax.jit
    def sw(model, key, s):
        s = s[inv]  # internal (class) numbering -> original
        return lax.fori_loop(
            0, sweeps, lambda t, s: sw_model.swendsen_wang(jr.fold_in(key, t), s, b), s
        )

    def load1():
        return round(os.getloadavg()[0], 2)

    # equilibrate a little so SW sees realistic clusters
    s_eq = hb(model, jr.fold_in(key, 1), s0)
    for name, fn in (("heat_bath", hb), ("swendsen_wang", sw)):
        tm = time_call(lambda: fn(model, jr.fold_in(key, 2), s_eq), repeat=repeat)
        rows.append(row(SUITE, name, "meshjax", size, tm, n * sweeps, "spin updates/s"))
        rows[-1]["load1"] = load1()
        print(f"{name}: {rows[-1]['rate']:.3g} spins/s", flush=True)

    # Replicas / beta values: R chains one by one against one vmap.
    n_rep = 8

    @jax.jit
    def chain(model, key, s, beta):
        return lax.fori_loop(
            0, sweeps, lambda t, s: model.heat_bath(jr.fold_in(key, t), s, beta), s
        )

    keys = jr.split(jr.fold_in(key, 3), n_rep)
    betas = jnp.linspace(0.2, 0.3, n_rep, dtype=jnp.float32)
    spins = jnp.broadcast_to(s_eq, (n_rep, n))
    batched = jax.jit(jax.vmap(chain, in_axes=(None, 0, 0, 0)))
    rsize = {**size, "beta": "0.2..0.3", "replicas": n_rep}
    for impl, fn in (
        (
            "meshjax, one by one",
            lambda: [chain(model, keys[i], spins[i], betas[i]) for i in range(n_rep)],
        ),
        ("meshjax", lambda: batched(model, keys, spins, betas)),
    ):
        tm = time_call(fn, repeat=repeat)
        rows.append(
            row(
                SUITE,
                "heat_bath_replicas",
                impl,
                rsize,
                tm,
                n * sweeps * n_rep,
                "spin updates/s",
            )
        )
        rows[-1]["load1"] = load1()
        print(f"replicas {impl}: {rows[-1]['rate']:.3g} spins/s", flush=True)
    peer = _numpy_peer(model)
    rng = np.random.default_rng(0)
    s_np = np.asarray(s_eq).astype(np.int64)

    def run_np():
        s = s_np.copy()
        for _ in range(sweeps):
            s = peer(rng, s, beta)
        return s

    tm = time_host(run_np, repeat=repeat, warmup=0)
    rows.append(
        row(
            SUITE,
            "heat_bath",
            "numpy (same colouring)",
            size,
            tm,
            n * sweeps,
            "spin updates/s",
        )
    )
    rows[-1]["load1"] = load1()
    edges = np.asarray(to_edges(g), np.int64)
    inv_np = np.asarray(model.inverse)  # internal -> original numbering: x[inverse]
    agree = {id(rows[-1]): _agree(edges, run_np()[inv_np])}
    ours = np.asarray(hb(model, jr.fold_in(key, 2), s_eq))[inv_np]
    agree[id(rows[0])] = _agree(edges, ours)
    if graph_tool_available():
        res = run_graph_tool(
            _GT_SCRIPT,
            {"edges": edges, "spins": np.asarray(s_eq)[inv_np].astype(np.int32)},
            n=n,
            q=q,
            beta=beta,
            sweeps=sweeps,
            repeat=repeat,
        )
        if res is not None:
            r = row(
                SUITE,
                "heat_bath",
                "graph-tool iterate_async",
                size,
                res["timing"],
                n * sweeps,
                "spin updates/s",
            )
            agree[id(r)] = res["agree"]
            r["note"] = f"graph-tool {res['version']}, system python3, sequential"
            r["load1"] = load1()
            rows.append(r)
    else:
        print(
            "graph-tool: not importable by the system python3 (python3-graph-tool is "
            "not installed), so PottsGlauberState was not run."
        )
    add_ratios(rows)  # before per_ns and agree (per-row values would split the groups)
    for r in rows:
        r["per_ns"] = r["rate"] / 1e9
        r["agree"] = agree.get(id(r), "")
    print_table(rows)
    write_json(rows, args.out)
    return rows


def _many_states(out: str) -> list[dict]:
    from meshjax.potts import _classes

    n, k, beta, sweeps = 200_000, 10.0, 0.7, 5
    g = erdos_renyi(jr.key(0), n, k)
    col = colouring(jr.key(0), g)
    rows = []
    for q in (20, 64, 128):
        model = potts.PottsModel.build(g, col, q)
        s0 = model.to_internal(potts.init(jr.key(1), g, q).spins)
        b = jnp.asarray(beta, jnp.float32)
        for form, threshold in (("per-state", 10**9), ("wide", 0)):
            _classes.WIDE_STATES, default = threshold, _classes.WIDE_STATES
            jax.clear_caches()

            @jax.jit
            def hb(model, key, s):
                return lax.fori_loop(
                    0, sweeps, lambda t, s: model.heat_bath(jr.fold_in(key, t), s, b), s
                )

            try:
                t = time_call(lambda hb=hb: hb(model, jr.key(2), s0), repeat=3)
            finally:
                _classes.WIDE_STATES = default
            size = {"n": n, "mean_degree": k, "q": q, "beta": beta, "sweeps": sweeps}
            rows.append(
                row(
                    SUITE,
                    f"heat_bath_q{q}",
                    f"meshjax {form}",
                    size,
                    t,
                    n * sweeps,
                    "spin updates/s",
                )  # fmt: skip
            )
            print(f"q={q} {form}: first call {t['first_s']:.1f} s, "
                  f"{rows[-1]['rate']:.3g} spin updates/s", flush=True)  # fmt: skip
    print_table(rows)
    write_json(rows, out)
    return rows


if __name__ == "__main__":
    main()
