"""The `Graph` pytree: one undirected graph, every edge stored in both directions."""

from __future__ import annotations

import functools
import weakref

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .. import _host
from .._custom_types import Array, ArrayLike, Bool, Float, Int
from ._layout import (
    NeighborLayout,
    auto_wants_layout,
    build_layout,
    layout_plan,
    reduce_neighbors,
)


class Graph(eqx.Module):
    r"""An undirected graph on `n_nodes` nodes as fixed-shape edge slots.

    Every undirected edge $\{u, v\}$ occupies two *slots*: $(u \to v)$ and $(v \to u)$.
    Slots are sorted by `receivers` (then `senders`), so segment reductions over receivers
    run with `indices_are_sorted=True`. Shapes depend only on the number of slots, so
    graphs of one size stack and `vmap`.

    Attributes:
      senders: `int32[e]`, the neighbour $j$ of each slot $j \to i$.
      receivers: `int32[e]`, the row $i$ of each slot; non-decreasing.
      edge_ids: `int32[e]`, the undirected edge of each slot, in `[0, e // 2)`; each id is
        on exactly two slots (the two directions). Per-edge randomness (percolation,
        Fortuin–Kasteleyn bonds) and per-edge couplings index with it, so both directions
        always agree.
      edge_mask: `bool[e]` or `None`. A slot with `False` is absent: padding, a removed
        duplicate or self-loop, a percolated bond. Both slots of an edge share a value
        (the constructors make it so and do not check it here; `with_mask` checks a
        concrete mask). `None` means every slot is present (and is faster).
      n_nodes: Static number of nodes (it fixes output shapes; changing it recompiles).
      weights: `float[e]` or `None` (default): a weight $w_{ij}$ per slot, the same on
        both slots of an edge (`from_edges(..., weights=)`, `from_networkx(...,
        weight="weight")`, `from_scipy(..., weighted=True)`). `neighbor_sum`,
        `laplacian_matvec` and `count_neighbor_states` use it (weighted adjacency), and
        `meshjax.potts` multiplies its couplings by it. `None` means unweighted ($w = 1$).

      layout: A `NeighborLayout` (jagged diagonals + COO tail) for gather-based
        reductions, or `None` (segment reductions over the sorted slots). Generators and
        `from_edges` attach one where it is faster (`meshjax.graph.with_layout`); it
        never changes a result, only how it is computed. It is derived data: change
        `edge_mask` only through `with_mask` (which keeps the layout honest).

    Memory: 3 int32 (+1 bool) per slot, i.e. O(n + E) (+1 float per slot with weights);
    the layout adds about 6 bytes per slot at mean degree 10. A weighted graph's
    reductions take the segment path (the layout carries no weights).
    """

    senders: Int[Array, " e"]
    receivers: Int[Array, " e"]
    edge_ids: Int[Array, " e"]
    edge_mask: Bool[Array, " e"] | None
    n_nodes: int = eqx.field(static=True)
    weights: Float[Array, " e"] | None = None
    layout: NeighborLayout | None = None

    def __check_init__(self):
        if not isinstance(self.n_nodes, int) or self.n_nodes <= 0:
            raise ValueError(f"`n_nodes`={self.n_nodes!r}; allowed: a positive int")
        shapes = {self.senders.shape, self.receivers.shape, self.edge_ids.shape}
        if self.edge_mask is not None:
            shapes.add(self.edge_mask.shape)
        if self.weights is not None:
            shapes.add(self.weights.shape)
        if len(shapes) != 1:
            raise ValueError(f"slot arrays must share one shape, got {shapes}")
        if self.senders.shape[-1] % 2:
            raise ValueError("the number of slots must be even (two per edge)")
        if self.layout is not None and (
            self.layout.n_nodes != self.n_nodes
            or self.layout.n_slots != self.senders.shape[-1]
        ):
            raise ValueError("`layout` was built for another graph")

    @property
    def n_slots(self) -> int:
        """Number of directed slots `e` (static)."""
        return self.senders.shape[-1]

    @property
    def n_edges(self) -> int:
        """Number of undirected edge slots, `e // 2` (static; counts masked ones).

        For the number of edges present use `num_active_edges()`.
        """
        return self.senders.shape[-1] // 2

    def num_active_edges(self) -> Int[Array, ""]:
        """Number of undirected edges whose slots are present."""
        if self.edge_mask is None:
            return jax.device_put(np.asarray(self.n_edges, np.int32))  # no program
        if _any_traced(self.edge_mask):
            return _num_active_edges(self.edge_mask)
        return _num_active_edges_jit(self.edge_mask)

    def slot_weights(self, dtype=jnp.int32) -> Array:
        """1 for present slots, 0 for absent ones, as `dtype`."""
        if self.edge_mask is None:
            return jnp.ones(self.senders.shape, dtype)
        return self.edge_mask.astype(dtype)

    def degrees(self) -> Int[Array, " n"]:
        r"""Degrees $k_i = \sum_j A_{ij}$ over present edges, `int32[n]`. Cost O(E)."""
        # concrete graph: one compiled program per graph structure, not one per op
        if self.layout is not None and _extra_mask(self) is None:
            return self.layout.degree
        if _any_traced(self):
            return _degrees(self)
        return _degrees_jit(self)

    def neighbor_sum(self, x: Array) -> Array:
        r"""$(A x)_i = \sum_j A_{ij} w_{ij} x_j$; `x` has shape `(n, *f)`. Cost O(E·f).

        With `weights`, the result is floating (an integer `x` is promoted)."""
        check_summable("x", x)
        # concrete inputs: one compiled program per (graph structure, x shape)
        if _any_traced((self, x)):
            return _neighbor_sum(self, x)
        return _neighbor_sum_jit(self, _as_jax(x))

    def weigh_slots(self, msg: Array) -> Array:
        """Per-slot messages `(e, *f)` times `weights` (if any), absent slots zeroed.

        With weights an integer `msg` is promoted to the weights' float dtype.
        """
        if self.weights is not None:
            w = self.weights.reshape((-1,) + (1,) * (msg.ndim - 1))
            if jnp.issubdtype(msg.dtype, jnp.inexact):
                msg = msg * w.astype(msg.dtype)
            else:
                msg = msg.astype(w.dtype) * w
        if self.edge_mask is not None:
            mask = self.edge_mask.reshape((-1,) + (1,) * (msg.ndim - 1))
            msg = jnp.where(mask, msg, jnp.zeros((), msg.dtype))
        return msg

    def with_mask(self, mask: Bool[Array, " e"] | None) -> Graph:
        """The same graph with `mask` combined (logical and) into `edge_mask`.

        Both slots of an edge (one `edge_ids` value) must agree once combined: a
        concrete `mask` that keeps one of them is a `ValueError` (found by one pass
        over the slots on the host: `check_symmetric_mask`). A traced one is not
        checked (that would need a host sync): a traced mask that disagrees gives a
        directed graph, which only code that means one should build (the colouring's
        DAG of earlier neighbours does).
        """
        return masked(self, mask, "mask")

    def edge_weights(self) -> Float[Array, " m"] | None:
        """The weights per undirected edge id, `float[n_edges]` (or `None`), from slots."""
        if self.weights is None:
            return None
        return (
            jnp.zeros(self.n_edges, self.weights.dtype)
            .at[self.edge_ids]
            .set(self.weights)
        )


