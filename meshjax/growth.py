r"""Capability growth: the growth ODEs of §10–11, saturation, variety, the Baumol bottleneck.

The chapter's central model (22) with the saturation of (26) folded in, written for
$y = \ln C$ so that trajectories near a finite-time singularity stay representable:

$$\dot C = \frac{G}{1 + hG} - \delta C,\qquad
  G = \delta_g f^\lambda C^{\lambda+\varphi-1} J^{\gamma_J}\,\mathbf 1[\alpha>\alpha_{crit}],$$
$$\dot J = g_J J + \eta_J f_J C^{\varphi_J} (J_{max} - J)\,\mathbf 1[\alpha>\alpha_{crit}]. \quad (28)$$

With $h = 0$ the first line is (22); with $g_J = \eta_J = 0$, $J$ is constant. Solutions run
through diffrax (Tsit5, adaptive steps) with an event that stops a trajectory at a
finite-time singularity, vmap over any parameter grid (one compiled solve), and are
differentiable (used by `fit`).

What the simulation shows against the chapter (details in docs/growth.md):

- (33) drops the $-\delta C$ term of (22). With $\delta > 0$ the Bernoulli equation still
  solves exactly (`closed_form`, `blowup_time`): blow-up happens only above the unstable
  point $C_u = (\delta/a)^{1/(\Phi-1)}$, and later than $T_s$; below $C_u$, $C \to 0$.
- (32) is not a solution of (22) with growing $J$; `closed_form_exp_variety` is.
- (29) is garbled; `dceff_dJ` differentiates the CES aggregate directly for the three
  normalisations the chapter mixes ((1), (27), (31)). Whether variety raises $C_{eff}$
  depends on the normalisation and on the sign of $\rho$.
- Lemma 10.3's positive equilibrium exists only if the Perron root of $A$ exceeds $\delta$;
  otherwise every trajectory of (26) decays to 0.
- Prop. 13.1: under the Cobb–Douglas composite (40) the growth rate tends to $g_C$, not
  $g_Z$, as $\beta \to 1$ ((41) at $\beta = 1$ is $g_C$). The Baumol limit $g_Z$ needs the
  sectors to be complements (CES with $\rho_s < 0$) and $1 - \beta$ to decay slower than
  exponentially; `baumol_solve` implements both.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from . import ces as _ces

__all__ = [
    "STATUS",
    "REGIMES",
    "GrowthParams",
    "GrowthSolution",
    "phi_eff",
    "beta_threshold",
    "composite_elasticity",
    "regime_from_params",
    "regime_from_trajectory",
    "vector_field",
    "solve",
    "closed_form",
    "closed_form_exp_variety",
    "singularity_time",
    "blowup_time",
    "unstable_point",
    "steady_state",
    "saturation_vector_field",
    "saturation_solve",
    "saturation_ceiling",
    "perron_root",
    "ces_aggregate",
    "c_max_bound",
    "c_max",
    "dceff_dJ",
    "variety_solve",
    "BaumolParams",
    "baumol_solve",
]

#: Status codes of a solve: 0 reached t1, 1 finite-time blow-up (event), 2 solver failure
#: (max_steps or a non-finite step), 3 C left the representable range without blowing up.
STATUS = ("ok", "blowup", "failed", "overflow")
STATUS_OK, STATUS_BLOWUP, STATUS_FAILED, STATUS_OVERFLOW = range(4)

#: Regime codes (Definition 11.1 / Theorem 11.2), plus decay to zero, which the chapter omits.
REGIMES = ("a", "b", "c", "decay")
REGIME_A, REGIME_B, REGIME_C, REGIME_DECAY = range(4)


# ----------------------------------------------------------------------------- checks
def _concrete(x) -> np.ndarray | None:
    """Host value of x, or None if x is a tracer (checks are skipped inside jit)."""
    if isinstance(x, jax.core.Tracer):
        return None
    return np.asarray(x)


def _check(name: str, value, ok, allowed: str) -> None:
    v = _concrete(value)
    if v is None:
        return
    if not np.issubdtype(v.dtype, np.number) and v.dtype != np.bool_:
        raise TypeError(f"{name} must be numeric, got dtype {v.dtype}")
    if np.any(np.isnan(v)):
        raise ValueError(f"{name}={_show(v)} contains NaN; allowed: {allowed}")
    if not np.all(ok(v)):
        raise ValueError(f"{name}={_show(v)} outside its domain; allowed: {allowed}")


def _show(v: np.ndarray) -> str:
    if v.ndim == 0:
        return repr(v.item())
    return f"array(shape={v.shape}, min={np.nanmin(v):.4g}, max={np.nanmax(v):.4g})"


def _float_dtype(*xs):
    return jnp.result_type(*[jnp.asarray(x) for x in xs], float)


def _check_c0(*args, **kw):
    C0 = kw.get("C0", args[-1] if len(args) >= 2 else None)
    if C0 is not None:
        _check("C0", C0, lambda v: (v > 0) & np.isfinite(v), "0 < C0 < inf")


def _jit_checked(check=None):
    """Validates concrete arguments with `check`, then runs the jitted function."""

    def deco(fn):
        jfn = eqx.filter_jit(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kw):
            if check is not None:
                check(*args, **kw)
            return jfn(*args, **kw)

        return wrapper

    return deco


# ----------------------------------------------------------------------------- phi_eff
def phi_eff(phi0: Float[ArrayLike, ...], beta_auto: Float[ArrayLike, ...]):
    r"""Effective training elasticity (24): $\varphi_{eff} = \varphi_0/(1-\beta_{auto}\varphi_0)$.

    Args:
      phi0: Raw elasticity $\varphi_0 < 1$, any shape (broadcast with `beta_auto`).
      beta_auto: Automated fraction $\beta_{auto} \in [0, 1)$.

    Returns:
      $\varphi_{eff}$, broadcast shape. It is $\ge 1$ iff $\beta_{auto} \ge (1-\varphi_0)/\varphi_0$
      (`beta_threshold`), reachable with $\beta_{auto} < 1$ only for $\varphi_0 > 1/2$.

    Raises:
      ValueError: `phi0 >= 1`, `beta_auto` outside [0, 1), or NaN.
    """
    _check("phi0", phi0, lambda v: v < 1, "phi0 < 1")
    _check("beta_auto", beta_auto, lambda v: (v >= 0) & (v < 1), "0 <= beta_auto < 1")
    phi0, beta_auto = jnp.asarray(phi0), jnp.asarray(beta_auto)
    return phi0 / (1 - beta_auto * phi0)


def beta_threshold(phi0: Float[ArrayLike, ...]):
    r"""Automation fraction at which $\varphi_{eff} = 1$ (Prop. 10.1): $(1-\varphi_0)/\varphi_0$.

    Raises:
      ValueError: `phi0` outside (0, 1) or NaN.
    """
    _check("phi0", phi0, lambda v: (v > 0) & (v < 1), "0 < phi0 < 1")
    phi0 = jnp.asarray(phi0)
    return (1 - phi0) / phi0


def composite_elasticity(lam, phi):
    r"""$\Phi = \lambda + \varphi - 1$ (Definition 11.1)."""
    return jnp.asarray(lam) + jnp.asarray(phi) - 1


# ----------------------------------------------------------------------------- params
class GrowthParams(eqx.Module):
    r"""Parameters of the growth system (22) + (26) + (28); every field may carry batch axes.

    Fields (all arrays; shapes broadcast against each other):
      delta_g: Productivity $\delta_g > 0$.
      f: Training fraction $f \in (0, 1)$.
      lam: Duplication parameter $\lambda \in (0, 1]$.
      phi: Training elasticity $\varphi$ (pass `phi_eff(phi0, beta_auto)` for (24)).
      gamma_J: Variety elasticity $\gamma_J \ge 0$.
      delta: Depreciation $\delta \ge 0$.
      h: Saturation $h \ge 0$ of the improvement term, $G \mapsto G/(1+hG)$ as in (26).
      J0: Initial number of types $J_0 > 0$.
      g_J: Exogenous exponential growth rate of $J$ (for (32)); 0 = none.
      eta_J, f_J, phi_J, J_max: Variety dynamics (28); `eta_J = 0` switches it off.
      alpha, alpha_crit: Collapse indicator $\mathbf 1[\alpha > \alpha_{crit}]$ of (21).

    Raises:
      ValueError: (at construction, for concrete values) a field outside its domain or NaN.
    """

    delta_g: Array = eqx.field(converter=jnp.asarray, default=1.0)
    f: Array = eqx.field(converter=jnp.asarray, default=0.5)
    lam: Array = eqx.field(converter=jnp.asarray, default=1.0)
    phi: Array = eqx.field(converter=jnp.asarray, default=0.5)
    gamma_J: Array = eqx.field(converter=jnp.asarray, default=0.0)
    delta: Array = eqx.field(converter=jnp.asarray, default=0.0)
    h: Array = eqx.field(converter=jnp.asarray, default=0.0)
    J0: Array = eqx.field(converter=jnp.asarray, default=1.0)
    g_J: Array = eqx.field(converter=jnp.asarray, default=0.0)
    eta_J: Array = eqx.field(converter=jnp.asarray, default=0.0)
    f_J: Array = eqx.field(converter=jnp.asarray, default=0.1)
    phi_J: Array = eqx.field(converter=jnp.asarray, default=0.0)
    J_max: Array = eqx.field(converter=jnp.asarray, default=jnp.inf)
    alpha: Array = eqx.field(converter=jnp.asarray, default=1.0)
    alpha_crit: Array = eqx.field(converter=jnp.asarray, default=0.0)

    def __check_init__(self):
        _check("delta_g", self.delta_g, lambda v: v > 0, "delta_g > 0")
        _check("f", self.f, lambda v: (v > 0) & (v < 1), "0 < f < 1")
        _check("lam", self.lam, lambda v: (v > 0) & (v <= 1), "0 < lam <= 1")
        _check("phi", self.phi, np.isfinite, "finite phi")
        _check("gamma_J", self.gamma_J, lambda v: v >= 0, "gamma_J >= 0")
        _check("delta", self.delta, lambda v: (v >= 0) & np.isfinite(v), "delta >= 0")
        _check("h", self.h, lambda v: (v >= 0) & np.isfinite(v), "h >= 0")
        _check("J0", self.J0, lambda v: (v > 0) & np.isfinite(v), "0 < J0 < inf")
        _check("g_J", self.g_J, np.isfinite, "finite g_J")
        _check("eta_J", self.eta_J, lambda v: v >= 0, "eta_J >= 0")
        _check("f_J", self.f_J, lambda v: (v >= 0) & (v <= 1), "0 <= f_J <= 1")
        _check("phi_J", self.phi_J, np.isfinite, "finite phi_J")
        _check("J_max", self.J_max, lambda v: v > 0, "J_max > 0")
        _check("alpha", self.alpha, lambda v: (v >= 0) & (v <= 1), "0 <= alpha <= 1")
        _check(
            "alpha_crit",
            self.alpha_crit,
            lambda v: (v >= 0) & (v <= 1),
            "0 <= alpha_crit <= 1",
        )

    @property
    def Phi(self):
        r"""$\Phi = \lambda + \varphi - 1$."""
        return self.lam + self.phi - 1

    @property
    def indicator(self):
        r"""$\mathbf 1[\alpha > \alpha_{crit}]$ as 0/1 in the float dtype."""
        return (self.alpha > self.alpha_crit).astype(_float_dtype(self.delta_g))

    def a(self, J=None):
        r"""$a(J) = \delta_g f^\lambda J^{\gamma_J}\,\mathbf 1[\alpha>\alpha_{crit}]$ (default $J=J_0$)."""
        J = self.J0 if J is None else J
        return self.delta_g * self.f**self.lam * J**self.gamma_J * self.indicator


# ----------------------------------------------------------------------------- fields
def vector_field(t, y, params: GrowthParams):
    r"""The right-hand side for the state $(\ln C, J)$ (22)/(26)/(28).

    $$\tfrac{d}{dt}\ln C = \frac{r}{1 + h r C} - \delta,\quad r = a(J) C^{\Phi-1},\qquad
      \dot J = g_J J + \eta_J f_J C^{\varphi_J}(J_{max}-J)\mathbf 1[\alpha>\alpha_{crit}].$$

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
    room = jnp.where(jnp.isfinite(p.J_max), p.J_max - J, 0.0)
    dJ = p.g_J * J + p.eta_J * p.f_J * ex(p.phi_J * log_c) * room * p.indicator
    return dlog_c, dJ


