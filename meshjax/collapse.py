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

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._results import RESULTS, AbstractResult
from ._validate import (
    as_key,
    check_array,
    check_choice,
    check_int,
    in_domain,
    is_traced,
    nan_outside,
)

__all__ = [
    "diversity_correction",
    "alpha_eff",
    "avoids_collapse",
    "d_threshold",
    "j_min",
    "j_min_chapter",
    "CollapseRun",
    "simulate_collapse",
    "gaussian_kl",
    "stationary_kl_single",
]


def _check(name, value, low=None, high=None, low_open=False, high_open=False):
    """Host side of a real parameter (scalar or array): concrete values checked (naming
    the argument), traced ones passed on; concrete integers become float."""
    return check_array(
        name, value, low=low, high=high, low_open=low_open, high_open=high_open
    )


def _broadcast(**named):
    """Host check that the named array arguments broadcast together (naming them)."""
    try:
        np.broadcast_shapes(*(np.shape(v) for v in named.values()))
    except ValueError:
        shapes = ", ".join(f"`{k}` shape {np.shape(v)}" for k, v in named.items())
        raise ValueError(f"{shapes} do not broadcast together") from None


def _in(x, low=None, high=None, low_open=False, high_open=False):
    """Traced side (inside `jit`): `x` as float and whether it is in the domain."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    ok = in_domain(x, low=low, high=high, low_open=low_open, high_open=high_open)
    return x, ok


#: Domain of rho per `negative_rho` mode.
_RHO_DOMAIN = {
    "raise": dict(low=0.0, high=1.0, high_open=True),
    "saturate": dict(high=1.0, high_open=True),
}


def _check_rho(rho, negative_rho: str):
    check_choice("negative_rho", negative_rho, ("raise", "saturate"))
    if negative_rho == "raise":
        try:
            return _check("rho", rho, **_RHO_DOMAIN["raise"])
        except ValueError as err:
            raise ValueError(
                f"{err} ((36) is real only there; pass negative_rho='saturate' for "
                "rho < 0)"
            ) from None
    return _check("rho", rho, **_RHO_DOMAIN["saturate"])


def _rho_factor(rho, negative_rho: str):
    """$1 - \\rho^{1/(1-\\rho)}$ and the domain mask (traced side)."""
    rho, ok = _in(rho, **_RHO_DOMAIN[negative_rho])
    r = jnp.clip(
        rho, 0.0, None
    )  # saturate: rho < 0 uses the rho = 0 value (documented)
    r_safe = jnp.where((r > 0) & ok, r, 0.5)
    pw = jnp.where(r > 0, jnp.exp(jnp.log(r_safe) / (1 - r_safe)), 0.0)
    return 1 - pw, ok


_INT32_MAX = int(np.iinfo(np.int32).max)

_jit_nr = functools.partial(jax.jit, static_argnames=("negative_rho",))


def _dc(rho, J, negative_rho):
    J, ok_j = _in(J, low=1.0)
    factor, ok = _rho_factor(rho, negative_rho)
    return nan_outside(ok & ok_j, (J - 1) / J * factor)


def _ae(a, rho, J, negative_rho):
    a, ok = _in(a, low=0.0, high=1.0)
    return nan_outside(ok, a + (1 - a) * _dc(rho, J, negative_rho))


def _dt(alpha_ext, alpha_crit):
    a, ok = _in(alpha_ext, low=0.0, high=1.0, high_open=True)
    crit, ok_c = _in(alpha_crit, low=0.0, high=1.0)
    return nan_outside(ok & ok_c, (crit - a) / (1 - jnp.where(ok, a, 0.0)))


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
      $D \in [0, 1)$, broadcast shape (NaN where a traced input is outside its domain).
      Cost O(1) per element.

    Raises:
      ValueError: `rho >= 1`, `rho < 0` with `negative_rho="raise"`, `J < 1`, NaN, inf.
    """
    J = _check("J", J, low=1.0)
    rho = _check_rho(rho, negative_rho)
    _broadcast(rho=rho, J=J)
    return _diversity_correction(rho, J, negative_rho=negative_rho)


@_jit_nr
def _diversity_correction(rho, J, negative_rho):
    return _dc(rho, J, negative_rho)