def masked(graph: Graph, mask, name: str, check: bool = True) -> Graph:
    """`graph.with_mask(mask)`, errors naming the argument `name`. `check=False`: the
    caller runs `check_symmetric_mask(name, graph, out.edge_mask)` itself (after it has
    dispatched its computation, which then runs beside the check)."""
    if mask is None:
        return graph
    mask = jnp.asarray(mask, bool)
    if mask.shape != graph.senders.shape:
        raise ValueError(
            f"`{name}` has shape {mask.shape}; allowed: {graph.senders.shape}"
        )
    new = mask if graph.edge_mask is None else (mask & graph.edge_mask)
    if check:
        check_symmetric_mask(name, graph, new)
    layout = None if graph.layout is None else graph.layout.unbaked()
    return Graph(
        graph.senders,
        graph.receivers,
        graph.edge_ids,
        new,
        graph.n_nodes,
        weights=graph.weights,
        layout=layout,
    )


def check_symmetric_mask(name: str, graph: Graph, mask: Array) -> None:
    r"""A `ValueError` naming `name` when the concrete slot mask `mask` keeps one slot of
    an edge but not the other (a traced mask, or graph, passes: no host sync).

    Every edge id is on exactly two slots, so the mask agrees on each edge iff every id
    is kept an even number of times, and then $\bigoplus_{\text{kept}} h(\text{id}) = 0$
    for any $h$. With $h(k) = (2k + 1)^2 \bmod 2^{32}$ the converse holds for one or
    two disagreeing edges ($h$ is odd, and injective on ids below $2^{29}$: odd
    squares agree mod $2^{32}$ only for $x \equiv \pm y \bmod 2^{31}$) and for any odd
    number of them; for more it fails only if their $h$ XOR to 0 (about $2^{-29}$ for
    masks not built to do so: bits 1 and 2 of an odd square are 0). A failure is then
    confirmed and described exactly (`bincount`), so a symmetric mask is never refused.

    Cost: one read of the ids and the mask (no sort, no scatter; the ids' 40 MB at
    $10^7$ slots are most of it), a chunk at a time so that the temporaries stay in
    cache: 5.7-6.5 ms for $10^7$ slots on the 2-core CPU, split over the host
    threads (7.0-7.5 ms on one), with the machine otherwise busy. A `bincount` of the
    kept ids took 21-88 ms, XLA's XOR reduction 11-20 ms. On an accelerator the XOR
    runs there (one compiled reduction) and only the result is fetched.
    """
    if _any_traced((mask, graph.edge_ids)):
        return
    e = mask.shape[-1]
    if e == 0:
        return
    if all(d.platform == "cpu" for d in mask.devices()):
        ids = np.broadcast_to(np.asarray(graph.edge_ids), mask.shape).reshape(-1, e)
        keep = np.asarray(mask).reshape(-1, e)
        bad = [
            row for row in range(keep.shape[0]) if _xor_odd_squares(ids[row], keep[row])
        ]
    else:
        ids = jnp.broadcast_to(graph.edge_ids, mask.shape).reshape(-1, e)
        xor = np.asarray(_xor_odd_squares_jit(ids, mask.reshape(-1, e)))
        bad = np.flatnonzero(xor).tolist()
    if not bad:
        return
    row = bad[0]
    ids = np.broadcast_to(np.asarray(graph.edge_ids), mask.shape).reshape(-1, e)[row]
    keep = np.asarray(mask).reshape(-1, e)[row]
    count = np.bincount(ids[keep], minlength=int(ids.max()) + 1)
    edge = int(np.flatnonzero(count % 2)[0])
    slot = int(np.flatnonzero((ids == edge) & keep)[0])
    s = np.asarray(graph.senders).reshape(-1, e)
    r = np.asarray(graph.receivers).reshape(-1, e)
    s, r = s[row % s.shape[0], slot], r[row % r.shape[0], slot]
    where = f" (graph {row} of the batch)" if mask.ndim > 1 else ""
    raise ValueError(
        f"`{name}` keeps slot {slot} ({s} -> {r}) of edge {edge} but not its other "
        f"slot{where}; both slots of an undirected edge must agree (after the graph's "
        "own `edge_mask` is and-ed in)"
    )


