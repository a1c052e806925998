r"""The class-by-class gather layout of a heat-bath sweep, and its counting kernel.

Nodes are renumbered so that every colour class is a contiguous block of internal ids and,
inside a block, rows are sorted by slot count (largest first). For class $c$ (rows
`n0 .. n1`) the neighbours are stored as jagged diagonals: column $j < J$ holds the
$j$-th neighbour (internal id) of the first $L_j$ rows of the class, $L_j$ the number of
its rows with more than $j$ slots; the slots of the hubs beyond column $J$ form a short
COO tail (class-local row, neighbour, slot). Absent (masked) slots hold the sentinel id
`n`, which reads the sentinel state `q` (a state no node has). Entry $(p, j)$ of the
head is slot `first[p] + j` of the renumbered graph (for per-slot couplings).

Counting the neighbours of each state is then one gather of an int8 spin per entry, and,
for unit couplings, one shift and one add: each entry adds $1 \ll 8s$ to a 32-bit word
that holds four 8-bit counters (four states per word, $\lceil (q + 1)/4 \rceil$ words;
at most $J \le 255$ head entries per row, so no counter overflows). The columns of a
class fuse into one loop (no scatter), whose result is in class order already (no
permutation back). Memory: 4 bytes per head entry, 12 per tail entry, 4 per node.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._custom_types import Array, Int

#: Jagged-diagonal columns per class before the COO tail (<= 255: 8-bit counters).
MAX_COLUMNS = 32


class ClassLayout(eqx.Module):
    """Per colour class: jagged-diagonal columns plus a COO tail (see the module doc).

    Attributes:
      first: `int32[n]`, the first slot of each internal row in the renumbered graph.
      head: `int32[h]`, all columns of all classes one after another (class by class,
        column by column); the sentinel `n` where a slot is absent.
      tail_nbr, tail_row, tail_slot: `int32[t]`, the hubs' slots beyond column `J`:
        neighbour, row inside its class (non-decreasing per class), slot.
      lengths: static, per class the column lengths (non-increasing).
      head_offsets: static, per class the start of its first column in `head`.
      tail_offsets: static, `num_colours + 1` class boundaries in the tail arrays.
    """

    first: Int[Array, " n"]
    head: Int[Array, " h"]
    tail_nbr: Int[Array, " t"]
    tail_row: Int[Array, " t"]
    tail_slot: Int[Array, " t"]
    lengths: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    head_offsets: tuple[int, ...] = eqx.field(static=True)
    tail_offsets: tuple[int, ...] = eqx.field(static=True)

    def nbytes(self) -> int:
        return sum(
            int(a.size) * a.dtype.itemsize
            for a in (
                self.first,
                self.head,
                self.tail_nbr,
                self.tail_row,
                self.tail_slot,
            )
        )


def build_class_layout(
    new_senders: np.ndarray,
    present: np.ndarray | None,
    first: np.ndarray,
    counts: np.ndarray,
    node_offsets: tuple[int, ...],
    *,
    max_columns: int = MAX_COLUMNS,
) -> ClassLayout:
    """Host (NumPy) construction, O(n + E).

    Args:
      new_senders: internal sender id of every slot of the renumbered graph.
      present: `bool[e]` (or None): slots that are present.
      first, counts: per internal row, its first slot and its number of slots
        (non-increasing inside each class).
      node_offsets: class boundaries in the internal numbering.
    """
    n = int(first.shape[0])
    e = int(new_senders.shape[0])
    nbr = np.asarray(new_senders, np.int32).copy()
    if present is not None:
        nbr[~present] = n
    first = first.astype(np.int64)
    counts = counts.astype(np.int64)
    cols, lengths, head_off = [], [], []
    tail_nbr, tail_row, tail_slot, tail_off = [], [], [], [0]
    h = 0
    for c in range(len(node_offsets) - 1):
        n0, n1 = node_offsets[c], node_offsets[c + 1]
        cnt = counts[n0:n1]
        f0 = first[n0:n1]
        dmax = int(cnt[0]) if n1 > n0 else 0
        n_cols = min(dmax, max_columns)
        # rows with more than j slots (cnt is non-increasing)
        lens = tuple(int(np.count_nonzero(cnt > j)) for j in range(n_cols))
        head_off.append(h)
        for j, length in enumerate(lens):
            cols.append(nbr[f0[:length] + j])
            h += length
        lengths.append(lens)
        extra = np.maximum(cnt - n_cols, 0)
        n_t = int(extra.sum())
        if n_t:
            n_hubs = int(np.count_nonzero(extra))
            rows = np.repeat(np.arange(n_hubs), extra[:n_hubs])
            starts = np.zeros(n_hubs, np.int64)
            np.cumsum(extra[: n_hubs - 1], out=starts[1:])
            within = np.arange(n_t) - starts[rows]
            slots = f0[rows] + n_cols + within
            tail_nbr.append(nbr[slots])
            tail_row.append(rows)
            tail_slot.append(slots)
        tail_off.append(tail_off[-1] + n_t)

    def cat(xs):
        return np.concatenate(xs).astype(np.int32) if xs else np.zeros(0, np.int32)

    del e
    return ClassLayout(
        jnp.asarray(first, jnp.int32),
        jnp.asarray(cat(cols)),
        jnp.asarray(cat(tail_nbr)),
        jnp.asarray(cat(tail_row)),
        jnp.asarray(cat(tail_slot)),
        tuple(lengths),
        tuple(head_off),
        tuple(tail_off),
    )


def _take(x: Array, idx: Array) -> Array:
    return x.at[idx].get(mode="promise_in_bounds")


def _grow(acc: Array, length: int) -> Array:
    """`acc` padded with zero rows to `length` rows."""
    grow = length - acc.shape[0]
    if grow <= 0:
        return acc
    return jnp.concatenate([acc, jnp.zeros((grow,) + acc.shape[1:], acc.dtype)])


def _column_starts(lay: ClassLayout, c: int) -> list[int]:
    """Where each jagged-diagonal column of class `c` starts in `lay.head` (and ends)."""
    starts = [lay.head_offsets[c]]
    for length in lay.lengths[c]:
        starts.append(starts[-1] + length)
    return starts


def _tail_counts(lay, c, s_ext, q, slot_j_ext, dtype) -> Array | None:
    """The hubs' slots beyond the last column: `(n_hubs, q)` sums (one short sorted
    segment sum), or `None` when class `c` has no tail."""
    t0, t1 = lay.tail_offsets[c], lay.tail_offsets[c + 1]
    if t1 == t0:
        return None
    nb = _take(s_ext, lay.tail_nbr[t0:t1])
    hit = nb[:, None] == jnp.arange(q, dtype=s_ext.dtype)[None, :]
    if slot_j_ext is None:
        vals = hit.astype(dtype)
    else:
        w = _take(slot_j_ext, lay.tail_slot[t0:t1]).astype(dtype)
        vals = jnp.where(hit, w[:, None], jnp.zeros((), dtype))
    n_hubs = lay.lengths[c][-1]
    return jax.ops.segment_sum(
        vals, lay.tail_row[t0:t1], n_hubs, indices_are_sorted=True
    )


#: Up to this many states the counts are kept as one 1-D array per state, so that the
#: gathers, the counting and the draw of a class fuse into one loop over its rows (an
#: `(n, q)` array would make XLA recompute each row's gathers once per state).
LIST_STATES = 16


#: Above this many states the counts of a column are one 2-D operation
#: (`_class_counts_wide`) instead of one operation per word or state: the program then
#: no longer grows with q (the first heat-bath run on 2000 nodes compiled in 38 s at
#: q = 64 and 131 s at q = 256), but a sweep runs 1.8-2.9x slower that way
#: (`python -m benchmarks.bench_potts --many-states`, ER 2·10^5 nodes: at q = 128 the
#: first call took 10 s instead of 62 s, and 0.53 s instead of 0.19 s a sweep, so the
#: compile it saves pays for about 150 sweeps). The per-state form is kept up to 64,
#: where its compile stays under a minute; above it the compile no longer grows with q.
WIDE_STATES = 64


#: Chains packed into one int32 word (one byte each) by the batched sweep.
PER_WORD = 4


def class_counts(
    lay: ClassLayout,
    c: int,
    n0: int,
    n1: int,
    s_ext: Array,
    q: int,
    slot_j_ext: Array | None,
    dtype,
) -> list[Array] | Array:
    r"""$\sum_{j \sim i} J_{ij}\,\delta(s_j, s)$ for the rows `n0 .. n1` of class `c`.

    `s_ext` holds the spins in internal order with the sentinel state `q` appended
    (index `n`); `slot_j_ext` the per-slot couplings with a 0 appended (index `e`), or
    `None` for unit couplings on present slots. Returns, as `dtype`, a list of `q`
    arrays `(n1 - n0,)` (one per state) for `q <= LIST_STATES`, else one `(n1 - n0, q)`
    array. One gather per entry, no scatter (the
    tail: one short sorted segment sum).
    """
    if q > WIDE_STATES:
        return _class_counts_wide(lay, c, n0, n1, s_ext, q, slot_j_ext, dtype)
    nc = n1 - n0
    lens = lay.lengths[c]
    starts = _column_starts(lay, c)
    e_sentinel = None if slot_j_ext is None else slot_j_ext.shape[0] - 1
    as_list = q <= LIST_STATES
    n_words = (q + 1 + 3) // 4  # 8-bit counters, the sentinel state q included
    packed = slot_j_ext is None
    # Accumulators: packed words (unit couplings) or one float per state.
    width = n_words if packed else q

    def entry_vals(nbr, slot) -> list[Array]:
        nb = _take(s_ext, nbr)
        if packed:
            nb32 = nb.astype(jnp.int32)
            if n_words == 1:
                return [jnp.left_shift(jnp.int32(1), 8 * nb32)]
            word = nb32 >> 2
            bit = jnp.left_shift(jnp.int32(1), 8 * (nb32 & 3))
            return [jnp.where(word == w, bit, 0) for w in range(n_words)]
        w = _take(slot_j_ext, slot).astype(dtype)
        zero = jnp.zeros((), dtype)
        return [jnp.where(nb == t, w, zero) for t in range(q)]

    acc: list[Array] | None = None
    for j in reversed(range(len(lens))):
        length = lens[j]
        if length == 0:
            continue
        nbr = lay.head[starts[j] : starts[j + 1]]
        slot = None
        if not packed:
            slot = jnp.minimum(lay.first[n0 : n0 + length] + j, e_sentinel)
        vals = entry_vals(nbr, slot)
        if acc is None:
            acc = vals
        else:
            acc = [_grow(a, length) + v for a, v in zip(acc, vals)]
    acc_dtype = jnp.int32 if packed else dtype
    if acc is None:
        acc = [jnp.zeros((nc,), acc_dtype) for _ in range(width)]
    acc = [_grow(a, nc) for a in acc]
    if not as_list:
        # Materialise the accumulators once before they are spread over states.
        acc = list(lax.optimization_barrier(tuple(acc)))
    if packed:
        counts = [
            ((acc[t // 4] >> (8 * (t % 4))) & 255).astype(dtype) for t in range(q)
        ]
    else:
        counts = acc
    part = _tail_counts(lay, c, s_ext, q, slot_j_ext, dtype)
    if part is not None:
        counts = [a + _grow(part[:, t], nc) for t, a in enumerate(counts)]
    return counts if as_list else jnp.stack(counts, axis=1)


def _class_counts_wide(
    lay: ClassLayout,
    c: int,
    n0: int,
    n1: int,
    s_ext: Array,
    q: int,
    slot_j_ext: Array | None,
    dtype,
) -> Array:
    """`class_counts` for `q > WIDE_STATES`, as one `(n1 - n0, q)` array: each column
    is one 2-D (rows x words, or rows x states) operation, so the program's size does
    not grow with `q` (one op per state and column took the first heat-bath sweep's
    compile from 8 s at q = 3 to 131 s at q = 256 on a 2000-node graph). Each column's
    gathered spins are materialised first (`optimization_barrier`), so that XLA does
    not gather once per state. The same sums, in the same order, as the list form."""
    nc = n1 - n0
    lens = lay.lengths[c]
    starts = _column_starts(lay, c)
    packed = slot_j_ext is None
    n_words = (q + 1 + 3) // 4  # 8-bit counters, the sentinel state q included
    if packed:
        lanes = jnp.arange(n_words, dtype=jnp.int32)[None, :]
    else:
        states = jnp.arange(q, dtype=jnp.int32)[None, :]
        e_sentinel = slot_j_ext.shape[0] - 1
    acc = None
    for j in reversed(range(len(lens))):
        length = lens[j]
        if length == 0:
            continue
        nb = _take(s_ext, lay.head[starts[j] : starts[j + 1]]).astype(jnp.int32)
        nb = lax.optimization_barrier(nb)[:, None]
        if packed:
            bit = jnp.left_shift(jnp.int32(1), 8 * (nb & 3))
            vals = jnp.where((nb >> 2) == lanes, bit, 0)
        else:
            slot = jnp.minimum(lay.first[n0 : n0 + length] + j, e_sentinel)
            w = _take(slot_j_ext, slot).astype(dtype)[:, None]
            vals = jnp.where(nb == states, w, jnp.zeros((), dtype))
        acc = vals if acc is None else _grow(acc, length) + vals
    width = n_words if packed else q
    if acc is None:
        acc = jnp.zeros((nc, width), jnp.int32 if packed else dtype)
    acc = lax.optimization_barrier(_grow(acc, nc))
    if packed:
        t = np.arange(q, dtype=np.int32)
        counts = ((acc[:, t // 4] >> (8 * (t % 4))) & 255).astype(dtype)
    else:
        counts = acc
    part = _tail_counts(lay, c, s_ext, q, slot_j_ext, dtype)
    return counts if part is None else counts + _grow(part, nc)


#: Largest q for the one-hot words of the batched sweep (bits 0..q in a byte).
ONEHOT_MAX_Q = 7
_LOW_BITS = 0x01010101


def class_counts_onehot(
    lay: ClassLayout, c: int, n0: int, n1: int, w_ext: Array, q: int, dtype
) -> list[list[Array]]:
    r"""Neighbour-state counts of `PER_WORD` chains at once, unit couplings.

    `w_ext` is `int32[n + 1]`: byte `r` of a node's word is the one-hot state
    $1 \ll s_r$ of chain `r` (the sentinel word holds $1 \ll q$ in every byte). The
    counts of state `t` for all 4 chains are then one shift, one mask and one add per
    entry: `acc_t += (w >> t) & 0x01010101` (byte r counts chain r; at most 255 head
    entries per row). Returns `[r][t]` arrays `(n1 - n0,)` as `dtype`.
    """
    nc = n1 - n0
    lens = lay.lengths[c]
    starts = _column_starts(lay, c)
    low = jnp.int32(_LOW_BITS)
    acc: list[Array] | None = None
    for j in reversed(range(len(lens))):
        length = lens[j]
        if length == 0:
            continue
        w = _take(w_ext, lay.head[starts[j] : starts[j + 1]])
        vals = [(w >> t) & low for t in range(q)]
        acc = vals if acc is None else [_grow(a, length) + v for a, v in zip(acc, vals)]
    if acc is None:
        acc = [jnp.zeros((nc,), jnp.int32) for _ in range(q)]
    acc = [_grow(a, nc) for a in acc]
    out = [
        [((acc[t] >> (8 * r)) & 255).astype(dtype) for t in range(q)]
        for r in range(PER_WORD)
    ]
    t0, t1 = lay.tail_offsets[c], lay.tail_offsets[c + 1]
    if t1 > t0:
        w = _take(w_ext, lay.tail_nbr[t0:t1])
        shifts = (
            8 * jnp.arange(PER_WORD, dtype=jnp.int32)[:, None]
            + jnp.arange(q, dtype=jnp.int32)[None, :]
        )
        bits = ((w[:, None, None] >> shifts) & 1).astype(dtype)  # (t, 4, q)
        n_hubs = lens[-1]
        part = jax.ops.segment_sum(
            bits, lay.tail_row[t0:t1], n_hubs, indices_are_sorted=True
        )
        out = [
            [a + _grow(part[:, r, t], nc) for t, a in enumerate(row)]
            for r, row in enumerate(out)
        ]
    return out
