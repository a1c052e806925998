r"""Saturation (26): $\dot C_j = (AC)_j/(1 + h(AC)_j) - \delta C_j$, Lemma 10.3's bounds."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._results import RESULTS, AbstractResult, where_status
from .._validate import check_array, check_int, check_real, in_domain, nan_outside
from ._params import _float_dtype, check_field
from ._solve import default_tols, solver_status


def saturation_vector_field(t, C: Float[Array, " J"], args) -> Float[Array, " J"]:
    r"""Right-hand side of (26): $\dot C_j = \frac{(AC)_j}{1 + h(AC)_j} - \delta C_j$.

    Args:
      t: Time (unused).
      C: Per-type capabilities, shape `(J,)`.
      args: Tuple `(A, h, delta)`; `A` shape `(J, J)`, non-negative.

    Cost: O(J^2).
    """
    del t
    A, h, delta = args
    x = jnp.asarray(A, C.dtype) @ C
    return x / (1 + h * x) - delta * C


def saturation_ceiling(h: Float[ArrayLike, ...], delta: Float[ArrayLike, ...]) -> Array:
    r"""Lemma 10.3's per-type ceiling $1/(h\delta)$; every equilibrium has $C_j^* < 1/(h\delta)$.

    Args:
      h, delta: In $(0, \infty)$, broadcast.

    Returns:
      $1/(h\delta)$ (NaN where a traced input is outside its domain).
    """
    h = check_field("h", h, 0.0, None, True, False)
    delta = check_field("delta", delta, 0.0, None, True, False)
    ok = in_domain(h, low=0.0, low_open=True) & in_domain(delta, low=0.0, low_open=True)
    return nan_outside(ok, 1 / (h * delta))


def perron_root(A: Float[ArrayLike, ...]) -> Array:
    r"""Perron root of a non-negative matrix (largest real part of its eigenvalues).

    (26) has a positive equilibrium iff this exceeds $\delta$ (for irreducible $A$); else the
    only equilibrium is $C = 0$ and it is globally stable, which Lemma 10.3 does not say.
    Host-side (NumPy) computation: `A` must be concrete.

    Raises:
      ValueError: `A` not square, negative or not finite.
    """
    A = _check_matrix(A)
    return jnp.asarray(np.max(np.linalg.eigvals(np.asarray(A, dtype=float)).real))


def _check_matrix(A):
    A = check_array("A", A, ndim=2, low=0.0, nonempty=True)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"`A` must be square (J, J), got shape {A.shape}")
    return A


class SaturationSolution(AbstractResult):
    r"""A solve of (26) (`saturation_solve`).

    Fields:
      ts: Save times, shape `(t,)`.
      C: Per-type capabilities at `ts`, shape `(t, J)` (NaN for an invalid parameter).
      status: `RESULTS.successful`, `max_steps_reached`, `solver_failed` or
        `invalid_parameter`.
    """

    ts: Array
    C: Array
    status: RESULTS


def saturation_solve(
    A: Float[ArrayLike, ...],
    h: ArrayLike,
    delta: ArrayLike,
    C0: Float[ArrayLike, ...],
    t1: ArrayLike,
    *,
    n_save: int = 101,
    rtol: ArrayLike | None = None,
    atol: ArrayLike | None = None,
    max_steps: int = 16384,
) -> SaturationSolution:
    r"""Solves (26) from `C0` on $[0, t_1]$ (Tsit5, adaptive).

    Args:
      A: Training benefits $a_{jk} \ge 0$, shape `(J, J)`.
      h: Saturation $h \in (0, \infty)$.
      delta: Depreciation $\delta \in (0, \infty)$.
      C0: Initial per-type capabilities $\ge 0$, shape `(J,)`.
      t1: Horizon $t_1 \in (0, \infty)$.
      n_save: Number of save times (static int >= 2).
      rtol, atol: Tolerances in (0, inf) (default 1e-10 in float64, 1e-5/1e-6 in float32).
      max_steps: Step budget (static int >= 1).

    Returns:
      `SaturationSolution`; every numeric argument may be traced (a traced value outside
      its domain gives `RESULTS.invalid_parameter` and NaN).

    Raises:
      ValueError: `h <= 0`, `delta <= 0`, negative or non-finite `A`/`C0`, shape mismatch.
    """
    h = check_real("h", h, low=0.0, low_open=True)
    delta = check_real("delta", delta, low=0.0, low_open=True)
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    A = _check_matrix(A)
    C0 = check_array("C0", C0, ndim=1, low=0.0)
    if C0.shape != (A.shape[0],):
        raise ValueError(f"`C0` shape {C0.shape} must be (J,) = ({A.shape[0]},)")
    n_save = check_int("n_save", n_save, min_value=2)
    max_steps = check_int("max_steps", max_steps, min_value=1)
    dtype = _float_dtype(A, C0, h, delta, t1)
    d_rtol, d_atol = default_tols(dtype)
    rtol = d_rtol if rtol is None else check_real("rtol", rtol, low=0.0, low_open=True)
    atol = d_atol if atol is None else check_real("atol", atol, low=0.0, low_open=True)
    ok = (
        in_domain(h, low=0.0, low_open=True)
        & in_domain(delta, low=0.0, low_open=True)
        & in_domain(t1, low=0.0, low_open=True)
        & jnp.all(in_domain(A, low=0.0))
        & jnp.all(in_domain(C0, low=0.0))
    )
    one = jnp.ones((), dtype)
    ts = jnp.linspace(0.0, 1.0, n_save, dtype=dtype) * jnp.where(ok, t1, one)
    ts_out, C, status = _saturation_solve(
        jnp.where(ok, jnp.asarray(A, dtype), 0.0),
        jnp.where(ok, jnp.asarray(h, dtype), one),
        jnp.where(ok, jnp.asarray(delta, dtype), one),
        jnp.where(ok, jnp.asarray(C0, dtype), 0.0),
        ts,
        rtol,
        atol,
        max_steps,
    )
    return SaturationSolution(
        ts=nan_outside(ok, ts_out),
        C=nan_outside(ok, C),
        status=where_status(ok, status, RESULTS.invalid_parameter),
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
    status = solver_status(sol.result)
    return ts, sol.ys, status