def alpha_eff(
    alpha_ext: Float[ArrayLike, ...],
    rho: Float[ArrayLike, ...],
    J: Float[ArrayLike, ...],
    *,
    negative_rho: str = "raise",
) -> Array:
    r"""$\alpha_{eff} = \alpha_{ext} + (1-\alpha_{ext}) D(\rho, J)$ (35).

    Raises:
      ValueError: `alpha_ext` outside [0, 1], or as `diversity_correction`.
    """
    a = _check("alpha_ext", alpha_ext, low=0.0, high=1.0)
    J = _check("J", J, low=1.0)
    rho = _check_rho(rho, negative_rho)
    _broadcast(alpha_ext=a, rho=rho, J=J)
    return _alpha_eff(a, rho, J, negative_rho=negative_rho)


@_jit_nr
def _alpha_eff(a, rho, J, negative_rho):
    return _ae(a, rho, J, negative_rho)


def avoids_collapse(
    alpha_ext: Float[ArrayLike, ...],
    rho: Float[ArrayLike, ...],
    J: Float[ArrayLike, ...],
    alpha_crit: Float[ArrayLike, ...],
    *,
    negative_rho: str = "raise",
) -> Array:
    r"""Condition (37): $\alpha_{eff}(\rho, J) > \alpha_{crit}$ (bool, broadcast shape).

    A traced input outside its domain gives False there (a bool has no NaN); use
    `alpha_eff` to see the NaN.
    """
    crit = _check("alpha_crit", alpha_crit, low=0.0, high=1.0)
    a = _check("alpha_ext", alpha_ext, low=0.0, high=1.0)
    J = _check("J", J, low=1.0)
    rho = _check_rho(rho, negative_rho)
    _broadcast(alpha_ext=a, rho=rho, J=J, alpha_crit=crit)
    return _avoids_collapse(a, rho, J, crit, negative_rho=negative_rho)


@_jit_nr
def _avoids_collapse(a, rho, J, crit, negative_rho):
    crit, ok = _in(crit, low=0.0, high=1.0)
    return ok & (_ae(a, rho, J, negative_rho) > crit)


def d_threshold(
    alpha_ext: Float[ArrayLike, ...], alpha_crit: Float[ArrayLike, ...]
) -> Array:
    r"""Right side of (38): $(\alpha_{crit} - \alpha_{ext})/(1 - \alpha_{ext})$.

    Args:
      alpha_ext: In [0, 1); alpha_crit: in [0, 1].
    """
    a = _check("alpha_ext", alpha_ext, low=0.0, high=1.0, high_open=True)
    crit = _check("alpha_crit", alpha_crit, low=0.0, high=1.0)
    _broadcast(alpha_ext=a, alpha_crit=crit)
    return _d_threshold(a, crit)


_d_threshold = jax.jit(_dt)


def j_min(
    rho: Float[ArrayLike, ...],
    alpha_ext: Float[ArrayLike, ...],
    alpha_crit: Float[ArrayLike, ...],
    *,
    negative_rho: str = "raise",
) -> Array:
    r"""Smallest integer $J \ge 1$ satisfying (37) strictly; `inf` if no $J$ does.

    From (38): $\frac{J-1}{J}c > x$ with $c = 1-\rho^{1/(1-\rho)}$ and $x$ from `d_threshold`,
    i.e. $J > 1/(1 - x/c)$. So $J_{min} = \lfloor 1/(1-x/c)\rfloor + 1$ if $x < c$
    ($J_{min} = 1$ if $x < 0$), `inf` if $x \ge c$. Increasing in $\rho$.

    In floating point the closed form is only a starting guess (at an exact boundary
    such as $x = 0.9$, $c = 1$, $1/(1-x/c)$ rounds to just below 10): the result is the
    smallest integer $J$ for which `avoids_collapse` (the same arithmetic, same dtype)
    is True, so `avoids_collapse(..., j_min, ...)` holds and fails at `j_min - 1`.

    Returns:
      Float array (so that `inf` is representable), broadcast shape; NaN where a traced
      input is outside its domain.
    """
    rho, a, crit = _j_min_inputs(rho, alpha_ext, alpha_crit, negative_rho)
    return _j_min(rho, a, crit, negative_rho=negative_rho)


