r"""SIS spreading on graphs and its epidemic threshold, §5.3 of the chapter (eq. 14,
Proposition 5.2).

Model: each infected node recovers at rate $\mu$; each susceptible node is infected at rate
$\beta$ per infected neighbour. The spreading rate is $\lambda = \beta/\mu$. Thresholds:

* heterogeneous mean field (HMF), eq. (14): $\lambda_c^{\rm HMF} = \langle k\rangle /
  \langle k^2\rangle$ (`threshold_hmf`);
* quenched mean field (QMF): $\lambda_c^{\rm QMF} = 1/\lambda_{\max}(A)$ (`threshold_qmf`);
* measured: the peak of the quasi-stationary susceptibility
  $\chi = N(\langle\rho^2\rangle - \langle\rho\rangle^2)/\langle\rho\rangle$
  (`susceptibility_peak` on the output of `sis`).

For random regular graphs the pair approximation gives the prevalence in closed form
(`pair_approximation_prevalence`), the reference for the simulator well above threshold.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from ._checks import check_int, check_real
from ._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from .graph import Graph

QS_METHODS = ("history", "reflect", "none")


class SISResult(eqx.Module):
    r"""Quasi-stationary (QS) statistics of `sis`, one entry per (rate, replica).

    Attributes:
      rates: Spreading rates $\lambda = \beta/\mu$, shape `(r,)`.
      rho_mean: QS mean prevalence $\langle\rho\rangle$ over the measured steps, `(r, R)`.
      rho2_mean: $\langle\rho^2\rangle$, `(r, R)`.
      chi: Susceptibility $N(\langle\rho^2\rangle - \langle\rho\rangle^2)/\langle\rho\rangle$
        of each replica, `(r, R)`.
      n_absorbed: How often each run hit the absorbing state and was reactivated, `(r, R)`.
      prevalence: $\rho(t)$ every `record_every` steps, `(r, R, n_records)`.
      times: The times of `prevalence`, `(n_records,)`.
      final: Last configuration, `bool[r, R, n]`.
    """

    rates: Array
    rho_mean: Array
    rho2_mean: Array
    chi: Array
    n_absorbed: Array
    prevalence: Array
    times: Array
    final: Array

    def pooled(self) -> tuple[Array, Array]:
        r"""$\langle\rho\rangle$ and $\chi$ per rate, pooling the replicas' moments.

        Returns:
          `(rho, chi)`, each `(r,)`.
        """
        n = self.final.shape[-1]
        rho = jnp.mean(self.rho_mean, axis=1)
        rho2 = jnp.mean(self.rho2_mean, axis=1)
        return rho, n * (rho2 - rho**2) / jnp.maximum(rho, 1.0 / n)


def sis(
    key: PRNGKeyArray,
    graph: Graph,
    infection_rate: ArrayLike,
    recovery_rate: ArrayLike = 1.0,
    *,
    n_steps: int,
    dt: float = 0.05,
    burn_in: int | None = None,
    n_replicas: int = 1,
    qs: str = "history",
    history_size: int = 32,
    history_rate: float = 1.0,
    initial_fraction: float = 0.5,
    record_every: int = 10,
) -> SISResult:
    r"""Discrete-time SIS with a quasi-stationary method, vmapped over rates and replicas.

    One step of length $dt$, synchronous: an infected node recovers with probability
    $1 - e^{-\mu\,dt}$; a susceptible node with $m_i$ infected neighbours is infected with
    probability $1 - e^{-\beta m_i\,dt}$ (the chance of at least one of the $m_i$
    exponential clocks firing). As $dt \to 0$ this converges to the continuous-time
    (Gillespie) SIS process with error O(dt); $\beta k_{\max} dt \ll 1$ and
    $\mu\,dt \ll 1$ are needed for that, not for validity.

    Quasi-stationary method (`qs`):
      * "history" (de Oliveira & Dickman 2005): every run keeps up to `history_size`
        past active configurations; at rate `history_rate` per unit time the current
        configuration is stored (appended while there is room, then replacing a
        uniformly chosen one). When the run falls into the absorbing state (nobody
        infected) it restarts from a uniformly chosen stored configuration (from one
        random infected node if none is stored yet). Time averages then sample the QS
        distribution once the stored configurations have been renewed, i.e. after a
        burn-in of several `history_size / history_rate` time units.
      * "reflect": on absorption one uniformly chosen node is infected (the reflecting
        boundary of e.g. Sander, Costa, Ferreira, Dickman); cheaper, no memory, slightly
        different from "history" near threshold.
      * "none": plain SIS; absorbed runs stay absorbed (their prevalence is 0).

    Args:
      key: PRNG key; run (rate i, replica j) uses `fold_in(fold_in(key, i), j)`, so its
        result does not depend on the other rates or on `n_replicas`.
      graph: The graph.
      infection_rate: $\beta \ge 0$ per S–I edge, scalar or `(r,)`.
      recovery_rate: $\mu > 0$, scalar or `(r,)` (broadcast with `infection_rate`).
      n_steps: Total steps (static), > `burn_in`.
      dt: Step length $dt > 0$.
      burn_in: Steps discarded before measuring (default `n_steps // 2`).
      n_replicas: Independent runs per rate, $R \ge 1$.
      qs: "history", "reflect" or "none".
      history_size: Stored configurations per run, $M \ge 1$ (memory $M n r R$ bytes).
      history_rate: Replacements per unit time, $> 0$.
      initial_fraction: Fraction of nodes infected at $t = 0$ (chosen at random), in (0, 1].
      record_every: Stride of the stored prevalence series.

    Returns:
      An `SISResult`.

    Raises:
      ValueError: negative or non-finite rates, non-positive `recovery_rate` or `dt`,
        `burn_in >= n_steps`, unknown `qs`, other out-of-range arguments.

    Cost: per step, one adjacency mat-vec over all $rR$ runs at once, O(E r R) work and
    O(n r R) uniform draws; memory O((E + M n) r R).
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    beta = _check_rates("infection_rate", infection_rate, strict=False)
    mu = _check_rates("recovery_rate", recovery_rate, strict=True)
    try:
        beta, mu = np.broadcast_arrays(np.atleast_1d(beta), np.atleast_1d(mu))
    except ValueError as e:
        raise ValueError(
            f"`infection_rate` {np.shape(infection_rate)} and "
            f"`recovery_rate` {np.shape(recovery_rate)} do not broadcast"
        ) from e
    if beta.ndim != 1:
        raise ValueError(f"rates must be scalars or 1-D, got shape {beta.shape}")
    n_steps = check_int("n_steps", n_steps, min_value=1)
    burn_in = (
        n_steps // 2 if burn_in is None else check_int("burn_in", burn_in, min_value=0)
    )
    if burn_in >= n_steps:
        raise ValueError(f"`burn_in`={burn_in}; allowed: < n_steps={n_steps}")
    dt = check_real("dt", dt, low=0.0, low_open=True)
    n_replicas = check_int("n_replicas", n_replicas, min_value=1)
    if qs not in QS_METHODS:
        raise ValueError(f"`qs`={qs!r}; allowed: {QS_METHODS}")
    history_size = check_int("history_size", history_size, min_value=1)
    history_rate = check_real("history_rate", history_rate, low=0.0, low_open=True)
    initial_fraction = check_real(
        "initial_fraction", initial_fraction, low=0.0, high=1.0, low_open=True
    )
    record_every = check_int("record_every", record_every, min_value=1)
    n_rec = n_steps // record_every
    if n_rec == 0:
        raise ValueError(
            f"`record_every`={record_every}; allowed: <= n_steps={n_steps}"
        )

    f = jnp.result_type(float)
    r = beta.shape[0]
    keys = jax.vmap(
        lambda i: jax.vmap(lambda j: jr.fold_in(jr.fold_in(key, i), j))(
            jnp.arange(n_replicas)
        )
    )(jnp.arange(r))  # (r, R)
    keys = keys.reshape(-1)
    b_col = jnp.repeat(jnp.asarray(beta, f), n_replicas)
    m_col = jnp.repeat(jnp.asarray(mu, f), n_replicas)
    out = _run(
        graph,
        keys,
        b_col,
        m_col,
        jnp.asarray(dt, f),
        n_steps,
        jnp.asarray(burn_in),
        qs,
        history_size if qs == "history" else 1,
        jnp.asarray(history_rate * dt, f),
        jnp.asarray(initial_fraction, f),
        record_every,
    )
    rho_m, rho2_m, n_abs, series, final = out
    shape = (r, n_replicas)
    n = graph.n_nodes
    rho_m, rho2_m = rho_m.reshape(shape), rho2_m.reshape(shape)
    chi = n * (rho2_m - rho_m**2) / jnp.maximum(rho_m, 1.0 / n)
    times = dt * record_every * jnp.arange(1, n_rec + 1, dtype=f)
    return SISResult(
        rates=jnp.asarray(beta / mu, f),
        rho_mean=rho_m,
        rho2_mean=rho2_m,
        chi=chi,
        n_absorbed=n_abs.reshape(shape),
        prevalence=jnp.moveaxis(series, 0, -1).reshape(shape + (n_rec,)),
        times=times,
        final=jnp.moveaxis(final, 0, -1).reshape(shape + (n,)),
    )


