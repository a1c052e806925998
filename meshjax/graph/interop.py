"""Conversions between `Graph` and edge arrays, `scipy.sparse` and `networkx`.

All conversions run on the host (NumPy); they are for building inputs and checking
results, not for hot loops.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._validate import check_int
from ._graph import Graph, _assemble_host


def from_edges(
    edges, n_nodes: int, *, dedupe: bool = False, capacity: int | None = None
) -> Graph:
    r"""A `Graph` from an array of undirected edges.

    Args:
      edges: Integer array of shape `(m, 2)`; row $k$ is the edge $\{u_k, v_k\}$ with
        $0 \le u_k, v_k < n$. Any order; $(u, v)$ and $(v, u)$ are the same edge.
      n_nodes: Number of nodes $n \ge 1$ (isolated nodes are allowed).
      dedupe: If `False` (default), a repeated edge is an error; if `True`, repeats are
        dropped (the first copy is kept).
      capacity: Optional number of undirected edge slots $\ge m$. The extra slots are
        padding (masked), so graphs with different $m$ share one shape and `vmap`.

    Returns:
      A `Graph` with `edge_ids` = row index in `edges` (after dedupe) and
      `edge_mask=None` unless padded.

    Raises:
      ValueError / TypeError: wrong shape or dtype, node ids out of range, self-loops,
        repeated edges without `dedupe`, `capacity < m`.
    """
    n_nodes = check_int("n_nodes", n_nodes, min_value=1)
    lo, hi = _host_pairs(edges, n_nodes, dedupe)
    m = lo.size
    if capacity is None:
        return _assemble_host(lo, hi, n_nodes)
    capacity = check_int("capacity", capacity, min_value=m)
    g = _assemble_host(lo, hi, n_nodes)
    pad = capacity - m
    if pad == 0:
        return Graph(g.senders, g.receivers, g.edge_ids, jnp.ones(2 * m, bool), n_nodes)
    last = jnp.full((2 * pad,), n_nodes - 1, jnp.int32)
    pad_ids = jnp.repeat(jnp.arange(m, capacity, dtype=jnp.int32), 2)
    return Graph(
        jnp.concatenate([g.senders, last]),
        jnp.concatenate([g.receivers, last]),
        jnp.concatenate([g.edge_ids, pad_ids]),
        jnp.concatenate([jnp.ones(2 * m, bool), jnp.zeros(2 * pad, bool)]),
        n_nodes,
    )


def to_edges(graph: Graph) -> np.ndarray:
    """The present undirected edges as an `int64[m, 2]` array with `u < v`, sorted."""
    s = np.asarray(graph.senders)
    r = np.asarray(graph.receivers)
    keep = s < r
    if graph.edge_mask is not None:
        keep &= np.asarray(graph.edge_mask)
    return np.stack([s[keep], r[keep]], axis=1).astype(np.int64)[
        np.lexsort((r[keep], s[keep]))
    ]


def to_scipy(graph: Graph):
    """The adjacency matrix as a `scipy.sparse.csr_array` (float64, symmetric, 0/1)."""
    import scipy.sparse as sp

    s = np.asarray(graph.senders)
    r = np.asarray(graph.receivers)
    w = np.ones(s.shape, np.float64)
    if graph.edge_mask is not None:
        w = np.asarray(graph.edge_mask, np.float64)
    n = graph.n_nodes
    a = sp.csr_array((w, (r, s)), shape=(n, n))
    a.eliminate_zeros()
    return a


def from_scipy(matrix) -> Graph:
    """A `Graph` from a symmetric sparse (or dense) adjacency matrix.

    Nonzero off-diagonal entries are edges (weights are ignored). Raises `ValueError` for a
    non-square or non-symmetric matrix or a nonzero diagonal.
    """
    import scipy.sparse as sp

    a = sp.coo_array(matrix)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"`matrix` must be square, got shape {a.shape}")
    a = sp.csr_array(a)
    a.sum_duplicates()
    a.eliminate_zeros()
    if (a != a.T).nnz:
        raise ValueError("`matrix` must be symmetric (an undirected graph)")
    if a.diagonal().any():
        raise ValueError("`matrix` has a nonzero diagonal (self-loops are not allowed)")
    coo = sp.triu(a, k=1).tocoo()
    return from_edges(np.stack([coo.row, coo.col], axis=1), a.shape[0])


def from_networkx(nx_graph) -> Graph:
    """A `Graph` from a `networkx.Graph`; node $i$ is the $i$-th of `sorted(G.nodes)`."""
    nodes = sorted(nx_graph.nodes)
    if not nodes:
        raise ValueError("`nx_graph` has no nodes")
    index = {v: i for i, v in enumerate(nodes)}
    edges = np.array(
        [(index[u], index[v]) for u, v in nx_graph.edges() if u != v], dtype=np.int64
    ).reshape(-1, 2)
    if any(u == v for u, v in nx_graph.edges()):
        raise ValueError("`nx_graph` has self-loops; they are not allowed")
    return from_edges(edges, len(nodes), dedupe=nx_graph.is_multigraph())


def to_networkx(graph: Graph):
    """A `networkx.Graph` with nodes `0..n-1` and the present edges."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(graph.n_nodes))
    g.add_edges_from(to_edges(graph).tolist())
    return g


def _host_pairs(edges, n_nodes: int, dedupe: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validated undirected pairs `(lo, hi)`, lo < hi, in row order (as `from_edges`)."""
    arr = np.asarray(edges)
    if arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"`edges` must have shape (m, 2), got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`edges` must be an integer array, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_nodes):
        raise ValueError(
            f"`edges` has node ids in [{arr.min()}, {arr.max()}]; "
            f"allowed: [0, {n_nodes - 1}] for n_nodes={n_nodes}"
        )
    loops = arr[:, 0] == arr[:, 1]
    if loops.any():
        raise ValueError(
            f"`edges` has {int(loops.sum())} self-loop(s), e.g. "
            f"{arr[loops][0].tolist()}; self-loops are not allowed"
        )
    lo, hi = np.minimum(arr[:, 0], arr[:, 1]), np.maximum(arr[:, 0], arr[:, 1])
    _, first = np.unique(lo * n_nodes + hi, return_index=True)
    if first.size != lo.size:
        if not dedupe:
            raise ValueError(
                f"`edges` has {lo.size - first.size} repeated edge(s); "
                "pass dedupe=True to drop repeats"
            )
        keep = np.sort(first)
        lo, hi = lo[keep], hi[keep]
    return lo, hi
