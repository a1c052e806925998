"""Random and regular graph generators, each O(n + E) in memory and fast at n = 10^6.

`erdos_renyi`, `barabasi_albert` and `power_law` are jitted JAX code: they run on the
accelerator, are reproducible from `key`, and `jax.vmap` over keys gives an ensemble of
graphs with one shape. `random_regular` and `lattice` are built on the host (NumPy); their
shapes are fixed by the arguments, so ensembles stack as well.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax
from jax.extend.random import threefry2x32_p

from .._custom_types import ArrayLike
from .._validate import as_key, check_int, check_real, in_domain, is_traced
from ._graph import Graph, _assemble, _assemble_host, _assemble_np
from .components import _flag_positions
from .ops import with_layout


def erdos_renyi(key: Any, n_nodes: int, mean_degree: float) -> Graph:
    r"""Erdős–Rényi graph $G(n, M)$ with $M = \mathrm{round}(n \langle k \rangle / 2)$.

    Each of the $M$ edges joins a uniform node $u$ to a uniform *other* node $v \ne u$
    (so there are no self-loops). Repeated pairs are kept as masked slots (`edge_mask`),
    so the shape is fixed at $2M$ slots for every key and ensembles `vmap`. The expected
    number of repeats is about $\langle k \rangle^2 / 4$, so the realised mean degree is
    $\langle k \rangle (1 - O(\langle k \rangle / n))$; degrees are Poisson($\langle k \rangle$)
    in the limit.

    Args:
      key: PRNG key.
      n_nodes: $n \ge 2$ (static).
      mean_degree: $\langle k \rangle$ in $[0, n - 1)$ (static: it fixes $M$).

    Returns:
      A `Graph` with `2M` slots and an `edge_mask`. Cost O(E log E): two sorts of M
      packed 64-bit keys (`_graph._assemble`).

    Raises:
      ValueError: `n_nodes < 2`, `mean_degree` outside `[0, n_nodes - 1)`.
    """
    n_nodes = check_int("n_nodes", n_nodes, min_value=2)
    mean_degree = check_real(
        "mean_degree", mean_degree, low=0.0, high=float(n_nodes - 1), high_open=True
    )
    m = int(round(n_nodes * mean_degree / 2))
    key = as_key(key)
    if _host_assembly(key):
        pairs = list(_erdos_renyi_pairs(key, n_nodes, m))  # consumed by the assembly
        return _assemble_np(pairs, n_nodes, dedupe=True)  # with its layout
    return with_layout(_erdos_renyi(key, n_nodes, m))


def _host_assembly(*args) -> bool:
    """Concrete draws on the CPU backend: sort on the host (NumPy), not in XLA."""
    return not any(is_traced(a) for a in args) and jax.default_backend() == "cpu"


@functools.partial(jax.jit, static_argnums=(1, 2))
def _erdos_renyi_pairs(key, n_nodes: int, m: int):
    k1, k2 = jr.split(key)
    u = jr.randint(k1, (m,), 0, n_nodes, dtype=jnp.int32)
    off = jr.randint(k2, (m,), 1, n_nodes, dtype=jnp.int32)
    v = (u + off) % n_nodes
    return u, v


@functools.partial(jax.jit, static_argnums=(1, 2))
def _erdos_renyi(key, n_nodes: int, m: int) -> Graph:
    u, v = _erdos_renyi_pairs(key, n_nodes, m)
    return _assemble(u, v, n_nodes, dedupe=True)


def power_law(key: Any, n_nodes: int, gamma: ArrayLike, mean_degree: float) -> Graph:
    r"""Chung–Lu graph with a power-law degree distribution $P(k) \sim k^{-\gamma}$.

    Node $i$ gets the weight $w_i \propto (i + i_0)^{-1/(\gamma - 1)}$, scaled so that
    $\langle w \rangle = \langle k \rangle$; then $M = \mathrm{round}(n \langle k \rangle/2)$
    edges each join two endpoints drawn independently with probability $\propto w$. The
    expected degree of $i$ is $w_i$, so $P(k) \sim k^{-\gamma}$ for $k \gg 1$. Self-loops and
    repeated pairs are masked (`edge_mask`), which trims the largest hubs when
    $w_{\max} \gtrsim \sqrt{n \langle k \rangle}$ (at $\gamma < 3$); the offset
    $i_0 = n^{(3 - \gamma)/2} \cdot$ const is *not* applied: there is no structural cutoff,
    only the natural one, $w_{\max} \sim n^{1/(\gamma - 1)}$.

    Args:
      key: PRNG key.
      n_nodes: $n \ge 2$ (static).
      gamma: Degree exponent $\gamma > 2$, so that $\langle k \rangle$ is finite (may be
        traced; a traced value outside $(2, \infty)$ is an `eqx.error_if` error).
      mean_degree: Target $\langle k \rangle$ in $(0, n - 1)$ (static). Masked repeats make
        the realised mean slightly lower for $\gamma$ near 2.

    Returns:
      A `Graph` with `2M` slots and an `edge_mask`. Cost O(E log E): a few guide-table
      search steps per endpoint, one sort of n keys (the random relabelling), two of M
      (the assembly).
    """
    n_nodes = check_int("n_nodes", n_nodes, min_value=2)
    gamma = check_real("gamma", gamma, low=2.0, low_open=True)
    mean_degree = check_real(
        "mean_degree",
        mean_degree,
        low=0.0,
        high=float(n_nodes - 1),
        low_open=True,
        high_open=True,
    )
    m = int(round(n_nodes * mean_degree / 2))
    key = as_key(key)
    # a concrete gamma stays on the host (no compiled conversion program)
    gamma = (
        jnp.asarray(gamma, jnp.float32)
        if is_traced(gamma)
        else np.asarray(gamma, np.float32)
    )
    if _host_assembly(key, gamma):
        u, v, rank_keys = _power_law_draws(key, n_nodes, m, gamma)
        # the relabelling: unique keys, so NumPy's sort and XLA's agree
        perm = (np.sort(np.asarray(rank_keys)) & _low_bits(n_nodes)).astype(np.int32)
        del rank_keys
        pairs = list(_relabel(perm, u, v))
        del u, v
        return _assemble_np(pairs, n_nodes, dedupe=True)
    return with_layout(_power_law(key, n_nodes, m, gamma))


def _index_bits(n: int) -> int:
    """Bits of a node index in the relabelling keys (`_power_law_draws`)."""
    return max(1, (n - 1).bit_length())


def _low_bits(n: int) -> np.uint64:
    return np.uint64((1 << _index_bits(n)) - 1)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _power_law(key, n_nodes: int, m: int, gamma) -> Graph:
    u, v, rank_keys = _power_law_draws(key, n_nodes, m, gamma)
    with jax.enable_x64(True):
        perm = (lax.sort(rank_keys) & _low_bits(n_nodes)).astype(jnp.int32)
    return _assemble(*_relabel(perm, u, v), n_nodes, dedupe=True)


@jax.jit
def _relabel(perm, u, v):
    return perm[u], perm[v]


_GUIDE_BUCKETS = 1 << 20  # at most; buckets of the inverse-CDF guide table


@functools.partial(jax.jit, static_argnums=(1, 2))
def _power_law_draws(key, n_nodes: int, m: int, gamma):
    """Endpoint ranks `u`, `v` (0 = largest weight) and the relabelling's sort keys.

    Each endpoint is the inverse CDF of a uniform, found through a guide table (Chen and
    Asau; `_inverse_cdf`), exactly `searchsorted(cdf, u, side="right")`. The
    relabelling (node ids exchangeable) sorts unique 64-bit keys `random << b | rank`
    (b index bits, 64 - b >= 33 random ones; ties between random parts, about
    n^2 / 2^(65 - b) pairs, order by rank), so any sort gives the same permutation.
    """
    gamma = eqx.error_if(
        gamma,
        ~in_domain(gamma, low=2.0, low_open=True),
        "`gamma` is out of range; allowed: (2, inf)",
    )
    i = jnp.arange(1, n_nodes + 1, dtype=jnp.float32)
    w = i ** (-1.0 / (gamma - 1.0))
    cdf = jnp.cumsum(w)
    cdf = cdf / cdf[-1]
    k1, k2, k3 = jr.split(key, 3)
    u = _inverse_cdf(cdf, jr.uniform(k1, (m,), jnp.float32))
    v = _inverse_cdf(cdf, jr.uniform(k2, (m,), jnp.float32))
    bits = _index_bits(n_nodes)
    r = jr.bits(k3, (2, n_nodes), jnp.uint32)
    with jax.enable_x64(True):
        r = (r[0].astype(jnp.uint64) << 32) | r[1].astype(jnp.uint64)
        rank_keys = (r << bits) | jnp.arange(n_nodes, dtype=jnp.uint64)
    return u, v, rank_keys


def _inverse_cdf(cdf, x):
    """`minimum(searchsorted(cdf, x, side="right"), n - 1)` through a guide table.

    `cdf`: non-decreasing, `float32[n]`; `x`: uniforms in [0, 1). Bucket b of
    B = min(n, 2^20) equal parts of [0, 1) stores the number of CDF values <= b / B; the
    binary search runs between the entries of buckets b - 1 and b + 2 (so rounding in
    `x * B` cannot exclude the answer): a few steps instead of log2(n).
    """
    n = cdf.shape[0]
    n_buckets = min(n, _GUIDE_BUCKETS)
    thresholds = jnp.arange(n_buckets + 1, dtype=jnp.float32) / n_buckets
    guide = jnp.searchsorted(cdf, thresholds, side="right").astype(jnp.int32)
    b = jnp.floor(x * n_buckets).astype(jnp.int32)
    lo = guide[jnp.clip(b - 1, 0, n_buckets)]
    hi = guide[jnp.clip(b + 2, 0, n_buckets)]

    def step(state):  # the first index in [lo, hi] whose CDF value exceeds x
        lo, hi, _ = state
        mid = (lo + hi) // 2
        right = cdf[jnp.minimum(mid, n - 1)] <= x
        lo, hi = jnp.where(right, mid + 1, lo), jnp.where(right, hi, mid)
        return lo, hi, jnp.any(lo < hi)  # the loop's test in the same pass

    lo, _, _ = lax.while_loop(lambda s: s[2], step, (lo, hi, jnp.any(lo < hi)))
    return jnp.minimum(lo, n - 1)


def barabasi_albert(key: Any, n_nodes: int, m: int) -> Graph:
    r"""Barabási–Albert preferential attachment with $m$ links per new node.

    Start from the complete graph on $m + 1$ nodes; node $t = m+1, \dots, n-1$ arrives and
    links to $m$ distinct existing nodes, each chosen with probability
    $\propto k_i(t)$ (the degrees before $t$ arrives; a repeated choice is redrawn). The
    degree distribution tends to $P(k) = 2m(m+1)/[k(k+1)(k+2)] \sim k^{-3}$, the minimum
    degree is $m$.

    Construction: the first 1024 arrivals grow one by one (`lax.fori_loop`, repeats
    rejected); all later arrivals at once, in parallel. The list of edge endpoints is
    built as in Batagelj–Brandes — a target slot copies a uniformly chosen earlier
    endpoint slot, which is exactly degree-proportional choice — and the copy chains are
    resolved by pointer doubling in $O(\log n)$ gathers. Repeats inside one node's $m$
    choices are redrawn (all arrivals at once) until none is left; once the network has
    1024 nodes repeats are rare, so this takes a few rounds.

    Args:
      key: PRNG key.
      n_nodes: $n \ge m + 2$ (static).
      m: Links per new node, $1 \le m < n - 1$ (static).

    Returns:
      A simple `Graph` with $m(m+1)/2 + m(n - m - 1)$ edges and no mask.
      Cost O(E log n).
    """
    m = check_int("m", m, min_value=1)
    n_nodes = check_int("n_nodes", n_nodes, min_value=2)
    if m >= n_nodes - 1:
        raise ValueError(
            f"`m`={m} is out of range; allowed: 1 <= m < n_nodes - 1 = {n_nodes - 1}"
        )
    key = as_key(key)
    pairs = list(_barabasi_albert_pairs(key, n_nodes, m))
    if _host_assembly(key):
        # simple by construction: every slot present, no mask; after the core's
        # m (m + 1) / 2 pairs, m per arrival from node m + 1 on
        tail = (m * (m + 1) // 2, m + 1, m)
        return _assemble_np(
            pairs, n_nodes, dedupe=False, simple=True, by_upper=True, tail=tail
        )
    g = _assemble(*pairs, n_nodes, dedupe=False)
    return with_layout(Graph(g.senders, g.receivers, g.edge_ids, None, n_nodes))


_BA_SEQUENTIAL = 1024  # arrivals grown one by one before the parallel phase


@functools.partial(jax.jit, static_argnums=(1, 2))
def _barabasi_albert_pairs(key, n_nodes: int, m: int):
    """The edge list `(hi, lo)` of `barabasi_albert` (hi the newer node), sorted by
    `(hi, lo)`: the order `_assemble_np(..., by_upper=True)` takes."""
    core = np.array(
        [(i, j) for i in range(m + 1) for j in range(i + 1, m + 1)], dtype=np.int32
    ).reshape(-1, 2)
    n_core_slots = 2 * core.shape[0]
    n_new = n_nodes - m - 1
    n_seq = min(n_new, _BA_SEQUENTIAL)
    n_par = n_new - n_seq
    par_start = n_core_slots + 2 * m * n_seq
    key_seq, key_par = jr.split(key)

    # Phase 1: the first arrivals one by one (few candidates, so repeats are frequent).
    # (only the endpoints known before phase 2: the later ones are `targets` below)
    ends = (
        jnp.zeros(n_core_slots + 2 * m * n_seq, jnp.int32)
        .at[:n_core_slots]
        .set(jnp.asarray(core.reshape(-1)))
    )

    def arrive(k, ends):
        t = m + 1 + k
        start = n_core_slots + 2 * m * k
        kk = jr.fold_in(key_seq, k)
        chosen = jnp.full((m,), -1, jnp.int32)
        for j in range(m):

            def cond(state):
                _, c, _ = state
                return (c < 0) | jnp.any(chosen == c)

            def body(state):
                kj, _, it = state
                slot = jr.randint(jr.fold_in(kj, it), (), 0, start, dtype=jnp.int32)
                return kj, ends[slot], it + 1

            _, c, _ = lax.while_loop(cond, body, (jr.fold_in(kk, j), jnp.int32(-1), 0))
            chosen = chosen.at[j].set(c)
        pair = jnp.stack([jnp.full((m,), t, jnp.int32), chosen], axis=1).reshape(-1)
        return lax.dynamic_update_slice(ends, pair, (start,))

    ends = lax.fori_loop(0, n_seq, arrive, ends)
    # the output: the core's pairs by (hi, lo), then each arrival's, targets sorted
    by_hi = core[np.lexsort((core[:, 0], core[:, 1]))]
    hi = [jnp.asarray(by_hi[:, 1]), ends[n_core_slots:par_start:2]]
    lo = [
        jnp.asarray(by_hi[:, 0]),
        _sort_rows(ends[n_core_slots + 1 : par_start : 2].reshape(n_seq, m)).reshape(
            -1
        ),
    ]
    if n_par == 0:
        return jnp.concatenate(hi), jnp.concatenate(lo)

    # Phase 2: the remaining arrivals at once. A target slot copies a uniformly chosen
    # earlier endpoint slot; copy chains are resolved by pointer doubling over the
    # targets alone (a source slot or an earlier phase's slot ends a chain).
    first_new = m + 1 + n_seq
    new_nodes = jnp.arange(first_new, n_nodes, dtype=jnp.int32)
    n_t = n_par * m  # target entries, entry i of arrival first_new + i // m

    def resolve(ptr_targets):
        rel = ptr_targets - par_start
        # One word per target: its value once known (>= 0), else ~(the target slot it
        # copies); pointer jumping then reads one array: a copying target takes the
        # word of the target it copies (a value, or that one's own pointer).
        word = jnp.where(
            rel < 0,
            ends[jnp.clip(ptr_targets, 0, par_start - 1)],
            jnp.where(rel % 2 == 1, ~(rel // 2), first_new + (rel // 2) // m),
        )

        def body(state):
            word, _ = state
            word = jnp.where(word < 0, word[jnp.maximum(~word, 0)], word)
            # the test for the next round in the same pass (a separate `cond` pass over
            # the words made each resolution 28 ms instead of 22 ms at n = 10^6, m = 5)
            return word, jnp.any(word < 0)

        word, _ = lax.while_loop(lambda s: s[1], body, (word, jnp.bool_(True)))
        return word.reshape(n_par, m)

    def duplicates(t):
        # entry j repeats one of entries 0 .. j - 1 of its row
        cols = [jnp.zeros(n_par, bool)]
        for j in range(1, m):
            cols.append(jnp.any(t[:, :j] == t[:, j : j + 1], axis=1))
        return jnp.stack(cols, axis=1).reshape(-1)

    def loop_body(state):
        key, ptr_t, _, dup, _ = state
        key, k = jr.split(key)
        ptr_t = _redraw(k, dup, ptr_t, par_start, m)
        targets = resolve(ptr_t)
        dup = duplicates(targets)
        return key, ptr_t, targets, dup, jnp.any(dup)

    # The first round draws every entry (all marked as repeats); each later one redraws
    # the repeats. One loop for all rounds: the first round written out before the
    # loop, as it was, made the program 0.1 s slower at n = 10^6 (same graphs).
    empty = jnp.zeros(n_t, jnp.int32)
    start = (key_par, empty, empty.reshape(n_par, m), jnp.ones(n_t, bool), True)
    _, _, targets, _, _ = lax.while_loop(lambda s: s[4], loop_body, start)
    hi.append(jnp.repeat(new_nodes, m))
    lo.append(_sort_rows(targets).reshape(-1))
    return jnp.concatenate(hi), jnp.concatenate(lo)


def _sort_rows(x):
    """Each row of `x` (2-D) sorted: for up to 16 columns by an odd–even transposition
    network (elementwise min / max, fused; XLA's CPU sort of 10^6 rows of 5 took 0.067
    s, this 0.004 s), else `jnp.sort`."""
    k = x.shape[1]
    if k > 16:
        return jnp.sort(x, axis=1)
    cols = [x[:, j] for j in range(k)]
    for r in range(k):
        for j in range(r % 2, k - 1, 2):
            cols[j], cols[j + 1] = (
                jnp.minimum(cols[j], cols[j + 1]),
                jnp.maximum(cols[j], cols[j + 1]),
            )
    return jnp.stack(cols, axis=1)


def _redraw(
    key, mask, old, par_start: int, m: int, block: int = 256, max_blocks: int = 1024
):
    """BA's draw of target pointers: `where(mask, _randint(key, limit), old)` with
    `limit[i] = par_start + 2 m (i // m)` (entry i copies one of the endpoint slots
    before its arrival's).

    Entry i's value depends on `(key, i)` alone, so when at most `max_blocks` of the
    blocks of `block` entries hold a masked entry (every redraw after the first round:
    a few hundred repeats among 5·10^6 entries at n = 10^6), only those blocks are
    drawn (`_randint(..., at)`) and written back; otherwise all entries are. Same
    values either way (tests/test_graph.py); at n = 10^6, m = 5 the pairs took 0.29 s
    on one core instead of 0.40 s.
    """
    n_t = mask.shape[0]

    def limit(i):
        return par_start + 2 * m * (i // m)

    def every():
        i = jnp.arange(n_t, dtype=jnp.int32)
        return jnp.where(mask, _randint(key, limit(i)), old)

    n_blocks = -(-n_t // block)
    if n_blocks <= max_blocks or not jax.config.jax_threefry_partitionable:
        return every()
    hit = jnp.pad(mask, (0, n_blocks * block - n_t)).reshape(n_blocks, block).any(1)
    blocks, n_hit = _flag_positions(hit, max_blocks)  # then n_blocks

    def some():
        i = (blocks[:, None] * block + jnp.arange(block, dtype=jnp.int32)).reshape(-1)
        at = jnp.minimum(i, n_t - 1)  # i >= n_t: padding, dropped below
        new = jnp.where(mask[at], _randint(key, limit(at), at), old[at])
        return old.at[i].set(new, mode="drop")  # (the padding blocks' i repeat)

    return lax.cond(n_hit <= max_blocks, some, every)


def _randint(key, maxval, at=None):
    """`jr.randint(key, maxval.shape, 0, maxval, jnp.int32)` for a 1-D `maxval >= 1`: the
    same values, several times faster on the CPU. With `at` (int32 indices, as long as
    `maxval`), entry j is entry `at[j]` of a draw with `maxval[j]` there: the same value
    as the full draw's, without the rest of it.

    Where JAX's threefry bits are partitionable (`jax_threefry_partitionable`, on by
    default), entry i of a 1-D draw is threefry2x32 of the counter (0, i); the
    arithmetic is `jr.randint`'s (two 32-bit words, reduced modulo the span with the
    multiplier 2^32 mod span, uint32 products and sums wrapping), but every remainder is
    `_rem_u32` (float64 division, vectorised) instead of XLA's integer division, which
    the CPU does one element at a time: a draw of 5·10^6 bounded integers took 0.19 s on
    one core as `jr.randint`, 0.04 s here. Otherwise it is `jr.randint`. Tested against
    `jr.randint` (tests/test_graph.py), so a JAX release that changes either fails there.
    """
    if not jax.config.jax_threefry_partitionable:
        if at is not None:  # an entry's bits depend on the whole draw's shape
            raise ValueError("`at` needs jax_threefry_partitionable")
        return jr.randint(key, maxval.shape, 0, maxval, dtype=jnp.int32)
    count = (
        jnp.arange(maxval.shape[0], dtype=jnp.uint32)
        if at is None
        else at.astype(jnp.uint32)
    )

    def bits(k):
        kd = jr.key_data(k)
        b1, b2 = threefry2x32_p.bind(kd[0], kd[1], jnp.zeros_like(count), count)
        return b1 ^ b2

    k1, k2 = jr.split(key)
    hi, lo = bits(k1), bits(k2)
    span = maxval.astype(jnp.uint32)
    mult = _rem_u32(jnp.full_like(span, 1 << 16), span)  # 2^32 mod span, as JAX has it
    mult = _rem_u32(mult * mult, span)
    off = _rem_u32(_rem_u32(hi, span) * mult + _rem_u32(lo, span), span)
    return off.astype(jnp.int32)


def _rem_u32(a, span):
    """`a % span` for uint32 `a` and `span >= 1`, exactly, through float64.

    Both are integers below 2^32, exact in float64. Where a / span is not an integer it
    lies at least 1 / span below the next one, relatively at least 1 / a > 2^-32, far
    above float64's rounding (2^-53), so the rounded quotient has the same floor, and
    `a - floor * span` (an exact integer product below 2^32) is the remainder.
    """
    with jax.enable_x64(True):
        af = a.astype(jnp.float64)
        sf = span.astype(jnp.float64)
        return (af - jnp.floor(af / sf) * sf).astype(jnp.uint32)


def random_regular(key: Any, n_nodes: int, degree: int) -> Graph:
    r"""A simple random $d$-regular graph (no self-loops, no repeated edges).

    Configuration model (a uniform pairing of $nd$ stubs) followed by repair: each
    self-loop or repeated edge is removed by a double-edge swap with a uniformly chosen
    edge, repeated until the graph is simple. Degrees are exactly $d$; the repair touches
    $O(d^2)$ edges in expectation, so the result is close to uniform among simple
    $d$-regular graphs. Built on the host with NumPy (seeded from `key`).

    Args:
      key: PRNG key (its data seed a NumPy generator).
      n_nodes: $n \ge d + 1$, with $n d$ even.
      degree: $d \ge 0$. For $d > (n-1)/2$ the graph is built as the complement of an
        $(n-1-d)$-regular one (O(n^2) memory, as dense graphs need anyway).

    Returns:
      A `Graph` with $nd/2$ edges and no mask. Cost O(nd log(nd)).
    """
    n_nodes = check_int("n_nodes", n_nodes, min_value=1)
    degree = check_int("degree", degree, min_value=0)
    if degree >= n_nodes:
        raise ValueError(
            f"`degree`={degree} is out of range; allowed: < n_nodes={n_nodes}"
        )
    if (n_nodes * degree) % 2:
        raise ValueError(f"`n_nodes * degree` = {n_nodes * degree} must be even")
    key = as_key(key)
    rng = _numpy_rng(key)
    if 2 * degree > n_nodes - 1:
        # Dense: a uniform d-regular graph is the complement of a uniform
        # (n - 1 - d)-regular one, and the sparse side repairs easily.
        sub = random_regular(key, n_nodes, n_nodes - 1 - degree)
        adj = np.ones((n_nodes, n_nodes), bool)
        np.fill_diagonal(adj, False)
        adj[np.asarray(sub.receivers), np.asarray(sub.senders)] = False
        lo, hi = np.nonzero(np.triu(adj, 1))
        return _assemble_host(lo, hi, n_nodes)
    if degree == 0:
        return _assemble_host(np.zeros(0, np.int64), np.zeros(0, np.int64), n_nodes)
    stubs = rng.permutation(np.repeat(np.arange(n_nodes, dtype=np.int64), degree))
    pairs = stubs.reshape(-1, 2)
    m = pairs.shape[0]
    for _ in range(10_000):
        lo = np.minimum(pairs[:, 0], pairs[:, 1])
        hi = np.maximum(pairs[:, 0], pairs[:, 1])
        code = lo * n_nodes + hi
        order = np.argsort(code, kind="stable")
        rep = np.zeros(m, bool)
        rep[order[1:]] = code[order[1:]] == code[order[:-1]]
        bad = np.flatnonzero(rep | (lo == hi))
        if bad.size == 0:
            return _assemble_host(lo, hi, n_nodes)
        partner = rng.integers(0, m, size=bad.size)
        # Each swap must use two distinct edges, not shared with another swap this round.
        used = np.zeros(m, np.int64)
        np.add.at(used, bad, 1)
        np.add.at(used, partner, 1)
        ok = (partner != bad) & (used[partner] == 1) & (used[bad] == 1)
        b, p = bad[ok], partner[ok]
        flip = rng.random(b.size) < 0.5
        a0, a1 = pairs[b, 0].copy(), pairs[b, 1].copy()
        c0 = np.where(flip, pairs[p, 1], pairs[p, 0])
        c1 = np.where(flip, pairs[p, 0], pairs[p, 1])
        pairs[b, 0], pairs[b, 1] = a0, c1
        pairs[p, 0], pairs[p, 1] = c0, a1
    raise RuntimeError("random_regular: repair did not converge (graph too dense?)")


def lattice(shape: int | Sequence[int] | np.ndarray, periodic: bool = True) -> Graph:
    r"""Hypercubic lattice with nearest-neighbour edges.

    Node $(x_0, \dots, x_{D-1})$ has index $\sum_a x_a \prod_{b > a} L_b$ (C order).

    Args:
      shape: Side lengths $(L_0, \dots, L_{D-1})$; each $\ge 3$ if `periodic` (so no
        repeated edges), $\ge 1$ otherwise. One int $L$ is the 1-D lattice (a ring
        or a path).
      periodic: Wrap around (a torus) or not.

    Returns:
      A `Graph` with $D\prod L$ edges (periodic) and no mask.
    """
    if np.ndim(shape) == 0:
        shape = (shape,)  # one side length: a ring (periodic) or a path
    shape = tuple(check_int("shape", s, min_value=1) for s in shape)
    if not shape:
        raise ValueError("`shape` must have at least one dimension")
    if periodic and min(shape) < 3:
        raise ValueError(f"`shape`={shape}: periodic lattices need every side >= 3")
    n = math.prod(shape)
    idx = np.arange(n, dtype=np.int64).reshape(shape)
    src, dst = [], []
    for axis in range(len(shape)):
        nb = np.roll(idx, -1, axis=axis)
        if periodic:
            src.append(idx.ravel())
            dst.append(nb.ravel())
        else:
            sl = [slice(None)] * len(shape)
            sl[axis] = slice(0, shape[axis] - 1)
            src.append(idx[tuple(sl)].ravel())
            dst.append(nb[tuple(sl)].ravel())
    return _assemble_host(np.concatenate(src), np.concatenate(dst), n)


def _numpy_rng(key) -> np.random.Generator:
    data = np.asarray(jr.key_data(key)).ravel().astype(np.uint64)
    return np.random.default_rng(data.tolist())
