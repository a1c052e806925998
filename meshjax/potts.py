r"""q-state Potts model and its Fortuin–Kasteleyn random-cluster representation, eq. (4).

$$H(s) = -\sum_{\langle ij \rangle} J_{ij}\, \delta(s_i, s_j) - \sum_i h_i(s_i),
\qquad P(s) \propto e^{-\beta H(s)},$$
with $J_{ij} = J = 1$ by default, optional per-edge couplings $J_e$ (indexed by
`graph.edge_ids`) and optional random fields $h_i(s)$ (the random-field Potts model of §15).

Two exact Markov chains, both written for $n = 10^6$, $\langle k \rangle = 10$:

* `heat_bath_sweep`: heat-bath (Glauber) updates one colour class of a proper colouring at a
  time. Nodes of one class are never adjacent, so updating them in parallel is exactly a
  product of single-site heat-bath moves (detailed balance holds). Nodes and slots are laid
  out class by class once, on the host (`PottsModel`), so each class gathers only its own
  rows' slots: a sweep costs O(n + E), not O(E × colours).
* `swendsen_wang_sweep`: Swendsen–Wang via the FK coupling: each satisfied edge is a bond
  with probability $p_e = 1 - e^{-\beta J_e}$ (one uniform per undirected edge, drawn by
  `meshjax.percolation.bond_percolation`), clusters by `meshjax.graph.connected_components`,
  then every cluster takes a new state (uniform, or $\propto e^{\beta\sum_{i\in C}h_i(s)}$
  with fields). Cost O(n + E) per sweep plus the component search.

Eq. (4) as printed, $Z = \sum_A p^{|A|}(1-p)^{|E|-|A|} q^{c(A)}$, is the random-cluster
partition function; the Potts one is $Z_{\mathrm{Potts}} = e^{\beta J |E|}\, Z$ (the chapter
drops this constant factor, which changes no probability). `random_cluster` samples the
measure (4) at any integer $q \ge 1$; at $q = 1$ it is exactly `bond_percolation`.

The Bethe–Peierls (cavity) solution on random $d$-regular graphs is in `bethe_regular` /
`bethe_transitions`: paramagnetic instability $e^{\beta J} = (d+q-2)/(d-2)$, ordered
spinodal, the first-order point from equal Bethe free energies, and the jump of $m$ there.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from ._checks import check_int, check_real
from ._custom_types import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray
from .graph import (
    Graph,
    check_colouring,
    colouring as _default_colouring,
    connected_components,
)
from .percolation import bond_percolation

__all__ = [
    "PottsState",
    "PottsModel",
    "PottsRun",
    "AnnealResult",
    "init",
    "spin_dtype",
    "heat_bath_sweep",
    "swendsen_wang_sweep",
    "fk_bonds",
    "random_cluster",
    "run",
    "anneal",
    "energy",
    "order_parameter",
    "random_field",
    "estimate",
    "energy_histogram",
    "bethe_regular",
    "bethe_transitions",
    "bethe_first_order_closed_form",
]

ALGORITHMS = ("heat_bath", "swendsen_wang")


# --------------------------------------------------------------------------------------
# State and prepared structure
# --------------------------------------------------------------------------------------


def spin_dtype(q: int):
    """The narrowest signed integer dtype holding states `0 .. q - 1` (int8 for q <= 127)."""
    if q <= 127:
        return jnp.int8
    if q <= 32767:
        return jnp.int16
    return jnp.int32


class PottsState(eqx.Module):
    """Potts configuration: `spins`, integer `[n]` in `0 .. q-1` (int8 for q <= 127)."""

    spins: Int[Array, " n"]


class PottsModel(eqx.Module):
    r"""A graph laid out class by class for Potts sweeps (built once, on the host).

    Nodes are renumbered so that each colour class is a contiguous block
    (`order[k]` is the original id of internal node `k`), and the directed slots are
    reordered by (class of receiver, position of receiver), so the slots of class $c$ are
    the contiguous block `slot_offsets[c]:slot_offsets[c+1]` and, inside it, the slots of
    one node are contiguous (the CSR rows of that class). The renumbered graph `pgraph`
    is again sorted by receiver and keeps the original `edge_ids`, so per-edge couplings
    and per-edge random numbers are the same in both numberings.

    A heat-bath sweep then touches each node once and each slot once: O(n + E).
    Classes are unrolled (one static slice each), so compile time grows with the number
    of colours (5–8 on ER graphs with $\langle k\rangle = 10$).

    Attributes:
      pgraph: The renumbered `Graph` (same slots, mask and edge ids).
      order: `int32[n]`, internal -> original node id.
      inverse: `int32[n]`, original -> internal node id.
      slot_local: `int32[e]`, the position of each slot's receiver inside its class.
      node_offsets, slot_offsets: static tuples, `num_colours + 1` entries each.
      q: Number of states (static).
    """

    pgraph: Graph
    order: Int[Array, " n"]
    inverse: Int[Array, " n"]
    slot_local: Int[Array, " e"]
    node_offsets: tuple[int, ...] = eqx.field(static=True)
    slot_offsets: tuple[int, ...] = eqx.field(static=True)
    q: int = eqx.field(static=True)

    @classmethod
    def build(cls, graph: Graph, colouring: ArrayLike | None, q: int) -> PottsModel:
        """Validates `colouring` (once, here) and lays the graph out class by class.

        Args:
          graph: The graph.
          colouring: A proper colouring `int[n]`, or `None` for
            `meshjax.graph.colouring(graph)`.
          q: Number of states, >= 1.

        Raises:
          ValueError: improper colouring, wrong shape, q < 1.
        """
        q = check_int("q", q, min_value=1)
        if not isinstance(graph, Graph):
            raise TypeError(
                f"`graph` must be a meshjax Graph, got {type(graph).__name__}"
            )
        if colouring is None:
            colouring = _default_colouring(graph)
        check_colouring(graph, colouring)
        col = np.asarray(colouring).astype(np.int64)
        n = graph.n_nodes
        num_colours = int(col.max()) + 1 if n else 0
        order = np.argsort(col, kind="stable")
        counts = np.bincount(col, minlength=num_colours)
        node_off = np.concatenate([[0], np.cumsum(counts)])
        inverse = np.empty(n, np.int64)
        inverse[order] = np.arange(n)
        snd = np.asarray(graph.senders).astype(np.int64)
        rcv = np.asarray(graph.receivers).astype(np.int64)
        eid = np.asarray(graph.edge_ids)
        # Slots grouped by internal receiver id (stable: keeps sender order in a row).
        new_r = inverse[rcv]
        perm = np.argsort(new_r, kind="stable")
        new_r = new_r[perm]
        new_s = inverse[snd[perm]]
        slot_counts = np.bincount(col[rcv], minlength=num_colours)
        slot_off = np.concatenate([[0], np.cumsum(slot_counts)])
        local = new_r - node_off[col[order[new_r]]]
        mask = (
            None
            if graph.edge_mask is None
            else jnp.asarray(np.asarray(graph.edge_mask)[perm])
        )
        pgraph = Graph(
            jnp.asarray(new_s, jnp.int32),
            jnp.asarray(new_r, jnp.int32),
            jnp.asarray(eid[perm], jnp.int32),
            mask,
            n,
        )
        return cls(
            pgraph,
            jnp.asarray(order, jnp.int32),
            jnp.asarray(inverse, jnp.int32),
            jnp.asarray(local, jnp.int32),
            tuple(int(x) for x in node_off),
            tuple(int(x) for x in slot_off),
            q,
        )

    @property
    def n_nodes(self) -> int:
        return self.pgraph.n_nodes

    @property
    def num_colours(self) -> int:
        return len(self.node_offsets) - 1

    # ---- frame changes -------------------------------------------------------------
    def to_internal(self, x: Array) -> Array:
        """Node array (original numbering) -> internal numbering."""
        return x[self.order]

    def to_original(self, x: Array) -> Array:
        """Node array (internal numbering) -> original numbering."""
        return x[self.inverse]

    def slot_couplings(self, couplings: Array | None, dtype) -> Array | None:
        """Per-slot $J$ (masked slots 0) in the internal slot order, or `None` for J = 1."""
        g = self.pgraph
        if couplings is None or jnp.ndim(couplings) == 0:
            if g.edge_mask is None:
                return (
                    None if couplings is None else jnp.full(g.n_slots, couplings, dtype)
                )
            j = jnp.asarray(1 if couplings is None else couplings, dtype)
            return jnp.where(g.edge_mask, j, jnp.zeros((), dtype))
        j = jnp.asarray(couplings, dtype)[g.edge_ids]
        if g.edge_mask is not None:
            j = jnp.where(g.edge_mask, j, jnp.zeros((), dtype))
        return j

    # ---- kernels (internal numbering, no validation; jit/vmap freely) ---------------
    def heat_bath(
        self,
        key: PRNGKeyArray,
        spins: Array,
        beta: Array,
        field: Array | None = None,
        slot_j: Array | None = None,
    ) -> Array:
        r"""One heat-bath sweep over all colour classes, internal numbering.

        Node $i$ of class $c$ takes state $s$ with probability
        $\propto \exp\{\beta[\sum_{j \sim i} J_{ij}\delta(s_j, s) + h_i(s)]\}$,
        sampled by inverting the cumulative weights with one uniform per node.
        Cost O(n_c q + E_c) per class, O(nq + E) per sweep.
        """
        q = self.q
        g = self.pgraph
        dtype = beta.dtype
        # One uniform per node for the whole sweep (one RNG call, sliced per class).
        u_all = jr.uniform(key, (self.n_nodes,), dtype=dtype)
        for c in range(self.num_colours):
            n0, n1 = self.node_offsets[c], self.node_offsets[c + 1]
            s0, s1 = self.slot_offsets[c], self.slot_offsets[c + 1]
            nc = n1 - n0
            if nc == 0:
                continue
            nb = spins[g.senders[s0:s1]].astype(jnp.int32)
            flat = self.slot_local[s0:s1] * q + nb
            if slot_j is None:  # J = 1 on present slots
                w = (
                    jnp.ones((s1 - s0,), dtype)
                    if g.edge_mask is None
                    else g.edge_mask[s0:s1].astype(dtype)
                )
            else:
                w = slot_j[s0:s1]
            counts = jax.ops.segment_sum(w, flat, nc * q).reshape(nc, q)
            logits = beta * counts
            if field is not None:
                logits = logits + beta * field[n0:n1]
            new = _sample_rows_u(u_all[n0:n1], logits).astype(spins.dtype)
            spins = lax.dynamic_update_slice(spins, new, (n0,))
        return spins

    def swendsen_wang(
        self,
        key: PRNGKeyArray,
        spins: Array,
        beta: Array,
        field: Array | None = None,
        slot_j: Array | None = None,
        couplings: Array | None = None,
    ) -> Array:
        """One Swendsen–Wang sweep, internal numbering (see `swendsen_wang_sweep`)."""
        key_b, key_s = jr.split(key)
        bonds = _fk_bonds(key_b, self.pgraph, spins, beta, couplings)
        labels = connected_components(self.pgraph, bonds)
        return _cluster_states(key_s, labels, spins, beta, field, self.q)

    def energy(
        self, spins: Array, field: Array | None = None, slot_j: Array | None = None
    ) -> Array:
        """Total energy $H(s)$, internal numbering. Cost O(n + E)."""
        g = self.pgraph
        same = spins[g.senders] == spins[g.receivers]
        dtype = jnp.result_type(float) if slot_j is None else slot_j.dtype
        if slot_j is None:
            if g.edge_mask is not None:
                same = same & g.edge_mask
            e = -jnp.sum(same, dtype=jnp.int32).astype(dtype) / 2
        else:
            e = -jnp.sum(jnp.where(same, slot_j, jnp.zeros((), dtype))) / 2
        if field is not None:
            e = e - jnp.sum(
                jnp.take_along_axis(field, spins.astype(jnp.int32)[:, None], axis=1)
            )
        return e


def _sample_rows(key, logits):
    """One categorical draw per row of `logits` (n, q) from one uniform per row."""
    return _sample_rows_u(
        jr.uniform(key, (logits.shape[0],), dtype=logits.dtype), logits
    )


def _sample_rows_u(u, logits):
    """Inverse-CDF categorical draw per row of `logits` (n, q), given uniforms `u` (n,)."""
    z = logits - jnp.max(logits, axis=1, keepdims=True)
    cw = jnp.cumsum(jnp.exp(z), axis=1)
    return jnp.sum(cw[:, :-1] <= u[:, None] * cw[:, -1:], axis=1, dtype=jnp.int32)


def _fk_bonds(key, graph, spins, beta, couplings):
    """FK bonds: satisfied present edges kept w.p. 1 - exp(-beta J_e) (per edge)."""
    if couplings is None or jnp.ndim(couplings) == 0:
        j = 1.0 if couplings is None else couplings
        p = -jnp.expm1(-beta * j)
    else:
        p = -jnp.expm1(-beta * jnp.asarray(couplings, beta.dtype))
    open_ = bond_percolation(key, graph, p)
    return open_ & (spins[graph.senders] == spins[graph.receivers])


def _cluster_states(key, labels, spins, beta, field, q):
    """A new state per cluster (root label): uniform, or with field weights."""
    n = labels.shape[0]
    if field is None:
        draw = jr.randint(key, (n,), 0, q, dtype=jnp.int32)
    else:
        hsum = jax.ops.segment_sum(beta * field, labels, n)
        draw = _sample_rows(key, hsum)
    return draw[labels].astype(spins.dtype)


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------


def _check_q(q, min_value=2):
    return check_int("q", q, min_value=min_value)


def _check_beta(beta):
    if isinstance(beta, jax.core.Tracer):
        return beta
    arr = np.asarray(beta, dtype=float)
    if arr.ndim != 0:
        raise ValueError(f"`beta` must be a scalar, got shape {arr.shape}")
    return check_real("beta", float(arr), low=0.0)


def _check_spins(spins, graph: Graph, q: int) -> Array:
    if isinstance(spins, PottsState):
        spins = spins.spins
    if not isinstance(spins, jax.core.Tracer):
        a = np.asarray(spins)
        if a.shape != (graph.n_nodes,):
            raise ValueError(
                f"`spins` must have shape ({graph.n_nodes},), got {a.shape}"
            )
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"`spins` must be integer, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= q):
            raise ValueError(
                f"`spins` has values in [{a.min()}, {a.max()}]; allowed: "
                f"[0, {q - 1}] for q={q}"
            )
    return jnp.asarray(spins).astype(spin_dtype(q))


def _check_field(field, graph: Graph, q: int):
    if field is None:
        return None
    a = np.asarray(field)
    if a.shape != (graph.n_nodes, q):
        raise ValueError(
            f"`field` must have shape (n_nodes, q) = ({graph.n_nodes}, {q}), "
            f"got {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError("`field` must be finite; got NaN or inf")
    return jnp.asarray(field, jnp.result_type(float))


def _check_couplings(couplings, graph: Graph, nonnegative: bool = False):
    if couplings is None:
        return None
    a = np.asarray(couplings, dtype=float)
    if a.ndim != 0 and a.shape != (graph.n_edges,):
        raise ValueError(
            f"`couplings` must be a scalar or have shape (n_edges,) = "
            f"({graph.n_edges},), got {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError("`couplings` must be finite; got NaN or inf")
    if nonnegative and a.size and a.min() < 0:
        raise ValueError(
            f"`couplings` has a value {a.min()}; Swendsen–Wang / FK needs "
            "J_e >= 0 (ferromagnetic)"
        )
    return jnp.asarray(couplings, jnp.result_type(float))


def _check_algorithm(algorithm):
    if algorithm not in ALGORITHMS:
        raise ValueError(f"`algorithm`={algorithm!r}; allowed: {ALGORITHMS}")


def _as_beta(beta):
    return jnp.asarray(beta, jnp.result_type(float))


# --------------------------------------------------------------------------------------
# Public API: state, sweeps, observables
# --------------------------------------------------------------------------------------


def init(key: PRNGKeyArray, graph: Graph, q: int, ordered: bool = False) -> PottsState:
    """Initial configuration: uniform random states, or all nodes in state 0 (`ordered`).

    Args:
      key: PRNG key (unused when `ordered`).
      graph: The graph (only `n_nodes` is used).
      q: Number of states, >= 2.
      ordered: Start fully ordered (all 0) instead of at infinite temperature.

    Returns:
      `PottsState` with `spins` of dtype `spin_dtype(q)` (int8 for q <= 127).

    Raises:
      ValueError: q < 2.
    """
    q = _check_q(q)
    dt = spin_dtype(q)
    if ordered:
        return PottsState(jnp.zeros(graph.n_nodes, dt))
    return PottsState(
        jr.randint(key, (graph.n_nodes,), 0, q, dtype=jnp.int32).astype(dt)
    )


def _wrap_like(template, spins):
    return PottsState(spins) if isinstance(template, PottsState) else spins


def heat_bath_sweep(
    key: PRNGKeyArray,
    graph: Graph,
    colouring: ArrayLike | None,
    spins: Int[Array, " n"] | PottsState,
    beta: float,
    q: int,
    field: Float[Array, "n q"] | None = None,
    couplings: Float[ArrayLike, ...] | None = None,
):
    r"""One exact heat-bath (Glauber) sweep, one colour class at a time.

    Every node $i$ of a class is redrawn from
    $P(s_i = s) \propto \exp\{\beta[\sum_{j\sim i} J_{ij}\delta(s_j,s) + h_i(s)]\}$
    given its neighbours; the class is an independent set, so the parallel update is a
    product of exact single-site moves and the Boltzmann distribution is stationary.

    This convenience wrapper validates and lays the graph out (`PottsModel.build`, host,
    O(E log E)) on every call; for many sweeps use `run` / `anneal`, or build a
    `PottsModel` once and call its `heat_bath` under `jit`.

    Args:
      key: PRNG key.
      graph: The graph.
      colouring: Proper colouring `int[n]` (checked once, on the host) or `None`
        (`meshjax.graph.colouring`).
      spins: `int[n]` in `[0, q)`, or a `PottsState`.
      beta: Inverse temperature $\beta \ge 0$.
      q: Number of states, >= 2.
      field: Optional $h_i(s)$, shape `(n, q)`.
      couplings: Optional $J$: a scalar or per undirected edge, shape `(n_edges,)`,
        indexed by `graph.edge_ids` (default 1).

    Returns:
      The new spins (same kind as `spins`: array or `PottsState`), dtype `spin_dtype(q)`.
      Cost O(nq + E) per sweep.

    Raises:
      ValueError: q < 2, beta < 0 or NaN, improper colouring, spins out of range,
        wrong field/couplings shape.
    """
    q = _check_q(q)
    beta = _check_beta(beta)
    s = _check_spins(spins, graph, q)
    field = _check_field(field, graph, q)
    couplings = _check_couplings(couplings, graph)
    model = PottsModel.build(graph, colouring, q)
    out = _hb_once(model, key, s, _as_beta(beta), field, couplings)
    return _wrap_like(spins, out)


@eqx.filter_jit
def _hb_once(model, key, spins, beta, field, couplings):
    sj = model.slot_couplings(couplings, beta.dtype)
    fp = None if field is None else model.to_internal(field)
    sp = model.heat_bath(key, model.to_internal(spins), beta, fp, sj)
    return model.to_original(sp)


def swendsen_wang_sweep(
    key: PRNGKeyArray,
    graph: Graph,
    spins: Int[Array, " n"] | PottsState,
    beta: float,
    q: int,
    field: Float[Array, "n q"] | None = None,
    couplings: Float[ArrayLike, ...] | None = None,
):
    r"""One Swendsen–Wang sweep through the Fortuin–Kasteleyn coupling, eq. (4).

    1. Every satisfied edge ($s_i = s_j$) becomes a bond with probability
       $p_e = 1 - e^{-\beta J_e}$: one uniform per undirected edge
       (`meshjax.percolation.bond_percolation`, indexed by `graph.edge_ids`, so both
       directions agree), kept only where satisfied.
    2. Clusters of bonds by `meshjax.graph.connected_components` (FastSV).
    3. Each cluster $C$ takes a new state, uniform in $[0, q)$ — or, with fields,
       $\propto \exp(\beta \sum_{i\in C} h_i(s))$, which keeps the random-field Potts
       measure exactly stationary (one draw per root label).

    Args:
      key: PRNG key.
      graph: The graph.
      spins: `int[n]` in `[0, q)`, or a `PottsState`.
      beta: $\beta \ge 0$.
      q: Number of states, >= 2.
      field: Optional $h_i(s)$, shape `(n, q)`.
      couplings: Optional $J_e \ge 0$, scalar or shape `(n_edges,)`.

    Returns:
      The new spins (same kind as `spins`). Cost O(nq + E) plus the component search
      (O(E) per FastSV round, O(log n) rounds in practice).

    Raises:
      ValueError: q < 2, beta < 0 or NaN, spins out of range, wrong field shape,
        negative couplings.
    """
    q = _check_q(q)
    beta = _check_beta(beta)
    s = _check_spins(spins, graph, q)
    field = _check_field(field, graph, q)
    couplings = _check_couplings(couplings, graph, nonnegative=True)
    out = _sw_once(key, graph, s, _as_beta(beta), field, couplings, q)
    return _wrap_like(spins, out)


@functools.partial(jax.jit, static_argnums=(6,))
def _sw_once(key, graph, spins, beta, field, couplings, q):
    key_b, key_s = jr.split(key)
    bonds = _fk_bonds(key_b, graph, spins, beta, couplings)
    labels = connected_components(graph, bonds)
    return _cluster_states(key_s, labels, spins, beta, field, q)


def fk_bonds(
    key: PRNGKeyArray,
    graph: Graph,
    spins: Int[Array, " n"] | PottsState,
    beta: float,
    couplings: Float[ArrayLike, ...] | None = None,
) -> Bool[Array, " e"]:
    r"""Fortuin–Kasteleyn bonds given spins: the first half of a Swendsen–Wang step.

    Each present edge with $s_i = s_j$ is open with probability $1 - e^{-\beta J_e}$,
    independently (`bond_percolation(key, graph, p)` and-ed with "satisfied").

    Returns:
      `bool[e]` slot mask (both slots of an edge agree), for
      `connected_components(graph, edge_mask=...)`.
    """
    beta = _check_beta(beta)
    if isinstance(spins, PottsState):
        spins = spins.spins
    spins = jnp.asarray(spins)
    if spins.shape != (graph.n_nodes,):
        raise ValueError(
            f"`spins` must have shape ({graph.n_nodes},), got {spins.shape}"
        )
    couplings = _check_couplings(couplings, graph, nonnegative=True)
    return _fk_bonds(key, graph, spins, _as_beta(beta), couplings)


def random_cluster(
    key: PRNGKeyArray, graph: Graph, q: int, p: float, n_sweeps: int = 10
) -> Bool[Array, " e"]:
    r"""A sample of the FK random-cluster measure (4) at integer $q \ge 1$.

    $P(A) \propto p^{|A|}(1-p)^{|E|-|A|} q^{c(A)}$ over bond sets $A \subseteq E$.
    Sampled through the Edwards–Sokal coupling: `n_sweeps - 1` Swendsen–Wang sweeps at
    $\beta J = -\ln(1 - p)$ from a random start, then FK bonds of the final spins drawn
    with the second half of `jr.split(key)`. The chain is exact in its stationary state;
    `n_sweeps` sets the burn-in. At $q = 1$ all edges are satisfied and the result is
    **exactly** `bond_percolation(jr.split(key)[1], graph, p)` (independent bonds).

    Args:
      key: PRNG key.
      graph: The graph.
      q: Integer $q \ge 1$ (non-integer $q$ would need Chayes–Machta; not provided).
      p: Bond probability in $[0, 1)$.
      n_sweeps: Swendsen–Wang sweeps including the final bond draw, >= 1.

    Returns:
      `bool[e]` slot mask of the open bonds.

    Raises:
      ValueError: q < 1, p outside [0, 1), n_sweeps < 1.
    """
    q = check_int("q", q, min_value=1)
    p = check_real("p", p, low=0.0, high=1.0, high_open=True)
    n_sweeps = check_int("n_sweeps", n_sweeps, min_value=1)
    beta = _as_beta(-math.log1p(-p))
    key_chain, key_bonds = jr.split(key)
    return _random_cluster(key_chain, key_bonds, graph, beta, q, n_sweeps)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _random_cluster(key_chain, key_bonds, graph, beta, q, n_sweeps):
    dt = spin_dtype(max(q, 2))
    key_init, key_chain = jr.split(key_chain)
    spins = jr.randint(key_init, (graph.n_nodes,), 0, q, dtype=jnp.int32).astype(dt)
    if q > 1:

        def body(s, k):
            kb, ks = jr.split(k)
            bonds = _fk_bonds(kb, graph, s, beta, None)
            labels = connected_components(graph, bonds)
            return _cluster_states(ks, labels, s, beta, None, q), None

        spins, _ = lax.scan(body, spins, jr.split(key_chain, n_sweeps - 1))
    return _fk_bonds(key_bonds, graph, spins, beta, None)


def energy(
    graph: Graph,
    spins: Int[Array, " n"] | PottsState,
    field: Float[Array, "n q"] | None = None,
    couplings: Float[ArrayLike, ...] | None = None,
) -> Float[Array, ""]:
    r"""$H(s) = -\sum_{\langle ij\rangle} J_{ij}\delta(s_i,s_j) - \sum_i h_i(s_i)$ (total).

    Cost O(n + E). `field` has shape `(n, q)`; `couplings` is a scalar or `(n_edges,)`.
    """
    if isinstance(spins, PottsState):
        spins = spins.spins
    spins = jnp.asarray(spins)
    if spins.shape != (graph.n_nodes,):
        raise ValueError(
            f"`spins` must have shape ({graph.n_nodes},), got {spins.shape}"
        )
    if field is not None:
        field = jnp.asarray(field, jnp.result_type(float))
        if field.ndim != 2 or field.shape[0] != graph.n_nodes:
            raise ValueError(f"`field` must have shape (n_nodes, q), got {field.shape}")
    couplings = _check_couplings(couplings, graph)
    return _energy(graph, spins, field, couplings)


@jax.jit
def _energy(graph, spins, field, couplings):
    same = spins[graph.senders] == spins[graph.receivers]
    if graph.edge_mask is not None:
        same = same & graph.edge_mask
    dtype = jnp.result_type(float)
    if couplings is None:
        e = -jnp.sum(same, dtype=jnp.int32).astype(dtype) / 2
    else:
        j = couplings if jnp.ndim(couplings) == 0 else couplings[graph.edge_ids]
        e = -jnp.sum(jnp.where(same, j, jnp.zeros((), dtype))) / 2
    if field is not None:
        e = e - jnp.sum(jnp.take_along_axis(field, spins.astype(jnp.int32)[:, None], 1))
    return e


def order_parameter(spins: Int[Array, " n"] | PottsState, q: int) -> Float[Array, ""]:
    r"""Potts order parameter $m = (q \max_s n_s / N - 1)/(q - 1) \in [0, 1]$.

    $n_s$ is the number of nodes in state $s$; $m = 0$ for equal occupation, 1 when all
    agree. (In a finite system $m > 0$ even at infinite temperature, $O(N^{-1/2})$.)
    """
    q = _check_q(q)
    if isinstance(spins, PottsState):
        spins = spins.spins
    return _order_parameter(jnp.asarray(spins), q)


@functools.partial(jax.jit, static_argnums=(1,))
def _order_parameter(spins, q):
    n = spins.shape[0]
    counts = jnp.bincount(spins.astype(jnp.int32), length=q)
    dtype = jnp.result_type(float)
    return (q * jnp.max(counts).astype(dtype) / n - 1) / (q - 1)


def random_field(
    key: PRNGKeyArray, n_nodes: int, q: int, strength: float, kind: str = "preferred"
) -> Float[Array, "n q"]:
    r"""Random fields $h_i(s)$ for the random-field Potts model (§15).

    * `"preferred"`: each node prefers one uniform random state $\sigma_i$:
      $h_i(s) = h\,\delta(s, \sigma_i)$ (the standard RFPM).
    * `"gaussian"`: $h_i(s) \sim \mathcal N(0, h^2)$ i.i.d. per node and state.

    Returns:
      `(n, q)` array (default float dtype).
    """
    n_nodes = check_int("n_nodes", n_nodes, min_value=1)
    q = _check_q(q)
    strength = check_real("strength", strength, low=0.0)
    dtype = jnp.result_type(float)
    if kind == "preferred":
        sigma = jr.randint(key, (n_nodes,), 0, q)
        return strength * jax.nn.one_hot(sigma, q, dtype=dtype)
    if kind == "gaussian":
        return strength * jr.normal(key, (n_nodes, q), dtype)
    raise ValueError(f"`kind`={kind!r}; allowed: 'preferred', 'gaussian'")


# --------------------------------------------------------------------------------------
# Drivers
# --------------------------------------------------------------------------------------


class PottsRun(eqx.Module):
    """Result of `run`.

    Attributes:
      energy: Energy per node $H/N$ after each measured sweep, `(T,)` or `(R, T)`.
      m: Order parameter after each measured sweep, same shape.
      spins: Final spins (original numbering), `(n,)` or `(R, n)`.
    """

    energy: Float[Array, "*r t"]
    m: Float[Array, "*r t"]
    spins: Int[Array, "*r n"]


class AnnealResult(eqx.Module):
    """Result of `anneal`: per β of the (ascending) grid, the measured time series.

    Cooling = β increasing from a random start; heating = β decreasing, carrying on from
    the state the cooling pass ended in. Both are stored on the ascending grid.

    Attributes:
      betas: `(B,)` ascending.
      energy_cool, m_cool, energy_heat, m_heat: `(B, T)` per-node energy and order
        parameter after each measured sweep.
    """

    betas: Float[Array, " b"]
    energy_cool: Float[Array, "b t"]
    m_cool: Float[Array, "b t"]
    energy_heat: Float[Array, "b t"]
    m_heat: Float[Array, "b t"]


def _prepare(graph, q, colouring, field, couplings, algorithm, spins, key, ordered):
    _check_algorithm(algorithm)
    field = _check_field(field, graph, q)
    couplings = _check_couplings(
        couplings, graph, nonnegative=algorithm == "swendsen_wang"
    )
    if algorithm == "heat_bath":
        model = PottsModel.build(graph, colouring, q)
    else:
        # Swendsen–Wang needs no colouring; use a single class (identity layout).
        if colouring is not None:
            check_colouring(graph, colouring)
        model = _identity_model(graph, q)
    if spins is None:
        spins = init(key, graph, q, ordered).spins
    else:
        spins = _check_spins(spins, graph, q)
    return model, spins, field, couplings


def _identity_model(graph: Graph, q: int) -> PottsModel:
    n = graph.n_nodes
    ar = jnp.arange(n, dtype=jnp.int32)
    return PottsModel(graph, ar, ar, graph.receivers, (0, n), (0, graph.n_slots), q)


def _sweep_fn(model, algorithm, field_p, slot_j, couplings):
    if algorithm == "heat_bath":
        return lambda k, s, b: model.heat_bath(k, s, b, field_p, slot_j)
    return lambda k, s, b: model.swendsen_wang(k, s, b, field_p, slot_j, couplings)


def _measure(model, s, field_p, slot_j, q):
    n = model.n_nodes
    return model.energy(s, field_p, slot_j) / n, _order_parameter(s, q)


def run(
    key: PRNGKeyArray,
    graph: Graph,
    q: int,
    beta: float,
    n_sweeps: int,
    n_burn: int = 0,
    algorithm: str = "heat_bath",
    *,
    colouring: ArrayLike | None = None,
    spins: ArrayLike | PottsState | None = None,
    ordered: bool = False,
    field: Float[Array, "n q"] | None = None,
    couplings: Float[ArrayLike, ...] | None = None,
    replicas: int = 1,
) -> PottsRun:
    r"""Runs a Potts chain under `lax.scan` and records $H/N$ and $m$ after every sweep.

    `n_burn` sweeps are done first and not recorded, then `n_sweeps` recorded ones.
    With `replicas > 1`, independent chains (each from its own random start unless
    `spins`/`ordered` fix it) run as one `vmap`; the series then have
    a leading replica axis (use them for replica error bars in `estimate`).

    Args:
      key: PRNG key.
      graph: The graph.
      q: States, >= 2.
      beta: $\beta \ge 0$.
      n_sweeps: Recorded sweeps, >= 1 (static).
      n_burn: Discarded sweeps, >= 0 (static).
      algorithm: `"heat_bath"` or `"swendsen_wang"`.
      colouring: Proper colouring for the heat bath (default: `meshjax.graph.colouring`).
      spins: Initial spins (default: `init(key, graph, q, ordered)`).
      ordered: Start all in state 0 when `spins` is not given.
      field: Optional $h_i(s)$, `(n, q)`.
      couplings: Optional $J$, scalar or `(n_edges,)`.
      replicas: Independent chains, >= 1.

    Returns:
      `PottsRun`. Cost O((n_burn + n_sweeps)(nq + E)) (plus components for SW).

    Raises:
      ValueError: see `heat_bath_sweep` / `swendsen_wang_sweep`; unknown algorithm.
    """
    q = _check_q(q)
    beta = _check_beta(beta)
    n_sweeps = check_int("n_sweeps", n_sweeps, min_value=1)
    n_burn = check_int("n_burn", n_burn, min_value=0)
    replicas = check_int("replicas", replicas, min_value=1)
    key_init, key = jr.split(key)
    model, s0, field, couplings = _prepare(
        graph, q, colouring, field, couplings, algorithm, spins, key_init, ordered
    )
    if replicas == 1:
        return _run(
            model,
            key,
            s0,
            _as_beta(beta),
            field,
            couplings,
            n_sweeps,
            n_burn,
            algorithm,
        )
    keys = jr.split(key, replicas)
    if spins is None and not ordered:
        s0 = jax.vmap(lambda k: init(k, graph, q).spins)(jr.split(key_init, replicas))
    else:
        s0 = jnp.broadcast_to(s0, (replicas, graph.n_nodes))
    return _run_replicas(
        model, keys, s0, _as_beta(beta), field, couplings, n_sweeps, n_burn, algorithm
    )


@eqx.filter_jit
def _run(model, key, spins, beta, field, couplings, n_sweeps, n_burn, algorithm):
    return _run_impl(
        model, key, spins, beta, field, couplings, n_sweeps, n_burn, algorithm
    )


@eqx.filter_jit
def _run_replicas(
    model, keys, spins, beta, field, couplings, n_sweeps, n_burn, algorithm
):
    return jax.vmap(
        lambda k, s: _run_impl(
            model, k, s, beta, field, couplings, n_sweeps, n_burn, algorithm
        )
    )(keys, spins)


def _run_impl(model, key, spins, beta, field, couplings, n_sweeps, n_burn, algorithm):
    slot_j = model.slot_couplings(couplings, beta.dtype)
    field_p = None if field is None else model.to_internal(field).astype(beta.dtype)
    sweep = _sweep_fn(model, algorithm, field_p, slot_j, couplings)
    s = model.to_internal(spins)

    # One loop body for burn-in and measurement (one compile of the sweep); the
    # measurement is O(n + E), cheaper than a sweep, and discarded during burn-in.
    def body(s, t):
        s = sweep(jr.fold_in(key, t), s, beta)
        return s, _measure(model, s, field_p, slot_j, model.q)

    s, (e, m) = lax.scan(body, s, jnp.arange(n_burn + n_sweeps))
    return PottsRun(e[n_burn:], m[n_burn:], model.to_original(s))


def anneal(
    key: PRNGKeyArray,
    graph: Graph,
    q: int,
    betas: ArrayLike,
    n_sweeps: int,
    n_burn: int = 0,
    algorithm: str = "heat_bath",
    *,
    colouring: ArrayLike | None = None,
    field: Float[Array, "n q"] | None = None,
    couplings: Float[ArrayLike, ...] | None = None,
) -> AnnealResult:
    r"""Cooling then heating over a β grid with the state carried along (hysteresis).

    Cooling visits `betas` in ascending order from a random start; heating visits them in
    descending order starting from the state cooling ended in. At each point `n_burn`
    unrecorded and `n_sweeps` recorded sweeps are made. At a first-order transition
    the two branches differ (metastability) over a β window that should bracket the
    equilibrium transition; at a continuous one they meet.

    Args:
      key: PRNG key (point $b$ of pass $p$ uses `fold_in(fold_in(key, p), b)`).
      graph, q, algorithm, colouring, field, couplings: as in `run`.
      betas: `(B,)` non-negative inverse temperatures (sorted here, ascending).
      n_sweeps, n_burn: Sweeps per β point (recorded / discarded).

    Returns:
      `AnnealResult` with `(B, T)` series on the ascending grid.
      Cost O(2 B (n_burn + n_sweeps)(nq + E)).
    """
    q = _check_q(q)
    b = np.sort(np.atleast_1d(np.asarray(betas, dtype=float)))
    if b.ndim != 1 or b.size == 0:
        raise ValueError(f"`betas` must be a non-empty 1-d array, got shape {b.shape}")
    if not np.all(np.isfinite(b)) or b.min() < 0:
        raise ValueError("`betas` must be finite and >= 0")
    n_sweeps = check_int("n_sweeps", n_sweeps, min_value=1)
    n_burn = check_int("n_burn", n_burn, min_value=0)
    key_init, key = jr.split(key)
    model, s0, field, couplings = _prepare(
        graph, q, colouring, field, couplings, algorithm, None, key_init, False
    )
    return _anneal(
        model, key, s0, _as_beta(b), field, couplings, n_sweeps, n_burn, algorithm
    )


@eqx.filter_jit
def _anneal(model, key, spins, betas, field, couplings, n_sweeps, n_burn, algorithm):
    def one_pass(s, pkey, bs):
        def point(s, xb):
            i, beta = xb
            r = _run_impl(
                model,
                jr.fold_in(pkey, i),
                s,
                beta,
                field,
                couplings,
                n_sweeps,
                n_burn,
                algorithm,
            )
            return r.spins, (r.energy, r.m)

        idx = jnp.arange(bs.shape[0])
        return lax.scan(point, s, (idx, bs))

    s, (ec, mc) = one_pass(spins, jr.fold_in(key, 0), betas)
    _, (eh, mh) = one_pass(s, jr.fold_in(key, 1), betas[::-1])
    return AnnealResult(betas, ec, mc, eh[::-1], mh[::-1])


# --------------------------------------------------------------------------------------
# Estimators (host-side, float64)
# --------------------------------------------------------------------------------------


class Estimate(NamedTuple):
    """A value with its standard error."""

    value: float
    error: float


def estimate(
    energy: ArrayLike, m: ArrayLike, n_nodes: int, beta: float, n_blocks: int = 10
) -> dict[str, Estimate]:
    r"""Thermodynamic estimators with jackknife errors over blocks or replicas.

    * energy per node $\langle e \rangle$, order parameter $\langle m \rangle$;
    * specific heat per node $C = N\beta^2(\langle e^2\rangle - \langle e\rangle^2)$;
    * susceptibility $\chi = N\beta(\langle m^2\rangle - \langle m\rangle^2)$;
    * Binder cumulant $U_4 = 1 - \langle m^4\rangle / (3\langle m^2\rangle^2)$.

    Errors: a `(T,)` series is cut into `n_blocks` consecutive blocks (binning: blocks
    longer than the autocorrelation time give honest errors); a `(R, T)` array of
    independent replicas uses the replicas as blocks. Each estimator's error is the
    delete-one-block jackknife error, so nonlinear ones (C, χ, U4) are handled too.

    Args:
      energy: Per-node energies, `(T,)` or `(R, T)`.
      m: Order parameters, same shape.
      n_nodes: $N$.
      beta: $\beta$.
      n_blocks: Blocks for a single series, >= 2.

    Returns:
      Dict `{"energy", "m", "specific_heat", "susceptibility", "binder"}` of `Estimate`.
    """
    n_nodes = check_int("n_nodes", n_nodes, min_value=1)
    beta = check_real("beta", beta, low=0.0)
    e = np.asarray(energy, np.float64)
    mm = np.asarray(m, np.float64)
    if e.shape != mm.shape or e.ndim not in (1, 2):
        raise ValueError(
            f"`energy` and `m` must share a shape (T,) or (R, T); got "
            f"{e.shape} and {mm.shape}"
        )
    if e.ndim == 1:
        n_blocks = check_int("n_blocks", n_blocks, min_value=2)
        t = (e.shape[0] // n_blocks) * n_blocks
        if t == 0:
            raise ValueError(
                f"series of length {e.shape[0]} is shorter than n_blocks={n_blocks}"
            )
        e = e[:t].reshape(n_blocks, -1)
        mm = mm[:t].reshape(n_blocks, -1)
    if e.shape[0] < 2:
        raise ValueError("need at least 2 replicas/blocks for error bars")
    # Block moments.
    mom = np.stack(
        [e.mean(1), (e**2).mean(1), mm.mean(1), (mm**2).mean(1), (mm**4).mean(1)],
        axis=1,
    )

    def stats(x):
        e1, e2, m1, m2, m4 = x
        return np.array(
            [
                e1,
                m1,
                n_nodes * beta**2 * (e2 - e1**2),
                n_nodes * beta * (m2 - m1**2),
                1 - m4 / (3 * m2**2) if m2 > 0 else np.nan,
            ]
        )

    b = mom.shape[0]
    full = stats(mom.mean(0))
    jk = np.array([stats((mom.sum(0) - mom[i]) / (b - 1)) for i in range(b)])
    err = np.sqrt((b - 1) / b * np.sum((jk - jk.mean(0)) ** 2, axis=0))
    names = ("energy", "m", "specific_heat", "susceptibility", "binder")
    return {k: Estimate(float(v), float(s)) for k, v, s in zip(names, full, err)}


def energy_histogram(
    energy: ArrayLike,
    bins: int | ArrayLike = 50,
    range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised histogram of per-node energies (a density): `(density, edges)`.

    A first-order transition shows two peaks (ordered and disordered) near the
    transition point; a continuous one, a single peak.
    """
    e = np.asarray(energy, np.float64).ravel()
    if e.size == 0 or not np.all(np.isfinite(e)):
        raise ValueError("`energy` must be a non-empty finite array")
    dens, edges = np.histogram(e, bins=bins, range=range, density=True)
    return dens, edges


