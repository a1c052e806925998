"""Conversions between `Graph` and edge arrays, `scipy.sparse` and `networkx`.

All conversions run on the host (NumPy); they are for building inputs and checking
results, not for hot loops. Edge weights travel when asked (`weights=`, `weighted=True`,
`weight="weight"`): they become `Graph.weights`, one value per slot, the same on both
slots of an edge.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._validate import check_array, check_bool, check_int
from ._graph import Graph, _assemble, _assemble_host

#: Node ids are int32 in every slot array: more nodes would wrap around.
MAX_NODES = 2**31 - 1


class LabelledGraph(eqx.Module):
    """A `Graph` and the original label of each of its nodes (`from_networkx`).

    Attributes:
      graph: The `Graph`; node `i` is `labels[i]`.
      labels: The original node labels, a tuple of length `n_nodes` (static).
    """

    graph: Graph
    labels: tuple = eqx.field(static=True)

    def index(self) -> dict:
        """The inverse mapping, original label -> node id."""
        return {v: i for i, v in enumerate(self.labels)}


def from_pairs(src: Any, dst: Any, n_nodes: int, *, dedupe: bool = False) -> Graph:
    r"""A `Graph` from endpoint arrays, inside `jit` (the jittable sibling of `from_edges`).

    Pair $k$ is the undirected edge $\{\mathrm{src}_k, \mathrm{dst}_k\}$. Both directions
    are laid out and sorted on the device; self-loops are masked (`edge_mask`), and with
    `dedupe` every repeat of a pair but one is masked too (without it, repeats are kept as
    parallel edges: multigraph degrees, as preferential-attachment growth needs). Nothing
    is copied to the host, so `src`/`dst` may be traced. A concrete id outside
    `[0, n_nodes)` is a `ValueError`; a pair with a traced id outside it is made absent
    (laid out as a masked self-loop at node 0), never a slot that points off the graph.

    Args:
      src, dst: Integer arrays of one shape `(m,)`, ids in `[0, n_nodes)`.
      n_nodes: Number of nodes (static), $1 \le n \le 2^{31} - 1$.
      dedupe: Mask repeated pairs (static). Default `False`.

    Returns:
      A `Graph` with `2m` slots and an `edge_mask`. Cost O(m log m) (two sorts).
    """
    n_nodes = check_int("n_nodes", n_nodes, min_value=1, max_value=MAX_NODES)
    dedupe = check_bool("dedupe", dedupe)
    top = float(n_nodes - 1)
    src = check_array("src", src, kind="int", ndim=1, low=0.0, high=top)
    dst = check_array("dst", dst, kind="int", ndim=1, low=0.0, high=top)
    if jnp.shape(src) != jnp.shape(dst):
        raise ValueError(
            f"`src` and `dst` must be 1-D of one shape, got {jnp.shape(src)} and "
            f"{jnp.shape(dst)}"
        )
    # in int64 where it is on, so that an id of 2^32 is not read as 0 after the cast
    src, dst = jnp.asarray(src), jnp.asarray(dst)
    bad = (src < 0) | (src >= n_nodes) | (dst < 0) | (dst >= n_nodes)
    src = jnp.where(bad, 0, src).astype(jnp.int32)
    dst = jnp.where(bad, 0, dst).astype(jnp.int32)
    return _assemble(src, dst, n_nodes, dedupe)


def from_edges(
    edges: Any,
    n_nodes: int,
    *,
    weights: Any = None,
    dedupe: bool = False,
    capacity: int | None = None,
) -> Graph:
    r"""A `Graph` from an array of undirected edges.

    Args:
      edges: Integer array of shape `(m, 2)`; row $k$ is the edge $\{u_k, v_k\}$ with
        $0 \le u_k, v_k < n$. Any order; $(u, v)$ and $(v, u)$ are the same edge.
      n_nodes: Number of nodes, $1 \le n \le 2^{31} - 1$ (isolated nodes are allowed;
        node ids are int32, so larger graphs are refused rather than wrapped).
      weights: Optional finite edge weights, one per row of `edges`
        (`Graph.weights`; padding slots get 0). Default `None` (unweighted).
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
    n_nodes = check_int("n_nodes", n_nodes, min_value=1, max_value=MAX_NODES)
    dedupe = check_bool("dedupe", dedupe)
    lo, hi, rows = _host_pairs_rows(edges, n_nodes, dedupe)
    w = None
    if weights is not None:
        n_rows = np.asarray(edges).reshape(-1, 2).shape[0]
        w = np.asarray(check_array("weights", weights, kind="real", shape=(n_rows,)))
        w = w[rows]
    m = lo.size
    if capacity is None:
        return _assemble_host(lo, hi, n_nodes, w)
    capacity = check_int("capacity", capacity, min_value=m)
    g = _assemble_host(lo, hi, n_nodes, w)
    pad = capacity - m
    if pad == 0:
        return Graph(
            g.senders,
            g.receivers,
            g.edge_ids,
            jnp.ones(2 * m, bool),
            n_nodes,
            weights=g.weights,
        )
    last = jnp.full((2 * pad,), n_nodes - 1, jnp.int32)
    pad_ids = jnp.repeat(jnp.arange(m, capacity, dtype=jnp.int32), 2)
    pw = None
    if g.weights is not None:
        pw = jnp.concatenate([g.weights, jnp.zeros(2 * pad, g.weights.dtype)])
    return Graph(
        jnp.concatenate([g.senders, last]),
        jnp.concatenate([g.receivers, last]),
        jnp.concatenate([g.edge_ids, pad_ids]),
        jnp.concatenate([jnp.ones(2 * m, bool), jnp.zeros(2 * pad, bool)]),
        n_nodes,
        weights=pw,
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
    """The adjacency matrix as a `scipy.sparse.csr_array` (float64, symmetric).

    Entries are 1, or `graph.weights` for a weighted graph (a zero weight is dropped).
    """
    import scipy.sparse as sp

    s = np.asarray(graph.senders)
    r = np.asarray(graph.receivers)
    w = np.ones(s.shape, np.float64)
    if graph.weights is not None:
        w = np.asarray(graph.weights, np.float64)
    if graph.edge_mask is not None:
        w = np.where(np.asarray(graph.edge_mask), w, 0.0)
    n = graph.n_nodes
    a = sp.csr_array((w, (r, s)), shape=(n, n))
    a.eliminate_zeros()
    return a


def from_scipy(matrix: Any, *, weighted: bool = False) -> Graph:
    """A `Graph` from a symmetric sparse (or dense) adjacency matrix.

    Nonzero off-diagonal entries are edges. With `weighted=True` their values become
    `Graph.weights` (default: ignored, an unweighted graph).

    Raises:
      ValueError: a non-square or non-symmetric matrix (values compared when
        `weighted`, the pattern otherwise), a non-finite entry when `weighted`, a
        nonzero diagonal, more than 2^31 - 1 nodes.
    """
    import scipy.sparse as sp

    weighted = check_bool("weighted", weighted)
    a = sp.coo_array(matrix)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"`matrix` must be square, got shape {a.shape}")
    a = sp.csr_array(a)
    a.sum_duplicates()
    a.eliminate_zeros()
    if weighted and not np.isfinite(a.data).all():
        raise ValueError("`matrix` has entries that are not finite (NaN or inf)")
    pattern = a.astype(bool).astype(np.int8)
    if (pattern != pattern.T).nnz or (weighted and (a != a.T).nnz):
        raise ValueError("`matrix` must be symmetric (an undirected graph)")
    if a.diagonal().any():
        raise ValueError("`matrix` has a nonzero diagonal (self-loops are not allowed)")
    coo = sp.triu(a, k=1).tocoo()
    return from_edges(
        np.stack([coo.row, coo.col], axis=1),
        a.shape[0],
        weights=np.asarray(coo.data, np.float64) if weighted else None,
    )