class GrowthSolution(NamedTuple):
    """A solve of (22)/(28), batch axes first.

    Attributes:
      ts: Save times, shape `(t,)`.
      log_C: $\\ln C$ at `ts`, shape `(*b, t)`; `+inf` at times after a blow-up, and after
        a failure whatever diffrax left (check `status`).
      J: $J$ at `ts`, shape `(*b, t)`.
      status: Int codes (`STATUS`), shape `(*b,)`.
      t_end: Time the solve stopped (t1, or the blow-up time), shape `(*b,)`.
      growth_rate: $d\\ln C/dt$ at `ts` (from the vector field), shape `(*b, t)`.
    """

    ts: Array
    log_C: Array
    J: Array
    status: Array
    t_end: Array
    growth_rate: Array


def _default_tols(dtype):
    if jnp.finfo(dtype).bits >= 64:
        return 1e-10, 1e-10
    return 1e-5, 1e-6


def _solve_one(params, log_c0, ts, t1, rtol, atol, max_steps, blowup_factor):
    dtype = log_c0.dtype
    log_max = jnp.asarray(0.9 * math.log(float(jnp.finfo(dtype).max)), dtype)
    rate_stop = blowup_factor / t1

    def blowup(t, y, args, **kw):
        dlog_c, _ = vector_field(t, y, args)
        return dlog_c > rate_stop

    def overflow(t, y, args, **kw):
        # ln C itself never overflows; only the variety term exponentiates it (C^phi_J)
        log_c, J = y
        variety = (args.eta_J > 0) & (args.phi_J * log_c > log_max)
        return variety | (J > jnp.finfo(dtype).max / 4)

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
    ok = sol.result == diffrax.RESULTS.successful
    mask_blow, mask_over = (
        sol.event_mask if sol.event_mask is not None else (False, False)
    )
    status = jnp.where(
        ok,
        STATUS_OK,
        jnp.where(
            event & mask_blow,
            STATUS_BLOWUP,
            jnp.where(event & mask_over, STATUS_OVERFLOW, STATUS_FAILED),
        ),
    )
    after = ts > t_end
    log_c = jnp.where(after & (status == STATUS_BLOWUP), jnp.inf, log_c)
    bad = (status == STATUS_FAILED) | (status == STATUS_OVERFLOW)
    log_c = jnp.where(after & bad, jnp.nan, log_c)
    J = jnp.where(after & (status != STATUS_OK), jnp.nan, J)
    rate = jax.vmap(lambda lc, j: vector_field(0.0, (lc, j), params)[0])(log_c, J)
    return log_c, J, status.astype(jnp.int32), t_end, rate


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
    t1: float,
    *,
    n_save: int = 101,
    ts: Float[ArrayLike, " t"] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 16384,
    blowup_factor: float | None = None,
) -> GrowthSolution:
    r"""Solves (22) (with (26) saturation and (28) variety) for every parameter point at once.

    One `jit(vmap(diffeqsolve))` over the broadcast batch of `params` and `C0`: Tsit5 with a
    PID controller on $(\ln C, J)$. A trajectory stops early, with `status = 1` (blow-up),
    when its growth rate $d\ln C/dt$ exceeds `blowup_factor / t1`: for (33) the time left to
    the singularity is then $1/((\Phi-1)\,d\ln C/dt) \le t_1/((\Phi-1)\,\mathrm{blowup\_factor})$,
    so `t_end` is the blow-up time to that relative accuracy (plus the solver's). The state
    is $\ln C$, so $C$ beyond the float range (e.g. long exponential growth in float32) is
    still represented; points whose $J$ or $C^{\varphi_J}$ overflow stop with `status = 3`;
    solver failures give
    `status = 2` and NaN after the failure, never silent garbage.

    Args:
      params: `GrowthParams`; fields broadcast with `C0` to the batch shape `*b`.
      C0: Initial capability $C(0) > 0$, shape broadcastable to `*b`.
      t1: Horizon $t_1 > 0$ (static float).
      n_save: Number of equally spaced save times in $[0, t_1]$ if `ts` is not given.
      ts: Save times in $[0, t_1]$, increasing.
      rtol, atol: Controller tolerances (default 1e-10 in float64, 1e-5/1e-6 in float32).
      max_steps: Step budget per point.
      blowup_factor: See above; default 1e9 in float64 and 1e5 in float32 (where the time
        step near the singularity would otherwise fall below the float resolution of t).

    Returns:
      `GrowthSolution` with batch shape `*b`.

    Raises:
      ValueError: `C0 <= 0`, NaN, `t1 <= 0`, bad `ts`, or a parameter outside its domain.

    Cost: O(steps) per point; all points advance in lock-step under vmap (the batch runs
    until its slowest member finishes).
    """
    _check("C0", C0, lambda v: (v > 0) & np.isfinite(v), "0 < C0 < inf")
    if not (isinstance(t1, (int, float)) and math.isfinite(t1) and t1 > 0):
        raise ValueError(f"t1={t1!r}; allowed: a finite Python float > 0")
    if not (isinstance(n_save, int) and n_save >= 2):
        raise ValueError(f"n_save={n_save!r}; allowed: int >= 2")
    if blowup_factor is not None and not blowup_factor > 1:
        raise ValueError(f"blowup_factor={blowup_factor!r}; allowed: > 1")
    flat, (c0,), shape, dtype = _broadcast_params(params, C0)
    if blowup_factor is None:
        blowup_factor = 1e9 if jnp.finfo(dtype).bits >= 64 else 1e5
    if ts is None:
        ts = jnp.linspace(0.0, t1, n_save, dtype=dtype)
    else:
        ts_np = _concrete(ts)
        if ts_np is not None and (
            ts_np.ndim != 1
            or np.any(np.diff(ts_np) < 0)
            or ts_np[0] < 0
            or ts_np[-1] > t1
            or np.any(np.isnan(ts_np))
        ):
            raise ValueError(
                f"ts must be increasing within [0, t1={t1}], got {_show(ts_np)}"
            )
        ts = jnp.asarray(ts, dtype)
    d_rtol, d_atol = _default_tols(dtype)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    log_c, J, status, t_end, rate = _solve_batch(
        flat,
        jnp.log(c0),
        ts,
        jnp.asarray(t1, dtype),
        rtol,
        atol,
        max_steps,
        jnp.asarray(blowup_factor, dtype),
    )
    n_t = ts.shape[0]
    return GrowthSolution(
        ts,
        log_c.reshape(*shape, n_t),
        J.reshape(*shape, n_t),
        status.reshape(shape),
        t_end.reshape(shape),
        rate.reshape(*shape, n_t),
    )


