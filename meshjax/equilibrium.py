r"""The mesh equilibrium pipeline of Theorem 6.1, Corollary 6.2 and the phases of §7.

Agents arrive (the population $N$ grows), connect with probability $\beta$ per pair (an
Erdős–Rényi graph, so $R_0^{\mathrm{mesh}} = \beta N$ with $v/D = 1$ in (2)), specialise
by the threshold dynamics (9)–(10) (`meshjax.specialization`), and the mesh is the giant
component: $C_{\mathrm{mesh}}(N)$ is eq. (15) over the giant component's capability matrix,
compared with $C_{\mathrm{cent}}$ of eq. (8). Both sides use the unnormalised CES of
(8)/(15) by default (`normalized=True` for the power-mean convention of (1)); $N^*$,
the ratio $C_{\mathrm{mesh}}/C_{\mathrm{cent}}$ and the centralised share do not depend
on that choice (`meshjax.ces`), and they are computed as differences of
`ces.log_power_mean`, so they stay finite and continuous as $\rho \to 0$ (where the
unnormalised $C_{\mathrm{mesh}}$ and $C_{\mathrm{cent}}$ each overflow or underflow).

Traced parameters: $\rho$, $M$, $\bar c_{\mathrm{cent}}$, the capabilities and every
`ThresholdParams` field may be traced (`jit`, `vmap`, `sweep`); a traced value outside
its domain gives `status = RESULTS.invalid_parameter` and NaN outputs. The connection
probability $\beta$ (`grow_mesh`) and the mean degree (`capability_curve`) fix the number
of edges of the Erdős–Rényi graph, an array shape, so they are static Python numbers.

Padding: every population of up to $N_{\max}$ agents lives on one graph of $N_{\max}$
nodes; agent $i$ is present when $i < N$ (arrival order = index). The subgraph an ER graph
induces on its first $N$ nodes is again ER with the same $\beta$, so growing $N$ at fixed
$\beta$ is a mask, not a new graph, and one compiled kernel serves every $N$. For a fixed
mean degree $R_0$ (so that $S_\infty$ is the same at every $N$, the setting of (16)) the
base graph has the largest $\beta$ needed and each $N$ keeps every edge with probability
$\beta(N)/\beta_{\max}$ (bond percolation), which again gives ER with $\beta(N) = R_0/(N-1)$.

Capability: agent $i$ has total capability $\bar c_i$ (its fitness), spread over tasks as
its work memory (`specialization.capability_matrix`), so $\sum_j c_{ij} = \bar c_i$ always.
Consequence, visible in every run: under (15) $C_{\mathrm{mesh}}$ depends on *how the
giant component's capability is spread over tasks*, not on whether individual agents are
specialists; a population of generalists that spread evenly has the same
$C_{\mathrm{mesh}}$ as one of perfect specialists spread evenly (the chapter's (16)
assumes specialisation but only uses the even spread).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax
from jax.scipy.special import entr

from . import specialization as spec
from ._custom_types import Array, ArrayLike, Float, Int, PRNGKeyArray
from ._results import RESULTS, AbstractResult
from ._validate import (
    as_key,
    check_array,
    check_bool,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)
from .ces import log_power_mean
from .graph import Graph, connected_components, erdos_renyi
from .percolation import bond_percolation, giant_component_fraction_theory

__all__ = [
    "MeshGrowth",
    "CapabilityCurve",
    "grow_mesh",
    "capability_curve",
    "measured_critical_mass",
    "critical_mass_fixed_beta",
    "classify_phases",
    "uniform_entropy",
    "discrete_entropy",
]

#: What the functions accept for an array argument (lists of numbers included).
RealLike = ArrayLike | Sequence


class MeshGrowth(AbstractResult):
    r"""Result of `grow_mesh`: one entry per record $r$ (shape `(R,)`).

    Attributes:
      n_agents: Agents present, $N_r$.
      r0: $R_0 = \beta N_r$.
      s_measured: Giant component / present agents.
      s_theory: Eq. (3) at $R_0$.
      c_mesh: $C_{\mathrm{mesh}}$, eq. (15), on the giant component (convention of
        `normalized`).
      c_cent: $C_{\mathrm{cent}}$, eq. (8) (same convention).
      ratio: $C_{\mathrm{mesh}}/C_{\mathrm{cent}}$ (convention-free; log space).
      share_cent: Centralised share $C_{\mathrm{cent}}/(C_{\mathrm{cent}} +
        C_{\mathrm{mesh}}) = 1/(1 + \text{ratio})$ (Corollary 6.2).
      dol: Division-of-labour index of the giant component.
      frac_specialised: Fraction of the giant component specialised.
      types_covered: Tasks holding at least half the even share $1/J$ of the giant
        component's capability.
      giant_size: Agents in the giant component.
      status: `RESULTS.successful` or `RESULTS.invalid_parameter` (a traced parameter
        outside its domain; float fields NaN).
    """

    n_agents: Int[Array, " R"]
    r0: Float[Array, " R"]
    s_measured: Float[Array, " R"]
    s_theory: Float[Array, " R"]
    c_mesh: Float[Array, " R"]
    c_cent: Float[Array, " R"]
    ratio: Float[Array, " R"]
    share_cent: Float[Array, " R"]
    dol: Float[Array, " R"]
    frac_specialised: Float[Array, " R"]
    types_covered: Int[Array, " R"]
    giant_size: Int[Array, " R"]
    status: RESULTS


class CapabilityCurve(AbstractResult):
    r"""Result of `capability_curve`: replicas × grid points.

    Attributes:
      n_agents: `(G,)` the grid of $N$.
      ratio: `(replicas, G)` $C_{\mathrm{mesh}}/C_{\mathrm{cent}}$ (convention-free).
      c_mesh: `(replicas, G)` $C_{\mathrm{mesh}}$ (convention of `normalized`).
      s_measured: `(replicas, G)` giant component / $N$.
      dol, frac_specialised: `(replicas, G)` specialisation of the giant component.
      task_shares: `(replicas, G, J)` the giant component's capability per task / total.
      c_cent: Scalar $C_{\mathrm{cent}}$ (same convention as `c_mesh`).
      s_theory: Scalar, eq. (3) at the mean degree.
      mean_capability: Mean $\bar c_i$ over the first `n_grid[-1]` agents.
      status: `RESULTS.successful` or `RESULTS.invalid_parameter` (float fields NaN).
    """

    n_agents: Int[Array, " G"]
    ratio: Float[Array, "replicas G"]
    c_mesh: Float[Array, "replicas G"]
    s_measured: Float[Array, "replicas G"]
    dol: Float[Array, "replicas G"]
    frac_specialised: Float[Array, "replicas G"]
    task_shares: Float[Array, "replicas G J"]
    c_cent: Float[Array, ""]
    s_theory: Float[Array, ""]
    mean_capability: Float[Array, ""]
    status: RESULTS


def _giant_members(graph: Graph, mask, present):
    """bool[n]: nodes of the largest component among present nodes (mask on edges)."""
    labels = connected_components(graph, mask)
    n = graph.n_nodes
    sizes = jax.ops.segment_sum(present.astype(jnp.int32), labels, n)
    giant = jnp.argmax(sizes).astype(labels.dtype)
    return (labels == giant) & present, jnp.max(sizes)


def _log_c(C, rho, log_cent_norm, normalized: bool):
    """log C_mesh (the convention's) and log(C_mesh / C_cent) from per-task capability."""
    J = C.shape[-1]
    log_norm = log_power_mean(C, rho)
    shift = 0.0 if normalized else math.log(J) / rho
    return log_norm + shift, log_norm - log_cent_norm


def _check_common(params, capability, rho, M, c_cent, normalized):
    if not isinstance(params, spec.ThresholdParams):
        raise TypeError(
            f"`params` must be a ThresholdParams, got {type(params).__name__}"
        )
    cap = check_array("capability", capability, ndim=1, low=0.0)
    if cap.shape[0] < 2:
        raise ValueError(
            f"`capability` must have shape (N_max,), N_max >= 2; got shape {cap.shape}"
        )
    cap = jnp.asarray(cap)
    cap = cap.astype(jnp.result_type(float)) if cap.dtype.kind != "f" else cap
    normalized = check_bool("normalized", normalized)
    rho = check_real("rho", rho, high=1.0, high_open=True)
    if not normalized and not is_traced(rho) and rho == 0.0:
        raise ValueError(
            "`rho`=0 is not allowed with normalized=False (eqs. (8), (15) have no "
            "rho -> 0 limit); allowed: rho < 1, rho != 0, or pass normalized=True"
        )
    M = check_real("M", M, low=0.0, low_open=True)
    c_cent = check_real("c_cent", c_cent, low=0.0, low_open=True)
    dtype = cap.dtype
    rho, M, c_cent = (jnp.asarray(x).astype(dtype) for x in (rho, M, c_cent))
    return cap, rho, M, c_cent, normalized


def _common_ok(params, cap, rho, M, c_cent, normalized: bool):
    ok = (
        params.valid()
        & jnp.all(in_domain(cap, low=0.0))
        & in_domain(rho, high=1.0, high_open=True)
        & in_domain(M, low=0.0, low_open=True)
        & in_domain(c_cent, low=0.0, low_open=True)
    )
    if not normalized:
        ok = ok & (rho != 0)
    return ok


def _cent(M, c_cent, J: int, rho, normalized: bool):
    """log C_cent in the normalised convention, and C_cent in the chosen one."""
    log_norm = jnp.log(M * c_cent / J)
    shift = 0.0 if normalized else math.log(J) / rho
    return log_norm, jnp.exp(log_norm + shift)


def grow_mesh(
    key: PRNGKeyArray | int,
    n_schedule: RealLike,
    *,
    beta: float,
    params: spec.ThresholdParams,
    capability: RealLike,
    rho: ArrayLike,
    M: ArrayLike,
    c_cent: ArrayLike,
    record_every: int = 10,
    theta0: tuple[ArrayLike, ArrayLike] | None = None,
    normalized: bool = False,
) -> MeshGrowth:
    r"""Theorem 6.1 as a time series: agents arrive, connect, specialise; $C_{\mathrm{mesh}}(t)$.

    Record $r$ has $N_r$ = `n_schedule[r]` agents present; before each record the
    threshold dynamics run `record_every` steps on the present agents (global stimuli,
    demand per present agent). At each record: the giant component of the ER graph
    ($\beta$ per pair) induced on the present agents, $C_{\mathrm{mesh}}$ (15) on it,
    $C_{\mathrm{cent}}$ (8), the centralised share $C_{\mathrm{cent}} / (C_{\mathrm{cent}}
    + C_{\mathrm{mesh}})$ (Corollary 6.2), and the specialisation metrics.

    Args:
      key: PRNG key or int seed (graph, initial thresholds, dynamics).
      n_schedule: Non-decreasing ints in $[1, N_{\max}]$, shape `(R,)` (static).
      beta: Connection probability per pair, in $(0, 1]$; $R_0 = \beta N$. Static: it
        fixes the number of edges of the graph.
      params: Threshold-model parameters ($J$ from `params.demand`; may be traced).
      capability: $\bar c_i \ge 0$ per agent, shape `(N_max,)` (arrival order).
      rho: CES $\rho < 1$ ($\ne 0$ unless `normalized`). May be traced.
      M, c_cent: Centralised units and capability per unit, both $> 0$. May be traced.
      record_every: Dynamics steps before each record (static).
      theta0: Range of the initial thresholds (`specialization.init_state`).
      normalized: Convention of `c_mesh` and `c_cent` (`meshjax.ces`); the ratio and
        the share are the same in both.

    Returns:
      A `MeshGrowth`. Cost O(R · record_every · N_max · J + R · E log N).

    Raises:
      ValueError: bad schedule, `beta` outside (0, 1], other arguments out of range.
    """
    key = as_key(key)
    cap, rho, M, c_cent, normalized = _check_common(
        params, capability, rho, M, c_cent, normalized
    )
    n_max = cap.shape[0]
    beta = check_real("beta", beta, low=0.0, high=1.0, low_open=True)
    if is_traced(beta):
        raise TypeError(
            "`beta` fixes the number of edges of the graph (an array shape) and must "
            "be a concrete number; got a traced value"
        )
    record_every = check_int("record_every", record_every, min_value=1)
    if is_traced(n_schedule):
        raise TypeError(
            "`n_schedule` holds sizes and must be concrete; got a traced value"
        )
    check_array("n_schedule", n_schedule, kind="int", ndim=1)
    sched = np.asarray(n_schedule)
    if sched.size < 1 or sched.min() < 1 or sched.max() > n_max:
        raise ValueError(
            f"`n_schedule` must be non-empty with entries in [1, {n_max}]; got {sched}"
        )
    if np.any(np.diff(sched) < 0):
        raise ValueError(f"`n_schedule` must be non-decreasing; got {sched}")
    k_graph, k_th, k_dyn = jr.split(key, 3)
    mean_k = beta * (n_max - 1)
    graph = erdos_renyi(k_graph, n_max, min(mean_k, n_max - 1 - 1e-9))
    state = spec.init_state(k_th, n_max, params, theta0=theta0, dtype=cap.dtype)
    r0 = beta * jnp.asarray(sched).astype(cap.dtype)
    return _grow(
        k_dyn,
        graph,
        state,
        params,
        cap,
        jnp.asarray(sched, jnp.int32),
        r0,
        giant_component_fraction_theory(r0),
        rho,
        M,
        c_cent,
        record_every,
        normalized,
    )


@eqx.filter_jit
def _grow(
    key,
    graph,
    state,
    params,
    cap,
    sched,
    r0,
    s_theory,
    rho,
    M,
    c_cent,
    every,
    normalized,
):
    n_max = graph.n_nodes
    idx = jnp.arange(n_max, dtype=jnp.int32)
    J = params.n_tasks
    dtype = cap.dtype
    ok = _common_ok(params, cap, rho, M, c_cent, normalized)
    rho_s = jnp.where(ok, rho, jnp.asarray(0.5, dtype))
    log_cent, c_c = _cent(M, c_cent, J, rho_s, normalized)

    def record(st, n_now):
        present = idx < n_now

        def inner(_, s):
            return spec.step(jr.fold_in(key, s.t), s, params, present=present)

        st = lax.fori_loop(0, every, inner, st)
        mask = present[graph.senders] & present[graph.receivers]
        members, gsize = _giant_members(graph, mask, present)
        C = jnp.sum(
            jnp.where(members[:, None], spec.capability_matrix(st, cap), 0.0), axis=0
        )
        log_mesh, log_ratio = _log_c(C, rho_s, log_cent, normalized)
        # dol and frac_specialised do not depend on rho; a fixed one keeps them defined
        # at normalized rho = 0 (the Cobb-Douglas case), which metrics refuses
        m = spec.metrics(
            st, params, present=members, capability=cap, rho=0.5, spec_level=0.9
        )
        covered = jnp.sum(C >= 0.5 * jnp.sum(C) / J).astype(jnp.int32)
        return st, dict(
            c_mesh=jnp.exp(log_mesh),
            ratio=jnp.exp(log_ratio),
            s_measured=gsize.astype(dtype) / n_now.astype(dtype),
            giant_size=gsize.astype(jnp.int32),
            dol=m.dol,
            frac_specialised=m.frac_specialised,
            types_covered=covered,
        )

    _, out = lax.scan(record, state, sched)
    floats = dict(
        r0=r0,
        s_measured=out["s_measured"],
        s_theory=s_theory,
        c_mesh=out["c_mesh"],
        c_cent=jnp.broadcast_to(c_c, out["c_mesh"].shape),
        ratio=out["ratio"],
        share_cent=1.0 / (1.0 + out["ratio"]),
        dol=out["dol"],
        frac_specialised=out["frac_specialised"],
    )
    return MeshGrowth(
        n_agents=sched,
        types_covered=out["types_covered"],
        giant_size=out["giant_size"],
        **nan_outside(ok, floats),
        status=RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter),
    )