def _j_min_inputs(rho, alpha_ext, alpha_crit, negative_rho):
    """Host checks shared by `j_min` and `j_min_chapter` (in their error order)."""
    a = _check("alpha_ext", alpha_ext, low=0.0, high=1.0, high_open=True)
    crit = _check("alpha_crit", alpha_crit, low=0.0, high=1.0)
    rho = _check_rho(rho, negative_rho)
    _broadcast(rho=rho, alpha_ext=a, alpha_crit=crit)
    return rho, a, crit


@_jit_nr
def _j_min(rho, a, crit, negative_rho):
    x = _dt(a, crit)
    c, ok = _rho_factor(rho, negative_rho)
    ratio = x / c
    bound = 1 / (1 - jnp.where(ratio < 1, ratio, 0.0))
    # the closed form is only a starting point: rounded, it is off by one at exact
    # boundaries (floor of 10 - 1 ulp) and by more for J >~ eps**-0.5; the search
    # returns the smallest J that passes (37) as `avoids_collapse` evaluates it
    cand = jnp.where(ratio < 1, jnp.maximum(jnp.floor(bound) + 1, 1.0), 1.0)
    passes = lambda J: (J >= 1) & (_ae(a, rho, J, negative_rho) > crit)
    return nan_outside(ok & ~jnp.isnan(x), _smallest_passing(passes, cand))


_SEARCH_STEPS = 64  # doublings: J up to ~2**64 is found; none passing up to there: inf


def _smallest_passing(passes, cand):
    r"""Smallest integer $J \ge 1$ with `passes(J)` (monotone in $J$), searched from
    `cand` (elementwise): gallop up from `cand` to a passing `hi` (the last failing
    point is `lo`; 0, standing for "J < 1", when `cand` passes), then bisect the
    integers in (`lo`, `hi`]. `inf` where nothing passes."""

    def up(_, s):  # invariant: lo fails
        lo, hi, step = s
        p = passes(hi)
        return (
            jnp.where(p, lo, hi),
            jnp.where(p, hi, hi + step),
            jnp.where(p, step, 2 * step),
        )

    zero, one = jnp.zeros_like(cand), jnp.ones_like(cand)
    lo, hi, _ = lax.fori_loop(0, _SEARCH_STEPS, up, (zero, cand, one))
    found = passes(hi)

    def bisect(_, s):  # invariant: lo fails, hi passes
        lo, hi = s
        mid = jnp.floor(lo / 2 + hi / 2)
        p = passes(mid)
        return jnp.where(p, lo, jnp.maximum(lo, mid)), jnp.where(
            p, jnp.minimum(hi, mid), hi
        )

    _, hi = lax.fori_loop(0, _SEARCH_STEPS + 8, bisect, (lo, hi))
    return jnp.where(found, hi, jnp.inf)


def j_min_chapter(
    rho: Float[ArrayLike, ...],
    alpha_ext: Float[ArrayLike, ...],
    alpha_crit: Float[ArrayLike, ...],
    *,
    negative_rho: str = "raise",
) -> Array:
    r"""(39) as printed: $\lceil 1/(1 - x/c) \rceil$ (NaN/negative where it is meaningless).

    Differs from `j_min` by one where $1/(1-x/c)$ is an integer (the ceiling then gives a
    $J$ with equality in (37), not strict inequality) and is meaningless for $x \ge c$.
    """
    rho, a, crit = _j_min_inputs(rho, alpha_ext, alpha_crit, negative_rho)
    return _j_min_chapter(rho, a, crit, negative_rho=negative_rho)


@_jit_nr
def _j_min_chapter(rho, a, crit, negative_rho):
    x = _dt(a, crit)
    c, ok = _rho_factor(rho, negative_rho)
    return nan_outside(ok, jnp.ceil(1 / (1 - x / c)))


def gaussian_kl(mu: Float[ArrayLike, ...], var: Float[ArrayLike, ...]) -> Array:
    r"""$\mathrm{KL}(N(\mu, \sigma^2) \,\|\, N(0, 1)) = \frac12(\sigma^2 + \mu^2 - 1 - \ln\sigma^2)$.

    Args:
      mu: Mean (finite); var: variance $\sigma^2 > 0$. NaN where a traced input is
        outside its domain.
    """
    mu = _check("mu", mu)
    var = _check("var", var, low=0.0, low_open=True)
    _broadcast(mu=mu, var=var)
    return _gaussian_kl(mu, var)


@jax.jit
def _gaussian_kl(mu, var):
    mu, ok = _in(mu)
    var, ok_v = _in(var, low=0.0, low_open=True)
    return nan_outside(ok & ok_v, _kl(mu, var))


