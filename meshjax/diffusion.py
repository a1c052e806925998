r"""Knowledge diffusion on a graph, §5.1–5.2 of the chapter.

* Laplacian dynamics (11), $\dot{\mathbf u} = -L\mathbf u$ with $L = D - A$, solved exactly
  (to a requested tolerance) by a Chebyshev expansion of $e^{-tL}$: `diffuse`.
* The Fiedler eigenvalue $\lambda_2(L)$ (algebraic connectivity) and its vector by
  thick-restart Lanczos on $\mathbf 1^\perp$: `fiedler` (a `SpectralResult` with a status),
  `fiedler_value`, `fiedler_vector`; the adjacency spectral radius $\lambda_{\max}(A)$:
  `leading_adjacency`, `spectral_radius`.
* Lemma 5.1 / eq. (12) in numbers: `consensus_decay` gives
  $\|\mathbf u(t) - \bar u \mathbf 1\|_2$ beside the bound
  $e^{-\lambda_2 t}\|\mathbf u(0) - \bar u \mathbf 1\|_2$.
* Bandwidth (13): `mesh_bandwidth` ($B_{\rm mesh} = N\langle k\rangle$) and
  `bandwidth_crossing` (the $N$ at which it passes a hub's $B_{\rm hub}$).

Every neighbour reduction goes through `meshjax.graph.ops` (`laplacian_matvec`,
`neighbor_sum`), so a graph's per-edge weights (couplings) are honoured wherever the graph
carries them: $L = D - W$ with $D_{ii} = \sum_j w_{ij}$. The weights of present slots must
be finite and non-negative: a concrete graph's are checked on the host (`ValueError`), traced
ones (`jit` or `vmap` over the weights) inside, like any traced parameter (NaN outputs, or
status `RESULTS.invalid_parameter`).
Nothing here forms a dense $n \times n$ matrix except the "dense" eigen-solver, which is for
small graphs (the default switches to it only for $n \le 64$).

Everything here is deterministic (no `key`): the Lanczos start vector is a fixed
pseudo-random vector, so an eigenvalue is a function of the graph alone. Numeric parameters
(`times`, `tol`, `spectral_bound`, `lambda2`, bandwidth arguments) may be traced (`jit`,
`vmap`, `meshjax.sweep.sweep`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from ._custom_types import Array, ArrayLike, Float, Int
from ._results import RESULTS, AbstractResult
from ._spectral import lanczos_extreme
from ._validate import (
    check_array,
    check_choice,
    check_float_dtype,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)
from .graph import Graph, connected_components
from .graph._graph import check_nonnegative_weights, weights_ok
from .graph.ops import centred_laplacian_matvec, laplacian_matvec, neighbor_sum

#: Chebyshev terms used by `diffuse` when the times (or `tol`, `spectral_bound`) are traced
#: and `n_terms` is not given.
TRACED_TERMS = 128


def _graph(graph: Graph) -> Graph:
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    return graph


def _strengths(graph: Graph, dtype) -> Array:
    """Weighted degrees $\\sum_j w_{ij}$ (plain degrees on an unweighted graph)."""
    return neighbor_sum(graph, jnp.ones(graph.n_nodes, dtype))


def _float_dtype(dtype) -> jnp.dtype:
    return jnp.dtype(check_float_dtype("dtype", dtype))


# ---------------------------------------------------------------------------------------
# Laplacian dynamics (11)
# ---------------------------------------------------------------------------------------


def diffuse(
    graph: Graph,
    u0: ArrayLike | Sequence,
    times: ArrayLike | Sequence,
    *,
    tol: ArrayLike | None = None,
    spectral_bound: ArrayLike | None = None,
    n_terms: int | None = None,
) -> Array:
    r"""Solve the Laplacian dynamics (11), $\dot{\mathbf u} = -L \mathbf u$, at given times.

    $\mathbf u(t) = e^{-tL}\mathbf u(0)$ by a Chebyshev expansion on the spectral interval
    $[0, \ell]$, $\ell \ge \lambda_{\max}(L)$ (default $\ell = 2 s_{\max}$, Gershgorin, with
    $s_i = \sum_j w_{ij}$ the weighted degree): with $X = 2L/\ell - I$ and $a = t\ell/2$,
    $$e^{-tL} = e^{-a}\Big[I_0(a) + 2\sum_{j \ge 1} (-1)^j I_j(a)\, T_j(X)\Big],$$
    $I_j$ the modified Bessel functions. Since $\|T_j(X)\| \le 1$, truncating after $K$ terms
    errs by at most $2\sum_{j \ge K} e^{-a} I_j(a)$ times $\|\mathbf u(0) - \bar u\mathbf 1\|$.
    The mean $\bar u$ is taken out first and added back, and the propagated part is
    re-centred, so $\bar u$ is conserved to rounding for any truncation. One pass of the
    three-term recurrence serves all `times`. The coefficients $e^{-a}I_j(a)$ are the
    Fourier coefficients of $e^{a(\cos\theta - 1)}$, computed in JAX by an FFT, so the times
    may be traced.

    Number of terms $K$ (static: it fixes the loop length): `n_terms` if given; else, when
    `times`, `tol` and $\ell$ are concrete, the fewest that meet `tol` at the largest time
    ($K \approx \sqrt{2a\ln(1/\mathrm{tol})}$, rounded up to a multiple of 8); else
    `TRACED_TERMS` (128). If $K$ terms are too few for some time (Bessel tail above
    `tol`), `eqx.error_if` raises: pass a larger `n_terms`.

    Args:
      graph: The graph (masked slots are absent; edge weights, if any, are used: finite
        and >= 0 on present slots; traced weights outside that give NaN everywhere).
      u0: Initial states, shape `(n,)` or `(n, b)` (a batch of `b` initial states).
        Real (ints are converted to the default float); finite.
      times: Non-negative finite times, a scalar or shape `(t,)`, any order. May be traced
        (a traced time outside $[0, \infty)$ gives NaN at that time).
      tol: Absolute truncation error per unit $\|\mathbf u(0) - \bar u\mathbf 1\|_2$, in
        (0, 1); default 1e-6 in float32 and 1e-12 in float64. May be traced.
      spectral_bound: An upper bound $\ell$ on $\lambda_{\max}(L)$ (default
        $2 s_{\max}$, Gershgorin's); a concrete one must be at least
        $\max_i (s_i + \sum_j w_{ij}^2 / s_i)$, the Rayleigh quotient of $L$ at
        $L^{1/2} e_i$ and so a lower bound on $\lambda_{\max}$ ($d_{\max} + 1$ on an
        unweighted graph). A value below the true $\lambda_{\max}$ gives wrong results;
        a traced one is not checked.
      n_terms: Number of Chebyshev terms (static int >= 2); see above.

    Returns:
      $\mathbf u(t)$ of shape `(t, n)` / `(t, n, b)`, or `(n,)` / `(n, b)` for scalar `times`,
      in the float dtype of `u0`. NaN where a traced parameter is outside its domain
      (all of it for traced negative or non-finite weights).

    Raises:
      ValueError: `u0` of the wrong shape, NaN/inf in `u0` or `times`, negative times,
        `tol` outside (0, 1), `spectral_bound` below the lower bound above or
        non-positive, negative or non-finite weights on present slots (a concrete
        graph's).
      TypeError: `graph` is not a `Graph`; non-real `u0`/`times`; traced `n_terms`.

    Cost: $K$ Laplacian mat-vecs, O(K (E + t n) b) work, O(t n b) memory; one compile per
    (shape, $K$).
    """
    graph, u0, times, ell, tol, n_terms = _diffuse_setup(
        graph, u0, times, tol, spectral_bound, n_terms
    )
    if n_terms is None:  # no times
        return jnp.zeros((0,) + u0.shape, _state_dtype(u0))
    return _chebyshev_apply(graph, u0, times, ell, tol, n_terms)


def _state_dtype(u0) -> jnp.dtype:
    """The float dtype `diffuse` computes in: `u0`'s, or the default float for ints."""
    if jnp.issubdtype(u0.dtype, jnp.floating):
        return jnp.dtype(u0.dtype)
    return jnp.dtype(jnp.result_type(float))


@functools.partial(jax.jit, static_argnums=(1,))
def _max_strength(graph: Graph, dtype) -> Array:
    """The largest (weighted) degree in `dtype` (one compiled program per graph)."""
    return jnp.max(_strengths(graph, dtype))


def _present(graph: Graph):
    """Host copies: receivers and weights (ones if unweighted) of the present slots."""
    r = np.asarray(graph.receivers)
    w = np.ones(r.shape) if graph.weights is None else np.asarray(graph.weights)
    if graph.edge_mask is not None:
        keep = np.asarray(graph.edge_mask)
        r, w = r[keep], w[keep]
    return r, w.astype(np.float64)


def _lambda_max_lower_bound(graph: Graph) -> float:
    """max_i (s_i + sum_j w_ij^2 / s_i) <= lambda_max(L): the Rayleigh quotient of L
    at L^(1/2) e_i (float64, on the host; d_max + 1 on an unweighted graph, which the
    old check, s_max, was always below)."""
    r, w = _present(graph)
    s = np.bincount(r, weights=w, minlength=graph.n_nodes)
    sq = np.bincount(r, weights=w * w, minlength=graph.n_nodes)
    pos = s > 0
    return float(np.max(s[pos] + sq[pos] / s[pos])) if pos.any() else 0.0


def _diffuse_setup(graph, u0, times, tol, spectral_bound, n_terms):
    """`diffuse`'s concrete checks and its static term count (`None` for no times).

    Returns `(graph, u0, times, ell, tol, n_terms)` for `_chebyshev_core`: `ell` is
    `None` for the default bound, twice the largest degree (formed inside the compiled
    program).
    """
    graph = _graph(graph)
    n = graph.n_nodes
    u0 = check_array("u0", u0, ndim=(1, 2))
    u0 = check_array("u0", u0, shape=(n,) if u0.ndim == 1 else (n, None))
    dtype = _state_dtype(u0)
    times = check_array("times", times, ndim=(0, 1), low=0.0)
    if n_terms is not None:
        n_terms = check_int("n_terms", n_terms, min_value=2)
    if tol is None:
        tol = 1e-12 if dtype == jnp.float64 else 1e-6
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True, high_open=True)
    # else L has negative eigenvalues, outside the Chebyshev interval [0, l] (a weight
    # of -3 gave 1.7e4 for 74)
    check_nonnegative_weights(graph, "diffusion")
    ell = None
    s_max = None  # concrete s_max, computed only where the host needs it
    if spectral_bound is not None:
        ell = check_real("spectral_bound", spectral_bound, low=0.0, low_open=True)
        if not is_traced((ell, graph)):
            low = _lambda_max_lower_bound(graph)
            if ell < low:
                raise ValueError(
                    f"`spectral_bound`={ell} is below lambda_max(L) >= {low} (the "
                    "largest s_i + sum_j w_ij^2 / s_i; d_max + 1 unweighted); "
                    f"allowed: >= {low}"
                )
    if np.ndim(times) == 1 and np.shape(times)[0] == 0:
        return graph, u0, times, ell, tol, None
    if n_terms is None:
        if is_traced((times, tol, ell, graph)):
            n_terms = TRACED_TERMS
        else:
            if ell is None:
                s_max = float(_max_strength(graph, dtype))
                ell_c = 2.0 * s_max if s_max > 0 else 1.0  # any bound > 0 if no edges
            else:
                ell_c = float(ell)
            a_max = 0.5 * float(np.max(np.asarray(times))) * ell_c
            k = _chebyshev_exp_coeffs(a_max, float(tol)).size
            n_terms = max(8, -(-k // 8) * 8)  # round up: fewer recompiles
    return graph, u0, times, ell, tol, n_terms


def _chebyshev_exp_coeffs(a: float, tol: float) -> np.ndarray:
    r"""Coefficients $c_j = (2 - \delta_{j0})(-1)^j e^{-a} I_j(a)$, truncated at `tol`.

    Host NumPy, float64, used to choose the number of terms: $e^{-a}I_j(a)$ by Miller's
    backward recurrence $I_{j-1} = (2j/a) I_j + I_{j+1}$, normalised by
    $I_0 + 2\sum_{j\ge1} I_j = e^{a}$.
    """
    if a == 0.0:
        return np.ones(1)
    start = int(math.ceil(math.sqrt(2.0 * a * 760.0) + 2.0 * math.log1p(a) + 30))
    start = min(start, int(a) + 40 + int(30 * math.sqrt(a))) if a > 1e4 else start
    vals = np.zeros(start + 2)
    vals[start] = 1e-300
    for j in range(start, 0, -1):
        vals[j - 1] = (2.0 * j / a) * vals[j] + vals[j + 1]
        if vals[j - 1] > 1e250:  # rescale to avoid overflow (small a)
            vals[j - 1 :] *= 1e-250
    vals = vals[: start + 1]
    vals = vals / (vals[0] + 2.0 * vals[1:].sum())
    weights = 2.0 * vals
    weights[0] = vals[0]
    tail = np.cumsum(weights[::-1])[::-1]  # tail[j] = sum_{i >= j} weights[i]
    k = int(np.argmax(np.append(tail, 0.0) <= tol))  # first j with tail[j] <= tol
    k = max(k, 1)
    signs = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
    return weights[:k] * signs


def _bessel_weights(a: Array, k: int) -> tuple[Array, Array]:
    r"""$w_j = (2 - \delta_{j0}) e^{-a} I_j(a)$ for $j < k$, and the mass beyond $k$.

    $e^{-a} I_j(a) = \frac{1}{2\pi}\int_0^{2\pi} e^{a(\cos\theta - 1)}\cos(j\theta)\,d\theta$,
    by the trapezoid rule on $m = 4k$ points (an FFT): exact up to the aliases
    $I_{m \pm j}$, which lie beyond $3k$. `a` has shape `(t,)`, traced or not.
    """
    m = max(4 * k, 16)
    dtype = a.dtype
    theta = (2.0 * jnp.pi / m) * jnp.arange(m, dtype=dtype)
    f = jnp.exp(a[:, None] * (jnp.cos(theta) - 1.0))  # (t, m), values in (0, 1]
    c = jnp.real(jnp.fft.rfft(f, axis=-1)).astype(dtype) / m  # (t, m // 2 + 1)
    mult = jnp.where(jnp.arange(c.shape[1]) == 0, 1.0, 2.0).astype(dtype)
    w = c * mult
    tail = jnp.sum(jnp.abs(w[:, k:]), axis=1)  # mass between k and ~3k
    return w[:, :k], tail


@functools.partial(jax.jit, static_argnums=(5,))
def _chebyshev_apply(graph, u0, times, ell, tol, n_terms: int) -> Array:
    """`diffuse` after its checks: one compiled program per (graph, shapes, K)."""
    out = _chebyshev_core(graph, u0, times, ell, tol, n_terms)
    return out[0] if jnp.ndim(times) == 0 else out


def _chebyshev_core(
    graph: Graph,
    u0: Array,
    times: Array,
    ell: Array | None,
    tol: Array,
    n_terms: int,
) -> Array:
    """$e^{-tL} u_0$ at `times` (scalar or `(t,)`), shape `(t, n, *b)`; traced body."""
    dtype = _state_dtype(u0)
    u0 = jnp.asarray(u0, dtype)
    times = jnp.asarray(jnp.atleast_1d(times), dtype)
    w_ok = weights_ok(graph)  # traced weights: checked here (concrete: on the host)
    # bad weights: any finite bound (no error_if on a NaN tail); the output is NaN
    s_max = jnp.where(w_ok, jnp.max(_strengths(graph, dtype)), 0.0)
    if ell is None:
        ell = jnp.where(s_max > 0, 2.0 * s_max, 1.0)  # any bound > 0 if no edges
    ell = jnp.asarray(ell, dtype)
    tol = jnp.asarray(tol, dtype)
    ok_t = in_domain(times, low=0.0)  # (t,)
    ok = (
        w_ok
        & in_domain(ell, low=0.0, low_open=True)
        & (ell >= s_max)
        & in_domain(tol, low=0.0, high=1.0, low_open=True, high_open=True)
    )
    ell_s = jnp.where(ok, ell, jnp.maximum(2.0 * s_max, 1.0))
    a = jnp.where(ok_t, 0.5 * times * ell_s, 0.0)
    w, tail = _bessel_weights(a, n_terms)
    signs = jnp.where(jnp.arange(n_terms) % 2 == 0, 1.0, -1.0).astype(dtype)
    coeffs = (w * signs).T  # (K, t)
    eps = jnp.finfo(dtype).eps
    enough = tail <= jnp.where(ok, tol, 1.0) + n_terms * eps
    u0 = eqx.error_if(
        u0,
        ~jnp.all(enough),
        f"diffuse: n_terms={n_terms} Chebyshev terms are too few for the largest time "
        "(the Bessel tail exceeds `tol`); pass a larger `n_terms` (about "
        "sqrt(2 a ln(1/tol)) + 10 for a = t * spectral_bound / 2)",
        on_error="raise",  # depends on the data: raises even under EQX_ON_ERROR=nan
    )

    mean = jnp.mean(u0, axis=0)
    v = u0 - mean
    scale = 2.0 / ell_s

    def xmul(x):  # X x = (2 L / ell - I) x; x stays centred (L 1 = 0)
        return scale * centred_laplacian_matvec(graph, x) - x

    n_t = coeffs.shape[1]
    bshape = (n_t,) + (1,) * v.ndim
    t0, t1 = v, xmul(v)
    acc = coeffs[0].reshape(bshape) * t0 + coeffs[1].reshape(bshape) * t1

    def body(carry, c):
        tp, tc, acc = carry
        tn = 2.0 * xmul(tc) - tp
        return (tc, tn, acc + c.reshape(bshape) * tn), None

    (_, _, acc), _ = lax.scan(body, (t0, t1, acc), coeffs[2:])
    acc = acc - jnp.mean(acc, axis=1, keepdims=True)  # exp(-tL) preserves the mean
    out = acc + mean
    good = (ok & ok_t).reshape(bshape)
    return nan_outside(good, out)


def consensus_distance(u: ArrayLike | Sequence) -> Array:
    r"""$\|\mathbf u - \bar u \mathbf 1\|_2$ over the node axis (the second-to-last of
    `(t, n)`, or the first of `(n,)`); for `(t, n, b)` the norm is per column `b`.

    Args:
      u: Real states of shape `(n,)`, `(t, n)` or `(t, n, b)`.

    Returns:
      Shape `()`, `(t,)` or `(t, b)`.
    """
    u = check_array("u", u, ndim=(1, 2, 3), nonempty=True)
    if is_traced(u):
        return _consensus_distance(u)
    return _consensus_distance_jit(u)  # one compiled program, not one per op


def _consensus_distance(u: Array) -> Array:
    if not jnp.issubdtype(u.dtype, jnp.floating):
        u = jnp.asarray(u, jnp.result_type(float))
    axis = 0 if u.ndim == 1 else 1
    return jnp.linalg.norm(u - jnp.mean(u, axis=axis, keepdims=True), axis=axis)


_consensus_distance_jit = jax.jit(_consensus_distance)


class DecayCurve(AbstractResult):
    r"""Lemma 5.1 in numbers (`consensus_decay`).

    Attributes:
      times: The times $t$, shape `(t,)`.
      distance: $\|\mathbf u(t) - \bar u\mathbf 1\|_2$, shape `(t,)` or `(t, b)`.
      bound: $e^{-\lambda_2 t}\|\mathbf u(0) - \bar u\mathbf 1\|_2$, same shape.
      lambda2: The $\lambda_2$ used (given, or from `fiedler`), shape `()`.
      status: `RESULTS.successful`; `disconnected` when $\lambda_2$ came from `fiedler`
        on a disconnected graph (then the bound is constant); `not_converged` when that
        Lanczos run did not converge; `invalid_parameter` (numeric fields NaN) when a
        traced `lambda2`, time or `tol` is outside its domain, or traced edge weights
        are negative or non-finite on a present slot.
    """

    times: Float[Array, " t"]
    distance: Float[Array, " t *b"]
    bound: Float[Array, " t *b"]
    lambda2: Float[Array, ""]
    status: RESULTS


def consensus_decay(
    graph: Graph,
    u0: ArrayLike | Sequence,
    times: ArrayLike | Sequence,
    *,
    lambda2: ArrayLike | None = None,
    tol: ArrayLike | None = None,
    n_terms: int | None = None,
) -> DecayCurve:
    r"""The decay of disagreement under (11) beside the bound (12) of Lemma 5.1.

    (12) holds for every connected graph and every $\mathbf u(0)$: writing
    $\mathbf u(0) - \bar u\mathbf 1 = \sum_{i\ge2} c_i \phi_i$ in Laplacian eigenvectors,
    $\|\mathbf u(t) - \bar u\mathbf 1\|^2 = \sum_i c_i^2 e^{-2\lambda_i t}
    \le e^{-2\lambda_2 t}\sum_i c_i^2$. It is tight only for $\mathbf u(0) \propto \phi_2$;
    for a generic start the distance falls faster at first and at rate $\lambda_2$ later.

    Args:
      graph: The graph (weights as for `diffuse`: finite and >= 0 on present slots).
      u0: `(n,)` or `(n, b)` initial states.
      times: Scalar or `(t,)` non-negative times (may be traced).
      lambda2: $\lambda_2(L) \ge 0$ if known (may be traced); default from `fiedler`.
      tol, n_terms: Passed to `diffuse`.

    Returns:
      A `DecayCurve`.

    Raises:
      ValueError: as `diffuse` (bad `u0`, `times`, `tol`, a concrete graph's negative or
        non-finite weights); `lambda2` negative or not finite.
    """
    graph = _graph(graph)
    if lambda2 is None:
        fr = fiedler(graph)
        lam, status = fr.value, fr.status
    else:
        lam = check_real("lambda2", lambda2, low=0.0)
        status = RESULTS.successful
    times = check_array("times", times, ndim=(0, 1), low=0.0)
    graph, u0, times, _, tol_c, n_terms = _diffuse_setup(
        graph, u0, times, tol, None, n_terms
    )
    if n_terms is None:  # no times: the distance of no states
        consensus_distance(np.zeros((0,) + tuple(u0.shape)))  # raises
    return _consensus_decay(
        graph, u0, times, lam, status, tol_c, n_terms, tol is not None
    )


@functools.partial(jax.jit, static_argnums=(6, 7))
def _consensus_decay(
    graph, u0, times, lam, status, tol, n_terms: int, tol_given: bool
) -> DecayCurve:
    """`consensus_decay` after its checks: one compiled program per (graph, shapes, K)."""
    u = _chebyshev_core(graph, u0, times, None, tol, n_terms)  # (t, n, *b)
    dtype = u.dtype
    lam = jnp.asarray(lam, dtype)
    t = jnp.asarray(jnp.atleast_1d(times), dtype)
    d0 = _consensus_distance(jnp.asarray(u0, dtype)[None])[0]
    shape = (-1,) + (1,) * (d0.ndim)
    bound = jnp.exp(-lam * t).reshape(shape) * d0
    ok = in_domain(lam, low=0.0) & jnp.all(in_domain(t, low=0.0)) & weights_ok(graph)
    if tol_given:
        ok &= in_domain(tol, low=0.0, high=1.0, low_open=True, high_open=True)
    status = RESULTS.where(ok, status, RESULTS.invalid_parameter)
    return DecayCurve(
        times=t,
        distance=nan_outside(ok, _consensus_distance(u)),
        bound=nan_outside(ok, bound),
        lambda2=nan_outside(ok, lam),
        status=status,
    )


# ---------------------------------------------------------------------------------------
# Spectra: Fiedler value, spectral radius
# ---------------------------------------------------------------------------------------


class SpectralResult(AbstractResult):
    r"""An extreme eigenpair and how far it can be trusted (`fiedler`, `leading_adjacency`).

    Attributes:
      value: The eigenvalue estimate (Lanczos: the Rayleigh quotient of `vector`; dense:
        `eigh`'s eigenvalue; exact 0 for a disconnected graph's $\lambda_2$), shape `()`.
      vector: Unit eigenvector estimate, shape `(n,)` (sign arbitrary).
      residual: $\|M x - \theta x\|_2$, computed (not the Lanczos recurrence's
        estimate, which leaves out rounding); some eigenvalue of $M$ lies within it of
        `value`.
      n_matvec: Operator applications used (0 for the dense solver and for a
        disconnected graph), int32.
      n_components: Number of connected components (`fiedler`; with weights, joined by
        edges of positive weight); -1 where not computed (`leading_adjacency`), int32.
      status: `RESULTS.successful`; `disconnected` (`fiedler` only, on a disconnected graph:
        $\lambda_2 = 0$ exactly, an answer); `not_converged` (Lanczos stopped before
        `residual <= tol * scale`, at `max_restarts` or where the recurrence's estimate
        fell to a quarter of the computed residual and more cycles would not help
        (usually the precision's floor): `value` is the best estimate,
        `residual` bounds its error); `invalid_parameter` (traced `tol` outside (0, 1),
        or traced edge weights negative or non-finite on a present slot: numeric fields
        NaN, `n_matvec` 0 for those weights, since the solver does not run).
    """

    value: Float[Array, ""]
    vector: Float[Array, " n"]
    residual: Float[Array, ""]
    n_matvec: Int[Array, ""]
    n_components: Int[Array, ""]
    status: RESULTS


def _lap_mv(graph, x):  # Lanczos deflates 1: every x it is given is centred
    return centred_laplacian_matvec(graph, x)


def _adj_mv(graph, x):
    return neighbor_sum(graph, x)


def _dense_operator(graph: Graph, dtype, *, adjacency: bool) -> Array:
    """$A$ or $L$ as a dense `(n, n)` matrix, column by column through the graph ops."""
    eye = jnp.eye(graph.n_nodes, dtype=dtype)
    return neighbor_sum(graph, eye) if adjacency else laplacian_matvec(graph, eye)


def _lanczos_options(m, k, max_restarts, tol, dtype):
    m = check_int("basis_size", m, min_value=2)
    k = check_int("keep", k, min_value=1)
    max_restarts = check_int("max_restarts", max_restarts, min_value=1)
    if tol is None:
        tol = 1e-9 if dtype == jnp.float64 else 2e-5
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True, high_open=True)
    return m, k, max_restarts, tol


def _start_vector(n: int, dtype) -> Array:
    """The fixed pseudo-random Lanczos start (so results depend on the graph only)."""
    return jr.normal(jr.key(0), (n,), dtype)


def fiedler(
    graph: Graph,
    *,
    tol: ArrayLike | None = None,
    method: str = "auto",
    basis_size: int = 64,
    keep: int = 24,
    max_restarts: int = 1000,
    dtype=None,
) -> SpectralResult:
    r"""The Fiedler pair $(\lambda_2(L), \phi_2)$, the algebraic connectivity of §5.1.

    A disconnected graph has $\lambda_2 = 0$: this is detected first with
    `connected_components` and returned with status `RESULTS.disconnected` (the vector is
    the centred indicator of the component of node 0, an exact null vector in
    $\mathbf 1^\perp$). With weights, only edges of positive weight join components (a
    zero-weight edge adds nothing to $L$), and `n_components` counts those components.
    Otherwise $\lambda_2$ is the smallest eigenvalue of $L$ restricted
    to $\mathbf 1^\perp$, found by thick-restart Lanczos with full reorthogonalisation
    (`meshjax._spectral`), every vector kept orthogonal to $\mathbf 1$, from a fixed
    pseudo-random start. After each cycle the best Ritz vector $x$ is judged on $L$
    itself: the value is its Rayleigh quotient $\theta = x^\top L x$ and the stopping
    test is on the computed residual, $\|L x - \theta x\| \le \mathrm{tol}\cdot 2 s_{\max}$.
    If it is not met in `max_restarts` cycles, or cannot be (the recurrence has
    converged and rounding makes up nearly all of the residual: in float32 about
    $10^{-7}$ to $2\cdot 10^{-6}$ of $2 s_{\max}$ from $10^3$ to $10^6$ nodes), the
    status is `RESULTS.not_converged` (the value is still the best estimate and
    `residual` says how far off it may be). Jittable, also over the
    graph (a batch of graphs of one shape).

    Args:
      graph: The graph ($n \ge 2$); edge weights, if any, are used: finite and >= 0
        on present slots (traced ones outside that give `invalid_parameter`).
      tol: Relative residual tolerance in (0, 1); default 1e-9 (float64) or 2e-5
        (float32). May be traced.
      method: "lanczos", "dense" ($O(n^2)$ memory, `eigh`; only for small $n$) or "auto"
        (dense for $n \le 64$).
      basis_size: Lanczos basis per cycle $m \ge 2$ (memory $m n$).
      keep: Ritz vectors kept at a restart, $1 \le$ keep (clipped to $m - 1$).
      max_restarts: Cycle limit (>= 1).
      dtype: "float32" or "float64" (default: JAX's default float; float64 needs
        `jax_enable_x64`).

    Returns:
      A `SpectralResult`.

    Raises:
      ValueError: $n < 2$, bad `method`/`basis_size`/`keep`/`tol`/`max_restarts`/`dtype`,
        negative or non-finite weights on present slots (a concrete graph's).

    Cost: O(n + E) per mat-vec plus $O(m n)$ per reorthogonalisation; iterations grow as
    $\sqrt{\lambda_{\max}/(\lambda_3 - \lambda_2)}$ in the worst case.
    """
    graph = _graph(graph)
    n = graph.n_nodes
    if n < 2:
        raise ValueError(f"`graph` has n_nodes={n}; the Fiedler value needs n >= 2")
    method = check_choice("method", method, ("auto", "lanczos", "dense"))
    dtype = _float_dtype(dtype)
    m, k, max_restarts, tol = _lanczos_options(
        basis_size, keep, max_restarts, tol, dtype
    )
    # else L has negative eigenvalues and lambda_2 is no connectivity
    check_nonnegative_weights(graph, "the Fiedler value")
    dense = method == "dense" or (method == "auto" and n <= 64)
    m = min(m, n - 1)
    if not dense and m < 2:
        raise ValueError(
            f"`graph` has n_nodes={n}: Lanczos on 1-perp needs n >= 3; use method='dense'"
        )
    return _fiedler(graph, _as_dtype(tol, dtype), dense, m, min(k, m - 1), max_restarts)


def _as_dtype(x, dtype):
    """`x` as `dtype`: a NumPy scalar when concrete (no compiled conversion program)."""
    return jnp.asarray(x, dtype) if is_traced(x) else np.asarray(x, dtype)


# `max_restarts` is a traced argument (the Lanczos while-loop bound): changing it does not
# recompile; the compiled program depends on the graph's structure, `dense`, `m` and `k`.
@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _fiedler(graph, tol, dense, m, k, max_restarts) -> SpectralResult:
    n = graph.n_nodes
    dtype = tol.dtype
    w_ok = weights_ok(graph)  # traced weights (a concrete graph's: on the host)
    ok = in_domain(tol, low=0.0, high=1.0, low_open=True, high_open=True) & w_ok
    tol = jnp.where(ok, tol, 0.5)
    # Joined by edges of positive weight: a zero-weight edge adds nothing to L, so two
    # parts held together by such edges alone make lambda_2 exactly 0 as well.
    labels = connected_components(
        graph, None if graph.weights is None else graph.weights > 0
    )
    n_comp = jnp.sum(labels == jnp.arange(n, dtype=labels.dtype), dtype=jnp.int32)
    split = n_comp > 1
    ind = (labels == labels[0]).astype(dtype)
    vec_d = ind - jnp.mean(ind)
    vec_d = vec_d / jnp.maximum(jnp.linalg.norm(vec_d), jnp.finfo(dtype).tiny)
    zero = jnp.zeros((), dtype)
    if dense:
        lap = jnp.where(w_ok, _dense_operator(graph, dtype, adjacency=False), 0.0)
        w, v = jnp.linalg.eigh(lap)
        value, vector = w[1], v[:, 1]
        residual = jnp.linalg.norm(lap @ vector - value * vector)
        n_mv = jnp.zeros((), jnp.int32)
        conv = jnp.asarray(True)
    else:
        scale = jnp.maximum(2.0 * jnp.max(_strengths(graph, dtype)), 1e-30)

        def run(_):
            r = lanczos_extreme(
                _lap_mv,
                graph,
                _start_vector(n, dtype),
                m=m,
                k=k,
                largest=False,
                tol=tol,
                scale=scale,
                max_restarts=jnp.where(w_ok, max_restarts, 0),  # (for vmap: no cycle)
                deflate_constant=True,
            )
            return r.value, r.vector, r.residual, r.n_matvec, r.converged

        def skip(_):
            return zero, vec_d, zero, jnp.zeros((), jnp.int32), jnp.asarray(True)

        # bad weights: no Lanczos run (NaN in the operator never converges)
        value, vector, residual, n_mv, conv = lax.cond(split | ~w_ok, skip, run, None)
    status = RESULTS.where(conv, RESULTS.successful, RESULTS.not_converged)
    status = RESULTS.where(split, RESULTS.disconnected, status)
    status = RESULTS.where(ok, status, RESULTS.invalid_parameter)
    return SpectralResult(
        value=nan_outside(ok, jnp.where(split, zero, value)),
        vector=nan_outside(ok, jnp.where(split, vec_d, vector)),
        residual=nan_outside(ok, jnp.where(split, zero, residual)),
        n_matvec=jnp.where(split | ~w_ok, 0, n_mv).astype(jnp.int32),
        n_components=n_comp,
        status=status,
    )


def _answer_or_nan(res: SpectralResult, x: Array) -> Array:
    """`x` where the status is an answer (successful, disconnected), NaN elsewhere."""
    return nan_outside(res.is_successful(), x)


def fiedler_value(
    graph: Graph,
    *,
    tol: ArrayLike | None = None,
    method: str = "auto",
    basis_size: int = 64,
    keep: int = 24,
    max_restarts: int = 1000,
    dtype=None,
) -> Array:
    r"""$\lambda_2(L)$ (algebraic connectivity) as a number; see `fiedler`.

    Exactly 0 for a disconnected graph; NaN when Lanczos did not converge, `tol` is out
    of its domain or traced weights are negative or non-finite (use `fiedler` to see the
    status, the residual and the best estimate).
    """
    res = fiedler(
        graph,
        tol=tol,
        method=method,
        basis_size=basis_size,
        keep=keep,
        max_restarts=max_restarts,
        dtype=dtype,
    )
    return _answer_or_nan(res, res.value)


def fiedler_vector(
    graph: Graph,
    *,
    tol: ArrayLike | None = None,
    method: str = "auto",
    basis_size: int = 64,
    keep: int = 24,
    max_restarts: int = 1000,
    dtype=None,
) -> Array:
    r"""The Fiedler vector $\phi_2$ (unit norm, sign arbitrary); see `fiedler`.

    NaN when Lanczos did not converge, `tol` is out of its domain or traced weights are
    negative or non-finite.
    """
    res = fiedler(
        graph,
        tol=tol,
        method=method,
        basis_size=basis_size,
        keep=keep,
        max_restarts=max_restarts,
        dtype=dtype,
    )
    return _answer_or_nan(res, res.vector)


def leading_adjacency(
    graph: Graph,
    *,
    tol: ArrayLike | None = None,
    basis_size: int = 32,
    keep: int = 8,
    max_restarts: int = 1000,
    dtype=None,
) -> SpectralResult:
    r"""The leading eigenpair of the adjacency matrix, $(\lambda_{\max}(A), \mathbf v)$.

    Thick-restart Lanczos on $A$ (largest algebraic eigenvalue, which for a graph with
    non-negative weights is the spectral radius, Perron–Frobenius) from the constant
    vector (it overlaps the non-negative Perron vector). Residual tolerance relative to
    $s_{\max}$ ($\ge \lambda_{\max}(A)$). Small graphs ($n \le 64$) use a dense `eigh`.
    All three (spectral radius, Perron start, $s_{\max}$ as the scale) need the weights of
    present slots finite and >= 0.

    Args: as `fiedler` (no `method`).

    Returns:
      A `SpectralResult` (`n_components` = -1; status `successful`, `not_converged` or
      `invalid_parameter`, the last for a traced `tol` outside (0, 1) or traced
      negative or non-finite weights).

    Raises:
      ValueError: bad `basis_size`/`keep`/`tol`/`max_restarts`/`dtype`, negative or
        non-finite weights on present slots (a concrete graph's).
    """
    return _leading(*_leading_args(graph, tol, basis_size, keep, max_restarts, dtype))


def _leading_args(graph, tol, basis_size, keep, max_restarts, dtype) -> tuple:
    """`leading_adjacency`'s checks; the arguments of `_leading`."""
    graph = _graph(graph)
    dtype = _float_dtype(dtype)
    m, k, max_restarts, tol = _lanczos_options(
        basis_size, keep, max_restarts, tol, dtype
    )
    check_nonnegative_weights(graph, "the leading adjacency eigenpair (Perron)")
    n = graph.n_nodes
    dense = n <= 64
    m = min(m, n)
    return graph, _as_dtype(tol, dtype), dense, m, min(k, m - 1), max_restarts


@functools.partial(jax.jit, static_argnums=(2, 3, 4))  # max_restarts traced, as above
def _leading(graph, tol, dense, m, k, max_restarts) -> SpectralResult:
    n = graph.n_nodes
    dtype = tol.dtype
    w_ok = weights_ok(graph)  # traced weights (a concrete graph's: on the host)
    ok = in_domain(tol, low=0.0, high=1.0, low_open=True, high_open=True) & w_ok
    tol = jnp.where(ok, tol, 0.5)
    if dense:
        a = jnp.where(w_ok, _dense_operator(graph, dtype, adjacency=True), 0.0)
        w, v = jnp.linalg.eigh(a)
        value, vector = w[-1], v[:, -1]
        residual = jnp.linalg.norm(a @ vector - value * vector)
        n_mv = jnp.zeros((), jnp.int32)
        conv = jnp.asarray(True)
    else:
        s_max = jnp.max(_strengths(graph, dtype))
        r = lanczos_extreme(
            _adj_mv,
            graph,
            jnp.ones(n, dtype),
            m=m,
            k=k,
            largest=True,
            tol=tol,
            scale=jnp.where(s_max > 0, s_max, 1.0),
            max_restarts=jnp.where(w_ok, max_restarts, 0),  # bad weights: no cycle
            deflate_constant=False,
        )
        value, vector, residual = r.value, r.vector, r.residual
        n_mv, conv = r.n_matvec, r.converged
    status = RESULTS.where(conv, RESULTS.successful, RESULTS.not_converged)
    status = RESULTS.where(ok, status, RESULTS.invalid_parameter)
    return SpectralResult(
        value=nan_outside(ok, value),
        vector=nan_outside(ok, vector),
        residual=nan_outside(ok, residual),
        n_matvec=jnp.where(w_ok, n_mv, 0).astype(jnp.int32),
        n_components=jnp.asarray(-1, jnp.int32),
        status=status,
    )


def spectral_radius(
    graph: Graph,
    *,
    tol: ArrayLike | None = None,
    basis_size: int = 32,
    keep: int = 8,
    max_restarts: int = 1000,
    dtype=None,
) -> Array:
    r"""$\lambda_{\max}(A)$, the adjacency spectral radius (the QMF epidemic threshold is
    its inverse). See `leading_adjacency`; NaN when Lanczos did not converge, `tol` is
    out of its domain or traced weights are negative or non-finite."""
    res = leading_adjacency(
        graph,
        tol=tol,
        basis_size=basis_size,
        keep=keep,
        max_restarts=max_restarts,
        dtype=dtype,
    )
    return _answer_or_nan(res, res.value)


# ---------------------------------------------------------------------------------------
# Bandwidth (13)
# ---------------------------------------------------------------------------------------


def _nonneg(name: str, x, *, positive: bool = False) -> Array:
    """A non-negative (positive) real array argument: concrete values checked here,
    traced ones checked inside (`_nonneg_in`)."""
    return check_array(name, x, low=0.0, low_open=positive)


def _nonneg_in(x, *, positive: bool = False) -> tuple[Array, Array]:
    """Inside the compiled formula: `x` as the default float and its in-domain mask."""
    x = jnp.asarray(x, jnp.result_type(float))
    return x, in_domain(x, low=0.0, low_open=positive)


def mesh_bandwidth(
    n_nodes: ArrayLike, mean_degree: ArrayLike, link_capacity: ArrayLike = 1.0
) -> Array:
    r"""Eq. (13)'s left side: $B_{\rm mesh} = N\langle k\rangle c$.

    $N\langle k\rangle = 2E$ counts each link once per direction, so this is the total
    capacity when every link carries `link_capacity` each way.

    Args (broadcast; may be traced, NaN where a traced value is out of range):
      n_nodes: $N \ge 0$ (a number here, not a graph size: it may be an array).
      mean_degree: $\langle k\rangle \ge 0$.
      link_capacity: $c \ge 0$.
    """
    return _mesh_bandwidth(
        _nonneg("n_nodes", n_nodes),
        _nonneg("mean_degree", mean_degree),
        _nonneg("link_capacity", link_capacity),
    )


@jax.jit
def _mesh_bandwidth(n, k, c) -> Array:
    n, ok_n = _nonneg_in(n)
    k, ok_k = _nonneg_in(k)
    c, ok_c = _nonneg_in(c)
    return nan_outside(ok_n & ok_k & ok_c, n * k * c)


def bandwidth_crossing(
    hub_bandwidth: ArrayLike, mean_degree: ArrayLike, link_capacity: ArrayLike = 1.0
) -> Array:
    r"""The $N$ at which (13) turns: $N^\times = B_{\rm hub} / (\langle k\rangle c)$; the
    mesh out-serves the hub for $N > N^\times$.

    Args (broadcast; may be traced, NaN where a traced value is out of range):
      hub_bandwidth: $B_{\rm hub} \ge 0$.
      mean_degree: $\langle k\rangle > 0$.
      link_capacity: $c > 0$ (same units as $B_{\rm hub}$).
    """
    return _bandwidth_crossing(
        _nonneg("hub_bandwidth", hub_bandwidth),
        _nonneg("mean_degree", mean_degree, positive=True),
        _nonneg("link_capacity", link_capacity, positive=True),
    )


@jax.jit
def _bandwidth_crossing(b, k, c) -> Array:
    b, ok_b = _nonneg_in(b)
    k, ok_k = _nonneg_in(k, positive=True)
    c, ok_c = _nonneg_in(c, positive=True)
    ok = ok_b & ok_k & ok_c
    return nan_outside(ok, b / jnp.where(ok, k * c, 1.0))


__all__ = [
    "TRACED_TERMS",
    "DecayCurve",
    "SpectralResult",
    "bandwidth_crossing",
    "consensus_decay",
    "consensus_distance",
    "diffuse",
    "fiedler",
    "fiedler_value",
    "fiedler_vector",
    "leading_adjacency",
    "mesh_bandwidth",
    "spectral_radius",
]