def from_networkx(
    nx_graph: Any,
    *,
    weight: str | None = None,
    symmetrize: bool = False,
    return_labels: bool = False,
) -> Graph | LabelledGraph:
    """A `Graph` from a `networkx.Graph`; node $i$ is the $i$-th of `sorted(G.nodes)`.

    Args:
      nx_graph: An undirected `networkx` graph (multigraphs: repeats are merged, the
        first copy kept).
      weight: Edge attribute to keep as `Graph.weights` (e.g. `"weight"`; an edge
        without it gets 1). Default `None`: unweighted.
      symmetrize: A directed graph is refused unless this is `True`; then $u \to v$ and
        $v \to u$ become one undirected edge (the weight of the first one met in
        `G.edges()` order is kept).
      return_labels: Return a `LabelledGraph` (the graph and the original node labels,
        `labels[i]` is node `i`); use it when the labels are not `0..n-1`.

    Returns:
      A `Graph`, or a `LabelledGraph` with `return_labels=True`. Nodes are numbered in
      `sorted(G.nodes)` order (insertion order when the labels do not sort).

    Raises:
      ValueError: no nodes, self-loops, a directed graph without `symmetrize=True`.
    """
    symmetrize = check_bool("symmetrize", symmetrize)
    return_labels = check_bool("return_labels", return_labels)
    if weight is not None and not isinstance(weight, str):
        raise TypeError(
            f"`weight` must be an edge attribute name or None, got {weight!r}"
        )
    if nx_graph.is_directed() and not symmetrize:
        raise ValueError(
            "`nx_graph` is directed; meshjax graphs are undirected. Pass "
            "symmetrize=True to merge u->v and v->u into one undirected edge, or "
            "convert it yourself (G.to_undirected())"
        )
    try:
        nodes = sorted(nx_graph.nodes)
    except TypeError:
        nodes = list(nx_graph.nodes)
    if not nodes:
        raise ValueError("`nx_graph` has no nodes")
    if any(u == v for u, v in nx_graph.edges()):
        raise ValueError("`nx_graph` has self-loops; they are not allowed")
    index = {v: i for i, v in enumerate(nodes)}
    data = list(nx_graph.edges(data=True))
    edges = np.array(
        [(index[u], index[v]) for u, v, _ in data], dtype=np.int64
    ).reshape(-1, 2)
    w = None
    if weight is not None:
        w = np.empty(len(data), np.float64)
        for k, (u, v, d) in enumerate(data):
            value = d.get(weight, 1.0)
            try:
                w[k] = float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"edge ({u!r}, {v!r}) has `{weight}`={value!r}, not a number"
                ) from None
    g = from_edges(
        edges,
        len(nodes),
        weights=w,
        dedupe=nx_graph.is_multigraph() or nx_graph.is_directed(),
    )
    return LabelledGraph(graph=g, labels=tuple(nodes)) if return_labels else g