def _kl(mu, var):
    return 0.5 * (var + mu**2 - 1 - jnp.log(var))


def _one_run(key, J, alpha_ext, *, J_pad, n, G, source, ddof):
    dtype = alpha_ext.dtype
    active = jnp.arange(J_pad, dtype=J.dtype) < J
    n_ext = jnp.round(alpha_ext * n).astype(jnp.int32)
    real_slot = (
        jnp.arange(n, dtype=jnp.int32) < n_ext
    )  # the first n_ext points of each batch are real

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
            src = jnp.floor(u * J.astype(dtype)).astype(jnp.int32)
        else:  # others: uniform over the J-1 others (itself if J == 1)
            r = jnp.floor(u * jnp.maximum(J - 1, 1).astype(dtype)).astype(jnp.int32)
            own = jnp.arange(J_pad, dtype=jnp.int32)[:, None]
            src = jnp.where(J > 1, r + (r >= own).astype(jnp.int32), own)
        src = jnp.minimum(src, J_pad - 1)
        syn = mu[src] + jnp.sqrt(var[src]) * jr.normal(k_syn, (J_pad, n), dtype)
        x = jnp.where(real_slot[None, :], real, syn)
        mu_new, var_new = fit(x)
        mu_new = jnp.where(active, mu_new, 0.0)
        var_new = jnp.where(active, var_new, 1.0)
        kl = _kl(mu_new, var_new)
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


class CollapseRun(AbstractResult):
    r"""A simulated collapse experiment (`simulate_collapse`), batch axes `*b` first.

    Fields:
      kl: Specialist-mean $\mathrm{KL}(Q_i\|P)$ after each generation, shape `(*b, G)`.
      var: Mean fitted variance $\sigma_i^2$ after each generation, shape `(*b, G)`.
      status: `RESULTS.successful`, or `invalid_parameter` where a traced `alpha_ext` was
        outside [0, 1] (that point's arrays are NaN), shape `*b`.
    """

    kl: Array
    var: Array
    status: RESULTS


def simulate_collapse(
    key: PRNGKeyArray | int,
    J: Float[ArrayLike, ...],
    alpha_ext: Float[ArrayLike, ...],
    *,
    n_samples: int = 100,
    n_steps: int = 200,
    source: str = "pool",
    ddof: int = 1,
) -> CollapseRun:
    r"""Iterated refitting of $J$ Gaussian specialists on real + mesh-synthetic data.

    Every grid point (broadcast of `J` and `alpha_ext`) runs independently, with key
    `fold_in(key, i)` for flat point `i`; the whole grid is one `jit(vmap(scan))`, the
    specialist axis padded to `max(J)`.

    Args:
      key: PRNG key (`jax.random.key`, a legacy key or an int seed).
      J: Number of specialists (integers $\ge 1$), any shape. Concrete: it fixes the
        padded specialist axis.
      alpha_ext: Fraction of each refit's data drawn fresh from the truth, in [0, 1]
        (may be traced).
      n_samples: Points per refit $n$ (static int >= 2); the real count is
        `round(alpha_ext * n)`.
      n_steps: Generations $G$ (static int >= 1).
      source: `"pool"` (synthetic points from any specialist, self included w.p. $1/J$)
        or `"others"` (never self, unless $J = 1$).
      ddof: Variance estimator's delta degrees of freedom (1 = unbiased, 0 = MLE).

    Returns:
      `CollapseRun` with `kl` and `var` of shape `(*b, G)`.

    Raises:
      ValueError: non-integer `J`, `J` outside [1, 2**31 - 1], `alpha_ext` outside
        [0, 1], NaN, bad sizes, or `J` and `alpha_ext` that do not broadcast.
      TypeError: a traced `J` or size; booleans in `J`.

    Cost: O(G · max(J) · n) per grid point.
    """
    key = as_key(key)
    if is_traced(J):
        raise TypeError("`J` fixes the padded specialist axis and must be concrete")
    if isinstance(J, bool | np.bool_) or (
        isinstance(J, list | tuple)
        and any(isinstance(v, bool | np.bool_) for v in np.ravel(np.asarray(J, object)))
    ):  # NumPy would silently read [True, 2] as [1, 2]
        raise TypeError(
            f"`J` must hold numbers of specialists, not booleans; got {J!r}"
        )
    check_array("J", J, low=1.0, high=_INT32_MAX)
    J_np = np.asarray(J)
    if J_np.size == 0:
        raise ValueError("`J` is empty; allowed: at least one number of specialists")
    if np.any(J_np != np.round(J_np)):
        raise ValueError(f"`J` must hold whole numbers >= 1; got {J_np!r}")
    a = _check("alpha_ext", alpha_ext, low=0.0, high=1.0)
    _broadcast(J=J_np, alpha_ext=a)
    n_samples = check_int("n_samples", n_samples, min_value=2)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    check_choice("source", source, ("pool", "others"))
    ddof = check_int("ddof", ddof, min_value=0, max_value=1)
    return _simulate(
        key,
        np.asarray(J_np, np.int32),
        a,
        J_pad=int(J_np.max()),
        n=n_samples,
        G=n_steps,
        source=source,
        ddof=ddof,
    )


