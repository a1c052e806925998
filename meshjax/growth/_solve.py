r"""The growth ODE (22)/(26)/(28) on $(\ln C, J)$ and its batched diffrax solve."""

from __future__ import annotations

import functools
import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._results import RESULTS, AbstractResult, where_status
from .._validate import (
    check_array,
    check_int,
    check_real,
    in_domain,
    is_traced,
)
from ._params import GrowthParams, _float_dtype, check_field, params_ok, safe_params


def solver_status(result) -> RESULTS:
    """Our status for a diffrax result without events: successful, max_steps_reached
    or solver_failed (the one mapping every growth solve shares)."""
    return RESULTS.where(
        result == diffrax.RESULTS.successful,
        RESULTS.successful,
        RESULTS.where(
            result == diffrax.RESULTS.max_steps_reached,
            RESULTS.max_steps_reached,
            RESULTS.solver_failed,
        ),
    )


def default_tols(dtype) -> tuple[float, float]:
    """Default (rtol, atol) of the growth solves for a float dtype."""
    if jnp.finfo(dtype).bits >= 64:
        return 1e-10, 1e-10
    return 1e-5, 1e-6


def vector_field(t, y, params: GrowthParams):
    r"""The right-hand side for the state $(\ln C, J)$ (22)/(26)/(28).

    $$\tfrac{d}{dt}\ln C = \frac{r}{1 + h r C} - \delta,\quad r = a(J) C^{\Phi-1},\qquad
      \dot J = g_J J + \eta_J f_J C^{\varphi_J}(J_{max}-J)\mathbf 1[\alpha>\alpha_{crit}].$$

    With $J_{max} = \infty$ (no ceiling) the last term is $\eta_J f_J C^{\varphi_J}
    \mathbf 1[\alpha>\alpha_{crit}]$: (28) written as
    $\eta_J J_{max} f_J C^{\varphi_J}(1 - J/J_{max})$ in the limit $J_{max} \to \infty$
    with $\eta_J J_{max}$ held at $\eta_J$ (the rate of (28) itself would be infinite).

    Args:
      t: Time (unused: the system is autonomous).
      y: Tuple `(log_C, J)` of scalars.
      params: `GrowthParams` with scalar fields.

    Returns:
      Tuple `(d log_C/dt, dJ/dt)`. Cost O(1).
    """
    del t
    log_c, J = y
    p = params
    # Exponents are capped below the float range: a trial stage that overshoots a
    # singularity then gives a huge but finite slope, so the step is rejected cleanly
    # instead of poisoning the error estimate with inf - inf.
    cap = math.log(float(jnp.finfo(jnp.result_type(log_c)).max)) - 10.0
    ex = lambda z: jnp.exp(jnp.minimum(z, cap))
    r = p.a(J) * ex((p.Phi - 1) * log_c)
    sat = p.h > 0
    c_if_sat = ex(jnp.where(sat, log_c, 0.0))  # double-where: no inf*0 when h = 0
    dlog_c = r / (1 + jnp.where(sat, p.h * r * c_if_sat, 0.0)) - p.delta
    room = jnp.where(jnp.isfinite(p.J_max), p.J_max - J, 1.0)  # inf: no ceiling
    dJ = p.g_J * J + p.eta_J * p.f_J * ex(p.phi_J * log_c) * room * p.indicator
    return dlog_c, dJ


class GrowthSolution(AbstractResult):
    r"""A solve of (22)/(26)/(28) (`solve`), batch axes `*b` first.

    Fields:
      ts: Save times, shape `(t,)`.
      log_C: $\ln C$ at `ts`, shape `(*b, t)`; `+inf` at times after a blow-up, NaN after a
        failure and everywhere for an invalid parameter.
      J: $J$ at `ts`, shape `(*b, t)` (NaN after the solve stopped early).
      t_end: Time the solve stopped (t1, or the blow-up time), shape `(*b,)`.
      growth_rate: $d\ln C/dt$ at `ts` (from the vector field), shape `(*b, t)`.
      status: `RESULTS` per point, shape `(*b,)`: `successful` (reached t1), `blowup`
        (finite-time singularity, an answer), `overflow` ($J$ came within $2^{-20}$ of
        the float maximum, or $C^{\varphi_J}$ left the float range),
        `max_steps_reached`, `solver_failed`, `invalid_parameter`.
    """

    ts: Array
    log_C: Array
    J: Array
    t_end: Array
    growth_rate: Array
    status: RESULTS


