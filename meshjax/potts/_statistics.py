"""Monte Carlo statistics: thermodynamic estimators with jackknife errors, histograms."""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Array, Float
from .._results import RESULTS, AbstractResult
from .._validate import check_array, check_int, check_real, in_domain
from ._kernels import _float


class Estimate(eqx.Module):
    """A value with its (jackknife) standard error.

    Attributes:
      value: The estimate.
      error: Its standard error.
    """

    value: Float[Array, ""]
    error: Float[Array, ""]


class ThermoEstimates(AbstractResult):
    r"""Result of `estimate`: thermodynamic estimators, each an `Estimate`.

    Attributes:
      energy: Energy per node $\langle e \rangle$.
      m: Order parameter $\langle m \rangle$.
      specific_heat: $C = N\beta^2(\langle e^2\rangle - \langle e\rangle^2)$ per node.
      susceptibility: $\chi = N\beta(\langle m^2\rangle - \langle m\rangle^2)$.
      binder: $U_4 = 1 - \langle m^4\rangle / (3\langle m^2\rangle^2)$ (NaN when
        $\langle m^2 \rangle = 0$).
      status: `successful`, or `invalid_parameter` for a traced β outside $[0, \infty)$
        (then every value is NaN).
    """

    energy: Estimate
    m: Estimate
    specific_heat: Estimate
    susceptibility: Estimate
    binder: Estimate
    status: RESULTS


def estimate(
    energy: Any, m: Any, n_nodes: int, beta: Any, n_blocks: int = 10
) -> ThermoEstimates:
    r"""Thermodynamic estimators with jackknife errors over blocks or replicas.

    * energy per node $\langle e \rangle$, order parameter $\langle m \rangle$;
    * specific heat per node $C = N\beta^2(\langle e^2\rangle - \langle e\rangle^2)$;
    * susceptibility $\chi = N\beta(\langle m^2\rangle - \langle m\rangle^2)$;
    * Binder cumulant $U_4 = 1 - \langle m^4\rangle / (3\langle m^2\rangle^2)$.

    Errors: a `(T,)` series is cut into `n_blocks` consecutive blocks (binning: blocks
    longer than the autocorrelation time give honest errors; a remainder of
    `T mod n_blocks` samples at the end is dropped); a `(R, T)` array of independent
    replicas uses the replicas as blocks. Each estimator's error is the delete-one-block
    jackknife error, so nonlinear ones (C, χ, U4) are handled too.

    Args:
      energy: Per-node energies, `(T,)` or `(R, T)` (may be traced).
      m: Order parameters, same shape.
      n_nodes: $N$ (static).
      beta: $\beta \ge 0$ (may be traced).
      n_blocks: Blocks for a single series, >= 2 (static).

    Returns:
      `ThermoEstimates`.
    """
    n_nodes = check_int("n_nodes", n_nodes, min_value=1)
    beta = check_real("beta", beta, low=0.0)
    e = check_array("energy", energy, kind="real", ndim=(1, 2))
    mm = check_array("m", m, kind="real", ndim=(1, 2))
    if jnp.shape(e) != jnp.shape(mm):
        raise ValueError(
            f"`energy` and `m` must share a shape (T,) or (R, T); got "
            f"{jnp.shape(e)} and {jnp.shape(mm)}"
        )
    if jnp.ndim(e) == 1:
        n_blocks = check_int("n_blocks", n_blocks, min_value=2)
        if jnp.shape(e)[0] < n_blocks:
            raise ValueError(
                f"`energy` has length {jnp.shape(e)[0]}, shorter than "
                f"`n_blocks`={n_blocks}"
            )
    elif jnp.shape(e)[0] < 2:
        raise ValueError("`energy` needs at least 2 replicas (rows) for error bars")
    dt = _float()
    return _estimate(
        jnp.asarray(e, dt),
        jnp.asarray(mm, dt),
        jnp.asarray(beta, dt),
        n_nodes,
        n_blocks,
    )


