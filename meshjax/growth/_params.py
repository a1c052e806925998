r"""Parameters of the growth system (22)/(26)/(28) and the elasticities of (24), Def. 11.1."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validate import check_array, in_domain, is_traced, nan_outside

#: Domain of every `GrowthParams` field: (low, high, low_open, high_open).
_DOMAINS: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "delta_g": (0.0, None, True, False),
    "f": (0.0, 1.0, True, True),
    "lam": (0.0, 1.0, True, False),
    "phi": (None, None, False, False),
    "gamma_J": (0.0, None, False, False),
    "delta": (0.0, None, False, False),
    "h": (0.0, None, False, False),
    "J0": (0.0, None, True, False),
    "g_J": (None, None, False, False),
    "eta_J": (0.0, None, False, False),
    "f_J": (0.0, 1.0, False, False),
    "phi_J": (None, None, False, False),
    "J_max": (0.0, None, True, False),  # +inf allowed: no ceiling
    "alpha": (0.0, 1.0, False, False),
    "alpha_crit": (0.0, 1.0, False, False),
}
_MAY_BE_INF = ("J_max",)


def _float_dtype(*xs):
    return jnp.result_type(*[jnp.asarray(x) for x in xs], float)


def _as_float(x: jax.Array) -> jax.Array:
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return x
    return x.astype(jnp.result_type(float))


def check_field(name: str, value, low, high, low_open, high_open, may_be_inf=False):
    """One real (array) parameter: concrete values checked, traced passed on; as float."""
    if not is_traced(value) and may_be_inf:
        v = np.asarray(value) if not isinstance(value, str | None) else None
        if v is not None and np.issubdtype(v.dtype, np.floating) and np.isnan(v).any():
            raise ValueError(f"`{name}` must not be NaN; got {value!r}")
    out = check_array(
        name,
        value,
        low=low,
        high=high,
        low_open=low_open,
        high_open=high_open,
        finite=not may_be_inf,
    )
    if isinstance(value, int | float) and not isinstance(value, bool):
        return jnp.asarray(float(value))  # a Python scalar stays weakly typed
    return _as_float(out)


def field_ok(name: str, value) -> jax.Array:
    """Traced-side domain check of one field (`in_domain`)."""
    low, high, low_open, high_open = _DOMAINS[name]
    if name in _MAY_BE_INF:
        v = jnp.asarray(value)
        return ~jnp.isnan(v) & (v > low)
    return in_domain(value, low=low, high=high, low_open=low_open, high_open=high_open)


def _converter(name: str):
    low, high, low_open, high_open = _DOMAINS[name]
    may_be_inf = name in _MAY_BE_INF
    return lambda v: check_field(name, v, low, high, low_open, high_open, may_be_inf)


def _field(name: str, default: float):
    return eqx.field(converter=_converter(name), default=default)


class GrowthParams(eqx.Module):
    r"""Parameters of the growth system (22) + (26) + (28); every field may carry batch axes.

    Every field is a float array (shapes broadcast against each other) and may be traced
    (`jit`, `vmap`, `meshjax.sweep.sweep` over any of them). Concrete values are checked at
    construction (`ValueError` naming the field: NaN, inf, outside the domain); traced
    values are checked inside the drivers (`solve` reports `RESULTS.invalid_parameter`)
    and formulas (NaN).

    Fields (domain in brackets):
      delta_g: Productivity $\delta_g$ [(0, inf)].
      f: Training fraction $f$ [(0, 1)].
      lam: Duplication parameter $\lambda$ [(0, 1]].
      phi: Training elasticity $\varphi$ [finite] (pass `phi_eff(phi0, beta_auto)` for (24)).
      gamma_J: Variety elasticity $\gamma_J$ [[0, inf)].
      delta: Depreciation $\delta$ [[0, inf)].
      h: Saturation of the improvement term, $G \mapsto G/(1+hG)$ as in (26) [[0, inf)].
      J0: Initial number of types $J_0$ [(0, inf)].
      g_J: Exogenous exponential growth rate of $J$ (for (32)); 0 = none [finite].
      eta_J, f_J, phi_J: Variety dynamics (28) [[0, inf), [0, 1], finite];
        `eta_J = 0` switches it off.
      J_max: Ceiling of $J$ in (28) [(0, inf]; inf = no ceiling, the only field that may
        be infinite: $(J_{max} - J)$ is then replaced by 1, so `eta_J` is the rate
        $\dot J = \eta_J f_J C^{\varphi_J}$ (see `vector_field`)].
      alpha, alpha_crit: Collapse indicator $\mathbf 1[\alpha > \alpha_{crit}]$ of (21)
        [[0, 1] each].

    Raises:
      ValueError: (at construction, for concrete values) a field outside its domain, NaN
        or infinite, naming the field.
      TypeError: a field that is not a real number or array.
    """

    delta_g: Array = _field("delta_g", 1.0)
    f: Array = _field("f", 0.5)
    lam: Array = _field("lam", 1.0)
    phi: Array = _field("phi", 0.5)
    gamma_J: Array = _field("gamma_J", 0.0)
    delta: Array = _field("delta", 0.0)
    h: Array = _field("h", 0.0)
    J0: Array = _field("J0", 1.0)
    g_J: Array = _field("g_J", 0.0)
    eta_J: Array = _field("eta_J", 0.0)
    f_J: Array = _field("f_J", 0.1)
    phi_J: Array = _field("phi_J", 0.0)
    J_max: Array = _field("J_max", float("inf"))
    alpha: Array = _field("alpha", 1.0)
    alpha_crit: Array = _field("alpha_crit", 0.0)

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


def params_ok(p: GrowthParams) -> jax.Array:
    """Boolean array (broadcast shape): every field of `p` inside its domain (traced-safe)."""
    ok = jnp.asarray(True)
    for name in _DOMAINS:
        ok = ok & field_ok(name, getattr(p, name))
    return ok


def safe_params(p: GrowthParams, ok) -> GrowthParams:
    """`p` with the default value wherever `ok` is False (so solves of bad points are cheap)."""
    default = GrowthParams()
    return jax.tree_util.tree_map(
        lambda x, d: jnp.where(ok, x, d.astype(x.dtype)), p, default
    )


# ----------------------------------------------------------------------------- elasticities
def phi_eff(phi0: Float[ArrayLike, ...], beta_auto: Float[ArrayLike, ...]) -> Array:
    r"""Effective training elasticity (24): $\varphi_{eff} = \varphi_0/(1-\beta_{auto}\varphi_0)$.

    Args:
      phi0: Raw elasticity $\varphi_0 < 1$, any shape (broadcast with `beta_auto`).
      beta_auto: Automated fraction $\beta_{auto} \in [0, 1)$.

    Returns:
      $\varphi_{eff}$, broadcast shape (NaN where a traced input is outside its domain).
      It is $\ge 1$ iff $\beta_{auto} \ge (1-\varphi_0)/\varphi_0$ (`beta_threshold`),
      reachable with $\beta_{auto} < 1$ only for $\varphi_0 > 1/2$.

    Raises:
      ValueError: `phi0 >= 1`, `beta_auto` outside [0, 1), NaN or inf.
    """
    phi0 = check_field("phi0", phi0, None, 1.0, False, True)
    beta_auto = check_field("beta_auto", beta_auto, 0.0, 1.0, False, True)
    return _phi_eff(phi0, beta_auto)


@jax.jit
def _phi_eff(phi0, beta_auto):
    ok = in_domain(phi0, high=1.0, high_open=True) & in_domain(
        beta_auto, low=0.0, high=1.0, high_open=True
    )
    return nan_outside(ok, phi0 / (1 - beta_auto * phi0))


def beta_threshold(phi0: Float[ArrayLike, ...]) -> Array:
    r"""Automation fraction at which $\varphi_{eff} = 1$ (Prop. 10.1): $(1-\varphi_0)/\varphi_0$.

    Raises:
      ValueError: `phi0` outside (0, 1), NaN or inf (NaN output for a traced one).
    """
    phi0 = check_field("phi0", phi0, 0.0, 1.0, True, True)
    return _beta_threshold(phi0)


@jax.jit
def _beta_threshold(phi0):
    ok = in_domain(phi0, low=0.0, high=1.0, low_open=True, high_open=True)
    return nan_outside(ok, (1 - phi0) / phi0)


def composite_elasticity(
    lam: Float[ArrayLike, ...], phi: Float[ArrayLike, ...]
) -> Array:
    r"""$\Phi = \lambda + \varphi - 1$ (Definition 11.1).

    Raises:
      ValueError: `lam` outside (0, 1], `phi` NaN or inf (NaN output for traced ones).
    """
    lam = check_field("lam", lam, 0.0, 1.0, True, False)
    phi = check_field("phi", phi, None, None, False, False)
    return _composite_elasticity(lam, phi)


@jax.jit
def _composite_elasticity(lam, phi):
    ok = in_domain(lam, low=0.0, high=1.0, low_open=True) & in_domain(phi)
    return nan_outside(ok, lam + phi - 1)
