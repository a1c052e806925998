"""Proper vertex colourings for parallel Monte Carlo on colour classes."""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from .._custom_types import Array, Int
from .._validate import as_key, check_array, check_int
from ._graph import Graph


def colouring(key: Any, graph: Graph) -> Int[Array, " n"]:
    r"""A proper colouring with at most $\Delta + 1$ colours (Jones–Plassmann).

    Every node gets a random priority (ties broken by id). In each round, every uncoloured
    node whose priority beats all its uncoloured neighbours' takes the smallest colour
    not used by its coloured neighbours (found by testing $c = 0, 1, \dots$ with one
    O(E) pass each). Those nodes form an independent set, so the colouring stays proper,
    and the smallest free colour of a node of degree $k$ is at most $k$, so at most
    $\Delta + 1$ colours are used (in practice about as many as greedy colouring:
    5–7 on ER graphs with $\langle k \rangle = 10$). Runs under `jit`: O(n + E) memory,
    O(E) per pass.

    Args:
      key: PRNG key (or int seed) for the priorities; the colouring is a deterministic
        function of it.
      graph: The graph (absent slots impose no constraint).

    Returns:
      `int32[n]` colours, `0 .. num_colours - 1`. Use `check_colouring` to validate a
      colouring from elsewhere.
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    return _jones_plassmann(as_key(key), graph)


@jax.jit
def _jones_plassmann(key, g: Graph) -> Int[Array, " n"]:
    n = g.n_nodes
    present = g.slot_weights(jnp.bool_)
    # Priority: a random permutation, so all priorities differ.
    prio = (
        jnp.zeros(n, jnp.int32)
        .at[jr.permutation(key, n)]
        .set(jnp.arange(n, dtype=jnp.int32))
    )
    colour = jnp.full(n, -1, jnp.int32)

    def round_body(colour):
        uncol = colour < 0
        # A node is selected if no uncoloured neighbour has a higher priority.
        beaten = present & uncol[g.senders] & (prio[g.senders] > prio[g.receivers])
        sel = uncol & ~jax.ops.segment_max(
            beaten, g.receivers, n, indices_are_sorted=True
        )

        def clash(cand):
            hit = present & (colour[g.senders] == cand[g.receivers])
            return sel & jax.ops.segment_max(
                hit, g.receivers, n, indices_are_sorted=True
            )

        def mex_body(state):
            cand, c = state
            cand = cand + c.astype(jnp.int32)
            return cand, clash(cand)

        cand0 = jnp.zeros(n, jnp.int32)
        cand, _ = lax.while_loop(
            lambda s: jnp.any(s[1]), mex_body, (cand0, clash(cand0))
        )
        return jnp.where(sel, cand, colour)

    return lax.while_loop(lambda c: jnp.any(c < 0), round_body, colour)


def check_colouring(graph: Graph, colouring: Any) -> None:
    """Raises `ValueError` unless `colours` is a proper colouring of `graph`.

    Checked on the host, once (not inside `jit`): shape `(n,)`, integer, non-negative,
    and no present edge joins two nodes of one colour.
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    c = np.asarray(colouring)
    if c.shape != (graph.n_nodes,):
        raise ValueError(
            f"`colouring` must have shape ({graph.n_nodes},), got {c.shape}"
        )
    if not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"`colouring` must be integer, got dtype {c.dtype}")
    if c.size and c.min() < 0:
        raise ValueError(f"`colouring` has a negative colour {c.min()}")
    s = np.asarray(graph.senders)
    r = np.asarray(graph.receivers)
    bad = c[s] == c[r]
    if graph.edge_mask is not None:
        bad &= np.asarray(graph.edge_mask)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`colouring` is not proper: nodes {int(r[i])} and {int(s[i])} "
            f"are adjacent and share colour {int(c[r[i]])}"
        )


class ColourClasses(eqx.Module):
    """Nodes grouped by colour (`colour_classes`).

    Attributes:
      order: `int32[n]`, the nodes sorted by colour (stable); class `c` is
        `order[offsets[c]:offsets[c+1]]`.
      offsets: `int32[num_colours + 1]`.
    """

    order: Int[Array, " n"]
    offsets: Int[Array, " c1"]


def colour_classes(colours: Any, num_colours: int) -> ColourClasses:
    """Nodes grouped by colour: class c is `order[offsets[c]:offsets[c+1]]`.

    `order` is a permutation of the nodes sorted by colour (stable), `offsets` has
    `num_colours + 1` entries. Used by class-by-class kernels so that a sweep touches each
    node once.

    Args:
      colours: `int[n]` colours in `[0, num_colours)`.
      num_colours: Number of colours, >= 1 (static).
    """
    num_colours = check_int("num_colours", num_colours, min_value=1)
    colours = check_array(
        "colours", colours, kind="int", ndim=1, low=0.0, high=float(num_colours - 1)
    )
    order, offsets = _colour_classes(jnp.asarray(colours, jnp.int32), num_colours)
    return ColourClasses(order=order, offsets=offsets)


@functools.partial(jax.jit, static_argnums=(1,))
def _colour_classes(colours, num_colours: int):
    order = jnp.argsort(colours, stable=True).astype(jnp.int32)
    counts = jnp.bincount(colours, length=num_colours)
    offsets = jnp.concatenate(
        [jnp.zeros(1, jnp.int32), jnp.cumsum(counts).astype(jnp.int32)]
    )
    return order, offsets
