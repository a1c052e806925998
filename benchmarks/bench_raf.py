"""Benchmarks for meshjax.raf and meshjax.replicator.

* maxRAF instances/s: Kauffman binary polymer model, n = 10 (2046 types, 32 776
  reactions), a batch of instances at f = 1 and f = 3, `max_raf` (jit, vmapped) versus a
  plain NumPy Hordijk–Steel loop on the same index arrays.
* Jain–Krishna graph updates/s: s = 100, m = 0.25 links per type, `jain_krishna`
  (lax.scan; one run and a vmapped batch of runs) versus a plain NumPy implementation of
  the same update (attractor by normalised squaring of I + C, acyclic case by C^k 1),
  from a random graph (before the first ACS) and from a graph with a grown ACS.

Usage: python -m benchmarks.bench_raf [--quick]
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
from meshjax import raf, replicator

# ----------------------------------------------------------------------- NumPy peers


def numpy_max_raf(reactants, products, cat_types, cat_reactions, food):
    """Hordijk–Steel on index arrays in NumPy (one instance)."""
    s = food.shape[0]
    r = reactants.shape[0]
    active = np.ones(r, bool)
    while True:
        avail = food.copy()
        while True:
            ext = np.append(avail, True)
            ok = active & ext[reactants].all(axis=1)
            new = avail.copy()
            prod = products[ok].ravel()
            new[prod[prod < s]] = True
            if (new == avail).all():
                break
            avail = new
        ext = np.append(avail, True)
        catalysed = np.zeros(r + 1, bool)
        catalysed[cat_reactions[avail[cat_types]]] = True
        new_active = active & ext[reactants].all(axis=1) & catalysed[:r]
        if (new_active == active).all():
            return active
        active = new_active


def numpy_jk(rng, s, p, n_steps, initial=None, n_squarings=40, tol=1e-9):
    """The same Jain–Krishna update in NumPy (float64)."""
    if initial is None:
        c = (rng.random((s, s)) < p) & ~np.eye(s, dtype=bool)
    else:
        c = np.array(initial, bool)
    lams = np.empty(n_steps)
    for t in range(n_steps):
        cf = c.astype(float)
        v, top = np.ones(s), None
        for _ in range(s):
            w = cf @ v
            if not w.any():
                top = v
                break
            v = w / w.max()
        if top is not None:
            x, lam = top / top.sum(), 0.0
        else:
            m = np.eye(s) + cf
            m /= m.max()
            for _ in range(n_squarings):
                m2 = m @ m
                if m2.max() == 0:
                    break
                m = m2 / m2.max()
            x = m.sum(axis=1)
            x /= x.sum()
            x[x <= tol * x.max()] = 0
            x /= x.sum()
            lam = (cf @ x).sum()
        lams[t] = lam
        least = np.flatnonzero(x <= x.min() + tol * x.max())
        k = rng.choice(least)
        others = np.arange(s) != k
        c[k, :] = (rng.random(s) < p) & others
        c[:, k] = (rng.random(s) < p) & others
    return lams


# ----------------------------------------------------------------------- suites


def bench_max_raf(n, batch, fs, repeat):
    rows = []
    polymer = raf.binary_polymer_size(n)
    s, r = polymer.n_types, polymer.n_reactions
    size = {"n": n, "n_types": s, "n_reactions": r, "batch": batch}
    for f in fs:
        keys = jr.split(jr.key(int(10 * f)), batch)
        systems = raf.binary_polymer(keys, n, f)
        jax.block_until_ready(systems)
        t = time_call(lambda: raf.max_raf(systems), repeat=repeat)
        masks = np.asarray(raf.max_raf(systems))
        size = dict(size, raf_found=int(masks.any(axis=1).sum()))
        rows.append(
            row(
                "maxraf",
                f"binary_polymer f={f}",
                "meshjax",
                size,
                t,
                batch,
                "instances/s",
            )
        )
        arrays = [
            tuple(
                np.asarray(a[i])
                for a in (
                    systems.reactants,
                    systems.products,
                    systems.catalyst_types,
                    systems.catalyst_reactions,
                    systems.food,
                )
            )
            for i in range(batch)
        ]

        def numpy_all():
            return [numpy_max_raf(*a) for a in arrays]

        got = numpy_all()
        assert all((g == m).all() for g, m in zip(got, masks)), "NumPy peer disagrees"
        t = time_host(numpy_all, repeat=max(1, repeat // 2), warmup=0)
        rows.append(
            row(
                "maxraf",
                f"binary_polymer f={f}",
                "numpy",
                size,
                t,
                batch,
                "instances/s",
            )
        )
    return rows


def bench_jk(s, m, n_steps, runs, repeat, warm_steps):
    """Two phases: from a random graph (no ACS yet: cheap acyclic attractors) and from
    a graph whose ACS has grown (`warm_steps` updates at 2m links per type first)."""
    rows = []
    p = m / (s - 1)
    warm = replicator.jain_krishna(jr.key(1), s, 2 * p, warm_steps)
    grown, rec = np.asarray(warm.adjacency), warm.record
    acs = int(rec.acs_size[-1])
    for phase, initial in (("random start", None), (f"grown ACS ({acs} types)", grown)):
        init = None if initial is None else jnp.asarray(initial)
        for b in (1, runs):
            size = {"s": s, "m": m, "runs": b, "updates": n_steps}
            keys = jr.split(jr.key(0), b) if b > 1 else jr.key(0)
            fn = lambda: (
                replicator.jain_krishna(
                    keys, s, p, n_steps, initial=init
                ).record.lambda1
            )
            t = time_call(fn, repeat=repeat)
            case = f"s={s}, {phase}"
            rows.append(
                row("jain_krishna", case, "meshjax", size, t, b * n_steps, "updates/s")
            )
            rng = np.random.default_rng(0)
            t = time_host(
                lambda: [numpy_jk(rng, s, p, n_steps, initial) for _ in range(b)],
                repeat=max(1, repeat // 2),
                warmup=0,
            )
            rows.append(
                row("jain_krishna", case, "numpy", size, t, b * n_steps, "updates/s")
            )
    return rows


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = ap.parse_args(argv)
    if args.quick:
        rows = bench_max_raf(8, 4, (1.0, 3.0), repeat=2)
        rows += bench_jk(50, 0.25, 50, 2, repeat=2, warm_steps=500)
    else:
        rows = bench_max_raf(10, 16, (1.0, 3.0), repeat=3)
        rows += bench_jk(100, 0.25, 200, 4, repeat=3, warm_steps=2000)
    add_ratios(rows)
    print(f"jax {jax.__version__}, {jax.devices()[0]}, dtype {jnp.result_type(float)}")
    print_table(rows)
    write_json(rows, "benchmarks/out/raf.json")
    return rows


if __name__ == "__main__":
    main()
