"""Graph substrate: generation (ER, BA, power law), mat-vecs and connected components.

meshjax beside scipy.sparse (CSR mat-vec, csgraph.connected_components), igraph and
NetworKit (generation, components), each where installed. Rates in edges per second
(undirected edges generated or processed per second of median wall time).

    python -m benchmarks.bench_graph [--quick] [--large] [--repeat R] [--sizes N,N]

Cases: generation (ER, BA m = 5, Chung–Lu γ = 2.5), `neighbor_sum` and
`laplacian_matvec` (on the graph's gather layout, and `neighbor_sum_segment` without it),
components, components of the graph percolated at p = 1 / <k> (`components_percolated`:
the rate counts the kept edges; the peers get the percolated graph) and at p = 3 / <k>
and 7 / <k> (`components_percolated_x3`, `_x7`), ER generation +
components, colouring (igraph's greedy colouring as peer), and
the assembly's orderings beside their sort-free variants (`order_pairs`, `transpose`).
Every row carries `load1`, the load average when it was taken.

`--repeat R` sets the timed runs per case at every size (at least 2 from n = 10^6);
without it, 5 below n = 10^6 and 3 from there. `--no-peers` keeps the meshjax rows of
the cases only: no peers, no `order_pairs`/`transpose` variant rows (host NumPy sorts of
~5n keys), and none of the host-side work that only feeds them (edge lists, scipy
matrices). On a backend other than the CPU, the host-sort rows of those variants are
labelled `numpy_host` (meshjax sorts in XLA there). The JSON is rewritten after each
size, so a run cut short keeps the sizes it finished.
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from benchmarks._harness import (
    add_ratios,
    peer_available,
    print_table,
    row as _row,
    time_call,
    time_host,
    write_json,
)
from meshjax import graph as G
from meshjax.percolation import bond_percolation

SUITE = "graph"
#: Percolated-components cases: (case, p times <k>).
PERCOLATED = (
    ("components_percolated", 1.0),
    ("components_percolated_x3", 3.0),
    ("components_percolated_x7", 7.0),
)


def row(*args, **kwargs):
    """`_harness.row` plus the 1-minute load average when the row was taken (the CPU is
    shared: compare ratios measured side by side, not absolute times across runs)."""
    r = _row(*args, **kwargs)
    r["load1"] = round(os.getloadavg()[0], 2)
    return r


def _sizes(args) -> list[int]:
    if args.sizes:
        return [int(float(v)) for v in args.sizes.split(",")]
    if args.quick:
        return [10_000, 100_000]
    sizes = [10_000, 100_000, 1_000_000]
    if args.large:
        sizes.append(10_000_000)
    return sizes


def _ordering_variants(n: int, m: int, size: dict, rep: int) -> list[dict]:
    """The assembly's two orderings of M pairs, each beside its sort-free alternative.

    `order_pairs`: NumPy's sort of M packed 64-bit keys (what the CPU assembly does)
    against sorted-by-construction uniforms (normalised cumulative sums of exponential
    gaps, i.e. geometric skipping, with the `cummax` that makes float rounding monotone),
    jitted. `transpose`: the second sort (keys `hi << 32 | id`) against a stable LSD radix
    argsort of the row ids (two 16-bit passes). Ratios > 1: the sort is faster.

    The host sorts are what meshjax does on the CPU backend only; elsewhere (where the
    assembly sorts in XLA) their rows are labelled `numpy_host`, with a `note`, so that
    they are not read as meshjax's own.
    """
    on_cpu = jax.default_backend() == "cpu"
    host_impl = "meshjax" if on_cpu else "numpy_host"
    note = {} if on_cpu else {"note": "host NumPy sort (meshjax's CPU path only)"}
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**62, m, dtype=np.uint64)
    rows_ = rng.integers(0, n, m).astype(np.uint32)

    @jax.jit
    def spacings(k):  # traced and run under x64 (float64 gaps)
        gaps = jr.exponential(k, (m + 1,), jnp.float64)
        s = jnp.cumsum(gaps)
        return jax.lax.cummax(jnp.floor(s[:-1] / s[-1] * (n * (n - 1) / 2)))

    def spacings_x64():
        with jax.enable_x64(True):
            return spacings(jr.key(1))

    def radix(r):
        o1 = np.argsort((r & 0xFFFF).astype(np.uint16), kind="stable")
        o2 = np.argsort((r[o1] >> 16).astype(np.uint16), kind="stable")
        return o1[o2]

    out = []
    t = time_host(lambda: np.sort(keys), repeat=rep)
    out.append(row(SUITE, "order_pairs", host_impl, size, t, m, "pairs/s") | note)
    t = time_call(spacings_x64, repeat=rep)
    out.append(row(SUITE, "order_pairs", "spacings_xla", size, t, m, "pairs/s"))
    tkeys = (rows_.astype(np.uint64) << np.uint64(32)) | np.arange(m, dtype=np.uint64)
    t = time_host(lambda: np.sort(tkeys), repeat=rep)
    out.append(row(SUITE, "transpose", host_impl, size, t, m, "pairs/s") | note)
    t = time_host(lambda: radix(rows_), repeat=rep)
    out.append(row(SUITE, "transpose", "radix_argsort", size, t, m, "pairs/s"))
    return out


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="10^4 and 10^5 only")
    p.add_argument("--large", action="store_true", help="add n = 10^7")
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="timed runs per case (default: 5 below n = 10^6, 3 from there)",
    )
    p.add_argument("--mean-degree", type=float, default=10.0)
    p.add_argument("--out", default="benchmarks/out/graph.json")
    p.add_argument("--sizes", default=None, help="comma-separated n (overrides)")
    p.add_argument("--no-peers", action="store_true", help="meshjax rows only")
    args = p.parse_args(argv)
    kbar = args.mean_degree
    rows: list[dict] = []
    have = {
        m: (not args.no_peers) and peer_available(m)
        for m in ("scipy", "igraph", "networkit")
    }
    for n in _sizes(args):
        m_edges = int(round(n * kbar / 2))
        size = {"n": n, "mean_degree": kbar}
        if args.repeat is None:  # the default: 5, and 3 from n = 10^6
            rep = 5 if n < 1_000_000 else 3
        else:  # as given, but at least 2 timed runs at the large sizes
            rep = args.repeat if n < 1_000_000 else max(2, args.repeat)
        key = jr.key(0)

        # -- generation, and the variants of ordering the pairs (not with --no-peers:
        #    host sorts of ~5n keys, comparisons only)
        if not args.no_peers:
            rows.extend(_ordering_variants(n, m_edges, size, rep))
        t = time_call(lambda: G.erdos_renyi(key, n, kbar), repeat=rep)
        rows.append(row(SUITE, "generate_er", "meshjax", size, t, m_edges, "edges/s"))
        t = time_call(lambda: G.barabasi_albert(key, n, int(kbar // 2)), repeat=rep)
        rows.append(
            row(SUITE, "generate_ba", "meshjax", size, t, n * int(kbar // 2), "edges/s")
        )
        t = time_call(lambda: G.power_law(key, n, 2.5, kbar), repeat=rep)
        rows.append(
            row(SUITE, "generate_powerlaw", "meshjax", size, t, m_edges, "edges/s")
        )
        if have["networkit"]:
            import networkit as nk

            nk.setSeed(1, False)
            t = time_host(
                lambda: nk.generators.ErdosRenyiGenerator(n, kbar / (n - 1)).generate(),
                repeat=rep,
            )
            rows.append(
                row(SUITE, "generate_er", "networkit", size, t, m_edges, "edges/s")
            )
            t = time_host(
                lambda: nk.generators.BarabasiAlbertGenerator(
                    int(kbar // 2), n
                ).generate(),
                repeat=rep,
            )
            rows.append(
                row(
                    SUITE,
                    "generate_ba",
                    "networkit",
                    size,
                    t,
                    n * int(kbar // 2),
                    "edges/s",
                )
            )
            seq = np.asarray(G.power_law(key, n, 2.5, kbar).degrees()).tolist()
            t = time_host(
                lambda: nk.generators.ChungLuGenerator(seq).generate(), repeat=rep
            )
            rows.append(
                row(
                    SUITE, "generate_powerlaw", "networkit", size, t, m_edges, "edges/s"
                )
            )
        if have["igraph"]:
            import igraph as ig

            t = time_host(lambda: ig.Graph.Erdos_Renyi(n=n, m=m_edges), repeat=rep)
            rows.append(
                row(SUITE, "generate_er", "igraph", size, t, m_edges, "edges/s")
            )
            t = time_host(lambda: ig.Graph.Barabasi(n, int(kbar // 2)), repeat=rep)
            rows.append(
                row(
                    SUITE,
                    "generate_ba",
                    "igraph",
                    size,
                    t,
                    n * int(kbar // 2),
                    "edges/s",
                )
            )

        # -- mat-vec and components on one ER graph
        g = G.erdos_renyi(key, n, kbar)
        x = jr.normal(jr.key(1), (n,), jnp.float32)
        ns = jax.jit(G.neighbor_sum)
        lap = jax.jit(G.laplacian_matvec)
        t = time_call(lambda: ns(g, x), repeat=rep * 2)
        rows.append(row(SUITE, "neighbor_sum", "meshjax", size, t, m_edges, "edges/s"))
        t = time_call(lambda: lap(g, x), repeat=rep * 2)
        rows.append(
            row(SUITE, "laplacian_matvec", "meshjax", size, t, m_edges, "edges/s")
        )
        t = time_call(lambda: G.connected_components(g), repeat=rep)
        rows.append(row(SUITE, "components", "meshjax", size, t, m_edges, "edges/s"))
        # Components of the graph percolated at p = 1 / <k> (the threshold: many small
        # components; the mask read as the short list of the kept edges, `sparse_or`),
        # at 3 / <k> (the long list) and at 7 / <k> (more than half the edges: FastSV,
        # the Afforest finish by the edges joining two labels); the peers get the
        # percolated graph itself (their build not timed).
        percs = []  # (case, mask, percolated graph, kept edges)
        for case, times in PERCOLATED:
            pmask = bond_percolation(jr.key(2), g, min(times / kbar, 1.0))
            t = time_call(
                lambda pmask=pmask: G.connected_components(g, pmask), repeat=rep
            )
            m_kept = int(jnp.sum(pmask & (g.senders < g.receivers)))  # on the device
            rows.append(row(SUITE, case, "meshjax", size, t, m_kept, "edges/s"))
            percs.append((case, g.with_mask(pmask), m_kept))
        # The same ops without the gather layout (sorted segment reductions), as its
        # own case so that it is not taken for a peer.
        bare = G.with_layout(g, policy="never")
        t = time_call(lambda: ns(bare, x), repeat=rep * 2)
        rows.append(
            row(SUITE, "neighbor_sum_segment", "meshjax", size, t, m_edges, "edges/s")
        )
        t = time_call(lambda: G.colouring(key, g), repeat=max(2, rep // 2))
        rows.append(row(SUITE, "colouring", "meshjax", size, t, n, "nodes/s"))
        n_colours = int(G.colouring(key, g).max()) + 1

        def er_and_components():
            return G.connected_components(G.erdos_renyi(key, n, kbar))

        t = time_call(er_and_components, repeat=max(2, rep // 2))
        rows.append(row(SUITE, "er+components", "meshjax", size, t, m_edges, "edges/s"))
        if g.layout is not None:
            print(
                f"[graph] n={n}: layout {g.layout.nbytes() / g.n_slots:.2f} bytes/slot "
                f"({g.layout.n_columns} columns, tail "
                f"{g.layout.tail_nbr.shape[0] / g.n_slots:.1%} of slots); "
                f"{n_colours} colours",
                flush=True,
            )
        if have["scipy"]:
            import scipy.sparse as sp
            import scipy.sparse.csgraph as csgraph

            A = G.to_scipy(g).astype(np.float32)
            L = (sp.diags(np.asarray(A.sum(1)).ravel()) - A).tocsr()
            xn = np.asarray(x)
            t = time_host(lambda: A @ xn, repeat=rep * 2)
            rows.append(
                row(SUITE, "neighbor_sum", "scipy", size, t, m_edges, "edges/s")
            )
            t = time_host(lambda: L @ xn, repeat=rep * 2)
            rows.append(
                row(SUITE, "laplacian_matvec", "scipy", size, t, m_edges, "edges/s")
            )
            t = time_host(
                lambda: csgraph.connected_components(A, directed=False), repeat=rep
            )
            rows.append(row(SUITE, "components", "scipy", size, t, m_edges, "edges/s"))
            for case, perc, m_kept in percs:
                Ap = G.to_scipy(perc)
                t = time_host(
                    lambda Ap=Ap: csgraph.connected_components(Ap, directed=False),
                    repeat=rep,
                )
                rows.append(row(SUITE, case, "scipy", size, t, m_kept, "edges/s"))
        # The edge list (a host sort) only feeds igraph and NetworKit.
        edges = G.to_edges(g) if (have["igraph"] or have["networkit"]) else None
        if have["igraph"]:
            import igraph as ig

            gi = ig.Graph(n=n, edges=edges)
            t = time_host(lambda: gi.connected_components(), repeat=rep)
            rows.append(row(SUITE, "components", "igraph", size, t, m_edges, "edges/s"))
            for case, perc, m_kept in percs:
                gip = ig.Graph(n=n, edges=G.to_edges(perc))
                t = time_host(gip.connected_components, repeat=rep)
                rows.append(row(SUITE, case, "igraph", size, t, m_kept, "edges/s"))
            t = time_host(lambda: gi.vertex_coloring_greedy(), repeat=max(2, rep // 2))
            rows.append(row(SUITE, "colouring", "igraph", size, t, n, "nodes/s"))
        if have["networkit"]:
            import networkit as nk

            def nk_components(edge_array):
                gk = nk.Graph(n)
                e64 = edge_array.astype(np.uint64)
                gk.addEdges((e64[:, 0], e64[:, 1]))

                def run():
                    cc = nk.components.ConnectedComponents(gk)
                    cc.run()
                    return cc.numberOfComponents()

                return run

            t = time_host(nk_components(edges), repeat=rep)
            rows.append(
                row(SUITE, "components", "networkit", size, t, m_edges, "edges/s")
            )
            for case, perc, m_kept in percs:
                t = time_host(nk_components(G.to_edges(perc)), repeat=rep)
                rows.append(row(SUITE, case, "networkit", size, t, m_kept, "edges/s"))
            nk.setSeed(1, False)

            def nk_er_cc():
                gk2 = nk.generators.ErdosRenyiGenerator(n, kbar / (n - 1)).generate()
                cc = nk.components.ConnectedComponents(gk2)
                cc.run()
                return cc.numberOfComponents()

            t = time_host(nk_er_cc, repeat=max(2, rep // 2))
            rows.append(
                row(SUITE, "er+components", "networkit", size, t, m_edges, "edges/s")
            )
        print(f"[graph] n={n} done", flush=True)
        add_ratios(rows)
        write_json(rows, args.out)  # the rows so far: a run cut short keeps them
    add_ratios(rows)
    print_table(rows)
    for peer, ok in have.items():
        if not ok and not args.no_peers:
            print(
                f"note: {peer} is not installed here; its rows are missing "
                f"(pip install '.[peers]')"
            )
    write_json(rows, args.out)
    return rows


if __name__ == "__main__":
    main()
