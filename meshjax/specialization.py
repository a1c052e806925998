r"""Emergent specialisation: the fixed-response-threshold model with reinforcement,
eqs. (9)–(10) (Bonabeau, Theraulaz & Deneubourg 1996; Theraulaz, Bonabeau & Deneubourg
1998), for $N$ agents × $J$ tasks.

The model, one synchronous step of length $\Delta t = 1$:

1. A working agent stops with probability $p$ (`quit_prob`) and becomes idle.
2. An agent idle at the start of the step draws one candidate task $j$ uniformly from the
   $J$ tasks and takes it up with probability, eq. (9),
   $$T_{\theta_{ij}}(s_j) = \frac{s_j^n}{s_j^n + \theta_{ij}^n}.$$
3. With $x_{ij} \in \{0, 1\}$ the new activities and $W_j = \sum_i x_{ij}$, the stimuli
   follow unmet demand (global form)
   $$s_j \leftarrow \max\big(0,\; s_j + \delta_j - \alpha W_j / N\big),$$
   i.e. $s_j$ rises by the demand $\delta_j$ per step and falls with the work done
   ($\alpha$ = `efficiency`; $N$ = number of agents present). In steady state with $s_j > 0$
   the work tracks demand: $W_j/N \to \delta_j/\alpha$. With `graph` given, each agent
   has its own stimulus vector fed by its closed neighbourhood:
   $s_{ij} \leftarrow \max(0, s_{ij} + \delta_j - \alpha (x_{ij} + \sum_k A_{ik} x_{kj})/(1 +
   k_i))$.
4. Thresholds adapt, eq. (10) in discrete time:
   $$\theta_{ij} \leftarrow \mathrm{clip}\big(\theta_{ij} - \xi x_{ij} + \varphi (1 - x_{ij}),\;
   \theta_{\min},\; \theta_{\max}\big),$$
   performing lowers a threshold by $\xi$ (`learning`), not performing raises it by
   $\varphi$ (`forgetting`). Thresholds are kept in $[\theta_{\min}, \theta_{\max}]$ as in
   Theraulaz et al. (1998): the bounds are part of the model (without them (10) drives
   thresholds to $\pm\infty$).
5. A memory of the work done, $a_{ij} \leftarrow (1 - \lambda) a_{ij} + \lambda x_{ij}$
   (`memory` = $\lambda$), from which the metrics are computed.

Agents not `present` (not yet arrived) neither work nor learn.

Metrics (`metrics`): the division-of-labour index of Gorelick, Bertram, Killeen & Fewell
(2004), $\mathrm{DOL} = I(\text{agent}; \text{task}) / H(\text{task})$ from the work
memory $a$ (0: every agent works like the colony average; 1: every agent does one task),
the same index from the propensities $T_{\theta_{ij}}(s_j)$, the fraction of agents
specialised (top task $\ge$ `spec_level` of their work), per-task coverage (share of agents
whose dominant task is $j$), work per task $W_j/N$, and the CES aggregate (15) of the
capability matrix $c_{ij} = \bar c_i\, a_{ij} / \sum_k a_{ik}$ (uniform $\bar c_i/J$ for an
agent that has not worked yet).

Cost: O(N·J) memory (thresholds, memory) and O(N·J) work per step (plus O(E·J) with a
graph); the time loop is a `lax.scan`. N = 10^6, J = 10 takes ~100 MB in float32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from ._custom_types import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray
from ._results import RESULTS, AbstractResult
from ._validate import (
    as_key,
    check_array,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)
from .ces import log_power_mean
from .graph import Graph

__all__ = [
    "ThresholdParams",
    "ThresholdState",
    "ThresholdMetrics",
    "ThresholdRun",
    "init_state",
    "step",
    "simulate",
    "metrics",
    "division_of_labour",
    "response_probability",
    "capability_matrix",
]

#: What the functions accept for an array argument (lists of numbers included).
RealLike = ArrayLike | Sequence

#: Domain of each scalar parameter of `ThresholdParams` (keyword arguments of
#: `meshjax._validate.check_real` / `in_domain`).
_DOMAINS = {
    "efficiency": dict(low=0.0, low_open=True),
    "steepness": dict(low=1.0),
    "learning": dict(low=0.0),
    "forgetting": dict(low=0.0),
    "quit_prob": dict(low=0.0, high=1.0, low_open=True),
    "theta_min": dict(low=0.0),
    "theta_max": dict(low=0.0, low_open=True),
    "memory": dict(low=0.0, high=1.0, low_open=True),
}


def _scalar(name):
    def convert(value):
        return jnp.asarray(check_real(name, value, **_DOMAINS[name]))

    return convert


def _demand(value):
    d = check_array("demand", value, ndim=1, low=0.0)
    if d.shape[0] < 2:
        raise ValueError(f"`demand` must have J >= 2 tasks, got shape {d.shape}")
    return d


class ThresholdParams(eqx.Module):
    r"""Parameters of the threshold model (module docstring for the equations).

    Every field may be traced (e.g. built inside `jit` or `sweep`): concrete values are
    checked here (`ValueError`/`TypeError` naming the field), traced ones by the drivers,
    which report `RESULTS.invalid_parameter` (`valid`).

    Attributes:
      demand: $\delta_j \ge 0$, shape `(J,)`, $J \ge 2$: stimulus increase per step.
      efficiency: $\alpha > 0$: stimulus removed per unit of work (per agent fraction).
      steepness: $n \ge 1$ in (9) (the chapter asks $n \ge 2$; 1 is allowed).
      learning: $\xi \ge 0$ in (10).
      forgetting: $\varphi_t \ge 0$ in (10).
      quit_prob: $p \in (0, 1]$, probability per step that a worker stops.
      theta_min, theta_max: $0 \le \theta_{\min} < \theta_{\max}$, threshold bounds.
      memory: $\lambda \in (0, 1]$, rate of the work memory (≈ 1/λ steps).
    """

    demand: Float[Array, " J"] = eqx.field(converter=_demand)
    efficiency: Float[Array, ""] = eqx.field(
        converter=_scalar("efficiency"), default=1.0
    )
    steepness: Float[Array, ""] = eqx.field(converter=_scalar("steepness"), default=2.0)
    learning: Float[Array, ""] = eqx.field(converter=_scalar("learning"), default=0.5)
    forgetting: Float[Array, ""] = eqx.field(
        converter=_scalar("forgetting"), default=0.05
    )
    quit_prob: Float[Array, ""] = eqx.field(converter=_scalar("quit_prob"), default=0.1)
    theta_min: Float[Array, ""] = eqx.field(
        converter=_scalar("theta_min"), default=0.01
    )
    theta_max: Float[Array, ""] = eqx.field(
        converter=_scalar("theta_max"), default=20.0
    )
    memory: Float[Array, ""] = eqx.field(converter=_scalar("memory"), default=0.005)

    def __check_init__(self):
        if not is_traced((self.theta_min, self.theta_max)) and not float(
            self.theta_min
        ) < float(self.theta_max):
            raise ValueError(
                f"`theta_min`={float(self.theta_min)} must be < "
                f"`theta_max`={float(self.theta_max)}"
            )

    @property
    def n_tasks(self) -> int:
        return self.demand.shape[-1]

    def valid(self) -> Bool[Array, ""]:
        """Scalar bool, under `jit` too: every field inside its domain."""
        ok = jnp.all(in_domain(self.demand, low=0.0))
        for name, dom in _DOMAINS.items():
            ok = ok & in_domain(getattr(self, name), **dom)
        return ok & (self.theta_min < self.theta_max)


class ThresholdState(eqx.Module):
    r"""State of the threshold model.

    Attributes:
      thresholds: $\theta_{ij}$, `(N, J)`, within $[\theta_{\min}, \theta_{\max}]$.
      task: `int16[N]`, the task each agent works on; `J` means idle.
      stimuli: $s_j$, `(J,)` (global) or $s_{ij}$, `(N, J)` (graph-local).
      activity: work memory $a_{ij}$, `(N, J)`.
      t: Steps done.
    """

    thresholds: Float[Array, "N J"]
    task: Int[Array, " N"]
    stimuli: Float[Array, "*N J"]
    activity: Float[Array, "N J"]
    t: Int[Array, ""]


class ThresholdMetrics(AbstractResult):
    r"""Specialisation metrics of a state (`metrics`; module docstring).

    Attributes:
      dol: Division-of-labour index (Gorelick et al.) from the work memory.
      dol_propensity: The same index from the propensities $T_{\theta_{ij}}(s_j)$.
      frac_specialised: Fraction of present agents whose top task has at least
        `spec_level` of their work memory.
      coverage: `(J,)` share of the agents that have worked whose dominant task is $j$.
      work: `(J,)` work per task $W_j/N$ (current tasks, present agents).
      stimulus: `(J,)` stimuli (mean over present agents if local).
      ces: $C_{\mathrm{mesh}}$ of the capability matrix, eq. (15), unnormalised.
      status: `RESULTS.successful`, or `RESULTS.invalid_parameter` (a traced parameter
        outside its domain; every float field NaN).
    """

    dol: Float[Array, "*R"]
    dol_propensity: Float[Array, "*R"]
    frac_specialised: Float[Array, "*R"]
    coverage: Float[Array, "*R J"]
    work: Float[Array, "*R J"]
    stimulus: Float[Array, "*R J"]
    ces: Float[Array, "*R"]
    status: RESULTS


class ThresholdRun(AbstractResult):
    r"""Result of `simulate`: the final state and the metrics recorded every
    `record_every` steps (a leading axis of length `n_steps // record_every`).

    Attributes:
      state: The final `ThresholdState`.
      t: `(R,)` step count at each record.
      dol, dol_propensity, frac_specialised, coverage, work, stimulus, ces: As in
        `ThresholdMetrics`, with a leading record axis `R`.
      status: `RESULTS.successful`, or `RESULTS.invalid_parameter` (a traced parameter
        outside its domain; the metrics are NaN).
    """

    state: ThresholdState
    t: Int[Array, " R"]
    dol: Float[Array, " R"]
    dol_propensity: Float[Array, " R"]
    frac_specialised: Float[Array, " R"]
    coverage: Float[Array, "R J"]
    work: Float[Array, "R J"]
    stimulus: Float[Array, "R J"]
    ces: Float[Array, " R"]
    status: RESULTS


def response_probability(
    stimuli: RealLike, thresholds: RealLike, steepness: RealLike
) -> Float[Array, ...]:
    r"""Eq. (9): $T_\theta(s) = s^n / (s^n + \theta^n)$, computed as a logistic in logs.

    $T = \sigma(n(\log s - \log\theta))$: no overflow for large $n$; $s = 0$ gives 0 and
    $\theta = 0 < s$ gives 1; $s = \theta = 0$ gives 1/2.
    Subnormal $s$ or $\theta$ count as 0: XLA flushes denormals to zero on CPU and GPU
    (float32 below 1.18e-38, float64 below 2.2e-308), in comparisons too.

    Args (broadcast together; each may be traced, NaN where outside its domain):
      stimuli: $s \ge 0$.
      thresholds: $\theta \ge 0$.
      steepness: $n \ge 1$.

    Returns:
      Probabilities in $[0, 1]$.

    Raises:
      ValueError: negative stimuli or thresholds, $n < 1$.
    """
    s = check_array("stimuli", stimuli, low=0.0)
    th = check_array("thresholds", thresholds, low=0.0)
    n = check_array("steepness", steepness, low=1.0)
    dtype = _float_dtype(s, th, n)
    s, th, n = (jnp.asarray(x).astype(dtype) for x in (s, th, n))
    ok = in_domain(s, low=0.0) & in_domain(th, low=0.0) & in_domain(n, low=1.0)
    return nan_outside(ok, _response(s, th, n))


def _float_dtype(*xs):
    dts = [x.dtype for x in xs if jnp.issubdtype(x.dtype, jnp.floating)]
    return jnp.result_type(*dts) if dts else jnp.result_type(float)


@jax.jit
def _response(s, theta, n):
    dtype = _float_dtype(s, theta)
    s = s.astype(dtype)
    theta = theta.astype(dtype)
    tiny = jnp.finfo(dtype).tiny
    ls = jnp.log(jnp.maximum(s, tiny))
    lt = jnp.log(jnp.maximum(theta, tiny))
    t = jax.nn.sigmoid(n.astype(dtype) * (ls - lt))
    t = jnp.where((s == 0) & (theta > 0), jnp.zeros((), dtype), t)
    return jnp.where((theta == 0) & (s > 0), jnp.ones((), dtype), t)


def _check_params(params):
    if not isinstance(params, ThresholdParams):
        raise TypeError(
            f"`params` must be a ThresholdParams, got {type(params).__name__}"
        )
    return params


def init_state(
    key: PRNGKeyArray | int,
    n_agents: int,
    params: ThresholdParams,
    *,
    theta0: tuple[ArrayLike, ArrayLike] | None = None,
    thresholds: RealLike | None = None,
    local: bool = False,
    dtype=None,
) -> ThresholdState:
    r"""Initial state: all agents idle, no memory, stimuli 0, heterogeneous thresholds.

    Args:
      key: PRNG key (or int seed) for the thresholds.
      n_agents: $N \ge 1$ (static).
      params: Model parameters (fix $J$ and the threshold range; may be traced).
      theta0: `(low, high)`: thresholds i.i.d. uniform in this sub-range of
        $[\theta_{\min}, \theta_{\max}]$; default the middle third of the range.
      thresholds: Explicit `(N, J)` thresholds instead (non-negative, within the range).
      local: Per-agent stimuli `(N, J)` (for a graph-local demand) instead of `(J,)`.
      dtype: Floating dtype (default: JAX's default float).

    Returns:
      A `ThresholdState`.

    Raises:
      ValueError: `n_agents < 1`, thresholds negative / outside the range / wrong shape,
        `theta0` not inside the range (checked where the values are concrete).
    """
    key = as_key(key)
    n_agents = check_int("n_agents", n_agents, min_value=1)
    params = _check_params(params)
    J = params.n_tasks
    dtype = jnp.result_type(float) if dtype is None else dtype
    bounds = (params.theta_min, params.theta_max)
    concrete = not is_traced(bounds)
    lo_f, hi_f = (float(b) for b in bounds) if concrete else (0.0, None)
    lo_b, hi_b = (jnp.asarray(b).astype(dtype) for b in bounds)
    if thresholds is not None:
        th = check_array(
            "thresholds",
            thresholds,
            shape=(n_agents, J),
            low=lo_f,
            high=hi_f,
        )
        th = jnp.asarray(th).astype(dtype)
    else:
        if theta0 is None:
            lo = lo_b + (hi_b - lo_b) / 3
            hi = lo_b + 2 * (hi_b - lo_b) / 3
        else:
            if len(theta0) != 2:
                raise ValueError(f"`theta0` must be (low, high), got {theta0!r}")
            lo = check_real("theta0", theta0[0], low=0.0)
            hi = check_real("theta0", theta0[1], low=0.0)
            if concrete and not is_traced((lo, hi)):
                if not lo_f <= lo <= hi <= hi_f:
                    raise ValueError(
                        f"`theta0`={tuple(theta0)} must satisfy theta_min="
                        f"{lo_f} <= low <= high <= theta_max={hi_f}"
                    )
            lo, hi = (jnp.asarray(x).astype(dtype) for x in (lo, hi))
        th = jr.uniform(key, (n_agents, J), dtype, lo, hi)
    stim = jnp.zeros((n_agents, J) if local else (J,), dtype)
    return ThresholdState(
        thresholds=th,
        task=jnp.full((n_agents,), J, jnp.int16),
        stimuli=stim,
        activity=jnp.zeros((n_agents, J), dtype),
        t=jnp.zeros((), jnp.int32),
    )


def step(
    key: PRNGKeyArray | int,
    state: ThresholdState,
    params: ThresholdParams,
    *,
    graph: Graph | None = None,
    present: Bool[Array, " N"] | None = None,
) -> ThresholdState:
    r"""One synchronous step of the threshold model (module docstring, steps 1–5).

    Args:
      key: PRNG key (or int seed), consumed.
      state: Current state (`stimuli` of shape `(N, J)` when `graph` is given).
      params: Model parameters (may be traced; a driver such as `simulate` reports
        traced values outside their domain through its status).
      graph: Optional graph on the $N$ agents for neighbourhood-local stimuli.
      present: Optional `bool[N]`: agents in the system (others frozen and idle).

    Returns:
      The next state. Cost O(N·J) (+ O(E·J) with a graph).
    """
    key = as_key(key)
    params = _check_params(params)
    _check_layout(state, params, graph, present)
    return _step(key, state, params, graph, present)


def _check_layout(state, params, graph, present):
    N, J = state.thresholds.shape
    if J != params.n_tasks:
        raise ValueError(
            f"`state` has J={J} tasks but `params.demand` has {params.n_tasks}"
        )
    if graph is not None:
        if graph.n_nodes != N:
            raise ValueError(f"`graph` has n_nodes={graph.n_nodes}; must equal N={N}")
        if state.stimuli.ndim != 2:
            raise ValueError(
                "`graph` needs graph-local stimuli: use init_state(..., local=True)"
            )
    elif state.stimuli.ndim == 2:
        raise ValueError("graph-local stimuli (shape (N, J)) need `graph`")
    if present is not None:
        check_array("present", present, kind="bool", shape=(N,))


@eqx.filter_jit
def _step(key, state, params, graph, present):
    th, task = state.thresholds, state.task
    N, J = th.shape
    dtype = th.dtype
    k_quit, k_pick, k_go = jr.split(key, 3)
    working = task < J
    quits = jr.uniform(k_quit, (N,), dtype) < params.quit_prob.astype(dtype)
    cand = jr.randint(k_pick, (N,), 0, J, dtype=jnp.int32)
    th_c = jnp.take_along_axis(th, cand[:, None], axis=1)[:, 0]
    if state.stimuli.ndim == 1:
        s_c = state.stimuli[cand]
    else:
        s_c = jnp.take_along_axis(state.stimuli, cand[:, None], axis=1)[:, 0]
    go = jr.uniform(k_go, (N,), dtype) < _response(s_c, th_c, params.steepness)
    new_task = jnp.where(
        working, jnp.where(quits, J, task.astype(jnp.int32)), jnp.where(go, cand, J)
    )
    if present is not None:
        new_task = jnp.where(present, new_task, J)
    x = (new_task[:, None] == jnp.arange(J, dtype=new_task.dtype)[None, :]).astype(
        dtype
    )  # (N, J)
    demand = params.demand.astype(dtype)
    alpha = params.efficiency.astype(dtype)
    if state.stimuli.ndim == 1:
        n_present = (
            jnp.asarray(N, dtype)
            if present is None
            else jnp.maximum(jnp.sum(present), 1).astype(dtype)
        )
        work = jnp.sum(x, axis=0)
        stim = jnp.maximum(state.stimuli + demand - alpha * work / n_present, 0.0)
    else:
        nb = graph.neighbor_sum(x)
        deg = graph.degrees().astype(dtype)[:, None]
        stim = jnp.maximum(state.stimuli + demand - alpha * (x + nb) / (1.0 + deg), 0.0)
    th_new = jnp.clip(
        th
        - params.learning.astype(dtype) * x
        + params.forgetting.astype(dtype) * (1.0 - x),
        params.theta_min.astype(dtype),
        params.theta_max.astype(dtype),
    )
    lam = params.memory.astype(dtype)
    act = (1.0 - lam) * state.activity + lam * x
    if present is not None:
        p = present[:, None]
        th_new = jnp.where(p, th_new, th)
        act = jnp.where(p, act, state.activity)
        if stim.ndim == 2:
            stim = jnp.where(p, stim, state.stimuli)
    return ThresholdState(
        thresholds=th_new,
        task=new_task.astype(jnp.int16),
        stimuli=stim,
        activity=act,
        t=state.t + 1,
    )


def division_of_labour(
    weights: RealLike, members: RealLike | None = None
) -> Float[Array, ""]:
    r"""Gorelick et al. (2004) division-of-labour index $I(\text{agent};\text{task}) /
    H(\text{task})$ of a non-negative agent × task matrix (counts, work memory or
    propensities).

    $p_{ij} = w_{ij}/\sum w$, $I = \sum_{ij} p_{ij} \log\frac{p_{ij}}{p_{i\cdot} p_{\cdot j}}$,
    $H = -\sum_j p_{\cdot j}\log p_{\cdot j}$. 1 when every agent uses one task only (and
    more than one task is used), 0 when every agent's profile equals the population's.

    Args:
      weights: `(N, J)`, non-negative, $J \ge 2$ (may be traced: NaN if any entry is
        negative or not finite).
      members: Optional `bool[N]` selecting the agents.

    Returns:
      The index in $[0, 1]$ (0 if $H = 0$). Cost O(N·J).

    Raises:
      ValueError: negative weights, wrong shape, $J < 2$.
    """
    w = check_array("weights", weights, ndim=2, low=0.0)
    if w.shape[1] < 2:
        raise ValueError(f"`weights` must have J >= 2 columns, got shape {w.shape}")
    if members is not None:
        members = check_array("members", members, kind="bool", shape=w.shape[:1])
    w = jnp.asarray(w)
    w = w.astype(_float_dtype(w))
    return nan_outside(jnp.all(in_domain(w, low=0.0)), _dol(w, members))


def _xlogx(p):
    safe = jnp.where(p > 0, p, jnp.ones((), p.dtype))
    return jnp.where(p > 0, p * jnp.log(safe), jnp.zeros((), p.dtype))


@jax.jit
def _dol(w, members=None):
    if members is not None:
        w = jnp.where(members[:, None], w, jnp.zeros((), w.dtype))
    total = jnp.sum(w)
    p = w / jnp.where(total > 0, total, 1.0)
    pi = jnp.sum(p, axis=1)
    pj = jnp.sum(p, axis=0)
    h_j = -jnp.sum(_xlogx(pj))
    h_i = -jnp.sum(_xlogx(pi))
    h_ij = -jnp.sum(_xlogx(p))
    mi = h_i + h_j - h_ij
    ratio = mi / jnp.where(h_j > 1e-12, h_j, 1.0)
    # I <= H(task) exactly; the three entropies' rounding could leave 1.0000002 (float32)
    return jnp.where(h_j > 1e-12, jnp.clip(ratio, 0.0, 1.0), 0.0)


def capability_matrix(
    state: ThresholdState, capability: RealLike | None = None
) -> Float[Array, "N J"]:
    r"""$c_{ij} = \bar c_i\, a_{ij} / \sum_k a_{ik}$ ($\bar c_i / J$ before any work).

    Args:
      state: Model state.
      capability: $\bar c_i \ge 0$, shape `(N,)` or scalar; default 1 (may be traced:
        NaN rows where negative or not finite).

    Returns:
      `(N, J)`; every row sums to $\bar c_i$.
    """
    capability = _check_capability(capability, state.activity.shape[0])
    return _capability_matrix(state.activity, capability)


def _check_capability(capability, n_agents):
    if capability is None:
        return None
    capability = check_array("capability", capability, ndim=(0, 1), low=0.0)
    if capability.ndim == 1 and capability.shape[0] != n_agents:
        raise ValueError(
            f"`capability` must have shape ({n_agents},) or be a scalar, got "
            f"shape {capability.shape}"
        )
    return capability


def _capability_matrix(act, capability=None):
    J = act.shape[1]
    tot = jnp.sum(act, axis=1, keepdims=True)
    prof = jnp.where(tot > 0, act / jnp.where(tot > 0, tot, 1.0), 1.0 / J)
    if capability is None:
        return prof
    cap = jnp.broadcast_to(jnp.asarray(capability).astype(act.dtype), act.shape[:1])
    cap = nan_outside(in_domain(cap, low=0.0), cap)
    return prof * cap[:, None]


def _check_options(rho, spec_level, capability, n_agents):
    rho = check_real("rho", rho, high=1.0, high_open=True)
    if not is_traced(rho) and rho == 0.0:
        raise ValueError(
            "`rho`=0 is not allowed (the unnormalised CES (15) has no rho -> 0 "
            "limit); allowed: rho < 1, rho != 0"
        )
    spec_level = check_real("spec_level", spec_level, low=0.0, high=1.0, low_open=True)
    return rho, spec_level, _check_capability(capability, n_agents)


def _options_ok(params, rho, spec_level):
    return (
        params.valid()
        & in_domain(rho, high=1.0, high_open=True)
        & (rho != 0)
        & in_domain(spec_level, low=0.0, high=1.0, low_open=True)
    )


def metrics(
    state: ThresholdState,
    params: ThresholdParams,
    *,
    present: Bool[Array, " N"] | None = None,
    capability: RealLike | None = None,
    rho: ArrayLike = 0.5,
    spec_level: ArrayLike = 0.9,
) -> ThresholdMetrics:
    r"""Specialisation metrics of a state (module docstring).

    Args:
      state: Model state.
      params: Model parameters.
      present: Optional `bool[N]` of agents counted.
      capability: $\bar c_i$, `(N,)` or scalar, for the CES aggregate; default 1.
      rho: CES $\rho < 1$, $\ne 0$, for the aggregate (15), unnormalised.
      spec_level: An agent is specialised when its top task has at least this share of
        its work memory, in $(0, 1]$.

    Parameters (`params` fields, `rho`, `spec_level`, `capability`) may be traced.

    Returns:
      A `ThresholdMetrics` (status `invalid_parameter` and NaN metrics where a traced
      parameter is outside its domain).

    Raises:
      ValueError: `rho` outside $(-\infty, 1) \setminus \{0\}$, `spec_level` outside
        (0, 1], a state that does not match `params`, `present` of the wrong shape.
    """
    params = _check_params(params)
    N = state.thresholds.shape[0]
    rho, spec_level, capability = _check_options(rho, spec_level, capability, N)
    if present is not None:
        check_array("present", present, kind="bool", shape=(N,))
    if state.thresholds.shape[1] != params.n_tasks:
        raise ValueError(
            f"`state` has J={state.thresholds.shape[1]} tasks but `params.demand` has "
            f"{params.n_tasks}"
        )
    return _metrics_jit(state, params, present, capability, rho, spec_level)


def _metrics(state, params, present, capability, rho, spec_level) -> ThresholdMetrics:
    act = state.activity
    N, J = act.shape
    dtype = act.dtype
    rho = jnp.asarray(rho).astype(dtype)
    spec_level = jnp.asarray(spec_level).astype(dtype)
    pres = jnp.ones((N,), bool) if present is None else present
    n_p = jnp.maximum(jnp.sum(pres), 1).astype(dtype)
    s = state.stimuli if state.stimuli.ndim == 2 else state.stimuli[None, :]
    prop = _response(s, state.thresholds, params.steepness)
    tot = jnp.sum(act, axis=1)
    top = jnp.max(act, axis=1)
    active = pres & (tot > 0)
    spec = active & (top >= spec_level * tot)
    dom = jnp.argmax(act, axis=1)
    onehot_dom = (dom[:, None] == jnp.arange(J, dtype=dom.dtype)[None, :]) & active[
        :, None
    ]
    task = state.task.astype(jnp.int32)
    x = (task[:, None] == jnp.arange(J, dtype=jnp.int32)[None, :]) & pres[:, None]
    cap = _capability_matrix(act, capability)
    C = jnp.sum(jnp.where(pres[:, None], cap, 0.0), axis=0)
    ok = _options_ok(params, rho, spec_level) & jnp.all(jnp.isfinite(C))
    rho_safe = jnp.where(ok, rho, jnp.asarray(0.5, dtype))
    log_ces = log_power_mean(C, rho_safe) + math.log(J) / rho_safe
    n_active = jnp.maximum(jnp.sum(active), 1).astype(dtype)
    stimulus = (
        jnp.mean(s, axis=0)
        if present is None or s.shape[0] == 1
        else jnp.sum(jnp.where(pres[:, None], s, 0.0), axis=0) / n_p
    )
    out = dict(
        dol=_dol(act, pres),
        dol_propensity=_dol(prop, pres),
        frac_specialised=jnp.sum(spec).astype(dtype) / n_p,
        coverage=jnp.sum(onehot_dom, axis=0).astype(dtype) / n_active,
        work=jnp.sum(x, axis=0).astype(dtype) / n_p,
        stimulus=stimulus,
        ces=jnp.exp(log_ces),
    )
    return ThresholdMetrics(
        **nan_outside(ok, out),
        status=RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter),
    )


_metrics_jit = eqx.filter_jit(_metrics)


def simulate(
    key: PRNGKeyArray | int,
    state: ThresholdState,
    params: ThresholdParams,
    n_steps: int,
    *,
    record_every: int = 1,
    graph: Graph | None = None,
    present: Bool[Array, " N"] | None = None,
    capability: RealLike | None = None,
    rho: ArrayLike = 0.5,
    spec_level: ArrayLike = 0.9,
) -> ThresholdRun:
    r"""Runs `n_steps` steps under `lax.scan`, recording `metrics` every `record_every`.

    Step $t$ (counted from `state.t`) uses the key `fold_in(key, t)`, so results do not
    depend on `record_every`.

    Args:
      key: PRNG key (or int seed).
      state: Initial state (`init_state`; `local=True` when `graph` is given).
      params: Model parameters (every field may be traced).
      n_steps: Steps, a positive multiple of `record_every` (static).
      record_every: Steps between records (static).
      graph: Optional graph for neighbourhood-local stimuli.
      present: Optional `bool[N]` of agents present.
      capability: Optional $\bar c_i$ for the CES aggregate.
      rho, spec_level: As in `metrics` (may be traced).

    Returns:
      A `ThresholdRun`: the final state and each metric stacked along a leading axis of
      length `n_steps // record_every`, plus `t` (the step count at each record).
      `status` is `invalid_parameter` (and the metrics NaN) when a traced parameter is
      outside its domain. Cost O(n_steps · N · J).

    Raises:
      ValueError: bad sizes, a graph whose `n_nodes` differs from N, global stimuli with a
        graph, or arguments rejected by `metrics`.
    """
    key = as_key(key)
    params = _check_params(params)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    record_every = check_int("record_every", record_every, min_value=1)
    if n_steps % record_every:
        raise ValueError(
            f"`n_steps`={n_steps} must be a multiple of `record_every`={record_every}"
        )
    N = state.thresholds.shape[0]
    rho, spec_level, capability = _check_options(rho, spec_level, capability, N)
    _check_layout(state, params, graph, present)
    dtype = state.thresholds.dtype
    return _simulate(
        key,
        state,
        params,
        graph,
        present,
        None if capability is None else jnp.asarray(capability).astype(dtype),
        n_steps // record_every,
        record_every,
        jnp.asarray(rho).astype(dtype),
        jnp.asarray(spec_level).astype(dtype),
    )


@eqx.filter_jit
def _simulate(
    key,
    state,
    params,
    graph,
    present,
    capability,
    n_records: int,
    every: int,
    rho,
    spec_level,
):
    def inner(_, st):
        return _step(jr.fold_in(key, st.t), st, params, graph, present)

    def outer(st, _):
        st = lax.fori_loop(0, every, inner, st)
        m = _metrics(st, params, present, capability, rho, spec_level)
        return st, (st.t, m)

    final, (t, m) = lax.scan(outer, state, None, length=n_records)
    # every record's own check too (a traced bad `capability` made the metrics NaN
    # under status successful)
    ok = _options_ok(params, rho, spec_level) & jnp.all(m.status == RESULTS.successful)
    fields = {
        f: getattr(m, f)
        for f in (
            "dol",
            "dol_propensity",
            "frac_specialised",
            "coverage",
            "work",
            "stimulus",
            "ces",
        )
    }
    return ThresholdRun(
        state=final,
        t=t,
        **fields,
        status=RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter),
    )