# ----------------------------------------------------------------------------- closed forms
@_jit_checked(_check_c0)
def closed_form(t: Float[ArrayLike, ...], params: GrowthParams, C0) -> Array:
    r"""Exact $\ln C(t)$ of (22) with constant $J$ and $h = 0$, including the $-\delta C$ term.

    With $v = C^{1-\Phi}$ the Bernoulli equation is linear:
    $\dot v = (1-\Phi)(a - \delta v)$, $a = \delta_g f^\lambda J^{\gamma_J}$, so
    $v(t) = a/\delta + (v_0 - a/\delta)e^{-(1-\Phi)\delta t}$ ($\delta>0$) or
    $v_0 + (1-\Phi)a t$ ($\delta = 0$, which is (33) with its sign fixed); for $\Phi=1$,
    $\ln C = \ln C_0 + (a-\delta)t$. Past a singularity returns `+inf`.

    Args:
      t: Times, broadcast with the parameter fields and `C0`.
      params: `GrowthParams` (uses delta_g, f, lam, phi, gamma_J, delta, J0, alpha's).
      C0: $C(0) > 0$.

    Returns:
      $\ln C(t)$, broadcast shape. Cost O(1) per element.
    """
    _check("C0", C0, lambda v: v > 0, "C0 > 0")
    p = params
    a, Phi, d = p.a(), p.Phi, p.delta
    t = jnp.asarray(t)
    log_c0 = jnp.log(jnp.asarray(C0))
    one = jnp.abs(Phi - 1) < 1e-12
    e = jnp.where(one, 2.0, 1 - Phi)  # safe exponent 1 - Phi
    v0 = jnp.exp(e * log_c0)
    d_safe = jnp.where(d > 0, d, 1.0)
    v_d = a / d_safe + (v0 - a / d_safe) * jnp.exp(-e * d_safe * t)
    v_0 = v0 + e * a * t
    v = jnp.where(d > 0, v_d, v_0)
    pos = v > 0
    log_c = jnp.where(
        pos, jnp.log(jnp.where(pos, v, 1.0)) / e, jnp.where(e < 0, jnp.inf, -jnp.inf)
    )
    return jnp.where(one, log_c0 + (a - d) * t, log_c)