def capability_curve(
    key: PRNGKeyArray | int,
    n_grid: RealLike,
    *,
    mean_degree: float,
    params: spec.ThresholdParams,
    capability: RealLike,
    rho: ArrayLike,
    M: ArrayLike,
    c_cent: ArrayLike,
    n_steps: int = 300,
    replicas: int = 4,
    theta0: tuple[ArrayLike, ArrayLike] | None = None,
    thresholds: RealLike | None = None,
    normalized: bool = False,
) -> CapabilityCurve:
    r"""$C_{\mathrm{mesh}}(N) / C_{\mathrm{cent}}$ on a grid of $N$ at fixed mean degree.

    For each replica $r$ (key `fold_in(key, r)`) and grid point $N$: the first $N$ agents
    on an ER graph with $\beta = R_0/(N-1)$ (so $S_\infty$ is the same at every $N$, as
    (16) assumes), `n_steps` threshold-dynamics steps from the same initial thresholds,
    then $C_{\mathrm{mesh}}$ (15) on the giant component. All grid points of a replica
    run as one `vmap`.

    Args:
      key: PRNG key or int seed.
      n_grid: Increasing ints $\ge 2$, shape `(G,)` (static); $N_{\max}$ =
        `len(capability)` must be $\ge$ `n_grid[-1]`.
      mean_degree: $R_0 > 0$ (mean degree of each ER graph). Static: it fixes the
        number of edges.
      params, capability, rho, M, c_cent, theta0, normalized: As in `grow_mesh`.
      n_steps: Dynamics steps per point (static).
      replicas: Independent replicas (static).
      thresholds: Optional explicit initial thresholds `(N_max, J)` (e.g. biased by
        agent type), shared by all replicas.

    Returns:
      A `CapabilityCurve`.

    Raises:
      ValueError: bad grid, `mean_degree` not positive or too large for the smallest $N$.
    """
    key = as_key(key)
    cap, rho, M, c_cent, normalized = _check_common(
        params, capability, rho, M, c_cent, normalized
    )
    n_max = cap.shape[0]
    mean_degree = check_real("mean_degree", mean_degree, low=0.0, low_open=True)
    if is_traced(mean_degree):
        raise TypeError(
            "`mean_degree` fixes the number of edges of the graph (an array shape) and "
            "must be a concrete number; got a traced value"
        )
    n_steps = check_int("n_steps", n_steps, min_value=1)
    replicas = check_int("replicas", replicas, min_value=1)
    if is_traced(n_grid):
        raise TypeError("`n_grid` holds sizes and must be concrete; got a traced value")
    check_array("n_grid", n_grid, kind="int", ndim=1, nonempty=True)
    grid = np.asarray(n_grid)
    if grid.min() < 2 or np.any(np.diff(grid) <= 0) or grid.max() > n_max:
        raise ValueError(f"`n_grid` must be increasing in [2, {n_max}], got {grid}")
    if mean_degree >= grid.min() - 1:
        raise ValueError(
            f"`mean_degree`={mean_degree} is out of range; allowed: (0, "
            f"n_grid.min() - 1) = (0, {grid.min() - 1})"
        )
    beta_max = mean_degree / (grid.min() - 1)
    k_base = min(beta_max * (n_max - 1), n_max - 1 - 1e-9)
    betas = mean_degree / (grid - 1.0)
    q = np.minimum(betas / beta_max, 1.0)
    if thresholds is not None:
        thresholds = check_array(
            "thresholds", thresholds, shape=(n_max, params.n_tasks), low=0.0
        )
        thresholds = jnp.asarray(thresholds).astype(cap.dtype)
    res = _curve(
        key,
        params,
        cap,
        jnp.asarray(grid, jnp.int32),
        jnp.asarray(q).astype(cap.dtype),
        thresholds,
        theta0,
        rho,
        M,
        c_cent,
        n_steps,
        replicas,
        float(k_base),
        normalized,
    )
    J = params.n_tasks
    ok = _common_ok(params, cap, rho, M, c_cent, normalized)
    rho_s = jnp.where(ok, rho, jnp.asarray(0.5, cap.dtype))
    log_cent, c_c = _cent(M, c_cent, J, rho_s, normalized)
    floats = dict(
        ratio=jnp.exp(res["log_ratio_norm"] - log_cent),
        c_mesh=res["c_mesh"],
        s_measured=res["s_measured"],
        dol=res["dol"],
        frac_specialised=res["frac_specialised"],
        task_shares=res["task_shares"],
        c_cent=c_c,
        s_theory=giant_component_fraction_theory(jnp.asarray(mean_degree, cap.dtype)),
        mean_capability=jnp.mean(cap[: int(grid.max())]),
    )
    return CapabilityCurve(
        n_agents=jnp.asarray(grid, jnp.int32),
        **nan_outside(ok, floats),
        status=RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter),
    )