def _blowup_possible(p: GrowthParams) -> jax.Array:
    r"""Whether the trajectory can reach a finite-time singularity at all.

    (22) blows up only when the improvement term grows faster than linearly in $C$:
    $\Phi > 1$ without saturation ($h = 0$). With $\Phi \le 1$ a huge growth rate is an
    initial transient (e.g. $C_0 \to 0$), not a singularity; with $h > 0$, $C$ is bounded.
    """
    return (p.Phi > 1) & (p.h == 0)


def _solve_one(params, log_c0, ts, t1, rtol, atol, max_steps, blowup_factor):
    dtype = log_c0.dtype
    log_max = jnp.asarray(0.9 * math.log(float(jnp.finfo(dtype).max)), dtype)
    rate_stop = blowup_factor / t1
    can_blow = _blowup_possible(params)

    def blowup(t, y, args, **kw):
        dlog_c, _ = vector_field(t, y, args)
        return can_blow & (dlog_c > rate_stop)

    def overflow(t, y, args, **kw):
        # ln C itself never overflows; only the variety term exponentiates it (C^phi_J)
        log_c, J = y
        variety = (args.eta_J > 0) & (args.phi_J * log_c > log_max)
        # headroom 2^-20: at max/4 the trial stages overflowed, steps were rejected
        # until max_steps (J stalled at 7e304 in float64) and overflow was never reported
        return variety | (J > jnp.finfo(dtype).max * 2.0**-20)

    term = diffrax.ODETerm(vector_field)
    saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts), diffrax.SubSaveAt(t1=True)])
    sol = diffrax.diffeqsolve(
        term,
        diffrax.Tsit5(),
        jnp.zeros((), dtype),
        t1,
        None,
        (log_c0, params.J0.astype(dtype)),
        params,
        saveat=saveat,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol, dtmin=None),
        event=diffrax.Event((blowup, overflow)),
        max_steps=max_steps,
        throw=False,
    )
    (log_c, J), _ = sol.ys
    t_end = sol.ts[1][0]
    event = sol.result == diffrax.RESULTS.event_occurred
    mask_blow, mask_over = (
        sol.event_mask if sol.event_mask is not None else (False, False)
    )
    status = RESULTS.where(
        sol.result == diffrax.RESULTS.successful,
        RESULTS.successful,
        RESULTS.where(
            event & mask_blow,
            RESULTS.blowup,
            RESULTS.where(
                event & mask_over,
                RESULTS.overflow,
                solver_status(sol.result),
            ),
        ),
    )
    after = ts > t_end
    blew = status == RESULTS.blowup
    log_c = jnp.where(after & blew, jnp.inf, log_c)
    failed = ~blew & (status != RESULTS.successful)
    log_c = jnp.where(after & failed, jnp.nan, log_c)
    J = jnp.where(after & (status != RESULTS.successful), jnp.nan, J)
    rate = jax.vmap(lambda lc, j: vector_field(0.0, (lc, j), params)[0])(log_c, J)
    return log_c, J, status, t_end, rate


@eqx.filter_jit
def _solve_batch(params, log_c0, ts, t1, rtol, atol, max_steps, blowup_factor):
    fn = lambda p, lc: _solve_one(p, lc, ts, t1, rtol, atol, max_steps, blowup_factor)
    return jax.vmap(fn)(params, log_c0)