@functools.partial(jax.jit, static_argnums=(3, 4))
def _estimate(e, mm, beta, n_nodes, n_blocks):
    if e.ndim == 1:
        t = (e.shape[0] // n_blocks) * n_blocks
        e = e[:t].reshape(n_blocks, -1)
        mm = mm[:t].reshape(n_blocks, -1)
    ok = in_domain(beta, low=0.0)
    # The variances from moments of the data less its mean (a constant for every block
    # and jackknife sample, so the same estimates in exact arithmetic): from raw
    # moments, e2 - e1^2 cancelled to noise in float32 once N reached 10^6 (per-node
    # energies fluctuate by N^-1/2; C came out negative at 10^7). The Binder cumulant
    # needs the raw moments of m, which do not cancel there.
    e0, m0 = jnp.mean(e), jnp.mean(mm)
    ec, mc = e - e0, mm - m0
    mom = jnp.stack(
        [
            ec.mean(1),
            (ec**2).mean(1),
            mc.mean(1),
            (mc**2).mean(1),
            (mm**2).mean(1),
            (mm**4).mean(1),
        ],
        axis=1,
    )

    def stats(x):
        e1, e2, m1, m2c, m2, m4 = (x[..., i] for i in range(6))
        safe = jnp.where(m2 > 0, m2, jnp.ones_like(m2))
        return jnp.stack(
            [
                e1 + e0,
                m1 + m0,
                n_nodes * beta**2 * (e2 - e1**2),
                n_nodes * beta * (m2c - m1**2),
                jnp.where(m2 > 0, 1 - m4 / (3 * safe**2), jnp.nan),
            ],
            axis=-1,
        )

    b = mom.shape[0]
    full = stats(mom.mean(0))
    jk = stats((mom.sum(0)[None, :] - mom) / (b - 1))
    err = jnp.sqrt((b - 1) / b * jnp.sum((jk - jk.mean(0)) ** 2, axis=0))
    full = jnp.where(ok, full, jnp.nan)
    err = jnp.where(ok, err, jnp.nan)
    est = [Estimate(value=full[i], error=err[i]) for i in range(5)]
    return ThermoEstimates(
        energy=est[0],
        m=est[1],
        specific_heat=est[2],
        susceptibility=est[3],
        binder=est[4],
        status=RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter),
    )


class EnergyHistogram(eqx.Module):
    """Result of `energy_histogram`: a normalised histogram (a density).

    Attributes:
      density: `(bins,)` density values (integrate to 1 over `edges`).
      edges: `(bins + 1,)` bin edges.
    """

    density: Float[Array, " b"]
    edges: Float[Array, " b1"]


def energy_histogram(
    energy: Any, bins: int = 50, *, range: Any = None
) -> EnergyHistogram:
    """Normalised histogram of per-node energies (host side, NumPy).

    A first-order transition shows two peaks (ordered and disordered) near the
    transition point; a continuous one, a single peak.

    Args:
      energy: Per-node energies, any shape (flattened), finite, non-empty.
      bins: Number of bins, >= 1.
      range: Optional `(low, high)` of the bins (default: the data's range).

    Returns:
      `EnergyHistogram` with `density` and `edges`.
    """
    e = np.asarray(check_array("energy", energy, kind="real", nonempty=True))
    e = e.astype(np.float64).ravel()
    bins = check_int("bins", bins, min_value=1)
    if range is not None:
        try:
            r = np.asarray(range, dtype=float)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`range` must be (low, high), got {range!r}") from err
        if r.shape != (2,) or not np.all(np.isfinite(r)) or not r[0] < r[1]:
            raise ValueError(
                f"`range`={range!r} must be finite (low, high) with low < high"
            )
        range = (float(r[0]), float(r[1]))
    dens, edges = np.histogram(e, bins=bins, range=range, density=True)
    dt = _float()
    return EnergyHistogram(density=jnp.asarray(dens, dt), edges=jnp.asarray(edges, dt))
