r"""Bianconi–Barabási growth (5), the self-consistency equation (6), condensation (§3.3).

Model (Bianconi & Barabási 2001). Node $i$ carries a fitness $\eta_i \ge 0$. Starting from
a complete core of `n_core` nodes, node $t$ arrives and attaches $m$ links to $m$ distinct
existing nodes, each chosen with probability
$$\Pi_i = \frac{\eta_i k_i}{\sum_j \eta_j k_j}$$
(degrees $k_j$ before $t$ arrives; a repeated choice is redrawn). In the continuum limit
$k_i(t) \sim (t/t_i)^{\eta_i/C}$ (eq. 5) where, with $\eta_{\max} = 1$, $C$ solves
$$\int \rho(\eta)\,\frac{\eta}{C - \eta}\,d\eta = 1 \qquad (6)$$
(the chapter writes it as $\int \rho/(C/\eta - 1) = 1$, the same equation). The left side
decreases in $C$; if it is already below 1 at $C = \eta_{\max}$ there is no root with
$C \ge \eta_{\max}$: the fittest node keeps a finite fraction $n_0 = 1 - I(\eta_{\max})$ of
$mt$ links, $I(\eta_{\max}) = \int \rho\,\eta/(\eta_{\max} - \eta)\,d\eta$ — a
Bose–Einstein condensate; $k_{\max}/\sum_j k_j \to n_0/2$.

Where the chapter needs care: §3.3 says $\rho \sim (\eta_{\max} - \eta)^{\alpha_B}$ with
$\alpha_B \le 0$ ("sharply peaked") condenses and $\alpha_B > 0$ ("broad") does not. For
$\rho(\eta) = (1 + \theta)(1 - \eta)^\theta$, $I(1) = 1/\theta$, so the model condenses iff
$\theta > 1$: distributions that are *thin* near $\eta_{\max}$ condense, and every
$\alpha_B \le 0$ (mass piled at the top) gives the fit-get-rich phase. The criterion is not
$\alpha_B$ crossing 0 but $I(\eta_{\max})$ crossing 1. `condensation_constant` implements
(6); the `inverse_bec` experiment measures which distributions condense.

Growth is exact and sequential (`lax.scan` over arrivals), O(1) expected work per link:
a candidate is a uniform entry of the list of edge endpoints (probability $\propto k_i$),
accepted with probability $\eta_i / \eta_{\max}$ (so $\propto \eta_i k_i$); rejected and
repeated candidates are redrawn. The expected number of candidates per link is
$\eta_{\max} \sum_j k_j / \sum_j \eta_j k_j$ (e.g. $2/C \approx 1.6$ for uniform fitness).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from ._custom_types import Array, ArrayLike, Float, Int, PRNGKeyArray
from ._results import RESULTS, AbstractResult
from ._validate import (
    as_key,
    check_array,
    check_bool,
    check_float_dtype,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)
from .graph import Graph, from_pairs

__all__ = [
    "BBGrowth",
    "Condensation",
    "DatacenterBulkDensity",
    "ThetaDensity",
    "bianconi_barabasi",
    "condensate_share",
    "condensation_constant",
    "datacenter_edge_bulk_pdf",
    "datacenter_edge_fitness",
    "degree_exponent_mle",
    "growth_exponents",
    "predicted_exponents",
    "predicted_link_share",
    "theta_fitness",
    "theta_pdf",
    "uniform_fitness",
]

_MAX_ROUNDS = 4096  # redraw rounds per arrival before declaring a stall (status flag)


class BBGrowth(AbstractResult):
    r"""Result of `bianconi_barabasi`.

    Attributes:
      graph: The grown `Graph` (no mask), or `None` with `build_graph=False`.
      degrees: Final degrees, `int32[n]`.
      times: Network sizes $t$ (nodes present) at the records, `int32[r]` (`r = 0` when
        nothing is recorded).
      tracked_degrees: Degrees of the `track` nodes at each record, `int32[r, n_track]`
        (0 before a node arrives).
      kmax_share: Largest-degree share $k_{\max}/\sum_j k_j$ at each record, `float[r]`.
      n_proposals: Candidates drawn in all (links + rejections + repeats), `int32[]`.
      status: `RESULTS.successful`; `RESULTS.stalled` if some arrival could not find
        $m$ distinct targets within 4096 redraw rounds (the graph is then invalid);
        `RESULTS.invalid_parameter` if a traced `fitness` is out of its domain
        (negative, NaN/inf, or fewer than $m$ positive core nodes): then `degrees` and
        `tracked_degrees` are -1 and `kmax_share` is NaN.
    """

    graph: Graph | None
    degrees: Int[Array, " n"]
    times: Int[Array, " r"]
    tracked_degrees: Int[Array, "r k"]
    kmax_share: Float[Array, " r"]
    n_proposals: Int[Array, ""]
    status: RESULTS


def bianconi_barabasi(
    key: PRNGKeyArray | int,
    fitness: ArrayLike | Sequence[float],
    m: int,
    *,
    n_core: int | None = None,
    track: ArrayLike | Sequence[int] | None = None,
    record_every: int | None = None,
    build_graph: bool = True,
    distinct: bool = True,
    chunk: int = 1024,
) -> BBGrowth:
    r"""Grows a Bianconi–Barabási network, eq. (5), by exact sequential attachment.

    Nodes $0, \dots, n_0 - 1$ form a complete core ($n_0$ = `n_core`). Node
    $t = n_0, \dots, n - 1$ attaches $m$ links to distinct nodes $< t$, each drawn with
    probability $\propto \eta_i k_i$ among the nodes not yet chosen by $t$ (degrees before
    $t$ arrived). Candidates come from the endpoint list (probability $\propto k_i$) and are
    accepted with probability $\eta_i/\eta_{\max}$; a batch of candidates per arrival is
    drawn at once and redrawn in rounds until $m$ distinct targets are accepted. Blocks
    of arrivals are computed speculatively and iterated to the sequential result (see
    `_grow`). Random words come from XLA's RngBitGenerator seeded by `key`; they are
    drawn per block, so a realisation depends on `key` and the block size
    (`record_every` when recording, else `chunk`), its statistics do not.
    `jax.vmap` over keys gives independent replicas.

    Args:
      key: PRNG key (or an int seed).
      fitness: $\eta_i \ge 0$, shape `(n,)`, node $i$'s fitness (node $i$ arrives at time
        $i$). Finite, not all zero, and at least $m$ core nodes with $\eta_i > 0$. Only
        the ratio $\eta_i/\eta_{\max}$ matters. May be traced (then checked inside:
        `status` is `RESULTS.invalid_parameter` when it is out of its domain).
      m: Links per arriving node, $1 \le m \le n_0$ (static).
      n_core: Size $n_0$ of the complete initial core, $\max(2, m) \le n_0 < n$ (static);
        default $m + 1$.
      track: Node ids whose degrees are recorded, shape `(n_track,)` (static length;
        the ids may be traced: an id outside $[0, n)$ then gives `invalid_parameter`).
      record_every: Record `tracked_degrees` and `kmax_share` after every this many
        arrivals (and at the end). Default when `track` is given: about 1000 records.
      build_graph: Assemble the `Graph` (one O(E log E) sort); `False` returns degrees
        and records only.
      distinct: `True` (default): the $m$ targets are distinct (a simple graph; a
        repeated choice is redrawn), so a node gains at most one link per arrival.
        `False`: the $m$ links are independent draws $\propto \eta_i k_i$ (a
        multigraph) — the continuum model behind (5)–(6). The two differ where one node
        holds a macroscopic share $w$ of $\sum \eta k$: with distinct targets it gains
        about $1 - (1 - w)^m$ links per arrival instead of $m w$, so a condensate
        holds less than the $(1 - I)/2$ of (6) (at most $1/(2m)$ of all link ends).
      chunk: Arrivals whose random numbers are drawn together when nothing is recorded
        (performance only).

    Returns:
      A `BBGrowth`. Cost O(n m) expected time (times $\eta_{\max}\sum k/\sum\eta k$),
      O(n m) memory; plus O(E log E) for the graph.

    Raises:
      ValueError: `fitness` negative, NaN/inf, all zero, not 1-D, or with fewer than $m$
        positive core nodes; `m < 1`; `m > n_core`; `n_core` outside $[2, n)$; `track`
        ids outside $[0, n)$; `record_every < 1`.
    """
    key = as_key(key)
    m = check_int("m", m, min_value=1)
    fit = _as_fitness(fitness)
    n = fit.shape[0]
    if n_core is None:
        n_core = m + 1
    n_core = check_int("n_core", n_core, min_value=2)
    if m > n_core:
        raise ValueError(
            f"`m`={m} is larger than the initial core `n_core`={n_core}; "
            f"allowed: 1 <= m <= n_core"
        )
    if n_core >= n:
        raise ValueError(
            f"`n_core`={n_core} is out of range; allowed: 2 <= n_core < "
            f"n = len(fitness) = {n}"
        )
    _check_fitness_values(fit, n_core, m)
    chunk = check_int("chunk", chunk, min_value=1)
    build_graph = check_bool("build_graph", build_graph)
    distinct = check_bool("distinct", distinct)
    track_arr = None
    if track is not None:
        # Concrete ids are checked here; traced ones (only their count fixes shapes)
        # inside the kernel, where an id outside [0, n) is `invalid_parameter`.
        track_arr = check_array(
            "track", track, kind="int", ndim=1, low=0.0, high=float(n), high_open=True
        )
        if not jnp.issubdtype(jnp.asarray(track_arr).dtype, jnp.integer):
            raise TypeError(
                f"`track` must hold integer node ids, got {track_arr.dtype}"
            )
        track_arr = jnp.asarray(track_arr, jnp.int32)
    n_new = n - n_core
    if record_every is not None:
        record_every = check_int("record_every", record_every, min_value=1)
    elif track_arr is not None:
        record_every = max(1, n_new // 1000)
    if track_arr is None and record_every is not None:
        track_arr = jnp.zeros((0,), jnp.int32)
    record = record_every is not None
    block = min(record_every if record else chunk, n_new)
    return _grow(key, fit, track_arr, m, n_core, block, record, build_graph, distinct)


def _as_fitness(fitness) -> Array:
    arr = jnp.asarray(check_array("fitness", fitness, ndim=1, low=0.0))
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def _fitness_ok(fit, n_core: int, m: int) -> Array:
    """Inside the computation: `fitness` finite, >= 0, >= m positive core nodes."""
    return jnp.all(in_domain(fit, low=0.0)) & (
        jnp.sum(fit[:n_core] > 0, dtype=jnp.int32) >= m
    )


def _check_fitness_values(fitness, n_core: int, m: int) -> None:
    if is_traced(fitness):
        return
    a = np.asarray(fitness, dtype=float)
    if not np.any(a > 0):
        raise ValueError(
            "`fitness` is all zero; allowed: at least m core nodes with fitness > 0"
        )
    if np.count_nonzero(a[:n_core] > 0) < m:
        raise ValueError(
            f"`fitness` has {np.count_nonzero(a[:n_core] > 0)} core nodes "
            f"(of n_core={n_core}) with fitness > 0; allowed: >= m = {m}, "
            f"else the first arrival cannot find m targets"
        )


def _n_batch(m: int) -> int:
    return 2 * m + 6


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6, 7, 8))
def _grow(
    key,
    fit,
    track,
    m: int,
    n_core: int,
    block: int,
    record: bool,
    build_graph: bool,
    distinct: bool = True,
) -> BBGrowth:
    r"""The growth kernel.

    Semantics (what makes it exact and sequential): arrival $t$ reads its first `nb`
    candidates from its row of its block's random words, then, while it has fewer than
    $m$ distinct accepted targets, further rounds $r = 1, 2, \dots$ of `nb` candidates
    from RngBitGenerator keyed by $(t, r)$; its targets are the first $m$ valid
    candidates of that stream, each candidate reading the endpoint list as left by the
    arrivals before $t$.

    Computation (speculative, per block of arrivals): all arrivals of the block select
    at once against the current endpoint list, write their targets, and repeat until no
    target changes. Arrival $t$ reads only endpoints written before it, so at a fixed
    point every arrival sees exactly what sequential growth would show it (induction
    over the block), and after sweep $k$ the first $k$ arrivals are final: at most
    `block + 1` sweeps, in practice 2–4 once the network has a few thousand nodes
    (an arrival depends on its own block only when a candidate falls in it, probability
    about `block / t`).
    """
    n = fit.shape[0]
    fit_ok = _fitness_ok(fit, n_core, m)
    if track is not None:  # traced ids are checked here
        fit_ok = fit_ok & jnp.all((track >= 0) & (track < n))
    fit = jnp.where(fit_ok, fit, jnp.ones_like(fit))  # a traced invalid fitness
    n_new = n - n_core
    n_blocks = -(-n_new // block)
    n_core_edges = n_core * (n_core - 1) // 2
    cap = 2 * (n_core_edges + m * n_new)
    cap_pad = 2 * (n_core_edges + m * n_blocks * block)  # the last block may overhang
    nb = _n_batch(m)
    eta_max = jnp.max(fit)
    ci, cj = np.triu_indices(n_core, 1)
    core = np.stack([ci, cj], axis=1).reshape(-1).astype(np.int32)
    ends = jnp.zeros((cap_pad,), jnp.int32).at[: core.size].set(jnp.asarray(core))
    deg = None
    if record:
        deg = jnp.zeros((n,), jnp.int32).at[:n_core].set(n_core - 1)
    lower = jnp.asarray(np.tril(np.ones((nb, nb), bool), -1))  # [j, i]: i < j
    upper = jnp.asarray(np.tril(np.ones((nb, nb), bool)))  # [j, i]: i <= j
    slots = jnp.arange(m, dtype=jnp.int32)
    # Random words come from XLA's RngBitGenerator (fast to compile and to run on CPU,
    # unlike a threefry fold_in per arrival), seeded once from `key`.
    seed = jr.bits(key, (4,), jnp.uint32)

    def select(ends, idx, u, sel, count):
        cand = ends[idx]
        acc = u * eta_max < fit[cand]
        if distinct:
            in_sel = jnp.any(cand[:, None] == sel[None, :], axis=1)
            dup = jnp.any(
                (cand[:, None] == cand[None, :]) & lower & acc[None, :], axis=1
            )
            valid = acc & ~in_sel & ~dup
        else:
            valid = acc
        rank = count + jnp.sum(upper & valid[None, :], axis=1, dtype=jnp.int32) - 1
        hit = valid[None, :] & (rank[None, :] == slots[:, None])
        new = jnp.max(jnp.where(hit, cand[None, :], -1), axis=1)
        sel = jnp.maximum(sel, new)
        count = jnp.minimum(count + jnp.sum(valid, dtype=jnp.int32), m)
        return sel, count

    select_all = jax.vmap(select, in_axes=(None, 0, 0, 0, 0))

    def lengths_of(t):
        return 2 * (n_core_edges + m * (t - n_core))

    def interleave(ts, sel):
        src = jnp.broadcast_to(ts[:, None], sel.shape)
        return jnp.stack([src, sel], axis=-1).reshape(-1)

    def redraw(ends, t, length, sel, count):
        """Rounds r = 1, 2, ... of arrival t until it has m targets (or a stall)."""

        def more(s):
            return (s[2] < m) & (s[3] < _MAX_ROUNDS)

        def round_(s):
            ends, sel, count, r = s
            key_tr = seed ^ jnp.stack([t, r, t, r]).astype(jnp.uint32)
            _, b = _rbg((3, nb))(key_tr)
            idx, u = _from_bits(b, length, fit.dtype)
            sel, count = select(ends, idx, u, sel, count)
            return ends, sel, count, r + 1

        # `ends` goes through the loop (not captured), so XLA does not copy it.
        return lax.while_loop(more, round_, (ends, sel, count, jnp.int32(1)))

    def outer(carry, t0):
        ends, deg, kmax, nprop, state = carry
        state, bits = _rbg((block, 3, nb))(state)
        ts = t0 + jnp.arange(block, dtype=jnp.int32)
        lengths = lengths_of(ts)
        start = lengths_of(t0)
        idx, u = jax.vmap(_from_bits, in_axes=(0, 0, None))(bits, lengths, fit.dtype)
        real = ts < n
        sel_none = jnp.full((block, m), -1, jnp.int32)
        ends = lax.dynamic_update_slice(ends, interleave(ts, sel_none), (start,))

        def finish(j, st):  # redraw rounds for the j-th incomplete arrival
            ends, sel, count, todo, extra = st
            i = todo[j]
            ends, s_i, c_i, r_i = redraw(ends, ts[i], lengths[i], sel[i], count[i])
            return (
                ends,
                sel.at[i].set(s_i),
                count.at[i].set(c_i),
                todo,
                extra + r_i - 1,
            )

        def sweep(st):
            ends, sel_prev, _, _, extra = st
            sel, count = select_all(
                ends, idx, u, sel_none, jnp.zeros((block,), jnp.int32)
            )
            need = (count < m) & real
            todo = jnp.nonzero(need, size=block, fill_value=0)[0]
            n_todo = jnp.sum(need, dtype=jnp.int32)
            ends, sel, count, _, extra = lax.fori_loop(
                0, n_todo, finish, (ends, sel, count, todo, extra)
            )
            # The barrier keeps XLA from fusing the gathers from `ends` into the
            # in-place update of `ends` (which would copy all of `ends`).
            pairs = lax.optimization_barrier(interleave(ts, sel))
            ends = lax.dynamic_update_slice(ends, pairs, (start,))
            return ends, sel, count, jnp.any(sel != sel_prev), extra

        # Sweeps to the fixed point: after sweep k the first k arrivals of the block
        # are final, so at most block + 1 sweeps (typically 2-4).
        ends, sel, count, _, extra = lax.while_loop(
            lambda st: st[3],
            sweep,
            (
                ends,
                jnp.full((block, m), -2, jnp.int32),
                jnp.zeros((block,), jnp.int32),
                jnp.bool_(True),
                jnp.int32(0),
            ),
        )
        nprop = nprop + (jnp.sum(real, dtype=jnp.int32) + extra) * nb
        obs = None
        if record:
            tgt = jnp.where(real[:, None], sel, n)
            src = jnp.where(real, ts, n)
            # New nodes first (degree m), then every link of the block to its target
            # (a new node may already be a target of a later arrival in the block).
            deg = (
                deg.at[src].set(m, mode="drop").at[tgt.reshape(-1)].add(1, mode="drop")
            )
            kmax = jnp.maximum(
                kmax, jnp.max(deg.at[tgt].get(mode="fill", fill_value=0))
            )
            kmax = jnp.maximum(kmax, m)
            tot = jnp.sum(deg, dtype=jnp.int32)
            obs = deg[track], kmax.astype(fit.dtype) / tot.astype(fit.dtype)
        return (ends, deg, kmax, nprop, state), obs

    carry = (ends, deg, jnp.int32(n_core - 1), jnp.int32(0), seed)
    t0s = n_core + block * jnp.arange(n_blocks, dtype=jnp.int32)
    carry, obs = lax.scan(outer, carry, t0s)
    ends, _, _, nprop, _ = carry
    ends = ends[:cap]
    # A stalled arrival leaves -1 among its targets (never otherwise).
    ok = jnp.all(ends[2 * n_core_edges + 1 :: 2] >= 0)
    degrees = (
        jnp.zeros((n,), jnp.int32).at[jnp.where(ends >= 0, ends, n)].add(1, mode="drop")
    )
    if record:
        tracked, shares = obs
        times = jnp.asarray(
            np.minimum(n_core + block * (1 + np.arange(n_blocks)), n), jnp.int32
        )
    else:
        tracked = jnp.zeros((0, 0), jnp.int32)
        shares = jnp.zeros((0,), fit.dtype)
        times = jnp.zeros((0,), jnp.int32)
    graph = None
    if build_graph:
        g = from_pairs(ends[0::2], jnp.maximum(ends[1::2], 0), n)
        graph = Graph(g.senders, g.receivers, g.edge_ids, None, n)
    status = RESULTS.where(
        fit_ok,
        RESULTS.where(ok, RESULTS.successful, RESULTS.stalled),
        RESULTS.invalid_parameter,
    )
    return BBGrowth(
        graph=graph,
        degrees=nan_outside(fit_ok, degrees),
        times=times,
        tracked_degrees=nan_outside(fit_ok, tracked),
        kmax_share=nan_outside(fit_ok, shares),
        n_proposals=nprop,
        status=status,
    )


@functools.cache
def _rbg(shape: tuple[int, ...]):
    """`key -> (new_key, uint32 bits of shape)` by XLA's RngBitGenerator, vmap-safe.

    JAX batches `lax.rng_bit_generator` by drawing every replica's bits from the first
    replica's key; here a batch of keys is mapped over one key at a time instead, so
    `vmap` gives each replica its own stream (the same as a Python loop)."""

    @jax.custom_batching.custom_vmap
    def draw(key):
        return lax.rng_bit_generator(key, shape, jnp.uint32)

    @draw.def_vmap
    def _draw_batched(axis_size, in_batched, key):
        if not in_batched[0]:
            return draw(key), (False, False)
        return lax.map(draw, key), (True, True)

    return draw


def _mulhi(a, b):
    """High 32 bits of the 64-bit product of uint32 `a` and `b` (no uint64 needed)."""
    lo16 = jnp.uint32(0xFFFF)
    a0, a1 = a & lo16, a >> 16
    b0, b1 = b & lo16, b >> 16
    mid = ((a0 * b0) >> 16) + ((a1 * b0) & lo16) + ((a0 * b1) & lo16)
    return a1 * b1 + ((a1 * b0) >> 16) + ((a0 * b1) >> 16) + (mid >> 16)


def _from_bits(bits, length, dtype):
    """Indices and uniforms from `uint32[3, nb]` random words.

    The index is floor(w * length / 2^64) of a 64-bit random fraction w, built from two
    32-bit words without uint64 arithmetic (bias < length / 2^64)."""
    n = length.astype(jnp.uint32)
    h1 = _mulhi(bits[0], n)
    l1 = bits[0] * n
    s = l1 + _mulhi(bits[1], n)
    idx = (h1 + (s < l1).astype(jnp.uint32)).astype(jnp.int32)
    u = (bits[2] >> 8).astype(dtype) * jnp.asarray(2.0**-24, dtype)
    return idx, u


# ----------------------------------------------------------------------------- fitness


def _param(name, value, **domain):
    """A scalar real parameter: checked when concrete; (array, ok flag inside jit)."""
    value = check_real(name, value, **domain)
    value = jnp.asarray(value, dtype=float) if isinstance(value, float) else value
    if not jnp.issubdtype(value.dtype, jnp.floating):
        value = value.astype(float)
    return value, in_domain(value, **domain)


def _dtype(dtype):
    return jnp.dtype(check_float_dtype("dtype", dtype))


def uniform_fitness(
    key: PRNGKeyArray | int,
    n_nodes: int,
    eta_max: ArrayLike = 1.0,
    *,
    dtype: Any = None,
) -> Float[Array, " n"]:
    r"""$\eta_i \sim \mathrm{Uniform}(0, \eta_{\max})$, i.i.d., shape `(n_nodes,)`.

    For $\eta_{\max} = 1$, (6) gives $C \ln(C/(C - 1)) = 2$, i.e. $e^{-2/C} = 1 - 1/C$,
    $C \approx 1.2550$: no condensate. `eta_max` > 0 may be traced (NaN out of range).
    `dtype`: float32 or float64 (default: JAX's default float; float64 needs
    `jax_enable_x64`).
    """
    key = as_key(key)
    n_nodes = check_int("n_nodes", n_nodes, min_value=1)
    eta_max, ok = _param("eta_max", eta_max, low=0.0, low_open=True)
    dtype = _dtype(dtype)
    u = jr.uniform(key, (n_nodes,), dtype=dtype)
    return nan_outside(ok, eta_max.astype(dtype) * u)


def theta_fitness(
    key: PRNGKeyArray | int,
    n_nodes: int,
    theta: ArrayLike,
    *,
    dtype: Any = None,
) -> Float[Array, " n"]:
    r"""$\eta_i \sim \rho(\eta) = (1 + \theta)(1 - \eta)^\theta$ on $[0, 1]$, i.i.d.

    Sampled as $\eta = 1 - U^{1/(1+\theta)}$. $I(1) = \int\rho\,\eta/(1-\eta) = 1/\theta$,
    so (6) predicts a condensate iff $\theta > 1$ (the chapter's $\alpha_B = \theta$).

    Args:
      key: PRNG key (or an int seed).
      n_nodes: Number of nodes (static).
      theta: $\theta > -1$ (may be traced, e.g. under `sweep`; NaN out of range).
      dtype: float32 or float64 (default: JAX's default float; float64 needs
        `jax_enable_x64`).
    """
    key = as_key(key)
    n_nodes = check_int("n_nodes", n_nodes, min_value=1)
    theta, ok = _param("theta", theta, low=-1.0, low_open=True)
    dtype = _dtype(dtype)
    return nan_outside(ok, _theta_sample(key, n_nodes, theta.astype(dtype), ok, dtype))


def _theta_sample(key, n_nodes, theta, ok, dtype):
    u = jr.uniform(key, (n_nodes,), dtype=dtype, minval=jnp.finfo(dtype).tiny)
    safe = jnp.where(ok, theta, jnp.zeros_like(theta))
    return 1 - u ** (1 / (1 + safe))


class ThetaDensity(eqx.Module):
    r"""The density $\rho(\eta) = (1 + \theta)(1 - \eta)^\theta$ on $[0, 1]$ (`theta_pdf`).

    Call it on an array of $\eta$. On concrete values it evaluates in float64 NumPy (the
    quadrature of `condensation_constant` needs it near $\eta = 1$); on traced values
    in JAX.

    Attributes:
      theta: $\theta > -1$ (NaN when a traced value was out of range).
    """

    theta: Float[Array, ""]

    def __call__(self, eta):
        if is_traced(self.theta) or is_traced(eta):
            th = self.theta
            eta = jnp.asarray(eta, th.dtype)
            return (1 + th) * (1 - eta) ** th
        th = float(self.theta)
        eta = np.asarray(eta, float)
        return (1 + th) * (1 - eta) ** th


def theta_pdf(theta: ArrayLike) -> ThetaDensity:
    r"""The density $\rho(\eta) = (1 + \theta)(1 - \eta)^\theta$ on $[0, 1]$, $\theta > -1$.

    Returns a `ThetaDensity` (callable on $\eta$; a pytree, so `theta` may be traced:
    out of range it is NaN and so is the density).
    """
    theta, ok = _param("theta", theta, low=-1.0, low_open=True)
    return ThetaDensity(theta=nan_outside(ok, theta))


def datacenter_edge_fitness(
    key: PRNGKeyArray | int,
    n_nodes: int,
    learning: ArrayLike,
    *,
    n_datacenters: int = 1,
    gap: ArrayLike = 0.5,
    theta_bulk: ArrayLike = 0.0,
    dtype: Any = None,
) -> Float[Array, " n"]:
    r"""Datacenters plus edge devices; the learning curve moves the devices up (Prop. 3.3).

    The first `n_datacenters` nodes (incumbents, in the core) have $\eta = \eta_{\max} = 1$.
    Every other node is an edge device with
    $$\eta = a(\ell)\, x, \qquad a(\ell) = 1 - g (1 - \ell), \qquad
      x \sim (1 + \theta_b)(1 - x)^{\theta_b},$$
    i.e. $\eta_j(\ell) = \eta_j^0 + g_j(\ell)$ with $\eta_j^0 = (1 - g)x_j$ and
    $g_j(\ell) = g\ell x_j$ increasing, $g_j(0) = 0$ — the form of Prop. 3.3. At
    $\ell = 0$ the devices sit below $1 - g$; at $\ell = 1$ they reach $\eta_{\max}$.
    The datacenters are of measure zero, so (6) is that of the device distribution
    (`datacenter_edge_bulk_pdf`): a condensate on the datacenters iff
    $I(1) = \int \rho\,\eta/(1 - \eta) < 1$. For $\theta_b = 0$ that is
    $-\ln(1 - a)/a < 2$, i.e. $a < 0.7968$: $\ell < 1 - 0.2032/g$.

    Args:
      key: PRNG key (or an int seed).
      n_nodes: Total number of nodes $> $ `n_datacenters` (static).
      learning: Learning-curve parameter $\ell \in [0, 1]$.
      n_datacenters: Datacenter count $\ge 1$ (static).
      gap: Initial distance $g \in (0, 1]$ of the device ceiling below $\eta_{\max}$.
      theta_bulk: Shape $\theta_b > -1$ of the device distribution.
      dtype: float32 or float64 (default: JAX's default float; float64 needs
        `jax_enable_x64`).

    `learning`, `gap` and `theta_bulk` may be traced (NaN samples out of range).
    """
    key = as_key(key)
    n_nodes = check_int("n_nodes", n_nodes, min_value=2)
    n_datacenters = check_int(
        "n_datacenters", n_datacenters, min_value=1, max_value=n_nodes - 1
    )
    learning, ok_l = _param("learning", learning, low=0.0, high=1.0)
    gap, ok_g = _param("gap", gap, low=0.0, high=1.0, low_open=True)
    theta_bulk, ok_t = _param("theta_bulk", theta_bulk, low=-1.0, low_open=True)
    ok = ok_l & ok_g & ok_t
    dtype = _dtype(dtype)
    x = _theta_sample(key, n_nodes, theta_bulk.astype(dtype), ok_t, dtype)
    a = 1 - gap.astype(dtype) * (1 - learning.astype(dtype))
    eta = a * x
    return nan_outside(ok, eta.at[:n_datacenters].set(1))


class DatacenterBulkDensity(eqx.Module):
    r"""Density of the edge devices of `datacenter_edge_fitness` on $[0, 1]$:
    $\rho(\eta) = \rho_x(\eta/a)/a$ on $[0, a)$, 0 above, $a = 1 - g(1 - \ell)$.

    Callable on an array of $\eta$ (float64 NumPy on concrete values, JAX on traced
    ones); `support_max` is $a$ (used by the quadrature to place the endpoint).

    Attributes:
      learning, gap, theta_bulk: as in `datacenter_edge_fitness` (NaN when a traced
        value was out of range).
    """

    learning: Float[Array, ""]
    gap: Float[Array, ""]
    theta_bulk: Float[Array, ""]

    @property
    def support_max(self):
        return 1 - self.gap * (1 - self.learning)

    def __call__(self, eta):
        if is_traced((self.learning, self.gap, self.theta_bulk)) or is_traced(eta):
            xp, a, th = jnp, self.support_max, self.theta_bulk
            eta = jnp.asarray(eta, a.dtype)
        else:
            xp, a, th = np, float(self.support_max), float(self.theta_bulk)
            eta = np.asarray(eta, float)
        x = xp.clip(eta / a, 0.0, 1.0)
        inside = eta < a
        return xp.where(inside, (1 + th) * xp.where(inside, 1 - x, 1.0) ** th / a, 0.0)


def datacenter_edge_bulk_pdf(
    learning: ArrayLike, *, gap: ArrayLike = 0.5, theta_bulk: ArrayLike = 0.0
) -> DatacenterBulkDensity:
    r"""Density of the edge devices of `datacenter_edge_fitness` on $[0, 1]$:
    $\rho(\eta) = \rho_x(\eta/a)/a$ on $[0, a)$, 0 above (a `DatacenterBulkDensity`;
    its parameters may be traced, NaN out of range)."""
    learning, ok_l = _param("learning", learning, low=0.0, high=1.0)
    gap, ok_g = _param("gap", gap, low=0.0, high=1.0, low_open=True)
    theta_bulk, ok_t = _param("theta_bulk", theta_bulk, low=-1.0, low_open=True)
    ok = ok_l & ok_g & ok_t
    dtype = jnp.result_type(float)
    return DatacenterBulkDensity(
        learning=nan_outside(ok, learning.astype(dtype)),
        gap=nan_outside(ok, gap.astype(dtype)),
        theta_bulk=nan_outside(ok, theta_bulk.astype(dtype)),
    )


# ----------------------------------------------------------------------------- theory


class Condensation(AbstractResult):
    r"""Solution of (6).

    Attributes:
      C: The root $C > \eta_{\max}$ of $\int\rho\,\eta/(C-\eta) = 1$, or $\eta_{\max}$ when
        there is none (condensed phase).
      condensed: Whether a condensate is predicted (no root with $C \ge \eta_{\max}$,
        i.e. $I(\eta_{\max}) < 1$).
      integral_at_max: $I(\eta_{\max}) = \int \rho\,\eta/(\eta_{\max} - \eta)\,d\eta$
        (`inf` when it diverges).
      condensate_fraction: $n_0 = \max(0, 1 - I(\eta_{\max}))$: links held by the fittest
        node per $m t$; $k_{\max}/\sum k \to n_0/2$.
      status: `RESULTS.successful` (the solver is a bracketed bisection; it cannot
        fail on valid input, and invalid input raises).

    Host-side values (Python floats and a bool): the solver runs on the host.
    """

    C: float
    condensed: bool
    integral_at_max: float
    condensate_fraction: float
    status: RESULTS


def condensation_constant(
    rho: Callable[[np.ndarray], np.ndarray] | ArrayLike, *, eta_max: float | int = 1.0
) -> Condensation:
    r"""Solves the self-consistency equation (6), $\int\rho(\eta)\,\eta/(C - \eta)\,d\eta = 1$.

    $I(C) = \int \rho\,\eta/(C - \eta)$ decreases from $I(\eta_{\max})$ to 0 on
    $(\eta_{\max}, \infty)$; the root is found by bisection in $\log(C - \eta_{\max})$
    (60 steps, down to $C - \eta_{\max} = e^{-700}$). With a density, the integrals use
    tanh–sinh quadrature on $[0, \eta_{\max}]$ (endpoint singularities of $\rho$
    allowed); within $10^{-12}\eta_{\max}$ of the top, where $\eta_{\max} - \eta$ is not
    known to float64, a power law $B d^\theta$ fitted to $\rho$ just below is integrated
    exactly (exact for `theta_pdf`; for a mixture the smallest exponent dominates
    there). With samples, $\rho$ is their empirical measure.

    Args:
      rho: A density on $[0, \eta_{\max}]$ (a vectorised callable, normalised to 1), or a
        1-D array of fitness samples in $[0, \eta_{\max}]$. Samples *at* $\eta_{\max}$
        make $I(\eta_{\max}) = \infty$ (a finite fraction of top nodes shares the
        traffic; no single-node condensate): pass a zero-measure elite separately.
      eta_max: $\eta_{\max} > 0$, concrete (the quadrature and bisection run on the
        host; a traced value is a `TypeError`).

    Returns:
      A `Condensation`. Predicted growth exponents: `predicted_exponents(eta, C)`.
      Cost O(samples) or a few thousand density evaluations, times 60.

    Raises:
      ValueError: samples negative, NaN, above `eta_max`, empty or all zero; a density
        that is negative or integrates to a value off 1 by more than 1e-3.
    """
    return _condensation(rho, eta_max)[0]


def _condensation(rho, eta_max) -> tuple[Condensation, float]:
    """`condensation_constant` and C - eta_max (which C itself can round away: with a
    density nearly flat at the top it can be 1e-80)."""
    eta_max = _host_real("eta_max", eta_max, low=0.0, low_open=True)
    if callable(rho):
        hi = min(float(getattr(rho, "support_max", eta_max)), eta_max)
        x, d_hi, w = _tanh_sinh(hi)
        dens = _host_density(rho, x)
        if not np.all(np.isfinite(dens)) or dens.min() < 0:
            raise ValueError(
                "`rho` must be a finite, non-negative density on (0, eta_max)"
            )
        total = np.sum(w * dens)
        if abs(total - 1) > 1e-3:
            raise ValueError(
                f"`rho` integrates to {total:.6g}; allowed: 1 (normalise it)"
            )
        # Nodes closer to the top than d_cut are left out: there eta = hi - d rounds
        # (1 - eta is not known to float64), and a density like (1 - eta)^theta with a
        # small theta holds most of I(eta_max) within 1e-16 of the top (theta = 0.01:
        # I = 100, the quadrature alone found 30). Their part is a power law fitted to
        # the density just above d_cut, integrated exactly (`_top_tail`).
        d_cut = 1e-12 * hi
        inner = d_hi >= d_cut
        gap0 = eta_max - hi
        gap_top = gap0 + d_hi[inner]  # eta_max - x, without cancellation
        wd = (w * dens * x)[inner]
        tail = _top_tail(rho, hi, d_cut, gap0)

        def integral(eps):  # eps = C - eta_max >= 0
            return float(np.sum(wd / (eps + gap_top))) + tail(eps)
    else:
        if is_traced(rho):
            raise TypeError(
                "`rho` must be concrete samples (the solver runs on the host)"
            )
        s = np.asarray(check_array("rho", rho, nonempty=True), float).ravel()
        if s.min() < 0 or s.max() > eta_max:
            raise ValueError(
                f"`rho` samples must lie in [0, eta_max={eta_max}]; got "
                f"[{s.min()}, {s.max()}]"
            )
        if not np.any(s > 0):
            raise ValueError("`rho` samples are all zero")

        def integral(eps):
            with np.errstate(divide="ignore"):
                return float(np.mean(s / (eps + (eta_max - s))))

    i_max = integral(0.0)
    if not i_max > 1:
        return Condensation(
            C=eta_max,
            condensed=True,
            integral_at_max=i_max,
            condensate_fraction=max(0.0, 1.0 - i_max),
            status=RESULTS.successful,
        ), 0.0
    # (down to exp(-700): with a nearly flat density at the top, C - eta_max can be
    # 1e-80 and below)
    lo, hi_e = -700.0, math.log(eta_max) + 2.0
    while integral(math.exp(hi_e)) > 1:
        hi_e += 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi_e)
        if integral(math.exp(mid)) > 1:
            lo = mid
        else:
            hi_e = mid
    eps = math.exp(0.5 * (lo + hi_e))
    return Condensation(
        C=eta_max + eps,
        condensed=False,
        integral_at_max=i_max,
        condensate_fraction=0.0,
        status=RESULTS.successful,
    ), eps


def _host_real(name, value, **domain) -> float:
    if is_traced(value):
        raise TypeError(
            f"`{name}` must be a concrete number: the quadrature and bisection run on "
            f"the host (got a traced value)"
        )
    return check_real(name, value, **domain)


def _host_density(rho, x) -> np.ndarray:
    if is_traced(jax.tree_util.tree_leaves(rho)):
        raise TypeError(
            "`rho` has traced parameters: the quadrature runs on the host, so the "
            "density must be concrete"
        )
    return np.asarray(rho(x), float)


def predicted_link_share(
    rho: Callable[[np.ndarray], np.ndarray],
    eta_low: float | int,
    *,
    eta_max: float | int = 1.0,
) -> float:
    r"""Share of all link ends held by nodes with $\eta \ge \eta_{\rm low}$, from (5)–(6).

    A node of fitness $\eta$ born at $t_i$ has $k = m (t/t_i)^{\eta/C}$, so nodes with
    $\eta \in A$ hold $m t \int_A \rho/(1 - \eta/C)\,d\eta$ of the $2mt$ link ends; in the
    condensed phase ($C = \eta_{\max}$) the condensate adds $n_0 m t$, $n_0 = 1 - I$:
    $$s = \frac12\Big[\int_{\eta_{\rm low}}^{\eta_{\max}} \frac{\rho(\eta)\,d\eta}
         {1 - \eta/C} + n_0\Big].$$
    (Continuum model, i.e. `distinct=False`; with distinct targets a condensate is
    smaller.)

    Args:
      rho: A density on $[0, \eta_{\max}]$ (vectorised callable).
      eta_low: Threshold in $[0, \eta_{\max})$ (concrete: host-side quadrature).
      eta_max: $\eta_{\max}$ (concrete).

    Returns:
      The predicted share in $[0, 1]$ (a Python float).
    """
    eta_max = _host_real("eta_max", eta_max, low=0.0, low_open=True)
    eta_low = _host_real("eta_low", eta_low, low=0.0, high=eta_max, high_open=True)
    cond, eps = _condensation(rho, eta_max)
    hi = min(float(getattr(rho, "support_max", eta_max)), eta_max)
    if eta_low >= hi:
        return 0.5 * cond.condensate_fraction
    x, d_hi, w = _tanh_sinh(hi - eta_low)
    x = eta_low + x
    # as in `condensation_constant`: the nodes within d_cut of the top are replaced by
    # the fitted power law's exact integral (there 1 - eta is not known to float64)
    d_cut = 1e-12 * hi
    keep = (x < hi) & (d_hi >= d_cut)
    x, d_hi, w = x[keep], d_hi[keep], w[keep]
    gap0 = eta_max - hi
    gap_top = gap0 + d_hi
    dens = _host_density(rho, x)
    integral = float(np.sum(w * dens * cond.C / (eps + gap_top)))
    if hi - eta_low > d_cut:
        integral += cond.C / hi * _top_tail(rho, hi, d_cut, gap0)(eps)
    return 0.5 * (integral + cond.condensate_fraction)


def _top_tail(rho, hi: float, d_cut: float, gap0: float):
    r"""$\int_0^{d_{cut}} \rho(h - d)\,(h - d)/(\epsilon + g_0 + d)\,dd$ as a function of
    $\epsilon$, with $\rho(h - d) \approx B d^\theta$ fitted on $d \in [d_{cut}, 10^3
    d_{cut}]$ (exact for the $\theta$ densities; for a mixture, the smallest exponent
    dominates there). `inf` at $\epsilon + g_0 = 0$ where $\theta \le 0$ (I diverges:
    a density that does not vanish at the top)."""
    d = d_cut * np.array([1.0, 10.0, 100.0, 1000.0])
    g = _host_density(rho, hi - d)
    if not np.all(np.isfinite(g)) or np.any(g <= 0):
        return lambda eps: 0.0  # vanishing (or zero) at the top: nothing left there
    theta, log_b = np.polyfit(np.log(d), np.log(g), 1)
    b = math.exp(log_b)

    def tail(eps: float) -> float:
        r = (eps + gap0) / d_cut
        scale = b * hi * d_cut**theta  # (h - d ~ h within 1e-12)
        if r == 0:
            return math.inf if theta <= 1e-9 else scale / theta
        # int_0^1 v^theta / (r + v) dv over u = ln v (the integrand e^((theta+1) u) /
        # (r + e^u) is ~e^(theta u) above ln r, ~e^((theta+1) u) / r below)
        u_min = max(math.log(r) - 40.0, -745.0)
        u = np.linspace(u_min, 0.0, 20001)
        f = np.exp((theta + 1) * u) / (r + np.exp(u))
        val = float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(u)))
        if u_min == -745.0 and theta > 0:  # the part below, where v >> r
            val += math.exp(theta * u_min) / theta
        return scale * val

    return tail


def _tanh_sinh(b: float, h: float = 1 / 64, tmax: float = 3.2):
    """Nodes x, distances b - x and weights of tanh–sinh quadrature on [0, b]."""
    tau = np.arange(-tmax, tmax + h / 2, h)
    z = 0.5 * np.pi * np.sinh(tau)
    x = b / (1 + np.exp(-2 * z))
    d_hi = b / (1 + np.exp(2 * z))
    w = h * b * 0.5 * np.pi * np.cosh(tau) / (2 * np.cosh(z) ** 2)
    keep = (x > 0) & (x < b) & (d_hi > 0) & (w > 0)
    return x[keep], d_hi[keep], w[keep]


def predicted_exponents(fitness: ArrayLike, C: ArrayLike) -> Float[Array, ...]:
    r"""Growth exponents $\beta(\eta) = \eta / C$ of eq. (5), same shape as `fitness`.

    `fitness` $\ge 0$ and `C` $> 0$ may be traced (NaN where out of range)."""
    f = jnp.asarray(check_array("fitness", fitness, low=0.0))
    if not jnp.issubdtype(f.dtype, jnp.floating):
        f = f.astype(float)
    c, ok = _param("C", C, low=0.0, low_open=True)
    ok = ok & in_domain(f, low=0.0)
    return nan_outside(ok, f / c.astype(f.dtype))


# ----------------------------------------------------------------------------- measures


def growth_exponents(
    times: ArrayLike,
    degrees: ArrayLike,
    *,
    t_min: float | int = 1.0,
) -> Float[Array, "*b k"]:
    r"""Least-squares slopes of $\log k_i$ on $\log t$ over records with $t \ge t_{\min}$.

    The measured counterpart of the exponent $\eta_i / C$ in (5). Records where a node
    has degree 0 (not yet arrived) must be excluded by `t_min`.

    Args:
      times: Record times, shape `(r,)` (from `BBGrowth.times`), concrete (they select
        records, which fixes shapes).
      degrees: Degrees at the records, shape `(*b, r, k)` (e.g. `tracked_degrees`,
        possibly stacked over replicas); may be traced.
      t_min: First time used (concrete, an option).

    Returns:
      Slopes, shape `(*b, k)`.
    """
    if is_traced(times):
        raise TypeError("`times` must be concrete (it selects records)")
    t = np.asarray(check_array("times", times, ndim=1, low=0.0, low_open=True), float)
    t_min = _host_real("t_min", t_min)
    sel = t >= t_min
    if sel.sum() < 2:
        raise ValueError(f"`t_min`={t_min} leaves {sel.sum()} records; need >= 2")
    degrees = check_array("degrees", degrees, low=0.0)
    if degrees.ndim < 2 or degrees.shape[-2] != t.size:
        raise ValueError(
            f"`degrees` must have shape (*b, r={t.size}, k), got shape {degrees.shape}"
        )
    k = jnp.asarray(degrees)[..., sel, :]
    if not is_traced(k) and np.any(np.asarray(k) <= 0):
        raise ValueError("`degrees` has zeros at t >= t_min (node not yet arrived)")
    x = np.log(t[sel])
    x = jnp.asarray(x - x.mean(), jnp.result_type(float))
    y = jnp.log(k.astype(x.dtype))
    y = y - jnp.mean(y, axis=-2, keepdims=True)
    return jnp.einsum("r,...rk->...k", x, y) / jnp.sum(x * x)


def condensate_share(degrees: ArrayLike) -> Float[Array, "*b"]:
    r"""$k_{\max} / \sum_j k_j$, the largest-degree share (condensate fraction).

    `degrees` $\ge 0$, shape `(*b, n)`, may be traced (NaN where a row is negative)."""
    d = jnp.asarray(check_array("degrees", degrees, ndim=None, low=0.0, nonempty=True))
    if d.ndim < 1:
        raise ValueError(f"`degrees` must have shape (*b, n), got shape {d.shape}")
    dt = jnp.result_type(float)
    ok = jnp.all(in_domain(d, low=0.0), axis=-1)
    share = jnp.max(d, axis=-1).astype(dt) / jnp.sum(d, axis=-1).astype(dt)
    return nan_outside(ok, share)


def degree_exponent_mle(degrees: ArrayLike, k_min: int) -> float:
    r"""Discrete power-law exponent $\hat\gamma = 1 + n / \sum_i \ln(k_i/(k_{\min} - 1/2))$
    over $k_i \ge k_{\min}$ (Clauset–Shalizi–Newman approximation). BA: $\gamma = 3$.

    Returns the estimate as a Python float (host-side: `degrees` must be concrete)."""
    k_min = check_int("k_min", k_min, min_value=1)
    if is_traced(degrees):
        raise TypeError("`degrees` must be concrete (host-side estimate)")
    k = np.asarray(check_array("degrees", degrees, low=0.0), float).ravel()
    k = k[k >= k_min]
    if k.size < 2:
        raise ValueError(f"`degrees`: fewer than 2 degrees >= k_min={k_min}")
    return float(1 + k.size / np.sum(np.log(k / (k_min - 0.5))))
