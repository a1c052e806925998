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

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_array_range, check_int
from ._custom_types import Array, ArrayLike, Float

__all__ = [
    "ces_aggregate",
    "curvature",
    "diversity_premium",
    "centralized_capability",
    "mesh_capability",
    "critical_mass",
]


def _check_rho(
    rho, *, allow_zero: bool, allow_neg_inf: bool, name: str = "rho"
) -> None:
    """Checks concrete values of rho; traced values pass (they are the caller's duty)."""
    try:
        a = np.asarray(rho, dtype=float)
    except Exception:  # tracer
        return
    if np.any(np.isnan(a)):
        raise ValueError(f"`{name}` must not be NaN")
    if np.any(a >= 1.0):
        raise ValueError(f"`{name}`={a.max()} is out of range; allowed: rho < 1")
    if not allow_neg_inf and np.any(np.isinf(a)):
        raise ValueError(f"`{name}`=-inf is not allowed here; allowed: finite rho < 1")
    if not allow_zero and np.any(a == 0.0):
        raise ValueError(
            f"`{name}`=0 is not allowed here (the form needs rho != 0); "
            "allowed: rho < 1, rho != 0"
        )


def _float_dtype(*xs):
    return jnp.result_type(*xs, float)


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
    n_nz = jnp.sum(nz, axis=axis)
    logc = jnp.log(jnp.where(nz, c, jnp.ones((), dtype)))  # 0 at zeros (masked below)
    xbar = jnp.sum(jnp.where(nz, logc, 0), axis=axis) / jnp.maximum(n_nz, 1)
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


def ces_aggregate(
    capabilities: ArrayLike, rho: ArrayLike, axis: int = -1, *, normalized: bool = True
) -> Float[Array, ...]:
    r"""CES aggregate of capabilities along `axis`, eq. (1).

    $$C_{\mathrm{eff}} = \Big(\tfrac{1}{J}\textstyle\sum_{j=1}^J C_j^\rho\Big)^{1/\rho}
    \quad(\texttt{normalized=True}),\qquad
    \Big(\textstyle\sum_j C_j^\rho\Big)^{1/\rho}\quad(\texttt{normalized=False}).$$

    Limits (normalised): $\rho \to 0$ gives the geometric mean $(\prod_j C_j)^{1/J}$,
    $\rho \to -\infty$ the minimum; pass `rho=0.0` or `rho=-jnp.inf` for them. A zero
    entry makes the aggregate 0 for $\rho \le 0$.

    Args:
      capabilities: $C_j \ge 0$, any shape; the task axis `axis` has length $J \ge 2$.
      rho: Substitution parameter $\rho < 1$ (scalar, or an array broadcasting with the
        capabilities with `axis` removed). `-inf` allowed; `0` only when `normalized`.
        May be traced (then not range-checked); differentiable in $\rho$ and $C$.
      axis: The task axis.
      normalized: Which convention (module docstring).

    Returns:
      The aggregate, shape of `capabilities` without `axis`. Cost O(size).

    Raises:
      ValueError: negative or non-finite capabilities, $J < 2$, $\rho \ge 1$, NaN,
        $\rho = 0$ with `normalized=False`.
    """
    check_array_range("capabilities", capabilities, low=0.0)
    _check_rho(rho, allow_zero=normalized, allow_neg_inf=True)
    c = jnp.asarray(capabilities)
    c = c.astype(_float_dtype(c))
    if c.ndim == 0:
        raise ValueError("`capabilities` must have a task axis; got a scalar")
    axis = axis % c.ndim
    j = c.shape[axis]
    check_int("J (length of the task axis)", j, min_value=2)
    rho = jnp.asarray(rho, dtype=c.dtype)
    out_shape = c.shape[:axis] + c.shape[axis + 1 :]
    rho = jnp.broadcast_to(rho, jnp.broadcast_shapes(rho.shape, out_shape))
    if rho.shape != out_shape:
        c = jnp.broadcast_to(
            jnp.expand_dims(c, tuple(range(rho.ndim - len(out_shape)))),
            rho.shape[: rho.ndim - len(out_shape)] + c.shape,
        )
        axis = axis + rho.ndim - len(out_shape)
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
    return jnp.exp(log_m)


def curvature(rho: ArrayLike, J: int) -> Float[Array, ...]:
    r"""CES curvature $K = (1 - \rho)(J - 1)/J$ (Chapter 2, Definition 3.1; §2.1).

    Args:
      rho: $\rho < 1$, finite (0 allowed), any shape.
      J: Number of task types, an int $\ge 2$.

    Returns:
      $K$, shape of `rho`.

    Raises:
      ValueError: $\rho \ge 1$, non-finite $\rho$, $J < 2$.
    """
    J = check_int("J", J, min_value=2)
    _check_rho(rho, allow_zero=True, allow_neg_inf=False)
    rho = jnp.asarray(rho, dtype=_float_dtype(rho))
    return (1.0 - rho) * (J - 1) / J