# --------------------------------------------------------------------------------------
# Bethe lattice (cavity) predictions for random d-regular graphs
# --------------------------------------------------------------------------------------


def _cavity_map(x, K, d, q):
    r"""log of the cavity map on the log-ratio $x = \log(\psi_1/\psi_{s\ne1})$."""
    r = np.exp(x)
    ek = np.exp(K)
    return (d - 1) * (np.log(ek * r + q - 1) - np.log(r + ek + q - 2))


def _ordered_fixed_point(K, d, q):
    """Largest fixed point x* > 0 of the cavity map (nan if only x = 0)."""
    xmax = K * (d - 1) + 1.0
    xs = np.linspace(1e-9, xmax, 20001)
    h = _cavity_map(xs, K, d, q) - xs
    pos = np.flatnonzero(h > 0)
    if pos.size == 0:
        return np.nan
    i = pos[-1]
    lo, hi = xs[i], xs[min(i + 1, xs.size - 1)]
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _cavity_map(mid, K, d, q) - mid > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _bethe_branch(x, K, d, q):
    """(m, energy per node / J, -beta f per node) of the symmetric-breaking branch x."""
    r = np.exp(x)
    a, b = r / (r + q - 1), 1.0 / (r + q - 1)
    w = np.expm1(K)
    zi = (1 + w * a) ** d + (q - 1) * (1 + w * b) ** d
    pair = a * a + (q - 1) * b * b
    zij = 1 + w * pair
    phi = np.log(zi) - 0.5 * d * np.log(zij)
    node1 = (1 + w * a) ** d / zi
    m = (q * node1 - 1) / (q - 1)
    p_equal = (1 + w) * pair / zij
    return m, -0.5 * d * p_equal, phi


