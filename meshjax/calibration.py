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
reverse mode), minimised by optax's L-BFGS direction with an Armijo backtracking step, in
unconstrained coordinates
($\ln a$, $\Phi$, $\ln\delta$, $\ln C_0$). Uncertainty: the Gauss–Newton covariance
$\hat s^2 (J^\top J)^{-1}$ in the natural coordinates, $J$ the Jacobian of the residuals,
$\hat s^2 = \mathrm{RSS}/(m - p)$; standard errors are its diagonal square roots. This is
the curvature (Laplace) approximation, valid when the noise is small and the parameters are
identified by the data (the transient must be observed: on the steady state alone only
$C^*$ is identified).
"""

from __future__ import annotations

import dataclasses
import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import ArrayLike, Float

from .growth import _check, _default_tols

__all__ = ["FitResult", "fit", "model_log_c", "phi_from_fit"]

NAMES = ("a", "Phi", "delta", "C0")


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Result of `fit`.

    Attributes:
      params: Estimates by name: `a`, `Phi`, `delta` (0 if not fitted), `C0`.
      stderr: Gauss–Newton standard errors by name (0 for a parameter held fixed).
      cov: Covariance matrix over the fitted parameters, in `names` order.
      names: The fitted parameters' names.
      loss: Final mean squared residual of $\\ln C$.
      sigma: Residual standard deviation $\\hat s$.
      n_iter: Optimiser iterations run.
      converged: Whether the gradient norm fell below `gtol`.
    """

    params: dict[str, float]
    stderr: dict[str, float]
    cov: np.ndarray
    names: tuple[str, ...]
    loss: float
    sigma: float
    n_iter: int
    converged: bool


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
        stepsize_controller=diffrax.PIDController(rtol, atol),
        max_steps=4096,
        throw=False,
        adjoint=diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
    )
    ok = sol.result == diffrax.RESULTS.successful
    return jnp.where(ok & jnp.isfinite(sol.ys), sol.ys, 1e3)


def model_log_c(ts: Float[ArrayLike, " t"], a, Phi, delta, C0) -> jax.Array:
    r"""$\ln C(t)$ of (22) with constant $J$ for parameters $(a, \Phi, \delta, C_0)$.

    Used by `fit`; starts at `ts[0]`. A solve that fails (blow-up, step budget) returns
    the sentinel 1e3 at every time so that the fit's loss is large and finite.
    """
    ts = jnp.asarray(ts, jnp.result_type(float))
    rtol, atol = _default_tols(ts.dtype)
    theta = jnp.asarray([a, Phi, delta, C0], ts.dtype)
    return _jit_model(theta, ts, rtol, atol)


_jit_model = jax.jit(_log_c_model, static_argnums=(2, 3))


def _to_nat(u, fit_delta):
    a = jnp.exp(u[0])
    Phi = u[1]
    delta = jnp.exp(u[2]) if fit_delta else jnp.zeros_like(u[0])
    C0 = jnp.exp(u[-1])
    return jnp.stack([a, Phi, delta, C0])


