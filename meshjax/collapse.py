r"""Diversity as collapse protection (§12): α_eff (35), D(ρ, J) (36), (37), J_min (39),
and a simulated model-collapse experiment in the spirit of Shumailov et al.

Formulas. $D(\rho, J) = \frac{J-1}{J}(1 - \rho^{1/(1-\rho)})$ (36) is real only for
$0 \le \rho < 1$. Its factor $1 - \rho^{1/(1-\rho)}$ falls from 1 at $\rho = 0$ to
$1 - 1/e \approx 0.632$ as $\rho \to 1$ (not to 0: perfect substitutes keep most of their
"diversity"). For $\rho < 0$ meshjax raises by default; `negative_rho="saturate"` uses the
$\rho = 0$ value (factor 1, the maximum the formula allows), which keeps $D$ continuous and
non-increasing in $\rho$. (The real branch $|\rho|^{1/(1-\rho)}$ would make strong
complements *less* diverse, $D(-1, J) = 0$, which contradicts the lemma's monotonicity.)

(39) as printed takes a ceiling where (37) is strict; `j_min` returns the smallest integer
$J$ that satisfies (37) and `inf` when none does (when
$(\alpha_{crit}-\alpha_{ext})/(1-\alpha_{ext}) \ge 1 - \rho^{1/(1-\rho)}$, which happens for
$\rho < 1$ too, against "finite for $\rho < 1$"). $J_{min}$ *increases* with $\rho$ (the
chapter says decreasing).

Simulation (`simulate_collapse`). $J$ specialists, each a Gaussian $N(\mu_i, \sigma_i^2)$
fitted to $n$ samples from the truth $P = N(0, 1)$ at generation 0. Each generation every
specialist refits (sample mean, unbiased variance) on $n$ points: a fraction $\alpha_{ext}$
fresh from $P$, the rest synthetic, each synthetic point drawn from a specialist chosen
uniformly from the mesh (itself with probability $1/J$: the $(J-1)/J$ of (36); or only the
others with `source="others"`). The divergence is $\mathrm{KL}(Q_i \| P)$ averaged over
specialists. The chapter's claim (35) is that the mesh behaves like one model with a real
fraction $\alpha_{eff}$; the experiment compares the two directly.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .growth import _check

__all__ = [
    "diversity_correction",
    "alpha_eff",
    "avoids_collapse",
    "d_threshold",
    "j_min",
    "j_min_chapter",
    "simulate_collapse",
    "gaussian_kl",
    "stationary_kl_single",
]


def _rho_factor(rho, negative_rho: str):
    if negative_rho not in ("raise", "saturate"):
        raise ValueError(f"negative_rho={negative_rho!r}; allowed: 'raise', 'saturate'")
    if negative_rho == "raise":
        _check(
            "rho",
            rho,
            lambda v: (v >= 0) & (v < 1),
            "0 <= rho < 1 ((36) is real only there; pass negative_rho='saturate' "
            "for rho < 0)",
        )
    else:
        _check("rho", rho, lambda v: v < 1, "rho < 1")
    rho = jnp.asarray(rho)
    r = jnp.clip(
        rho, 0.0, None
    )  # saturate: rho < 0 uses the rho = 0 value (documented)
    r_safe = jnp.where(r > 0, r, 1.0)
    pw = jnp.where(r > 0, jnp.exp(jnp.log(r_safe) / (1 - r)), 0.0)
    return 1 - pw


def diversity_correction(
    rho: Float[ArrayLike, ...],
    J: Float[ArrayLike, ...],
    *,
    negative_rho: str = "raise",
) -> Array:
    r"""$D(\rho, J) = \frac{J-1}{J}(1 - \rho^{1/(1-\rho)})$ (36).

    Args:
      rho: CES parameter, $0 \le \rho < 1$ (or $\rho < 1$ with `negative_rho="saturate"`).
      J: Number of specialization types $\ge 1$; broadcast with `rho`.
      negative_rho: `"raise"` (default) or `"saturate"` ($\rho < 0$ treated as $\rho = 0$).

    Returns:
      $D \in [0, 1)$, broadcast shape. Cost O(1) per element.

    Raises:
      ValueError: `rho >= 1`, `rho < 0` with `negative_rho="raise"`, `J < 1`, NaN.
    """
    _check("J", J, lambda v: v >= 1, "J >= 1")
    J = jnp.asarray(J)
    return (J - 1) / J * _rho_factor(rho, negative_rho)


def alpha_eff(alpha_ext, rho, J, *, negative_rho: str = "raise") -> Array:
    r"""$\alpha_{eff} = \alpha_{ext} + (1-\alpha_{ext}) D(\rho, J)$ (35).

    Raises:
      ValueError: `alpha_ext` outside [0, 1], or as `diversity_correction`.
    """
    _check("alpha_ext", alpha_ext, lambda v: (v >= 0) & (v <= 1), "0 <= alpha_ext <= 1")
    a = jnp.asarray(alpha_ext)
    return a + (1 - a) * diversity_correction(rho, J, negative_rho=negative_rho)


def avoids_collapse(
    alpha_ext, rho, J, alpha_crit, *, negative_rho: str = "raise"
) -> Array:
    r"""Condition (37): $\alpha_{eff}(\rho, J) > \alpha_{crit}$ (bool, broadcast shape)."""
    _check(
        "alpha_crit", alpha_crit, lambda v: (v >= 0) & (v <= 1), "0 <= alpha_crit <= 1"
    )
    return alpha_eff(alpha_ext, rho, J, negative_rho=negative_rho) > jnp.asarray(
        alpha_crit
    )


def d_threshold(alpha_ext, alpha_crit) -> Array:
    r"""Right side of (38): $(\alpha_{crit} - \alpha_{ext})/(1 - \alpha_{ext})$."""
    _check("alpha_ext", alpha_ext, lambda v: (v >= 0) & (v < 1), "0 <= alpha_ext < 1")
    _check(
        "alpha_crit", alpha_crit, lambda v: (v >= 0) & (v <= 1), "0 <= alpha_crit <= 1"
    )
    a = jnp.asarray(alpha_ext)
    return (jnp.asarray(alpha_crit) - a) / (1 - a)


def j_min(rho, alpha_ext, alpha_crit, *, negative_rho: str = "raise") -> Array:
    r"""Smallest integer $J \ge 1$ satisfying (37) strictly; `inf` if no $J$ does.

    From (38): $\frac{J-1}{J}c > x$ with $c = 1-\rho^{1/(1-\rho)}$ and $x$ from `d_threshold`,
    i.e. $J > 1/(1 - x/c)$. So $J_{min} = \lfloor 1/(1-x/c)\rfloor + 1$ if $x < c$
    ($J_{min} = 1$ if $x < 0$), `inf` if $x \ge c$. Increasing in $\rho$.

    Returns:
      Float array (so that `inf` is representable), broadcast shape.
    """
    x = d_threshold(alpha_ext, alpha_crit)
    c = _rho_factor(rho, negative_rho)
    ratio = x / c
    bound = 1 / (1 - jnp.where(ratio < 1, ratio, 0.0))
    out = jnp.floor(bound) + 1
    out = jnp.where(x < 0, 1.0, out)
    return jnp.where((ratio >= 1) & (x >= 0), jnp.inf, out)


def j_min_chapter(rho, alpha_ext, alpha_crit, *, negative_rho: str = "raise") -> Array:
    r"""(39) as printed: $\lceil 1/(1 - x/c) \rceil$ (NaN/negative where it is meaningless).

    Differs from `j_min` by one where $1/(1-x/c)$ is an integer (the ceiling then gives a
    $J$ with equality in (37), not strict inequality) and is meaningless for $x \ge c$.
    """
    x = d_threshold(alpha_ext, alpha_crit)
    c = _rho_factor(rho, negative_rho)
    return jnp.ceil(1 / (1 - x / c))


def gaussian_kl(mu, var) -> Array:
    r"""$\mathrm{KL}(N(\mu, \sigma^2) \,\|\, N(0, 1)) = \frac12(\sigma^2 + \mu^2 - 1 - \ln\sigma^2)$."""
    return 0.5 * (var + mu**2 - 1 - jnp.log(var))


def _one_run(key, J, alpha_ext, *, J_pad, n, G, source, ddof):
    dtype = alpha_ext.dtype
    active = jnp.arange(J_pad) < J
    n_ext = jnp.round(alpha_ext * n).astype(jnp.int32)
    real_slot = jnp.arange(n) < n_ext  # the first n_ext points of each batch are real

    def fit(x):
        mu = x.mean(axis=-1)
        var = jnp.sum((x - mu[:, None]) ** 2, axis=-1) / (n - ddof)
        return mu, var

    key0, key_run = jr.split(key)
    mu, var = fit(jr.normal(key0, (J_pad, n), dtype))

    def generation(carry, g):
        mu, var = carry
        k = jr.fold_in(key_run, g)
        k_real, k_src, k_syn = jr.split(k, 3)
        real = jr.normal(k_real, (J_pad, n), dtype)
        u = jr.uniform(k_src, (J_pad, n), dtype)
        if source == "pool":
            src = jnp.floor(u * J).astype(jnp.int32)
        else:  # others: uniform over the J-1 others (itself if J == 1)
            r = jnp.floor(u * jnp.maximum(J - 1, 1)).astype(jnp.int32)
            own = jnp.arange(J_pad)[:, None]
            src = jnp.where(J > 1, r + (r >= own), own)
        src = jnp.minimum(src, J_pad - 1)
        syn = mu[src] + jnp.sqrt(var[src]) * jr.normal(k_syn, (J_pad, n), dtype)
        x = jnp.where(real_slot[None, :], real, syn)
        mu_new, var_new = fit(x)
        mu_new = jnp.where(active, mu_new, 0.0)
        var_new = jnp.where(active, var_new, 1.0)
        kl = gaussian_kl(mu_new, var_new)
        Jf = J.astype(dtype)
        obs = (
            jnp.sum(jnp.where(active, kl, 0.0)) / Jf,
            jnp.sum(jnp.where(active, var_new, 0.0)) / Jf,
        )
        return (mu_new, var_new), obs

    mu = jnp.where(active, mu, 0.0)
    var = jnp.where(active, var, 1.0)
    _, (kl, v) = jax.lax.scan(generation, (mu, var), jnp.arange(G))
    return kl, v


def simulate_collapse(
    key: PRNGKeyArray,
    J: Float[ArrayLike, ...],
    alpha_ext: Float[ArrayLike, ...],
    *,
    n_samples: int = 100,
    n_generations: int = 200,
    source: str = "pool",
    ddof: int = 1,
):
    r"""Iterated refitting of $J$ Gaussian specialists on real + mesh-synthetic data.

    Every grid point (broadcast of `J` and `alpha_ext`) runs independently, with key
    `fold_in(key, i)` for flat point `i`; the whole grid is one `jit(vmap(scan))`, the
    specialist axis padded to `max(J)`.

    Args:
      key: PRNG key.
      J: Number of specialists (integers $\ge 1$), any shape.
      alpha_ext: Fraction of each refit's data drawn fresh from the truth, in [0, 1].
      n_samples: Points per refit $n$ (static); the real count is `round(alpha_ext * n)`.
      n_generations: Generations $G$ (static).
      source: `"pool"` (synthetic points from any specialist, self included w.p. $1/J$)
        or `"others"` (never self, unless $J = 1$).
      ddof: Variance estimator's delta degrees of freedom (1 = unbiased, 0 = MLE).

    Returns:
      `(kl, var)`: specialist-mean $\mathrm{KL}(Q_i\|P)$ and mean $\sigma_i^2$ after each
      generation, shape `(*b, G)`.

    Raises:
      ValueError: non-integer or `J < 1`, `alpha_ext` outside [0, 1], NaN, bad sizes.

    Cost: O(G · max(J) · n) per grid point.
    """
    _check("J", J, lambda v: (v >= 1) & (v == np.round(v)), "integer J >= 1")
    _check("alpha_ext", alpha_ext, lambda v: (v >= 0) & (v <= 1), "0 <= alpha_ext <= 1")
    if not (isinstance(n_samples, int) and n_samples >= 2):
        raise ValueError(f"n_samples={n_samples!r}; allowed: int >= 2")
    if not (isinstance(n_generations, int) and n_generations >= 1):
        raise ValueError(f"n_generations={n_generations!r}; allowed: int >= 1")
    if source not in ("pool", "others"):
        raise ValueError(f"source={source!r}; allowed: 'pool', 'others'")
    if ddof not in (0, 1):
        raise ValueError(f"ddof={ddof!r}; allowed: 0, 1")
    J_np = np.asarray(J)
    shape = np.broadcast_shapes(J_np.shape, np.shape(alpha_ext))
    dtype = jnp.result_type(jnp.asarray(alpha_ext), float)
    Jf = jnp.broadcast_to(jnp.asarray(J_np, jnp.int32), shape).reshape(-1)
    af = jnp.broadcast_to(jnp.asarray(alpha_ext, dtype), shape).reshape(-1)
    keys = jax.vmap(lambda i: jr.fold_in(key, i))(jnp.arange(Jf.shape[0]))
    kl, var = _run_batch(
        keys, Jf, af, int(J_np.max()), n_samples, n_generations, source, ddof
    )
    return kl.reshape(*shape, n_generations), var.reshape(*shape, n_generations)


@eqx.filter_jit
def _run_batch(keys, J, alpha_ext, J_pad, n, G, source, ddof):
    fn = lambda k, j, a: _one_run(
        k, j, a, J_pad=J_pad, n=n, G=G, source=source, ddof=ddof
    )
    return jax.vmap(fn)(keys, J, alpha_ext)


def stationary_kl_single(alpha: float, n: int) -> float:
    r"""Small-noise estimate of the stationary $\mathrm{KL}$ of one self-refitting Gaussian.

    With real fraction $\alpha$, the mean follows $\mu' = (1-\alpha)\mu + \xi$,
    $\mathrm{Var}\,\xi = 1/n$ at leading order, so $\mathrm{Var}\,\mu = 1/(n\alpha(2-\alpha))$;
    the variance error contributes the same order ($\mathrm{Var}(\sigma^2) \approx 2/n$ per
    step, KL $\approx (\sigma^2-1)^2/4$), total
    $\mathrm{KL} \approx \frac{1}{2n\alpha(2-\alpha)} + \frac{1}{2n\alpha(2-\alpha)}$.
    A reference for tests; `inf` at $\alpha = 0$ (collapse).
    """
    if alpha <= 0:
        return math.inf
    return 1.0 / (n * alpha * (2 - alpha))