@_jit_checked(_check_c0)
def closed_form_exp_variety(t, params: GrowthParams, C0) -> Array:
    r"""Exact $\ln C(t)$ of (22) in regime (b) ($\Phi = 1$, $h=0$) with $J = J_0 e^{g_J t}$.

    $\ln C(t) = \ln C_0 + a_0 \frac{e^{\gamma_J g_J t} - 1}{\gamma_J g_J} - \delta t$,
    $a_0 = \delta_g f^\lambda J_0^{\gamma_J}$. The chapter's (32),
    $\ln C_0 + (a_0 e^{\gamma_J g_J t} - \delta)t$, is not a solution: it overstates the
    log-capability by $a_0\,[t e^{x} - (e^x-1)/(\gamma_J g_J)]$, $x = \gamma_J g_J t$.
    """
    p = params
    k = p.gamma_J * p.g_J
    k_safe = jnp.where(k != 0, k, 1.0)
    t = jnp.asarray(t)
    integral = jnp.where(k != 0, jnp.expm1(k_safe * t) / k_safe, t)
    return jnp.log(jnp.asarray(C0)) + p.a() * integral - p.delta * t


@_jit_checked(_check_c0)
def singularity_time(params: GrowthParams, C0) -> Array:
    r"""$T_s$ of (33): $C_0^{1-\Phi}/((\Phi-1)\,\delta_g f^\lambda J^{\gamma_J})$ (ignores $\delta$).

    Returns `inf` where $\Phi \le 1$ or $a = 0$. This is exact for (22) with $\delta = 0$,
    $h = 0$ and constant $J$; `blowup_time` keeps $\delta$.
    """
    _check("C0", C0, lambda v: v > 0, "C0 > 0")
    p = params
    a, Phi = p.a(), p.Phi
    above = (Phi > 1) & (a > 0)
    e = jnp.where(above, Phi - 1, 1.0)
    return jnp.where(
        above, jnp.asarray(C0) ** (-e) / (e * jnp.where(above, a, 1.0)), jnp.inf
    )


@_jit_checked()
def unstable_point(params: GrowthParams) -> Array:
    r"""$C_u = (\delta/a)^{1/(\Phi-1)}$: for $\Phi>1$, $\delta>0$, $h=0$, blow-up iff $C_0 > C_u$."""
    p = params
    a, Phi = p.a(), p.Phi
    e = jnp.where(Phi != 1, Phi - 1, 1.0)
    return jnp.where(
        (Phi > 1) & (a > 0), (p.delta / jnp.where(a > 0, a, 1.0)) ** (1 / e), jnp.inf
    )


@_jit_checked(_check_c0)
def blowup_time(params: GrowthParams, C0) -> Array:
    r"""Exact blow-up time of (22) with $\delta \ge 0$, constant $J$, $h = 0$.

    $T = -\ln(1 - \delta v_0/a)/((\Phi-1)\delta)$ if $\delta v_0 < a$ ($C_0 > C_u$), else
    $\infty$; $v_0 = C_0^{1-\Phi}$. Tends to (33)'s $T_s$ as $\delta \to 0$ and always
    exceeds it.
    """
    _check("C0", C0, lambda v: v > 0, "C0 > 0")
    p = params
    a, Phi, d = p.a(), p.Phi, p.delta
    above = (Phi > 1) & (a > 0)
    e = jnp.where(above, Phi - 1, 1.0)
    a_s = jnp.where(above, a, 1.0)
    x = d * jnp.asarray(C0) ** (-e) / a_s
    d_safe = jnp.where(d > 0, d, 1.0)
    t_d = -jnp.log1p(-jnp.where(x < 1, x, 0.0)) / (e * d_safe)
    t_d = jnp.where(x < 1, t_d, jnp.inf)
    t_0 = jnp.asarray(C0) ** (-e) / (e * a_s)
    return jnp.where(above, jnp.where(d > 0, t_d, t_0), jnp.inf)


