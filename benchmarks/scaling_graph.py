"""Scaling curves of the graph hot loops: time and peak memory from n = 10^4 to 10^7.

Each size runs in a fresh process (so the peak resident memory belongs to that size):
ER generation (⟨k⟩ = 10, with its gather layout), connected components, `neighbor_sum`,
colouring; beside them scipy's CSR mat-vec and igraph's greedy colouring and components on
the same graph, in the same process. The exponent b of time ∝ (n + E)^b is fitted by least squares on log-log axes
over the sizes from 10^5 on (below, fixed per-call overheads dominate); it should be ≈ 1.

    python -m benchmarks.scaling_graph [--sizes 1e4,1e5,1e6,1e7] [--out benchmarks/out]

Writes `scaling_graph.json` and a log-log `scaling_graph.png` to `--out` and prints a
table with the 1-minute load average beside every size (the CPU may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = ("generate_er", "components", "neighbor_sum", "colouring")
PEERS = {
    "neighbor_sum": "scipy_neighbor_sum",
    "colouring": "igraph_colouring",
    "components": "igraph_components",
}


def _peak_bytes() -> int:
    """The process's peak resident memory so far (`ru_maxrss`, host memory): a running
    maximum, so a step's `peak_bytes` is the highest point up to and including that
    step (the generation's, when a later step stays below it), interpreter and XLA
    (~0.3 GiB) included. Each size runs in a fresh process."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _one(n: int, kbar: float, repeat: int) -> dict:
    import jax
    import jax.numpy as jnp
    import jax.random as jr

    from meshjax import graph as G

    def timed(fn, reps):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn())
        first = time.perf_counter() - t0
        times = []
        for _ in range(reps):
            out = None  # the previous result is freed first (two never coexist)
            t0 = time.perf_counter()
            out = jax.block_until_ready(fn())
            times.append(time.perf_counter() - t0)
        return out, first, statistics.median(times)

    res = {"n": n, "mean_degree": kbar, "load1": os.getloadavg()[0]}
    key = jr.key(0)
    reps = repeat if n < 10**7 else 1
    g, first, med = timed(lambda: G.erdos_renyi(key, n, kbar), reps)
    res["generate_er"] = {
        "first_s": first,
        "median_s": med,
        "peak_bytes": _peak_bytes(),
    }
    res["n_slots"] = g.n_slots
    res["layout_bytes"] = 0 if g.layout is None else g.layout.nbytes()
    _, first, med = timed(lambda: G.connected_components(g), reps)
    res["components"] = {"first_s": first, "median_s": med, "peak_bytes": _peak_bytes()}
    x = jr.normal(jr.key(1), (n,), jnp.float32)
    ns = jax.jit(G.neighbor_sum)
    _, first, med = timed(lambda: ns(g, x), max(reps, 3))
    res["neighbor_sum"] = {
        "first_s": first,
        "median_s": med,
        "peak_bytes": _peak_bytes(),
    }
    _, first, med = timed(lambda: G.colouring(key, g), reps)
    res["colouring"] = {"first_s": first, "median_s": med, "peak_bytes": _peak_bytes()}
    # Peers on the same graph, same process (where installed): the cache cliff of
    # random gathers at 10^7 is theirs too, so the ratios are the fair comparison.
    try:
        import numpy as np

        A = G.to_scipy(g).astype(np.float32).tocsr()
        xn = np.asarray(x)
        _, first, med = timed(lambda: A @ xn, max(reps, 3))
        res["scipy_neighbor_sum"] = {"first_s": first, "median_s": med}
    except ImportError:
        pass
    try:
        import igraph as ig

        gi = ig.Graph(n=n, edges=G.to_edges(g))
        _, first, med = timed(lambda: gi.vertex_coloring_greedy(), reps)
        res["igraph_colouring"] = {"first_s": first, "median_s": med}
        _, first, med = timed(lambda: gi.connected_components(), reps)
        res["igraph_components"] = {"first_s": first, "median_s": med}
    except ImportError:
        pass
    res["load1_end"] = os.getloadavg()[0]
    return res


