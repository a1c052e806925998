r"""Knowledge diffusion on a graph, §5.1–5.2 of the chapter.

* Laplacian dynamics (11), $\dot{\mathbf u} = -L\mathbf u$ with $L = D - A$, solved exactly
  (to a requested tolerance) by a Chebyshev expansion of $e^{-tL}$: `diffuse`.
* The Fiedler eigenvalue $\lambda_2(L)$ (algebraic connectivity) and its vector by
  thick-restart Lanczos on $\mathbf 1^\perp$: `fiedler`, `fiedler_value`, `fiedler_vector`;
  the adjacency spectral radius $\lambda_{\max}(A)$: `spectral_radius`.
* Lemma 5.1 / eq. (12) in numbers: `consensus_decay` gives
  $\|\mathbf u(t) - \bar u \mathbf 1\|_2$ beside the bound
  $e^{-\lambda_2 t}\|\mathbf u(0) - \bar u \mathbf 1\|_2$.
* Bandwidth (13): `mesh_bandwidth` ($B_{\rm mesh} = N\langle k\rangle$) and
  `bandwidth_crossing` (the $N$ at which it passes a hub's $B_{\rm hub}$).

Nothing here forms a dense $n \times n$ matrix except `fiedler(..., method="dense")`, which
is for small graphs (the default switches to it only for $n \le 64$).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from ._checks import check_int, check_real
from ._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from ._spectral import lanczos_extreme
from .graph import Graph, connected_components, laplacian_matvec


class ConvergenceWarning(RuntimeWarning):
    """An iterative eigen-solver stopped before reaching its tolerance."""


# ---------------------------------------------------------------------------------------
# Laplacian dynamics (11)
# ---------------------------------------------------------------------------------------


def diffuse(
    graph: Graph,
    u0: ArrayLike,
    times: ArrayLike,
    *,
    tol: float | None = None,
    spectral_bound: float | None = None,
) -> Float[Array, "t n *b"]:
    r"""Solve the Laplacian dynamics (11), $\dot{\mathbf u} = -L \mathbf u$, at given times.

    $\mathbf u(t) = e^{-tL}\mathbf u(0)$ by a Chebyshev expansion on the spectral interval
    $[0, \ell]$, $\ell \ge \lambda_{\max}(L)$ (default $\ell = 2 k_{\max}$, Gershgorin):
    with $X = 2L/\ell - I$ and $a = t\ell/2$,
    $$e^{-tL} = e^{-a}\Big[I_0(a) + 2\sum_{j \ge 1} (-1)^j I_j(a)\, T_j(X)\Big],$$
    $I_j$ the modified Bessel functions. Since $\|T_j(X)\| \le 1$, truncating after $K$ terms
    errs by at most $2\sum_{j > K} e^{-a} I_j(a)$ times $\|\mathbf u(0) - \bar u\mathbf 1\|$;
    $K$ is the smallest with this below `tol`, $K \approx \sqrt{2a\ln(1/\mathrm{tol})}$.
    The mean $\bar u$ is taken out first and added back, and the propagated part is
    re-centred, so $\bar u$ is conserved to rounding for any truncation. One pass of the
    three-term recurrence serves all `times` (the coefficients differ, the vectors do not).

    Args:
      graph: The graph (masked slots are absent).
      u0: Initial states, shape `(n,)` or `(n, b)` (a batch of `b` initial states).
        Floating point (ints are converted); finite.
      times: Non-negative finite times, a scalar or shape `(t,)`, any order.
      tol: Absolute truncation error per unit $\|\mathbf u(0) - \bar u\mathbf 1\|_2$;
        default 1e-6 in float32 and 1e-12 in float64.
      spectral_bound: An upper bound $\ell$ on $\lambda_{\max}(L)$ (default $2k_{\max}$).
        A value below the true $\lambda_{\max}$ gives wrong results.

    Returns:
      $\mathbf u(t)$ of shape `(t, n)` / `(t, n, b)`, or `(n,)` / `(n, b)` for scalar `times`.

    Raises:
      ValueError: `u0` of the wrong shape, NaN/inf in `u0` or `times`, negative times,
        `tol` outside (0, 1), non-positive `spectral_bound`.
      TypeError: `graph` is not a `Graph`.

    Cost: $K_{\max}$ Laplacian mat-vecs, O(K (E + t n) b) work, O(t n b) memory; one compile
    per (shape, rounded $K$). The times are read on the host (not traceable).
    """
    _check_graph(graph)
    u0 = _check_states(graph, u0)
    t_arr = np.asarray(times, dtype=np.float64) if _is_concrete(times) else None
    if t_arr is None:
        raise TypeError(
            "`times` must be concrete (a NumPy/JAX array or numbers), not traced"
        )
    scalar = t_arr.ndim == 0
    t_arr = np.atleast_1d(t_arr)
    if t_arr.ndim != 1:
        raise ValueError(f"`times` must be a scalar or 1-D, got shape {t_arr.shape}")
    if not np.all(np.isfinite(t_arr)):
        raise ValueError("`times` must be finite; got NaN or inf")
    if t_arr.size and t_arr.min() < 0:
        raise ValueError(f"`times` has a value {t_arr.min()}; allowed: >= 0")
    dtype = u0.dtype
    if tol is None:
        tol = 1e-12 if dtype == jnp.float64 else 1e-6
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True, high_open=True)
    if spectral_bound is None:
        ell = 2.0 * float(jnp.max(graph.degrees()))
    else:
        ell = check_real("spectral_bound", spectral_bound, low=0.0, low_open=True)
    if ell == 0.0 or t_arr.size == 0:  # no edges: nothing moves
        out = jnp.broadcast_to(u0, (t_arr.size,) + u0.shape)
        return out[0] if scalar else out
    cols = [_chebyshev_exp_coeffs(0.5 * t * ell, tol) for t in t_arr]
    k_max = max(c.size for c in cols)
    k_pad = max(8, -(-k_max // 8) * 8)  # round up: fewer recompiles
    coeffs = np.zeros((k_pad, t_arr.size))
    for i, c in enumerate(cols):
        coeffs[: c.size, i] = c
    out = _chebyshev_apply(
        graph, u0, jnp.asarray(coeffs, dtype), jnp.asarray(ell, dtype)
    )
    return out[0] if scalar else out


def _chebyshev_exp_coeffs(a: float, tol: float) -> np.ndarray:
    r"""Coefficients $c_j = (2 - \delta_{j0})(-1)^j e^{-a} I_j(a)$, truncated at `tol`.

    $e^{-a}I_j(a)$ by Miller's backward recurrence $I_{j-1} = (2j/a) I_j + I_{j+1}$,
    normalised by $I_0 + 2\sum_{j\ge1} I_j = e^{a}$. Host NumPy, float64.
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