@_jit_checked()
def steady_state(params: GrowthParams) -> Array:
    r"""Regime (a) steady state of (22) ($h = 0$, constant $J$): $C^* = (a/\delta)^{1/(1-\Phi)}$.

    Returns `inf` where $\Phi \ge 1$ or $\delta = 0$ (no finite steady state).
    """
    p = params
    a, Phi, d = p.a(), p.Phi, p.delta
    ok = (Phi < 1) & (d > 0) & (a > 0)
    e = jnp.where(ok, 1 - Phi, 1.0)
    return jnp.where(
        ok, (jnp.where(ok, a, 1.0) / jnp.where(ok, d, 1.0)) ** (1 / e), jnp.inf
    )


# ----------------------------------------------------------------------------- regimes
@_jit_checked()
def regime_from_params(params: GrowthParams, C0=1.0, *, tol: float = 1e-9) -> Array:
    r"""The regime (Definition 11.1 / Theorem 11.2) from parameters, for constant $J$.

    Codes (`REGIMES`): 0 = (a) bounded / growth rate to zero, 1 = (b) constant positive
    growth rate, 2 = (c) finite-time singularity, 3 = decay $C \to 0$.

    Rules (exact for (22) with constant $J$): $h > 0$ bounds $C$ by
    $\max(C_0, 1/(h\delta))$ (no singularity for any $\Phi$): code 0 if $C$ tends to the
    positive equilibrium, 3 if it decays (for $\Phi > 1$: when $C_0$ lies below the unstable
    root of $aC^{\Phi-1}(1-h\delta C) = \delta$, or no root exists); $h = 0$: $\Phi<1$ → 0 (if $\delta=0$, $C$
    grows without bound as $t^{1/(1-\Phi)}$ but $g_C \to 0$); $|\Phi - 1| \le$ `tol` → 1 if
    $a > \delta$, 0 if equal, 3 if less; $\Phi > 1$ → 2 iff $C_0 > C_u$ (`unstable_point`),
    else 3. The chapter's classification keys on $\Phi$ alone, i.e. assumes $\delta = 0$.
    """
    p = params
    a, Phi, d = p.a(), p.Phi, p.delta
    knife = jnp.abs(Phi - 1) <= tol
    c_u = unstable_point(p)
    r_h0 = jnp.where(
        knife,
        jnp.where(a > d, REGIME_B, jnp.where(a == d, REGIME_A, REGIME_DECAY)),
        jnp.where(
            Phi < 1,
            jnp.where(a > 0, REGIME_A, REGIME_DECAY),
            jnp.where(jnp.asarray(C0) > c_u, REGIME_C, REGIME_DECAY),
        ),
    )
    # h > 0: d ln C/dt > 0 iff q(C) = a C^(Phi-1) (1 - h delta C) > delta. For Phi < 1, q falls
    # from +inf: C -> the positive root (a). For Phi = 1, q(0+) = a. For Phi > 1, q rises to
    # its maximum at C_m = (Phi-1)/(Phi h delta), then falls: growth to the stable root iff
    # max q > delta and C0 is above the unstable root (q(C0) > delta or C0 > C_m).
    C0 = jnp.asarray(C0)
    hd = jnp.where(p.h > 0, p.h * d, 1.0)
    q = lambda c: a * c ** (Phi - 1) * (1 - hd * c)
    c_m = jnp.where(Phi > 1, (Phi - 1) / (jnp.where(Phi > 1, Phi, 2.0) * hd), 1.0)
    grows_sup = (q(c_m) > d) & ((q(C0) > d) | (C0 > c_m))
    r_h = jnp.where(
        Phi < 1 - tol,
        jnp.where(a > 0, REGIME_A, REGIME_DECAY),
        jnp.where(
            Phi <= 1 + tol,
            jnp.where(a > d, REGIME_A, REGIME_DECAY),
            jnp.where(grows_sup | (d == 0), REGIME_A, REGIME_DECAY),
        ),
    )
    return jnp.where(p.h > 0, r_h, r_h0).astype(jnp.int32)


def regime_from_trajectory(
    sol: GrowthSolution,
    *,
    tail: float = 0.25,
    rate_tol: float = 1e-3,
    decay_log: float = -20.0,
) -> Array:
    r"""Classifies simulated trajectories: the regime a solve actually went into.

    `status == blowup` → (c). Otherwise, over the last `tail` fraction of `ts`: a growth
    rate that is (relatively) constant and positive → (b); $\ln C$ below `decay_log`
    relative to its start, or a negative rate that is constant or still falling → decay;
    anything else (the rate settling towards 0) → (a).

    Args:
      sol: `GrowthSolution` (any batch shape).
      tail: Fraction of the save times that forms the tail window.
      rate_tol: Absolute and relative tolerance on rate changes over the tail, in units of
        $1/t_1$ for the absolute part.

    Returns:
      Int regime codes, shape `*b`. Failed solves (status 2) get code -1.
    """
    if not 0 < tail <= 0.5:
        raise ValueError(f"tail={tail!r}; allowed: 0 < tail <= 0.5")
    return _regime_from_trajectory(sol, tail, rate_tol, decay_log)


@eqx.filter_jit
def _regime_from_trajectory(sol, tail, rate_tol, decay_log):
    return _regime_from_trajectory_impl(
        sol, tail=tail, rate_tol=rate_tol, decay_log=decay_log
    )


def _regime_from_trajectory_impl(
    sol: GrowthSolution,
    *,
    tail: float = 0.25,
    rate_tol: float = 1e-3,
    decay_log: float = -20.0,
) -> Array:
    if not 0 < tail <= 0.5:
        raise ValueError(f"tail={tail!r}; allowed: 0 < tail <= 0.5")
    n = sol.ts.shape[0]
    k = max(2, int(round(tail * n)))
    span = sol.ts[-1] - sol.ts[0]
    g = sol.growth_rate
    g_mid, g_end = g[..., -k], g[..., -1]
    scale = rate_tol / span
    steady = jnp.abs(g_end - g_mid) <= scale + rate_tol * jnp.abs(g_end)
    decayed = (sol.log_C[..., -1] - sol.log_C[..., 0]) < decay_log
    code = jnp.where(
        decayed | ((g_end < -scale) & (steady | (g_end <= g_mid))),
        REGIME_DECAY,
        jnp.where(steady & (g_end > scale), REGIME_B, REGIME_A),
    )
    code = jnp.where(sol.status == STATUS_BLOWUP, REGIME_C, code)
    code = jnp.where(sol.status == STATUS_OVERFLOW, REGIME_B, code)
    return jnp.where(sol.status == STATUS_FAILED, -1, code).astype(jnp.int32)


