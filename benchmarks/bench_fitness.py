"""Bianconi–Barabási growth: links attached per second, beside peers' Barabási–Albert.

meshjax grows with fitness (exact sequential attachment ∝ η k, uniform η); the peers
(igraph `Graph.Barabasi`, NetworKit `BarabasiAlbertGenerator`, networkx
`barabasi_albert_graph`) grow plain BA, which is the same work minus the fitness
acceptance step. networkx runs at a smaller N (it is pure Python); rates are per link.

    python -m benchmarks.bench_fitness [--quick]
"""

from __future__ import annotations

import argparse

import jax
import jax.random as jr

from meshjax import fitness as F

from ._harness import (
    add_ratios,
    peer_available,
    print_table,
    row,
    time_call,
    time_host,
    write_json,
)


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="N = 10^5 instead of 10^6")
    args = ap.parse_args(argv)
    n = 100_000 if args.quick else 1_000_000
    n_nx = 20_000 if args.quick else 100_000
    rows = []
    for m in (2, 5):
        size = {"n_nodes": n, "m": m}
        links = m * (n - m - 1)
        fit = F.uniform_fitness(jr.key(1), n, dtype=jax.numpy.float32)
        for build in (True, False):
            fn = lambda k=jr.key(0), b=build: F.bianconi_barabasi(
                k, fit, m, build_graph=b
            )
            t = time_call(fn, repeat=2, warmup=0)
            res = fn()
            assert bool(res.is_successful())
            case = "graph" if build else "degrees only (no Graph assembly)"
            rows.append(row("bb_growth", case, "meshjax", size, t, links, "links/s"))
        if peer_available("igraph"):
            import igraph

            t = time_host(lambda: igraph.Graph.Barabasi(n, m), repeat=2, warmup=0)
            rows.append(
                row(
                    "bb_growth",
                    "graph",
                    "igraph BA (no fitness)",
                    size,
                    t,
                    links,
                    "links/s",
                )
            )
        if peer_available("networkit"):
            import networkit as nk

            t = time_host(
                lambda: nk.generators.BarabasiAlbertGenerator(m, n).generate(),
                repeat=2,
                warmup=0,
            )
            rows.append(
                row(
                    "bb_growth",
                    "graph",
                    "networkit BA (no fitness)",
                    size,
                    t,
                    links,
                    "links/s",
                )
            )
        if peer_available("networkx"):
            import networkx as nx

            t = time_host(
                lambda: nx.barabasi_albert_graph(n_nx, m, seed=0), repeat=2, warmup=0
            )
            r = row(
                "bb_growth",
                "graph",
                "networkx BA (no fitness)",
                {**size, "n_nodes": n_nx},  # its own size: no ratio across sizes
                t,
                m * (n_nx - m),
                "links/s",
            )
            r["note"] = f"run at N={n_nx}, rate per link"
            rows.append(r)
    add_ratios(rows)
    print_table(rows)
    write_json(rows, "benchmarks/out/fitness.json")
    return rows


if __name__ == "__main__":
    main()