@jax.jit
def _chebyshev_apply(graph: Graph, u0: Array, coeffs: Array, ell: Array) -> Array:
    mean = jnp.mean(u0, axis=0)
    v = u0 - mean
    scale = 2.0 / ell

    def xmul(x):  # X x = (2 L / ell - I) x
        return scale * laplacian_matvec(graph, x) - x

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
    return acc + mean


def consensus_distance(u: ArrayLike) -> Array:
    r"""$\|\mathbf u - \bar u \mathbf 1\|_2$ over the node axis (the second-to-last of
    `(t, n)`, or the first of `(n,)`); for `(t, n, b)` the norm is per column `b`.

    Args:
      u: States of shape `(n,)`, `(t, n)` or `(t, n, b)`.

    Returns:
      Shape `()`, `(t,)` or `(t, b)`.
    """
    u = jnp.asarray(u)
    axis = 0 if u.ndim == 1 else 1
    return jnp.linalg.norm(u - jnp.mean(u, axis=axis, keepdims=True), axis=axis)


class DecayCurve(NamedTuple):
    r"""Lemma 5.1 in numbers.

    Attributes:
      times: `(t,)`.
      distance: $\|\mathbf u(t) - \bar u\mathbf 1\|_2$, shape `(t,)` or `(t, b)`.
      bound: $e^{-\lambda_2 t}\|\mathbf u(0) - \bar u\mathbf 1\|_2$, same shape.
      lambda2: The $\lambda_2$ used.
    """

    times: Array
    distance: Array
    bound: Array
    lambda2: Array