def _curve(
    key,
    params,
    cap,
    grid,
    q,
    thresholds,
    theta0,
    rho,
    M,
    c_cent,
    n_steps,
    replicas,
    k_base,
    normalized,
):
    n_max = cap.shape[0]
    ok = _common_ok(params, cap, rho, M, c_cent, normalized)
    rho_s = jnp.where(ok, rho, jnp.asarray(0.5, cap.dtype))
    outs = []
    for r in range(replicas):  # host loop over replicas: one compile, small memory
        kr = jr.fold_in(key, r)
        k_graph, k_th, k_dyn = jr.split(kr, 3)
        graph = erdos_renyi(k_graph, n_max, k_base)
        if thresholds is None:
            state = spec.init_state(k_th, n_max, params, theta0=theta0, dtype=cap.dtype)
        else:
            state = spec.init_state(
                k_th, n_max, params, thresholds=thresholds, dtype=cap.dtype
            )
        outs.append(
            _curve_one(
                k_dyn, graph, state, params, cap, grid, q, rho_s, n_steps, normalized
            )
        )
    return {k: jnp.stack([o[k] for o in outs]) for k in outs[0]}


@eqx.filter_jit
def _curve_one(key, graph, state, params, cap, grid, q, rho, n_steps, normalized):
    idx = jnp.arange(graph.n_nodes, dtype=jnp.int32)
    dtype = cap.dtype

    def point(g_i, n_now, q_i):
        present = idx < n_now
        kp = jr.fold_in(key, g_i)
        keep = bond_percolation(jr.fold_in(kp, 0), graph, q_i)
        mask = keep & present[graph.senders] & present[graph.receivers]

        def inner(_, s):
            return spec.step(jr.fold_in(kp, s.t + 1), s, params, present=present)

        st = lax.fori_loop(0, n_steps, inner, state)
        members, gsize = _giant_members(graph, mask, present)
        C = jnp.sum(
            jnp.where(members[:, None], spec.capability_matrix(st, cap), 0.0), axis=0
        )
        log_mesh, log_norm = _log_c(C, rho, 0.0, normalized)
        # dol and frac_specialised do not depend on rho; a fixed one keeps them defined
        # at normalized rho = 0 (the Cobb-Douglas case), which metrics refuses
        m = spec.metrics(
            st, params, present=members, capability=cap, rho=0.5, spec_level=0.9
        )
        return {
            "c_mesh": jnp.exp(log_mesh),
            "log_ratio_norm": log_norm,
            "s_measured": gsize.astype(dtype) / n_now.astype(dtype),
            "dol": m.dol,
            "frac_specialised": m.frac_specialised,
            "task_shares": C / jnp.sum(C),
        }

    return jax.vmap(point)(jnp.arange(grid.shape[0]), grid, q)


