"""Sparse operators on a `Graph`: adjacency and Laplacian mat-vecs, neighbour counts.

Every op is O(E) in work and memory, respects `edge_mask`, jits and vmaps (over `x` or over
stacked graphs). Shapes are checked at trace time (they are static), values are not.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from .._custom_types import Array, ArrayLike, Float, Int
from .._validate import check_array, check_choice, check_int, is_traced, nan_outside
from ._graph import Graph, _as_jax, _extra_mask, check_summable
from ._layout import (
    MAX_COLUMNS,
    auto_wants_layout,
    build_layout,
    reduce_neighbors,
)


def with_layout(
    graph: Graph, *, policy: str = "auto", max_columns: int = MAX_COLUMNS
) -> Graph:
    r"""The graph with a gather layout for its neighbour reductions (or without one).

    The layout (jagged diagonals for the first `max_columns` neighbours of every node, rows
    sorted by degree, and a short COO tail for the hubs; `meshjax.graph._layout`) turns
    `neighbor_sum`, `laplacian_matvec`, `count_neighbor_states`, components and colouring
    into dense gathers and adds instead of XLA's single-threaded scatter. Results are
    the same either way; only the speed differs.

    Args:
      graph: A graph with concrete (not traced) arrays; under `jit`/`vmap` it is returned
        as it is.
      policy: `"auto"` (a layout from $2^{15}$ slots on: below that, one compiled program
        for every graph of a shape matters more), `"always"`, `"never"` (drop it), or
        `"measure"` (time both paths of `neighbor_sum` on this graph and backend, keep
        the faster).
      max_columns: Number of jagged-diagonal columns $J \ge 1$ (static); slots beyond
        the $J$-th of a node go to the COO tail.

    Returns:
      A `Graph` with `layout` set or `None`. Cost O(n + E) time and about 6 bytes per
      slot of memory.
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    policy = check_choice("policy", policy, ("auto", "always", "never", "measure"))
    max_columns = check_int("max_columns", max_columns, min_value=1)
    bare = Graph(
        graph.senders,
        graph.receivers,
        graph.edge_ids,
        graph.edge_mask,
        graph.n_nodes,
        weights=graph.weights,
    )
    if policy == "never":
        return bare
    if any(is_traced(a) for a in (graph.senders, graph.receivers, graph.edge_mask)):
        return graph
    if graph.senders.ndim != 1:
        return graph  # a stack of graphs: no common layout
    if policy == "auto" and not auto_wants_layout(graph.n_slots):
        return bare
    layout = build_layout(
        graph.senders,
        graph.receivers,
        graph.edge_mask,
        graph.n_nodes,
        max_columns=max_columns,
    )
    out = Graph(
        graph.senders,
        graph.receivers,
        graph.edge_ids,
        graph.edge_mask,
        graph.n_nodes,
        weights=graph.weights,
        layout=layout,
    )
    if policy == "measure":
        x = jnp.ones(graph.n_nodes, jnp.float32)
        f = jax.jit(neighbor_sum)
        times = []
        for g in (bare, out):
            jax.block_until_ready(f(g, x))
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                jax.block_until_ready(f(g, x))
                best = min(best, time.perf_counter() - t0)
            times.append(best)
        return out if times[1] < times[0] else bare
    return out


def _check_nodes(name: str, graph: Graph, x) -> None:
    shape = jnp.shape(x)
    if len(shape) < 1 or shape[0] != graph.n_nodes:
        raise ValueError(
            f"`{name}` must have leading axis n_nodes={graph.n_nodes}, "
            f"got shape {shape}"
        )


def neighbor_sum(graph: Graph, x: ArrayLike) -> Array:
    r"""Adjacency mat-vec $(A x)_i = \sum_j A_{ij} w_{ij} x_j$ ($w = 1$ unweighted).

    Args:
      graph: The graph; absent slots (`edge_mask`) contribute nothing; its `weights`
        (if any) weight each slot.
      x: Node values of shape `(n, *f)` (trailing feature axes allowed).

    Returns:
      Array of the shape and dtype of `x`. Cost O(E·f), memory O(E·f) for the messages.
    """
    _check_nodes("x", graph, x)
    return graph.neighbor_sum(_as_jax(x))  # concrete: one program, not one per op