# ----------------------------------------------------------------------------- saturation
def saturation_vector_field(t, C: Float[Array, " J"], args) -> Float[Array, " J"]:
    r"""Right-hand side of (26): $\dot C_j = \frac{(AC)_j}{1 + h(AC)_j} - \delta C_j$.

    Args:
      C: Per-type capabilities, shape `(J,)`.
      args: Tuple `(A, h, delta)`; `A` shape `(J, J)`, non-negative.

    Cost: O(J^2).
    """
    del t
    A, h, delta = args
    x = A @ C
    return x / (1 + h * x) - delta * C


def saturation_ceiling(h, delta) -> Array:
    r"""Lemma 10.3's per-type ceiling $1/(h\delta)$; every equilibrium has $C_j^* < 1/(h\delta)$."""
    _check("h", h, lambda v: v > 0, "h > 0")
    _check("delta", delta, lambda v: v > 0, "delta > 0")
    return 1 / (jnp.asarray(h) * jnp.asarray(delta))


def perron_root(A: Float[ArrayLike, "J J"]) -> Array:
    r"""Perron root of a non-negative matrix (largest real part of its eigenvalues).

    (26) has a positive equilibrium iff this exceeds $\delta$ (for irreducible $A$); else the
    only equilibrium is $C = 0$ and it is globally stable, which Lemma 10.3 does not say.
    Host-side (NumPy) computation.
    """
    A = np.asarray(A, dtype=float)
    return jnp.asarray(np.max(np.linalg.eigvals(A).real))


def _check_matrix(A):
    A_np = _concrete(A)
    if A_np is None:
        return
    if A_np.ndim != 2 or A_np.shape[0] != A_np.shape[1]:
        raise ValueError(f"A must be square (J, J), got shape {A_np.shape}")
    _check("A", A_np, lambda v: v >= 0, "A >= 0 elementwise, finite")
    if not np.all(np.isfinite(A_np)):
        raise ValueError("A has non-finite entries; allowed: finite A >= 0")


def saturation_solve(
    A: Float[ArrayLike, "J J"],
    h: float,
    delta: float,
    C0: Float[ArrayLike, " J"],
    t1: float,
    *,
    n_save: int = 101,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 16384,
):
    r"""Solves (26) from `C0` on $[0, t_1]$ (Tsit5, adaptive).

    Args:
      A: Training benefits $a_{jk} \ge 0$, shape `(J, J)`.
      h: Saturation $h > 0$.
      delta: Depreciation $\delta > 0$.
      C0: Initial per-type capabilities $\ge 0$, shape `(J,)`.
      t1: Horizon.

    Returns:
      `(ts, C, status)`: save times `(t,)`, trajectory `(t, J)`, status code (`STATUS`).

    Raises:
      ValueError: `h <= 0`, `delta <= 0`, negative or non-finite `A`/`C0`, shape mismatch.
    """
    _check("h", h, lambda v: (v > 0) & np.isfinite(v), "0 < h < inf")
    _check("delta", delta, lambda v: (v > 0) & np.isfinite(v), "0 < delta < inf")
    _check_matrix(A)
    _check("C0", C0, lambda v: (v >= 0) & np.isfinite(v), "0 <= C0 < inf")
    if np.shape(C0) != (np.shape(A)[0],):
        raise ValueError(f"C0 shape {np.shape(C0)} must be (J,) = ({np.shape(A)[0]},)")
    dtype = _float_dtype(A, C0, h, delta)
    d_rtol, d_atol = _default_tols(dtype)
    ts = jnp.linspace(0.0, t1, n_save, dtype=dtype)
    return _saturation_solve(
        jnp.asarray(A, dtype),
        jnp.asarray(h, dtype),
        jnp.asarray(delta, dtype),
        jnp.asarray(C0, dtype),
        ts,
        rtol or d_rtol,
        atol or d_atol,
        max_steps,
    )


@eqx.filter_jit
def _saturation_solve(A, h, delta, C0, ts, rtol, atol, max_steps):
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(saturation_vector_field),
        diffrax.Tsit5(),
        ts[0],
        ts[-1],
        None,
        C0,
        (A, h, delta),
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        throw=False,
    )
    status = jnp.where(
        sol.result == diffrax.RESULTS.successful, STATUS_OK, STATUS_FAILED
    )
    return ts, sol.ys, status.astype(jnp.int32)


# ----------------------------------------------------------------------------- CES / variety
_CONVENTIONS = ("mean", "sum", "per_type")


def _check_rho(rho):
    _check("rho", rho, lambda v: (v < 1) & (v != 0), "rho < 1, rho != 0")


def ces_aggregate(C: Float[ArrayLike, "... J"], rho, convention: str = "mean") -> Array:
    r"""CES aggregate over the last axis, in one of the chapter's three normalisations.

    - `"mean"` (1): $(J^{-1}\sum_j C_j^\rho)^{1/\rho}$ — equal $C_j = c$ give $c$.
    - `"sum"` (27), (30): $(\sum_j C_j^\rho)^{1/\rho}$ — equal give $J^{1/\rho}c$.
    - `"per_type"` (29), (31): $J^{-1}(\sum_j C_j^\rho)^{1/\rho}$ — equal give
      $J^{(1-\rho)/\rho}c$, the growth law quoted after (30).

    Raises:
      ValueError: `rho >= 1`, `rho == 0`, NaN, negative `C`, unknown `convention`.
    """
    _check_rho(rho)
    _check("C", C, lambda v: v >= 0, "C >= 0")
    if convention not in _CONVENTIONS:
        raise ValueError(f"convention={convention!r}; allowed: {_CONVENTIONS}")
    C = jnp.asarray(C)
    # One CES kernel for the package (meshjax.ces: log-space, stable near rho -> 0).
    out = _ces.ces_aggregate(C, rho, axis=-1, normalized=convention == "mean")
    return out / C.shape[-1] if convention == "per_type" else out


def _j_exponent(rho, convention):
    return {"mean": 0.0, "sum": 1 / rho, "per_type": (1 - rho) / rho}[convention]


def c_max_bound(J, rho, h, delta) -> Array:
    r"""Lemma 10.3 / (27): $(\sum_j (C_j^*)^\rho)^{1/\rho} \le J^{1/\rho}/(h\delta)$ (`"sum"` CES)."""
    _check_rho(rho)
    _check("J", J, lambda v: v >= 1, "J >= 1")
    return jnp.asarray(J) ** (1 / jnp.asarray(rho)) * saturation_ceiling(h, delta)