def consensus_decay(
    graph: Graph,
    u0: ArrayLike,
    times: ArrayLike,
    *,
    lambda2: float | None = None,
    tol: float | None = None,
) -> DecayCurve:
    r"""The decay of disagreement under (11) beside the bound (12) of Lemma 5.1.

    (12) holds for every connected graph and every $\mathbf u(0)$: writing
    $\mathbf u(0) - \bar u\mathbf 1 = \sum_{i\ge2} c_i \phi_i$ in Laplacian eigenvectors,
    $\|\mathbf u(t) - \bar u\mathbf 1\|^2 = \sum_i c_i^2 e^{-2\lambda_i t}
    \le e^{-2\lambda_2 t}\sum_i c_i^2$. It is tight only for $\mathbf u(0) \propto \phi_2$;
    for a generic start the distance falls faster at first and at rate $\lambda_2$ later.

    Args:
      graph: The graph.
      u0: `(n,)` or `(n, b)` initial states.
      times: `(t,)` non-negative times.
      lambda2: $\lambda_2(L)$ if known (else computed by `fiedler_value`).
      tol: Passed to `diffuse`.

    Returns:
      A `DecayCurve`.
    """
    u = diffuse(graph, u0, jnp.atleast_1d(jnp.asarray(times)), tol=tol)
    if lambda2 is None:
        lambda2 = fiedler_value(graph)
    lam = jnp.asarray(lambda2, u.dtype)
    t = jnp.atleast_1d(jnp.asarray(times, u.dtype))
    d0 = consensus_distance(jnp.asarray(u0, u.dtype)[None])[0]
    shape = (-1,) + (1,) * (d0.ndim)
    bound = jnp.exp(-lam * t).reshape(shape) * d0
    return DecayCurve(t, consensus_distance(u), bound, lam)


# ---------------------------------------------------------------------------------------
# Spectra: Fiedler value, spectral radius
# ---------------------------------------------------------------------------------------


class SpectralResult(NamedTuple):
    r"""An extreme eigenpair and how far it can be trusted.

    Attributes:
      value: The eigenvalue estimate (a Ritz value).
      vector: Unit eigenvector estimate, shape `(n,)`.
      residual: $\|M x - \theta x\|_2$; some eigenvalue of $M$ lies within it of `value`.
      converged: `residual <= tol * scale` was reached (always True for "dense" and
        "disconnected").
      n_matvec: Operator applications used (0 for dense).
      status: "converged", "not converged" or "disconnected" (Python string).
      n_components: Number of connected components (for `fiedler`; else -1).
    """

    value: Array
    vector: Array
    residual: Array
    converged: bool
    n_matvec: int
    status: str
    n_components: int


def _lap_mv(graph, x):
    return laplacian_matvec(graph, x)


def _adj_mv(graph, x):
    return graph.neighbor_sum(x)