def measured_critical_mass(n: RealLike, ratio: RealLike) -> Float[Array, ...]:
    r"""$N^*$ where $C_{\mathrm{mesh}}/C_{\mathrm{cent}}$ first crosses 1, by linear
    interpolation between grid points.

    Args:
      n: Grid, increasing, shape `(G,)`, $G \ge 2$.
      ratio: `(..., G)` ratios (may be traced; NaN ratios give NaN).

    Returns:
      `(...)` float array; NaN where the ratio does not cross 1 on the grid (never
      reaches 1, or is already above 1 at the first point).
    """
    n = check_array("n", n, ndim=1)
    r = check_array("ratio", ratio, finite=False)
    if n.shape[0] < 2:
        raise ValueError(f"`n` must have at least 2 grid points, got shape {n.shape}")
    if r.ndim < 1 or r.shape[-1] != n.shape[0]:
        raise ValueError(
            f"`ratio` must end with the grid axis of length {n.shape[0]}, got shape "
            f"{r.shape}"
        )
    if not is_traced(n) and np.any(np.diff(np.asarray(n)) <= 0):
        raise ValueError("`n` must be increasing")
    return _measured_critical_mass(n, r)


@jax.jit
def _measured_critical_mass(n, r):
    dtype = jnp.result_type(n.dtype, r.dtype)
    n, r = jnp.asarray(n).astype(dtype), jnp.asarray(r).astype(dtype)
    above = r >= 1.0
    i = jnp.argmax(above, axis=-1)
    found = jnp.any(above, axis=-1) & (i > 0)
    i_safe = jnp.maximum(i, 1)
    r1 = jnp.take_along_axis(r, i_safe[..., None], axis=-1)[..., 0]
    r0 = jnp.take_along_axis(r, i_safe[..., None] - 1, axis=-1)[..., 0]
    n1, n0 = n[i_safe], n[i_safe - 1]
    ok = found & jnp.all(~jnp.isnan(r), axis=-1)
    return nan_outside(ok, n0 + (1.0 - r0) * (n1 - n0) / (r1 - r0))


