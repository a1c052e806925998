r"""Regimes of (22) (Definition 11.1 / Theorem 11.2), from parameters or from trajectories."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._results import RESULTS
from .._validate import check_real, in_domain, is_traced
from ._closed_forms import _c0, _c0_ok, _params, _unstable_point_fn
from ._params import GrowthParams, params_ok
from ._solve import GrowthSolution

#: Regime codes (Definition 11.1 / Theorem 11.2), plus decay to zero, which the chapter omits.
REGIMES = ("a", "b", "c", "decay")
REGIME_A, REGIME_B, REGIME_C, REGIME_DECAY = range(4)


def regime_from_params(
    params: GrowthParams, C0: Float[ArrayLike, ...] = 1.0, *, tol: ArrayLike = 1e-9
) -> Array:
    r"""The regime (Definition 11.1 / Theorem 11.2) from parameters, for constant $J$.

    Codes (`REGIMES`): 0 = (a) bounded / growth rate to zero, 1 = (b) constant positive
    growth rate, 2 = (c) finite-time singularity, 3 = decay $C \to 0$; -1 where a traced
    input is outside its domain.

    Rules (exact for (22) with constant $J$): $h > 0$ bounds $C$ by
    $\max(C_0, 1/(h\delta))$ (no singularity for any $\Phi$): code 0 if $C$ tends to the
    positive equilibrium, 3 if it decays (for $\Phi > 1$: when $C_0$ lies below the unstable
    root of $aC^{\Phi-1}(1-h\delta C) = \delta$, or no root exists); $h = 0$: $\Phi<1$ → 0 (if $\delta=0$, $C$
    grows without bound as $t^{1/(1-\Phi)}$ but $g_C \to 0$); $|\Phi - 1| \le$ `tol` → 1 if
    $a > \delta$, 0 if equal, 3 if less; $\Phi > 1$ → 2 iff $C_0 > C_u$ (`unstable_point`),
    else 3. The chapter's classification keys on $\Phi$ alone, i.e. assumes $\delta = 0$.
    $a = \delta = 0$ (any $\Phi$, $h$) leaves $C = C_0$ constant: code 0, the boundary
    case of (a) (bounded, growth rate 0), not decay.

    Args:
      params: `GrowthParams`.
      C0: $C(0) \in (0, \infty)$.
      tol: Tolerance $\ge 0$ of the knife edge $\Phi = 1$.
    """
    p = _params(params)
    C0 = _c0(C0)
    tol = check_real("tol", tol, low=0.0)
    return _regime_from_params(p, C0, tol)


@jax.jit
def _regime_from_params(p, C0, tol):
    ok = _c0_ok(C0) & params_ok(p) & in_domain(tol, low=0.0)
    a, Phi, d = p.a(), p.Phi, p.delta
    knife = jnp.abs(Phi - 1) <= tol
    c_u = _unstable_point_fn(p)
    r_h0 = jnp.where(
        knife,
        jnp.where(a > d, REGIME_B, jnp.where(a == d, REGIME_A, REGIME_DECAY)),
        jnp.where(
            Phi < 1,
            jnp.where(a > 0, REGIME_A, REGIME_DECAY),
            jnp.where(C0 > c_u, REGIME_C, REGIME_DECAY),
        ),
    )
    # h > 0: d ln C/dt > 0 iff q(C) = a C^(Phi-1) (1 - h delta C) > delta. For Phi < 1, q falls
    # from +inf: C -> the positive root (a). For Phi = 1, q(0+) = a. For Phi > 1, q rises to
    # its maximum at C_m = (Phi-1)/(Phi h delta), then falls: growth to the stable root iff
    # max q > delta and C0 is above the unstable root (q(C0) > delta or C0 > C_m).
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
    out = jnp.where(p.h > 0, r_h, r_h0)
    out = jnp.where((a == 0) & (d == 0), REGIME_A, out)  # C = C0 for all t
    return jnp.where(ok, out, -1).astype(jnp.int32)


def regime_from_trajectory(
    sol: GrowthSolution,
    *,
    tail: ArrayLike = 0.25,
    rate_tol: ArrayLike = 1e-3,
    decay_log: ArrayLike = -20.0,
) -> Array:
    r"""Classifies simulated trajectories: the regime a solve actually went into.

    `status == RESULTS.blowup` → (c); `overflow` → (b). Otherwise, over the last `tail`
    fraction of `ts`: a growth rate that is (relatively) constant and positive → (b);
    $\ln C$ below `decay_log` relative to its start, or a negative rate that is constant
    or still falling → decay; anything else (the rate settling towards 0) → (a).

    Args:
      sol: `GrowthSolution` (any batch shape).
      tail: Fraction of the save times that forms the tail window, in (0, 0.5] (static).
      rate_tol: Absolute and relative tolerance $> 0$ on rate changes over the tail, in
        units of $1/t_1$ for the absolute part.
      decay_log: Drop of $\ln C$ (negative) below which a trajectory counts as decayed.

    Returns:
      Int regime codes (`REGIMES`), shape `*b`. Failed or invalid solves (any status other
      than successful, blowup, overflow) get code -1, and so does every point when the
      tail window has no width ($t_{n-k} = t_{n-1}$, e.g. repeated save times) with traced
      `sol.ts`.

    Raises:
      ValueError: `sol.ts` with fewer than 2 save times, or (concrete) a tail window of
        zero width: no rate change can be measured, so no regime is implied.
    """
    if not isinstance(sol, GrowthSolution):
        raise TypeError(f"`sol` must be a GrowthSolution, got {type(sol).__name__}")
    tail = check_real("tail", tail, low=0.0, high=0.5, low_open=True)
    if not isinstance(tail, float):
        raise TypeError("`tail` fixes the window length and must be a concrete float")
    rate_tol = check_real("rate_tol", rate_tol, low=0.0, low_open=True)
    decay_log = check_real("decay_log", decay_log, high=0.0, high_open=True)
    n = sol.ts.shape[0]
    if n < 2:
        raise ValueError(
            f"`sol.ts` must hold at least 2 save times to classify a trajectory, got {n}"
        )
    if not is_traced(sol.ts):
        ts = np.asarray(sol.ts)
        k = _tail_len(tail, n)
        if ts[-k] >= ts[-1]:  # (NaN ts of an invalid solve: status says -1)
            raise ValueError(
                f"`sol.ts` must span a tail window of positive width (last {k} save "
                f"times), got {ts!r}"
            )
    return _regime_from_trajectory(sol, tail, rate_tol, decay_log)


def _tail_len(tail: float, n: int) -> int:
    """Number of save times in the tail window (static; at least 2)."""
    return max(2, int(round(tail * n)))


@eqx.filter_jit
def _regime_from_trajectory(sol, tail, rate_tol, decay_log):
    n = sol.ts.shape[0]
    k = _tail_len(tail, n)
    span = sol.ts[-1] - sol.ts[0]
    width_ok = sol.ts[-k] < sol.ts[-1]  # (False for NaN ts too)
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
    code = jnp.where(sol.status == RESULTS.blowup, REGIME_C, code)
    code = jnp.where(sol.status == RESULTS.overflow, REGIME_B, code)
    answered = (
        (sol.status == RESULTS.successful)
        | (sol.status == RESULTS.blowup)
        | (sol.status == RESULTS.overflow)
    )
    return jnp.where(answered & width_ok, code, -1).astype(jnp.int32)