def fiedler(
    graph: Graph,
    *,
    key: PRNGKeyArray | None = None,
    tol: float | None = None,
    method: str = "auto",
    basis_size: int = 64,
    keep: int = 24,
    max_restarts: int = 1000,
    dtype=None,
) -> SpectralResult:
    r"""The Fiedler pair $(\lambda_2(L), \phi_2)$, the algebraic connectivity of §5.1.

    A disconnected graph has $\lambda_2 = 0$: this is detected first with
    `connected_components` and returned with status "disconnected" (the vector is the
    centred indicator of the component of node 0, an exact null vector in
    $\mathbf 1^\perp$). Otherwise $\lambda_2$ is the smallest eigenvalue of $L$ restricted
    to $\mathbf 1^\perp$, found by thick-restart Lanczos with full reorthogonalisation
    (`meshjax._spectral`), every vector kept orthogonal to $\mathbf 1$; the stopping test
    is on the residual, $\|L x - \theta x\| \le \mathrm{tol}\cdot 2k_{\max}$. If it is
    not met in `max_restarts` cycles, status is "not converged" (the value is still the
    best Ritz value and `residual` says how far off it may be).

    Args:
      graph: The graph ($n \ge 2$).
      key: PRNG key for the start vector (default `jr.key(0)`).
      tol: Relative residual tolerance; default 1e-9 (float64) or 2e-5 (float32).
      method: "lanczos", "dense" ($O(n^2)$ memory, `eigh`; only for small $n$) or "auto"
        (dense for $n \le 64$).
      basis_size: Lanczos basis per cycle $m$ (memory $m n$).
      keep: Ritz vectors kept at a restart, $1 \le$ keep $< m$.
      max_restarts: Cycle limit.
      dtype: Floating dtype (default: JAX's default float).

    Returns:
      A `SpectralResult`.

    Raises:
      ValueError: $n < 2$, bad `method`/`basis_size`/`keep`/`tol`.

    Cost: O(n + E) per mat-vec plus $O(m n)$ per reorthogonalisation; iterations grow as
    $\sqrt{\lambda_{\max}/(\lambda_3 - \lambda_2)}$ in the worst case.
    """
    _check_graph(graph)
    n = graph.n_nodes
    if n < 2:
        raise ValueError(f"`graph.n_nodes`={n}; the Fiedler value needs n >= 2")
    if method not in ("auto", "lanczos", "dense"):
        raise ValueError(f"`method`={method!r}; allowed: 'auto', 'lanczos', 'dense'")
    dtype = jnp.dtype(dtype or jnp.result_type(float))
    opts = _lanczos_options(basis_size, keep, max_restarts, tol, dtype)
    labels = connected_components(graph)
    n_comp = int(jnp.sum(labels == jnp.arange(n)))
    if n_comp > 1:
        ind = (labels == labels[0]).astype(dtype)
        vec = ind - jnp.mean(ind)
        vec = vec / jnp.linalg.norm(vec)
        return SpectralResult(
            jnp.zeros((), dtype),
            vec,
            jnp.zeros((), dtype),
            True,
            0,
            "disconnected",
            n_comp,
        )
    if method == "dense" or (method == "auto" and n <= 64):
        lap = _dense_laplacian(graph, dtype)
        w, v = jnp.linalg.eigh(lap)
        return SpectralResult(
            w[1],
            v[:, 1],
            jnp.linalg.norm(lap @ v[:, 1] - w[1] * v[:, 1]),
            True,
            0,
            "converged",
            1,
        )
    scale = 2.0 * float(jnp.max(graph.degrees()))
    res = _lanczos(
        graph,
        _lap_mv,
        key,
        *opts,
        dtype,
        largest=False,
        deflate=True,
        dim=n - 1,
        scale=scale,
        positive=False,
    )
    return res._replace(n_components=1)


def fiedler_value(graph: Graph, **kwargs) -> Array:
    r"""$\lambda_2(L)$ (algebraic connectivity); see `fiedler` for the method and options.

    Warns `ConvergenceWarning` if Lanczos did not converge, and a `UserWarning` when the
    graph is disconnected (then the value is exactly 0).
    """
    return _warn(fiedler(graph, **kwargs), "fiedler_value").value


def fiedler_vector(graph: Graph, **kwargs) -> Array:
    r"""The Fiedler vector $\phi_2$ (unit norm, sign arbitrary); see `fiedler`."""
    return _warn(fiedler(graph, **kwargs), "fiedler_vector").vector


