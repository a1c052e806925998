r"""Calibration: fit the growth equation (22) to an observed capability series C(t).

With constant $J$ and $f$, (22) depends on its parameters only through
$a = \delta_g f^\lambda J^{\gamma_J}$, $\Phi = \lambda + \varphi - 1$ and $\delta$ (and the
initial value $C_0$): $\delta_g$, $f$, $\lambda$, $\gamma_J$ are not separately identifiable
from one series. `fit` therefore estimates $\theta = (a, \Phi, \delta, C_0)$, and
Prediction 11's $\varphi_{eff}$ follows as $\hat\Phi + 1 - \lambda$ for an assumed $\lambda$
(`phi_from_fit`).

Method: least squares on $\ln C$, $L(\theta) = \frac1m\sum_i(\ln C(t_i;\theta) - \ln C^{obs}_i)^2$,
with $\ln C(t;\theta)$ from a diffrax solve (Tsit5, adaptive) differentiated in forward
mode (`diffrax.ForwardMode`: p = 3 or 4 parameters, and it compiles ~3x faster than
reverse mode), minimised by Levenberg–Marquardt (the residual Jacobian is at hand, and Gauss–Newton steps
converge where a quasi-Newton direction stalls on this ill-conditioned problem in float32),
in unconstrained coordinates
($\ln a$, $\Phi$, $\ln\delta$, $\ln C_0$). Uncertainty: the Gauss–Newton covariance
$\hat s^2 (J^\top J)^{-1}$ in the natural coordinates, $J$ the Jacobian of the residuals,
$\hat s^2 = \mathrm{RSS}/(m - p)$; standard errors are its diagonal square roots. This is
the curvature (Laplace) approximation, valid when the noise is small and the parameters are
identified by the data (the transient must be observed: on the steady state alone only
$C^*$ is identified).

Convergence is declared only by a scale-free optimality test (the cosine between the
residual vector and every Jacobian column, MINPACK's `gtol`) or by a vanishing accepted
Levenberg–Marquardt step; a loss that merely stops decreasing (float32 round-off) is a
stall and is reported as `RESULTS.not_converged`, never as success.
"""

from __future__ import annotations

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._results import RESULTS, AbstractResult
from ._validate import (
    check_array,
    check_bool,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)

__all__ = ["FitResult", "PhiEstimate", "fit", "model_log_c", "phi_from_fit"]

NAMES = ("a", "Phi", "delta", "C0")


def _tols(dtype) -> tuple[float, float]:
    """Solver tolerances of the calibration model (tighter than the default in float32)."""
    if jnp.finfo(dtype).bits >= 64:
        return 1e-10, 1e-10
    return 1e-6, 1e-7


class FitResult(AbstractResult):
    r"""Result of `fit`.

    Fields:
      params: Estimates by name: `a`, `Phi`, `delta` (0 if not fitted), `C0` (dict of
        scalar arrays).
      stderr: Gauss–Newton standard errors by name (0 for a parameter held fixed).
      cov: Covariance matrix over the fitted parameters, in `names` order.
      names: The fitted parameters' names (static).
      loss: Final mean squared residual of $\ln C$.
      sigma: Residual standard deviation $\hat s$.
      n_steps: Levenberg–Marquardt iterations run.
      status: `RESULTS.successful` when the optimality test passed,
        `RESULTS.solver_failed` when the model could not be solved at the starting
        values (e.g. a blow-up before `ts[-1]`: `params` are the starting values,
        `stderr`, `cov`, `loss`, `sigma` are NaN), else `RESULTS.not_converged` (the
        estimates and errors are then not to be trusted).
    """

    params: dict[str, Array]
    stderr: dict[str, Array]
    cov: Array
    loss: Array
    sigma: Array
    n_steps: int = eqx.field(static=True)
    names: tuple[str, ...] = eqx.field(static=True)
    status: RESULTS


def _log_c_model(theta_nat, ts, rtol, atol, adjoint=None):
    a, Phi, delta, C0 = theta_nat

    def field(t, y, args):
        return a * jnp.exp((Phi - 1) * y) - delta

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Tsit5(),
        ts[0],
        ts[-1],
        None,
        jnp.log(C0),
        None,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=4096,
        throw=False,
        adjoint=diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
    )
    ok = sol.result == diffrax.RESULTS.successful
    return sol.ys, ok & jnp.all(jnp.isfinite(sol.ys))