#: Slots per step of `_xor_odd_squares` (its temporary stays in the core's cache).
_XOR_CHUNK = 1 << 16


def _xor_odd_squares(ids: np.ndarray, keep: np.ndarray) -> int:
    """XOR over the kept slots of `(2 id + 1)**2 mod 2**32` (0 when every id is kept an
    even number of times), a chunk at a time, split over the host threads."""
    parts: list = []

    def part(a: int, b: int) -> None:
        buf = np.empty(min(_XOR_CHUNK, b - a), np.uint32)
        acc = np.uint32(0)
        for c in range(a, b, _XOR_CHUNK):
            x = buf[: min(c + _XOR_CHUNK, b) - c]
            np.left_shift(ids[c : c + x.shape[0]], 1, out=x, casting="unsafe")
            x |= np.uint32(1)
            x *= x
            x *= keep[c : c + x.shape[0]]
            acc ^= np.bitwise_xor.reduce(x)
        parts.append(int(acc))

    _host.split(part, ids.shape[0])
    out = 0
    for p in parts:
        out ^= p
    return out


@jax.jit
def _xor_odd_squares_jit(ids: Array, keep: Array) -> Array:
    """`_xor_odd_squares` per row of `(b, e)` slot arrays, on their device."""
    x = ids.astype(jnp.uint32) * jnp.uint32(2) + jnp.uint32(1)
    x = jnp.where(keep, x * x, jnp.uint32(0))
    return lax.reduce(x, jnp.uint32(0), lax.bitwise_xor, (1,))


def _any_traced(x) -> bool:
    """True when any leaf of `x` is a tracer (then work is traced inline, not jitted)."""
    return any(
        isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x)
    )


def check_summable(name: str, x) -> None:
    """A `ValueError` naming `name` unless `x` holds numbers (bool cannot be summed)."""
    dtype = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype  # (lists too)
    if not jnp.issubdtype(dtype, jnp.number):
        raise ValueError(
            f"`{name}` must hold numbers (int or float) to be summed, got dtype {dtype}"
        )


def check_nonnegative_weights(graph: Graph, need: str) -> None:
    """The present slots' weights are finite and >= 0, checked on the host for a
    concrete graph (a traced one passes: check it inside with `weights_ok`). `need`
    names the method in the message."""
    if graph.weights is None or _any_traced((graph.weights, graph.edge_mask)):
        return
    w = np.asarray(graph.weights)
    if graph.edge_mask is not None:
        w = w[np.asarray(graph.edge_mask)]
    bad = w[~(np.isfinite(w) & (w >= 0))]
    if bad.size:
        raise ValueError(
            f"`graph.weights` holds {bad[0]}; {need} needs finite weights >= 0"
        )