@functools.partial(jax.jit, static_argnums=(5, 7, 8, 11))
def _run(
    graph, keys, beta, mu, dt, n_steps, burn_in, qs, m_hist, p_hist, frac, record_every
):
    n = graph.n_nodes
    b = keys.shape[0]
    f = beta.dtype
    cols = jnp.arange(b)

    split = jax.vmap(lambda k: jr.split(k, 3))(keys)
    k_init, k_dyn, k_aux = split[:, 0], split[:, 1], split[:, 2]

    def uniforms(ks, step, shape_tail):
        # Column c from its own key, folded with the step (batch-independent).
        return jax.vmap(lambda k: jr.uniform(jr.fold_in(k, step), shape_tail, f))(ks)

    x0 = uniforms(k_init, 0, (n,)).T < frac  # (n, b) bool
    x0 = x0.at[0].set(x0[0] | ~jnp.any(x0, axis=0))  # at least one infected
    hist0 = jnp.zeros((m_hist, n, b), bool)
    n_filled0 = jnp.zeros(b, jnp.int32)  # history slots filled so far (append first)
    p_rec = -jnp.expm1(-mu * dt)  # (b,)
    rate_dt = beta * dt

    def step(carry, i):
        x, hist, n_filled, n_abs = carry
        m = graph.neighbor_sum(x.astype(f))  # infected neighbours (n, b)
        p_inf = -jnp.expm1(-rate_dt * m)
        u = uniforms(k_dyn, i, (n,)).T
        x_new = jnp.where(x, u >= p_rec, u < p_inf)
        absorbed = ~jnp.any(x_new, axis=0)  # (b,)
        if qs != "none":
            aux = uniforms(k_aux, i, (3,))  # (b, 3)

            def reactivate(x_new):
                node = jnp.minimum((aux[:, 0] * n).astype(jnp.int32), n - 1)
                restore = jnp.arange(n)[:, None] == node[None, :]  # one random seed
                if qs == "history":  # a stored configuration, if there is one yet
                    slot = jnp.minimum(
                        (aux[:, 0] * n_filled).astype(jnp.int32),
                        jnp.maximum(n_filled - 1, 0),
                    )
                    stored = hist[slot, :, cols].T  # (n, b)
                    restore = jnp.where((n_filled > 0)[None, :], stored, restore)
                return jnp.where(absorbed[None, :], restore, x_new)

            x_new = lax.cond(jnp.any(absorbed), reactivate, lambda x: x, x_new)
            if qs == "history":
                replace = (aux[:, 1] < p_hist) & jnp.any(x_new, axis=0)
                slot = jnp.minimum((aux[:, 2] * m_hist).astype(jnp.int32), m_hist - 1)
                slot = jnp.where(n_filled < m_hist, n_filled, slot)
                n_filled = n_filled + (replace & (n_filled < m_hist)).astype(jnp.int32)

                def store(hist):
                    cur = hist[slot, :, cols]  # (b, n)
                    new = jnp.where(replace[:, None], x_new.T, cur)
                    return hist.at[slot, :, cols].set(new)

                hist = lax.cond(jnp.any(replace), store, lambda h: h, hist)
        n_abs = n_abs + absorbed.astype(jnp.int32)
        rho = jnp.mean(x_new.astype(f), axis=0)  # (b,)
        return (x_new, hist, n_filled, n_abs), rho

    def block(carry, j):
        carry, rhos = lax.scan(step, carry, j * record_every + jnp.arange(record_every))
        return carry, rhos

    n_rec = n_steps // record_every
    carry = (x0, hist0, n_filled0, jnp.zeros(b, jnp.int32))
    carry, rhos = lax.scan(block, carry, jnp.arange(n_rec))
    rhos = rhos.reshape(n_rec * record_every, b)
    rest = n_steps - n_rec * record_every
    if rest:
        carry, tail = lax.scan(step, carry, n_rec * record_every + jnp.arange(rest))
        rhos = jnp.concatenate([rhos, tail], axis=0)
    w = (jnp.arange(n_steps) >= burn_in).astype(f)[:, None]  # burn_in is traced
    n_meas = (n_steps - burn_in).astype(f)
    rho_m = jnp.sum(w * rhos, axis=0) / n_meas
    rho2_m = jnp.sum(w * rhos**2, axis=0) / n_meas
    series = rhos[record_every - 1 : n_rec * record_every : record_every]  # (n_rec, b)
    x, _, _, n_abs = carry
    return rho_m, rho2_m, n_abs, series, x  # x: (n, b)