def bethe_regular(beta: float, d: int, q: int, coupling: float = 1.0) -> dict:
    r"""Bethe–Peierls (cavity) solution of the ferromagnetic Potts model on a random
    $d$-regular graph at one $\beta$ (zero field), paramagnetic and ordered branches.

    With cavity messages $\psi = (a, b, \dots, b)$ and $r = a/b$, the cavity map is
    $$r' = \Big[\frac{e^{K} r + q - 1}{r + e^{K} + q - 2}\Big]^{d-1},\quad K = \beta J,$$
    and the Bethe free energy per node is
    $-\beta f = \ln Z_i - \tfrac d2 \ln Z_{ij}$ with
    $Z_i = (1 + w a)^d + (q-1)(1 + w b)^d$, $Z_{ij} = 1 + w(a^2 + (q-1)b^2)$,
    $w = e^K - 1$ (Mézard & Montanari 2009, ch. 14; Dorogovtsev, Goltsev & Mendes 2004).
    The paramagnet is $r = 1$; the ordered branch is the largest fixed point $r > 1$.

    Returns:
      Dict with `m_para` (0), `energy_para`, `phi_para` ($-\beta f$), and the same with
      `_ordered` (nan when there is no ordered fixed point); energies per node in units
      where $H = -J\sum\delta$.
    """
    d = check_int("d", d, min_value=3)
    q = _check_q(q)
    beta = check_real("beta", beta, low=0.0)
    coupling = check_real("coupling", coupling, low=0.0, low_open=True)
    K = beta * coupling
    m0, u0, p0 = _bethe_branch(0.0, K, d, q)
    x = _ordered_fixed_point(K, d, q)
    if np.isnan(x):
        m1 = u1 = p1 = np.nan
    else:
        m1, u1, p1 = _bethe_branch(x, K, d, q)
    return {
        "m_para": float(m0),
        "energy_para": float(u0 * coupling),
        "phi_para": float(p0),
        "m_ordered": float(m1),
        "energy_ordered": float(u1 * coupling),
        "phi_ordered": float(p1),
    }