def diversity_premium(J: ArrayLike, rho: ArrayLike) -> Float[Array, ...]:
    r"""Diversity premium of Lemma 4.1, eq. (7): $C_{\mathrm{eff}}|_{\mathrm{equal}} /
    C_{\mathrm{eff}}|_{\mathrm{concentrated}}$ at fixed total $\bar C$.

    For $0 < \rho < 1$ this is $J^{(1-\rho)/\rho}$ (the same in both conventions: the
    normalisation cancels in the ratio). For $\rho \le 0$ the concentrated allocation
    $(\bar C, 0, \dots, 0)$ has $C_{\mathrm{eff}} = 0$ (a zero input annihilates a CES
    with $\rho \le 0$), so the premium is $+\infty$; the chapter's proof step
    "with concentration in one type $C_{\mathrm{eff}} = \bar C$" holds only for $\rho > 0$,
    and $J^{(1-\rho)/\rho} < 1$ for $\rho < 0$ is *not* the ratio. meshjax returns `inf`.

    Args:
      J: Number of task types $\ge 2$ (int or array of them).
      rho: $\rho < 1$ (finite or `-inf`); broadcasts with `J`.

    Returns:
      The premium, broadcast shape.

    Raises:
      ValueError: $J < 2$ or non-integer $J$, $\rho \ge 1$ or NaN.
    """
    jj = np.asarray(J)
    if jj.size and (np.any(jj < 2) or np.any(jj != np.round(jj))):
        raise ValueError(f"`J`={J!r} is out of range; allowed: integers >= 2")
    _check_rho(rho, allow_zero=True, allow_neg_inf=True)
    dtype = _float_dtype(rho)
    rho = jnp.asarray(rho, dtype=dtype)
    jj = jnp.asarray(jj, dtype=dtype)
    pos = rho > 0
    rho_safe = jnp.where(pos, rho, jnp.ones((), dtype))
    val = jnp.exp((1.0 - rho_safe) / rho_safe * jnp.log(jj))
    return jnp.where(pos, val, jnp.inf)


def centralized_capability(
    M: ArrayLike, c: ArrayLike, J: int, rho: ArrayLike, *, normalized: bool = False
) -> Float[Array, ...]:
    r"""Centralised benchmark, eq. (8): $M$ units of capability $\bar c$, each spread
    evenly over the $J$ tasks, so $C_j^{\mathrm{cent}} = M\bar c/J$ and

    $$C_{\mathrm{cent}} = \Big(J (M\bar c/J)^\rho\Big)^{1/\rho} = J^{(1-\rho)/\rho} M \bar c
    \quad(\texttt{normalized=False}, \text{ eq. (8)}),\qquad M\bar c/J \quad(\texttt{True}).$$

    Args:
      M: Number of centralised units, $\ge 0$.
      c: Capability per unit $\bar c \ge 0$.
      J: Number of task types, int $\ge 2$.
      rho: $\rho < 1$; $\rho \ne 0$ unless `normalized` (the chapter's form).
      normalized: The convention (module docstring); use the same one as the mesh side.

    Returns:
      $C_{\mathrm{cent}}$, broadcast shape of `M`, `c`, `rho`.

    Raises:
      ValueError: negative `M` or `c`, $J < 2$, $\rho$ outside the domain.
    """
    J = check_int("J", J, min_value=2)
    check_array_range("M", M, low=0.0)
    check_array_range("c", c, low=0.0)
    _check_rho(rho, allow_zero=normalized, allow_neg_inf=True)
    dtype = _float_dtype(M, c, rho)
    M, c, rho = (jnp.asarray(x, dtype=dtype) for x in (M, c, rho))
    per_task = M * c / J
    if normalized:
        return per_task * jnp.ones_like(rho)
    rho_safe = jnp.where(jnp.isneginf(rho), -jnp.ones((), dtype), rho)
    factor = jnp.where(
        jnp.isneginf(rho), jnp.ones((), dtype), jnp.exp(jnp.log(float(J)) / rho_safe)
    )
    return per_task * factor