def threshold_hmf(degrees: ArrayLike) -> Array:
    r"""Eq. (14): $\lambda_c^{\rm HMF} = \langle k\rangle/\langle k^2\rangle$.

    Args:
      degrees: Node degrees $k_i \ge 0$, shape `(n,)`, not all zero.

    Returns:
      Scalar (float). Cost O(n).
    """
    k = np.asarray(degrees)
    if k.ndim != 1 or k.size == 0:
        raise ValueError(
            f"`degrees` must be a non-empty 1-D array, got shape {k.shape}"
        )
    if not np.all(np.isfinite(k.astype(np.float64))) or (k < 0).any():
        raise ValueError("`degrees` must be finite and >= 0")
    if not k.any():
        raise ValueError("`degrees` are all zero: <k^2> = 0, no threshold")
    kf = jnp.asarray(degrees, jnp.result_type(float))
    return jnp.mean(kf) / jnp.mean(kf**2)


def threshold_qmf(graph: Graph, **kwargs) -> Array:
    r"""QMF threshold $\lambda_c^{\rm QMF} = 1/\lambda_{\max}(A)$.

    Args:
      graph: The graph (at least one edge).
      **kwargs: Passed to `meshjax.diffusion.spectral_radius`.
    """
    from .diffusion import spectral_radius

    lam = spectral_radius(graph, **kwargs)
    if float(lam) <= 0:
        raise ValueError("`graph` has no edges: lambda_max(A) = 0, no threshold")
    return 1.0 / lam


