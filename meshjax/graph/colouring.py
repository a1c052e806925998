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
from ._layout import _extend, _take, neighbor_reduce, segment_reduce
from .ops import with_layout


def colouring(key: Any, graph: Graph) -> Int[Array, " n"]:
    r"""A proper colouring with at most $\Delta + 1$ colours (parallel greedy).

    The result is the sequential greedy colouring, $c_i = \operatorname{mex}\{c_j : j
    \sim i,\ j \text{ before } i\}$, in this order of the nodes (largest degree first,
    as in Jones–Plassmann–LDF):

    1. the *block* of $i$: its rank in the order of slot counts, largest first (ties by
       id; the gather layout's row order), divided by $B = 2^{15}$ — earlier blocks first;
    2. then the bit length of its degree, larger first;
    3. then a random number drawn from `key`, then the id.

    With a gather layout (`meshjax.graph.with_layout`, built here if the graph has none,
    is concrete and big enough) the blocks are coloured one after another. Every node of
    a block reads its neighbours once: those of earlier blocks are final, those of later
    ones come after it and do not count; only the edges inside the block (about $B/n$ of
    a row's: 3% at $n = 10^6$) need further sweeps, and those sweeps read only the
    columns that hold such edges, until nothing changes (the fixed point of the block's
    equations is unique, so this is the greedy colouring exactly). The colour sets are
    32-bit windows: a block whose window fills (32 colours taken above a node), or that
    holds hubs with slots in the layout's tail, sweeps all of its rows' entries with a
    window moved up per row. One compiled program; O(n + E) time: one read of every
    slot, then a few sweeps of each block's own edges (masked reads of the columns that
    hold them); memory beside the graph: a few words per node and per block row (no
    copy of the slots).

    Without a layout (small or traced graphs) the edges are oriented towards the earlier
    node once (a DAG) and every node recomputes its mex from all its higher neighbours
    until nothing changes: the same colouring, O(E) per pass, as many passes as the
    longest path in the DAG. Both ways are proper (each node differs from every earlier
    neighbour) with at most $\Delta + 1$ colours (the mex of $k$ values is at most $k$);
    8 colours on ER graphs with $\langle k \rangle = 10$ (igraph's greedy: 8).

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
    key = as_key(key)
    if graph.layout is None:
        graph = with_layout(graph, policy="auto")
    if graph.layout is not None:
        return _block_greedy(key, graph, _BLOCK, True)
    return _fixed_point(_priority_dag(key, graph, _BLOCK))


_WINDOW = 32
#: Rows per block of the colouring order (measured at n = 10^6 and 10^7 on ER graphs:
#: 2^15 fastest of 2^14 … 2^18 at both; bigger blocks have more edges inside, smaller
#: ones more loop overhead).
_BLOCK = 1 << 15


def _within_block_key(key, g: Graph) -> Array:
    """Step 2 and 3 of the order (`colouring`), as one word: larger goes first."""
    deg = g.degrees().astype(jnp.uint32)
    log_deg = jnp.uint32(32) - lax.clz(deg)
    return (log_deg << 26) | (jr.bits(key, (g.n_nodes,), jnp.uint32) >> 6)


def _goes_before(blk_j, key_j, j, blk_i, key_i, i):
    """Whether node j comes before node i in the colouring order."""
    same = blk_j == blk_i
    return (blk_j < blk_i) | (same & ((key_j > key_i) | ((key_j == key_i) & (j > i))))


@functools.partial(jax.jit, static_argnums=(2, 3))
def _block_greedy(key, g: Graph, block: int, packed: bool) -> Int[Array, " n"]:
    """The greedy colouring block by block on the gather layout (`colouring`).

    `packed`: keep each node's block and colour in one word (one gather per entry) when
    they fit in 32 bits (the colour needs the bit length of the largest slot count,
    bounded by the columns plus the tail); otherwise (or `False`) two arrays.
    """
    lay = g.layout
    n, e = lay.n_nodes, lay.n_slots
    if lay.head.shape[0] == 0 and lay.tail_nbr.shape[0] == 0:
        return jnp.zeros(n, jnp.int32)  # no entries: no constraint
    size = min(block, n)
    n_blocks = -(-n // size)
    n_tail = lay.tail_nbr.shape[0]
    n_cols = lay.n_columns
    cbits = max(1, (n_cols + n_tail).bit_length())  # a colour <= a row's slot count
    packed = packed and (n_blocks - 1).bit_length() + cbits <= 32
    cmask = jnp.uint32((1 << cbits) - 1)
    prio = _within_block_key(key, g)
    prio_ext = _extend(prio, 0)
    blk = (lay.inv // size).astype(jnp.uint32)
    # state (node order): the block in the high bits and the colour (0 until coloured)
    if packed:
        state, blk_ext = blk << cbits, None
    else:
        state, blk_ext = jnp.zeros(n, jnp.uint32), _extend(blk, 0)
    mask_ext = None
    if g.edge_mask is not None and not lay.mask_baked:
        mask_ext = _extend(g.edge_mask, False)
    starts = jnp.asarray(lay.starts[:-1], jnp.int32)
    lengths = jnp.asarray(lay.lengths, jnp.int32)
    n_head = lay.head.shape[0]
    n_hub_rows = lay.lengths[-1] if n_tail else 0  # the rows with tail slots
    tail_bounds = None
    if n_tail:
        edges = jnp.arange(n_blocks + 1, dtype=jnp.int32) * size
        tail_bounds = jnp.searchsorted(lay.tail_pos, edges).astype(jnp.int32)
    zero = jnp.zeros((), jnp.uint32)
    one = jnp.ones((), jnp.uint32)
    full = jnp.asarray(0xFFFFFFFF, jnp.uint32)
    z = jnp.zeros(size, jnp.uint32)
    base0 = jnp.zeros(size, jnp.int32)

    def colour_of(st):
        return ((st & cmask) if packed else st).astype(jnp.int32)

    def mex(base, bits):
        free = ~bits
        return base + lax.population_count((free & (~free + one)) - one).astype(
            jnp.int32
        )

    def bit(col, ok, base):
        col = col - base
        inside = ok & (col >= 0) & (col < _WINDOW)
        return jnp.where(inside, one << jnp.clip(col, 0, 31).astype(jnp.uint32), zero)

    def colour_block(b, state):
        lo = b * size
        pos = lo + jnp.arange(size, dtype=jnp.int32)
        rows = pos < n
        posc = jnp.minimum(pos, n - 1)
        ids = _take(lay.order, posc)
        my = _take(prio, ids)
        ub = b.astype(jnp.uint32)
        n_cols_b = jnp.sum(lengths > lo)  # the block's columns (a prefix)

        def head_entry(c, want=None):
            """Column c's neighbour of every row (n - 1 where none) and its presence."""
            length = lengths[c]
            valid = pos < length if want is None else (pos < length) & want
            idx = jnp.where(valid, starts[c] + jnp.minimum(pos, length - 1), 0)
            nbr = jnp.where(valid, _take(lay.head, jnp.minimum(idx, n_head - 1)), n)
            present = nbr < n
            if mask_ext is not None:
                slot = jnp.where(valid, _take(lay.first, posc) + c, e)
                present = present & _take(mask_ext, slot)
            return jnp.minimum(nbr, n - 1), present

        def classify(nbr, present, state, my, ids):
            """Each entry's colour, whether it comes first, whether in this block."""
            st = _take(state, nbr)
            bj = (st >> cbits) if packed else _take(blk_ext, nbr)
            same = bj == ub
            pj = _take(prio_ext, jnp.where(same, nbr, n))  # read only inside the block
            first = present & _goes_before(bj, pj, nbr, ub, my, ids)
            return colour_of(st), first, same

        # The loops below carry `state` through unchanged where they only read it, and
        # the sweeps carry the block's colours: else XLA copies all n words per sweep.
        def used(base, state):
            """Colours taken before each row, in the window [base, base + 32)."""

            def column(c, carry):
                acc, state = carry
                nbr, present = head_entry(c)
                col, first, _ = classify(nbr, present, state, my, ids)
                return acc | bit(col, first, base), state

            acc, state = lax.fori_loop(0, n_cols_b, column, (z, state))
            if n_tail:
                t0, t1 = tail_bounds[b], tail_bounds[b + 1]

                def window(w, carry):
                    acc, state = carry
                    q = t0 + w * size + jnp.arange(size, dtype=jnp.int32)
                    ok = q < t1
                    qc = jnp.minimum(q, n_tail - 1)
                    nbr = jnp.where(ok, _take(lay.tail_nbr, qc), n)
                    r = jnp.where(ok, _take(lay.tail_pos, qc) - lo, 0)
                    present = nbr < n
                    if mask_ext is not None:
                        present = present & _take(mask_ext, _take(lay.tail_slot, qc))
                    col, first, _ = classify(
                        jnp.minimum(nbr, n - 1),
                        present,
                        state,
                        _take(my, r),
                        _take(ids, r),
                    )
                    vals = bit(col, first, _take(base, r))
                    return acc | segment_reduce(vals, r, size, "or"), state

                acc, state = lax.fori_loop(
                    0, (t1 - t0 + size - 1) // size, window, (acc, state)
                )
            return acc, state

        def write(state, colours):
            val = colours.astype(jnp.uint32)
            if packed:
                val = val | (ub << cbits)
            return state.at[jnp.where(rows, ids, n)].set(val, mode="drop")

        # Sweep 1: the colours before each row from earlier blocks (final) and from this
        # one, and a mask of the columns that hold this block's earlier neighbours.
        def first_column(c, carry):
            outside, inside, cols, state = carry
            nbr, present = head_entry(c)
            col, first, same = classify(nbr, present, state, my, ids)
            outside = outside | bit(col, first & ~same, 0)
            inside = inside | bit(col, first & same, 0)
            cols = cols | jnp.where(first & same, one << c.astype(jnp.uint32), zero)
            return outside, inside, cols, state

        outside, inside, cols, state = lax.fori_loop(
            0, jnp.minimum(n_cols_b, 32), first_column, (z, z, z, state)
        )
        new = mex(base0, outside | inside)
        # Sweep all entries instead: a full window, the hubs' tail, more than 32 columns
        # (a colour from the truncated sets above is only a starting point then).
        slow = jnp.any(rows & ((outside | inside) == full)) | (n_cols_b > 32)
        if n_tail:
            slow = slow | (lo < n_hub_rows)
        changed = jnp.any(rows & (new != 0)) & ~slow
        state = write(state, new)

        def inside_sweep(s):
            """Rereads only the block's own earlier neighbours."""
            state, old, _, _, it = s

            def column(c, carry):
                acc, state = carry
                want = ((cols >> c.astype(jnp.uint32)) & one) != 0
                nbr, _ = head_entry(c, want)
                return acc | bit(colour_of(_take(state, nbr)), want, 0), state

            bits, state = lax.fori_loop(
                0, jnp.minimum(n_cols_b, 32), column, (z, state)
            )
            bits = outside | bits
            new = mex(base0, bits)
            changed = jnp.any(rows & (new != old))
            return (
                write(state, new),
                new,
                changed,
                jnp.any(rows & (bits == full)),
                it + 1,
            )

        def full_sweep(s):
            state, old, _, it = s
            bits, state = used(base0, state)

            def move_up(s2):  # rows with 32 colours taken: the next window
                base, bits, state = s2
                base = jnp.where(bits == full, base + _WINDOW, base)
                return (base,) + used(base, state)

            base, bits, state = lax.while_loop(
                lambda s2: jnp.any(rows & (s2[1] == full)),
                move_up,
                (base0, bits, state),
            )
            new = mex(base, bits)
            return write(state, new), new, jnp.any(rows & (new != old)), it + 1

        # The block's own DAG has at most `size` nodes on a path: the bounds only stop a
        # loop that could cycle if the order were ever inconsistent.
        state, new, _, slow, _ = lax.while_loop(
            lambda s: s[2] & ~s[3] & (s[4] <= size),
            inside_sweep,
            (state, new, changed, slow, 0),
        )
        state, *_ = lax.while_loop(
            lambda s: s[2] & (s[3] <= size), full_sweep, (state, new, slow, 0)
        )
        return state

    state = lax.fori_loop(0, n_blocks, colour_block, state)
    return colour_of(state)