@functools.partial(jax.jit, static_argnames=("J_pad", "n", "G", "source", "ddof"))
def _simulate(key, J, a, J_pad, n, G, source, ddof):
    a, ok = _in(a, low=0.0, high=1.0)
    shape = jnp.broadcast_shapes(J.shape, a.shape)
    Jf = jnp.broadcast_to(J, shape).reshape(-1)
    okf = jnp.broadcast_to(ok, shape).reshape(-1)
    af = jnp.broadcast_to(a, shape).reshape(-1)
    af = jnp.where(okf, af, 0.5)
    keys = jax.vmap(lambda i: jr.fold_in(key, i))(jnp.arange(Jf.shape[0]))
    kl, var = _run_batch(keys, Jf, af, J_pad, n, G, source, ddof)
    bad = ~okf[:, None]
    return CollapseRun(
        kl=jnp.where(bad, jnp.nan, kl).reshape(*shape, G),
        var=jnp.where(bad, jnp.nan, var).reshape(*shape, G),
        status=jax.tree_util.tree_map(
            lambda s: s.reshape(shape),
            jax.tree_util.tree_map(
                lambda x, y: jnp.where(okf, x, y),
                RESULTS.successful,
                RESULTS.invalid_parameter,
            ),
        ),
    )


@eqx.filter_jit
def _run_batch(keys, J, alpha_ext, J_pad, n, G, source, ddof):
    fn = lambda k, j, a: _one_run(
        k, j, a, J_pad=J_pad, n=n, G=G, source=source, ddof=ddof
    )
    return jax.vmap(fn)(keys, J, alpha_ext)


def stationary_kl_single(
    alpha: Float[ArrayLike, ...], n_samples: int | Float[ArrayLike, ...]
) -> Array:
    r"""Small-noise estimate of the stationary $\mathrm{KL}$ of one self-refitting Gaussian.

    With real fraction $\alpha$, the mean follows $\mu' = (1-\alpha)\mu + \xi$,
    $\mathrm{Var}\,\xi = 1/n$ at leading order, so $\mathrm{Var}\,\mu = 1/(n\alpha(2-\alpha))$;
    the variance error contributes the same order ($\mathrm{Var}(\sigma^2) \approx 2/n$ per
    step, KL $\approx (\sigma^2-1)^2/4$), total
    $\mathrm{KL} \approx \frac{1}{2n\alpha(2-\alpha)} + \frac{1}{2n\alpha(2-\alpha)}$.
    A reference for tests; `inf` at $\alpha = 0$ (collapse).

    Args:
      alpha: Real fraction in [0, 1]; n_samples: points per refit, $\ge 1$.

    Returns:
      The estimate (an array; NaN where a traced input is outside its domain).
    """
    alpha = _check("alpha", alpha, low=0.0, high=1.0)
    n = _check("n_samples", n_samples, low=1.0)
    _broadcast(alpha=alpha, n_samples=n)
    return _stationary_kl_single(alpha, n)


@jax.jit
def _stationary_kl_single(alpha, n):
    alpha, ok = _in(alpha, low=0.0, high=1.0)
    n, ok_n = _in(n, low=1.0)
    pos = alpha > 0
    a_s = jnp.where(pos, alpha, 1.0)
    out = jnp.where(pos, 1.0 / (n * a_s * (2 - a_s)), jnp.inf)
    return nan_outside(ok & ok_n, out)