def pair_approximation_prevalence(rate: ArrayLike, degree: ArrayLike) -> Array:
    r"""Stationary SIS prevalence on a random $k$-regular graph, pair approximation.

    Closing the pair equations at the level of links ([SI], [II], [SS]) gives, with
    $\lambda = \beta/\mu$ (derivation in docs/diffusion.md):
    $$\frac{\rho}{1 - \rho} = \frac{k\,[\lambda(k - 1) - 1]}{k - 1}, \qquad
    \lambda_c^{\rm PA} = \frac{1}{k - 1},$$
    and $\rho = 0$ below $\lambda_c^{\rm PA}$.

    Args (broadcast): `rate` $\lambda \ge 0$, `degree` $k \ge 2$.
    """
    lam = np.asarray(rate, np.float64)
    k = np.asarray(degree, np.float64)
    if not (np.all(np.isfinite(lam)) and np.all(lam >= 0)):
        raise ValueError("`rate` must be finite and >= 0")
    if not (np.all(np.isfinite(k)) and np.all(k >= 2)):
        raise ValueError("`degree` must be finite and >= 2")
    f = jnp.result_type(float)
    lam, k = jnp.asarray(lam, f), jnp.asarray(k, f)
    ratio = jnp.maximum(k * (lam * (k - 1) - 1) / (k - 1), 0.0)
    return ratio / (1 + ratio)


def susceptibility_peak(rates: ArrayLike, chi: ArrayLike) -> Float[Array, ""]:
    r"""The rate at the maximum of $\chi(\lambda)$, refined by a parabola in $\ln\lambda$.

    Args:
      rates: Increasing positive rates, `(r,)`, $r \ge 3$.
      chi: Susceptibility per rate, `(r,)` (e.g. `SISResult.pooled()[1]`).

    Returns:
      The threshold estimate; the grid end point if the maximum is there (then the
      true peak may lie outside the grid).
    """
    lam = np.asarray(rates, np.float64)
    c = np.asarray(chi, np.float64)
    if lam.ndim != 1 or lam.shape != c.shape or lam.size < 3:
        raise ValueError(
            f"`rates` and `chi` must be 1-D of one length >= 3, got "
            f"{lam.shape} and {c.shape}"
        )
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(c))):
        raise ValueError("`rates` and `chi` must be finite")
    if (lam <= 0).any() or (np.diff(lam) <= 0).any():
        raise ValueError("`rates` must be positive and strictly increasing")
    i = int(np.argmax(c))
    if i == 0 or i == lam.size - 1:
        return jnp.asarray(lam[i], jnp.result_type(float))
    x = np.log(lam[i - 1 : i + 2])
    y = c[i - 1 : i + 2]
    a, b, _ = np.polyfit(x, y, 2)
    xv = -b / (2 * a) if a < 0 else x[1]
    xv = float(np.clip(xv, x[0], x[2]))
    return jnp.asarray(math.exp(xv), jnp.result_type(float))


def _check_rates(name, x, strict):
    if isinstance(x, jax.core.Tracer):
        raise TypeError(f"`{name}` must be concrete at the Python boundary")
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` must be finite; got NaN or inf")
    if a.size and (a.min() <= 0 if strict else a.min() < 0):
        raise ValueError(
            f"`{name}` has a value {a.min()}; allowed: {'> 0' if strict else '>= 0'}"
        )
    return a


__all__ = [
    "QS_METHODS",
    "SISResult",
    "pair_approximation_prevalence",
    "sis",
    "susceptibility_peak",
    "threshold_hmf",
    "threshold_qmf",
]
