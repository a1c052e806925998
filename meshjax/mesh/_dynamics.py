"""One step of the whole mesh: arrivals, specialisation, skills, diffusion, routing,
settlement, autocatalytic operations and recombinant variety."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from ._params import MeshParams, cast, params_ok
from ._state import MeshState, Tally

# ------------------------------------------------------------------------------ arrivals
_DRAWS = 4  # candidate draws per target link (see `_arrive`)


def _arrive(key, st: MeshState, p: MeshParams):
    """Bianconi–Barabási arrivals: each new agent links to m agents drawn ∝ η_i k_i."""
    n, m, b = st.n_agents, st.m, st.max_arrivals
    dtype = st.fitness.dtype
    k_n, k_pick, k_link = jr.split(key, 3)
    N = st.n_present
    want = jnp.floor(p.growth * N.astype(dtype) + jr.uniform(k_n, (), dtype))
    want = jnp.minimum(want, jnp.asarray(b, dtype)).astype(jnp.int32)
    n_new = jnp.minimum(want, n - N)
    # Each target is drawn ∝ eta_i k_i over the present agents, exactly: a uniform point
    # of the cumulative weights. (A uniform edge end accepted with probability eta_i,
    # at most 16 tries, dropped the link when all failed: at theta = 10 a sixth of the
    # arrivals stayed isolated, at theta = 50 nearly all, with link_prob = 1.)
    present = jnp.arange(n, dtype=jnp.int32) < N
    w = jnp.where(present, st.fitness * st.degree.astype(dtype), 0)
    cw = jnp.cumsum(w)
    total = cw[-1]
    # The m targets are distinct: the first m distinct of _DRAWS * m draws, which is
    # drawing ∝ eta_i k_i without replacement; a target is missing only where fewer
    # than m distinct agents came up (few agents, or one hub holding most weight).
    k = _DRAWS * m
    u = jr.uniform(k_pick, (b, k), dtype) * total
    cand = jnp.minimum(jnp.searchsorted(cw, u, side="right"), n - 1).astype(jnp.int32)
    # (no weight at all: no target; u rounding up to the total: not a weightless agent)
    valid = (total > 0) & (w[cand] > 0)
    # draw i is new where no earlier draw j < i of its row names the same agent; one
    # (b, k, k) comparison rather than k unrolled ones (the program's size and compile
    # time grew with k^2 before; same targets)
    earlier = jnp.tri(k, k, -1, dtype=bool).T  # [j, i]: j < i
    seen = jnp.any((cand[:, :, None] == cand[:, None, :]) & earlier, axis=1)
    new = valid & ~seen
    rank = jnp.cumsum(new, axis=1, dtype=jnp.int32) - 1
    pick = new[:, :, None] & (rank[:, :, None] == jnp.arange(m, dtype=jnp.int32))
    chosen = jnp.max(jnp.where(pick, cand[:, :, None], -1), axis=1)  # (b, m)
    rows = jnp.arange(b, dtype=jnp.int32)
    live = (rows < n_new)[:, None]
    links = jr.uniform(k_link, (b, m), dtype) < p.link_prob
    chosen = jnp.where(live & links, chosen, -1)
    ids = N + rows
    slots = (ids[:, None] * m + jnp.arange(m, dtype=jnp.int32)[None, :]).reshape(-1)
    slots = jnp.where(live.repeat(m, axis=1).reshape(-1), slots, n * m)
    targets = st.targets.at[slots].set(chosen.reshape(-1), mode="drop")
    flat = chosen.reshape(-1)
    deg = st.degree.at[jnp.where(flat >= 0, flat, n)].add(1, mode="drop")
    own = jnp.sum(chosen >= 0, axis=1, dtype=jnp.int32)
    deg = deg.at[jnp.where(rows < n_new, ids, n)].add(own, mode="drop")
    st = eqx_replace(st, targets=targets, degree=deg, n_present=N + n_new)
    return st, n_new


def eqx_replace(st, **kw):
    import equinox as eqx

    return eqx.tree_at(lambda s: [getattr(s, k) for k in kw], st, list(kw.values()))


# ------------------------------------------------------------------------ specialisation
def _response(s, theta, n):
    """Eq. (9), s^n / (s^n + θ^n), as a logistic in logs (as `specialization`)."""
    tiny = jnp.finfo(s.dtype).tiny
    t = jax.nn.sigmoid(
        n * (jnp.log(jnp.maximum(s, tiny)) - jnp.log(jnp.maximum(theta, tiny)))
    )
    t = jnp.where((s == 0) & (theta > 0), jnp.zeros((), s.dtype), t)
    return jnp.where((theta == 0) & (s > 0), jnp.ones((), s.dtype), t)


def _specialise(key, st: MeshState, p: MeshParams, present):
    """Task choice and thresholds, eqs. (9)–(10) (the rule of `specialization.step`)."""
    n, J = st.capability.shape
    dtype = st.capability.dtype
    k_quit, k_pick, k_go = jr.split(key, 3)
    task = st.task
    working = task < J
    quits = jr.uniform(k_quit, (n,), dtype) < p.quit_prob
    cand = jr.randint(k_pick, (n,), 0, st.n_types, dtype=jnp.int32)
    th_c = jnp.take_along_axis(st.thresholds, cand[:, None], axis=1)[:, 0]
    go = jr.uniform(k_go, (n,), dtype) < _response(st.stimuli[cand], th_c, p.steepness)
    new = jnp.where(working, jnp.where(quits, J, task), jnp.where(go, cand, J))
    new = jnp.where(present, new, J)
    x = new[:, None] == jnp.arange(J, dtype=jnp.int32)[None, :]
    xf = x.astype(dtype)
    active = (jnp.arange(J, dtype=jnp.int32) < st.n_types)[None, :]
    th = jnp.clip(
        st.thresholds - p.learning * xf + p.forgetting * (1.0 - xf),
        p.theta_min,
        p.theta_max,
    )
    th = jnp.where(present[:, None] & active, th, st.thresholds)
    return new, xf, th


# ---------------------------------------------------------------------------- diffusion
def _edges(st: MeshState):
    s = st.targets.shape[0]
    own = jnp.arange(s, dtype=jnp.int32) // st.m
    valid = st.targets >= 0
    return own, jnp.where(valid, st.targets, own), valid


def _diffuse(st: MeshState, c, kappa):
    r"""One explicit step of (11): $c \leftarrow c - \kappa L_w c$ (total conserved)."""
    n, J = c.shape
    own, dst, valid = _edges(st)
    if st.diffusion == "metropolis":
        kmax = jnp.maximum(st.degree[own], st.degree[dst]).astype(c.dtype)
        w = jnp.where(valid, 1.0 / (1.0 + kmax), jnp.zeros((), c.dtype))
    else:
        w = valid.astype(c.dtype)
    flow = (kappa * w)[:, None] * (c[dst] - c[own])  # into own, out of dst
    into_own = flow.reshape(n, st.m, J).sum(axis=1)
    out_dst = jax.ops.segment_sum(flow, dst, n)
    return c + into_own - out_dst


# ------------------------------------------------------------------------------ routing
def routing_table(st: MeshState, c):
    r"""Best neighbour per (agent, type): `nxt[u, j]` = the neighbour $v$ of $u$ with the
    largest $c_{vj}$ (ties: largest id), -1 for an isolated agent; and its value."""
    n, J = c.shape
    m = st.m
    own, dst, valid = _edges(st)
    # float bits of non-negative floats order like the floats
    itype = jnp.int32 if c.dtype == jnp.float32 else jnp.int64
    bits = lax.bitcast_convert_type(c, itype)
    neg = jnp.asarray(-1, itype)
    # direction own -> dst (own's neighbour dst): contiguous groups of m slots
    b_dst = jnp.where(valid[:, None], bits[dst], neg).reshape(n, m, J)
    best = jnp.max(b_dst, axis=1)
    # direction dst -> own: scatter-max over dst
    b_own = jnp.where(valid[:, None], bits[own], neg)
    best = best.at[dst].max(b_own)
    # the id achieving it (largest id among ties)
    id_dst = jnp.where(
        b_dst == best[:, None, :], dst.reshape(n, m)[:, :, None], -1
    ).max(axis=1)
    hit = valid[:, None] & (b_own == best[dst])
    id_own = jnp.where(hit, own[:, None], -1)
    nxt = id_dst.at[dst].max(id_own)
    nxt = jnp.where(best >= 0, nxt, -1)
    return nxt.astype(jnp.int32)


def route_queries(st: MeshState, c, nxt, src, qtype, live, threshold):
    r"""Greedy routing by capability, vectorised over queries.

    A query of type $j$ starts at its issuer $u$. At each hop: if $u$ can serve $j$
    ($c_{uj} \ge c_{\min}$ and $c_{uj} > 0$) it is served there; else it moves to $u$'s
    neighbour $v$ with the largest $c_{vj}$ if $c_{vj} > c_{uj}$ (strict ascent: no
    cycles); else it stops at a dead end. After `max_hops` moves it stops (hop limit).

    Returns (served, server, hops, dead_end, hop_limit); `hops` counts moves.
    """
    H = st.max_hops
    capable = (c >= threshold) & (c > 0)
    pos = src
    done = live & capable[pos, qtype]
    stop = ~live | done
    hops = jnp.zeros(src.shape, jnp.int32)

    def body(_, carry):
        pos, hops, done, stop = carry
        nb = nxt[pos, qtype]
        nb_safe = jnp.maximum(nb, 0)
        better = (nb >= 0) & (c[nb_safe, qtype] > c[pos, qtype])
        move = ~stop & better
        pos = jnp.where(move, nb_safe, pos)
        hops = hops + move.astype(jnp.int32)
        now = move & capable[pos, qtype]
        done = done | now
        stop = stop | now | ~better
        return pos, hops, done, stop

    pos, hops, done, stop = lax.fori_loop(0, H, body, (pos, hops, done, stop))
    dead = live & ~done & stop
    limit = live & ~done & ~stop
    return done, pos, hops, dead, limit


def _settle(earned, paid, served, server, src):
    """One payment per query served by another agent: issuer pays, server earns."""
    n = earned.shape[0]
    pay = served & (server != src)
    earned = earned.at[jnp.where(pay, server, n)].add(1, mode="drop")
    paid = paid.at[jnp.where(pay, src, n)].add(1, mode="drop")
    return earned, paid, pay


# ------------------------------------------------------------------------------ variety
def _viable_pairs(st: MeshState, task):
    """Unordered pairs of distinct active types joined by at least one edge between a
    worker on one and a worker on the other (App. D: recombination needs contact)."""
    J = st.capability.shape[1]
    own, dst, valid = _edges(st)
    a, b = task[own], task[dst]
    ok = valid & (a < J) & (b < J) & (a != b)
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    flat = jnp.where(ok, lo * J + hi, J * J)
    seen = jnp.zeros((J * J,), jnp.int32).at[flat].max(1, mode="drop")
    return jnp.sum(seen, dtype=jnp.int32)


# --------------------------------------------------------------------------------- step
def step(key, state: MeshState, params: MeshParams) -> MeshState:
    r"""One step of the whole mesh (`meshjax.mesh` module docstring for the rules).

    Order: arrivals (Bianconi–Barabási), task choice and thresholds (9)–(10), learning
    by doing, one diffusion step of (11), routing table, queries routed and settled,
    autocatalytic operations (with `raf_ops > 0`), stimuli, recombinant variety.

    Args:
      key: PRNG key (or int seed).
      state: The current `MeshState`.
      params: `MeshParams` (may be traced: where a traced value is outside its domain,
        or `theta_min >= theta_max`, the returned state's capabilities, thresholds and
        stimuli are NaN; `simulate` reports it as `RESULTS.invalid_parameter`).

    Returns:
      The next `MeshState`; its `tally` has this step's counts added. Cost
      O(n (J + H) + E J + B m log n) (B = `max_arrivals`).
    """
    from .._validate import as_key

    if not isinstance(state, MeshState):
        raise TypeError(f"`state` must be a MeshState, got {type(state).__name__}")
    if not isinstance(params, MeshParams):
        raise TypeError(f"`params` must be a MeshParams, got {type(params).__name__}")
    return _step_jit(as_key(key), state, params)


@eqx.filter_jit
def _step_jit(key, state, params):
    return _step(key, state, params)


def _step(key, st: MeshState, params: MeshParams) -> MeshState:
    dtype = st.capability.dtype
    p = cast(params, dtype)
    n, J = st.capability.shape
    k_arr, k_spec, k_q, k_t, k_raf, k_raft, k_var = jr.split(key, 7)
    st, n_new = _arrive(k_arr, st, p)
    N = st.n_present
    present = st.present()
    active = (jnp.arange(J, dtype=jnp.int32) < st.n_types)[None, :]
    task, x, th = _specialise(k_spec, st, p, present)
    # learning by doing: c -> c + gamma (cbar x - c), cbar = fitness
    c = st.capability
    learn = p.skill_rate * (st.fitness[:, None] * x - c)
    c = jnp.where(present[:, None] & active, c + learn, c)
    c = _diffuse(st, c, p.diffusion_rate)
    c = jnp.where(c > 0, c, jnp.zeros((), dtype))  # no -0.0, no negatives
    st = eqx_replace(st, capability=c, thresholds=th, task=task)
    nxt = routing_table(st, c)
    # queries: one per present agent with probability query_rate, type uniform
    src = jnp.arange(n, dtype=jnp.int32)
    live = present & (jr.uniform(k_q, (n,), dtype) < p.query_rate)
    qtype = jr.randint(k_t, (n,), 0, st.n_types, dtype=jnp.int32)
    served, server, hops, dead, limit = route_queries(
        st, c, nxt, src, qtype, live, p.serve_threshold
    )
    earned, paid, pay = _settle(st.earned, st.paid, served, server, src)
    H = st.max_hops
    hist = (
        jnp.zeros((H + 1,), jnp.int32)
        .at[jnp.where(served, hops, H + 1)]
        .add(1, mode="drop")
    )
    # autocatalytic operations: each agent performs each of the R operations with
    # probability f; operation r needs a server of its catalyst type, found by routing
    R = st.raf_types.shape[0]
    raf_att = jnp.zeros((), jnp.int32)
    raf_tx = jnp.zeros((), jnp.int32)
    if R:
        rsrc = jnp.repeat(src, R)
        rtype = jnp.tile(st.raf_types, n)
        rlive = jnp.repeat(present, R) & (jr.uniform(k_raf, (n * R,), dtype) < p.raf_f)
        rserved, rserver, _, _, _ = route_queries(
            st, c, nxt, rsrc, rtype, rlive, p.serve_threshold
        )
        earned, paid, rpay = _settle(earned, paid, rserved, rserver, rsrc)
        raf_att = jnp.sum(rlive, dtype=jnp.int32)
        raf_tx = jnp.sum(rpay, dtype=jnp.int32)
    # stimuli: query demand in, work out (the global rule of `specialization`)
    Nf = jnp.maximum(N, 1).astype(dtype)
    demand = jnp.zeros((J,), dtype).at[jnp.where(live, qtype, J)].add(1.0, mode="drop")
    work = jnp.sum(x, axis=0)
    stim = jnp.maximum(st.stimuli + (demand - p.efficiency * work) / Nf, 0.0)
    stim = jnp.where(active[0], stim, st.stimuli)
    # recombinant variety (App. D): new types at rate nu * (viable pairs) * (1 - J/Jmax)
    pairs = _viable_pairs(st, task)
    jf = st.n_types.astype(dtype)
    rate = p.variety_rate * pairs.astype(dtype) * (1.0 - jf / J)
    # stochastic rounding: mean = rate (a Poisson draw costs a while loop per step)
    born = jnp.floor(jnp.maximum(rate, 0.0) + jr.uniform(k_var, (), dtype))
    born = born.astype(jnp.int32)
    born = jnp.minimum(born, J - st.n_types)
    tl = st.tally
    tally = Tally(
        steps=tl.steps + 1,
        arrivals=tl.arrivals + n_new,
        queries=tl.queries + jnp.sum(live, dtype=jnp.int32),
        served=tl.served + jnp.sum(served, dtype=jnp.int32),
        self_served=tl.self_served + jnp.sum(served & ~pay, dtype=jnp.int32),
        transactions=tl.transactions + jnp.sum(pay, dtype=jnp.int32),
        dead_end=tl.dead_end + jnp.sum(dead, dtype=jnp.int32),
        hop_limit=tl.hop_limit + jnp.sum(limit, dtype=jnp.int32),
        hop_hist=tl.hop_hist + hist,
        raf_attempts=tl.raf_attempts + raf_att,
        raf_transactions=tl.raf_transactions + raf_tx,
        new_types=tl.new_types + born,
        viable_pairs=pairs,
    )
    # A traced parameter outside its domain (or theta_min >= theta_max): the state's
    # floats become NaN, so the step cannot pass for a plausible one (its NaN
    # capabilities were zeroed above: present agents' total capability went to 0).
    ok = params_ok(params)
    nan = jnp.asarray(jnp.nan, dtype)
    return eqx_replace(
        st,
        capability=jnp.where(ok, st.capability, nan),
        thresholds=jnp.where(ok, st.thresholds, nan),
        stimuli=jnp.where(ok, stim, nan),
        earned=earned,
        paid=paid,
        n_types=st.n_types + born,
        t=st.t + 1,
        tally=tally,
    )