def weights_ok(graph: Graph) -> Bool[Array, ""]:
    """Inside the computation: the present slots' weights are all finite and >= 0.

    The traced counterpart of `check_nonnegative_weights` (`True` for an unweighted
    graph, at no cost); one reduction over the slots otherwise. Absent slots
    (`edge_mask`) may hold anything.
    """
    if graph.weights is None:
        return jnp.asarray(True)
    w = graph.weights
    good = jnp.isfinite(w) & (w >= 0)
    if graph.edge_mask is not None:
        good = good | ~graph.edge_mask
    return jnp.all(good)


def _as_jax(x) -> Array:
    """`jnp.asarray(x)`; a NumPy array is transferred as it is (no compiled copy)."""
    if isinstance(x, jax.Array):
        return x
    if isinstance(x, np.ndarray):
        return jax.device_put(x)
    return jnp.asarray(x)


def _num_active_edges(edge_mask: Array) -> Array:
    return jnp.sum(edge_mask, dtype=jnp.int32) // 2


def _degrees(g: Graph) -> Array:
    if g.layout is not None:
        if _extra_mask(g) is None:
            return g.layout.degree
        return _layout_count(g)
    return jax.ops.segment_sum(
        g.slot_weights(jnp.int32), g.receivers, g.n_nodes, indices_are_sorted=True
    )


def _neighbor_sum(g: Graph, x: Array) -> Array:
    if g.layout is not None and g.weights is None:
        return _layout_neighbor_sum(g, x)
    msg = g.weigh_slots(x[g.senders])
    return jax.ops.segment_sum(msg, g.receivers, g.n_nodes, indices_are_sorted=True)


# Concrete (eager) calls run as one compiled program each, not one per jnp operation.
_num_active_edges_jit = jax.jit(_num_active_edges)
_degrees_jit = jax.jit(_degrees)
_neighbor_sum_jit = jax.jit(_neighbor_sum)


def _extra_mask(g: Graph) -> Array | None:
    """The per-slot mask the layout has not folded in (None if there is none)."""
    if g.edge_mask is None or g.layout is None or g.layout.mask_baked:
        return None
    return g.edge_mask


def _layout_neighbor_sum(g: Graph, x: Array) -> Array:
    x_ext = jnp.concatenate([x, jnp.zeros((1,) + x.shape[1:], x.dtype)])
    zero = jnp.zeros((), x.dtype)
    trail = (1,) * (x.ndim - 1)

    def entry(nbr, slot, present):
        v = x_ext.at[nbr].get(mode="promise_in_bounds")
        if present is None:
            return v
        return jnp.where(present.reshape(present.shape + trail), v, zero)

    out = reduce_neighbors(g.layout, entry, "sum", 0, mask=_extra_mask(g))
    return jnp.zeros_like(x) if out is None else out


def _layout_count(g: Graph) -> Array:
    n = g.n_nodes

    def entry(nbr, slot, present):
        return (nbr < n if present is None else present).astype(jnp.int32)

    out = reduce_neighbors(g.layout, entry, "sum", 0, mask=_extra_mask(g))
    return jnp.zeros(n, jnp.int32) if out is None else out


def _assemble(src: ArrayLike, dst: ArrayLike, n_nodes: int, dedupe: bool) -> Graph:
    """Builds a `Graph` from undirected pairs `(src[k], dst[k])`, jittable.

    Self-loops are masked; with `dedupe`, every repeat of an undirected pair is masked
    except its first copy (in both directions). Built from the *pairs*, not the slots:
    one sort of the M packed keys `lo << 32 | hi` orders the edges (edge id = rank, so
    ids follow (lo, hi) order; repeats come out adjacent), one sort of the M keys
    `hi << 32 | id` lists every node's lower neighbours, and `_fill_slots` reads each
    slot off the two lists by gathers: row i holds its lower neighbours (pairs with
    hi = i, by lo), then its upper ones (lo = i, by hi); a self-loop is on both sides.
    Cost: two sorts of M 64-bit keys and O(n + M) gathers; O(n + M) memory.
    `_assemble_np` is the same algorithm with NumPy's sort (bit-identical output).
    """
    with jax.enable_x64(True):
        src = jnp.asarray(src, jnp.int32)
        dst = jnp.asarray(dst, jnp.int32)
        lo = jnp.minimum(src, dst).astype(jnp.uint64)
        key = lax.sort((lo << 32) | jnp.maximum(src, dst).astype(jnp.uint64))
        m = key.shape[0]
        tkey = lax.sort((key << 32) | jnp.arange(m, dtype=jnp.uint64))
        nodes = jnp.arange(n_nodes + 1, dtype=jnp.uint64) << 32
        ub = jnp.searchsorted(key, nodes).astype(jnp.int32)
        lb = jnp.searchsorted(tkey, nodes).astype(jnp.int32)
        receivers = jnp.repeat(
            jnp.arange(n_nodes, dtype=jnp.int32),
            jnp.diff(ub) + jnp.diff(lb),
            total_repeat_length=2 * m,
        )
        tid = (tkey & jnp.uint64(0xFFFFFFFF)).astype(jnp.int32)
        del tkey
        senders, eids, keep = _fill_slots(key, tid, ub, lb, receivers, dedupe)
    return Graph(senders, receivers, eids, keep, n_nodes)