def _broadcast_params(params, *extra):
    leaves, treedef = jax.tree_util.tree_flatten(params)
    dtype = _float_dtype(*leaves, *extra)
    shape = jnp.broadcast_shapes(*[jnp.shape(x) for x in (*leaves, *extra)])
    leaves = [
        jnp.broadcast_to(jnp.asarray(x, dtype), shape).reshape(-1) for x in leaves
    ]
    extra = [jnp.broadcast_to(jnp.asarray(x, dtype), shape).reshape(-1) for x in extra]
    return jax.tree_util.tree_unflatten(treedef, leaves), extra, shape, dtype


def solve(
    params: GrowthParams,
    C0: Float[ArrayLike, ...],
    t1: ArrayLike,
    *,
    n_save: int = 101,
    ts: Float[ArrayLike, ...] | None = None,
    rtol: ArrayLike | None = None,
    atol: ArrayLike | None = None,
    max_steps: int = 16384,
    blowup_factor: ArrayLike | None = None,
) -> GrowthSolution:
    r"""Solves (22) (with (26) saturation and (28) variety) for every parameter point at once.

    One `jit(vmap(diffeqsolve))` over the broadcast batch of `params` and `C0`: Tsit5 with a
    PID controller on $(\ln C, J)$. Every numeric argument (the fields of `params`, `C0`,
    `t1`, `rtol`, `atol`, `blowup_factor`) may be traced, so `jit`, `vmap` and
    `meshjax.sweep.sweep` work over any of them.

    A trajectory that can blow up ($\Phi > 1$, $h = 0$) stops early, with status
    `RESULTS.blowup`, when its growth rate $d\ln C/dt$ exceeds `blowup_factor / t1`: for
    (33) the time left to the singularity is then
    $1/((\Phi-1)\,d\ln C/dt) \le t_1/((\Phi-1)\,\mathrm{blowup\_factor})$, so `t_end` is the
    blow-up time to that relative accuracy (plus the solver's). With $\Phi \le 1$ or
    $h > 0$ there is no singularity: a large initial growth rate (small $C_0$) is a
    transient and is integrated through. The state is $\ln C$, so $C$ beyond the float
    range (e.g. long exponential growth in float32) is still represented; points whose
    $J$ or $C^{\varphi_J}$ overflow stop with `RESULTS.overflow`; a step budget exhausted
    gives `max_steps_reached`, other solver failures `solver_failed`, with NaN after the
    failure, never silent garbage.

    Args:
      params: `GrowthParams`; fields broadcast with `C0` to the batch shape `*b`.
      C0: Initial capability $C(0) \in (0, \infty)$, shape broadcastable to `*b`.
      t1: Horizon $t_1 \in (0, \infty)$ (a scalar).
      n_save: Number of equally spaced save times in $[0, t_1]$ if `ts` is not given
        (static int >= 2).
      ts: Save times in $[0, t_1]$, increasing.
      rtol, atol: Controller tolerances, in (0, inf) (default 1e-10 in float64, 1e-5/1e-6
        in float32).
      max_steps: Step budget per point (static int >= 1).
      blowup_factor: See above, in (1, inf); default 1e9 in float64 and 1e5 in float32
        (where the time step near the singularity would otherwise fall below the float
        resolution of t).

    Returns:
      `GrowthSolution` with batch shape `*b`. A traced parameter outside its domain gives
      `status = RESULTS.invalid_parameter` and NaN outputs at that point.

    Raises:
      ValueError: a concrete `C0`, `t1`, `rtol`, `atol`, `blowup_factor` or `ts` outside
        its domain, naming it (parameters are checked by `GrowthParams`).
      TypeError: a size (`n_save`, `max_steps`) that is not a static int.

    Cost: O(steps) per point; all points advance in lock-step under vmap (the batch runs
    until its slowest member finishes).
    """
    if not isinstance(params, GrowthParams):
        raise TypeError(f"`params` must be a GrowthParams, got {type(params).__name__}")
    C0 = check_field("C0", C0, 0.0, None, True, False)
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    n_save = check_int("n_save", n_save, min_value=2)
    max_steps = check_int("max_steps", max_steps, min_value=1)
    if rtol is not None:
        rtol = check_real("rtol", rtol, low=0.0, low_open=True)
    if atol is not None:
        atol = check_real("atol", atol, low=0.0, low_open=True)
    if blowup_factor is not None:
        blowup_factor = check_real(
            "blowup_factor", blowup_factor, low=1.0, low_open=True
        )
    if ts is not None:
        ts = check_array("ts", ts, ndim=1, low=0.0, nonempty=True)
        if not is_traced(ts) and not is_traced(t1):
            ts_np = np.asarray(ts)
            if np.any(np.diff(ts_np) < 0) or ts_np[-1] > t1:
                raise ValueError(
                    f"`ts` must be increasing within [0, t1={t1}], got {ts_np!r}"
                )
    return _solve(
        params,
        C0,
        t1,
        ts,
        rtol,
        atol,
        blowup_factor,
        n_save=n_save,
        max_steps=max_steps,
    )


