"""Benchmark: a 10^4-point parameter sweep of the growth equation (22) as one vmapped solve.

meshjax: `growth.solve` = jit(vmap(diffrax Tsit5 + PID + blow-up event)) over the grid.
Peer: `scipy.integrate.solve_ivp` (RK45, same tolerances, same ln C formulation and the same
terminal blow-up event) in a Python loop. The loop is timed on a subset and scaled to the
full grid (points/s is what is compared; said so in the `note` column).

Usage: python -m benchmarks.bench_growth [--quick]
"""

from __future__ import annotations

import argparse
import math

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks._harness import (
    add_ratios,
    peer_available,
    print_table,
    row,
    time_call,
    time_host,
    write_json,
)
from meshjax import RESULTS, growth as gr, is_successful

RTOL, ATOL, T1, FACTOR = 1e-6, 1e-9, 20.0, 1e9


def _grid(n_points: int):
    """A grid over (Phi, delta_g, delta, C0) mixing regimes (a), (b), (c) and decay."""
    side = round(n_points**0.25)
    phi = np.linspace(0.3, 1.8, side)
    dg = np.linspace(0.2, 1.0, side)
    delta = np.linspace(0.0, 0.3, side)
    c0 = np.linspace(0.5, 2.0, side)
    P, D, De, C = (
        x.reshape(-1) for x in np.meshgrid(phi, dg, delta, c0, indexing="ij")
    )
    return P, D, De, C


def _scipy_loop(P, D, De, C, idx):
    from scipy.integrate import solve_ivp

    out = np.empty(len(idx))
    for k, i in enumerate(idx):
        a = D[i] * 0.5  # f = 0.5, lam = 1
        Phi, d = P[i], De[i]

        def f(t, y, a=a, Phi=Phi, d=d):
            return [a * math.exp((Phi - 1) * y[0]) - d]

        def blow(t, y, a=a, Phi=Phi, d=d):
            return a * math.exp((Phi - 1) * y[0]) - d - FACTOR / T1

        blow.terminal = True
        sol = solve_ivp(
            f,
            (0.0, T1),
            [math.log(C[i])],
            method="RK45",
            rtol=RTOL,
            atol=ATOL,
            events=blow,
        )
        out[k] = sol.t[-1]
    return out


def main(argv=None) -> list[dict]:
    # float64 for this suite only (the peer is float64; compare like with like): set at
    # import, it leaked into every suite `python -m benchmarks` ran after this one
    with jax.enable_x64(True):
        return _main(argv)


def _main(argv) -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    n = 1296 if args.quick else 10_000  # 6^4 or 10^4
    n_peer = 50 if args.quick else 100
    P, D, De, C = _grid(n)
    n = P.size
    params = gr.GrowthParams(
        delta_g=jnp.asarray(D),
        f=0.5,
        lam=1.0,
        phi=jnp.asarray(P),
        delta=jnp.asarray(De),
    )
    c0 = jnp.asarray(C)

    def ours():
        return gr.solve(
            params, c0, T1, n_save=2, rtol=RTOL, atol=ATOL, blowup_factor=FACTOR
        )

    rows = []
    t = time_call(lambda: ours().t_end, repeat=3)
    sol = ours()
    blowup = int(np.asarray(sol.status == RESULTS.blowup).sum())
    failed = int((~np.asarray(is_successful(sol))).sum())
    size = {"points": n, "dtype": "float64", "t1": T1}
    rows.append(
        row("growth_sweep", "eq22_vmapped", "meshjax", size, t, n, "points/s")
        | {"note": f"blowup {blowup}, failed {failed}"}
    )
    if peer_available("scipy"):
        idx = np.random.default_rng(0).choice(n, n_peer, replace=False)
        t_peer = time_host(lambda: _scipy_loop(P, D, De, C, idx), repeat=3, warmup=0)
        scale = n / n_peer
        t_scaled = {k: v if k == "runs" else v * scale for k, v in t_peer.items()}
        t_end_peer = _scipy_loop(P, D, De, C, idx)
        agree = float(np.max(np.abs(t_end_peer - np.asarray(sol.t_end)[idx]) / T1))
        rows.append(
            row(
                "growth_sweep",
                "eq22_vmapped",
                "scipy.solve_ivp loop",
                size,
                t_scaled,
                n,
                "points/s",
            )
            | {
                "note": f"timed on {n_peer} points x{scale:.0f}; max |t_stop diff|/t1 "
                f"{agree:.1e}"
            }
        )
    add_ratios(rows)
    print(f"device: {jax.devices()[0]}, jax {jax.__version__}")
    print_table(rows)
    write_json(rows, "benchmarks/out/growth.json")
    return rows


if __name__ == "__main__":
    main()
