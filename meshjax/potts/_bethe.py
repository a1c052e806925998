r"""Bethe–Peierls (cavity) theory of the ferromagnetic Potts model on random $d$-regular
graphs: the two branches at one β (`bethe_regular`) and the transition points
(`bethe_transitions`, `bethe_first_order_closed_form`).

Everything is written in log space on the log-ratio $x = \ln(\psi_1/\psi_{s\ne1})$ of
the cavity messages, so no power $e^{dK}$ or $r^d$ is ever formed: the formulas stay
finite at any $\beta$ (the direct form overflows to `inf/inf = NaN` at, e.g.,
$\beta = 300$, $d = 4$).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._custom_types import Array, Float
from .._results import RESULTS, AbstractResult
from .._validate import check_int, check_real, in_domain
from ._kernels import _check_q, _float

_GRID = 20001  # grid points of the fixed-point search
_BISECT = 200  # bisection steps after the grid


def _branch(xp, x, K, d: int, q: int):
    r"""(m, energy per node / J, $-\beta f$ per node) of the branch at log-ratio `x`.

    With $a = r/(r+q-1)$, $b = 1/(r+q-1)$, $w = e^K - 1$:
    $\ln(1 + wa) = \mathrm{lse}(\ln(q-1) + \ln b, K + \ln a)$ (as $1 - a = (q-1)b$),
    $\ln(1 + wb) = \mathrm{lse}(\ln(a + (q-2)b), K + \ln b)$,
    $Z_i = (1+wa)^d + (q-1)(1+wb)^d$, $Z_{ij} = 1 + w\,\pi$ with
    $\pi = a^2 + (q-1)b^2$ and $1 - \pi = 2(q-1)ab + (q-1)(q-2)b^2$.
    """
    lq1 = math.log(q - 1)
    lz = xp.logaddexp(x, lq1)
    la, lb = x - lz, -lz
    A = xp.logaddexp(lq1 + lb, K + la)
    l1mb = la if q == 2 else xp.logaddexp(la, math.log(q - 2) + lb)
    B = xp.logaddexp(l1mb, K + lb)
    lzi = xp.logaddexp(d * A, lq1 + d * B)
    lpair = xp.logaddexp(2 * la, lq1 + 2 * lb)
    cross = math.log(2 * (q - 1)) + la + lb
    l1mpair = (
        cross if q == 2 else xp.logaddexp(cross, math.log((q - 1) * (q - 2)) + 2 * lb)
    )
    lzij = xp.logaddexp(l1mpair, K + lpair)
    phi = lzi - 0.5 * d * lzij
    node1 = xp.exp(d * A - lzi)
    m = (q * node1 - 1) / (q - 1)
    p_equal = xp.exp(K + lpair - lzij)
    return m, -0.5 * d * p_equal, phi


def _cavity_map(xp, x, K, d: int, q: int):
    r"""$x' = (d-1)[\ln(e^{K+x} + q - 1) - \ln(e^x + e^K + q - 2)]$, in log space."""
    num = xp.logaddexp(K + x, math.log(q - 1))
    den = xp.logaddexp(x, K)
    if q > 2:
        den = xp.logaddexp(den, math.log(q - 2))
    return (d - 1) * (num - den)


# ------------------------------------------------------------------------ host (NumPy)
def _ordered_fixed_point_np(K: float, d: int, q: int) -> float:
    """Largest fixed point x* > 0 of the cavity map (nan if only x = 0); float64."""
    xmax = K * (d - 1) + 1.0
    xs = np.linspace(1e-9, xmax, _GRID)
    h = _cavity_map(np, xs, K, d, q) - xs
    pos = np.flatnonzero(h > 0)
    if pos.size == 0:
        return math.nan
    i = pos[-1]
    lo, hi = xs[i], xs[min(i + 1, xs.size - 1)]
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        if _cavity_map(np, mid, K, d, q) - mid > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ------------------------------------------------------------------------ traced (JAX)
def _ordered_fixed_point_jax(K, d: int, q: int):
    """As `_ordered_fixed_point_np`, under `jit` (K may be traced)."""
    xmax = K * (d - 1) + 1.0
    t = jnp.arange(_GRID, dtype=K.dtype) / (_GRID - 1)
    xs = 1e-9 + (xmax - 1e-9) * t
    h = _cavity_map(jnp, xs, K, d, q) - xs
    idx = jnp.arange(_GRID)
    i = jnp.max(jnp.where(h > 0, idx, -1))
    has = i >= 0
    i0 = jnp.maximum(i, 0)
    lo, hi = xs[i0], xs[jnp.minimum(i0 + 1, _GRID - 1)]

    def body(_, lh):
        lo, hi = lh
        mid = 0.5 * (lo + hi)
        up = _cavity_map(jnp, mid, K, d, q) - mid > 0
        return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

    lo, hi = lax.fori_loop(0, _BISECT, body, (lo, hi))
    return jnp.where(has, 0.5 * (lo + hi), jnp.nan)