def bethe_first_order_closed_form(d: int, q: int) -> float:
    r"""Closed form of the Bethe first-order point, $e^{K_t} = (q-2)/((q-1)^{1-2/d} - 1)$.

    (Wu 1982, Rev. Mod. Phys. 54, 235, §III; Peruggi, di Liberto & Monroy 1983.) For
    $q = 2$ the limit $e^{K} = d/(d-2)$, i.e. $\tanh(K/2) = 1/(d-1)$. Returns $K_t$.
    """
    d = check_int("d", d, min_value=3)
    q = _check_q(q)
    if q == 2:
        return math.log(d / (d - 2))
    return math.log((q - 2) / ((q - 1) ** (1 - 2 / d) - 1))


def bethe_transitions(d: int, q: int, coupling: float = 1.0) -> dict:
    r"""Transition points of the Bethe (cavity) solution on random $d$-regular graphs.

    * paramagnetic instability (the map's slope at $r = 1$ reaches 1):
      $e^{\beta_c J} = (d + q - 2)/(d - 2)$; for $q = 2$, $\tanh(\beta_c J/2) = 1/(d-1)$;
    * ordered spinodal $\beta_{sp}$: the smallest $\beta$ with a fixed point $r > 1$
      (saddle-node), found by bisection;
    * first-order point $\beta_t$: equal Bethe free energies of the two branches
      ($\phi_{\mathrm{ord}} = \phi_{\mathrm{para}}$), by bisection on
      $[\beta_{sp}, \beta_c]$; checked against the closed form
      `bethe_first_order_closed_form`;
    * `m_jump`: $m$ on the ordered branch at $\beta_t$ (0 for $q = 2$), and the latent
      heat per node $e_{\mathrm{para}} - e_{\mathrm{ord}}$ there.

    For $q = 2$ all three points coincide and the transition is continuous; for
    $q \ge 3$ and $d \ge 3$, $\beta_{sp} < \beta_t < \beta_c$ and $m$ jumps.

    Args:
      d: Degree, >= 3.
      q: States, >= 2.
      coupling: $J > 0$ (the points are returned as $\beta$, i.e. $K/J$).

    Returns:
      Dict with `beta_para_instability`, `beta_spinodal`, `beta_first_order`,
      `beta_first_order_closed_form`, `m_jump`, `latent_heat`, `energy_para`,
      `energy_ordered` (at $\beta_t$).
    """
    d = check_int("d", d, min_value=3)
    q = _check_q(q)
    coupling = check_real("coupling", coupling, low=0.0, low_open=True)
    kc = math.log((d + q - 2) / (d - 2))
    kt_cf = bethe_first_order_closed_form(d, q)
    if q == 2:
        return {
            "beta_para_instability": kc / coupling,
            "beta_spinodal": kc / coupling,
            "beta_first_order": kc / coupling,
            "beta_first_order_closed_form": kt_cf / coupling,
            "m_jump": 0.0,
            "latent_heat": 0.0,
            "energy_para": float(_bethe_branch(0.0, kc, d, q)[1] * coupling),
            "energy_ordered": float(_bethe_branch(0.0, kc, d, q)[1] * coupling),
        }

    def has_ordered(K):
        return not np.isnan(_ordered_fixed_point(K, d, q))

    lo, hi = 0.0, kc
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if has_ordered(mid):
            hi = mid
        else:
            lo = mid
    ksp = hi

    def dphi(K):
        x = _ordered_fixed_point(K, d, q)
        return _bethe_branch(x, K, d, q)[2] - _bethe_branch(0.0, K, d, q)[2]

    lo, hi = ksp, kc
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if dphi(mid) > 0:
            hi = mid
        else:
            lo = mid
    kt = 0.5 * (lo + hi)
    m1, u1, _ = _bethe_branch(_ordered_fixed_point(kt, d, q), kt, d, q)
    _, u0, _ = _bethe_branch(0.0, kt, d, q)
    return {
        "beta_para_instability": kc / coupling,
        "beta_spinodal": ksp / coupling,
        "beta_first_order": kt / coupling,
        "beta_first_order_closed_form": kt_cf / coupling,
        "m_jump": float(m1),
        "latent_heat": float((u0 - u1) * coupling),
        "energy_para": float(u0 * coupling),
        "energy_ordered": float(u1 * coupling),
    }