def critical_mass_fixed_beta(
    M: ArrayLike, c_cent: ArrayLike, c_mesh: ArrayLike, beta: ArrayLike
) -> Float[Array, ""]:
    r"""$N^*$ when $\beta$ (not $R_0$) is fixed: the root of $N S_\infty(\beta N) = M \bar
    c_{\mathrm{cent}} / \bar c$ (eq. (16) with $S_\infty$ depending on $N$ through (2)-(3)).

    $N S_\infty(\beta N)$ is increasing for $\beta N > 1$, so the root is unique; found by
    bisection on $N \in (1/\beta, \max(2/\beta, 1.3\,\text{target})]$ (at $N \ge 2/\beta$,
    $S_\infty \ge S_\infty(2) > 0.79$, so the bracket holds the root).

    Args:
      M, c_cent, c_mesh: Positive (as in `ces.critical_mass`).
      beta: Connection probability per pair in (0, 1].

    Every argument may be traced (NaN outside the domain).

    Returns:
      $N^*$, a scalar array.
    """
    M = check_real("M", M, low=0.0, low_open=True)
    c_cent = check_real("c_cent", c_cent, low=0.0, low_open=True)
    c_mesh = check_real("c_mesh", c_mesh, low=0.0, low_open=True)
    beta = check_real("beta", beta, low=0.0, high=1.0, low_open=True)
    return _fixed_beta(
        *(jnp.asarray(x, jnp.result_type(float)) for x in (M, c_cent, c_mesh, beta))
    )