def laplacian_matvec(graph: Graph, x: ArrayLike) -> Array:
    r"""Graph Laplacian mat-vec $(L x)_i = k_i x_i - \sum_j A_{ij} x_j$, $L = D - A$.

    With `graph.weights`, the weighted Laplacian $L = D_w - W$,
    $(L x)_i = \sum_j w_{ij} A_{ij}(x_i - x_j)$.

    Args:
      graph: The graph (masked slots are absent: they count neither in $D$ nor in $A$).
      x: Node values of shape `(n, *f)`.

    Returns:
      $L x$, same shape and dtype as `x`, computed as
      $\sum_j A_{ij}(x_i - x_j)$ (one segment sum, or one pass over the gather
      layout): exactly 0 on a constant vector and at a node without edges. Cost O(E·f).
    """
    _check_nodes("x", graph, x)
    check_summable("x", x)
    if is_traced((graph, x)):
        return _laplacian_matvec(graph, jnp.asarray(x))
    return _laplacian_matvec_jit(graph, _as_jax(x))  # one program, not one per op


def _laplacian_matvec(graph: Graph, x: Array) -> Array:
    if graph.layout is not None and graph.weights is None:
        return _layout_laplacian(graph, x)
    # One pass: (Lx)_i = sum_j A_ij (x_i - x_j), a single sorted segment sum.
    msg = graph.weigh_slots(x[graph.receivers] - x[graph.senders])
    return jax.ops.segment_sum(
        msg, graph.receivers, graph.n_nodes, indices_are_sorted=True
    )


_laplacian_matvec_jit = jax.jit(_laplacian_matvec)


def centred_laplacian_matvec(graph: Graph, x: Array) -> Array:
    r"""$L x$ for a *centred* `x` (mean removed, or orthogonal to $\mathbf{1}$): the
    operator of `diffusion`'s Lanczos (Fiedler) and Chebyshev (`diffuse`) loops. (On a
    disconnected graph a vector centred as a whole may still carry an offset per
    component; those loops had the same form before.)

    On the gather layout it is $k_i x_i - (Ax)_i$, which skips the per-entry
    difference of `laplacian_matvec`'s $\sum_j A_{ij}(x_i - x_j)$ (16–25% of a
    mat-vec at $n = 10^6$, ER and BA, measured 2026-12-02). That form cancels only
    where the values share a large offset, which a centred vector has not; it is not
    exactly 0 on a constant vector and gives NaN at an isolated node holding inf or
    NaN, hence `laplacian_matvec` for everything else. Without a layout, or with
    weights, it is `laplacian_matvec`'s segment sum.
    """
    if graph.layout is not None and graph.weights is None:
        deg = graph.degrees().astype(x.dtype)
        return deg.reshape(deg.shape + (1,) * (x.ndim - 1)) * x - graph.neighbor_sum(x)
    return _laplacian_matvec(graph, x)


def _layout_laplacian(graph: Graph, x: Array) -> Array:
    r"""$\sum_j A_{ij}(x_i - x_j)$ entry by entry on the gather layout: the segment
    path's expression (not $k_i x_i - (Ax)_i$, which cancels for values far from 0,
    leaves $L\mathbf{1}$ a rounding error away from 0, and gives NaN at an isolated
    node holding inf or NaN). The row's own value rides along (`rowvals`): a
    contiguous read per column, no extra gather."""
    n = graph.n_nodes
    x_ext = jnp.concatenate([x, jnp.zeros((1,) + x.shape[1:], x.dtype)])
    zero = jnp.zeros((), x.dtype)
    trail = (1,) * (x.ndim - 1)

    def entry(nbr, slot, present, xi):
        d = xi - x_ext.at[nbr].get(mode="promise_in_bounds")
        keep = nbr < n if present is None else present
        return jnp.where(keep.reshape(keep.shape + trail), d, zero)

    out = reduce_neighbors(
        graph.layout, entry, "sum", 0, mask=_extra_mask(graph), rowvals=x
    )
    return jnp.zeros_like(x) if out is None else out


