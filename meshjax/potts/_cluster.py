r"""Fortuin–Kasteleyn bonds, Swendsen–Wang and the random-cluster measure, eq. (4).

Swendsen–Wang via the FK coupling: each satisfied edge is a bond with probability
$p_e = 1 - e^{-\beta J_e}$ (one uniform per undirected edge, indexed by
`graph.edge_ids`, so both slots agree), clusters (exact component labels: from a
compact list of the bonds when they are few, else `meshjax.graph.connected_components`;
`_bond_components`), then every cluster takes a new state (uniform, or
$\propto e^{\beta\sum_{i\in C}h_i(s)}$ with fields). Cost O(n + E) per sweep plus the
component search. The sweep is written once (`_sw_step`); `run`, `swendsen_wang_sweep`,
`random_cluster` and `PottsModel.swendsen_wang` all call it.

Eq. (4) as printed, $Z = \sum_A p^{|A|}(1-p)^{|E|-|A|} q^{c(A)}$, is the random-cluster
partition function; the Potts one is $Z_{\mathrm{Potts}} = e^{\beta J |E|}\, Z$ (the chapter
drops this constant factor, which changes no probability). `random_cluster` samples the
measure (4) at any integer $q \ge 1$; at $q = 1$ it is exactly bond percolation.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from .._custom_types import Array, Bool
from .._validate import as_key, check_int, check_real, in_domain
from ..graph import Graph, connected_components
from ..graph._graph import check_nonnegative_weights, weights_ok
from ..graph._layout import bake_mask
from ..graph.components import AFFOREST_MIN_NODES, sparse_or
from ._kernels import (
    _as_float,
    _check_beta,
    _check_couplings,
    _check_graph,
    _check_spins,
    _couplings_ok,
    _raise_if_bad_beta,
    _sample_rows,
    _sweep_inputs,
    _wrap_like,
    slot_couplings,
    spin_dtype,
)


def _fk_bonds(key, graph: Graph, spins, beta, slot_j) -> Array:
    """FK bonds: satisfied present slots open w.p. 1 - exp(-beta J_e), one draw per edge.

    The uniforms are those of `meshjax.percolation.bond_percolation` (one per edge id),
    so at J = 1 the open set is bond percolation at p = 1 - exp(-beta), and-ed with
    "satisfied".
    """
    beta = jnp.asarray(beta)
    j = jnp.ones((), beta.dtype) if slot_j is None else slot_j.astype(beta.dtype)
    p = -jnp.expm1(-beta * j)
    u = jr.uniform(key, (graph.n_edges,), dtype=beta.dtype)
    open_ = u[graph.edge_ids] < p
    if graph.edge_mask is not None:
        open_ = open_ & graph.edge_mask
    return open_ & (spins[graph.senders] == spins[graph.receivers])


def _cluster_states(key, labels, spins, beta, field, q):
    """A new state per cluster (root label): uniform, or with field weights."""
    n = labels.shape[0]
    if field is None:
        draw = jr.randint(key, (n,), 0, q, dtype=jnp.int32)
    else:
        hsum = jax.ops.segment_sum(beta * field.astype(beta.dtype), labels, n)
        draw = _sample_rows(key, hsum)
    return draw[labels].astype(spins.dtype)


def _bond_graph(graph: Graph, bonds) -> Graph:
    """The graph of the open bonds. With a gather layout, the bonds are folded into it
    once (closed entries become the sentinel), so that the component rounds read no
    per-slot mask (`bonds` already includes the graph's own mask)."""
    if graph.layout is None:
        return graph.with_mask(bonds)
    return Graph(
        graph.senders,
        graph.receivers,
        graph.edge_ids,
        bonds,
        graph.n_nodes,
        weights=graph.weights,
        layout=bake_mask(graph.layout, bonds),
    )


def _sw_step(key, graph: Graph, spins, beta, field, slot_j, q: int):
    """One Swendsen–Wang sweep (the only copy): FK bonds, components, new states."""
    key_b, key_s = jr.split(key)
    bonds = _fk_bonds(key_b, graph, spins, beta, slot_j)
    labels = _bond_components(graph, bonds)
    return _cluster_states(key_s, labels, spins, beta, field, q)


def _bond_components(graph: Graph, bonds, min_nodes: int = AFFOREST_MIN_NODES) -> Array:
    """The clusters of the open bonds: exact labels (`connected_components`') either way.

    In the disordered phase few edges are bonds (about a tenth at q = 3, beta = 0.28 on
    ER <k> = 10), the bond graph is below percolation, and FastSV on the graph's layout
    reads every slot in each of its ~10 rounds; from a compact list of the bonds each
    round reads only them (`components.sparse_or`; at n = 10^6 on the 2-core CPU
    27-36 ms instead of FastSV's 0.19-0.34 s; Swendsen–Wang 8.7-8.8·10^6 spins/s).
    Above `LIST_EDGES` of the edges (the ordered phase: a giant cluster, which
    Afforest finds in two rounds) `connected_components` on the bond graph, its layout
    baked. Small graphs (no layout, or fewer than `min_nodes` nodes) always take the
    latter.
    """
    if graph.layout is None or graph.n_nodes < min_nodes:
        return connected_components(_bond_graph(graph, bonds))
    return sparse_or(graph, bonds, lambda g, b: connected_components(_bond_graph(g, b)))


def swendsen_wang_sweep(
    key: Any,
    graph: Graph,
    spins: Any,
    beta: Any,
    q: int,
    *,
    field: Any = None,
    couplings: Any = None,
) -> Any:
    r"""One Swendsen–Wang sweep through the Fortuin–Kasteleyn coupling, eq. (4).

    1. Every satisfied edge ($s_i = s_j$) becomes a bond with probability
       $p_e = 1 - e^{-\beta J_e}$: one uniform per undirected edge (indexed by
       `graph.edge_ids`, so both directions agree), kept only where satisfied.
    2. Clusters of bonds: union by minimum root over a compact list of the bonds when
       they are at most `LIST_EDGES` (half) of the edges on a graph with a layout
       (the disordered phase), else `meshjax.graph.connected_components` (FastSV/Afforest);
       the same labels either way.
    3. Each cluster $C$ takes a new state, uniform in $[0, q)$ — or, with fields,
       $\propto \exp(\beta \sum_{i\in C} h_i(s))$, which keeps the random-field Potts
       measure exactly stationary (one draw per root label).

    Args:
      key: PRNG key or int seed.
      graph: The graph (`graph.weights` multiply the couplings).
      spins: `int[n]` in `[0, q)`, or a `PottsState`.
      beta: $\beta \ge 0$ (may be traced; a traced bad value is an `eqx.error_if` error,
        as are traced negative or non-finite `graph.weights` on present slots).
      q: Number of states, >= 2.
      field: Optional $h_i(s)$, shape `(n, q)`.
      couplings: Optional $J_e \ge 0$, scalar or shape `(n_edges,)`.

    Returns:
      The new spins (same kind as `spins`). Cost O(nq + E) plus the component search
      (O(E) per FastSV round, O(log n) rounds in practice).

    Raises:
      ValueError: q < 2, beta < 0 or NaN, spins out of range, wrong field shape,
        negative couplings or weights.
    """
    key, q, beta, s, field, couplings = _sweep_inputs(
        key, graph, spins, beta, q, field, couplings, nonnegative=True
    )
    _check_weights_nonnegative(graph)
    out = _sw_once(key, graph, s, beta, field, couplings, q)
    return _wrap_like(spins, out)


def _check_weights_nonnegative(graph: Graph) -> None:
    check_nonnegative_weights(graph, "Swendsen–Wang / FK (ferromagnetic J_e)")


@functools.partial(jax.jit, static_argnums=(6,))
def _sw_once(key, graph, spins, beta, field, couplings, q):
    beta = _raise_if_bad_beta(beta, _couplings_ok(couplings, True) & weights_ok(graph))
    slot_j = slot_couplings(graph, couplings, beta.dtype)
    return _sw_step(key, graph, spins, beta, field, slot_j, q)


def fk_bonds(
    key: Any, graph: Graph, spins: Any, beta: Any, *, couplings: Any = None
) -> Bool[Array, " e"]:
    r"""Fortuin–Kasteleyn bonds given spins: the first half of a Swendsen–Wang step.

    Each present edge with $s_i = s_j$ is open with probability $1 - e^{-\beta J_e}$,
    independently (one uniform per undirected edge, as
    `meshjax.percolation.bond_percolation`, and-ed with "satisfied").

    Args:
      key: PRNG key or int seed.
      graph: The graph (`graph.weights` multiply the couplings).
      spins: `int[n]` (or a `PottsState`), non-negative.
      beta: $\beta \ge 0$ (may be traced; a traced bad value is an `eqx.error_if` error,
        as are traced negative or non-finite `graph.weights` on present slots).
      couplings: Optional $J_e \ge 0$, scalar or `(n_edges,)`.

    Returns:
      `bool[e]` slot mask (both slots of an edge agree), for
      `connected_components(graph, edge_mask=...)`.
    """
    key = as_key(key)
    _check_graph(graph)
    beta = _check_beta(beta)
    spins = _check_spins(spins, graph.n_nodes, None)
    couplings = _check_couplings(couplings, graph, nonnegative=True)
    _check_weights_nonnegative(graph)
    return _fk_once(key, graph, spins, _as_float(beta), couplings)


@jax.jit
def _fk_once(key, graph, spins, beta, couplings):
    beta = _raise_if_bad_beta(beta, _couplings_ok(couplings, True) & weights_ok(graph))
    slot_j = slot_couplings(graph, couplings, beta.dtype)
    return _fk_bonds(key, graph, spins, beta, slot_j)


def random_cluster(
    key: Any, graph: Graph, q: int, p: Any, n_steps: int = 10
) -> Bool[Array, " e"]:
    r"""A sample of the FK random-cluster measure (4) at integer $q \ge 1$.

    $P(A) \propto p^{|A|}(1-p)^{|E|-|A|} q^{c(A)}$ over bond sets $A \subseteq E$.
    Sampled through the Edwards–Sokal coupling: `n_steps - 1` Swendsen–Wang sweeps at
    $\beta J = -\ln(1 - p)$ from a random start, then FK bonds of the final spins drawn
    with the second half of `jr.split(key)`. The chain is exact in its stationary state;
    `n_steps` sets the burn-in. At $q = 1$ all edges are satisfied and the result is
    **exactly** `bond_percolation(jr.split(key)[1], graph, p)` (independent bonds).
    The graph's weights are ignored (the measure (4) has one $p$).

    Args:
      key: PRNG key or int seed.
      graph: The graph.
      q: Integer $q \ge 1$ (non-integer $q$ would need Chayes–Machta; not provided).
      p: Bond probability in $[0, 1)$ (may be traced; a traced bad value is an
        `eqx.error_if` error).
      n_steps: Swendsen–Wang sweeps including the final bond draw, >= 1.

    Returns:
      `bool[e]` slot mask of the open bonds.

    Raises:
      ValueError: q < 1, p outside [0, 1), n_steps < 1.
    """
    key = as_key(key)
    _check_graph(graph)
    q = check_int("q", q, min_value=1)
    p = check_real("p", p, low=0.0, high=1.0, high_open=True)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    if isinstance(p, float):
        beta = _as_float(-math.log1p(-p))
    else:
        p = eqx.error_if(
            p,
            ~in_domain(p, low=0.0, high=1.0, high_open=True),
            "`p` is out of range; allowed: [0, 1)",
        )
        beta = -jnp.log1p(-_as_float(p))
    key_chain, key_bonds = jr.split(key)
    g = Graph(
        graph.senders, graph.receivers, graph.edge_ids, graph.edge_mask, graph.n_nodes
    )
    return _random_cluster(key_chain, key_bonds, g, beta, q, n_steps)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _random_cluster(key_chain, key_bonds, graph, beta, q, n_steps):
    dt = spin_dtype(max(q, 2))
    key_init, key_chain = jr.split(key_chain)
    spins = jr.randint(key_init, (graph.n_nodes,), 0, q, dtype=jnp.int32).astype(dt)
    if q > 1:

        def body(s, k):
            return _sw_step(k, graph, s, beta, None, None, q), None

        spins, _ = lax.scan(body, spins, jr.split(key_chain, n_steps - 1))
    return _fk_bonds(key_bonds, graph, spins, beta, None)
