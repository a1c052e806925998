r"""Variety: the CES aggregate in the chapter's three normalisations, (27)–(31), and (28)."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._results import RESULTS, AbstractResult, where_status
from .._validate import (
    check_array,
    check_choice,
    check_int,
    check_real,
    in_domain,
    nan_outside,
)
from ._params import _float_dtype, check_field
from ._saturation import saturation_ceiling
from ._solve import default_tols, solver_status

_CONVENTIONS = ("mean", "sum", "per_type")


def _rho(rho, convention: str, name: str = "rho"):
    """`rho < 1` (and `!= 0` unless the convention is "mean", whose limit is geometric)."""
    rho = check_real(name, rho, high=1.0, high_open=True)
    if convention != "mean" and isinstance(rho, float) and rho == 0:
        raise ValueError(
            f"`{name}`=0.0 is out of range for convention {convention!r}; "
            "allowed: rho < 1, rho != 0"
        )
    ok = in_domain(rho, high=1.0, high_open=True)
    if convention != "mean":
        ok = ok & (jnp.asarray(rho) != 0)
    return rho, ok


def ces_aggregate(
    C: Float[ArrayLike, "... J"],
    rho: ArrayLike,
    *,
    convention: str = "mean",
    axis: int = -1,
) -> Array:
    r"""CES aggregate over `axis`, in one of the chapter's three normalisations.

    - `"mean"` (1): $(J^{-1}\sum_j C_j^\rho)^{1/\rho}$ — equal $C_j = c$ give $c$
      ($\rho = 0$: the geometric mean).
    - `"sum"` (27), (30): $(\sum_j C_j^\rho)^{1/\rho}$ — equal give $J^{1/\rho}c$.
    - `"per_type"` (29), (31): $J^{-1}(\sum_j C_j^\rho)^{1/\rho}$ — equal give
      $J^{(1-\rho)/\rho}c$, the growth law quoted after (30).

    Computed in log space, stable as $\rho \to 0$ (`expm1`/`log1p` form).

    Args:
      C: Capabilities $\ge 0$; the type axis `axis` has length $J \ge 2$.
      rho: $\rho < 1$ ($\ne 0$ for `"sum"`, `"per_type"`), a scalar.
      convention: `"mean"`, `"sum"` or `"per_type"`.
      axis: The type axis, in $[-\mathrm{ndim}, \mathrm{ndim})$ of `C`.

    Returns:
      The aggregate, shape of `C` without `axis` (NaN where a traced `rho` is outside
      its domain).

    Raises:
      ValueError: `rho >= 1`, `rho == 0` (sum/per_type), NaN, negative `C`, an `axis`
        out of range, unknown `convention`.
    """
    check_choice("convention", convention, _CONVENTIONS)
    rho, ok = _rho(rho, convention)
    C = check_array("C", C, low=0.0, nonempty=True)
    if C.ndim == 0:
        raise ValueError("`C` must have a type axis; got a scalar")
    axis = check_int("axis", axis, min_value=-C.ndim, max_value=C.ndim - 1) % C.ndim
    dtype = _float_dtype(C, rho)
    C = C.astype(dtype)
    rho_safe = jnp.where(ok, jnp.asarray(rho, dtype), 0.5)
    C = jnp.moveaxis(C, axis, -1)
    J = C.shape[-1]
    nz = C > 0
    x = jnp.log(jnp.where(nz, C, 1.0))
    x = jnp.where(nz, x, -jnp.inf)
    # log of the power mean, stable as rho -> 0 (expm1/log1p); a zero entry gives 0 for
    # rho <= 0 (its C^rho is infinite or the geometric mean vanishes)
    log_m = _log_mean_pow_over_rho(jnp.where(nz, x, 0.0), rho_safe)
    log_m_pos = _log_mean_pow_over_rho_zeros(x, nz, rho_safe)
    log_m = jnp.where(jnp.all(nz, axis=-1), log_m, log_m_pos)
    if convention != "mean":  # (sum C^rho)^(1/rho) = J^(1/rho) x the power mean
        log_m = log_m + jnp.log(jnp.asarray(J, dtype)) / rho_safe
    out = jnp.exp(log_m)
    if convention == "per_type":
        out = out / J
    return nan_outside(ok, out)


def _j_exponent(rho, convention):
    return {"mean": 0.0 * rho, "sum": 1 / rho, "per_type": (1 - rho) / rho}[convention]


def c_max_bound(
    J: Float[ArrayLike, ...],
    rho: Float[ArrayLike, ...],
    h: Float[ArrayLike, ...],
    delta: Float[ArrayLike, ...],
) -> Array:
    r"""Lemma 10.3 / (27): $(\sum_j (C_j^*)^\rho)^{1/\rho} \le J^{1/\rho}/(h\delta)$ (`"sum"` CES).

    Args:
      J: Number of types $\ge 1$; rho: $\rho < 1$, $\ne 0$; h, delta: in $(0, \infty)$.

    Returns:
      The bound, broadcast shape (NaN where a traced input is outside its domain).
    """
    rho, ok = _rho(rho, "sum")
    J = check_field("J", J, 1.0, None, False, False)
    ok = ok & in_domain(J, low=1.0)
    out = J ** (1 / jnp.where(ok, rho, 1.0)) * saturation_ceiling(h, delta)
    return nan_outside(ok, out)


def c_max(
    J_max: Float[ArrayLike, ...],
    rho: Float[ArrayLike, ...],
    h: Float[ArrayLike, ...],
    delta: Float[ArrayLike, ...],
) -> Array:
    r"""(31): $C_{max} = J_{max}^{(1-\rho)/\rho}/(h\delta)$ — the `"per_type"` CES bound.

    (27) and (31) use different normalisations ($J^{1/\rho}$ vs $J^{(1-\rho)/\rho}$); both
    are upper bounds (strict) of the aggregate at the equilibrium of (26), not its value.
    For $\rho<0$ both decrease in $J$.

    Args:
      J_max: $\ge 1$; rho: $\rho < 1$, $\ne 0$; h, delta: in $(0, \infty)$.
    """
    rho, ok = _rho(rho, "per_type")
    J_max = check_field("J_max", J_max, 1.0, None, False, False)
    ok = ok & in_domain(J_max, low=1.0)
    r = jnp.where(ok, rho, 1.0)
    return nan_outside(ok, J_max ** ((1 - r) / r) * saturation_ceiling(h, delta))


def _exprel(z):
    """$(e^z - 1)/z$, 1 at $z = 0$, accurate for small $z$."""
    small = z == 0
    z_s = jnp.where(small, jnp.ones_like(z), z)
    return jnp.where(small, jnp.ones_like(z), jnp.expm1(z_s) / z_s)


def _log_mean_pow_over_rho(x, rho):
    r"""$\frac1\rho\ln(J^{-1}\sum_j e^{\rho x_j})$, accurate as $\rho \to 0$ (→ mean of x).

    $\ln(1 + \overline{e^{\rho x}-1})/\rho$ with `expm1`/`log1p`: no cancellation for small
    $\rho$ (a plain $\ln \overline{e^{\rho x}}$ loses everything below the float resolution).
    Large $|\rho x|$ uses the log-sum-exp form instead.
    """
    zero = rho == 0
    r = jnp.where(zero, jnp.ones_like(rho), rho)
    m = jnp.mean(jnp.expm1(jnp.minimum(r[..., None] * x, 0.5)), axis=-1)
    series = jnp.log1p(m) / r
    z = r[..., None] * x
    z_max = jnp.max(z, axis=-1)
    lse = (jnp.log(jnp.mean(jnp.exp(z - z_max[..., None]), axis=-1)) + z_max) / r
    big = jnp.max(jnp.abs(z), axis=-1) > 0.5
    return jnp.where(zero, jnp.mean(x, axis=-1), jnp.where(big, lse, series))


def _log_mean_pow_over_rho_zeros(x, nz, rho):
    """As `_log_mean_pow_over_rho` with zero entries (x = -inf): -inf for rho <= 0."""
    r = jnp.where(rho > 0, rho, 1.0)
    z = jnp.where(nz, r[..., None] * x, -jnp.inf)
    z_max = jnp.max(jnp.where(nz, z, -jnp.inf), axis=-1)
    z_max = jnp.where(jnp.isfinite(z_max), z_max, 0.0)
    lse = jnp.log(jnp.mean(jnp.exp(z - z_max[..., None]), axis=-1)) + z_max
    return jnp.where(rho > 0, lse / r, -jnp.inf)


def dceff_dJ(
    C: Float[ArrayLike, ...],
    c_new: Float[ArrayLike, ...],
    rho: ArrayLike,
    *,
    convention: str = "mean",
) -> Array:
    r"""$\partial C_{eff}/\partial J$ with $J$ continuous: the marginal type enters at $c_{new}$.

    With $S = \sum_{j\le J} C_j^\rho$ extended as $S(J + \epsilon) = S + \epsilon\,c_{new}^\rho$:

    - `"sum"`: $\frac1\rho S^{1/\rho-1}c_{new}^\rho$ — (30), correct as printed.
    - `"per_type"`: $\frac{C_{eff}}{J}\left[\frac1\rho\frac{c_{new}^\rho}{S/J} - 1\right]$.
      (29) prints $\frac{1-\rho}{\rho}\frac{C_{eff}}{J}\dot J\cdot\frac{c_{new}^\rho}{S/J}$,
      which equals this (times $\dot J$) only when $c_{new}^\rho = S/J$.
    - `"mean"`: $\frac{C_{eff}}{\rho J}\left[\frac{c_{new}^\rho}{S/J} - 1\right]$ — positive
      iff $c_{new}$ exceeds the current power mean, for either sign of $\rho$. Computed as
      $\frac{C_{eff}}{J}\,d\,\frac{e^{\rho d}-1}{\rho d}$ with
      $d = \ln c_{new} - \frac1\rho\ln\overline{C^\rho}$ (`expm1`/`log1p`), so it stays
      accurate as $\rho \to 0$, where it tends to $\frac{C_{eff}}{J}(\ln c_{new} -
      \overline{\ln C})$ ($\rho = 0$ is allowed for this convention).

    For $\rho < 0$ the `"sum"` and `"per_type"` derivatives are negative: adding types at
    any level lowers those aggregates. Times $\dot J$ this is $dC_{eff}/dt$ of Prop. 10.4.

    Args:
      C: Existing capabilities, positive, shape `(*b, J)`.
      c_new: Capability of the marginal type, positive (broadcast with `*b`).
      rho: $\rho < 1$ ($\ne 0$ for `"sum"`, `"per_type"`), a scalar.
      convention: As in `ces_aggregate`.

    Returns:
      The derivative, shape `*b` (NaN where a traced input is outside its domain).
      Cost O(J).
    """
    check_choice("convention", convention, _CONVENTIONS)
    rho, ok = _rho(rho, convention)
    C = check_array("C", C, low=0.0, low_open=True, nonempty=True)
    if C.ndim == 0:
        raise ValueError("`C` must have a type axis; got a scalar")
    c_new = check_field("c_new", c_new, 0.0, None, True, False)
    ok = ok & in_domain(c_new, low=0.0, low_open=True) & jnp.all(C > 0, axis=-1)
    dtype = _float_dtype(C, c_new, rho)
    x = jnp.log(C.astype(dtype))
    x_new = jnp.log(jnp.asarray(c_new, dtype))
    r = jnp.where(ok, jnp.asarray(rho, dtype), 0.5)
    J = C.shape[-1]
    log_j = jnp.log(jnp.asarray(J, dtype))
    lm = _log_mean_pow_over_rho(x, r)  # ln of the power mean
    d = x_new - lm
    r_nz = jnp.where(r == 0, jnp.ones_like(r), r)
    if convention == "mean":
        out = jnp.exp(lm) / J * d * _exprel(r * d)
    elif convention == "sum":
        # (1/rho) S^(1/rho - 1) c_new^rho, S = J e^(rho lm)
        log_s = log_j + r * lm
        out = jnp.exp((1 / r_nz - 1) * log_s + r * x_new) / r_nz
    else:
        c_eff = jnp.exp(lm + log_j / r_nz) / J
        out = c_eff / J * (jnp.exp(r * d) / r_nz - 1)
    return nan_outside(ok, out)


class VarietySolution(AbstractResult):
    r"""A solve of the symmetric saturation + variety system (`variety_solve`).

    Fields:
      ts: Save times, shape `(t,)`.
      c: Per-type capability $c$ at `ts`.
      J: Number of types $J$ at `ts`.
      C_eff: The aggregate $J^k c$ at `ts` in the chosen convention.
      status: `RESULTS.successful`, `max_steps_reached`, `solver_failed` or
        `invalid_parameter` (then every array is NaN).
    """

    ts: Array
    c: Array
    J: Array
    C_eff: Array
    status: RESULTS


_VARIETY_DOMAINS = {  # name: (low, high, low_open, high_open)
    "a_s": (0.0, None, True, False),
    "h": (0.0, None, True, False),
    "delta": (0.0, None, True, False),
    "eta_J": (0.0, None, False, False),
    "f_J": (0.0, 1.0, False, False),
    "phi_J": (None, None, False, False),
    "J0": (1.0, None, False, False),
    "J_max": (1.0, None, False, False),
    "c0": (0.0, None, True, False),
    "t1": (0.0, None, True, False),
}


def variety_solve(
    *,
    a_s: ArrayLike,
    h: ArrayLike,
    delta: ArrayLike,
    eta_J: ArrayLike,
    f_J: ArrayLike,
    phi_J: ArrayLike,
    J0: ArrayLike,
    J_max: ArrayLike,
    rho: ArrayLike,
    c0: ArrayLike,
    t1: ArrayLike,
    convention: str = "per_type",
    n_save: int = 101,
) -> VarietySolution:
    r"""Saturation (26) with variety expansion (28), symmetric mean-field version.

    All active types share capability $c$ and benefit from each other with $a_{jk} = a_s$,
    so $(AC)_j = a_s J c$; new types enter at the current $c$:
    $$\dot c = \frac{a_s J c}{1 + h a_s J c} - \delta c,\qquad
      \dot J = \eta_J f_J C_{eff}^{\varphi_J}(J_{max} - J),\qquad C_{eff} = J^{k}c,$$
    $k$ = 0, $1/\rho$, $(1-\rho)/\rho$ for `"mean"`, `"sum"`, `"per_type"`. As $J\to J_{max}$,
    $c \to c^*(J_{max}) = 1/(h\delta) - 1/(h a_s J_{max})$ (needs $a_s J_{max} > \delta$) and
    $C_{eff} \to J_{max}^k c^* < $ (31) for `"per_type"`.

    Args (all keyword; every numeric one may be traced):
      a_s, h, delta: in $(0, \infty)$; eta_J $\ge 0$; f_J in [0, 1]; phi_J finite;
      J0 $\ge 1$; J_max $\ge$ J0, finite; rho $< 1$ ($\ne 0$ unless `"mean"`);
      c0, t1 in $(0, \infty)$; convention: as `ces_aggregate`; n_save: static int >= 2.

    Returns:
      `VarietySolution` over `n_save` equally spaced times in $[0, t_1]$.

    Raises:
      ValueError: a concrete argument outside its domain, `J0 > J_max`, NaN, inf.
    """
    vals = dict(
        a_s=a_s, h=h, delta=delta, eta_J=eta_J, f_J=f_J, phi_J=phi_J, J0=J0,
        J_max=J_max, c0=c0, t1=t1,
    )  # fmt: skip
    ok = jnp.asarray(True)
    for name, (low, high, lo_open, hi_open) in _VARIETY_DOMAINS.items():
        vals[name] = check_real(
            name, vals[name], low=low, high=high, low_open=lo_open, high_open=hi_open
        )
        ok = ok & in_domain(
            vals[name], low=low, high=high, low_open=lo_open, high_open=hi_open
        )
    if isinstance(vals["J0"], float) and isinstance(vals["J_max"], float):
        if vals["J_max"] < vals["J0"]:
            raise ValueError(
                f"`J_max`={vals['J_max']} is out of range; allowed: [J0={vals['J0']}, inf)"
            )
    ok = ok & (jnp.asarray(vals["J_max"]) >= jnp.asarray(vals["J0"]))
    check_choice("convention", convention, _CONVENTIONS)
    rho, rho_ok = _rho(rho, convention)
    ok = ok & rho_ok
    n_save = check_int("n_save", n_save, min_value=2)
    dtype = _float_dtype(*vals.values(), rho)
    safe = dict(
        a_s=1.0, h=1.0, delta=0.2, eta_J=0.5, f_J=0.2, phi_J=0.3, J0=2.0, J_max=20.0,
        c0=0.1, t1=1.0,
    )  # fmt: skip
    v = {k: jnp.where(ok, jnp.asarray(x, dtype), safe[k]) for k, x in vals.items()}
    r = jnp.where(ok, jnp.asarray(rho, dtype), 0.5)
    k = _j_exponent(r, convention)
    ts = jnp.linspace(0.0, 1.0, n_save, dtype=dtype) * v["t1"]
    args = jnp.stack(
        [v["a_s"], v["h"], v["delta"], v["eta_J"], v["f_J"], v["phi_J"], v["J_max"], k]
    )
    c, J, status = _variety_solve(args, v["c0"], v["J0"], ts)
    return VarietySolution(
        ts=nan_outside(ok, ts),
        c=nan_outside(ok, c),
        J=nan_outside(ok, J),
        C_eff=nan_outside(ok, J**k * c),
        status=where_status(ok, status, RESULTS.invalid_parameter),
    )


def _variety_field(t, y, args):
    del t
    c, J = y
    a_s, h, delta, eta_J, f_J, phi_J, J_max, k = args
    x = a_s * J * c
    c_eff = J**k * c
    return x / (1 + h * x) - delta * c, eta_J * f_J * c_eff**phi_J * (J_max - J)


@eqx.filter_jit
def _variety_solve(args, c0, J0, ts):
    rtol, atol = default_tols(c0.dtype)
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_variety_field),
        diffrax.Tsit5(),
        ts[0],
        ts[-1],
        None,
        (c0, J0),
        args,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=16384,
        throw=False,
    )
    status = solver_status(sol.result)
    return sol.ys[0], sol.ys[1], status
