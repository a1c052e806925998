"""Sparse operators on a `Graph`: adjacency and Laplacian mat-vecs, neighbour counts.

Every op is O(E) in work and memory, respects `edge_mask`, jits and vmaps (over `x` or over
stacked graphs). Shapes are checked at trace time (they are static), values are not.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._custom_types import Array, ArrayLike, Float, Int
from .._validate import check_array, check_int, is_traced, nan_outside
from ._graph import Graph


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
    return graph.neighbor_sum(jnp.asarray(x))


def laplacian_matvec(graph: Graph, x: ArrayLike) -> Array:
    r"""Graph Laplacian mat-vec $(L x)_i = k_i x_i - \sum_j A_{ij} x_j$, $L = D - A$.

    With `graph.weights`, the weighted Laplacian $L = D_w - W$,
    $(L x)_i = \sum_j w_{ij} A_{ij}(x_i - x_j)$.

    Args:
      graph: The graph (masked slots are absent: they count neither in $D$ nor in $A$).
      x: Node values of shape `(n, *f)`.

    Returns:
      $L x$, same shape and dtype as `x`, computed as
      $\sum_j A_{ij}(x_i - x_j)$ in one segment sum. Cost O(E·f).
    """
    _check_nodes("x", graph, x)
    x = jnp.asarray(x)
    # One pass: (Lx)_i = sum_j A_ij (x_i - x_j), a single sorted segment sum.
    msg = graph.weigh_slots(x[graph.receivers] - x[graph.senders])
    return jax.ops.segment_sum(
        msg, graph.receivers, graph.n_nodes, indices_are_sorted=True
    )


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