def to_networkx(graph: Graph):
    """A `networkx.Graph` with nodes `0..n-1` and the present edges.

    A weighted graph's weights become the edge attribute `"weight"`.
    """
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(graph.n_nodes))
    edges = to_edges(graph)
    if graph.weights is None:
        g.add_edges_from(edges.tolist())
        return g
    s = np.asarray(graph.senders)
    r = np.asarray(graph.receivers)
    w = np.asarray(graph.weights, np.float64)
    keep = s < r
    if graph.edge_mask is not None:
        keep &= np.asarray(graph.edge_mask)
    g.add_weighted_edges_from(zip(s[keep].tolist(), r[keep].tolist(), w[keep].tolist()))
    return g


def _host_pairs(edges, n_nodes: int, dedupe: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validated undirected pairs `(lo, hi)`, lo < hi, in row order (as `from_edges`)."""
    lo, hi, _ = _host_pairs_rows(edges, n_nodes, dedupe)
    return lo, hi


def _host_pairs_rows(
    edges, n_nodes: int, dedupe: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_host_pairs` plus the row of `edges` each kept pair came from."""
    if n_nodes > MAX_NODES:
        raise ValueError(
            f"`n_nodes`={n_nodes} is out of range; allowed: [1, {MAX_NODES}] "
            "(node ids are int32)"
        )
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
    rows = np.arange(lo.size)
    _, first = np.unique(lo * n_nodes + hi, return_index=True)
    if first.size != lo.size:
        if not dedupe:
            raise ValueError(
                f"`edges` has {lo.size - first.size} repeated edge(s); "
                "pass dedupe=True to drop repeats"
            )
        rows = np.sort(first)
        lo, hi = lo[rows], hi[rows]
    return lo, hi, rows