@functools.partial(jax.jit, static_argnums=2)
def _priority_dag(key, g: Graph, block: int) -> Graph:
    """The graph with only the slots towards earlier nodes present (a DAG)."""
    n = g.n_nodes
    # the rank in the order of slot counts, largest first, ties by id (the layout's)
    counts = jnp.zeros(n, jnp.int32).at[g.receivers].add(1)
    order = jnp.argsort(-counts, stable=True)
    rank = jnp.zeros(n, jnp.int32).at[order].set(jnp.arange(n, dtype=jnp.int32))
    blk = rank // min(block, n)
    prio = _within_block_key(key, g)
    r, s = g.receivers, g.senders
    first = _goes_before(blk[s], prio[s], s, blk[r], prio[r], r)
    if g.edge_mask is not None:
        first = first & g.edge_mask
    return g.with_mask(first)


@jax.jit
def _fixed_point(dag: Graph) -> Int[Array, " n"]:
    """The unique fixed point of c_i = mex{c_j : j -> i in the DAG}, pass by pass."""
    n = dag.n_nodes
    zero = jnp.zeros((), jnp.uint32)
    one = jnp.ones((), jnp.uint32)
    full_set = jnp.asarray(0xFFFFFFFF, jnp.uint32)

    def mex(colour):
        colour_ext = jnp.concatenate([colour, jnp.full((1,), -1, jnp.int32)])

        def window(base):
            def used(nbr, slot, present, base):
                c = colour_ext.at[nbr].get(mode="promise_in_bounds") - base
                inside = (c >= 0) & (c < _WINDOW) & present
                return jnp.where(inside, one << c.astype(jnp.uint32), zero)

            return neighbor_reduce(dag, used, "or", 0, rowvals=base)

        def move_up(state):  # rows with 32 colours taken: the next window
            base, bits = state
            base = jnp.where(bits == full_set, base + _WINDOW, base)
            return base, window(base)

        base = jnp.zeros(n, jnp.int32)
        base, bits = lax.while_loop(
            lambda s: jnp.any(s[1] == full_set), move_up, (base, window(base))
        )
        free = ~bits
        low = free & (~free + one)  # the lowest free bit
        return base + lax.population_count(low - one).astype(jnp.int32)

    def body(state):
        colour, _, passes = state
        new = mex(colour)
        return new, jnp.any(new != colour), passes + 1

    # On a DAG the passes settle by pass n + 1 (a longest path has at most n nodes); the
    # bound only stops a loop that could cycle if the orientation were ever wrong.
    state = (jnp.zeros(n, jnp.int32), jnp.array(True), jnp.int32(0))
    colour, *_ = lax.while_loop(lambda s: s[1] & (s[2] <= n), body, state)
    return colour


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
