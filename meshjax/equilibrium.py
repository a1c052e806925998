r"""The mesh equilibrium pipeline of Theorem 6.1, Corollary 6.2 and the phases of §7.

Agents arrive (the population $N$ grows), connect with probability $\beta$ per pair (an
Erdős–Rényi graph, so $R_0^{\mathrm{mesh}} = \beta N$ with $v/D = 1$ in (2)), specialise
by the threshold dynamics (9)–(10) (`meshjax.specialization`), and the mesh is the giant
component: $C_{\mathrm{mesh}}(N)$ is eq. (15) over the giant component's capability matrix,
compared with $C_{\mathrm{cent}}$ of eq. (8). Both sides use the unnormalised CES of
(8)/(15); $N^*$ does not depend on that choice (`meshjax.ces`).

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

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from . import specialization as spec
from ._checks import check_array_range, check_int, check_real
from ._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from .ces import _log_power_mean, centralized_capability
from .graph import Graph, connected_components, erdos_renyi
from .percolation import bond_percolation, giant_component_fraction_theory

__all__ = [
    "grow_mesh",
    "capability_curve",
    "measured_critical_mass",
    "critical_mass_fixed_beta",
    "classify_phases",
    "uniform_entropy",
    "discrete_entropy",
]


def _giant_members(graph: Graph, mask, present):
    """bool[n]: nodes of the largest component among present nodes (mask on edges)."""
    labels = connected_components(graph, mask)
    n = graph.n_nodes
    sizes = jax.ops.segment_sum(present.astype(jnp.int32), labels, n)
    giant = jnp.argmax(sizes)
    return (labels == giant) & present, jnp.max(sizes)


def _mesh_c(act, capability, members, rho):
    cap = spec._capability_matrix(act, capability)
    C = jnp.sum(jnp.where(members[:, None], cap, 0.0), axis=0)
    J = act.shape[1]
    return jnp.exp(
        _log_power_mean(C, jnp.asarray(rho, act.dtype), 0) + math.log(J) / rho
    ), C


def _check_common(params, capability, rho, M, c_cent):
    if not isinstance(params, spec.ThresholdParams):
        raise TypeError(
            f"`params` must be a ThresholdParams, got {type(params).__name__}"
        )
    check_array_range("capability", capability, low=0.0)
    cap = jnp.asarray(capability)
    if cap.ndim != 1 or cap.shape[0] < 2:
        raise ValueError(
            f"`capability` must have shape (N_max,), N_max >= 2; got {cap.shape}"
        )
    rho = check_real("rho", rho, high=1.0, high_open=True)
    if rho == 0.0:
        raise ValueError("`rho`=0 is not allowed (eqs. (8), (15) need rho != 0)")
    M = check_real("M", M, low=0.0, low_open=True)
    c_cent = check_real("c_cent", c_cent, low=0.0, low_open=True)
    return cap, rho, M, c_cent


def grow_mesh(
    key: PRNGKeyArray,
    n_schedule: ArrayLike,
    *,
    beta: float,
    params: spec.ThresholdParams,
    capability: ArrayLike,
    rho: float,
    M: float,
    c_cent: float,
    steps_per_record: int = 10,
    theta0: tuple[float, float] | None = None,
) -> dict[str, Array]:
    r"""Theorem 6.1 as a time series: agents arrive, connect, specialise; $C_{\mathrm{mesh}}(t)$.

    Record $r$ has $N_r$ = `n_schedule[r]` agents present; between records the threshold
    dynamics run `steps_per_record` steps on the present agents (global stimuli, demand
    per present agent). At each record: the giant component of the ER graph ($\beta$ per
    pair) induced on the present agents, $C_{\mathrm{mesh}}$ (15) on it, $C_{\mathrm{cent}}$
    (8), the centralised share $C_{\mathrm{cent}} / (C_{\mathrm{cent}} + C_{\mathrm{mesh}})$
    (Corollary 6.2), and the specialisation metrics.

    Args:
      key: PRNG key (graph, initial thresholds, dynamics).
      n_schedule: Non-decreasing ints in $[1, N_{\max}]$, shape `(R,)`.
      beta: Connection probability per pair, in $(0, 1]$; $R_0 = \beta N$.
      params: Threshold-model parameters ($J$ from `params.demand`).
      capability: $\bar c_i \ge 0$ per agent, shape `(N_max,)` (arrival order).
      rho: CES $\rho < 1$, $\ne 0$.
      M, c_cent: Centralised units and capability per unit, both $> 0$.
      steps_per_record: Dynamics steps between records (static).
      theta0: Range of the initial thresholds (`specialization.init_state`).

    Returns:
      Dict of `(R,)` arrays: `n`, `r0`, `s_measured` (giant / present), `s_theory` (eq. (3)
      at $R_0$), `c_mesh`, `c_cent`, `ratio`, `share_cent`, `dol`, `frac_specialised`,
      `types_covered` (tasks holding at least half the even share $1/J$ of the giant
      component's capability), `giant_size`. Cost O(R · steps · N_max · J + R · E log N).

    Raises:
      ValueError: bad schedule, `beta` outside (0, 1], other arguments out of range.
    """
    cap, rho, M, c_cent = _check_common(params, capability, rho, M, c_cent)
    n_max = cap.shape[0]
    beta = check_real("beta", beta, low=0.0, high=1.0, low_open=True)
    steps_per_record = check_int("steps_per_record", steps_per_record, min_value=1)
    sched = np.asarray(n_schedule)
    if sched.ndim != 1 or sched.size < 1 or not np.issubdtype(sched.dtype, np.integer):
        raise ValueError(
            f"`n_schedule` must be a 1-d int array, got {sched.dtype}{sched.shape}"
        )
    if sched.min() < 1 or sched.max() > n_max or np.any(np.diff(sched) < 0):
        raise ValueError(f"`n_schedule` must be non-decreasing in [1, {n_max}]")
    k_graph, k_th, k_dyn = jr.split(key, 3)
    mean_k = beta * (n_max - 1)
    graph = erdos_renyi(k_graph, n_max, min(mean_k, n_max - 1 - 1e-9))
    state = spec.init_state(k_th, n_max, params, theta0=theta0, dtype=cap.dtype)
    c_c = centralized_capability(M, c_cent, params.n_tasks, rho)
    out = _grow(
        k_dyn,
        graph,
        state,
        params,
        cap,
        jnp.asarray(sched, jnp.int32),
        rho,
        steps_per_record,
    )
    out["n"] = jnp.asarray(sched)
    out["r0"] = beta * jnp.asarray(sched, cap.dtype)
    out["s_theory"] = giant_component_fraction_theory(out["r0"])
    out["c_cent"] = jnp.broadcast_to(c_c, out["c_mesh"].shape)
    out["ratio"] = out["c_mesh"] / c_c
    out["share_cent"] = c_c / (c_c + out["c_mesh"])
    return out


@eqx.filter_jit
def _grow(key, graph, state, params, cap, sched, rho: float, every: int):
    n_max = graph.n_nodes
    idx = jnp.arange(n_max)
    J = params.n_tasks

    def record(st, n_now):
        present = idx < n_now

        def inner(_, s):
            return spec.step(jr.fold_in(key, s.t), s, params, None, present)

        st = lax.fori_loop(0, every, inner, st)
        mask = present[graph.senders] & present[graph.receivers]
        members, gsize = _giant_members(graph, mask, present)
        c_mesh, C = _mesh_c(st.activity, cap, members, rho)
        m = spec._metrics(st, params, members, cap, rho, 0.9)
        covered = jnp.sum(C >= 0.5 * jnp.sum(C) / J)
        return st, {
            "c_mesh": c_mesh,
            "s_measured": gsize / n_now,
            "giant_size": gsize,
            "dol": m["dol"],
            "frac_specialised": m["frac_specialised"],
            "types_covered": covered,
        }

    _, out = lax.scan(record, state, sched)
    return out


def capability_curve(
    key: PRNGKeyArray,
    n_grid: ArrayLike,
    *,
    mean_degree: float,
    params: spec.ThresholdParams,
    capability: ArrayLike,
    rho: float,
    M: float,
    c_cent: float,
    steps: int = 300,
    replicas: int = 4,
    theta0: tuple[float, float] | None = None,
    thresholds: ArrayLike | None = None,
) -> dict[str, Array]:
    r"""$C_{\mathrm{mesh}}(N) / C_{\mathrm{cent}}$ on a grid of $N$ at fixed mean degree.

    For each replica $r$ (key `fold_in(key, r)`) and grid point $N$: the first $N$ agents
    on an ER graph with $\beta = R_0/(N-1)$ (so $S_\infty$ is the same at every $N$, as
    (16) assumes), `steps` threshold-dynamics steps from the same initial thresholds, then
    $C_{\mathrm{mesh}}$ (15) on the giant component. All grid points and replicas run as
    one `vmap`.

    Args:
      key: PRNG key.
      n_grid: Increasing ints $\ge 2$, shape `(G,)`; $N_{\max}$ = `len(capability)` must
        be $\ge$ `n_grid[-1]`.
      mean_degree: $R_0 > 0$ (mean degree of each ER graph).
      params, capability, rho, M, c_cent, theta0: As in `grow_mesh`.
      steps: Dynamics steps per point (static).
      replicas: Independent replicas (static).
      thresholds: Optional explicit initial thresholds `(N_max, J)` (e.g. biased by
        agent type), shared by all replicas.

    Returns:
      Dict: `n` `(G,)`, `ratio`, `c_mesh`, `s_measured`, `dol`, `frac_specialised`
      `(replicas, G)`, `task_shares` `(replicas, G, J)` (giant component's capability
      per task / total), `c_cent` (scalar), `s_theory` (eq. (3) at $R_0$), `mean_capability`
      (mean $\bar c_i$ over the first `n_grid[-1]` agents).

    Raises:
      ValueError: bad grid, `mean_degree` not positive or too large for the smallest $N$.
    """
    cap, rho, M, c_cent = _check_common(params, capability, rho, M, c_cent)
    n_max = cap.shape[0]
    mean_degree = check_real("mean_degree", mean_degree, low=0.0, low_open=True)
    steps = check_int("steps", steps, min_value=1)
    replicas = check_int("replicas", replicas, min_value=1)
    grid = np.asarray(n_grid)
    if grid.ndim != 1 or grid.size < 1 or not np.issubdtype(grid.dtype, np.integer):
        raise ValueError("`n_grid` must be a 1-d int array")
    if grid.min() < 2 or np.any(np.diff(grid) <= 0) or grid.max() > n_max:
        raise ValueError(f"`n_grid` must be increasing in [2, {n_max}], got {grid}")
    if mean_degree >= grid.min() - 1:
        raise ValueError(f"`mean_degree`={mean_degree} must be < n_grid.min() - 1")
    beta_max = mean_degree / (grid.min() - 1)
    k_base = min(beta_max * (n_max - 1), n_max - 1 - 1e-9)
    betas = mean_degree / (grid - 1.0)
    q = np.minimum(betas / beta_max, 1.0)
    if thresholds is not None:
        check_array_range("thresholds", thresholds, low=0.0)
        if np.shape(thresholds) != (n_max, params.n_tasks):
            raise ValueError(f"`thresholds` must have shape {(n_max, params.n_tasks)}")
    res = _curve(
        key,
        params,
        cap,
        jnp.asarray(grid, jnp.int32),
        jnp.asarray(q, cap.dtype),
        None if thresholds is None else jnp.asarray(thresholds, cap.dtype),
        theta0,
        rho,
        steps,
        replicas,
        float(k_base),
    )
    c_c = centralized_capability(M, c_cent, params.n_tasks, rho)
    res["c_cent"] = c_c
    res["ratio"] = res["c_mesh"] / c_c
    res["n"] = jnp.asarray(grid)
    res["s_theory"] = giant_component_fraction_theory(
        jnp.asarray(mean_degree, cap.dtype)
    )
    res["mean_capability"] = jnp.mean(cap[: int(grid.max())])
    return res


def _curve(key, params, cap, grid, q, thresholds, theta0, rho, steps, replicas, k_base):
    n_max = cap.shape[0]
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
        outs.append(_curve_one(k_dyn, graph, state, params, cap, grid, q, rho, steps))
    return {k: jnp.stack([o[k] for o in outs]) for k in outs[0]}


@eqx.filter_jit
def _curve_one(key, graph, state, params, cap, grid, q, rho: float, steps: int):
    idx = jnp.arange(graph.n_nodes)

    def point(g_i, n_now, q_i):
        present = idx < n_now
        kp = jr.fold_in(key, g_i)
        keep = bond_percolation(jr.fold_in(kp, 0), graph, q_i)
        mask = keep & present[graph.senders] & present[graph.receivers]

        def inner(_, s):
            return spec.step(jr.fold_in(kp, s.t + 1), s, params, None, present)

        st = lax.fori_loop(0, steps, inner, state)
        members, gsize = _giant_members(graph, mask, present)
        c_mesh, C = _mesh_c(st.activity, cap, members, rho)
        m = spec._metrics(st, params, members, cap, rho, 0.9)
        return {
            "c_mesh": c_mesh,
            "s_measured": gsize / n_now,
            "dol": m["dol"],
            "frac_specialised": m["frac_specialised"],
            "task_shares": C / jnp.sum(C),
        }

    return jax.vmap(point)(jnp.arange(grid.shape[0]), grid, q)


def measured_critical_mass(n: ArrayLike, ratio: ArrayLike) -> np.ndarray:
    r"""$N^*$ where $C_{\mathrm{mesh}}/C_{\mathrm{cent}}$ first crosses 1, by linear
    interpolation between grid points (host-side NumPy).

    Args:
      n: Grid, increasing, shape `(G,)`.
      ratio: `(..., G)` ratios.

    Returns:
      `(...)` float array; NaN where the ratio does not cross 1 on the grid (never
      reaches 1, or is already above 1 at the first point).
    """
    n = np.asarray(n, float)
    r = np.asarray(ratio, float)
    if n.ndim != 1 or r.shape[-1] != n.shape[0]:
        raise ValueError(
            f"`ratio` must end with the grid axis {n.shape}, got {r.shape}"
        )
    flat = r.reshape(-1, n.shape[0])
    out = np.full(flat.shape[0], np.nan)
    for k, row in enumerate(flat):
        above = np.nonzero(row >= 1.0)[0]
        if above.size == 0 or above[0] == 0:
            continue
        i = above[0]
        r0, r1 = row[i - 1], row[i]
        out[k] = n[i - 1] + (1.0 - r0) * (n[i] - n[i - 1]) / (r1 - r0)
    return out.reshape(r.shape[:-1])


def critical_mass_fixed_beta(
    M: float, c_cent: float, c_mesh: float, beta: float
) -> float:
    r"""$N^*$ when $\beta$ (not $R_0$) is fixed: the root of $N S_\infty(\beta N) = M \bar
    c_{\mathrm{cent}} / \bar c$ (eq. (16) with $S_\infty$ depending on $N$ through (2)-(3)).

    $N S_\infty(\beta N)$ is increasing for $\beta N > 1$, so the root is unique; found by
    bisection on $N \in (1/\beta, \infty)$.

    Args:
      M, c_cent, c_mesh: Positive (as in `ces.critical_mass`).
      beta: Connection probability per pair in (0, 1].

    Returns:
      $N^*$ as a float.
    """
    M = check_real("M", M, low=0.0, low_open=True)
    c_cent = check_real("c_cent", c_cent, low=0.0, low_open=True)
    c_mesh = check_real("c_mesh", c_mesh, low=0.0, low_open=True)
    beta = check_real("beta", beta, low=0.0, high=1.0, low_open=True)
    target = M * c_cent / c_mesh

    def s_inf(r0):
        if r0 <= 1.0:
            return 0.0
        s = 1.0
        for _ in range(200):
            e = math.exp(-r0 * s)
            s = s - (1.0 - e - s) / (r0 * e - 1.0)
        return s

    lo, hi = 1.0 / beta, max(2.0 / beta, 2.0 * target)
    while hi * s_inf(beta * hi) < target:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid * s_inf(beta * mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def classify_phases(
    c_mesh: ArrayLike, r0: ArrayLike, *, low: float = 0.1, high: float = 0.9
) -> np.ndarray:
    r"""Labels each record with a phase of §7 from the measured $C_{\mathrm{mesh}}(t)$.

    0 = pre-critical ($R_0 \le 1$), 1 = nucleation ($R_0 > 1$, $C_{\mathrm{mesh}} <$
    `low` × final), 2 = rapid growth (between), 3 = maturity ($\ge$ `high` × final).
    The chapter characterises the phases by $R_0$ (≈ 1, ≫ 1) and by coverage; meshjax
    labels them by the measured capability and reports $R_0$ in each, so the chapter's
    description can be checked against the labels.

    Args:
      c_mesh: `(R,)` series.
      r0: `(R,)` series.
      low, high: Fractions of the final $C_{\mathrm{mesh}}$, $0 < low < high < 1$.

    Returns:
      `int[R]` labels.
    """
    low = check_real("low", low, low=0.0, high=1.0, low_open=True, high_open=True)
    high = check_real("high", high, low=low, high=1.0, low_open=True, high_open=True)
    c = np.asarray(c_mesh, float)
    r0 = np.asarray(r0, float)
    if c.shape != r0.shape or c.ndim != 1:
        raise ValueError("`c_mesh` and `r0` must be 1-d of one shape")
    final = c[-1]
    lab = np.where(c >= high * final, 3, np.where(c >= low * final, 2, 1))
    lab = np.where(r0 <= 1.0, 0, lab)
    return lab


def uniform_entropy(width: ArrayLike) -> Float[Array, ...]:
    r"""Differential entropy $\ln(2w)$ of the uniform fitness law on $[1-w, 1+w]$."""
    check_array_range("width", width, low=0.0)
    return jnp.log(2.0 * jnp.asarray(width, jnp.result_type(float)))


def discrete_entropy(p: ArrayLike) -> Float[Array, ...]:
    r"""Shannon entropy $-\sum_k p_k \ln p_k$ of a distribution over types (last axis)."""
    check_array_range("p", p, low=0.0)
    p = jnp.asarray(p)
    p = p.astype(jnp.result_type(p, float))
    return -jnp.sum(spec._xlogx(p), axis=-1)