def c_max(J_max, rho, h, delta) -> Array:
    r"""(31): $C_{max} = J_{max}^{(1-\rho)/\rho}/(h\delta)$ — the `"per_type"` CES bound.

    (27) and (31) use different normalisations ($J^{1/\rho}$ vs $J^{(1-\rho)/\rho}$); both
    are upper bounds (strict) of the aggregate at the equilibrium of (26), not its value.
    For $\rho<0$ both decrease in $J$.
    """
    _check_rho(rho)
    _check("J_max", J_max, lambda v: v >= 1, "J_max >= 1")
    rho = jnp.asarray(rho)
    return jnp.asarray(J_max) ** ((1 - rho) / rho) * saturation_ceiling(h, delta)


def dceff_dJ(C: Float[ArrayLike, " J"], c_new, rho, convention: str = "mean") -> Array:
    r"""$\partial C_{eff}/\partial J$ with $J$ continuous: the marginal type enters at $c_{new}$.

    With $S = \sum_{j\le J} C_j^\rho$ extended as $S(J + \epsilon) = S + \epsilon\,c_{new}^\rho$:

    - `"sum"`: $\frac1\rho S^{1/\rho-1}c_{new}^\rho$ — (30), correct as printed.
    - `"per_type"`: $\frac{C_{eff}}{J}\left[\frac1\rho\frac{c_{new}^\rho}{S/J} - 1\right]$.
      (29) prints $\frac{1-\rho}{\rho}\frac{C_{eff}}{J}\dot J\cdot\frac{c_{new}^\rho}{S/J}$,
      which equals this (times $\dot J$) only when $c_{new}^\rho = S/J$.
    - `"mean"`: $\frac{C_{eff}}{\rho J}\left[\frac{c_{new}^\rho}{S/J} - 1\right]$ — positive
      iff $c_{new}$ exceeds the current power mean, for either sign of $\rho$.

    For $\rho < 0$ the `"sum"` and `"per_type"` derivatives are negative: adding types at
    any level lowers those aggregates. Times $\dot J$ this is $dC_{eff}/dt$ of Prop. 10.4.

    Args:
      C: Existing capabilities, shape `(J,)`, positive.
      c_new: Capability of the marginal type, positive.
      rho, convention: As in `ces_aggregate`.

    Returns:
      Scalar derivative. Cost O(J).
    """
    _check("c_new", c_new, lambda v: v > 0, "c_new > 0")
    _check("C", C, lambda v: v > 0, "C > 0")
    c_eff = ces_aggregate(C, rho, convention)
    C = jnp.asarray(C)
    J = C.shape[-1]
    S = jnp.sum(C**rho, axis=-1)
    ratio = jnp.asarray(c_new) ** rho / (S / J)
    if convention == "sum":
        return S ** (1 / rho - 1) * jnp.asarray(c_new) ** rho / rho
    if convention == "per_type":
        return c_eff / J * (ratio / rho - 1)
    return c_eff / (rho * J) * (ratio - 1)


def variety_solve(
    *,
    a_s: float,
    h: float,
    delta: float,
    eta_J: float,
    f_J: float,
    phi_J: float,
    J0: float,
    J_max: float,
    rho: float,
    c0: float,
    t1: float,
    convention: str = "per_type",
    n_save: int = 101,
):
    r"""Saturation (26) with variety expansion (28), symmetric mean-field version.

    All active types share capability $c$ and benefit from each other with $a_{jk} = a_s$,
    so $(AC)_j = a_s J c$; new types enter at the current $c$:
    $$\dot c = \frac{a_s J c}{1 + h a_s J c} - \delta c,\qquad
      \dot J = \eta_J f_J C_{eff}^{\varphi_J}(J_{max} - J),\qquad C_{eff} = J^{k}c,$$
    $k$ = 0, $1/\rho$, $(1-\rho)/\rho$ for `"mean"`, `"sum"`, `"per_type"`. As $J\to J_{max}$,
    $c \to c^*(J_{max}) = 1/(h\delta) - 1/(h a_s J_{max})$ (needs $a_s J_{max} > \delta$) and
    $C_{eff} \to J_{max}^k c^* < $ (31) for `"per_type"`.

    Returns:
      `(ts, c, J, C_eff, status)`, each over `ts` (shape `(n_save,)`).

    Raises:
      ValueError: any rate or size outside its domain, `J0 > J_max`, NaN.
    """
    for name, v, ok, allowed in [
        ("a_s", a_s, lambda v: v > 0, "> 0"),
        ("h", h, lambda v: v > 0, "> 0"),
        ("delta", delta, lambda v: v > 0, "> 0"),
        ("eta_J", eta_J, lambda v: v >= 0, ">= 0"),
        ("f_J", f_J, lambda v: (v >= 0) & (v <= 1), "in [0, 1]"),
        ("phi_J", phi_J, np.isfinite, "finite"),
        ("J0", J0, lambda v: v >= 1, ">= 1"),
        ("J_max", J_max, lambda v: (v >= J0) & np.isfinite(v), ">= J0, finite"),
        ("c0", c0, lambda v: v > 0, "> 0"),
        ("t1", t1, lambda v: v > 0, "> 0"),
    ]:
        _check(name, v, ok, allowed)
    _check_rho(rho)
    if convention not in _CONVENTIONS:
        raise ValueError(f"convention={convention!r}; allowed: {_CONVENTIONS}")
    k = _j_exponent(rho, convention)
    dtype = _float_dtype(a_s, c0)
    ts = jnp.linspace(0.0, t1, n_save, dtype=dtype)
    args = jnp.asarray([a_s, h, delta, eta_J, f_J, phi_J, J_max, k], dtype)
    c, J, status = _variety_solve(
        args, jnp.asarray(c0, dtype), jnp.asarray(J0, dtype), ts
    )
    return ts, c, J, J**k * c, status


def _variety_field(t, y, args):
    del t
    c, J = y
    a_s, h, delta, eta_J, f_J, phi_J, J_max, k = args
    x = a_s * J * c
    c_eff = J**k * c
    return x / (1 + h * x) - delta * c, eta_J * f_J * c_eff**phi_J * (J_max - J)


