"""Sweep throughput: points per second of `meshjax.sweep.sweep` on a cheap model.

Model: the giant-component fraction of a mesh at reproduction number R0, the root of
S = 1 - exp(-R0 S) (chapter eq. (3)), by 200 fixed-point iterations per point, with a
random jitter on R0 per replica (so every point uses its key). Cases:

  s_inf           meshjax: sweep(...) over all local devices, automatic chunks (>= 16
                  chunks; compile cached between calls). Peers: numpy (the same fixed
                  point, vectorised), python-loop (a jitted one-point fn called per
                  point, on a subset), scipy-brentq (a root per point, on a subset)
  s_inf/1chunk    meshjax with chunk_size = all points (no chunking overhead)
  s_inf/1device   meshjax on a one-device mesh
  s_inf/micro256  meshjax with microbatch=256 (bitwise-reproducible mode), one chunk
  s_inf/bound     jax: one bare jit(vmap(fn)) over all points, arguments already on the
                  device: the upper bound for the sweep machinery

    python -m benchmarks.bench_sweep [--quick] [--large]
"""

from __future__ import annotations

import argparse
import sys

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from benchmarks import _harness as h
from meshjax.sweep import Grid, device_mesh, sweep

_ITERS = 200


def s_inf(key, r0):
    """Giant-component fraction at a jittered R0 (eq. (3)), by fixed-point iteration."""
    r = r0 * (1.0 + 0.05 * jr.normal(key, dtype=jnp.result_type(r0)))
    s = jax.lax.fori_loop(
        0, _ITERS, lambda i, s: 1.0 - jnp.exp(-r * s), jnp.ones_like(r)
    )
    return {"r0_sampled": r, "giant_fraction": s}


def _numpy(r):
    s = np.ones_like(r)
    for _ in range(_ITERS):
        s = 1.0 - np.exp(-r * s)
    return s


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description="sweep throughput")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--large", action="store_true")
    args = p.parse_args(argv)
    sizes = [10_000] if args.quick else [10_000, 100_000]
    if args.large:
        sizes = [100_000, 1_000_000, 10_000_000]
    repeat = 3 if args.quick else 5
    rows = []
    key = jr.key(0)
    for n in sizes:
        grid = Grid.zip(r0=np.linspace(0.5, 4.0, n))
        size = {"points": n, "devices": jax.local_device_count()}
        mesh1 = device_mesh(1)
        t = h.time_call(
            lambda: sweep(s_inf, grid, key=key, progress=False)["giant_fraction"],
            repeat=repeat,
        )
        rows.append(h.row("sweep", "s_inf", "meshjax", size, t, n, "points/s"))
        t = h.time_call(
            lambda: sweep(s_inf, grid, key=key, chunk_size=n, progress=False)[
                "giant_fraction"
            ],
            repeat=repeat,
        )
        rows.append(h.row("sweep", "s_inf/1chunk", "meshjax", size, t, n, "points/s"))
        t = h.time_call(
            lambda: sweep(s_inf, grid, key=key, mesh=mesh1, progress=False)[
                "giant_fraction"
            ],
            repeat=repeat,
        )
        rows.append(h.row("sweep", "s_inf/1device", "meshjax", size, t, n, "points/s"))
        t = h.time_call(
            lambda: sweep(
                s_inf, grid, key=key, chunk_size=n, microbatch=256, progress=False
            )["giant_fraction"],
            repeat=repeat,
        )
        rows.append(h.row("sweep", "s_inf/micro256", "meshjax", size, t, n, "points/s"))

        r0 = jnp.asarray(grid.columns["r0"])
        idx = jnp.arange(n)
        allpts = jax.jit(jax.vmap(lambda i, r: s_inf(jr.fold_in(key, i), r)))
        t = h.time_call(lambda: allpts(idx, r0), repeat=repeat)
        rows.append(h.row("sweep", "s_inf/bound", "jax", size, t, n, "points/s"))

        rng = np.random.default_rng(0)
        r_np = grid.columns["r0"] * (1 + 0.05 * rng.standard_normal(n))
        t = h.time_host(lambda: _numpy(r_np), repeat=repeat)
        rows.append(h.row("sweep", "s_inf", "numpy", size, t, n, "points/s"))

        m = min(n, 300)
        sub = np.linspace(0, n - 1, m).astype(int)  # a subset spread over the R0 range
        one = jax.jit(s_inf)
        keys = [jr.fold_in(key, int(i)) for i in sub]
        r_sub = [r0[int(i)] for i in sub]
        t = h.time_host(
            lambda: [jax.block_until_ready(one(k, r)) for k, r in zip(keys, r_sub)],
            repeat=1,
        )
        rows.append(h.row("sweep", "s_inf", "python-loop", size, t, m, "points/s"))
        try:
            from scipy.optimize import brentq

            def roots():
                return [
                    brentq(lambda s, r=r: s - 1 + np.exp(-r * s), 1e-9, 1.0)
                    if r > 1
                    else 0.0
                    for r in r_np[sub]
                ]

            t = h.time_host(roots, repeat=repeat)
            rows.append(h.row("sweep", "s_inf", "scipy-brentq", size, t, m, "points/s"))
        except ImportError:
            pass
    h.add_ratios(rows)
    h.print_table(rows)
    h.write_json(rows, "benchmarks/out/sweep.json")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