def count_neighbor_states(
    graph: Graph,
    states: Int[ArrayLike, " n"],
    q: int,
    weights: Float[ArrayLike, " e"] | None = None,
) -> Array:
    r"""Per node, how many neighbours are in each of $q$ states (the Potts kernel).

    $$N_{i,s} = \sum_j A_{ij} w_{ij}\, \delta(s_j, s),$$
    computed as one scatter-add into a flat `(n * q,)` buffer: O(E) work and memory (no
    `(E, q)` one-hot).

    Args:
      graph: The graph; absent slots count zero.
      states: Integer states in `[0, q)`, shape `(n,)`. A concrete state outside
        `[0, q)` is a `ValueError`; traced ones make the whole result NaN (weighted) or
        -1 (counts), never a silently truncated count.
      q: Number of states (static).
      weights: Optional per-slot weights `(e,)` (e.g. couplings `J[graph.edge_ids]`);
        default `graph.weights`, else 1 (then the result is `int32`).

    Returns:
      `(n, q)` counts (int32) or weighted sums (dtype of `weights`).
    """
    q = check_int("q", q, min_value=1)
    _check_nodes("states", graph, states)
    if jnp.ndim(states) != 1:
        raise ValueError(f"`states` must have shape (n,), got {jnp.shape(states)}")
    states = check_array("states", states, kind="int", low=0.0, high=float(q - 1))
    if weights is None:
        weights = graph.weights
    if weights is not None and jnp.shape(weights) != (graph.n_slots,):
        raise ValueError(
            f"`weights` must have shape ({graph.n_slots},), got {jnp.shape(weights)}"
        )
    if graph.layout is not None:
        out = _layout_count_states(graph, states, q, weights)
        if is_traced(states):
            out = nan_outside(jnp.all((states >= 0) & (states < q)), out)
        return out
    if weights is None:
        w = graph.slot_weights(jnp.int32)
    else:
        if jnp.shape(weights) != (graph.n_slots,):
            raise ValueError(
                f"`weights` must have shape ({graph.n_slots},), got "
                f"{jnp.shape(weights)}"
            )
        w = jnp.asarray(weights)
        if graph.edge_mask is not None:
            w = jnp.where(graph.edge_mask, w, jnp.zeros((), w.dtype))
    flat = graph.receivers * q + states[graph.senders].astype(jnp.int32)
    out = jax.ops.segment_sum(w, flat, graph.n_nodes * q)
    out = out.reshape(graph.n_nodes, q)
    if is_traced(states):
        out = nan_outside(jnp.all((states >= 0) & (states < q)), out)
    return out


def _layout_count_states(graph: Graph, states, q: int, weights) -> Array:
    n = graph.n_nodes
    st = jnp.concatenate([states.astype(jnp.int32), jnp.full((1,), q, jnp.int32)])
    colours = jnp.arange(q, dtype=jnp.int32)
    w_ext = None
    if weights is not None:
        w = jnp.asarray(weights)
        w_ext = jnp.concatenate([w, jnp.zeros((1,), w.dtype)])
    dtype = jnp.int32 if w_ext is None else w_ext.dtype

    def entry(nbr, slot, present):
        s_j = st.at[nbr].get(mode="promise_in_bounds")
        hit = s_j[:, None] == colours[None, :]
        if present is not None:
            hit = hit & present[:, None]
        if w_ext is None:
            return hit.astype(jnp.int32)
        wv = w_ext.at[slot].get(mode="promise_in_bounds")
        return jnp.where(hit, wv[:, None], jnp.zeros((), dtype))

    out = reduce_neighbors(
        graph.layout,
        entry,
        "sum",
        0,
        mask=_extra_mask(graph),
        need_slots=w_ext is not None,
    )
    return jnp.zeros((n, q), dtype) if out is None else out
