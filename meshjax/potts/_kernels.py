r"""Layout and kernels: spins, the class-by-class layout, the heat bath, the energy.

$$H(s) = -\sum_{\langle ij \rangle} J_{ij}\, \delta(s_i, s_j) - \sum_i h_i(s_i),
\qquad P(s) \propto e^{-\beta H(s)},$$
with $J_{ij} = J \cdot w_{ij}$: a scalar or per-edge `couplings` $J$ (indexed by
`graph.edge_ids`) times the graph's own edge weights $w_{ij}$ (`Graph.weights`, 1 when
the graph is unweighted), and optional random fields $h_i(s)$.

The energy is written once (`_total_energy`); every caller goes through it.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from .._custom_types import Array, Float, Int
from .._validate import (
    as_key,
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)
from ..graph import Graph, check_colouring, colouring as _jones_plassmann
from ._classes import (
    ONEHOT_MAX_Q,
    PER_WORD,
    ClassLayout,
    build_class_layout,
    class_counts,
    class_counts_onehot,
)

ALGORITHMS = ("heat_bath", "swendsen_wang")


def _float():
    return jnp.result_type(float)


# --------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------


def spin_dtype(q: int):
    """The narrowest signed integer dtype holding states `0 .. q - 1` (int8 for q <= 127)."""
    q = check_int("q", q, min_value=1)
    if q <= 127:
        return jnp.int8
    if q <= 32767:
        return jnp.int16
    return jnp.int32


class PottsState(eqx.Module):
    """Potts configuration: `spins`, integer `[n]` in `0 .. q-1` (int8 for q <= 127)."""

    spins: Int[Array, " n"]


# --------------------------------------------------------------------------------------
# Boundary checks (through meshjax._validate only)
# --------------------------------------------------------------------------------------


def _check_q(q, min_value=2):
    return check_int("q", q, min_value=min_value)


def _check_graph(graph):
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    return graph


def _check_beta(beta, name="beta"):
    return check_real(name, beta, low=0.0)


def _spins_of(spins):
    return spins.spins if isinstance(spins, PottsState) else spins


def _check_spins(spins, n_nodes: int, q: int | None, name: str = "spins"):
    """Integer spins of shape (n,), each in [0, q) (concrete; traced: shape/dtype only)."""
    spins = _spins_of(spins)
    arr = check_array(
        name,
        spins,
        kind="int",
        shape=(n_nodes,),
        low=0.0,
        high=None if q is None else float(q - 1),
    )
    return arr


def _spins_ok(spins, q: int | None):
    """Inside jit: every spin is in [0, q) (q None: only >= 0)."""
    ok = jnp.all(spins >= 0)
    if q is not None:
        ok = ok & jnp.all(spins < q)
    return ok


def _check_field(field, n_nodes: int, q: int):
    if field is None:
        return None
    f = check_array("field", field, kind="real", shape=(n_nodes, q))
    return jnp.asarray(f, _float())


def _check_couplings(couplings, graph: Graph, nonnegative: bool = False):
    """`None`, a scalar or a `(n_edges,)` array of finite couplings (J >= 0 for FK)."""
    if couplings is None:
        return None
    c = check_array(
        "couplings",
        couplings,
        kind="real",
        ndim=(0, 1),
        low=0.0 if nonnegative else None,
    )
    if jnp.ndim(c) == 1 and jnp.shape(c) != (graph.n_edges,):
        raise ValueError(
            f"`couplings` must be a scalar or have shape (n_edges,) = "
            f"({graph.n_edges},), got shape {jnp.shape(c)}"
        )
    return jnp.asarray(c, _float())


def _couplings_ok(couplings, nonnegative: bool):
    if couplings is None:
        return jnp.asarray(True)
    return jnp.all(in_domain(couplings, low=0.0 if nonnegative else None))


def _as_float(x):
    return jnp.asarray(x, _float())


# --------------------------------------------------------------------------------------
# Kernels (no validation; jit/vmap freely)
# --------------------------------------------------------------------------------------


def slot_couplings(graph: Graph, couplings, dtype) -> Array | None:
    r"""Per-slot $J_{ij} = J_e w_{ij}$ (absent slots 0), or `None` for $J \equiv 1$.

    `couplings` is `None` (1), a scalar or per undirected edge (`graph.edge_ids`);
    `graph.weights` (if any) multiplies it.
    """
    j = None
    if couplings is not None:
        c = jnp.asarray(couplings, dtype)
        j = jnp.broadcast_to(c, (graph.n_slots,)) if c.ndim == 0 else c[graph.edge_ids]
    if graph.weights is not None:
        w = graph.weights.astype(dtype)
        j = w if j is None else j * w
    if j is None:
        return None
    if graph.edge_mask is not None:
        j = jnp.where(graph.edge_mask, j, jnp.zeros((), dtype))
    return j


def _total_energy(graph: Graph, spins, field, slot_j) -> Array:
    """Total energy H(s) (the one energy kernel). Cost O(n + E)."""
    dtype = _float() if slot_j is None else slot_j.dtype
    same = spins[graph.senders] == spins[graph.receivers]
    if slot_j is None:
        if graph.edge_mask is not None:
            same = same & graph.edge_mask
        e = -jnp.sum(same, dtype=jnp.int32).astype(dtype) / 2
    else:
        e = -jnp.sum(jnp.where(same, slot_j, jnp.zeros((), dtype))) / 2
    if field is not None:
        idx = jnp.clip(spins.astype(jnp.int32), 0, field.shape[1] - 1)
        e = e - jnp.sum(jnp.take_along_axis(field, idx[:, None], axis=1)).astype(dtype)
    return e


def _order_parameter(spins, q: int) -> Array:
    """m = (q max_s n_s / N - 1)/(q - 1); spins assumed in [0, q)."""
    n = spins.shape[-1]
    counts = jnp.bincount(spins.astype(jnp.int32), length=q)
    dtype = _float()
    # (q n_max - N) / (N (q - 1)) in floating point: q n_max reaches 2^31 at supported
    # sizes (q = 3000, N = 10^6), where the int32 product wrapped and gave m = -0.43 for
    # an ordered state without x64. m is 1 exactly when all agree and 0 exactly at equal
    # occupation (XLA turns the division by a constant into a product by its
    # reciprocal, which alone gave 0.9999999999999999).
    n_max = jnp.max(counts)
    num = n_max.astype(dtype) * q - n
    m = num / jnp.asarray(n * (q - 1), dtype)
    m = jnp.where(n_max == n, jnp.ones((), dtype), m)
    equal = n % q == 0  # static: equal occupation is possible
    if equal:
        m = jnp.where(n_max == n // q, jnp.zeros((), dtype), m)
    return m


def _sample_rows_u(u, logits):
    """Inverse-CDF categorical draw per row of `logits` (n, q), given uniforms `u` (n,)."""
    z = logits - jnp.max(logits, axis=1, keepdims=True)
    cw = jnp.cumsum(jnp.exp(z), axis=1)
    return jnp.sum(cw[:, :-1] <= u[:, None] * cw[:, -1:], axis=1, dtype=jnp.int32)


def _sample_list_u(u, logits: list):
    """`_sample_rows_u` with the `q` columns as a list of 1-D arrays (same draw)."""
    z_max = logits[0]
    for x in logits[1:]:
        z_max = jnp.maximum(z_max, x)
    cw, total = [], None
    for x in logits:
        w = jnp.exp(x - z_max)
        total = w if total is None else total + w
        cw.append(total)
    thr = u * total
    out = jnp.zeros(u.shape, jnp.int32)
    for c in cw[:-1]:
        out = out + (c <= thr).astype(jnp.int32)
    return out


def _sample_rows(key, logits):
    """One categorical draw per row of `logits` (n, q) from one uniform per row."""
    return _sample_rows_u(
        jr.uniform(key, (logits.shape[0],), dtype=logits.dtype), logits
    )


def _default_colouring(graph: Graph):
    """The fixed default colouring (seed 0), computed eagerly even inside `jit`."""
    with jax.ensure_compile_time_eval():
        return _jones_plassmann(0, graph)


class PottsModel(eqx.Module):
    r"""A graph laid out class by class for Potts sweeps (built once, on the host).

    Nodes are renumbered so that each colour class is a contiguous block, rows sorted by
    slot count inside it (`order[k]` is the original id of internal node `k`); the
    renumbered graph `pgraph` is sorted by internal receiver (so the slots of class $c$
    are the block `slot_offsets[c]:slot_offsets[c+1]`) and keeps the original `edge_ids`
    (and `weights`), so per-edge couplings and per-edge random numbers are the same in
    both numberings. `classes` lays every class's neighbours out as jagged diagonals
    (`meshjax.potts._classes`): counting a node's neighbours per state is a gather and
    an add per slot, fused per class, no scatter.

    A heat-bath sweep then touches each node once and each slot once: O(n q + E).
    Classes are unrolled (one static slice each), so compile time grows with the number
    of colours (8–9 on ER graphs with $\langle k\rangle = 10$).

    Attributes:
      pgraph: The renumbered `Graph` (same slots, mask, weights and edge ids).
      order: `int32[n]`, internal -> original node id.
      inverse: `int32[n]`, original -> internal node id.
      classes: The `ClassLayout` (per-class jagged diagonals and hub tail).
      node_offsets, slot_offsets: static tuples, `num_colours + 1` entries each.
      q: Number of states (static).
    """

    pgraph: Graph
    order: Int[Array, " n"]
    inverse: Int[Array, " n"]
    classes: ClassLayout | None
    node_offsets: tuple[int, ...] = eqx.field(static=True)
    slot_offsets: tuple[int, ...] = eqx.field(static=True)
    q: int = eqx.field(static=True)

    @classmethod
    def build(cls, graph: Graph, colouring: Any, q: int) -> PottsModel:
        """Validates `colouring` (once, here) and lays the graph out class by class.

        Args:
          graph: The graph (concrete: the layout is built on the host).
          colouring: A proper colouring `int[n]`, or `None` for
            `meshjax.graph.colouring(0, graph)`.
          q: Number of states, >= 1.

        Raises:
          ValueError: improper colouring, wrong shape, q < 1.
          TypeError: a traced graph or colouring (the layout needs their values).
        """
        q = check_int("q", q, min_value=1)
        _check_graph(graph)
        if is_traced(graph):
            raise TypeError(
                "`graph` is traced: the heat-bath layout is built on the host from the "
                "graph's values. Close over a concrete graph, or use "
                "algorithm='swendsen_wang' (no layout)."
            )
        if colouring is None:
            colouring = _default_colouring(graph)
        elif is_traced(colouring):
            raise TypeError("`colouring` must be concrete (it is checked on the host)")
        check_colouring(graph, colouring)
        col = np.asarray(colouring).astype(np.int64)
        n = graph.n_nodes
        num_colours = int(col.max()) + 1 if n else 0
        snd = np.asarray(graph.senders).astype(np.int64)
        rcv = np.asarray(graph.receivers).astype(np.int64)
        e = int(rcv.shape[0])
        bounds = np.searchsorted(rcv, np.arange(n + 1))
        slot_count = np.diff(bounds)
        # Class by class, largest slot count first inside a class (stable).
        order = np.lexsort((-slot_count, col))
        counts = np.bincount(col, minlength=num_colours)
        node_off = np.concatenate([[0], np.cumsum(counts)])
        inverse = np.empty(n, np.int64)
        inverse[order] = np.arange(n)
        # Slots grouped by internal receiver (rows moved whole: sender order kept).
        cnt_sorted = slot_count[order]
        new_first = np.zeros(n, np.int64)
        np.cumsum(cnt_sorted[:-1], out=new_first[1:])
        new_r = np.repeat(np.arange(n), cnt_sorted)
        perm = np.arange(e) + np.repeat(bounds[:-1][order] - new_first, cnt_sorted)
        new_s = inverse[snd[perm]]
        slot_off = np.concatenate([[0], new_first[node_off[1:-1]], [e]])
        eid = np.asarray(graph.edge_ids)
        mask_np = None if graph.edge_mask is None else np.asarray(graph.edge_mask)[perm]
        weights = (
            None
            if graph.weights is None
            else jnp.asarray(np.asarray(graph.weights)[perm])
        )
        pgraph = Graph(
            jnp.asarray(new_s, jnp.int32),
            jnp.asarray(new_r, jnp.int32),
            jnp.asarray(eid[perm], jnp.int32),
            None if mask_np is None else jnp.asarray(mask_np),
            n,
            weights=weights,
        )
        node_offsets = tuple(int(x) for x in node_off)
        classes = build_class_layout(
            new_s, mask_np, new_first, cnt_sorted, node_offsets
        )
        return cls(
            pgraph,
            jnp.asarray(order, jnp.int32),
            jnp.asarray(inverse, jnp.int32),
            classes,
            node_offsets,
            tuple(int(x) for x in slot_off),
            q,
        )

    @classmethod
    def identity(cls, graph: Graph, q: int) -> PottsModel:
        """One class, the original numbering (for Swendsen–Wang; no colouring needed)."""
        n = graph.n_nodes
        ar = jnp.arange(n, dtype=jnp.int32)
        return cls(graph, ar, ar, None, (0, n), (0, graph.n_slots), q)

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

    def slot_couplings(self, couplings: Any, dtype) -> Array | None:
        """Per-slot $J w$ (masked slots 0) in the internal slot order, `None` for 1."""
        return slot_couplings(self.pgraph, couplings, dtype)

    # ---- kernels (internal numbering, no validation; jit/vmap freely) ---------------
    def heat_bath(
        self,
        key: Any,
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
        return _heat_bath(self, key, spins, jnp.asarray(beta), field, slot_j)

    def swendsen_wang(
        self,
        key: Any,
        spins: Array,
        beta: Array,
        field: Array | None = None,
        slot_j: Array | None = None,
    ) -> Array:
        """One Swendsen–Wang sweep, internal numbering (see `swendsen_wang_sweep`)."""
        from ._cluster import _sw_step

        return _sw_step(key, self.pgraph, spins, beta, field, slot_j, self.q)

    def energy(
        self, spins: Array, field: Array | None = None, slot_j: Array | None = None
    ) -> Array:
        """Total energy $H(s)$, internal numbering. Cost O(n + E)."""
        return _total_energy(self.pgraph, spins, field, slot_j)


def _hb_core(model: PottsModel, u, spins, beta, field, slot_j):
    """One heat-bath sweep of one chain: spins `(n,)`, uniforms `u` `(n,)`."""
    q = model.q
    n = model.n_nodes
    dtype = beta.dtype
    # The sentinel id n reads the state q (no node has it); slot e reads J = 0.
    s_ext = jnp.concatenate([spins, jnp.full((1,), q, spins.dtype)])
    sj_ext = _ext_couplings(slot_j, dtype)
    for c in range(model.num_colours):
        n0, n1 = model.node_offsets[c], model.node_offsets[c + 1]
        if n1 == n0:
            continue
        counts = class_counts(model.classes, c, n0, n1, s_ext, q, sj_ext, dtype)
        fc = None if field is None else field[n0:n1].astype(dtype)
        new = _draw(u[n0:n1], counts, beta, fc, q)
        s_ext = lax.dynamic_update_slice(s_ext, new.astype(spins.dtype), (n0,))
    return s_ext[:n]


def _ext_couplings(slot_j, dtype):
    if slot_j is None:
        return None
    return jnp.concatenate([slot_j.astype(dtype), jnp.zeros((1,), dtype)])


def _draw(u, counts, beta, fc, q):
    """The heat-bath draw of a class from its counts (list per state, or `(nc, q)`)."""
    if isinstance(counts, list):  # one array per state: one fused loop
        logits = [
            beta * (x if fc is None else x + fc[:, t]) for t, x in enumerate(counts)
        ]
        return _sample_list_u(u, logits)
    return _sample_rows_u(u, beta * (counts if fc is None else counts + fc))


def _hb_onehot(model: PottsModel, u, words, beta, field):
    """One sweep of `PER_WORD` chains at once (unit couplings, q <= 7): `words`
    `int32[n]`, byte r = one-hot state of chain r; `u` `(PER_WORD, n)`; `beta`
    `(PER_WORD,)`. Each neighbour's word is gathered once and counted for all 4 chains
    with whole-word shifts and adds (`class_counts_onehot`)."""
    q = model.q
    n = model.n_nodes
    dtype = beta.dtype
    sentinel = sum((1 << q) << (8 * r) for r in range(PER_WORD))
    w_ext = jnp.concatenate([words, jnp.full((1,), sentinel, jnp.int32)])
    for c in range(model.num_colours):
        n0, n1 = model.node_offsets[c], model.node_offsets[c + 1]
        if n1 == n0:
            continue
        per_rep = class_counts_onehot(model.classes, c, n0, n1, w_ext, q, dtype)
        fc = None if field is None else field[n0:n1].astype(dtype)
        new = None
        for r, counts in enumerate(per_rep):
            s_r = _draw(u[r, n0:n1], counts, beta[r], fc, q)
            b_r = jnp.left_shift(jnp.int32(1), s_r + 8 * r)
            new = b_r if new is None else new | b_r
        w_ext = lax.dynamic_update_slice(w_ext, new, (n0,))
    return w_ext[:n]


def _to_onehot(s4):
    """`(4, n)` states -> `int32[n]` words, byte r = `1 << s4[r]`."""
    out = None
    for r in range(PER_WORD):
        b = jnp.left_shift(jnp.int32(1), s4[r].astype(jnp.int32) + 8 * r)
        out = b if out is None else out | b
    return out


def _from_onehot(words, dtype):
    """`int32[n]` one-hot words -> `(4, n)` states (index of the set bit per byte)."""
    return jnp.stack(
        [
            lax.population_count(((words >> (8 * r)) & 255) - 1).astype(dtype)
            for r in range(PER_WORD)
        ]
    )


@jax.custom_batching.custom_vmap
def _heat_bath(model, key, spins, beta, field, slot_j):
    u = jr.uniform(key, spins.shape, dtype=beta.dtype)
    return _hb_core(model, u, spins, beta, field, slot_j)


@_heat_bath.def_vmap
def _heat_bath_vmap(axis_size, in_batched, model, key, spins, beta, field, slot_j):
    """Replicas (or β values) of one sweep, `PER_WORD` chains per int32 word.

    The one-hot states of 4 chains share a word, so each neighbour entry is gathered
    once and counted for 4 chains with whole-word adds (a plain `vmap` gathers and
    counts it once per chain); groups of 4 run one after another (`lax.map`). The law of each chain is that of `_heat_bath` (its own uniforms,
    `jr.uniform(key_r, (n,))`, so results equal the one-by-one sweep's).
    """
    m_b, k_b, s_b, b_b, f_b, j_b = in_batched
    q = model.q
    shared = not any(jax.tree.leaves((m_b, f_b, j_b)))
    if not shared or slot_j is not None or q > ONEHOT_MAX_Q:
        # (per-replica layouts, fields or couplings, per-slot couplings, q > 7: the
        # plain vmap, one chain per lane of XLA's batched gather)
        axes = jax.tree.map(lambda b: 0 if b else None, tuple(in_batched))
        out = jax.vmap(_heat_bath_plain, in_axes=axes)(
            model, key, spins, beta, field, slot_j
        )
        return out, True
    n = model.n_nodes
    r = axis_size
    dtype = beta.dtype
    if k_b:
        u = jax.vmap(lambda k: jr.uniform(k, (n,), dtype=dtype))(key)
    else:
        u = jnp.broadcast_to(jr.uniform(key, (n,), dtype=dtype), (r, n))
    s = spins if s_b else jnp.broadcast_to(spins, (r, n))
    b = beta if b_b else jnp.broadcast_to(beta, (r,))
    g = -(-r // PER_WORD)
    pad = g * PER_WORD - r
    if pad:
        s = jnp.concatenate([s, jnp.broadcast_to(s[-1:], (pad, n))])
        u = jnp.concatenate([u, jnp.broadcast_to(u[-1:], (pad, n))])
        b = jnp.concatenate([b, jnp.broadcast_to(b[-1:], (pad,))])
    s = s.reshape(g, PER_WORD, n)
    words = jax.vmap(_to_onehot)(s)  # (g, n)
    out = lax.map(
        lambda x: _hb_onehot(model, x[0], x[1], x[2], field),
        (u.reshape(g, PER_WORD, n), words, b.reshape(g, PER_WORD)),
    )
    back = jax.vmap(lambda w: _from_onehot(w, spins.dtype))(out)  # (g, 4, n)
    return back.reshape(g * PER_WORD, n)[:r], True


def _heat_bath_plain(model, key, spins, beta, field, slot_j):
    u = jr.uniform(key, spins.shape, dtype=beta.dtype)
    return _hb_core(model, u, spins, beta, field, slot_j)


# --------------------------------------------------------------------------------------
# Public: state, heat-bath sweep, observables
# --------------------------------------------------------------------------------------


def init(key: Any, graph: Graph, q: int, *, ordered: bool = False) -> PottsState:
    """Initial configuration: uniform random states, or all nodes in state 0 (`ordered`).

    Args:
      key: PRNG key or int seed (unused when `ordered`).
      graph: The graph (only `n_nodes` is used).
      q: Number of states, >= 2.
      ordered: Start fully ordered (all 0) instead of at infinite temperature.

    Returns:
      `PottsState` with `spins` of dtype `spin_dtype(q)` (int8 for q <= 127).

    Raises:
      ValueError: q < 2.
    """
    key = as_key(key)
    _check_graph(graph)
    q = _check_q(q)
    ordered = check_bool("ordered", ordered)
    dt = spin_dtype(q)
    if ordered:
        return PottsState(jnp.zeros(graph.n_nodes, dt))
    return PottsState(
        jr.randint(key, (graph.n_nodes,), 0, q, dtype=jnp.int32).astype(dt)
    )


def _sweep_inputs(key, graph, spins, beta, q, field, couplings, *, nonnegative):
    """The checks shared by the one-sweep wrappers (heat bath, Swendsen–Wang)."""
    key = as_key(key)
    _check_graph(graph)
    q = _check_q(q)
    beta = _as_float(_check_beta(beta))
    s = _check_spins(spins, graph.n_nodes, q).astype(spin_dtype(q))
    field = _check_field(field, graph.n_nodes, q)
    couplings = _check_couplings(couplings, graph, nonnegative=nonnegative)
    return key, q, beta, s, field, couplings


def _wrap_like(template, spins):
    return PottsState(spins) if isinstance(template, PottsState) else spins


def _raise_if_bad_beta(beta, extra_ok=None):
    """`eqx.error_if` on a traced β outside [0, inf) (sweeps return spins: no NaN)."""
    ok = in_domain(beta, low=0.0)
    if extra_ok is not None:
        ok = ok & extra_ok
    return eqx.error_if(
        beta,
        ~ok,
        "`beta` (or `couplings`, or the graph's weights under Swendsen–Wang / FK) is "
        "out of range; allowed: [0, inf)",
    )


def heat_bath_sweep(
    key: Any,
    graph: Graph,
    spins: Any,
    beta: Any,
    q: int,
    *,
    colouring: Any = None,
    field: Any = None,
    couplings: Any = None,
) -> Any:
    r"""One exact heat-bath (Glauber) sweep, one colour class at a time.

    Every node $i$ of a class is redrawn from
    $P(s_i = s) \propto \exp\{\beta[\sum_{j\sim i} J_{ij}\delta(s_j,s) + h_i(s)]\}$
    given its neighbours; the class is an independent set, so the parallel update is a
    product of exact single-site moves and the Boltzmann distribution is stationary.

    This convenience wrapper validates and lays the graph out (`PottsModel.build`, host,
    O(E log E)) on every call; for many sweeps use `run` / `anneal`, or build a
    `PottsModel` once and call its `heat_bath` under `jit`.

    Args:
      key: PRNG key or int seed.
      graph: The graph (`graph.weights` multiply the couplings).
      spins: `int[n]` in `[0, q)`, or a `PottsState`.
      beta: Inverse temperature $\beta \ge 0$ (may be traced; a traced bad value is an
        `eqx.error_if` error).
      q: Number of states, >= 2.
      colouring: Proper colouring `int[n]` (checked once, on the host) or `None`
        (`meshjax.graph.colouring(0, graph)`).
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
    key, q, beta, s, field, couplings = _sweep_inputs(
        key, graph, spins, beta, q, field, couplings, nonnegative=False
    )
    model = PottsModel.build(graph, colouring, q)
    out = _hb_once(model, key, s, beta, field, couplings)
    return _wrap_like(spins, out)


@eqx.filter_jit
def _hb_once(model, key, spins, beta, field, couplings):
    beta = _raise_if_bad_beta(beta, _couplings_ok(couplings, False))
    sj = model.slot_couplings(couplings, beta.dtype)
    fp = None if field is None else model.to_internal(field)
    sp = model.heat_bath(key, model.to_internal(spins), beta, fp, sj)
    return model.to_original(sp)


def energy(
    graph: Graph, spins: Any, *, field: Any = None, couplings: Any = None
) -> Float[Array, ""]:
    r"""$H(s) = -\sum_{\langle ij\rangle} J_{ij}\delta(s_i,s_j) - \sum_i h_i(s_i)$ (total).

    $J_{ij}$ = `couplings` (scalar or per edge, default 1) times `graph.weights`.

    Args:
      graph: The graph.
      spins: `int[n]` (or a `PottsState`), each $\ge 0$, and $< q$ when `field` (shape
        `(n, q)`) is given. Concrete out-of-range spins are a `ValueError`; traced ones
        give NaN.
      field: Optional $h_i(s)$, `(n, q)`.
      couplings: Optional $J$, scalar or `(n_edges,)`.

    Returns:
      The total energy (float scalar). Cost O(n + E).
    """
    _check_graph(graph)
    q = None
    if field is not None:
        q = int(jnp.shape(check_array("field", field, kind="real", ndim=2))[1])
        field = _check_field(field, graph.n_nodes, q)
    spins = _check_spins(spins, graph.n_nodes, q)
    couplings = _check_couplings(couplings, graph)
    return _energy(graph, spins, field, couplings)


@jax.jit
def _energy(graph, spins, field, couplings):
    q = None if field is None else field.shape[1]
    slot_j = slot_couplings(graph, couplings, _float())
    e = _total_energy(graph, spins, field, slot_j)
    ok = _spins_ok(spins, q) & _couplings_ok(couplings, False)
    if field is not None:
        ok = ok & jnp.all(jnp.isfinite(field))
    return nan_outside(ok, e)


def order_parameter(spins: Any, q: int) -> Float[Array, ""]:
    r"""Potts order parameter $m = (q \max_s n_s / N - 1)/(q - 1) \in [0, 1]$.

    $n_s$ is the number of nodes in state $s$; $m = 0$ for equal occupation, 1 when all
    agree. (In a finite system $m > 0$ even at infinite temperature, $O(N^{-1/2})$.)

    Args:
      spins: `int[n]` (or a `PottsState`) in `[0, q)`: a concrete spin outside is a
        `ValueError`; traced ones give NaN.
      q: Number of states, >= 2.
    """
    q = _check_q(q)
    spins = _spins_of(spins)
    n = int(np.shape(spins)[0]) if np.ndim(spins) == 1 else -1
    if n < 1:
        raise ValueError(
            f"`spins` must have shape (n,) with n >= 1, got {np.shape(spins)}"
        )
    spins = _check_spins(spins, n, q)
    return _order_parameter_checked(spins, q)


@eqx.filter_jit
def _order_parameter_checked(spins, q):
    return nan_outside(_spins_ok(spins, q), _order_parameter(spins, q))


def random_field(
    key: Any, n_nodes: int, q: int, strength: Any, *, kind: str = "preferred"
) -> Float[Array, "n q"]:
    r"""Random fields $h_i(s)$ for the random-field Potts model (§15).

    * `"preferred"`: each node prefers one uniform random state $\sigma_i$:
      $h_i(s) = h\,\delta(s, \sigma_i)$ (the standard RFPM).
    * `"gaussian"`: $h_i(s) \sim \mathcal N(0, h^2)$ i.i.d. per node and state.

    Args:
      key: PRNG key or int seed.
      n_nodes: Number of nodes, >= 1.
      q: States, >= 2.
      strength: $h \ge 0$ (may be traced; a traced bad value gives NaN).
      kind: `"preferred"` or `"gaussian"`.

    Returns:
      `(n, q)` array (default float dtype).
    """
    key = as_key(key)
    n_nodes = check_int("n_nodes", n_nodes, min_value=1)
    q = _check_q(q)
    strength = check_real("strength", strength, low=0.0)
    kind = check_choice("kind", kind, ("preferred", "gaussian"))
    h = _as_float(strength)
    dtype = _float()
    if kind == "preferred":
        sigma = jr.randint(key, (n_nodes,), 0, q)
        out = h * jax.nn.one_hot(sigma, q, dtype=dtype)
    else:
        out = h * jr.normal(key, (n_nodes, q), dtype)
    return nan_outside(in_domain(h, low=0.0), out)