def mesh_capability(
    capabilities: ArrayLike,
    rho: ArrayLike,
    *,
    members: ArrayLike | None = None,
    normalized: bool = False,
) -> Float[Array, ...]:
    r"""Mesh capability, eq. (15): $C_{\mathrm{mesh}} = \big(\sum_j (\sum_{i\in\mathrm{mesh}}
    c_{ij})^\rho\big)^{1/\rho}$ from an agent × task matrix.

    Args:
      capabilities: $c_{ij} \ge 0$, shape `(..., N, J)` (agents, tasks).
      rho: $\rho < 1$ ($\ne 0$ unless `normalized`; `-inf` gives $\min_j C_j$).
      members: Optional `bool[..., N]`: which agents are in the mesh (e.g. the giant
        component); default all.
      normalized: The convention; default `False` as in (15).

    Returns:
      $C_{\mathrm{mesh}}$, shape `(...)`. Cost O(N·J).

    Raises:
      ValueError: negative capabilities, $J < 2$, fewer than 2 dims, $\rho$ outside the
        domain, `members` of the wrong shape.
    """
    check_array_range("capabilities", capabilities, low=0.0)
    c = jnp.asarray(capabilities)
    if c.ndim < 2:
        raise ValueError(f"`capabilities` must have shape (..., N, J), got {c.shape}")
    c = c.astype(_float_dtype(c))
    if members is not None:
        members = jnp.asarray(members)
        if members.shape != c.shape[:-1]:
            raise ValueError(
                f"`members` must have shape {c.shape[:-1]}, got {members.shape}"
            )
        c = jnp.where(members[..., None], c, jnp.zeros((), c.dtype))
    per_task = jnp.sum(c, axis=-2)
    return ces_aggregate(per_task, rho, axis=-1, normalized=normalized)


def critical_mass(
    M: ArrayLike,
    c_cent: ArrayLike,
    c_mesh: ArrayLike,
    s_inf: ArrayLike,
    *,
    shares: ArrayLike | None = None,
    rho: ArrayLike | None = None,
) -> Float[Array, ...]:
    r"""Critical mass $N^*$ of Theorem 6.1, eq. (16), in the corrected form.

    With $N$ agents, a fraction $S_\infty$ in the giant component, mean specialist
    capability $\bar c$ and specialists spread over the types with shares $p_j$
    ($\sum_j p_j = 1$), $C_j = S_\infty N \bar c\, p_j$, so (either convention, same on
    both sides)
    $$\frac{C_{\mathrm{mesh}}}{C_{\mathrm{cent}}} = \frac{S_\infty N \bar c}{M \bar
    c_{\mathrm{cent}}}\; \frac{(\sum_j p_j^\rho)^{1/\rho}}{J^{(1-\rho)/\rho}},\qquad
    N^* = \frac{M \bar c_{\mathrm{cent}}}{S_\infty \bar c}\,
    \frac{J^{(1-\rho)/\rho}}{(\sum_j p_j^\rho)^{1/\rho}}.$$
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
      rho: $\rho < 1$, $\rho \ne 0$ (finite); required with `shares`.

    Returns:
      $N^*$ (real, not rounded), broadcast shape. `inf` when a share is 0 and $\rho<0$.

    Raises:
      ValueError: non-positive `M`, `c_cent`, `c_mesh`, `s_inf` outside (0, 1], shares
        not on the simplex, `shares` without `rho`, $\rho$ outside the domain.
    """
    for name, v in (("M", M), ("c_cent", c_cent), ("c_mesh", c_mesh), ("s_inf", s_inf)):
        check_array_range(name, v, low=0.0)
        a = np.asarray(v)
        if a.dtype != object and a.size and a.min() <= 0:
            raise ValueError(f"`{name}` has a value {a.min()}; allowed: > 0")
    check_array_range("s_inf", s_inf, high=1.0)
    dtype = _float_dtype(M, c_cent, c_mesh, s_inf)
    M, c_cent, c_mesh, s_inf = (
        jnp.asarray(x, dtype=dtype) for x in (M, c_cent, c_mesh, s_inf)
    )
    base = M * c_cent / (s_inf * c_mesh)
    if shares is None:
        return base
    if rho is None:
        raise ValueError("`rho` is required when `shares` is given")
    _check_rho(rho, allow_zero=False, allow_neg_inf=False)
    check_array_range("shares", shares, low=0.0)
    p = jnp.asarray(shares, dtype=dtype)
    if p.ndim < 1 or p.shape[-1] < 2:
        raise ValueError(
            f"`shares` must have shape (..., J) with J >= 2, got {p.shape}"
        )
    sums = np.asarray(jnp.sum(p, axis=-1))
    if np.any(np.abs(sums - 1.0) > 1e-5):
        raise ValueError(f"`shares` must sum to 1 along the last axis; got sums {sums}")
    J = p.shape[-1]
    rho = jnp.asarray(rho, dtype=dtype)
    agg = ces_aggregate(p, rho, normalized=False)
    premium = jnp.exp((1.0 - rho) / rho * math.log(J))
    return base * premium / agg