def _fill_slots(key, tid, ub, lb, receivers, dedupe: bool, lows=None, tail=None):
    """Every slot's sender, edge id and mask, by gathers from the two sorted lists.

    `key`: sorted `lo << 32 | hi`; `tid`: int32 edge ids (positions in `key`) sorted by
    `(hi, id)`, the low words of the sorted `hi << 32 | id`; `ub[i]`/`lb[i]`: the first
    entry of row i in each (length n + 1); `receivers`: the row of every slot
    (non-decreasing). Row r starts at slot `ub[r] + lb[r]`: slot s < ub[r] + lb[r + 1]
    is in its lower part (entry s - ub[r] of `tid`), the rest in its upper part (pair
    s - lb[r + 1]). `lows` (int32, optional, for simple pairs only: every slot kept):
    the lower end of each entry's pair, so that every gather reads its list in order
    (`key[tid]`, one random read per slot, is the slow part of the fill otherwise).
    `tail = (c, k)` (with `lows`): the low words w of `key` are not the pairs' upper ends
    but words from which they follow, `((w + c) mod 2^32) // k` (`_ids_by_upper`).
    Call under x64.
    """
    e = receivers.shape[0]
    if e == 0:
        z = jnp.zeros(0, jnp.int32)
        return z, z, jnp.zeros(0, bool)
    m = key.shape[0]
    low32 = jnp.uint64(0xFFFFFFFF)

    def chunk(start, size):
        s = start + jnp.arange(size, dtype=jnp.int32)
        r = lax.dynamic_slice_in_dim(receivers, start, size)
        ub_r = ub[r]
        lb_next = lb[r + 1]
        is_low = s < ub_r + lb_next
        i = jnp.clip(s - ub_r, 0, m - 1)
        k = jnp.where(is_low, tid[i], s - lb_next)
        if lows is not None:
            word = (key[jnp.clip(s - lb_next, 0, m - 1)] & low32).astype(jnp.uint32)
            if tail is not None:  # the upper end from the word
                c, per_row = tail
                word = (word + jnp.uint32(c)) // jnp.uint32(per_row)
            upper = word.astype(jnp.int32)
            return jnp.where(is_low, lows[i], upper), k, jnp.ones(size, bool)
        pair = key[k]
        lo = (pair >> 32).astype(jnp.int32)
        hi = (pair & low32).astype(jnp.int32)
        keep = lo != hi
        if dedupe:
            keep &= (k == 0) | (key[jnp.maximum(k - 1, 0)] != pair)
        return jnp.where(is_low, lo, hi), k, keep

    if e <= _FILL_CHUNK:
        return chunk(0, e)
    # Chunk by chunk into the outputs (updated in place), so that XLA's temporaries stay
    # one chunk's; the last chunk starts at e - C and recomputes a few slots.
    out = (jnp.zeros(e, jnp.int32), jnp.zeros(e, jnp.int32), jnp.zeros(e, bool))

    def body(i, out):
        start = jnp.minimum(i * _FILL_CHUNK, e - _FILL_CHUNK)
        vals = chunk(start, _FILL_CHUNK)
        return tuple(
            lax.dynamic_update_slice_in_dim(o, v, start, 0)
            for o, v in zip(out, vals, strict=True)
        )

    return lax.fori_loop(0, -(-e // _FILL_CHUNK), body, out)


_FILL_CHUNK = 1 << 20  # slots per step of `_fill_slots` (bounds XLA's temporaries)


@functools.partial(jax.jit, static_argnums=(5, 6, 8))
def _fill_slots_jit(
    key,
    tid,
    ub,
    lb,
    receivers,
    dedupe: bool,
    simple: bool = False,
    lows=None,
    tail=None,
):
    """`_fill_slots`; with `simple` (pairs known to hold no self-loop and no repeat) the
    mask is not made (`None`)."""
    with jax.enable_x64(True):
        senders, eids, keep = _fill_slots(
            key, tid, ub, lb, receivers, dedupe, lows, tail
        )
    return senders, eids, None if simple else keep


#: Graphs with at most this many slots are filled by NumPy (`_fill_slots_np`): below it
#: compiling `_fill_slots` for the shape (about 0.5 s) costs more than the fill itself.
_HOST_FILL_MAX = 1 << 18


def _fill_slots_np(key, tid, ub, lb, dedupe: bool):
    """`_fill_slots` in NumPy (scatters to the slots in increasing order): same output."""
    m = key.shape[0]
    e = 2 * m
    low32 = np.uint64(0xFFFFFFFF)
    lo = (key >> np.uint64(32)).astype(np.int32)
    hi = (key & low32).astype(np.int32)
    keep_pair = lo != hi
    if dedupe and m > 1:
        keep_pair[1:] &= key[1:] != key[:-1]
    senders = np.empty(e, np.int32)
    eids = np.empty(e, np.int32)
    keep = np.empty(e, bool)
    k = np.arange(m, dtype=np.int32)
    up = lb[1:][lo] + k  # pair k is slot lb[lo + 1] + k of row lo
    senders[up], eids[up], keep[up] = hi, k, keep_pair
    low = ub[:-1][hi[tid]] + k  # entry q of `tid`: slot ub[hi] + q of row hi
    senders[low], eids[low], keep[low] = lo[tid], tid, keep_pair[tid]
    return senders, eids, keep


def _put_u64(keys: np.ndarray) -> Array:
    """The 64-bit keys on the device, as 64-bit: without x64 a plain `device_put`
    converts them to uint32 and silently drops the high word (the row of every pair)."""
    with jax.enable_x64(True):
        out = jax.device_put(keys)
    assert out.dtype == np.uint64
    return out


def _assemble_np(
    pairs: list,
    n_nodes: int,
    dedupe: bool,
    simple: bool = False,
    by_upper: bool = False,
    tail: tuple[int, int, int] | None = None,
) -> Graph:
    """`_assemble` for concrete pairs on the CPU backend: the sorts in NumPy.

    NumPy's vectorised sort of 64-bit keys is several times XLA's CPU sort (0.05 s vs
    about 0.4 s for 5·10^6 keys here); the keys are packed in place through 32-bit
    views, and the slots come from one compiled gather program (`_fill_slots`). Same
    output as `_assemble`, bit for bit, plus the gather layout where
    `with_layout(policy="auto")` would attach one (its row starts are known here).
    The rows' slot counts, `receivers` and the layout's plan are made on a host thread
    beside the sorts (`meshjax._host`), and the layout's columns are filled on every
    core.

    `pairs` is a list `[src, dst]` of valid node ids that is emptied, so that the pairs
    are freed once packed and counted (pass the only references). `simple`: the caller
    knows the pairs hold no self-loop and no repeat, and gets a graph without a mask
    (none is made: a pass less in the fill and in the layout).

    `by_upper` (needs `simple`): `pairs` is `[hi, lo]` with `lo < hi`, sorted by
    `(hi, lo)` — the order of the second key list, so one sort does (`_ids_by_upper`).
    Not checked: pairs in another order give a wrong graph (`barabasi_albert` makes
    them so). A BA graph of 10^6 nodes, m = 5, is assembled in 0.31–0.33 s instead of
    0.32–0.38 s on the 2-core CPU (three processes each, interleaved; the whole
    generator 0.48–0.50 s instead of 0.50–0.55 s).

    `tail = (c0, hi0, k)` (with `by_upper`): from position `c0` on, the pairs come `k`
    per row from row `hi0` on (`hi[p] = hi0 + (p - c0) // k`; BA's arrivals), so the
    rows' lower counts and the upper end of every pair follow from p: no count of `hi`,
    and `_place` scatters the ids without gathering `hi` (at BA 10^6, m = 5: 26 ms
    instead of 50 ms on one thread; the fill's division by k costs nothing measurable,
    where a gather of the head's ends in it cost 10–16 ms). Not checked either.

    Memory: every host array goes to the device as soon as it is final, so the peak is
    the key lists and the receivers on the device plus the three outputs, about 20
    bytes per slot (18 `by_upper`), where the graph keeps 13.
    """
    if by_upper and not simple:
        raise ValueError("`by_upper` pairs must be simple")
    if tail is not None and not by_upper:
        raise ValueError("`tail` needs `by_upper` pairs")
    n = n_nodes
    m = int(np.shape(pairs[0])[0])
    if tail is not None and not (0 <= tail[0] <= m and (m - tail[0]) % tail[2] == 0):
        raise ValueError(f"`tail`={tail}: the {m} pairs do not end in whole rows")
    small = 2 * m <= _HOST_FILL_MAX
    # `by_upper`: the fill reads each entry's lower end from the pairs (kept on the
    # device, where the generator made them) instead of a random read of the keys
    lows = jnp.asarray(pairs[1]) if by_upper and not small else None
    ends = [np.asarray(x) for x in pairs]
    pairs.clear()
    want_layout = auto_wants_layout(2 * m)  # what `with_layout(policy="auto")` would do
    # beside the sorts: the rows, `receivers` and the layout's plan
    rows = _host.submit(
        _rows_and_plan, ends[:], n, not small, by_upper, want_layout, tail
    )
    # (the small fill reads upper ends from the keys: no `tail` there)
    tail = None if small else tail
    if by_upper:
        key, tid = _ids_by_upper(ends, m, tail)
    else:
        key, tid = _ids_by_lower(ends, m)
    ub, lb, receivers, plan = rows.result()
    if small:  # no compilation per graph shape (it would cost more than the fill)
        senders, eids, keep = map(
            jax.device_put, _fill_slots_np(key, tid, ub, lb, dedupe)
        )
        keep = None if simple else keep
        receivers = jax.device_put(receivers)
        del key, tid
    else:
        # views of the aligned host arrays (no copies), freed (`_host.release`) once
        # the fill is done with them
        temporaries = [weakref.ref(key), weakref.ref(tid)]
        key, tid = _put_u64(key), jax.device_put(tid)
        jax.block_until_ready((key, tid, receivers))
        with jax.enable_x64(True):
            senders, eids, keep = _fill_slots_jit(
                key,
                tid,
                ub,
                lb,
                receivers,
                dedupe,
                simple,
                lows,
                None if tail is None else _tail_words(*tail),
            )
        # Wait for the fill, so that its inputs are freed before the layout's host
        # arrays are made: run side by side they peaked 0.65 GB higher at n = 10^7.
        del key, tid, lows
        jax.block_until_ready((senders, eids))
        _host.release(temporaries)
    layout = None
    if want_layout:
        layout = build_layout(senders, receivers, keep, n, plan=plan)
    return Graph(senders, receivers, eids, keep, n_nodes, layout=layout)


def _rows_and_plan(
    ends: list, n: int, put: bool, by_upper: bool, want_layout: bool, tail=None
):
    """`_row_slots`, then the rows' first entries in the two key lists (`ub`, `lb`)
    and, with `want_layout`, the layout's plan (`layout_plan`): the host thread beside
    the sorts has time for it, which the layout step then saves (0.03 s at BA 10^6)."""
    n_up, n_low, receivers = _row_slots(ends, n, put, by_upper, tail)
    ub = np.zeros(n + 1, np.int32)
    np.cumsum(n_up, out=ub[1:])
    lb = np.zeros(n + 1, np.int32)
    np.cumsum(n_low, out=lb[1:])
    del n_up, n_low
    plan = layout_plan(ub + lb, n) if want_layout else None
    return ub, lb, receivers, plan


def _ids_by_lower(ends: list, m: int):
    """The sorted keys `lo << 32 | hi` and the edge ids sorted by `(hi, id)` (int32),
    from pairs in any order: two sorts. Host arrays, aligned (`_host.empty`)."""
    key = _host.empty(m, np.uint64)  # aligned: the transfer is a view
    half = key.view(np.uint32).reshape(m, 2)  # little-endian: [:, 0] low, [:, 1] high
    np.minimum(*ends, out=half[:, 1], casting="unsafe")
    np.maximum(*ends, out=half[:, 0], casting="unsafe")
    ends.clear()
    key.sort()
    tkey = np.empty(m, np.uint64)
    thalf = tkey.view(np.uint32).reshape(m, 2)
    thalf[:, 1] = half[:, 0]
    thalf[:, 0] = np.arange(m, dtype=np.uint32)
    del half
    tkey.sort()
    return key, _host.aligned(thalf[:, 0].view(np.int32), np.int32)


def _ids_by_upper(ends: list, m: int, tail: tuple[int, int, int] | None = None):
    """`_ids_by_lower` for pairs `[hi, lo]` sorted by `(hi, lo)`: one sort.

    Pair p of that order is entry p of the second list, so sorting `lo << 32 | p`
    (within one `lo`, p follows hi) gives the first list, with every pair's position
    q in it: `tid[p] = q`, and the low words become `hi[p]`. The scatter and the
    gather are split by q over the host threads.

    With `tail = (c0, hi0, k)` (`_assemble_np`) there is no gather: the low words stay
    p, from which the fill computes `hi = ((p + c) mod 2^32) // k` with
    `c = hi0 k - c0` (`_tail_words`), and the first c0 pairs' words are set to
    `(hi k - c) mod 2^32`, which gives their `hi` the same way.
    """
    hi, lo = ends
    ends.clear()
    if tail is not None:
        head = hi[: tail[0]].astype(np.int64)
        hi = None
    key = _host.empty(m, np.uint64)
    half = key.view(np.uint32).reshape(m, 2)
    half[:, 1] = lo
    del lo
    half[:, 0] = np.arange(m, dtype=np.uint32)
    key.sort()
    tid = _host.empty(m, np.int32)
    _host.split(functools.partial(_place, half, hi, tid, step=_PLACE_BLOCK), m)
    del hi
    if tail is not None and tail[0]:
        c, k = _tail_words(*tail)
        half[tid[: tail[0]], 0] = (head * k - c) % (1 << 32)
    del half
    return key, tid


def _tail_words(c0: int, hi0: int, k: int) -> tuple[int, int]:
    """`(c, k)` of `_ids_by_upper`'s words for pairs that come `k` per row from row
    `hi0` on after `c0` others: `hi = ((p + c) mod 2^32) // k` (exact while
    `n k < 2^32`: every slot index is an int32, so `n k < 2^31`)."""
    return (hi0 * k - c0) % (1 << 32), k


_PLACE_BLOCK = 1 << 18  # keys per block of `_place`


def _place(half, hi, tid, a: int, b: int, *, step: int) -> None:
    """`_ids_by_upper` for the keys at positions [a, b): `tid[p] = q` and the low
    word `hi[p]` (unless `hi` is None), a block of `step` at a time (the temporaries
    stay in cache)."""
    for c in range(a, b, step):
        d = min(c + step, b)
        p = half[c:d, 0].astype(np.intp)
        tid[p] = np.arange(c, d, dtype=np.int32)
        if hi is not None:
            half[c:d, 0] = hi[p]


def _row_slots(ends: list, n: int, put: bool, by_upper: bool = False, tail=None):
    """Each row's upper neighbours (pairs with lo = i) and lower ones (hi = i), and
    `receivers` (row i has both). `by_upper`: `ends` is `[hi, lo]` (no min and max);
    with `tail` (`_assemble_np`) the lower ones past the head are known, not counted.

    `ends` (`[src, dst]`) is emptied once counted, so that the pairs are freed as soon
    as both threads are done with them. Counted a quarter at a time (`bincount` widens
    its input to int64), so that the temporaries stay about 1.3 bytes per slot while the
    main thread holds the pairs and the packed keys: BA at n = 10^7 peaked at 31.9
    bytes per slot counted all at once, 30.0 this way (29.2 before the second thread).
    """
    src, dst = ends
    ends.clear()
    m = src.shape[0]
    step = max(1 << 20, -(-m // 4))
    n_up = np.zeros(n, np.int64)
    n_low = np.zeros(n, np.int64)
    for k in range(0, m, step):
        a, b = src[k : k + step], dst[k : k + step]
        if by_upper:
            n_up += np.bincount(b, minlength=n)
            if tail is None:
                n_low += np.bincount(a, minlength=n)
        else:
            n_up += np.bincount(np.minimum(a, b), minlength=n)
            n_low += np.bincount(np.maximum(a, b), minlength=n)
        del a, b  # views: the last ones would keep the pairs alive through the repeat
    if by_upper and tail is not None:
        c0, hi0, k = tail
        n_low += np.bincount(src[:c0], minlength=n)
        n_low[hi0 : hi0 + (m - c0) // k] += k
    del src, dst
    receivers = _repeat_rows(n_up + n_low)
    return n_up, n_low, jax.device_put(receivers) if put else receivers


def _repeat_rows(counts: np.ndarray) -> np.ndarray:
    """`np.repeat(arange(n), counts)` as int32 in an aligned array (`_host.empty`: its
    transfer is a view), made a block of rows at a time (the temporaries stay small)."""
    n = counts.shape[0]
    ends = np.cumsum(counts)
    out = _host.empty(int(ends[-1]) if n else 0, np.int32)
    step = 1 << 16
    for a in range(0, n, step):
        b = min(a + step, n)
        lo = int(ends[a - 1]) if a else 0
        out[lo : int(ends[b - 1])] = np.repeat(
            np.arange(a, b, dtype=np.int32), counts[a:b]
        )
    return out


def _assemble_host(
    src: np.ndarray, dst: np.ndarray, n_nodes: int, weights: np.ndarray | None = None
) -> Graph:
    """Host-side (NumPy) layout of pairs known to be simple and valid; no mask.

    `weights` (one per pair, or `None`) land on both slots of their edge.
    """
    src = np.asarray(src, np.int64)
    dst = np.asarray(dst, np.int64)
    m = src.shape[0]
    eid = np.arange(m, dtype=np.int64)
    senders = np.concatenate([src, dst])
    receivers = np.concatenate([dst, src])
    eids = np.concatenate([eid, eid])
    order = np.lexsort((eids, senders, receivers))
    w = None
    if weights is not None:
        w = jax.device_put(np.concatenate([weights, weights])[order])
    # NumPy casts, then a plain transfer (no compiled conversion program per shape)
    s = jax.device_put(senders[order].astype(np.int32))
    r = jax.device_put(receivers[order].astype(np.int32))
    layout = None
    if auto_wants_layout(int(s.shape[0])):
        layout = build_layout(s, r, None, n_nodes)
    return Graph(
        s,
        r,
        jax.device_put(eids[order].astype(np.int32)),
        None,
        n_nodes,
        weights=w,
        layout=layout,
    )
