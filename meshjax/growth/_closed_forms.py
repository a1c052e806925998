r"""Closed forms of (22) with constant $J$: the Bernoulli solution, (32), (33), $C_u$, $C^*$.

Every function here is a formula: concrete arguments outside their domain raise
`ValueError` naming them; traced ones give NaN there (`nan_outside`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validate import in_domain, nan_outside
from ._params import GrowthParams, check_field, params_ok


def _params(params) -> GrowthParams:
    if not isinstance(params, GrowthParams):
        raise TypeError(f"`params` must be a GrowthParams, got {type(params).__name__}")
    return params


def _c0(C0):
    """Host-side check of `C0` (concrete values raise); traced values pass on."""
    return check_field("C0", C0, 0.0, None, True, False)


def _c0_ok(C0):
    """Traced-side domain check of `C0` (inside `jit`)."""
    return in_domain(C0, low=0.0, low_open=True)


def closed_form(
    t: Float[ArrayLike, ...], params: GrowthParams, C0: Float[ArrayLike, ...]
) -> Array:
    r"""Exact $\ln C(t)$ of (22) with constant $J$ and $h = 0$, including the $-\delta C$ term.

    With $v = C^{1-\Phi}$ the Bernoulli equation is linear:
    $\dot v = (1-\Phi)(a - \delta v)$, $a = \delta_g f^\lambda J^{\gamma_J}$, so
    $v(t) = a/\delta + (v_0 - a/\delta)e^{-(1-\Phi)\delta t}$ ($\delta>0$) or
    $v_0 + (1-\Phi)a t$ ($\delta = 0$, which is (33) with its sign fixed); for $\Phi=1$,
    $\ln C = \ln C_0 + (a-\delta)t$. Past a singularity returns `+inf`.

    Args:
      t: Times $\ge 0$, broadcast with the parameter fields and `C0`.
      params: `GrowthParams` (uses delta_g, f, lam, phi, gamma_J, delta, J0, alpha's).
      C0: $C(0) \in (0, \infty)$.

    Returns:
      $\ln C(t)$, broadcast shape (NaN where a traced input is outside its domain).
      Cost O(1) per element.
    """
    p = _params(params)
    t = check_field("t", t, 0.0, None, False, False)
    C0 = _c0(C0)
    return _closed_form(t, p, C0)


@jax.jit
def _closed_form(t, p, C0):
    # Two evaluations of ln v, each accurate where the other is not:
    # - near v = 1 (|Phi - 1| tiny, or t small), ln C = log1p(v - 1) / (1 - Phi) with
    #   v - 1 from expm1s: ln(v) / (1 - Phi) taken directly lost every digit in float32
    #   (Phi - 1 = -2.4e-7: ln C(0) came out 0.500 for ln C0 = 0.693);
    # - elsewhere, ln v in log space (`_log_v`): v - 1 overflows (exp(-(1-Phi) d t) for
    #   Phi > 1, giving inf - inf) or 1 + (v - 1) rounds to 0 (v < eps for Phi < 1),
    #   which once turned finite trajectories into +-inf.
    ok = _c0_ok(C0) & params_ok(p) & in_domain(t, low=0.0)
    a, Phi, d = p.a(), p.Phi, p.delta
    log_c0 = jnp.log(C0)
    one = jnp.abs(Phi - 1) < 1e-30  # (then the limit; above, log1p / e is accurate)
    e = jnp.where(one, 1.0, 1 - Phi)  # safe exponent 1 - Phi
    vm1_0 = jnp.expm1(e * log_c0)  # v0 - 1
    d_safe = jnp.where(d > 0, d, 1.0)
    # v = a/d + (v0 - a/d) E, E = exp(-e d t): v - 1 = (v0 - 1) E - (a/d - 1) expm1(-e d t)
    decay = -e * d_safe * t
    # capped where exp would overflow: there v - 1 is far beyond 0.5 anyway (the far
    # branch is taken), and an inf here made the near branch's gradient 0 * inf = NaN
    decay = jnp.minimum(decay, jnp.log(jnp.finfo(decay.dtype).max) - 1.0)
    vm1_d = vm1_0 * jnp.exp(decay) - (a / d_safe - 1) * jnp.expm1(decay)
    vm1 = jnp.where(d > 0, vm1_d, vm1_0 + e * a * t)  # d = 0: v = v0 + e a t
    near = jnp.abs(vm1) <= 0.5  # False for NaN / inf
    log_c_near = jnp.log1p(jnp.where(near, vm1, 0.0)) / e
    log_v, blown = _log_v(e * log_c0, a, d, e, t)
    log_c_far = jnp.where(blown, jnp.inf, log_v / e)
    log_c = jnp.where(near, log_c_near, log_c_far)
    return nan_outside(ok, jnp.where(one, log_c0 + (a - d) * t, log_c))


def _log_v(log_v0, a, d, e, t):
    r"""$\ln v(t)$ of `closed_form` in log space, and where $v$ reached 0 (blow-up).

    With $k = e\delta t$: for $e > 0$, $v = v_0 e^{-k} + (a/\delta)(1 - e^{-k})$, a sum of
    two non-negative terms (`logaddexp`); for $e < 0$,
    $v = e^{|k|}\,v_0\,(1 - x)$, $x = (a/\delta)(1 - e^{-|k|})/v_0$, and $v \le 0$ iff
    $x \ge 1$. For $\delta = 0$ the same with $e^{-k} \to 1$ and
    $(a/\delta)(1-e^{-k}) \to e a t$ ($e>0$), $|e| a t$ ($e<0$).
    """
    d_pos = d > 0
    d_safe = jnp.where(d_pos, d, 1.0)
    m = jnp.abs(e) * d_safe * t  # |k|
    # ln of the a-term: ln(a/d) + ln(1 - e^{-|k|}) (d > 0), ln(|e| a t) (d = 0); it is
    # -inf where a = 0 or t = 0 (the term vanishes), set by a `where` on safe inputs
    # so that gradients stay finite (ln 0 inside would give 0 * inf = NaN there)
    s = jnp.where(d_pos, m, jnp.abs(e) * t)
    live = (a > 0) & (s > 0)
    a_safe = jnp.where(live, a, 1.0)
    s_safe = jnp.where(live, s, 1.0)
    log_live = jnp.where(
        d_pos,
        jnp.log(a_safe) - jnp.log(d_safe) + jnp.log(-jnp.expm1(-s_safe)),
        jnp.log(a_safe) + jnp.log(s_safe),
    )
    log_term = jnp.where(live, log_live, -jnp.inf)
    shift = jnp.where(d_pos, m, 0.0)
    log_v_pos = jnp.logaddexp(log_v0 - shift, log_term)  # e > 0
    x = jnp.exp(log_term - log_v0)  # e < 0
    blown = (e < 0) & (x >= 1)
    log_v_neg = shift + log_v0 + jnp.log1p(-jnp.where(x < 1, x, 0.0))
    return jnp.where(e > 0, log_v_pos, log_v_neg), blown


def closed_form_exp_variety(
    t: Float[ArrayLike, ...], params: GrowthParams, C0: Float[ArrayLike, ...]
) -> Array:
    r"""Exact $\ln C(t)$ of (22) in regime (b) ($\Phi = 1$, $h=0$) with $J = J_0 e^{g_J t}$.

    $\ln C(t) = \ln C_0 + a_0 \frac{e^{\gamma_J g_J t} - 1}{\gamma_J g_J} - \delta t$,
    $a_0 = \delta_g f^\lambda J_0^{\gamma_J}$. The chapter's (32),
    $\ln C_0 + (a_0 e^{\gamma_J g_J t} - \delta)t$, is not a solution: it overstates the
    log-capability by $a_0\,[t e^{x} - (e^x-1)/(\gamma_J g_J)]$, $x = \gamma_J g_J t$.

    Args:
      t: Times $\ge 0$; params: `GrowthParams`; C0: $C(0) \in (0, \infty)$.

    Returns:
      $\ln C(t)$, broadcast shape (NaN where a traced input is outside its domain).
    """
    p = _params(params)
    t = check_field("t", t, 0.0, None, False, False)
    C0 = _c0(C0)
    return _closed_form_exp_variety(t, p, C0)


@jax.jit
def _closed_form_exp_variety(t, p, C0):
    ok = _c0_ok(C0) & params_ok(p) & in_domain(t, low=0.0)
    k = p.gamma_J * p.g_J
    k_safe = jnp.where(k != 0, k, 1.0)
    integral = jnp.where(k != 0, jnp.expm1(k_safe * t) / k_safe, t)
    return nan_outside(ok, jnp.log(C0) + p.a() * integral - p.delta * t)


def singularity_time(params: GrowthParams, C0: Float[ArrayLike, ...]) -> Array:
    r"""$T_s$ of (33): $C_0^{1-\Phi}/((\Phi-1)\,\delta_g f^\lambda J^{\gamma_J})$ (ignores $\delta$).

    Returns `inf` where $\Phi \le 1$ or $a = 0$. This is exact for (22) with $\delta = 0$,
    $h = 0$ and constant $J$; `blowup_time` keeps $\delta$. NaN where a traced input is
    outside its domain; `C0` in $(0, \infty)$.
    """
    p = _params(params)
    return _singularity_time(p, _c0(C0))


@jax.jit
def _singularity_time(p, C0):
    ok = _c0_ok(C0) & params_ok(p)
    a, Phi = p.a(), p.Phi
    above = (Phi > 1) & (a > 0)
    e = jnp.where(above, Phi - 1, 1.0)
    out = jnp.where(above, C0 ** (-e) / (e * jnp.where(above, a, 1.0)), jnp.inf)
    return nan_outside(ok, out)


def unstable_point(params: GrowthParams) -> Array:
    r"""$C_u = (\delta/a)^{1/(\Phi-1)}$: for $\Phi>1$, $\delta>0$, $h=0$, blow-up iff $C_0 > C_u$.

    `inf` where $\Phi \le 1$ or $a = 0$; NaN where a traced field is outside its domain.
    """
    return _unstable_point(_params(params))


def _unstable_point_fn(p):
    a, Phi = p.a(), p.Phi
    e = jnp.where(Phi != 1, Phi - 1, 1.0)
    out = jnp.where(
        (Phi > 1) & (a > 0), (p.delta / jnp.where(a > 0, a, 1.0)) ** (1 / e), jnp.inf
    )
    return nan_outside(params_ok(p), out)


_unstable_point = jax.jit(_unstable_point_fn)


def blowup_time(params: GrowthParams, C0: Float[ArrayLike, ...]) -> Array:
    r"""Exact blow-up time of (22) with $\delta \ge 0$, constant $J$, $h = 0$.

    $T = -\ln(1 - \delta v_0/a)/((\Phi-1)\delta)$ if $\delta v_0 < a$ ($C_0 > C_u$), else
    $\infty$; $v_0 = C_0^{1-\Phi}$. Tends to (33)'s $T_s$ as $\delta \to 0$ and always
    exceeds it. `C0` in $(0, \infty)$; NaN where a traced input is outside its domain.
    """
    p = _params(params)
    return _blowup_time(p, _c0(C0))


@jax.jit
def _blowup_time(p, C0):
    ok = _c0_ok(C0) & params_ok(p)
    a, Phi, d = p.a(), p.Phi, p.delta
    above = (Phi > 1) & (a > 0)
    e = jnp.where(above, Phi - 1, 1.0)
    a_s = jnp.where(above, a, 1.0)
    x = d * C0 ** (-e) / a_s
    d_safe = jnp.where(d > 0, d, 1.0)
    t_d = -jnp.log1p(-jnp.where(x < 1, x, 0.0)) / (e * d_safe)
    t_d = jnp.where(x < 1, t_d, jnp.inf)
    t_0 = C0 ** (-e) / (e * a_s)
    return nan_outside(ok, jnp.where(above, jnp.where(d > 0, t_d, t_0), jnp.inf))


def steady_state(params: GrowthParams) -> Array:
    r"""Regime (a) steady state of (22) ($h = 0$, constant $J$): $C^* = (a/\delta)^{1/(1-\Phi)}$.

    For $\Phi < 1$, $\delta > 0$ this is the attracting equilibrium, and $C^* = 0$ when
    $a = 0$ (then $C = C_0 e^{-\delta t}$). Returns `inf` where $\Phi \ge 1$ or
    $\delta = 0$ (no finite attracting steady state); NaN where a traced field is outside
    its domain.
    """
    return _steady_state(_params(params))


@jax.jit
def _steady_state(p):
    a, Phi, d = p.a(), p.Phi, p.delta
    ok = (Phi < 1) & (d > 0)
    pos = ok & (a > 0)
    e = jnp.where(ok, 1 - Phi, 1.0)
    c_star = (jnp.where(pos, a, 1.0) / jnp.where(ok, d, 1.0)) ** (1 / e)
    out = jnp.where(ok, jnp.where(a > 0, c_star, 0.0), jnp.inf)
    return nan_outside(params_ok(p), out)
