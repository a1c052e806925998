r"""A gather layout for neighbour reductions: jagged diagonals plus a short COO tail.

XLA's CPU scatter (the sorted `segment_sum` over slots) runs single-threaded behind a row
loop; a *gather* into a dense column, followed by an elementwise add, fuses into one
vectorised loop. This file lays the slots out so that every neighbour reduction
$y_i = \bigoplus_{j \sim i} f(x_j, w_{ij})$ becomes a chain of such column gathers:

- rows (nodes) are sorted by slot count, largest first (`order`, `inv` its inverse);
- column $c < J$ ("jagged diagonal" $c$, JDS / SELL-C-σ with σ = n and one slice per
  column) holds the $c$-th neighbour of each of the first $L_c$ rows, where $L_c$ is the
  number of rows with more than $c$ slots, rounded up to a coarse ladder (≤ 1/16 extra)
  so that graphs of one size and kind share more shapes (and compiled code; not all:
  another sample of a random graph usually recompiles a jitted kernel);
- the slots of the hubs beyond column $J$ (at most `max_columns`) form a COO tail,
  reduced by one short sorted segment reduction (the HYB format of Bell & Garland).

Every entry that is padding, or whose slot was absent (`edge_mask`) when the layout was
built, holds the sentinel neighbour id `n` (gathers read an appended identity value).
Per-slot values (a later mask, weights) ride along: entry $(p, c)$ of the head is slot
`first[p] + c` of the graph's slot arrays, a tail entry carries its slot in `tail_slot`.

Memory: 4 bytes per head entry (≈ 4.25 bytes per slot with the rounding), 12 bytes per tail
slot and 16 bytes per node (`order`, `inv`, `first`, `degree`): about 6 bytes per slot at
⟨k⟩ = 10, on top of the graph's own 13 bytes per slot. Work: one gather per slot per
reduction, plus one gather of `n` to return to node order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from numpy.lib.stride_tricks import sliding_window_view

from .. import _host
from .._custom_types import Array, Int

#: Default number of jagged-diagonal columns before the COO tail takes over.
MAX_COLUMNS = 32
#: "auto" attaches a layout from this many slots on (below it, one compiled program for
#: every graph of a size matters more than the speed of the reduction).
AUTO_MIN_SLOTS = 1 << 15
_FUSE = 1 << 30  # columns per fused chain (no cut: measured no compile gain)


class NeighborLayout(eqx.Module):
    """Jagged-diagonal + COO-tail layout of a graph's slots (see the module docstring).

    Attributes:
      order: `int32[n]`, the node at sorted position `p` (slot count non-increasing).
      inv: `int32[n]`, the sorted position of node `i` (`order[inv[i]] == i`).
      first: `int32[n]`, the first slot of the row at position `p` (CSR row start).
      degree: `int32[n]`, present slots per node (node order) when the layout was built.
      head: `int32[h]`, the columns one after another; column `c` holds
        `lengths[c]` neighbour ids, the sentinel `n` where nothing is.
      tail_nbr, tail_pos, tail_slot: `int32[t]`, the hub slots beyond the last column:
        neighbour id (or `n`), sorted position of the receiver (non-decreasing), slot.
      lengths: static column lengths (non-increasing).
      n_nodes, n_slots: static sizes.
      mask_baked: static; `True` while the graph's `edge_mask` is the one folded in when the
        layout was built (absent slots already hold the sentinel). `Graph.with_mask` clears
        it, and the ops then read the mask per slot.
    """

    order: Int[Array, " n"]
    inv: Int[Array, " n"]
    first: Int[Array, " n"]
    degree: Int[Array, " n"]
    head: Int[Array, " h"]
    tail_nbr: Int[Array, " t"]
    tail_pos: Int[Array, " t"]
    tail_slot: Int[Array, " t"]
    lengths: tuple[int, ...] = eqx.field(static=True)
    n_nodes: int = eqx.field(static=True)
    n_slots: int = eqx.field(static=True)
    mask_baked: bool = eqx.field(static=True, default=True)

    @property
    def n_columns(self) -> int:
        return len(self.lengths)

    @property
    def starts(self) -> np.ndarray:
        """Where each column begins in `head` (static, `int64[J + 1]`, last = size)."""
        return np.concatenate([[0], np.cumsum(self.lengths, dtype=np.int64)])

    def nbytes(self) -> int:
        """Bytes held by the layout's arrays."""
        return sum(
            int(a.size) * a.dtype.itemsize
            for a in (
                self.order,
                self.inv,
                self.first,
                self.degree,
                self.head,
                self.tail_nbr,
                self.tail_pos,
                self.tail_slot,
            )
        )

    def unbaked(self) -> NeighborLayout:
        """The same layout, told that the graph's mask must be read per slot."""
        if not self.mask_baked:
            return self
        return NeighborLayout(
            self.order,
            self.inv,
            self.first,
            self.degree,
            self.head,
            self.tail_nbr,
            self.tail_pos,
            self.tail_slot,
            self.lengths,
            self.n_nodes,
            self.n_slots,
            False,
        )