def model_log_c(
    ts: Float[ArrayLike, ...],
    a: ArrayLike,
    Phi: ArrayLike,
    delta: ArrayLike,
    C0: ArrayLike,
) -> Array:
    r"""$\ln C(t)$ of (22) with constant $J$ for parameters $(a, \Phi, \delta, C_0)$.

    Used by `fit`; starts at `ts[0]`.

    Args:
      ts: Strictly increasing times, shape `(t,)`, `t >= 2`.
      a: $a \in (0, \infty)$; Phi: finite; delta: $\ge 0$; C0: $(0, \infty)$. Each may
        be traced.

    Returns:
      $\ln C$ at `ts`; NaN where the solve failed (blow-up before `ts[-1]`, step budget)
      or a traced parameter (or a traced `ts` not strictly increasing) is outside its
      domain.

    Raises:
      ValueError: fewer than 2 times, `ts` not strictly increasing, NaN, or a concrete
        parameter outside its domain.
    """
    ts = check_array("ts", ts, ndim=1)
    if ts.shape[0] < 2:
        raise ValueError(f"`ts` must have at least 2 times, got shape {ts.shape}")
    if not is_traced(ts) and np.any(np.diff(np.asarray(ts)) <= 0):
        raise ValueError(f"`ts`={np.asarray(ts)!r} must be strictly increasing")
    a = check_real("a", a, low=0.0, low_open=True)
    Phi = check_real("Phi", Phi)
    delta = check_real("delta", delta, low=0.0)
    C0 = check_real("C0", C0, low=0.0, low_open=True)
    ok = (
        in_domain(a, low=0.0, low_open=True)
        & in_domain(Phi)
        & in_domain(delta, low=0.0)
        & in_domain(C0, low=0.0, low_open=True)
    )
    dtype = jnp.result_type(ts, float)
    ts = jnp.asarray(ts, dtype)
    increasing = jnp.all(jnp.diff(ts) > 0)  # traced `ts`: NaN output, no solver error
    ok = ok & increasing
    ts = jnp.where(increasing, ts, jnp.arange(ts.shape[0], dtype=dtype))
    rtol, atol = _tols(dtype)
    safe = jnp.asarray([0.5, 0.5, 0.1, 1.0], dtype)
    theta = jnp.where(
        ok, jnp.stack([jnp.asarray(x, dtype) for x in (a, Phi, delta, C0)]), safe
    )
    y, solved = _jit_model(theta, ts, rtol, atol)
    return nan_outside(ok & solved, y)


_jit_model = jax.jit(_log_c_model, static_argnums=(2, 3))


def _to_nat(u, fit_delta):
    a = jnp.exp(u[0])
    Phi = u[1]
    delta = jnp.exp(u[2]) if fit_delta else jnp.zeros_like(u[0])
    C0 = jnp.exp(u[-1])
    return jnp.stack([a, Phi, delta, C0])