def leading_adjacency(
    graph: Graph,
    *,
    key: PRNGKeyArray | None = None,
    tol: float | None = None,
    basis_size: int = 32,
    keep: int = 8,
    max_restarts: int = 1000,
    dtype=None,
) -> SpectralResult:
    r"""The leading eigenpair of the adjacency matrix, $(\lambda_{\max}(A), \mathbf v)$.

    Thick-restart Lanczos on $A$ (largest algebraic eigenvalue, which for a graph is the
    spectral radius, Perron–Frobenius). Residual tolerance relative to $k_{\max}$
    ($\ge \lambda_{\max}(A)$). Small graphs ($n \le 64$) use a dense `eigh`.

    Args: as `fiedler` (no `method`).

    Returns:
      A `SpectralResult` (`n_components` = -1).
    """
    _check_graph(graph)
    dtype = jnp.dtype(dtype or jnp.result_type(float))
    opts = _lanczos_options(basis_size, keep, max_restarts, tol, dtype)
    n = graph.n_nodes
    kmax = float(jnp.max(graph.degrees()))
    if kmax == 0:
        return SpectralResult(
            jnp.zeros((), dtype),
            jnp.ones(n, dtype) / math.sqrt(n),
            jnp.zeros((), dtype),
            True,
            0,
            "converged",
            -1,
        )
    if n <= 64:
        a = _dense_laplacian(graph, dtype, adjacency=True)
        w, v = jnp.linalg.eigh(a)
        return SpectralResult(
            w[-1],
            v[:, -1],
            jnp.linalg.norm(a @ v[:, -1] - w[-1] * v[:, -1]),
            True,
            0,
            "converged",
            -1,
        )
    return _lanczos(
        graph,
        _adj_mv,
        key,
        *opts,
        dtype,
        largest=True,
        deflate=False,
        dim=n,
        scale=kmax,
        positive=True,
    )


def spectral_radius(graph: Graph, **kwargs) -> Array:
    r"""$\lambda_{\max}(A)$, the adjacency spectral radius (QMF epidemic threshold is its
    inverse). See `leading_adjacency`; warns `ConvergenceWarning` if not converged."""
    return _warn(leading_adjacency(graph, **kwargs), "spectral_radius").value


def _lanczos_options(m, k, max_restarts, tol, dtype):
    m = check_int("basis_size", m, min_value=2)
    k = check_int("keep", k, min_value=1)
    max_restarts = check_int("max_restarts", max_restarts, min_value=1)
    if tol is None:
        tol = 1e-9 if dtype == jnp.float64 else 2e-5
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True, high_open=True)
    return m, k, max_restarts, tol


def _lanczos(
    graph,
    mv,
    key,
    m,
    k,
    max_restarts,
    tol,
    dtype,
    *,
    largest,
    deflate,
    dim,
    scale,
    positive,
) -> SpectralResult:
    m = min(m, dim)
    if m < 2:
        raise ValueError(f"the operator has dimension {dim}; Lanczos needs >= 2")
    k = min(k, m - 1)
    key = jr.key(0) if key is None else key
    v0 = jr.normal(key, (graph.n_nodes,), dtype)
    if positive:
        v0 = 1.0 + 0.1 * jnp.abs(v0)
    r = lanczos_extreme(
        mv,
        graph,
        v0,
        m=m,
        k=k,
        largest=largest,
        tol=jnp.asarray(tol, dtype),
        scale=jnp.asarray(scale, dtype),
        max_restarts=jnp.asarray(max_restarts),
        deflate_constant=deflate,
    )
    conv = bool(r.converged)
    return SpectralResult(
        r.value,
        r.vector,
        r.residual,
        conv,
        int(r.n_matvec),
        "converged" if conv else "not converged",
        -1,
    )


def _dense_laplacian(graph: Graph, dtype, adjacency: bool = False) -> Array:
    n = graph.n_nodes
    w = graph.slot_weights(dtype)
    a = jnp.zeros((n, n), dtype).at[graph.receivers, graph.senders].add(w)
    if adjacency:
        return a
    return jnp.diag(jnp.sum(a, axis=1)) - a


