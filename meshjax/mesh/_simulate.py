"""The driver: `simulate` grows and runs the mesh under `lax.scan` and records it."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from .._custom_types import Array, Float, Int
from .._results import RESULTS, AbstractResult
from .._validate import as_key, check_int
from ._dynamics import _step, eqx_replace
from ._measure import ces_mesh, giant_members, lanczos_lambda2, tail_exponent
from ._params import MeshParams, cast, params_ok
from ._state import MeshState, empty_tally, init_state


class MeshResult(AbstractResult):
    r"""Records of a whole-mesh run (`simulate`), one entry per record (axis `r`).

    Per-step quantities are means over the steps since the previous record.

    Attributes:
      t: Steps done at each record, `int32[r]`.
      n_present: Agents present $N$, `int32[r]`.
      giant_fraction: Largest component / $N$, `[r]`.
      c_mesh: $C_{\rm mesh}$ of (15) over the giant component's agents and the active
        types, `[r]`.
      c_mesh_all: The same over all present agents, `[r]`.
      lambda2: Ritz upper bound on $\lambda_2(L)$ of the giant component (`lanczos_steps`
        Lanczos steps), NaN at records where it is not computed, `[r]`.
      mean_degree: $\langle k \rangle$ over present agents, `[r]`.
      max_degree: `int32[r]`.
      degree_exponent: Discrete power-law MLE of the degree tail ($k \ge$ `k_min`), `[r]`.
      queries_per_step, transactions_per_step, raf_attempts_per_step,
      raf_transactions_per_step, arrivals_per_step: Means per step, `[r]`.
      served_share: Served / issued queries, `[r]`; self_served_share: served by the
        issuer itself (0 hops, no payment) / issued; dead_end_share, hop_limit_share:
        the two ways a query goes unserved.
      mean_hops: Mean hops of the queries served by another agent, `[r]`.
      hop_hist: `int32[r, max_hops + 1]`: served queries by hop count since the previous
        record.
      n_types: Active types $J(t)$, `int32[r]`; new_types: types created since the
        previous record, `int32[r]`; viable_pairs: viable pairs at the record, `int32[r]`.
      specialist_share: Present agents whose largest capability reaches
        `serve_threshold`, `[r]`.
      final: The final `MeshState` (a checkpoint: `step` continues from it).
      status: `RESULTS.successful`; `invalid_parameter` (a traced parameter outside its
        domain; float outputs NaN); `nonfinite` (NaN/inf capabilities); `overflow` (a
        recorded $C_{\rm mesh}$ is beyond the float range: (15) grows like
        $J^{1/\rho}$, so a small $\rho$ overflows float32; run in float64).
    """

    t: Int[Array, " r"]
    n_present: Int[Array, " r"]
    giant_fraction: Float[Array, " r"]
    c_mesh: Float[Array, " r"]
    c_mesh_all: Float[Array, " r"]
    lambda2: Float[Array, " r"]
    mean_degree: Float[Array, " r"]
    max_degree: Int[Array, " r"]
    degree_exponent: Float[Array, " r"]
    queries_per_step: Float[Array, " r"]
    transactions_per_step: Float[Array, " r"]
    raf_attempts_per_step: Float[Array, " r"]
    raf_transactions_per_step: Float[Array, " r"]
    arrivals_per_step: Float[Array, " r"]
    served_share: Float[Array, " r"]
    self_served_share: Float[Array, " r"]
    dead_end_share: Float[Array, " r"]
    hop_limit_share: Float[Array, " r"]
    mean_hops: Float[Array, " r"]
    hop_hist: Int[Array, "r h"]
    n_types: Int[Array, " r"]
    new_types: Int[Array, " r"]
    viable_pairs: Int[Array, " r"]
    specialist_share: Float[Array, " r"]
    final: MeshState
    status: RESULTS


def _record(st: MeshState, p: MeshParams, k_min: int):
    """One record of the state (lambda2 NaN: `_run` fills it in where it is computed)."""
    dtype = st.capability.dtype
    members, _ = giant_members(st)
    present = st.present()
    N = st.n_present
    Nf = jnp.maximum(N, 1).astype(dtype)
    J = st.type_capacity
    active = jnp.arange(J, dtype=jnp.int32) < st.n_types
    c = st.capability
    per_giant = jnp.sum(jnp.where(members[:, None], c, jnp.zeros((), dtype)), axis=0)
    per_all = jnp.sum(jnp.where(present[:, None], c, jnp.zeros((), dtype)), axis=0)
    lam2 = jnp.asarray(jnp.nan, dtype)
    tl = st.tally
    steps = jnp.maximum(tl.steps, 1).astype(dtype)
    q = jnp.maximum(tl.queries, 1).astype(dtype)

    def f(x):
        return x.astype(dtype)

    hops = jnp.arange(st.max_hops + 1, dtype=dtype)
    paid_hist = tl.hop_hist.at[0].set(0)
    n_paid = jnp.maximum(jnp.sum(paid_hist), 1).astype(dtype)
    cmax = jnp.max(jnp.where(active[None, :], c, jnp.zeros((), dtype)), axis=1)
    spec = present & (cmax >= p.serve_threshold) & (cmax > 0)
    return dict(
        t=st.t,
        n_present=N,
        giant_fraction=f(jnp.sum(members)) / Nf,
        c_mesh=ces_mesh(per_giant, p.rho, active),
        c_mesh_all=ces_mesh(per_all, p.rho, active),
        lambda2=lam2,
        mean_degree=f(jnp.sum(jnp.where(present, st.degree, 0))) / Nf,
        max_degree=jnp.max(st.degree),
        degree_exponent=tail_exponent(st.degree, present, k_min, dtype),
        queries_per_step=f(tl.queries) / steps,
        transactions_per_step=f(tl.transactions) / steps,
        raf_attempts_per_step=f(tl.raf_attempts) / steps,
        raf_transactions_per_step=f(tl.raf_transactions) / steps,
        arrivals_per_step=f(tl.arrivals) / steps,
        served_share=f(tl.served) / q,
        self_served_share=f(tl.self_served) / q,
        dead_end_share=f(tl.dead_end) / q,
        hop_limit_share=f(tl.hop_limit) / q,
        mean_hops=jnp.sum(hops * f(paid_hist)) / n_paid,
        hop_hist=tl.hop_hist,
        n_types=st.n_types,
        new_types=tl.new_types,
        viable_pairs=tl.viable_pairs,
        specialist_share=f(jnp.sum(spec)) / Nf,
    )


def simulate(
    key,
    params: MeshParams | None = None,
    *,
    n_agents: int,
    n_steps: int,
    record_every: int,
    n_types: int = 4,
    type_capacity: int | None = None,
    n_init: int | None = None,
    m: int = 3,
    max_hops: int = 8,
    max_arrivals: int | None = None,
    raf_ops: int = 0,
    diffusion: str = "metropolis",
    lambda2_every: int = 0,
    lanczos_steps: int = 48,
    k_min: int | None = None,
    dtype=jnp.float32,
) -> MeshResult:
    r"""Grows and runs the whole mesh for `n_steps` steps, recording every `record_every`.

    The model (module docstring of `meshjax.mesh`): Bianconi–Barabási arrivals,
    threshold specialisation (9)–(10) driven by query demand, learning by doing, Laplacian
    diffusion of capabilities (11), greedy routing of queries to capable agents with one
    payment per served query (§14), optional autocatalytic operations and recombinant
    variety (App. D). One `lax.scan` over records, each a `lax.scan` over steps;
    `jax.vmap` over keys (or over traced `params`) gives replicas.

    Args:
      key: PRNG key or int seed.
      params: `MeshParams` (default `MeshParams()`); every field may be traced.
      n_agents: Capacity $n$ (static): the mesh grows from `n_init` towards it.
      n_steps: Steps (static), a multiple of `record_every`.
      record_every: Steps between records (static).
      n_types, type_capacity, n_init, m, max_hops, max_arrivals, raf_ops, diffusion:
        Static options of `init_state`.
      lambda2_every: Compute $\lambda_2$ at every this many records (static; 0 = never);
        must divide the number of records.
      lanczos_steps: Lanczos steps for $\lambda_2$ (static).
      k_min: Smallest degree of the tail fit (static), default $2m$.
      dtype: float32 (default, also with x64 on) or float64 (needs
        `jax_enable_x64`).

    Returns:
      A `MeshResult`. Memory O(n (m + J) + lanczos_steps · n); time per step
      O(n (J + H) + E J).

    Raises:
      ValueError/TypeError: a bad static option or a concrete parameter outside its
        domain (naming it). A traced parameter outside its domain gives
        `status=RESULTS.invalid_parameter` and NaN float outputs.
    """
    key = as_key(key)
    params = MeshParams() if params is None else params
    if not isinstance(params, MeshParams):
        raise TypeError(f"`params` must be a MeshParams, got {type(params).__name__}")
    n_steps = check_int("n_steps", n_steps, min_value=1)
    record_every = check_int("record_every", record_every, min_value=1)
    if n_steps % record_every:
        raise ValueError(
            f"`n_steps`={n_steps} must be a multiple of `record_every`={record_every}"
        )
    n_rec = n_steps // record_every
    lambda2_every = check_int("lambda2_every", lambda2_every, min_value=0)
    if lambda2_every and n_rec % lambda2_every:
        raise ValueError(
            f"`lambda2_every`={lambda2_every} must divide the number of records "
            f"n_steps // record_every = {n_rec}"
        )
    lanczos_steps = check_int("lanczos_steps", lanczos_steps, min_value=2)
    k_min = 2 * m if k_min is None else k_min
    k_min = check_int("k_min", k_min, min_value=1)
    n_check = check_int("n_agents", n_agents, min_value=3)
    if (
        n_check * record_every * (1 + raf_ops if isinstance(raf_ops, int) else 1)
        >= 2**31
    ):
        raise ValueError(
            f"`record_every`={record_every} is too large for `n_agents`={n_check}: "
            "the per-record int32 counters could overflow; record more often"
        )
    k_init, k_run = jr.split(key)
    st0 = init_state(
        k_init, params, n_agents=n_agents, n_types=n_types,
        type_capacity=type_capacity, n_init=n_init, m=m, max_hops=max_hops,
        max_arrivals=max_arrivals, raf_ops=raf_ops,
        diffusion=diffusion, dtype=dtype,
    )  # fmt: skip
    return _run(k_run, st0, params, n_rec, record_every, lambda2_every, k_min,
                lanczos_steps)  # fmt: skip


@eqx.filter_jit
def _run(key, st0, params, n_rec, every, l2_every, k_min, l2_steps):
    dtype = st0.capability.dtype
    ok = params_ok(params)
    p = cast(params, dtype)
    # run on valid stand-in values when a traced parameter is invalid (outputs -> NaN)
    p = jax.tree_util.tree_map(
        lambda x, d: jnp.where(ok, x, jnp.asarray(d, dtype)),
        p,
        cast(MeshParams(), dtype),
    )

    def one_step(st, k):
        return _step(k, st, p), None

    def one_record(st, k):
        k_steps = jr.split(k)[0]  # [1] is the record's lambda2 key
        st, _ = lax.scan(one_step, st, jr.split(k_steps, every))
        rec = _record(st, p, k_min)
        st = eqx_replace(st, tally=empty_tally(st.max_hops))
        return st, rec

    if l2_every:

        def group(st, k):
            # Every record of the group in one scan (the step body appears once in
            # the program: a separate last record inlined it a second time and doubled
            # the compile time), then lambda2 of the last record's graph with the key
            # that record would have used. The records' keys are those of a run
            # without lambda2 (they were split per group, so switching lambda2 on
            # gave another trajectory).
            ks = k
            st, recs = lax.scan(one_record, st, ks)
            if l2_steps > 0:
                members, g = giant_members(st)
                lam2 = lanczos_lambda2(jr.split(ks[-1])[1], g, members, l2_steps, dtype)
                recs = dict(recs, lambda2=recs["lambda2"].at[-1].set(lam2))
            return st, recs

        keys = jr.split(key, n_rec).reshape(n_rec // l2_every, l2_every)
        st, recs = lax.scan(group, st0, keys)
        recs = jax.tree_util.tree_map(lambda x: x.reshape((n_rec,) + x.shape[2:]), recs)
    else:
        st, recs = lax.scan(one_record, st0, jr.split(key, n_rec))
    finite = jnp.all(jnp.isfinite(st.capability))
    fits = jnp.all(jnp.isfinite(recs["c_mesh"]) & jnp.isfinite(recs["c_mesh_all"]))
    status = RESULTS.where(fits, RESULTS.successful, RESULTS.overflow)
    status = RESULTS.where(finite, status, RESULTS.nonfinite)
    status = RESULTS.where(ok, status, RESULTS.invalid_parameter)

    def nanify(x):
        if jnp.issubdtype(x.dtype, jnp.inexact):
            return jnp.where(ok, x, jnp.nan)
        return x

    recs = {k: nanify(v) for k, v in recs.items()}
    # the final state too: it was run on stand-in parameters, and `step` continues
    # from it (a plausible zero-capability state hid that)
    st = jax.tree_util.tree_map(nanify, st)
    return MeshResult(**recs, final=st, status=status)