def fit(
    ts: Float[ArrayLike, ...],
    C_obs: Float[ArrayLike, ...],
    *,
    init: dict[str, float] | None = None,
    fit_delta: bool = True,
    n_steps: int = 200,
    gtol: ArrayLike | None = None,
    xtol: ArrayLike | None = None,
) -> FitResult:
    r"""Estimates $(a, \Phi, \delta, C_0)$ of (22) from an observed series by least squares.

    A host-side optimisation loop around one compiled residual + Jacobian function: the
    data `ts`, `C_obs` are concrete arrays (not traced parameters).

    Args:
      ts: Observation times, increasing, shape `(m,)`; the solve starts at `ts[0]`.
      C_obs: Observed capabilities $> 0$, shape `(m,)`.
      init: Starting values by name (`a`, `Phi`, `delta`, `C0`); missing ones default to
        `C0 = C_obs[0]`, `Phi = 0.5`, `delta = 1/(ts[-1]-ts[0])`, and `a` matching the
        first observed growth rate.
      fit_delta: Estimate $\delta > 0$; if False, $\delta = 0$ (the chapter's (33) case).
      n_steps: Maximum Levenberg–Marquardt iterations (each one forward-mode solve).
      gtol: Optimality: converged when every Jacobian column makes a cosine below `gtol`
        with the residual vector (default 1e-8 in float64, 1e-3 in float32); a zero
        column (a parameter without effect) never passes.
      xtol: ... or when an accepted undamped step changes the (unconstrained) parameters
        by less than `xtol` relative (default 1e-10 in float64, 1e-5 in float32).

    Returns:
      `FitResult` with estimates, Gauss–Newton standard errors and covariance, and a
      `status`: `successful`, `solver_failed` (the model blows up or exhausts its step
      budget at the starting values: choose another `init`) or `not_converged` (a
      stall, e.g. float32 round-off, or the step limit). Trial steps whose solve fails
      are rejected.

    Raises:
      ValueError: shapes differ, fewer observations than parameters + 2, non-increasing
        `ts`, `C_obs <= 0`, NaN, or bad `init`/`n_steps`/`gtol`/`xtol`.

    Cost: O(n_steps x p solves); compiled once per `fit_delta` and dtype.
    """
    ts_np = np.asarray(check_array("ts", ts, ndim=1), dtype=float)
    c_np = np.asarray(
        check_array("C_obs", C_obs, ndim=1, low=0.0, low_open=True), float
    )
    if ts_np.shape != c_np.shape:
        raise ValueError(
            f"`ts` shape {ts_np.shape} and `C_obs` shape {c_np.shape} must be equal (m,)"
        )
    fit_delta = check_bool("fit_delta", fit_delta)
    n_par = 4 if fit_delta else 3
    if ts_np.shape[0] < n_par + 2:
        raise ValueError(
            f"`ts` has {ts_np.shape[0]} observations; need at least {n_par + 2}"
        )
    if np.any(np.diff(ts_np) <= 0):
        raise ValueError("`ts` must be strictly increasing")
    n_steps = check_int("n_steps", n_steps, min_value=1)
    dtype = jnp.result_type(float)
    f64 = jnp.finfo(dtype).bits >= 64
    gtol = (1e-8 if f64 else 1e-3) if gtol is None else gtol
    xtol = (1e-10 if f64 else 1e-5) if xtol is None else xtol
    gtol = check_real("gtol", gtol, low=0.0, low_open=True)
    xtol = check_real("xtol", xtol, low=0.0, low_open=True)
    init = dict(init or {})
    unknown = set(init) - set(NAMES)
    if unknown:
        raise ValueError(f"unknown `init` keys {sorted(unknown)}; allowed: {NAMES}")
    span = ts_np[-1] - ts_np[0]
    C0 = init.get("C0", c_np[0])
    Phi = init.get("Phi", 0.5)
    delta = init.get("delta", 1.0 / span) if fit_delta else 0.0
    g0 = (math.log(c_np[1]) - math.log(c_np[0])) / (ts_np[1] - ts_np[0])
    a = init.get("a", max(g0 + delta, 1e-3 / span) * C0 ** (1 - Phi))
    a = check_real("init['a']", a, low=0.0, low_open=True)
    C0 = check_real("init['C0']", C0, low=0.0, low_open=True)
    if fit_delta:
        delta = check_real("init['delta']", delta, low=0.0, low_open=True)
    Phi = check_real("init['Phi']", Phi)

    ts_j = jnp.asarray(ts_np, dtype)
    y_obs = jnp.asarray(np.log(c_np), dtype)
    u = np.asarray(
        [math.log(a), Phi] + ([math.log(delta)] if fit_delta else []) + [math.log(C0)]
    )
    res_jac = _compiled(fit_delta)

    def evaluate(u):  # residuals, their Jacobian (forward mode, one solve), solved?
        r, jac, ok = res_jac(jnp.asarray(u, dtype), ts_j, y_obs)
        return np.asarray(r, float), np.asarray(jac, float), bool(ok)

    r, jac, solved = evaluate(u)
    if not solved:  # the model cannot be evaluated at the start: nothing to optimise
        return _failed_start(u, fit_delta, dtype)
    rss = float(r @ r)
    lam = 1e-3
    converged, it = False, 0
    for it in range(1, n_steps + 1):
        g = jac.T @ r
        col = np.linalg.norm(jac, axis=0)
        rn = math.sqrt(rss)
        # a zero column (a parameter with no effect, e.g. a Jacobian zeroed by a failed
        # solve) has no defined cosine: it never passes the test
        if rn == 0.0 or (np.all(col > 0) and np.max(np.abs(g) / (col * rn)) <= gtol):
            converged, it = True, it - 1
            break
        A = jac.T @ jac
        D = np.maximum(np.diag(A), 1e-300)
        accepted = False
        while lam < 1e16:
            try:
                step = np.linalg.solve(A + lam * np.diag(D), -g)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            r_try, jac_try, ok_try = evaluate(u + step)
            rss_try = float(r_try @ r_try)
            if ok_try and math.isfinite(rss_try) and rss_try < rss:
                accepted = True
                break
            lam *= 10.0
        if not accepted:  # no decrease possible: a stall (optimal only if gtol says so)
            break
        small = np.linalg.norm(step) <= xtol * (np.linalg.norm(u) + xtol)
        u, r, jac, rss = u + step, r_try, jac_try, rss_try
        undamped = lam <= 1e-2
        lam = max(lam / 10.0, 1e-12)
        if small and undamped:
            converged = True
            break

    nat = np.asarray(_to_nat(jnp.asarray(u), fit_delta), float)
    idx = [0, 1, 2, 3] if fit_delta else [0, 1, 3]
    # Gauss-Newton in natural coordinates: d(nat)/du = nat for log-coordinates, 1 for Phi.
    dnat_du = np.array([1.0 if NAMES[k] == "Phi" else nat[k] for k in idx])
    jac_nat = jac / dnat_du[None, :]
    m = r.shape[0]
    s2 = rss / (m - len(idx))
    cov = s2 * np.linalg.pinv(jac_nat.T @ jac_nat)
    names = tuple(NAMES[i] for i in idx)
    stderr = {k: 0.0 for k in NAMES}
    stderr.update(
        {k: float(math.sqrt(max(cov[i, i], 0.0))) for i, k in enumerate(names)}
    )
    as_arr = lambda v: jnp.asarray(v, dtype)
    return FitResult(
        params={k: as_arr(v) for k, v in zip(NAMES, nat)},
        stderr={k: as_arr(v) for k, v in stderr.items()},
        cov=as_arr(cov),
        names=names,
        loss=as_arr(rss / m),
        sigma=as_arr(math.sqrt(s2)),
        n_steps=it,
        status=RESULTS.successful if converged else RESULTS.not_converged,
    )


