r"""The two-sector Baumol model (40)–(42): an automation share $\beta(t) \to 1$."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from .._results import RESULTS, AbstractResult, where_status
from .._validate import check_choice, check_int, check_real, in_domain, nan_outside
from ._params import GrowthParams, check_field
from ._solve import solve

_BAUMOL_DOMAINS = {  # name: (low, high, low_open, high_open)
    "g_Z": (None, None, False, False),
    "beta0": (0.0, 1.0, False, True),
    "tau": (0.0, None, True, False),
    "p": (0.0, None, True, False),
    "rho_s": (None, 1.0, False, True),
}


def _bfield(name: str, default: float):
    low, high, lo, hi = _BAUMOL_DOMAINS[name]
    return eqx.field(
        converter=lambda v: check_field(name, v, low, high, lo, hi), default=default
    )


class BaumolParams(eqx.Module):
    r"""Two-sector composite (40) with an automation share $\beta(t) \to 1$.

    $\beta(t) = 1 - (1-\beta_0)(1 + t/\tau)^{-p}$ if `schedule == "power"` ($\dot\beta \to 0$,
    $1-\beta$ decays polynomially) or $1 - (1-\beta_0)e^{-t/\tau}$ if `"exp"`.
    Sector aggregation: $\rho_s = 0$ is the Cobb–Douglas (40),
    $C_{eff} = C_1^\beta C_2^{1-\beta}$; $\rho_s < 0$ is the CES of Aghion–Jones–Jones,
    $C_{eff} = (\beta C_1^{\rho_s} + (1-\beta) C_2^{\rho_s})^{1/\rho_s}$ (complements).

    Fields (every numeric one may be traced; concrete values are checked at construction):
      g_Z: Growth rate of the frontier sector $C_2 = Z$ [finite].
      beta0: $\beta(0)$ [[0, 1)].
      tau: Time scale [(0, inf)].
      p: Power of the `"power"` schedule [(0, inf)].
      rho_s: Sector substitution parameter [< 1] (0 = Cobb–Douglas, < 0 complements).
      schedule: `"power"` or `"exp"` (static).
    """

    g_Z: Array = _bfield("g_Z", 0.05)
    beta0: Array = _bfield("beta0", 0.5)
    tau: Array = _bfield("tau", 1.0)
    p: Array = _bfield("p", 1.0)
    rho_s: Array = _bfield("rho_s", 0.0)
    schedule: str = eqx.field(static=True, default="power")

    def __check_init__(self):
        check_choice("schedule", self.schedule, ("power", "exp"))

    def beta(self, t):
        """$\\beta(t)$ and $\\dot\\beta(t)$ (a tuple of arrays)."""
        if self.schedule == "power":
            s = (1 + t / self.tau) ** (-self.p)
            return 1 - (1 - self.beta0) * s, (
                1 - self.beta0
            ) * self.p / self.tau * s / (1 + t / self.tau)
        s = jnp.exp(-t / self.tau)
        return 1 - (1 - self.beta0) * s, (1 - self.beta0) * s / self.tau


def _baumol_ok(b: BaumolParams):
    ok = jnp.asarray(True)
    for name, (low, high, lo, hi) in _BAUMOL_DOMAINS.items():
        ok = ok & jnp.all(
            in_domain(getattr(b, name), low=low, high=high, low_open=lo, high_open=hi)
        )
    return ok


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


class BaumolSolution(AbstractResult):
    r"""A run of the two-sector Baumol model (`baumol_solve`), over `ts`.

    Fields:
      ts: Save times, shape `(t,)`.
      beta: Automation share $\beta(t)$.
      log_C1: $\ln C_1$ of the mesh sector (the growth solve).
      log_Z: $\ln Z$ of the frontier sector.
      log_Ceff: $\ln C_{eff}$ of the composite.
      g_C1: Growth rate of sector 1.
      g_Ceff: Exact growth rate of $C_{eff}$ (forward-mode derivative along the solution).
      g_eq41: (41) evaluated on the solution (equal to `g_Ceff` for Cobb–Douglas).
      status: The sector-1 solve's status (`RESULTS.blowup` if sector 1 blew up before
        `t1`: the arrays are then `inf`/NaN after the blow-up), or `invalid_parameter`.
    """

    ts: Array
    beta: Array
    log_C1: Array
    log_Z: Array
    log_Ceff: Array
    g_C1: Array
    g_Ceff: Array
    g_eq41: Array
    status: RESULTS


def baumol_solve(
    growth: GrowthParams,
    baumol: BaumolParams,
    C1_0: ArrayLike,
    Z0: ArrayLike,
    t1: ArrayLike,
    *,
    n_save: int = 201,
) -> BaumolSolution:
    r"""Simulates the two-sector Baumol model (40)–(42).

    Sector 1 (the mesh) follows the growth system (22)/(28) with `growth` (its growth rate
    $g_C(t)$ is whatever that system gives; regime (b) gives a constant one); sector 2 grows
    at $g_Z$. The aggregate growth rate
    $g_{C_{eff}} = \frac{d}{dt}\ln C_{eff}(\beta(t), C_1(t), Z(t))$ is computed exactly by
    forward-mode differentiation along the solution.

    Args:
      growth: Scalar `GrowthParams` of sector 1.
      baumol: `BaumolParams`.
      C1_0, Z0: Initial values of the two sectors, in $(0, \infty)$.
      t1: Horizon in $(0, \infty)$.
      n_save: Number of save times (static int >= 2).

    Returns:
      `BaumolSolution` (every numeric input may be traced).

    Raises:
      ValueError: a concrete `C1_0`, `Z0`, `t1` outside its domain (naming it), or bad
        parameters (at their construction).
    """
    if not isinstance(baumol, BaumolParams):
        raise TypeError(f"`baumol` must be a BaumolParams, got {type(baumol).__name__}")
    C1_0 = check_real("C1_0", C1_0, low=0.0, low_open=True)
    Z0 = check_real("Z0", Z0, low=0.0, low_open=True)
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    n_save = check_int("n_save", n_save, min_value=2)
    sol = solve(growth, C1_0, t1, n_save=n_save)
    ok = _baumol_ok(baumol) & in_domain(Z0, low=0.0, low_open=True)
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
    return BaumolSolution(
        ts=ts,
        beta=nan_outside(ok, beta),
        log_C1=nan_outside(ok, sol.log_C),  # (every output NaN: the contract)
        log_Z=nan_outside(ok, log_z),
        log_Ceff=nan_outside(ok, log_ce),
        g_C1=nan_outside(ok, g1),
        g_Ceff=nan_outside(ok, g_ce),
        g_eq41=nan_outside(ok, g41),
        status=where_status(ok, sol.status, RESULTS.invalid_parameter),
    )