@jax.jit
def _fixed_beta(M, c_cent, c_mesh, beta):
    ok = (
        in_domain(M, low=0.0, low_open=True)
        & in_domain(c_cent, low=0.0, low_open=True)
        & in_domain(c_mesh, low=0.0, low_open=True)
        & in_domain(beta, low=0.0, high=1.0, low_open=True)
    )
    one = jnp.ones((), M.dtype)
    M, c_cent, c_mesh, beta = (jnp.where(ok, x, one) for x in (M, c_cent, c_mesh, beta))
    target = M * c_cent / c_mesh

    def f(n):
        return n * giant_component_fraction_theory(beta * n) - target

    def body(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        below = f(mid) < 0
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo0 = 1.0 / beta
    hi0 = jnp.maximum(2.0 / beta, 1.3 * target)
    lo, hi = lax.fori_loop(0, 200, body, (lo0, hi0))
    return nan_outside(ok, 0.5 * (lo + hi))


def classify_phases(
    c_mesh: RealLike, r0: RealLike, *, low: ArrayLike = 0.1, high: ArrayLike = 0.9
) -> Int[Array, " R"]:
    r"""Labels each record with a phase of §7 from the measured $C_{\mathrm{mesh}}(t)$.

    0 = pre-critical ($R_0 \le 1$), 1 = nucleation ($R_0 > 1$, $C_{\mathrm{mesh}} <$
    `low` × final), 2 = rapid growth (between), 3 = maturity ($\ge$ `high` × final).
    The chapter characterises the phases by $R_0$ (≈ 1, ≫ 1) and by coverage; meshjax
    labels them by the measured capability and reports $R_0$ in each, so the chapter's
    description can be checked against the labels.

    Args:
      c_mesh: `(R,)` series.
      r0: `(R,)` series.
      low, high: Fractions of the final $C_{\mathrm{mesh}}$, $0 < low < high < 1$. May
        be traced (a traced value outside the domain is an `eqx.error_if` error: an
        integer label has no NaN).

    Returns:
      `int32[R]` labels.
    """
    low = check_real("low", low, low=0.0, high=1.0, low_open=True, high_open=True)
    high = check_real("high", high, low=0.0, high=1.0, low_open=True, high_open=True)
    if not is_traced((low, high)) and not low < high:
        raise ValueError(f"`low`={low} must be < `high`={high}")
    c = check_array("c_mesh", c_mesh, ndim=1, nonempty=True, finite=False)
    r0 = check_array("r0", r0, ndim=1, shape=c.shape, finite=False)
    return _classify_phases(c, r0, low, high)


@jax.jit
def _classify_phases(c, r0, low, high):
    dtype = jnp.result_type(c.dtype, r0.dtype)
    c, r0 = jnp.asarray(c).astype(dtype), jnp.asarray(r0).astype(dtype)
    low, high = (jnp.asarray(x).astype(dtype) for x in (low, high))
    ok = (
        in_domain(low, low=0.0, high=1.0, low_open=True, high_open=True)
        & in_domain(high, low=0.0, high=1.0, low_open=True, high_open=True)
        & (low < high)
    )
    final = c[-1]
    lab = jnp.where(c >= high * final, 3, jnp.where(c >= low * final, 2, 1))
    lab = jnp.where(r0 <= 1.0, 0, lab).astype(jnp.int32)
    return eqx.error_if(
        lab, ~ok, "`low`, `high` must satisfy 0 < low < high < 1 (traced values)"
    )


def uniform_entropy(width: RealLike) -> Float[Array, ...]:
    r"""Differential entropy $\ln(2w)$ of the uniform fitness law on $[1-w, 1+w]$.

    Args:
      width: $w \ge 0$, any shape (may be traced: NaN where outside the domain).
    """
    return _uniform_entropy(check_array("width", width, low=0.0))


@jax.jit
def _uniform_entropy(w):
    w = jnp.asarray(w)
    w = w.astype(jnp.result_type(float)) if w.dtype.kind != "f" else w
    return nan_outside(in_domain(w, low=0.0), jnp.log(2.0 * w))


def discrete_entropy(p: RealLike) -> Float[Array, ...]:
    r"""Shannon entropy $-\sum_k \hat p_k \ln \hat p_k$ of a distribution over types (last
    axis), $\hat p = p / \sum_k p_k$.

    Args:
      p: Non-negative weights `(..., K)`, normalised here (counts or shares alike), not
        all zero. May be traced: NaN where an entry is negative or not finite, or all
        are zero.

    Returns:
      The entropy in nats, in $[0, \ln K]$. (Weights were once taken as probabilities
      as given: `[1, 1, 1, 1]` gave 0 and `[2, 2]` gave -2.77.)
    """
    p = check_array("p", p, ndim=tuple(range(1, 33)), low=0.0)
    if not is_traced(p) and bool(np.any(np.sum(np.asarray(p), axis=-1) == 0)):
        raise ValueError(
            f"`p`={np.asarray(p)!r} has all weights zero; allowed: sum > 0"
        )
    return _discrete_entropy(p)


@jax.jit
def _discrete_entropy(p):
    p = jnp.asarray(p)
    p = p.astype(jnp.result_type(float)) if p.dtype.kind != "f" else p
    total = jnp.sum(p, axis=-1)
    ok = jnp.all(in_domain(p, low=0.0), axis=-1) & (total > 0)
    q = p / jnp.where(ok, total, 1)[..., None]
    return nan_outside(ok, jnp.sum(entr(q), axis=-1))