def fit(
    ts: Float[ArrayLike, " t"],
    C_obs: Float[ArrayLike, " t"],
    *,
    init: dict[str, float] | None = None,
    fit_delta: bool = True,
    n_iter: int = 200,
    gtol: float = 1e-9,
    ftol: float = 1e-13,
) -> FitResult:
    r"""Estimates $(a, \Phi, \delta, C_0)$ of (22) from an observed series by least squares.

    Args:
      ts: Observation times, increasing, shape `(m,)`; the solve starts at `ts[0]`.
      C_obs: Observed capabilities $> 0$, shape `(m,)`.
      init: Starting values by name (`a`, `Phi`, `delta`, `C0`); missing ones default to
        `C0 = C_obs[0]`, `Phi = 0.5`, `delta = 1/(ts[-1]-ts[0])`, and `a` matching the
        first observed growth rate.
      fit_delta: Estimate $\delta > 0$; if False, $\delta = 0$ (the chapter's (33) case).
      n_iter: Maximum L-BFGS iterations (each a forward + reverse diffrax solve).
      gtol: Stop when the gradient norm (unconstrained coordinates) falls below this.
      ftol: ... or when an iteration lowers the loss by less than `ftol` times itself.

    Returns:
      `FitResult` with estimates, Gauss–Newton standard errors and covariance.

    Raises:
      ValueError: shapes differ, fewer observations than parameters + 1, non-increasing
        `ts`, `C_obs <= 0`, NaN, or bad `init`.

    Cost: O(n_iter x p solves); compiled once per `fit_delta`, then a host loop.
    """
    ts_np = np.asarray(ts, dtype=float)
    c_np = np.asarray(C_obs, dtype=float)
    _check("ts", ts_np, np.isfinite, "finite, increasing")
    _check("C_obs", c_np, lambda v: (v > 0) & np.isfinite(v), "0 < C_obs < inf")
    if ts_np.ndim != 1 or ts_np.shape != c_np.shape:
        raise ValueError(
            f"ts shape {ts_np.shape} and C_obs shape {c_np.shape} must be equal (m,)"
        )
    n_par = 4 if fit_delta else 3
    if ts_np.shape[0] < n_par + 2:
        raise ValueError(f"{ts_np.shape[0]} observations; need at least {n_par + 2}")
    if np.any(np.diff(ts_np) <= 0):
        raise ValueError("ts must be strictly increasing")
    if not (isinstance(n_iter, int) and n_iter >= 1):
        raise ValueError(f"n_iter={n_iter!r}; allowed: int >= 1")
    init = dict(init or {})
    unknown = set(init) - set(NAMES)
    if unknown:
        raise ValueError(f"unknown init keys {sorted(unknown)}; allowed: {NAMES}")
    span = ts_np[-1] - ts_np[0]
    C0 = init.get("C0", c_np[0])
    Phi = init.get("Phi", 0.5)
    delta = init.get("delta", 1.0 / span) if fit_delta else 0.0
    g0 = (math.log(c_np[1]) - math.log(c_np[0])) / (ts_np[1] - ts_np[0])
    a = init.get("a", max(g0 + delta, 1e-3 / span) * C0 ** (1 - Phi))
    for name, v in (("a", a), ("C0", C0)):
        _check(f"init[{name!r}]", v, lambda x: (x > 0) & np.isfinite(x), "> 0")
    if fit_delta:
        _check("init['delta']", delta, lambda x: (x > 0) & np.isfinite(x), "> 0")
    _check("init['Phi']", Phi, np.isfinite, "finite")

    dtype = jnp.result_type(float)
    ts_j = jnp.asarray(ts_np, dtype)
    y_obs = jnp.log(jnp.asarray(c_np, dtype))
    u0 = [math.log(a), Phi] + ([math.log(delta)] if fit_delta else []) + [math.log(C0)]
    u = jnp.asarray(u0, dtype)
    res_jac, opt = _compiled(fit_delta)

    def evaluate(u):  # residuals, loss, gradient and Jacobian (forward mode, one solve)
        r, jac = res_jac(u, ts_j, y_obs)
        r, jac = np.asarray(r), np.asarray(jac)
        m = r.shape[0]
        return r, float(np.mean(r**2)), jnp.asarray(2 * jac.T @ r / m, dtype), jac

    # optax L-BFGS gives the direction; the step length is a backtracking (Armijo) search
    # on the host, so one function (residuals + forward-mode Jacobian) is compiled.
    state = opt.init(u)
    r, value, grad, jac_u = evaluate(u)
    it, gnorm, converged = 0, float(jnp.linalg.norm(grad)), False
    for it in range(1, n_iter + 1):
        if gnorm < gtol:
            converged = True
            it -= 1
            break
        d, state_new = _dir_update(opt, grad, state, u)
        slope = float(jnp.vdot(grad, d))
        if not slope < 0:  # not a descent direction: restart from steepest descent
            state_new = opt.init(u)
            d, slope = -grad, -float(jnp.vdot(grad, grad))
        step = 1.0
        for _ in range(40):
            u_try = u + step * d
            trial = evaluate(u_try)
            if math.isfinite(trial[1]) and trial[1] <= value + 1e-4 * step * slope:
                break
            step *= 0.5
        else:  # no decrease along d: at the optimum to machine precision
            converged = gnorm < 1e3 * gtol
            break
        prev = value
        u, state = u_try, state_new
        r, value, grad, jac_u = trial
        gnorm = float(jnp.linalg.norm(grad))
        if prev - value <= ftol * prev:
            converged = True
            break

    nat = _to_nat(u, fit_delta)
    idx = [0, 1, 2, 3] if fit_delta else [0, 1, 3]
    # Gauss-Newton in natural coordinates: d(nat)/du = nat for log-coordinates, 1 for Phi.
    nat_np = np.asarray(nat)[idx]
    dnat_du = np.array(
        [1.0 if NAMES[k] == "Phi" else nat_np[i] for i, k in enumerate(idx)]
    )
    jac = jac_u / dnat_du[None, :]
    m = r.shape[0]
    rss = float(np.sum(r**2))
    s2 = rss / (m - len(idx))
    cov = s2 * np.linalg.pinv(jac.T @ jac)
    names = tuple(NAMES[i] for i in idx)
    params = {k: float(v) for k, v in zip(NAMES, np.asarray(nat))}
    stderr = {k: 0.0 for k in NAMES}
    stderr.update(
        {k: float(math.sqrt(max(cov[i, i], 0.0))) for i, k in enumerate(names)}
    )
    return FitResult(
        params=params,
        stderr=stderr,
        cov=cov,
        names=names,
        loss=rss / m,
        sigma=math.sqrt(s2),
        n_iter=it,
        converged=bool(converged),
    )


_CACHE: dict = {}


def _compiled(fit_delta: bool):
    key = ("fit", fit_delta, jnp.result_type(float))
    if key not in _CACHE:

        def residuals(u, ts, y_obs):
            rtol, atol = _default_tols(ts.dtype)
            nat = _to_nat(u, fit_delta)
            return _log_c_model(nat, ts, rtol, atol, diffrax.ForwardMode()) - y_obs

        def res_jac(u, ts, y_obs):
            return residuals(u, ts, y_obs), jax.jacfwd(residuals)(u, ts, y_obs)

        _CACHE[key] = (jax.jit(res_jac), optax.scale_by_lbfgs())
    return _CACHE[key]


@eqx.filter_jit
def _dir_update(opt, grad, state, u):
    updates, state = opt.update(grad, state, u)
    return -updates, state


def phi_from_fit(result: FitResult, lam: float = 1.0) -> tuple[float, float]:
    r"""Prediction 11's $\hat\varphi_{eff} = \hat\Phi + 1 - \lambda$ and its standard error.

    Raises:
      ValueError: `lam` outside (0, 1].
    """
    if not 0 < lam <= 1:
        raise ValueError(f"lam={lam!r}; allowed: 0 < lam <= 1")
    return result.params["Phi"] + 1 - lam, result.stderr["Phi"]