class BetheSolution(AbstractResult):
    r"""Result of `bethe_regular`: both branches of the cavity solution at one β.

    Attributes:
      m_para, energy_para, phi_para: Paramagnet ($m = 0$), energy per node and
        $-\beta f$ per node.
      m_ordered, energy_ordered, phi_ordered: The ordered branch (largest fixed point
        $r > 1$); NaN when there is none (β below the spinodal).
      status: `successful`, or `invalid_parameter` for a traced β or coupling outside
        its domain (then every field is NaN).

    Energies are per node in units where $H = -J\sum\delta$.
    """

    m_para: Float[Array, ""]
    energy_para: Float[Array, ""]
    phi_para: Float[Array, ""]
    m_ordered: Float[Array, ""]
    energy_ordered: Float[Array, ""]
    phi_ordered: Float[Array, ""]
    status: RESULTS


def bethe_regular(beta: Any, d: int, q: int, coupling: Any = 1.0) -> BetheSolution:
    r"""Bethe–Peierls (cavity) solution of the ferromagnetic Potts model on a random
    $d$-regular graph at one $\beta$ (zero field), paramagnetic and ordered branches.

    With cavity messages $\psi = (a, b, \dots, b)$ and $r = a/b$, the cavity map is
    $$r' = \Big[\frac{e^{K} r + q - 1}{r + e^{K} + q - 2}\Big]^{d-1},\quad K = \beta J,$$
    and the Bethe free energy per node is
    $-\beta f = \ln Z_i - \tfrac d2 \ln Z_{ij}$ with
    $Z_i = (1 + w a)^d + (q-1)(1 + w b)^d$, $Z_{ij} = 1 + w(a^2 + (q-1)b^2)$,
    $w = e^K - 1$ (Mézard & Montanari 2009, ch. 14; Dorogovtsev, Goltsev & Mendes 2004).
    The paramagnet is $r = 1$; the ordered branch is the largest fixed point $r > 1$.
    Computed in log space (finite at any β), under `jit`, in the default float dtype.

    Args:
      beta: $\beta \ge 0$ (may be traced).
      d: Degree, >= 3.
      q: States, >= 2.
      coupling: $J > 0$ (may be traced).

    Returns:
      `BetheSolution`.
    """
    d = check_int("d", d, min_value=3)
    q = _check_q(q)
    beta = check_real("beta", beta, low=0.0)
    coupling = check_real("coupling", coupling, low=0.0, low_open=True)
    return _bethe_regular(
        jnp.asarray(beta, _float()), jnp.asarray(coupling, _float()), d, q
    )


@functools.partial(jax.jit, static_argnums=(2, 3))
def _bethe_regular(beta, coupling, d, q):
    ok = in_domain(beta, low=0.0) & in_domain(coupling, low=0.0, low_open=True)
    K = jnp.where(ok, beta * coupling, jnp.zeros((), beta.dtype))
    zero = jnp.zeros((), K.dtype)
    _, u0, p0 = _branch(jnp, zero, K, d, q)
    x = _ordered_fixed_point_jax(K, d, q)
    m1, u1, p1 = _branch(jnp, jnp.where(jnp.isnan(x), zero, x), K, d, q)
    none = jnp.isnan(x)
    m1, u1, p1 = (jnp.where(none, jnp.nan, v) for v in (m1, u1, p1))

    def out(v):
        return jnp.where(ok, v, jnp.nan)

    return BetheSolution(
        m_para=out(zero),
        energy_para=out(u0 * coupling),
        phi_para=out(p0),
        m_ordered=out(m1),
        energy_ordered=out(u1 * coupling),
        phi_ordered=out(p1),
        status=RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter),
    )


def bethe_first_order_closed_form(d: int, q: int) -> float:
    r"""Closed form of the Bethe first-order point, $e^{K_t} = (q-2)/((q-1)^{1-2/d} - 1)$.

    (Wu 1982, Rev. Mod. Phys. 54, 235, §III; Peruggi, di Liberto & Monroy 1983.) For
    $q = 2$ the limit $e^{K} = d/(d-2)$, i.e. $\tanh(K/2) = 1/(d-1)$. Returns $K_t$
    (a Python float: $d$ and $q$ are static).
    """
    d = check_int("d", d, min_value=3)
    q = _check_q(q)
    if q == 2:
        return math.log(d / (d - 2))
    return math.log((q - 2) / ((q - 1) ** (1 - 2 / d) - 1))