def _fit(xs, ys) -> float:
    import numpy as np

    lx, ly = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    return float(np.polyfit(lx, ly, 1)[0])


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="1e4,1e5,1e6,1e7")
    p.add_argument("--mean-degree", type=float, default=10.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default="benchmarks/out")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per size")
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one is not None:
        print(json.dumps(_one(args.one, args.mean_degree, args.repeat)), flush=True)
        return []
    sizes = [int(float(v)) for v in args.sizes.split(",")]
    results = []
    for n in sizes:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.scaling_graph",
            "--one",
            str(n),
            "--mean-degree",
            str(args.mean_degree),
            "--repeat",
            str(args.repeat),
        ]
        try:
            out = subprocess.run(
                cmd, capture_output=True, text=True, timeout=args.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            print(f"[scaling] n={n}: timed out after {args.timeout} s", flush=True)
            break
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0 or not lines:
            print(
                f"[scaling] n={n}: failed (rc {out.returncode})\n{out.stderr[-2000:]}"
            )
            break
        r = json.loads(lines[-1])
        results.append(r)
        print(
            f"[scaling] n={n:>9} load {r['load1']:.2f}: "
            + ", ".join(f"{c} {r[c]['median_s']:.4g} s" for c in CASES)
            + f"; peak {r['colouring']['peak_bytes'] / 2**30:.2f} GiB",
            flush=True,
        )
    if not results:
        return []
    fits = {}
    for c in CASES:
        pts = [(r["n"] + r["n_slots"] // 2, r[c]["median_s"]) for r in results]
        big = [pt for pt in pts if pt[0] >= 10**5]
        use = big if len(big) >= 2 else pts
        if len(use) >= 2:
            fits[c] = _fit(*zip(*use))
    peaks = [
        (r["n"] + r["n_slots"] // 2, r["colouring"]["peak_bytes"]) for r in results
    ]
    big = [pt for pt in peaks if pt[0] >= 10**6] or peaks
    if len(big) >= 2:
        fits["peak_memory"] = _fit(*zip(*big))
    print(
        "\n| n | load | "
        + " | ".join(f"{c} s" for c in CASES)
        + " | peak GiB | B/slot |"
    )
    print("|---:|---:|" + "---:|" * (len(CASES) + 2))
    for r in results:
        peak = r["colouring"]["peak_bytes"]
        print(
            f"| {r['n']:.0e} | {r['load1']:.2f} | "
            + " | ".join(f"{r[c]['median_s']:.4g}" for c in CASES)
            + f" | {peak / 2**30:.2f} | {peak / r['n_slots']:.1f} |"
        )
    print("\nratios meshjax rate / peer rate, same process:")
    for r in results:
        parts = []
        for c, peer in PEERS.items():
            if peer in r:
                ratio = r[peer]["median_s"] / r[c]["median_s"]
                parts.append(f"{c} vs {peer.split('_')[0]} {ratio:.2f}x")
        print(f"  n={r['n']:.0e} (load {r['load1']:.2f}): " + ", ".join(parts))
    for c, peer in PEERS.items():
        pts = [
            (r["n"] + r["n_slots"] // 2, r[peer]["median_s"])
            for r in results
            if peer in r
        ]
        big = [pt for pt in pts if pt[0] >= 10**5]
        if len(big) >= 2:
            fits[peer] = _fit(*zip(*big))
    print(
        "\nfitted exponents (time ∝ (n + E)^b, n ≥ 1e5): "
        + json.dumps({k: round(v, 3) for k, v in fits.items()})
    )
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "scaling_graph.json").write_text(
        json.dumps({"results": results, "exponents": fits}, indent=1)
    )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        xs = [r["n"] + r["n_slots"] // 2 for r in results]
        for c in CASES:
            label = f"{c} (b = {fits[c]:.2f})" if c in fits else c
            a1.loglog(xs, [r[c]["median_s"] for r in results], "o-", label=label)
        for c, peer in PEERS.items():
            have = [(x, r[peer]["median_s"]) for x, r in zip(xs, results) if peer in r]
            if have:
                label = peer + (f" (b = {fits[peer]:.2f})" if peer in fits else "")
                a1.loglog(*zip(*have), "x--", alpha=0.6, label=label)
        a1.loglog(
            xs,
            [xs[-1] ** -1 * x * results[-1]["components"]["median_s"] for x in xs],
            "k:",
            label="slope 1",
        )
        a1.set_xlabel("n + E")
        a1.set_ylabel("median time [s]")
        a1.legend(fontsize=8)
        a2.loglog(
            xs,
            [r["colouring"]["peak_bytes"] / 2**30 for r in results],
            "o-",
            label="peak RSS",
        )
        a2.set_xlabel("n + E")
        a2.set_ylabel("peak memory [GiB]")
        a2.legend(fontsize=8)
        fig.suptitle("meshjax graph hot loops, ER <k> = 10, CPU")
        fig.tight_layout()
        fig.savefig(outdir / "scaling_graph.png", dpi=110)
        print(f"wrote {outdir / 'scaling_graph.png'}")
    except ImportError:
        print("matplotlib not installed: no PNG")
    return results


if __name__ == "__main__":
    main()
