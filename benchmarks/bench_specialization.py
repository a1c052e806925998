"""Benchmark: threshold-model (9)-(10) agent-task updates per second.

One step updates every agent's task choice and all N x J thresholds, the stimuli and the
work memory, so the work per step is N * J agent-task updates. meshjax (`simulate`, one
`lax.scan`, metrics once at the end) against a plain NumPy implementation of the same
update (vectorised over agents, a Python loop over steps).

    python -m benchmarks.bench_specialization [--quick]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from benchmarks._harness import (
    add_ratios,
    print_table,
    row,
    time_call,
    time_host,
    write_json,
)
from meshjax import specialization as sp


def _numpy_run(
    rng,
    th,
    task,
    stim,
    act,
    demand,
    steps,
    *,
    n=2.0,
    alpha=1.0,
    xi=0.5,
    phi=0.05,
    quit_prob=0.1,
    tmin=0.01,
    tmax=20.0,
    lam=0.005,
):
    N, J = th.shape
    rows = np.arange(N)
    tasks = np.arange(J)
    for _ in range(steps):
        working = task < J
        quits = rng.random(N, dtype=np.float32) < quit_prob
        cand = rng.integers(0, J, N)
        th_c = th[rows, cand]
        s_c = stim[cand]
        sn = s_c**n
        p = sn / (sn + th_c**n)
        go = rng.random(N, dtype=np.float32) < p
        task = np.where(working, np.where(quits, J, task), np.where(go, cand, J))
        x = (task[:, None] == tasks).astype(np.float32)
        stim = np.maximum(stim + demand - alpha * x.sum(0) / N, 0.0).astype(np.float32)
        th = np.clip(th - xi * x + phi * (1.0 - x), tmin, tmax)
        act = (1.0 - lam) * act + lam * x
    return th, task, stim, act


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="N = 10^5 instead of 10^6")
    args = ap.parse_args(argv)
    N = 100_000 if args.quick else 1_000_000
    J = 10
    steps_jax, steps_np = 50, 5
    demand = np.full(J, 0.04, np.float32)
    params = sp.ThresholdParams(demand=jnp.asarray(demand))
    st0 = sp.init_state(jr.key(0), N, params, dtype=jnp.float32)
    # warm the state so the timed steps are in the working regime
    st0 = sp.simulate(jr.key(1), st0, params, 200, record_every=200).state
    size = {"N": N, "J": J, "dtype": "float32"}
    rows = []

    def ours():
        run = sp.simulate(jr.key(2), st0, params, steps_jax, record_every=steps_jax)
        return run.state.thresholds, run.dol

    t = time_call(ours, repeat=3)
    rows.append(
        row(
            "specialization",
            "threshold step",
            "meshjax",
            size,
            t,
            N * J * steps_jax,
            "agent-task updates/s",
        )
    )

    th = np.asarray(st0.thresholds)
    task = np.asarray(st0.task).astype(np.int64)
    stim = np.asarray(st0.stimuli)
    act = np.asarray(st0.activity)
    rng = np.random.default_rng(0)
    t = time_host(
        lambda: _numpy_run(rng, th, task, stim, act, demand, steps_np), repeat=3
    )
    rows.append(
        row(
            "specialization",
            "threshold step",
            "numpy",
            size,
            t,
            N * J * steps_np,
            "agent-task updates/s",
        )
    )
    add_ratios(rows)
    print(f"jax {jax.__version__} on {jax.devices()[0]}")
    print_table(rows)
    write_json(rows, "benchmarks/out/specialization.json")
    return rows


if __name__ == "__main__":
    main()