class BetheTransitions(AbstractResult):
    r"""Result of `bethe_transitions` (points as $\beta$, i.e. $K/J$).

    Attributes:
      beta_para_instability: $e^{\beta_c J} = (d+q-2)/(d-2)$.
      beta_spinodal: Smallest β with an ordered fixed point.
      beta_first_order: Equal Bethe free energies of the two branches.
      beta_first_order_closed_form: `bethe_first_order_closed_form(d, q) / J`.
      m_jump: $m$ on the ordered branch at $\beta_t$ (0 for $q = 2$).
      latent_heat: $e_{\mathrm{para}} - e_{\mathrm{ord}}$ per node at $\beta_t$.
      energy_para, energy_ordered: The two energies per node at $\beta_t$.
      status: `successful`, or `invalid_parameter` for a traced bad coupling (NaN).
    """

    beta_para_instability: Float[Array, ""]
    beta_spinodal: Float[Array, ""]
    beta_first_order: Float[Array, ""]
    beta_first_order_closed_form: Float[Array, ""]
    m_jump: Float[Array, ""]
    latent_heat: Float[Array, ""]
    energy_para: Float[Array, ""]
    energy_ordered: Float[Array, ""]
    status: RESULTS


@functools.lru_cache(maxsize=256)
def _transitions_k(d: int, q: int) -> tuple[float, ...]:
    """(K_c, K_sp, K_t, K_t closed form, m_jump, u_para(K_t), u_ord(K_t)) in float64."""
    kc = math.log((d + q - 2) / (d - 2))
    kt_cf = bethe_first_order_closed_form(d, q)
    if q == 2:
        u = float(_branch(np, 0.0, kc, d, q)[1])
        return kc, kc, kc, kt_cf, 0.0, u, u

    def has_ordered(K):
        return not math.isnan(_ordered_fixed_point_np(K, d, q))

    lo, hi = 0.0, kc
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if has_ordered(mid):
            hi = mid
        else:
            lo = mid
    ksp = hi

    def dphi(K):
        x = _ordered_fixed_point_np(K, d, q)
        return _branch(np, x, K, d, q)[2] - _branch(np, 0.0, K, d, q)[2]

    lo, hi = ksp, kc
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if dphi(mid) > 0:
            hi = mid
        else:
            lo = mid
    kt = 0.5 * (lo + hi)
    m1, u1, _ = _branch(np, _ordered_fixed_point_np(kt, d, q), kt, d, q)
    _, u0, _ = _branch(np, 0.0, kt, d, q)
    return kc, ksp, kt, kt_cf, float(m1), float(u0), float(u1)


def bethe_transitions(d: int, q: int, coupling: Any = 1.0) -> BetheTransitions:
    r"""Transition points of the Bethe (cavity) solution on random $d$-regular graphs.

    * paramagnetic instability (the map's slope at $r = 1$ reaches 1):
      $e^{\beta_c J} = (d + q - 2)/(d - 2)$; for $q = 2$, $\tanh(\beta_c J/2) = 1/(d-1)$;
    * ordered spinodal $\beta_{sp}$: the smallest $\beta$ with a fixed point $r > 1$
      (saddle-node), found by bisection;
    * first-order point $\beta_t$: equal Bethe free energies of the two branches
      ($\phi_{\mathrm{ord}} = \phi_{\mathrm{para}}$), by bisection on
      $[\beta_{sp}, \beta_c]$; checked against the closed form
      `bethe_first_order_closed_form`;
    * `m_jump`: $m$ on the ordered branch at $\beta_t$ (0 for $q = 2$), and the latent
      heat per node $e_{\mathrm{para}} - e_{\mathrm{ord}}$ there.

    For $q = 2$ all three points coincide and the transition is continuous; for
    $q \ge 3$ and $d \ge 3$, $\beta_{sp} < \beta_t < \beta_c$ and $m$ jumps.
    The points in $K = \beta J$ are computed once per $(d, q)$ on the host in float64
    (cached); `coupling` only rescales them, so it may be traced.

    Args:
      d: Degree, >= 3.
      q: States, >= 2.
      coupling: $J > 0$ (the points are returned as $\beta$, i.e. $K/J$).

    Returns:
      `BetheTransitions`.
    """
    d = check_int("d", d, min_value=3)
    q = _check_q(q)
    coupling = check_real("coupling", coupling, low=0.0, low_open=True)
    kc, ksp, kt, kt_cf, mj, u0, u1 = _transitions_k(d, q)
    dt = _float()
    j = jnp.asarray(coupling, dt)
    ok = in_domain(j, low=0.0, low_open=True)

    def out(v):
        return jnp.where(ok, jnp.asarray(v, dt), jnp.nan)

    return BetheTransitions(
        beta_para_instability=out(kc / j),
        beta_spinodal=out(ksp / j),
        beta_first_order=out(kt / j),
        beta_first_order_closed_form=out(kt_cf / j),
        m_jump=out(mj),
        latent_heat=out((u0 - u1) * j),
        energy_para=out(u0 * j),
        energy_ordered=out(u1 * j),
        status=RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter),
    )