def _warn(res: SpectralResult, name: str) -> SpectralResult:
    if res.status == "disconnected":
        warnings.warn(
            f"{name}: the graph is disconnected ({res.n_components} components),"
            " so lambda_2 = 0",
            UserWarning,
            stacklevel=3,
        )
    elif not res.converged:
        warnings.warn(
            f"{name}: Lanczos did not converge after {res.n_matvec} mat-vecs "
            f"(residual {float(res.residual):.3g}); the value may be off by up "
            "to the residual",
            ConvergenceWarning,
            stacklevel=3,
        )
    return res


# ---------------------------------------------------------------------------------------
# Bandwidth (13)
# ---------------------------------------------------------------------------------------


def mesh_bandwidth(
    n_nodes: ArrayLike, mean_degree: ArrayLike, link_capacity: ArrayLike = 1.0
) -> Array:
    r"""Eq. (13)'s left side: $B_{\rm mesh} = N\langle k\rangle c$.

    $N\langle k\rangle = 2E$ counts each link once per direction, so this is the total
    capacity when every link carries `link_capacity` each way.

    Args (broadcast): `n_nodes` $N \ge 0$, `mean_degree` $\langle k\rangle \ge 0$,
      `link_capacity` $c \ge 0$.
    """
    _check_nonneg_array("n_nodes", n_nodes)
    _check_nonneg_array("mean_degree", mean_degree)
    _check_nonneg_array("link_capacity", link_capacity)
    f = jnp.result_type(float)
    return (
        jnp.asarray(n_nodes, f)
        * jnp.asarray(mean_degree, f)
        * jnp.asarray(link_capacity, f)
    )


def bandwidth_crossing(
    hub_bandwidth: ArrayLike, mean_degree: ArrayLike, link_capacity: ArrayLike = 1.0
) -> Array:
    r"""The $N$ at which (13) turns: $N^\times = B_{\rm hub} / (\langle k\rangle c)$; the
    mesh out-serves the hub for $N > N^\times$.

    Args (broadcast): `hub_bandwidth` $B_{\rm hub} \ge 0$, `mean_degree` $> 0$,
      `link_capacity` $c > 0$ (same units as $B_{\rm hub}$).
    """
    _check_nonneg_array("hub_bandwidth", hub_bandwidth)
    _check_nonneg_array("mean_degree", mean_degree, strict=True)
    _check_nonneg_array("link_capacity", link_capacity, strict=True)
    f = jnp.result_type(float)
    return jnp.asarray(hub_bandwidth, f) / (
        jnp.asarray(mean_degree, f) * jnp.asarray(link_capacity, f)
    )


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _check_graph(graph) -> None:
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")


def _check_states(graph: Graph, u0) -> Array:
    if isinstance(u0, jax.core.Tracer):
        raise TypeError(
            "`u0` must be concrete at the Python boundary (call diffuse outside jit)"
        )
    arr = np.asarray(u0)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        raise TypeError(f"`u0` must be a real array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError("`u0` must be real, got a complex array")
    if arr.ndim not in (1, 2) or arr.shape[0] != graph.n_nodes:
        raise ValueError(
            f"`u0` must have shape (n,) or (n, b) with n={graph.n_nodes}, "
            f"got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("`u0` must be finite; got NaN or inf")
    u = jnp.asarray(u0)
    if not jnp.issubdtype(u.dtype, jnp.floating):
        u = u.astype(jnp.result_type(float))
    return u


def _check_nonneg_array(name, x, strict=False) -> None:
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` must be finite; got NaN or inf")
    if a.size and (a.min() <= 0 if strict else a.min() < 0):
        raise ValueError(
            f"`{name}` has a value {a.min()}; allowed: {'> 0' if strict else '>= 0'}"
        )


__all__ = [
    "ConvergenceWarning",
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