def _failed_start(u, fit_delta, dtype) -> FitResult:
    """The `FitResult` of a fit whose model fails to solve at its starting values."""
    nat = np.asarray(_to_nat(jnp.asarray(u), fit_delta), float)
    names = tuple(k for k in NAMES if fit_delta or k != "delta")
    nan = jnp.asarray(np.nan, dtype)
    return FitResult(
        params={k: jnp.asarray(v, dtype) for k, v in zip(NAMES, nat)},
        stderr={k: nan if k in names else jnp.asarray(0.0, dtype) for k in NAMES},
        cov=jnp.full((len(names), len(names)), np.nan, dtype),
        names=names,
        loss=nan,
        sigma=nan,
        n_steps=0,
        status=RESULTS.solver_failed,
    )


_CACHE: dict = {}


def _compiled(fit_delta: bool):
    key = ("fit", fit_delta, jnp.result_type(float))
    if key not in _CACHE:

        def residuals(u, ts, y_obs):
            rtol, atol = _tols(ts.dtype)
            nat = _to_nat(u, fit_delta)
            y, ok = _log_c_model(nat, ts, rtol, atol, diffrax.ForwardMode())
            # a failed solve: a large finite residual (and `ok` False: the step is
            # rejected; at the start, the fit reports `solver_failed`)
            r = jnp.where(ok & jnp.isfinite(y), y, 1e3) - y_obs
            return r, (r, ok)  # (output, aux) for jacfwd(has_aux=True)

        def res_jac(u, ts, y_obs):
            jac, (r, ok) = jax.jacfwd(residuals, has_aux=True)(u, ts, y_obs)
            return r, jac, ok

        _CACHE[key] = jax.jit(res_jac)
    return _CACHE[key]


class PhiEstimate(AbstractResult):
    r"""Prediction 11's $\hat\varphi_{eff}$ from a fit (`phi_from_fit`).

    Fields:
      phi_eff: $\hat\varphi_{eff} = \hat\Phi + 1 - \lambda$.
      stderr: Its standard error (that of $\hat\Phi$).
      status: The fit's status (`successful`, `not_converged` or `solver_failed`, as
        in `FitResult`), or `invalid_parameter` for a traced `lam` outside (0, 1].
    """

    phi_eff: Array
    stderr: Array
    status: RESULTS


def phi_from_fit(result: FitResult, lam: ArrayLike = 1.0) -> PhiEstimate:
    r"""Prediction 11's $\hat\varphi_{eff} = \hat\Phi + 1 - \lambda$ and its standard error.

    Args:
      result: A `FitResult`.
      lam: Assumed duplication parameter $\lambda \in (0, 1]$ (may be traced).

    Raises:
      ValueError: `lam` outside (0, 1].
    """
    if not isinstance(result, FitResult):
        raise TypeError(f"`result` must be a FitResult, got {type(result).__name__}")
    lam = check_real("lam", lam, low=0.0, high=1.0, low_open=True)
    ok = in_domain(lam, low=0.0, high=1.0, low_open=True)
    phi = result.params["Phi"] + 1 - lam
    return PhiEstimate(
        phi_eff=nan_outside(ok, phi),
        stderr=nan_outside(ok, result.stderr["Phi"]),
        status=RESULTS.where(ok, result.status, RESULTS.invalid_parameter),
    )
