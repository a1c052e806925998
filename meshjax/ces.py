r"""CES aggregation: the aggregate (1), curvature $K$, diversity premium (7), centralised
benchmark (8), mesh capability (15) and the critical mass $N^*$ (16).

Two conventions, named by the keyword `normalized` everywhere:

* `normalized=True`, eq. (1): the power mean $M_\rho(C) = (\frac1J\sum_j C_j^\rho)^{1/\rho}$.
  Its $\rho \to 0$ limit is the geometric mean and its $\rho \to -\infty$ limit the minimum.
* `normalized=False`, eqs. (7), (8), (15), (27): $(\sum_j C_j^\rho)^{1/\rho} =
  J^{1/\rho} M_\rho(C)$. It has no finite $\rho \to 0$ limit (the factor $J^{1/\rho}$
  diverges), so $\rho = 0$ is an error there; its $\rho \to -\infty$ limit is also the minimum.

The two differ by the factor $J^{1/\rho}$, the same for every capability vector over $J$
tasks, so every *ratio* (the premium (7), $C_{\mathrm{mesh}}/C_{\mathrm{cent}}$ and hence $N^*$)
is the same in both conventions, provided both sides use the same one. The chapter's (16)
writes $C_{\mathrm{mesh}} \approx J^{(1-\rho)/\rho} S_\infty N \bar c / J$, an extra $1/J$
relative to its own derivation (with $C_j = S_\infty N \bar c / J$ the unnormalised sum gives
$J^{(1-\rho)/\rho} S_\infty N \bar c$); the printed $N^* = M \bar c_{\mathrm{cent}} /
(S_\infty \bar c)$ follows from the version without it, and that is what `critical_mass`
returns.

Numerics: the aggregate is computed in log space around the mean log-capability,
$\log M_\rho = \overline{\log C} + \frac1\rho \log \frac1J \sum_j e^{\rho(\log C_j -
\overline{\log C})}$, with the inner log as `log1p(mean(expm1(.)))` when its arguments are
moderate (no 0/0 cancellation as $\rho \to 0$) and max-shifted log-sum-exp otherwise (no
overflow for large $|\rho|$); $\rho = 0$ and $\rho = -\infty$ are evaluated exactly. Every
branch is guarded, so values and gradients are finite for $C > 0$ and any allowed $\rho$.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Float
from ._validate import (
    check_array,
    check_bool,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)

#: What the functions accept for an array argument (lists of numbers included).
RealLike = ArrayLike | Sequence

__all__ = [
    "ces_aggregate",
    "log_power_mean",
    "curvature",
    "diversity_premium",
    "centralized_capability",
    "mesh_capability",
    "critical_mass",
]


def _check_rho(rho, *, allow_zero: bool, allow_neg_inf: bool):
    """Concrete `rho` (scalar or array): finite or (where allowed) -inf, < 1, != 0 where
    required; raises naming `rho`. Traced values pass (see `_rho_ok`)."""
    if is_traced(rho):
        return rho
    if rho is None or isinstance(rho, str | bytes | bool | np.bool_):
        check_real("rho", rho)  # raises TypeError naming `rho`
    check_array("rho", rho, finite=False)
    arr = np.asarray(rho)
    if arr.ndim == 0:
        v = float(arr)
        check_real(
            "rho",
            -1.0 if (allow_neg_inf and v == -np.inf) else v,
            high=1.0,
            high_open=True,
        )
    else:
        shown = np.where(allow_neg_inf & np.isneginf(arr), -1.0, arr)
        check_array("rho", shown, high=1.0, high_open=True)
    if not allow_zero and np.any(arr == 0.0):
        raise ValueError(
            "`rho`=0 is not allowed here (this convention has no rho -> 0 limit); "
            "allowed: rho < 1, rho != 0"
        )
    return rho


def _rho_ok(rho, *, allow_zero: bool, allow_neg_inf: bool):
    """Traced domain of `rho` (the same as `_check_rho`), elementwise."""
    ok = in_domain(rho, high=1.0, high_open=True)
    if allow_neg_inf:
        ok = ok | jnp.isneginf(rho)
    if not allow_zero:
        ok = ok & (rho != 0)
    return ok


def _check_count(name: str, value):
    """A number of task types: real, whole, >= 2; may be traced (then see `_count_ok`)."""
    if is_traced(value):
        return value
    check_array(name, value, low=2.0)
    arr = np.asarray(value)
    if np.any(arr != np.round(arr)):
        raise ValueError(f"`{name}`={value!r} must be a whole number >= 2")
    return value


def _count_ok(j):
    return in_domain(j, low=2.0) & (j == jnp.round(j))


def _float_dtype(*xs):
    """The floating dtype of the float array inputs (Python numbers and integer arrays
    do not widen it); the default float when there is none."""
    dts = [
        x.dtype
        for x in xs
        if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)
    ]
    return jnp.result_type(*dts) if dts else jnp.result_type(float)


def _log_power_mean(c: Array, rho: Array, axis: int) -> Array:
    r"""$\log M_\rho(C)$ along `axis` (normalised power mean), any $\rho < 1$ incl. 0, -inf.

    With $y_j = \log C_j - \overline{\log C}$ (mean over the non-zero entries) and
    $z_j = \rho y_j$, $\log M_\rho = \overline{\log C} + \frac1\rho
    \log\big(\frac1J\sum_j e^{z_j}\big)$, where the inner log is evaluated as
    `log1p(mean(expm1(z)))` while $\max z \le 30$ (no cancellation as $\rho \to 0$: the
    absolute error stays $\sim\epsilon\,|y|$) and in max-shifted log-sum-exp form above.
    """
    j = c.shape[axis]
    dtype = c.dtype
    nz = c > 0
    has_zero = jnp.any(~nz, axis=axis)
    n_nz = jnp.sum(nz, axis=axis).astype(dtype)
    logc = jnp.log(jnp.where(nz, c, jnp.ones((), dtype)))  # 0 at zeros (masked below)
    xbar = jnp.sum(jnp.where(nz, logc, 0), axis=axis) / jnp.maximum(n_nz, 1.0)
    y = jnp.where(nz, logc - jnp.expand_dims(xbar, axis), jnp.zeros((), dtype))
    neg_inf = jnp.isneginf(rho)
    zero = rho == 0
    rho_safe = jnp.where(neg_inf | zero, jnp.ones((), dtype), rho)
    z = jnp.expand_dims(rho_safe, axis) * y
    z_m = jnp.where(nz, z, -jnp.inf)
    zmax = jnp.max(z_m, axis=axis)
    zmax_safe = jnp.where(jnp.isfinite(zmax), zmax, jnp.zeros((), dtype))
    small_form = jnp.log1p(
        jnp.sum(jnp.where(nz, jnp.expm1(jnp.minimum(z, 30.0)), -1.0), axis=axis) / j
    )
    big_form = zmax_safe + jnp.log(
        jnp.sum(
            jnp.where(
                nz, jnp.exp(jnp.minimum(z - jnp.expand_dims(zmax_safe, axis), 0.0)), 0.0
            ),
            axis=axis,
        )
        / j
    )
    lme = jnp.where(zmax <= 30.0, small_form, big_form)
    general = xbar + lme / rho_safe
    var = jnp.sum(y * y, axis=axis) / j
    rho_zero = jnp.where(zero, rho, jnp.zeros((), dtype))
    geometric = (
        xbar + rho_zero * var / 2
    )  # value xbar at rho = 0, with the right derivative
    minimum = jnp.min(jnp.where(nz, logc, jnp.inf), axis=axis)
    out = jnp.where(neg_inf, minimum, jnp.where(zero, geometric, general))
    return jnp.where(has_zero & (rho <= 0), -jnp.inf, out)


def _prepare(capabilities, rho, axis, *, allow_zero: bool, name="capabilities"):
    """Validated float capabilities, rho broadcast to the output shape, the task axis."""
    check_array(name, capabilities, low=0.0)
    _check_rho(rho, allow_zero=allow_zero, allow_neg_inf=True)
    c = jnp.asarray(capabilities)
    c = c.astype(_float_dtype(c))
    if c.ndim == 0:
        raise ValueError(f"`{name}` must have a task axis; got a scalar")
    axis = check_int("axis", axis)
    if not -c.ndim <= axis < c.ndim:
        raise ValueError(
            f"`axis`={axis} is out of range for `{name}` of shape {c.shape}; "
            f"allowed: [{-c.ndim}, {c.ndim - 1}]"
        )
    axis = axis % c.ndim
    j = c.shape[axis]
    if j < 2:
        raise ValueError(
            f"`{name}` must have J >= 2 entries along `axis`={axis}; got shape {c.shape}"
        )
    rho = jnp.asarray(rho).astype(c.dtype)
    out_shape = c.shape[:axis] + c.shape[axis + 1 :]
    rho = jnp.broadcast_to(rho, jnp.broadcast_shapes(rho.shape, out_shape))
    if rho.shape != out_shape:
        c = jnp.broadcast_to(
            jnp.expand_dims(c, tuple(range(rho.ndim - len(out_shape)))),
            rho.shape[: rho.ndim - len(out_shape)] + c.shape,
        )
        axis = axis + rho.ndim - len(out_shape)
    return c, rho, axis


def log_power_mean(
    capabilities: RealLike, rho: RealLike, *, axis: int = -1
) -> Float[Array, ...]:
    r"""$\log M_\rho(C)$, the log of the normalised power mean (1) along `axis`.

    $$\log M_\rho(C) = \tfrac1\rho \log\Big(\tfrac1J \textstyle\sum_j C_j^\rho\Big),$$
    evaluated in log space around the mean log-capability (module docstring), so it is
    accurate for every $\rho < 1$, continuous through $\rho = 0$ (where it is the mean of
    $\log C_j$, Cobb–Douglas) and equal to $\log \min_j C_j$ at $\rho = -\infty$. This is
    the kernel behind every CES quantity in meshjax; ratios of CES aggregates are best
    formed as differences of it (no overflow of $J^{1/\rho}$ as $\rho \to 0$).

    Args:
      capabilities: $C_j \ge 0$, any shape; the task axis `axis` has length $J \ge 2$.
      rho: $\rho < 1$, `0` and `-inf` allowed (scalar, or an array broadcasting with the
        capabilities with `axis` removed). May be traced: NaN where outside the domain.
      axis: The task axis.

    Returns:
      $\log M_\rho$, shape of `capabilities` without `axis` ($-\infty$ where a zero entry
      meets $\rho \le 0$). Cost O(size).

    Raises:
      ValueError: negative or non-finite capabilities, $J < 2$, `axis` out of range,
        $\rho \ge 1$ or NaN.
    """
    c, rho, axis = _prepare(capabilities, rho, axis, allow_zero=True)
    return _log_pm_core(c, rho, axis)


@functools.partial(jax.jit, static_argnums=(2,))
def _log_pm_core(c, rho, axis: int):
    ok = _rho_ok(rho, allow_zero=True, allow_neg_inf=True)
    ok = ok & jnp.all(in_domain(c, low=0.0), axis=axis)
    return nan_outside(ok, _log_power_mean(c, rho, axis))


def ces_aggregate(
    capabilities: RealLike, rho: RealLike, *, axis: int = -1, normalized: bool = True
) -> Float[Array, ...]:
    r"""CES aggregate of capabilities along `axis`, eq. (1).

    $$C_{\mathrm{eff}} = \Big(\tfrac{1}{J}\textstyle\sum_{j=1}^J C_j^\rho\Big)^{1/\rho}
    \quad(\texttt{normalized=True}),\qquad
    \Big(\textstyle\sum_j C_j^\rho\Big)^{1/\rho}\quad(\texttt{normalized=False}).$$

    Limits (normalised): $\rho \to 0$ gives the geometric mean $(\prod_j C_j)^{1/J}$
    (continuously: the value near 0 is computed without cancellation),
    $\rho \to -\infty$ the minimum; pass `rho=0.0` or `rho=-jnp.inf` for them. A zero
    entry makes the aggregate 0 for $\rho \le 0$.

    Args:
      capabilities: $C_j \ge 0$, any shape; the task axis `axis` has length $J \ge 2$.
      rho: Substitution parameter $\rho < 1$ (scalar, or an array broadcasting with the
        capabilities with `axis` removed). `-inf` allowed; `0` only when `normalized`.
        May be traced (then NaN where outside the domain); differentiable in $\rho$ and
        $C$.
      axis: The task axis.
      normalized: Which convention (module docstring).

    Returns:
      The aggregate, shape of `capabilities` without `axis`. Cost O(size).

    Raises:
      ValueError: negative or non-finite capabilities, $J < 2$, `axis` out of range,
        $\rho \ge 1$, NaN, $\rho = 0$ with `normalized=False`.
    """
    normalized = check_bool("normalized", normalized)
    c, rho, axis = _prepare(capabilities, rho, axis, allow_zero=normalized)
    return _ces_core(c, rho, axis, normalized)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _ces_core(c, rho, axis: int, normalized: bool):
    j = c.shape[axis]
    log_m = _log_power_mean(c, rho, axis)
    if not normalized:
        rho_nz = jnp.where(jnp.isneginf(rho) | (rho == 0), jnp.ones((), rho.dtype), rho)
        log_m = log_m + jnp.where(
            jnp.isneginf(rho), jnp.zeros((), rho.dtype), math.log(j) / rho_nz
        )
    ok = _rho_ok(rho, allow_zero=normalized, allow_neg_inf=True)
    ok = ok & jnp.all(in_domain(c, low=0.0), axis=axis)
    return nan_outside(ok, jnp.exp(log_m))


def curvature(rho: RealLike, J: RealLike) -> Float[Array, ...]:
    r"""CES curvature $K = (1 - \rho)(J - 1)/J$ (Chapter 2, Definition 3.1; §2.1).

    Args:
      rho: $\rho < 1$, finite (0 allowed), any shape. May be traced.
      J: Number of task types, a whole number $\ge 2$ (int or array; may be traced).

    Returns:
      $K$, broadcast shape of `rho` and `J` (NaN where a traced input is outside its
      domain).

    Raises:
      ValueError: $\rho \ge 1$, non-finite $\rho$, $J < 2$ or not whole.
    """
    _check_count("J", J)
    _check_rho(rho, allow_zero=True, allow_neg_inf=False)
    dtype = _float_dtype(rho, J)
    rho = jnp.asarray(rho).astype(dtype)
    jj = jnp.asarray(J).astype(dtype)
    ok = _rho_ok(rho, allow_zero=True, allow_neg_inf=False) & _count_ok(jj)
    return nan_outside(ok, (1.0 - rho) * (jj - 1.0) / jj)


def diversity_premium(J: RealLike, rho: RealLike) -> Float[Array, ...]:
    r"""Diversity premium of Lemma 4.1, eq. (7): $C_{\mathrm{eff}}|_{\mathrm{equal}} /
    C_{\mathrm{eff}}|_{\mathrm{concentrated}}$ at fixed total $\bar C$.

    For $0 < \rho < 1$ this is $J^{(1-\rho)/\rho}$ (the same in both conventions: the
    normalisation cancels in the ratio). For $\rho \le 0$ the concentrated allocation
    $(\bar C, 0, \dots, 0)$ has $C_{\mathrm{eff}} = 0$ (a zero input annihilates a CES
    with $\rho \le 0$), so the premium is $+\infty$; the chapter's proof step
    "with concentration in one type $C_{\mathrm{eff}} = \bar C$" holds only for $\rho > 0$,
    and $J^{(1-\rho)/\rho} < 1$ for $\rho < 0$ is *not* the ratio. meshjax returns `inf`.

    Args:
      J: Number of task types, a whole number $\ge 2$ (int or array; may be traced).
      rho: $\rho < 1$ (finite or `-inf`); broadcasts with `J`. May be traced.

    Returns:
      The premium, broadcast shape (NaN where a traced input is outside its domain).

    Raises:
      ValueError: $J < 2$ or non-integer $J$, $\rho \ge 1$ or NaN.
    """
    _check_count("J", J)
    _check_rho(rho, allow_zero=True, allow_neg_inf=True)
    dtype = _float_dtype(rho, J)
    rho = jnp.asarray(rho).astype(dtype)
    jj = jnp.asarray(J).astype(dtype)
    pos = rho > 0
    rho_safe = jnp.where(pos, rho, jnp.ones((), dtype))
    val = jnp.exp((1.0 - rho_safe) / rho_safe * jnp.log(jnp.maximum(jj, 1.0)))
    ok = _rho_ok(rho, allow_zero=True, allow_neg_inf=True) & _count_ok(jj)
    return nan_outside(ok, jnp.where(pos, val, jnp.inf))


def centralized_capability(
    M: RealLike,
    c: RealLike,
    J: RealLike,
    rho: RealLike,
    *,
    normalized: bool = False,
) -> Float[Array, ...]:
    r"""Centralised benchmark, eq. (8): $M$ units of capability $\bar c$, each spread
    evenly over the $J$ tasks, so $C_j^{\mathrm{cent}} = M\bar c/J$ and

    $$C_{\mathrm{cent}} = \Big(J (M\bar c/J)^\rho\Big)^{1/\rho} = J^{(1-\rho)/\rho} M \bar c
    \quad(\texttt{normalized=False}, \text{ eq. (8)}),\qquad M\bar c/J \quad(\texttt{True}).$$

    Args:
      M: Number of centralised units, $\ge 0$.
      c: Capability per unit $\bar c \ge 0$.
      J: Number of task types, a whole number $\ge 2$.
      rho: $\rho < 1$ (or `-inf`); $\rho \ne 0$ unless `normalized` (the chapter's form).
      normalized: The convention (module docstring); use the same one as the mesh side.

    All numeric arguments may be traced (NaN where outside their domain).

    Returns:
      $C_{\mathrm{cent}}$, broadcast shape of `M`, `c`, `J`, `rho`.

    Raises:
      ValueError: negative `M` or `c`, $J < 2$, $\rho$ outside the domain.
    """
    normalized = check_bool("normalized", normalized)
    _check_count("J", J)
    check_array("M", M, low=0.0)
    check_array("c", c, low=0.0)
    _check_rho(rho, allow_zero=normalized, allow_neg_inf=True)
    dtype = _float_dtype(M, c, rho, J)
    M, c, rho, jj = (jnp.asarray(x).astype(dtype) for x in (M, c, rho, J))
    ok = (
        in_domain(M, low=0.0)
        & in_domain(c, low=0.0)
        & _count_ok(jj)
        & _rho_ok(rho, allow_zero=normalized, allow_neg_inf=True)
    )
    per_task = M * c / jj
    if normalized:
        return nan_outside(ok, per_task * jnp.ones_like(rho))
    bad_rho = jnp.isneginf(rho) | (rho == 0)
    rho_safe = jnp.where(bad_rho, -jnp.ones((), dtype), rho)
    factor = jnp.where(
        jnp.isneginf(rho),
        jnp.ones((), dtype),
        jnp.exp(jnp.log(jnp.maximum(jj, 1.0)) / rho_safe),
    )
    # no capability is none, also where J^(1/rho) overflows (0 * inf was NaN)
    out = jnp.where(per_task == 0, jnp.zeros((), dtype), per_task * factor)
    return nan_outside(ok, out)


def mesh_capability(
    capabilities: RealLike,
    rho: RealLike,
    *,
    members: RealLike | None = None,
    normalized: bool = False,
) -> Float[Array, ...]:
    r"""Mesh capability, eq. (15): $C_{\mathrm{mesh}} = \big(\sum_j (\sum_{i\in\mathrm{mesh}}
    c_{ij})^\rho\big)^{1/\rho}$ from an agent × task matrix.

    Args:
      capabilities: $c_{ij} \ge 0$, shape `(..., N, J)` (agents, tasks).
      rho: $\rho < 1$ ($\ne 0$ unless `normalized`; `-inf` gives $\min_j C_j$). May be
        traced (NaN where outside the domain).
      members: Optional `bool[..., N]`: which agents are in the mesh (e.g. the giant
        component); default all.
      normalized: The convention; default `False` as in (15).

    Returns:
      $C_{\mathrm{mesh}}$, shape `(...)`. Cost O(N·J).

    Raises:
      ValueError: negative capabilities, $J < 2$, fewer than 2 dims, $\rho$ outside the
        domain, `members` of the wrong shape.
    """
    normalized = check_bool("normalized", normalized)
    check_array("capabilities", capabilities, low=0.0)
    c = jnp.asarray(capabilities)
    if c.ndim < 2:
        raise ValueError(
            f"`capabilities` must have shape (..., N, J), got shape {c.shape}"
        )
    c = c.astype(_float_dtype(c))
    if members is not None:
        members = check_array("members", members, kind="bool", shape=c.shape[:-1])
        c = jnp.where(members[..., None], c, jnp.zeros((), c.dtype))
    per_task = jnp.sum(c, axis=-2)
    return ces_aggregate(per_task, rho, axis=-1, normalized=normalized)


def critical_mass(
    M: RealLike,
    c_cent: RealLike,
    c_mesh: RealLike,
    s_inf: RealLike,
    *,
    shares: RealLike | None = None,
    rho: RealLike | None = None,
) -> Float[Array, ...]:
    r"""Critical mass $N^*$ of Theorem 6.1, eq. (16), in the corrected form.

    With $N$ agents, a fraction $S_\infty$ in the giant component, mean specialist
    capability $\bar c$ and specialists spread over the types with shares $p_j$
    ($\sum_j p_j = 1$), $C_j = S_\infty N \bar c\, p_j$, so (either convention, same on
    both sides)
    $$\frac{C_{\mathrm{mesh}}}{C_{\mathrm{cent}}} = \frac{S_\infty N \bar c}{M \bar
    c_{\mathrm{cent}}}\; J\, M_\rho(p),\qquad
    N^* = \frac{M \bar c_{\mathrm{cent}}}{S_\infty \bar c}\,\frac{1}{J\, M_\rho(p)},$$
    with $M_\rho(p) = (\frac1J\sum_j p_j^\rho)^{1/\rho}$ the normalised power mean
    (`log_power_mean`); $J M_\rho(p) = (\sum_j p_j^\rho)^{1/\rho} / J^{(1-\rho)/\rho}$,
    the form of (16). Evaluated in log space, so it is accurate and continuous through
    $\rho = 0$ (Cobb–Douglas: $J M_0(p) = J (\prod_j p_j)^{1/J}$), where the two factors
    $J^{(1-\rho)/\rho}$ and $(\sum_j p_j^\rho)^{1/\rho}$ would each overflow.
    For even shares $p_j = 1/J$ the second factor is 1 and $N^* = M \bar
    c_{\mathrm{cent}} / (S_\infty \bar c)$, the chapter's printed value (which the middle
    expression of (16), with its extra $1/J$, would inflate to $J$ times that). Uneven
    shares raise $N^*$ (Lemma 4.1). $S_\infty$ is taken as given (at fixed $\beta$ it
    depends on $N$; see `meshjax.equilibrium.critical_mass_fixed_beta`).

    Args:
      M: Centralised units $> 0$.
      c_cent: Capability per centralised unit $> 0$.
      c_mesh: Mean specialist capability $\bar c > 0$.
      s_inf: Giant-component fraction in $(0, 1]$.
      shares: Optional type shares `(..., J)`, non-negative, summing to 1; `J >= 2`.
      rho: $\rho < 1$, finite ($0$ allowed: the Cobb–Douglas limit); required with
        `shares`.

    Every numeric argument may be traced (NaN where outside its domain).

    Returns:
      $N^*$ (real, not rounded), broadcast shape. `inf` when a share is 0 and
      $\rho \le 0$.

    Raises:
      ValueError: non-positive `M`, `c_cent`, `c_mesh`, `s_inf` outside (0, 1], shares
        not on the simplex, `shares` without `rho`, $\rho$ outside the domain.
    """
    for name, v in (("M", M), ("c_cent", c_cent), ("c_mesh", c_mesh)):
        check_array(name, v, low=0.0, low_open=True)
    check_array("s_inf", s_inf, low=0.0, high=1.0, low_open=True)
    dtype = _float_dtype(M, c_cent, c_mesh, s_inf)
    M, c_cent, c_mesh, s_inf = (
        jnp.asarray(x).astype(dtype) for x in (M, c_cent, c_mesh, s_inf)
    )
    ok = (
        in_domain(M, low=0.0, low_open=True)
        & in_domain(c_cent, low=0.0, low_open=True)
        & in_domain(c_mesh, low=0.0, low_open=True)
        & in_domain(s_inf, low=0.0, high=1.0, low_open=True)
    )
    base = M * c_cent / (s_inf * c_mesh)
    if shares is None:
        if rho is not None:
            raise ValueError("`rho` is used only with `shares`; pass both or neither")
        return nan_outside(ok, base)
    if rho is None:
        raise ValueError("`rho` is required when `shares` is given")
    _check_rho(rho, allow_zero=True, allow_neg_inf=False)
    p = check_array("shares", shares, low=0.0)
    if p.ndim < 1 or p.shape[-1] < 2:
        raise ValueError(
            f"`shares` must have shape (..., J) with J >= 2, got shape {p.shape}"
        )
    dtype = _float_dtype(dtype, p)
    p = p.astype(dtype)
    if not is_traced(shares):
        sums = np.sum(np.asarray(shares, dtype=float), axis=-1)
        if np.any(np.abs(sums - 1.0) > 1e-5):
            raise ValueError(
                f"`shares` must sum to 1 along the last axis; got sums {sums}"
            )
    J = p.shape[-1]
    rho = jnp.asarray(rho).astype(dtype)
    rho_b = jnp.broadcast_to(rho, jnp.broadcast_shapes(rho.shape, p.shape[:-1]))
    p_b = jnp.broadcast_to(p, rho_b.shape + p.shape[-1:])
    log_m = _log_power_mean(p_b, rho_b, p_b.ndim - 1)
    ok = (
        ok
        & _rho_ok(rho, allow_zero=True, allow_neg_inf=False)
        & jnp.all(in_domain(p, low=0.0), axis=-1)
        & (jnp.abs(jnp.sum(p, axis=-1) - 1.0) <= 1e-5)
    )
    return nan_outside(ok, base * jnp.exp(-math.log(J) - log_m))