@eqx.filter_jit
def _variety_solve(args, c0, J0, ts):
    rtol, atol = _default_tols(c0.dtype)
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_variety_field),
        diffrax.Tsit5(),
        ts[0],
        ts[-1],
        None,
        (c0, J0),
        args,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol, atol),
        max_steps=16384,
        throw=False,
    )
    status = jnp.where(
        sol.result == diffrax.RESULTS.successful, STATUS_OK, STATUS_FAILED
    )
    return sol.ys[0], sol.ys[1], status.astype(jnp.int32)


# ----------------------------------------------------------------------------- Baumol
class BaumolParams(eqx.Module):
    r"""Two-sector composite (40) with an automation share $\beta(t) \to 1$.

    $\beta(t) = 1 - (1-\beta_0)(1 + t/\tau)^{-p}$ if `schedule == "power"` ($\dot\beta \to 0$,
    $1-\beta$ decays polynomially) or $1 - (1-\beta_0)e^{-t/\tau}$ if `"exp"`.
    Sector aggregation: $\rho_s = 0$ is the Cobb–Douglas (40),
    $C_{eff} = C_1^\beta C_2^{1-\beta}$; $\rho_s < 0$ is the CES of Aghion–Jones–Jones,
    $C_{eff} = (\beta C_1^{\rho_s} + (1-\beta) C_2^{\rho_s})^{1/\rho_s}$ (complements).

    Fields:
      g_Z: Growth rate of the frontier sector $C_2 = Z$.
      beta0: $\beta(0) \in [0, 1)$.
      tau: Time scale $> 0$.
      p: Power of the `"power"` schedule, $> 0$.
      rho_s: Sector substitution parameter, $\rho_s \le 0$ (0 = Cobb–Douglas) or in (0, 1).
      schedule: `"power"` or `"exp"` (static).
    """

    g_Z: Array = eqx.field(converter=jnp.asarray, default=0.05)
    beta0: Array = eqx.field(converter=jnp.asarray, default=0.5)
    tau: Array = eqx.field(converter=jnp.asarray, default=1.0)
    p: Array = eqx.field(converter=jnp.asarray, default=1.0)
    rho_s: Array = eqx.field(converter=jnp.asarray, default=0.0)
    schedule: str = eqx.field(static=True, default="power")

    def __check_init__(self):
        _check("g_Z", self.g_Z, np.isfinite, "finite g_Z")
        _check("beta0", self.beta0, lambda v: (v >= 0) & (v < 1), "0 <= beta0 < 1")
        _check("tau", self.tau, lambda v: (v > 0) & np.isfinite(v), "0 < tau < inf")
        _check("p", self.p, lambda v: (v > 0) & np.isfinite(v), "0 < p < inf")
        _check("rho_s", self.rho_s, lambda v: v < 1, "rho_s < 1")
        if self.schedule not in ("power", "exp"):
            raise ValueError(f"schedule={self.schedule!r}; allowed: 'power', 'exp'")

    def beta(self, t):
        """$\\beta(t)$ and $\\dot\\beta(t)$."""
        if self.schedule == "power":
            s = (1 + t / self.tau) ** (-self.p)
            return 1 - (1 - self.beta0) * s, (
                1 - self.beta0
            ) * self.p / self.tau * s / (1 + t / self.tau)
        s = jnp.exp(-t / self.tau)
        return 1 - (1 - self.beta0) * s, (1 - self.beta0) * s / self.tau


def _log_composite(beta, log_c1, log_c2, rho_s):
    cd = beta * log_c1 + (1 - beta) * log_c2
    r = jnp.where(rho_s != 0, rho_s, 1.0)
    # log(beta e^{r l1} + (1-beta) e^{r l2}) / r, stably
    ces = (
        jax.nn.logsumexp(
            jnp.stack([r * log_c1, r * log_c2]), axis=0, b=jnp.stack([beta, 1 - beta])
        )
        / r
    )
    return jnp.where(rho_s == 0, cd, ces)


def baumol_solve(
    growth: GrowthParams,
    baumol: BaumolParams,
    C1_0: float,
    Z0: float,
    t1: float,
    *,
    n_save: int = 201,
):
    r"""Simulates the two-sector Baumol model (40)–(42).

    Sector 1 (the mesh) follows the growth system (22)/(28) with `growth` (its growth rate
    $g_C(t)$ is whatever that system gives; regime (b) gives a constant one); sector 2 grows
    at $g_Z$. The aggregate growth rate
    $g_{C_{eff}} = \frac{d}{dt}\ln C_{eff}(\beta(t), C_1(t), Z(t))$ is computed exactly by
    forward-mode differentiation along the solution.

    Returns:
      dict with `ts`, `beta`, `log_C1`, `log_Z`, `log_Ceff`, `g_C1`, `g_Ceff`, `g_eq41`
      ((41) evaluated on the solution — equal to `g_Ceff` for Cobb–Douglas), `status`.

    Raises:
      ValueError: bad `C1_0`, `Z0`, `t1`, or parameters.
    """
    _check("C1_0", C1_0, lambda v: (v > 0) & np.isfinite(v), "0 < C1_0 < inf")
    _check("Z0", Z0, lambda v: (v > 0) & np.isfinite(v), "0 < Z0 < inf")
    sol = solve(growth, C1_0, t1, n_save=n_save)
    if int(np.asarray(sol.status)) != STATUS_OK:
        raise ValueError(
            f"sector-1 growth solve stopped with status {STATUS[int(np.asarray(sol.status))]!r} "
            f"at t={float(sol.t_end):.4g}; choose parameters without blow-up before t1"
        )
    ts = sol.ts
    log_z = jnp.log(jnp.asarray(Z0, ts.dtype)) + baumol.g_Z * ts
    beta, beta_dot = baumol.beta(ts)
    g1 = sol.growth_rate

    def log_ceff(t, l1, l2):
        b, _ = baumol.beta(t)
        return _log_composite(b, l1, l2, baumol.rho_s)

    log_ce = log_ceff(ts, sol.log_C, log_z)
    _, g_ce = jax.jvp(
        log_ceff,
        (ts, sol.log_C, log_z),
        (jnp.ones_like(ts), g1, jnp.broadcast_to(baumol.g_Z, ts.shape)),
    )
    g41 = beta * g1 + (1 - beta) * baumol.g_Z + beta_dot * (sol.log_C - log_z)
    return {
        "ts": ts,
        "beta": beta,
        "log_C1": sol.log_C,
        "log_Z": log_z,
        "log_Ceff": log_ce,
        "g_C1": g1,
        "g_Ceff": g_ce,
        "g_eq41": g41,
        "status": sol.status,
    }
