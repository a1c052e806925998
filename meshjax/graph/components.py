"""Connected components in parallel under `jit` (FastSV, with an Afforest finish)."""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._custom_types import Array, ArrayLike, Bool, Float, Int
from .._validate import check_array
from ._graph import Graph, check_symmetric_mask, masked
from ._layout import neighbor_reduce, truncated

_SAMPLE_COLUMNS = 2


def connected_components(
    graph: Graph, edge_mask: Bool[Array, " e"] | None = None
) -> Int[Array, " n"]:
    r"""Component labels: each node gets the smallest node id of its component.

    FastSV (Zhang, Azad & Hu, 2020): parent pointers $f$ start at $f_i = i$; each round
    does stochastic hooking $f_{f_u} \leftarrow \min(f_{f_u}, \min_{v \sim u} f_{f_v})$,
    aggressive hooking $f_u \leftarrow \min(f_u, \min_{v \sim u} f_{f_v})$ and
    shortcutting $f_u \leftarrow \min(f_u, f_{f_u})$, until the grandparents stop
    changing. Every step is a gather, a neighbour min (dense gathers on the graph's
    layout, else a sorted segment-min) or a scatter-min over all nodes at once: no host
    loop, O(n + E) memory, O(E) work per round and $O(\log n)$ rounds in practice (also on
    lattices, where plain label propagation needs $O(\text{diameter})$).

    With a layout, the rounds first run on every node's first two neighbours. Below
    `AFFOREST_MIN_NODES` nodes they converge there and then run on all edges. From it
    on, the Afforest scheme (Sutton, Ben-Nun & Barak, 2018) skips most of the edges: the
    sampled rounds stop once few rows are left outside the most frequent label, and only
    those rows read their edges (hooking roots by minimum until every edge joins equal
    roots), unless there are many of them (below the percolation threshold), when FastSV
    runs on all edges. An `edge_mask` that keeps at most `LIST_EDGES` (half) of the
    edges (bond percolation at p <= 1/2, Swendsen–Wang's bonds in the disordered
    phase) on such a graph is read as a compact list of those edges instead
    (`sparse_or`: union by minimum root, each round reading only them and the list
    shrinking as its pairs are joined; at n = 10^6, <k> = 10: 7-10x faster than
    FastSV up to `SPARSE_EDGES` of the edges, 2.5-3x from there to half). Every way
    the labels are exact and the same.

    Args:
      graph: The graph; its own `edge_mask` is honoured.
      edge_mask: Optional extra `bool[e]` mask (e.g. percolated bonds), combined with
        the graph's by logical and. Both slots of an edge must agree: a concrete mask
        is checked (as in `Graph.with_mask`; about 6 ms per $10^7$ slots, on the host
        while the labels are computed: at n = 10^6, <k> = 10 on the 2-core CPU the
        labels took 29-34 ms for bond percolation at p = 0.05 and about 5 ms more
        with the check, 57-67 ms and about 4 ms more with every edge kept); a traced
        one is not (no host sync), and one that disagrees gives labels that depend on
        the path taken (the edge list reads one slot per edge, FastSV both).

    Returns:
      `int32[n]` labels; `labels[i] == i` exactly for the smallest node of each component.

    Raises:
      ValueError: a concrete `edge_mask` of the wrong shape, or one that keeps one slot
        of an edge but not the other.
    """
    g = masked(graph, edge_mask, "edge_mask", check=False)
    afforest = g.n_nodes >= AFFOREST_MIN_NODES
    if edge_mask is None or g.layout is None or not afforest:
        labels = _fastsv(g, afforest=afforest)
    else:
        labels = _listed_or_fastsv(g)
    if edge_mask is not None:  # on the host while the labels are computed
        check_symmetric_mask("edge_mask", graph, g.edge_mask)
    return labels


@jax.jit
def _listed_or_fastsv(g: Graph) -> Int[Array, " n"]:
    return sparse_or(g, g.edge_mask, lambda g, _: _fastsv(g, afforest=True))