@functools.partial(jax.jit, static_argnames=("n_save", "max_steps"))
def _solve(params, C0, t1, ts, rtol, atol, blowup_factor, n_save, max_steps):
    """Everything numeric of `solve` after the host-side checks, as one program."""
    flat, (c0,), shape, dtype = _broadcast_params(params, C0)
    if blowup_factor is None:
        blowup_factor = 1e9 if jnp.finfo(dtype).bits >= 64 else 1e5
    if ts is None:
        ts = jnp.linspace(0.0, 1.0, n_save, dtype=dtype) * jnp.asarray(t1, dtype)
    else:
        ts = jnp.asarray(ts, dtype)
    d_rtol, d_atol = default_tols(dtype)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    # Traced arguments are checked here, inside the computation: a point with a bad
    # value is solved with safe defaults and reported as invalid_parameter, outputs NaN.
    ok_scalar = (
        in_domain(t1, low=0.0, low_open=True)
        & in_domain(rtol, low=0.0, low_open=True)
        & in_domain(atol, low=0.0, low_open=True)
        & in_domain(blowup_factor, low=1.0, low_open=True)
        & jnp.all(in_domain(ts, low=0.0))
        & jnp.all(ts <= t1)
    )
    ok = params_ok(flat) & in_domain(c0, low=0.0, low_open=True) & ok_scalar
    flat = safe_params(flat, ok)
    c0 = jnp.where(ok, c0, 1.0)
    t1_s = jnp.where(ok_scalar, jnp.asarray(t1, dtype), 1.0)
    ts = jnp.where(ok_scalar, ts, jnp.linspace(0.0, 1.0, ts.shape[0], dtype=dtype))
    log_c, J, status, t_end, rate = _solve_batch(
        flat,
        jnp.log(c0),
        ts,
        t1_s,
        jnp.where(ok_scalar, jnp.asarray(rtol, dtype), d_rtol),
        jnp.where(ok_scalar, jnp.asarray(atol, dtype), d_atol),
        max_steps,
        jnp.where(ok_scalar, jnp.asarray(blowup_factor, dtype), 1e5),
    )
    status = where_status(ok, status, RESULTS.invalid_parameter)
    bad = ~ok[:, None]
    n_t = ts.shape[0]
    nan = jnp.asarray(jnp.nan, dtype)
    return GrowthSolution(
        ts=jnp.where(ok_scalar, ts, nan),
        log_C=jnp.where(bad, nan, log_c).reshape(*shape, n_t),
        J=jnp.where(bad, nan, J).reshape(*shape, n_t),
        t_end=jnp.where(ok, t_end, nan).reshape(shape),
        growth_rate=jnp.where(bad, nan, rate).reshape(*shape, n_t),
        status=jax.tree_util.tree_map(lambda s: s.reshape(shape), status),
    )