# ------------------------------------------------------------------------ building


def _round_up(length: int, n: int) -> int:
    """Rounds a column length up to a ladder with steps of at most 1/16."""
    if length <= 32:
        return min(length, n)
    step = 1 << (length.bit_length() - 5)
    return min(n, -(-length // step) * step)


class LayoutPlan(NamedTuple):
    """The node side of a layout (`layout_plan`): everything but the columns' entries."""

    order: np.ndarray  # int32[n], rows by slot count, largest first
    inv: np.ndarray  # int32[n]
    first: np.ndarray  # int32[n], row starts in node order
    counts: np.ndarray  # int32[n], slots per row
    first_sorted: np.ndarray  # int32[n]
    deg_sorted: np.ndarray  # int32[n]
    lengths: tuple[int, ...]
    starts: np.ndarray  # int64[J + 1], where each column begins in the head
    filled: np.ndarray  # rows with more than c slots, c < J


def layout_plan(
    bounds: np.ndarray, n_nodes: int, max_columns: int = MAX_COLUMNS
) -> LayoutPlan:
    """The degree order and column lengths of a layout from the n + 1 row starts:
    O(n), on the host (the degree sort is a radix sort on 16-bit keys). Needs no slot
    arrays, so the assembly makes it beside its sorts (`_graph._assemble_np`)."""
    n = n_nodes
    bounds = np.asarray(bounds).astype(np.int32)
    first = bounds[:-1]
    counts = np.diff(bounds)
    dmax = int(counts.max()) if n else 0
    if dmax < (1 << 16):
        order = np.argsort((dmax - counts).astype(np.uint16), kind="stable")
    else:
        order = np.argsort(-counts, kind="stable")
    order = _host.aligned(
        order, np.int32
    )  # (the node arrays go to the device as views)
    inv = _host.empty(n, np.int32)
    inv[order] = np.arange(n, dtype=np.int32)
    n_cols = min(dmax, max_columns)
    # hist[c] = rows with more than c slots.
    hist = np.bincount(counts, minlength=dmax + 1)
    more_than = n - np.cumsum(hist)
    lengths = tuple(_round_up(int(more_than[c]), n) for c in range(n_cols))
    starts = np.zeros(n_cols + 1, np.int64)
    np.cumsum(lengths, out=starts[1:])
    first_sorted = _host.empty(n, np.int32)
    np.take(first, order, out=first_sorted)
    return LayoutPlan(
        order,
        inv,
        first,
        counts,
        first_sorted,
        counts[order],
        lengths,
        starts,
        more_than[:n_cols],
    )


def build_layout(
    senders,
    receivers,
    edge_mask,
    n_nodes: int,
    *,
    max_columns: int = MAX_COLUMNS,
    bounds: np.ndarray | None = None,
    plan: LayoutPlan | None = None,
) -> NeighborLayout:
    """Builds the layout from concrete slot arrays (sorted by receiver).

    Runs on the host (NumPy): the plan (`layout_plan`, O(n)), then the columns, filled
    one degree class at a time (`_fill_head`; no compilation per set of column
    lengths), split by rows over the host threads (`meshjax._host`). Cost O(n + E).
    `bounds` (the n + 1 row starts, if the caller knows them) saves a pass; `plan`
    (made from them with the same `max_columns`) saves the plan.
    """
    r = np.asarray(receivers)
    n = n_nodes
    e = int(r.shape[0])
    if plan is None:
        # node arrays in int32 (slot indices fit: the slot arrays are int32 too)
        bounds = _row_bounds(r, n) if bounds is None else bounds
        plan = layout_plan(bounds, n, max_columns)
    del bounds
    order, inv, first, counts, first_sorted, deg_sorted, lengths, starts, filled = plan
    n_cols = len(lengths)
    degree = counts
    absent = np.zeros(0, np.int64)
    if edge_mask is not None:
        absent = np.flatnonzero(~np.asarray(edge_mask))
        if absent.size:
            degree = counts - np.bincount(r[absent], minlength=n).astype(np.int32)
    # Fill the columns on the host: no compilation per set of column lengths. Each
    # array goes to the device as soon as it is final (a transfer copies it).
    nbr = np.asarray(senders)
    head = _fill_head(nbr, first_sorted, deg_sorted, starts, filled, n)
    if absent.size:  # absent slots read the sentinel: patch their head entries
        row = r[absent]
        col = absent - first[row]
        inside = col < n_cols
        head[starts[col[inside]] + inv[row[inside]]] = n
        del row, col, inside
    head = jax.device_put(head)
    # Tail: slots of rows with more than n_cols slots, beyond column n_cols.
    extra = np.maximum(deg_sorted - n_cols, 0)
    n_tail = int(extra.sum())
    if n_tail:
        n_hubs = int(np.count_nonzero(extra))
        tail_pos = np.repeat(np.arange(n_hubs, dtype=np.int32), extra[:n_hubs])
        hub_start = np.zeros(n_hubs, np.int32)
        np.cumsum(extra[: n_hubs - 1], out=hub_start[1:])
        within = np.arange(n_tail, dtype=np.int32) - hub_start[tail_pos]
        tail_slot = first_sorted[tail_pos] + n_cols + within
        tail_nbr = nbr[tail_slot]
        if absent.size:
            tail_nbr[~np.asarray(edge_mask)[tail_slot]] = n
    else:
        tail_pos = tail_slot = tail_nbr = np.zeros(0, np.int32)
    put = jax.device_put  # int32 already: a plain transfer, no conversion program
    return NeighborLayout(
        put(order),
        put(inv),
        put(first_sorted),
        put(_host.aligned(degree, np.int32)),
        head,
        put(tail_nbr.astype(np.int32)),
        put(tail_pos.astype(np.int32)),
        put(tail_slot.astype(np.int32)),
        lengths,
        n,
        e,
        True,
    )


def _row_bounds(r: np.ndarray, n: int) -> np.ndarray:
    """Row starts of sorted receivers `r` (length n + 1), from the runs' ends: O(E)."""
    e = r.shape[0]
    bounds = np.full(n + 1, e, np.int32)
    if e:
        starts = np.flatnonzero(r[1:] != r[:-1]) + 1
        bounds[r[starts]] = starts
        bounds[r[0]] = 0
        # rows without slots start where the next row with slots does
        bounds[: r[0]] = 0
        np.minimum.accumulate(bounds[::-1], out=bounds[::-1])
    return bounds


def _fill_head(nbr, first_sorted, deg_sorted, starts, filled, n: int) -> np.ndarray:
    """The jagged-diagonal columns, filled one degree class at a time.

    Rows are sorted by degree, so the rows of one degree d (J for every d >= J) are one
    run of sorted positions: their first min(d, J) slots are gathered row by row
    (contiguous in `nbr`, so about one cache line per row where a column-by-column gather
    misses once per entry) and written into each column's run. `starts`: where each
    column begins (length J + 1); `filled[c]`: rows with more than c slots, the rest of
    column c is padding and holds `n`. The sorted rows are cut into parts of about
    equal entries, one per host thread (the calling thread fills the first).
    """
    n_cols = len(starts) - 1
    head = _host.empty(int(starts[-1]), np.int32)  # aligned: the transfer is a view
    if n_cols == 0:
        return head
    for c in range(n_cols):  # the padding at the end of each column
        head[starts[c] + int(filled[c]) : starts[c + 1]] = n
    d = np.minimum(deg_sorted, n_cols)
    # runs of equal (capped) degree along the sorted rows: [run_start, run_end)
    cut = np.flatnonzero(d[1:] != d[:-1]) + 1
    runs = list(
        zip(
            np.concatenate([[0], cut]).tolist(),
            np.concatenate([cut, [d.shape[0]]]).tolist(),
            strict=True,
        )
    )

    def fill(lo: int, hi: int) -> None:  # the rows [lo, hi) of the sorted order
        for a, b in runs:
            a, b = max(a, lo), min(b, hi)
            if a >= b:
                continue
            width = int(d[a])
            if width == 0:
                break  # degrees are non-increasing: only empty rows follow
            # each row's first `width` slots (all its own: width <= its slot count) as
            # one contiguous read, a window view indexed by rows: half the time of a 2-D
            # fancy index, which builds every entry's index
            block = sliding_window_view(nbr, width)[first_sorted[a:b]]
            for c in range(width):
                head[starts[c] + a : starts[c] + b] = block[:, c]

    parts = min(_host.threads(), max(1, head.shape[0] // _host.MIN_PARALLEL))
    cuts = []
    if parts > 1:  # parts of about equal entries
        entries = np.cumsum(d, dtype=np.int64)
        cuts = np.searchsorted(entries, entries[-1] * np.arange(1, parts) // parts)
        cuts = cuts.tolist()
    _host.run_parts(fill, [0, *cuts, d.shape[0]])
    return head


# ------------------------------------------------------------------------ reductions

# f(nbr, slot, present) -> values; `present` is None when the sentinel alone marks the
# absent entries (no extra mask to read), else a bool array shaped like `nbr`.
EntryFn = Callable[[Array, Array, Array | None], Array]


def _extend(x: Array, fill) -> Array:
    """`x` with one row `fill` appended (the value the sentinel id `n` reads)."""
    pad = jnp.full((1,) + x.shape[1:], fill, x.dtype)
    return jnp.concatenate([x, pad])


def _take(x: Array, idx: Array) -> Array:
    return x.at[idx].get(mode="promise_in_bounds")


def reduce_neighbors(
    layout: NeighborLayout,
    entry: EntryFn,
    op: str,
    identity,
    *,
    mask: Array | None = None,
    need_slots: bool = False,
    rowvals=None,
) -> Array:
    """$y_p = \\bigoplus_{c}$ `entry(nbr, slot, present)` over row `p`'s entries.

    Returns the result in *node* order. `op` is "sum", "min", "max" or "or" (bool values,
    or unsigned integers with at most one bit set per entry); `identity` is
    its neutral value (what absent entries must contribute: `entry` makes sure of it).
    `mask` (a per-slot `bool[e]`, read only if the layout has not baked it) and slot ids
    are computed per entry only when needed. With `rowvals` (a pytree of per-node arrays),
    `entry` gets a fourth argument: those values of each entry's row.
    """
    n = layout.n_nodes
    e = layout.n_slots
    combine = {
        "sum": jnp.add,
        "min": jnp.minimum,
        "max": jnp.maximum,
        "or": jnp.bitwise_or,
    }[op]
    mask_ext = None if mask is None else _extend(mask, False)
    want_slots = need_slots or mask_ext is not None
    rv_sorted = None
    if rowvals is not None:
        rv_sorted = jax.tree.map(lambda v: _take(v, layout.order), rowvals)

    def call(nbr, slot, present, rows):
        if rv_sorted is None:
            return entry(nbr, slot, present)
        if isinstance(rows, int):
            rv = jax.tree.map(lambda v: v[:rows], rv_sorted)
        else:
            rv = jax.tree.map(lambda v: _take(v, rows), rv_sorted)
        return entry(nbr, slot, present, rv)

    offsets = layout.starts.tolist()

    def present_of(nbr, slot):
        if mask_ext is None:
            return None
        return (nbr < n) & _take(mask_ext, slot)

    acc = None
    for c in reversed(range(layout.n_columns)):
        length = layout.lengths[c]
        if length == 0:
            continue
        nbr = layout.head[offsets[c] : offsets[c + 1]]
        slot = None
        if want_slots:
            # Padding entries may point past the row (guarded by nbr == n); clamp to e.
            slot = jnp.minimum(layout.first[:length] + c, e)
        vals = call(nbr, slot, present_of(nbr, slot), length)
        if acc is None:
            acc = vals
        else:
            grow = length - acc.shape[0]
            if grow:
                acc = jnp.concatenate(
                    [acc, jnp.full((grow,) + acc.shape[1:], identity, acc.dtype)]
                )
            acc = combine(acc, vals)
        if c % _FUSE == _FUSE - 1:
            # Cut the chain into fusions of a few columns: XLA's compile time grows
            # faster than linearly with the length of one fused chain.
            acc = lax.optimization_barrier(acc)
    if acc is None:
        return None  # type: ignore[return-value]  # caller handles the empty graph
    if acc.shape[0] < n:
        acc = jnp.concatenate(
            [acc, jnp.full((n - acc.shape[0],) + acc.shape[1:], identity, acc.dtype)]
        )
    if layout.tail_nbr.shape[0]:
        nbr = layout.tail_nbr
        slot = layout.tail_slot
        vals = call(nbr, slot, present_of(nbr, slot), layout.tail_pos)
        pos = layout.tail_pos
        n_hub_rows = layout.lengths[-1]  # every tail row is among these positions
        part = segment_reduce(vals, pos, n_hub_rows, op)
        if n_hub_rows < n:
            part = jnp.concatenate(
                [
                    part,
                    jnp.full((n - n_hub_rows,) + part.shape[1:], identity, part.dtype),
                ]
            )
        acc = combine(acc, part.astype(acc.dtype))
    return _take(acc, layout.inv)


def truncated(layout: NeighborLayout, n_columns: int) -> NeighborLayout:
    """The sub-layout of the first `n_columns` neighbours of every node (no tail): a
    sample of the edges, e.g. for the cheap first rounds of connected components."""
    k = min(n_columns, layout.n_columns)
    size = sum(layout.lengths[:k])
    empty = jnp.zeros((0,), jnp.int32)
    return NeighborLayout(
        layout.order,
        layout.inv,
        layout.first,
        layout.degree,
        layout.head[:size],
        empty,
        empty,
        empty,
        layout.lengths[:k],
        layout.n_nodes,
        layout.n_slots,
        layout.mask_baked,
    )


def bake_mask(layout: NeighborLayout, keep: Array) -> NeighborLayout:
    """The layout with every entry whose slot has `keep[slot]` False replaced by the
    sentinel, and marked baked: a sub-graph (e.g. Fortuin–Kasteleyn bonds) whose later
    reductions read no per-slot mask. One gather per entry (`_map_entries`); same
    shapes.

    `keep` is `bool[e]` and must already include the graph's own mask if the layout is
    not baked (`mask_baked` False): the result is baked for the mask `keep`.
    """
    n = layout.n_nodes
    e = layout.n_slots
    keep_ext = _extend(keep, False)

    def chunk(nbr, rows, cols):
        # Padding entries may point past the row (guarded by the sentinel); clamp to e.
        slot = jnp.minimum(_take(layout.first, rows) + cols, e)
        return jnp.where(_take(keep_ext, slot), nbr, n)

    head = _map_entries(layout, chunk)
    tail = jnp.where(_take(keep_ext, layout.tail_slot), layout.tail_nbr, n)
    return NeighborLayout(
        layout.order,
        layout.inv,
        layout.first,
        layout.degree,
        head.astype(jnp.int32),
        tail.astype(jnp.int32),
        layout.tail_pos,
        layout.tail_slot,
        layout.lengths,
        layout.n_nodes,
        layout.n_slots,
        True,
    )


_MAP_CHUNK = 1 << 20  # head entries per step of `_map_entries`


def _map_entries(layout: NeighborLayout, fn: Callable) -> Array:
    """A new head: `fn(nbr, rows, cols)` over the old one's entries, chunk by chunk.

    `rows` and `cols` are each entry's sorted row position and column. The chunks run in
    a `fori_loop` and are written in place, so the temporaries are one chunk's: built
    column by column and joined, or over the whole head at once, XLA kept every gathered
    column alive beside the result (4.25 more bytes per slot, `memory_analysis`).
    """
    head = layout.head
    h = head.shape[0]
    if h == 0:
        return head
    size = min(_MAP_CHUNK, h)
    inner = jnp.asarray(layout.starts[1:-1], jnp.int32)  # where columns 1.. begin
    col_start = jnp.asarray(layout.starts[:-1], jnp.int32)

    def step(k, out):
        start = jnp.minimum(k * size, h - size)  # the last chunk overlaps: same values
        nbr = lax.dynamic_slice(head, (start,), (size,))
        q = start + jnp.arange(size, dtype=jnp.int32)
        cols = jnp.searchsorted(inner, q, side="right", method="compare_all").astype(
            jnp.int32
        )
        rows = q - _take(col_start, cols)
        new = fn(nbr, rows, cols).astype(out.dtype)
        return lax.dynamic_update_slice(out, new, (start,))

    return lax.fori_loop(0, -(-h // size), step, jnp.zeros_like(head))


def segment_reduce(vals: Array, seg_ids: Array, n: int, op: str) -> Array:
    """Sorted segment reduction; "or" of integers as one segment-max per bit."""
    if op == "or" and vals.dtype != jnp.bool_:
        # No scatter-or in XLA. Entries of an integer "or" carry at most one bit each (a
        # documented restriction): scatter those bits into an (n, bits) table, then pack.
        width = 8 * vals.dtype.itemsize
        one = jnp.ones((), vals.dtype)
        has = vals != 0
        bit = lax.population_count(vals - one).astype(jnp.int32)  # index of the bit
        flat = jnp.where(has, seg_ids * width + bit, n * width)
        table = jnp.zeros(n * width + 1, bool).at[flat].set(True, mode="drop")
        table = table[: n * width].reshape(n, width)
        weights = one << jnp.arange(width, dtype=vals.dtype)
        return jnp.sum(
            jnp.where(table, weights, jnp.zeros((), vals.dtype)),
            axis=1,
            dtype=vals.dtype,
        )
    seg = {
        "sum": jax.ops.segment_sum,
        "min": jax.ops.segment_min,
        "max": jax.ops.segment_max,
        "or": jax.ops.segment_max,
    }[op]
    return seg(vals, seg_ids, n, indices_are_sorted=True)


def neighbor_reduce(
    graph, entry: Callable, op: str, identity, *, rowvals=None, need_slots: bool = False
) -> Array:
    """`reduce_neighbors` on `graph.layout` if it has one, else over the sorted slots.

    `entry(nbr, slot, present[, rowvals])` must return `identity` where `present` is
    False; on the segment path `present` is the graph's mask (or None) and `nbr` the
    senders (never the sentinel). Returns per-node values in node order.
    """
    n = graph.n_nodes
    if graph.layout is not None:
        mask = graph.edge_mask if not graph.layout.mask_baked else None
        out = reduce_neighbors(
            graph.layout,
            entry,
            op,
            identity,
            mask=mask,
            need_slots=need_slots,
            rowvals=rowvals,
        )
        if out is not None:
            return out
    e = graph.senders.shape[0]
    slot = jnp.arange(e, dtype=jnp.int32) if need_slots else None
    args = (graph.senders, slot, graph.edge_mask)
    if rowvals is not None:
        args = args + (jax.tree.map(lambda v: _take(v, graph.receivers), rowvals),)
    vals = entry(*args)
    out = segment_reduce(vals, graph.receivers, n, op)
    if op in ("min", "max"):
        # Nodes without slots get the dtype's extreme from XLA: use `identity`.
        has = jax.ops.segment_max(
            jnp.ones((e,), bool), graph.receivers, n, indices_are_sorted=True
        )
        has = has.reshape(has.shape + (1,) * (out.ndim - 1))
        out = jnp.where(has, out, jnp.full((), identity, out.dtype))
    return out


def slot_values(values: Array, fill) -> Array:
    """Per-slot values with one `fill` appended, for reading at the sentinel slot `e`."""
    return _extend(values, fill)


def auto_wants_layout(n_slots: int) -> bool:
    """The default choice (measured on the 2-core CPU, see benchmarks/RESULTS.md)."""
    return n_slots >= AUTO_MIN_SLOTS


def bytes_per_slot(layout: NeighborLayout) -> float:
    """The layout's own memory per slot."""
    return layout.nbytes() / max(layout.n_slots, 1)