#: Graphs from this many nodes take the Afforest finish (below, its extra compile time,
#: about 0.8 s, outweighs what it saves: milliseconds).
AFFOREST_MIN_NODES = 1 << 16
#: A mask keeping at most this share of the edges is read as a list of them
#: (`sparse_or`), ...
SPARSE_EDGES = 1 / 8
#: ... and one keeping at most this share as a longer list (its rounds start on a
#: list this long, so a short one takes the first).
LIST_EDGES = 1 / 2


def sparse_or(graph: Graph, present, dense) -> Int[Array, " n"]:
    """Component labels of the slots `present` (`bool[e]`, both slots of an edge
    alike, the graph's own mask already in it): from a compact list of the present
    edges (`compact_edges`, `pair_components`) when they are at most `LIST_EDGES` of
    the edges (a list of `SPARSE_EDGES` · E/2 pairs when they fit it, else of
    `LIST_EDGES` · E/2), else `dense(graph, present)` (which must give the same labels).

    A mask near or below the percolation threshold (a tenth of the edges at <k> = 10)
    leaves many small components, for which FastSV reads every slot in each of its
    ~10 rounds; the list's rounds read only the present edges. At n = 10^6, <k> = 10,
    on the 2-core CPU: 27-36 ms instead of 0.19-0.34 s (bond percolation at
    p = 0.05-0.12). Above it, up to half the edges (p = 0.2-0.5), FastSV with the
    Afforest sample (whose two columns a mask thins) took 0.25-0.29 s, the longer list
    85-91 ms; at p = 0.8 FastSV 0.20 s, a list of every edge 0.16 s (not taken: with
    every edge kept FastSV takes 0.06 s).
    The list is at most `LIST_EDGES` · E/2 pairs, in memory 8 bytes each.

    Under `vmap` (replicas, sweeps) the batch takes the shortest list that every
    member's edges fit, else `dense` for all: a `lax.cond` on a batched predicate
    would run both.
    """
    n = graph.n_nodes
    short = max(int(graph.n_slots * SPARSE_EDGES / 2), 1)
    long = max(int(graph.n_slots * LIST_EDGES / 2), short)

    def listed(u, v):
        return pair_components(n, u, v)

    def from_long(graph, present):
        return listed(*compact_edges(graph, present, long)[:2])

    @jax.custom_batching.custom_vmap
    def one(graph, present):
        u, v, count = compact_edges(graph, present, short)
        return lax.cond(
            count <= short,
            lambda: listed(u, v),
            lambda: lax.cond(
                count <= long,
                lambda: from_long(graph, present),
                lambda: dense(graph, present),
            ),
        )

    @one.def_vmap
    def batched(axis_size, in_batched, graph, present):
        axes = tuple(jax.tree.map(lambda b: 0 if b else None, tuple(in_batched)))

        def each(f):
            return jax.vmap(f, in_axes=axes, axis_size=axis_size)

        u, v, count = each(lambda g, p: compact_edges(g, p, short))(graph, present)
        most = jnp.max(count)
        labels = lax.cond(
            most <= short,
            lambda: jax.vmap(listed)(u, v),
            lambda: lax.cond(
                most <= long,
                lambda: each(from_long)(graph, present),
                lambda: each(dense)(graph, present),
            ),
        )
        return labels, True

    return one(graph, present)


@functools.partial(jax.jit, static_argnames=("afforest", "report_branch"))
def _fastsv(
    g: Graph, afforest: bool = True, report_branch: bool = False
) -> Int[Array, " n"] | tuple[Int[Array, " n"], Bool[Array, ""]]:
    """FastSV, with a layout sampled first; `afforest`: the Afforest finish (else FastSV
    on every edge after the sample). `report_branch` (for tests) also returns whether the
    left-over rows were finished on their own (False on every other path)."""
    n = g.n_nodes
    big = jnp.iinfo(jnp.int32).max
    f = jnp.arange(n, dtype=jnp.int32)

    def min_nbr(graph, gf):
        gf_ext = jnp.concatenate([gf, jnp.full((1,), big, gf.dtype)])

        def entry(nbr, slot, present):
            v = gf_ext.at[nbr].get(mode="promise_in_bounds")
            return v if present is None else jnp.where(present, v, big)

        return neighbor_reduce(graph, entry, "min", big)

    def step(graph, f, gf, first=False):
        mngf = min_nbr(graph, gf)
        # stochastic hooking of the parent (while f is the identity: f itself)
        f_new = jnp.minimum(f, mngf) if first else f.at[f].min(mngf)
        f_new = jnp.minimum(f_new, mngf)  # aggressive hooking
        return jnp.minimum(f_new, gf)  # shortcutting

    def run(graph, f):
        def body(state):
            f, gf, _ = state
            f_new = step(graph, f, gf)
            gf_new = f_new[f_new]
            return f_new, gf_new, jnp.any(gf_new != gf)

        f, _, _ = lax.while_loop(lambda s: s[2], body, (f, f[f], jnp.array(True)))
        return _flatten(f)

    def listed(f):
        # Many rows left over: the edges that join two labels, as a list, if they fit
        # (at n = 10^6, ER <k> = 2, 3 and Chung-Lu <k> = 4: 0.78-0.91x the time of
        # FastSV on every edge; masks keeping 60-80% of ER <k> = 10: 0.66-0.70x). One
        # list, not shrinking tiers: those compiled 0.9 s longer, for no gain here.
        between = (g.senders < g.receivers) & (f[g.senders] != f[g.receivers])
        if g.edge_mask is not None:
            between &= g.edge_mask
        cap_list = max(g.n_slots // _FINISH_SHARE, 1)
        slot, count = _flag_positions(between, cap_list)
        u, v = _take(g.senders, slot), _take(g.receivers, slot)
        return lax.cond(
            count <= cap_list,
            lambda: pair_components(n, u, v, f=f, tiers=False),
            lambda: run(g, f),
        )

    def result(labels, finished_alone=jnp.array(False)):
        return (labels, finished_alone) if report_branch else labels

    layout = g.layout
    if layout is None or layout.n_columns <= _SAMPLE_COLUMNS:
        return result(run(g, f))
    sample = Graph(
        g.senders,
        g.receivers,
        g.edge_ids,
        g.edge_mask,
        n,
        layout=truncated(layout, _SAMPLE_COLUMNS),
    )
    if not afforest:  # the sample to convergence, then every edge
        return result(run(g, run(sample, f)))
    # Afforest (Sutton, Ben-Nun & Barak, 2018). First FastSV rounds on every node's
    # first two neighbours (a fifth of the entries at <k> = 10), only until few rows
    # are left outside the most frequent label (above the percolation threshold, that
    # of the largest component; two rounds at n = 10^6) or the labels stop changing.
    has_slots = layout.degree > 0

    def left_over(f):
        """The rows with slots outside the most frequent label, and how many."""
        todo = (f != _probable_giant_label(f)) & has_slots
        return todo, jnp.sum(todo, dtype=jnp.int32)

    def sample_round(state):
        f, gf, _, _ = state
        f_new = step(sample, f, gf)
        gf_new = f_new[f_new]
        return f_new, gf_new, jnp.any(gf_new != gf), left_over(gf_new)[1]

    f = step(sample, f, f, first=True)
    gf = f[f]
    f, _, _, _ = lax.while_loop(
        lambda s: s[2] & (s[3] > _LEFT_OVER),
        sample_round,
        (f, gf, jnp.array(True), left_over(gf)[1]),
    )
    f = _flatten(f)
    # Then only those rows need their edges (all of them): two nodes with one label are
    # connected already, and an edge that leaves the label is an entry of the row at
    # its other end. Few such rows: they are finished on their own; many: the edges
    # joining two labels are joined as a list (`listed`), or, if there are more than
    # it holds, every edge goes through the FastSV rounds again. Each way gives the
    # labels exactly (labels only ever move to smaller ids of the same component).
    todo, count = left_over(f)
    few = count <= _LEFT_OVER
    if layout.tail_nbr.shape[0]:
        # the hubs' slots beyond the last column are not read by `_finish_rows`: a
        # left-over row among the widest ones sends the whole graph through FastSV
        few &= ~jnp.any(todo[layout.order[: layout.lengths[-1]]])
    cap = min(_LEFT_OVER, n)
    labels = lax.cond(
        few, lambda f: _finish_rows(g, f, todo=todo, cap=cap), lambda f: listed(f), f
    )
    return result(labels, few)


#: Rounds on the sample stop, and the left-over rows are finished on their own, from
#: this many rows (each row costs one entry per column in every round; a second, larger
#: tier was measured to triple the compile time for the rare graph between the two).
_LEFT_OVER = 512
#: Many rows left over: the edges that join two labels go to `pair_components` as a
#: list of up to n_slots / this many pairs (more: FastSV on every edge).
_FINISH_SHARE = 8
#: Nodes probed for the label of the largest component after the sample.
_PROBES = 1024
#: Block of nodes for finding a few flagged nodes among many (`_positions`).
_BLOCK = 128


def _flatten(f: Int[Array, " n"]) -> Int[Array, " n"]:
    """Pointer jumping until every node points at its root (one gather per jump: the
    grandparents the test computed are the next parents)."""

    def jump(state):
        _, pp, _ = state
        ppp = pp[pp]
        return pp, ppp, jnp.any(ppp != pp)  # the loop's test in the same pass

    ff = f[f]
    p, _, _ = lax.while_loop(lambda s: s[2], jump, (f, ff, jnp.any(ff != f)))
    return p


def _probable_giant_label(f: Int[Array, " n"]) -> Int[Array, ""]:
    """The most frequent root among `_PROBES` evenly spaced nodes (any label is a correct
    answer for `_fastsv`: the choice only decides which rows are skipped)."""
    n = f.shape[0]
    probes = jnp.sort(f[:: max(n // _PROBES, 1)])
    runs = jnp.searchsorted(probes, probes, side="right") - jnp.searchsorted(
        probes, probes, side="left"
    )
    return probes[jnp.argmax(runs)]


def _positions(flags: Bool[Array, " n"], cap: int) -> Int[Array, " cap"]:
    """The indices of the (at most `cap`) True entries of `flags`, increasing, then `n`.

    A prefix sum and a scatter over all n cost 11 ms at n = 10^6; for a small `cap` this
    finds the blocks of `_BLOCK` entries with any flag first, then searches only those.
    """
    n = flags.shape[0]
    n_blocks = n // _BLOCK
    if cap * _BLOCK >= n or n_blocks == 0:
        return _compact(flags, jnp.arange(n, dtype=jnp.int32), cap, n)
    split = n_blocks * _BLOCK
    hit = flags[:split].reshape(n_blocks, _BLOCK).any(axis=1)
    blocks = _compact(hit, jnp.arange(n_blocks, dtype=jnp.int32), cap, n_blocks)
    within = jnp.arange(_BLOCK, dtype=jnp.int32)
    cand = jnp.where(blocks[:, None] < n_blocks, blocks[:, None] * _BLOCK + within, n)
    cand = jnp.concatenate(
        [cand.reshape(-1), jnp.arange(split, n, dtype=jnp.int32)]
    )  # then the last partial block
    flags_ext = jnp.concatenate([flags, jnp.zeros((1,), bool)])
    return _compact(flags_ext[cand], cand, cap, n)


def _compact(flags, values, cap: int, fill) -> Int[Array, " cap"]:
    """`values` where `flags` is True (at most `cap` of them), in order, then `fill`.

    `jnp.nonzero(size=...)` by hand: a prefix sum and a scatter (half its compile time).
    """
    at = jnp.cumsum(flags, dtype=jnp.int32) - 1
    out = jnp.full((cap + 1,), fill, jnp.int32)
    return out.at[jnp.where(flags, at, cap)].set(values, mode="drop")[:cap]


def _finish_rows(g: Graph, f, *, todo, cap: int) -> Int[Array, " n"]:
    r"""Union by minimum root over the column entries of the nodes `todo` (at most
    `cap`, none of them with slots in the tail); `f` is flat on entry and on exit.

    The entries are pairs for `pair_components` from `f` (one list, no tiers): while
    some entry joins two roots $a \ne b$, the larger is hooked onto the smaller,
    $f_{\max(a,b)} \leftarrow \min(f_{\max(a,b)}, \min(a, b))$ for every entry at once,
    then every node is flattened. Roots stay the smallest ids of their trees.
    """
    layout = g.layout
    n = layout.n_nodes
    e = layout.n_slots
    mask = None if layout.mask_baked or g.edge_mask is None else g.edge_mask
    node = _positions(todo, cap)
    inv = jnp.concatenate([layout.inv, jnp.full((1,), n, jnp.int32)])
    rows = inv[node]  # sorted positions, n for the fill
    # every column at once: one (J, cap) gather from the head (J ops compile slowly)
    lengths = np.asarray(layout.lengths, np.int32)
    starts = layout.starts[:-1].astype(np.int32)
    col = jnp.arange(lengths.shape[0], dtype=jnp.int32)[:, None]
    inside = rows[None, :] < lengths[:, None]
    v = layout.head[starts[:, None] + jnp.minimum(rows[None, :], lengths[:, None] - 1)]
    if mask is not None:
        slot = jnp.minimum(layout.first[jnp.minimum(rows, n - 1)][None, :] + col, e - 1)
        inside &= mask[slot]
    v = jnp.where(inside, v, n).reshape(-1)
    u = jnp.broadcast_to(node[None, :], inside.shape).reshape(-1)
    keep = v < n
    u = jnp.where(keep, u, 0)  # no entry: node 0 with itself, a no-op
    v = jnp.where(keep, v, 0)
    return pair_components(n, u, v, f=f, tiers=False)


def compact_edges(graph: Graph, present, cap: int):
    """`(u, v, count)`: the edges among the slots `present` (`bool[e]`, both slots of an
    edge alike), each once (its slot with sender < receiver), in slot order, padded to
    `cap` with (0, 0); `count` of them in all (only the first `cap` are listed).

    With `pair_components` this finds the components of a mask that keeps few edges
    (the FK bonds of Swendsen–Wang in the disordered phase, a tenth of the edges) from
    a list of those edges: each round reads `cap` pairs and the n parents instead of
    every slot of the graph. At n = 10^6, <k> = 10, a tenth of the edges, on the 2-core
    CPU: 36 ms (12 of them for this list), against 0.34 s for FastSV on the masked
    graph.
    """
    slot, count = _flag_positions(present & (graph.senders < graph.receivers), cap)
    return _take(graph.senders, slot), _take(graph.receivers, slot), count


def _take(x, slot):
    """`x[slot]`, 0 where `slot` is past the end (the padding: node 0 with itself), read
    without a padded copy of `x` (at 10^7 slots, copying the senders and receivers
    took 8 of compact_edges' 20 ms)."""
    size = x.shape[0]
    return jnp.where(slot < size, x[jnp.minimum(slot, size - 1)], 0)


def pair_components(n_nodes: int, u, v, f=None, tiers: bool = True) -> Int[Array, " n"]:
    """`connected_components`' labels of the graph of the pairs `(u, v)` on n nodes.

    Union by minimum root in rounds (`_hook`), the list shrinking as pairs are joined:
    while more than a `_TIER_RATIO`-th of the list is still active (its two ends in
    different trees), a round hooks, flattens every node (pointer jumping) and reads
    the pairs' new roots; then the active pairs, as their roots, are compacted into a
    list that long (`_flag_positions`), down to `_TIER_FLOOR` pairs. Rounds on a
    shortened list flatten only the hooked roots (jumps over the list, not the n
    nodes), and one flatten of all nodes ends. At bond percolation's threshold a
    quarter of the pairs is left active after one round, a twenty-seventh after two.

    `f`: a start other than every node on its own, a flat forest whose every root is
    the smallest node of its tree (`_fastsv`'s labels after its sample), the pairs
    joining it. `tiers=False`: rounds on the whole list (a smaller program).
    """
    if f is None:
        f = jnp.arange(n_nodes, dtype=jnp.int32)
        a, b = u, v  # the roots of the pairs' ends (f is the identity)
    else:
        a, b = f[u], f[v]
    flat = True  # level 0: full flattening; shortened lists: the hooked roots only
    while True:
        size = a.shape[0]
        nxt = size // _TIER_RATIO
        step = _round_flat if flat else _round_hooked
        if nxt < _TIER_FLOOR or not tiers:  # the last list: rounds until all joined

            def last(state, step=step):
                f, a, b = step(*state[:3])
                return f, a, b, jnp.any(a != b)  # the loop's test in the same pass

            f, *_ = lax.while_loop(lambda s: s[3], last, (f, a, b, jnp.any(a != b)))
            return _flatten(f)

        def body(state, step=step):
            f, a, b = step(*state[:3])
            return f, a, b, jnp.sum(a != b, dtype=jnp.int32)

        f, a, b, _ = lax.while_loop(
            lambda s, nxt=nxt: s[3] > nxt,
            body,
            (f, a, b, jnp.sum(a != b, dtype=jnp.int32)),
        )
        slot, _ = _flag_positions(a != b, nxt)
        a, b = _take(a, slot), _take(b, slot)
        flat = False


#: `pair_components` shortens its list to this share of it once that many pairs are
#: left active, ...
_TIER_RATIO = 4
#: ... down to lists of this many pairs (each list costs about 0.25 s of compile time).
_TIER_FLOOR = 16384


def _hook(f, a, b):
    """Roots `a`, `b` of each pair: the larger hooked onto the smaller (the other way
    round is a no-op on a root: one scatter-min, not two)."""
    return f.at[jnp.maximum(a, b)].min(jnp.minimum(a, b))


def _round_flat(f, a, b):
    """A round of `pair_components` flattening every node."""
    f = _flatten(_hook(f, a, b))
    return f, f[a], f[b]


def _round_hooked(f, a, b):
    """A round of `pair_components` flattening only the roots it hooks: pointer jumping
    on them until each points at a root (every other root keeps pointing at itself)."""
    hi = jnp.maximum(a, b)
    f = _hook(f, a, b)

    def jump(state):
        f, _ = state
        p = f[hi]
        pp = f[p]
        return f.at[hi].set(pp), jnp.any(pp != p)

    f, _ = lax.while_loop(lambda s: s[1], jump, (f, jnp.array(True)))
    return f, f[a], f[b]


def _flag_positions(flags: Bool[Array, " e"], cap: int):
    """The indices of the first `cap` True entries of `flags`, increasing, then e; and
    how many entries are True.

    On the CPU, XLA's prefix sum over 10^7 entries takes 0.17 s and a scatter of 10^7
    indices 0.06 s (one core), so neither runs over the entries: the flags are packed 32
    to a word, the prefix sum runs over the words, each word adds 1 at its first output
    place (one scatter over the words), a running count gives every output place its
    word, and the bit is the k-th set bit of that word (a binary search with
    `population_count`). 4-5 ms for 10^7 flags (a twentieth set) and cap = 6·10^5 on
    the 2-core CPU (8-10 ms with a scatter of the word numbers and a running maximum).
    """
    e = flags.shape[0]
    w = -(-e // 32)
    lane = jnp.arange(32, dtype=jnp.uint32)
    bits = jnp.pad(flags, (0, 32 * w - e)).reshape(w, 32)
    one = jnp.uint32(1)
    words = jnp.sum(jnp.where(bits, one << lane, 0), axis=1, dtype=jnp.uint32)
    count = lax.population_count(words).astype(jnp.int32)
    total = jnp.cumsum(count, dtype=jnp.int32)
    start = total - count  # first output place of each word's entries
    # the word of output place j is the last one starting at or before j: the number
    # of words that do, less one (a running count, not a running maximum: 4 ms less)
    marks = jnp.zeros(cap, jnp.int32).at[start].add(1, mode="drop")
    word = jnp.cumsum(marks, dtype=jnp.int32) - 1
    j = jnp.arange(cap, dtype=jnp.int32)
    k = j - start[word]  # output j is the k-th set bit of its word
    x = words[word]
    bit = jnp.zeros(cap, jnp.int32)  # the largest b with at most k set bits below b
    for step in (16, 8, 4, 2, 1):
        below = x & ((one << (bit + step).astype(jnp.uint32)) - one)
        bit = jnp.where(
            lax.population_count(below).astype(jnp.int32) <= k, bit + step, bit
        )
    return jnp.where(j < total[-1], word * 32 + bit, e), total[-1]


def component_sizes(labels: Int[ArrayLike, " n"]) -> Int[Array, " n"]:
    """`sizes[c]` = number of nodes with label `c` (0 for labels that are not roots).

    `labels` is `int[n]` in `[0, n)` (as `connected_components` returns).
    """
    n = np.shape(labels)[0] if np.ndim(labels) == 1 else 0
    labels = check_array(
        "labels", labels, kind="int", ndim=1, low=0.0, high=float(max(n - 1, 0))
    )
    return jax.ops.segment_sum(
        jnp.ones_like(labels, dtype=jnp.int32), labels, labels.shape[0]
    )


def giant_component_fraction(
    graph: Graph, edge_mask: Bool[Array, " e"] | None = None
) -> Float[Array, ""]:
    r"""$S = |\text{largest component}| / n$ for the graph (with optional extra mask)."""
    labels = connected_components(graph, edge_mask)
    return jnp.max(component_sizes(labels)) / graph.n_nodes


class GiantComponent(eqx.Module):
    """The largest connected component of a graph, as its own `Graph`.

    Attributes:
      graph: The component, nodes renumbered `0..size-1` in increasing original id
        (edge weights kept).
      nodes: `int32[size]`, the original id of each node of `graph`.
      fraction: Its share of the nodes, `size / n_nodes` (float).
    """

    graph: Graph
    nodes: Int[Array, " s"]
    fraction: Float[Array, ""]


def giant_component(graph: Graph) -> GiantComponent:
    r"""The largest connected component as a new `Graph` (host-side relabelling).

    Components by `connected_components` (present edges only); ties between equally
    large components go to the one with the smallest node id. Node $i$ of the result is
    original node `nodes[i]`; edges and their weights are kept, masked slots dropped.

    Args:
      graph: The graph (unbatched, concrete).

    Returns:
      `GiantComponent` with `graph`, `nodes` and `fraction`. Cost O(n + E) plus the
      component search.
    """
    from .interop import from_edges, to_edges  # interop imports nothing from here

    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    labels = np.asarray(connected_components(graph))
    sizes = np.bincount(labels, minlength=graph.n_nodes)
    root = int(np.argmax(sizes))
    keep = labels == root
    new_id = np.cumsum(keep) - 1
    weights = None
    if graph.weights is None:
        edges = to_edges(graph)
    else:
        s = np.asarray(graph.senders)
        r = np.asarray(graph.receivers)
        up = s < r
        if graph.edge_mask is not None:
            up &= np.asarray(graph.edge_mask)
        edges = np.stack([s[up], r[up]], axis=1).astype(np.int64)
        weights = np.asarray(graph.weights)[up]
    ok = keep[edges[:, 0]] & keep[edges[:, 1]]
    sub = from_edges(
        new_id[edges[ok]],
        int(keep.sum()),
        weights=None if weights is None else weights[ok],
    )
    # NumPy casts, then plain transfers (no compiled conversion programs)
    return GiantComponent(
        graph=sub,
        nodes=jax.device_put(np.flatnonzero(keep).astype(np.int32)),
        fraction=jax.device_put(
            np.asarray(keep.mean(), np.dtype(jnp.result_type(float)))
        ),
    )
