r"""Percolation and the giant component: $R_0^{\mathrm{mesh}}$ (2), $S_\infty$ (3).

Eq. (3), $S_\infty = 1 - e^{-R_0 S_\infty}$, is the giant-component fraction of a large
Erdős–Rényi (Poisson) graph with mean degree $R_0$; bond percolation with occupation $p$
on an ER graph of mean degree $\langle k \rangle$ is again Poisson with mean
$p\langle k \rangle$. (On other degree distributions the generating-function equations
differ; `giant_fraction_sweep` measures whatever graph it is given.)
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from ._custom_types import Array, ArrayLike, Bool, Float, PRNGKeyArray
from ._results import RESULTS, AbstractResult
from ._validate import as_key, check_array, check_int, in_domain, nan_outside
from .graph import Graph, giant_component_fraction

__all__ = [
    "PercolationSweep",
    "bond_percolation",
    "giant_component_fraction_theory",
    "giant_fraction_sweep",
    "r0_mesh",
]


def _real(x) -> Array:
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(float)


def r0_mesh(
    n_nodes: ArrayLike, beta: ArrayLike, value: ArrayLike, attrition: ArrayLike
) -> Float[Array, ...]:
    r"""Mesh reproduction number, eq. (2): $R_0^{\mathrm{mesh}} = N \beta v / D$.

    Args (broadcast together; each may be traced):
      n_nodes: Active nodes $N > 0$ (a real number here: a parameter of the formula).
      beta: Connection probability per node pair $\beta \in [0, 1]$.
      value: Expected value per interaction $v \ge 0$.
      attrition: Attrition rate $D > 0$ (coordination friction and churn).

    Returns:
      $R_0^{\mathrm{mesh}}$, broadcast shape, floating point; NaN where a traced input
      is outside its domain.
    """
    n = check_array("n_nodes", n_nodes, low=0.0, low_open=True)
    b = check_array("beta", beta, low=0.0, high=1.0)
    v = check_array("value", value, low=0.0)
    d = check_array("attrition", attrition, low=0.0, low_open=True)
    return _r0_mesh(n, b, v, d)


@jax.jit
def _r0_mesh(n, b, v, d):
    n, b, v, d = (_real(x) for x in (n, b, v, d))
    dtype = jnp.result_type(n, b, v, d)
    n, b, v, d = (x.astype(dtype) for x in (n, b, v, d))
    ok = (
        in_domain(n, low=0.0, low_open=True)
        & in_domain(b, low=0.0, high=1.0)
        & in_domain(v, low=0.0)
        & in_domain(d, low=0.0, low_open=True)
    )
    return nan_outside(ok, n * b * v / d)


def giant_component_fraction_theory(r0: ArrayLike) -> Float[Array, ...]:
    r"""The largest solution of eq. (3), $S_\infty = 1 - e^{-R_0 S_\infty}$.

    0 for $R_0 \le 1$; for $R_0 > 1$ the unique root in $(0, 1)$ (Prop. 3.1). Accurate to
    a few ulps of $S$ for every $R_0 > 1$, in float32 as in float64, including the
    threshold region where $S \approx 2(R_0 - 1)$: for $R_0 \le 2$ the root is found by
    Newton's method on the inverse relation $R_0 - 1 = -\ln(1 - S)/S - 1
    = \sum_{k \ge 1} S^k/(k + 1)$ (no cancellation: $R_0 - 1$ is exact and the series
    is summed directly), for $R_0 > 2$ by Newton on $1 - e^{-R_0 S} - S$. Differentiable:
    $dS/dR_0 = S(1 - S)/(1 - R_0 + R_0 S)$ (the implicit function theorem, with
    $e^{-R_0 S} = 1 - S$; the denominator has no cancellation near threshold).

    Args:
      r0: $R_0 \ge 0$, any shape (may be traced).

    Returns:
      $S_\infty$, same shape, floating point; NaN where a traced `r0` is negative, NaN
      or infinite.
    """
    return _giant_theory(check_array("r0", r0, low=0.0))


@jax.jit
def _giant_theory(r0):
    r0 = _real(r0)
    ok = in_domain(r0, low=0.0)
    safe = jnp.where(ok, r0, jnp.zeros_like(r0))
    return nan_outside(ok, _s_inf(safe))


_N_SERIES = 40  # terms of sum_k s^k / (k + 1) for s < _S_SERIES (0.3^40 ~ 1e-21)
_S_SERIES = 0.3


def _series_and_derivative(s):
    """(sum_{k>=1} s^k/(k+1), sum_{k>=1} k s^(k-1)/(k+1)) by Horner's rule."""
    val = jnp.zeros_like(s)
    der = jnp.zeros_like(s)
    for k in range(_N_SERIES, 0, -1):
        c = jnp.asarray(1.0 / (k + 1), s.dtype)
        der = der * s + k * c
        val = val * s + c
    return val * s, der


@jax.custom_jvp
def _s_inf(r0):
    dtype = r0.dtype
    one = jnp.ones_like(r0)
    eps = jnp.asarray(jnp.finfo(dtype).eps, dtype)
    # Near threshold (1 < R0 <= 2): Newton on E(S) = R0 - 1, E(S) = -ln(1 - S)/S - 1,
    # convex and increasing on (0, 1); from S0 = 1 - exp(-R0) > S (right of the root)
    # the iterates decrease monotonically to the root.
    excess = r0 - one  # exact for R0 in [0.5, 2] (Sterbenz)
    near = (r0 > 1.0) & (r0 <= 2.0)
    r_near = jnp.where(near, r0, 1.5 * one)
    x_near = jnp.where(near, excess, 0.5 * one)

    def newton_near(_, s):
        small = s < _S_SERIES
        ser, dser = _series_and_derivative(jnp.where(small, s, jnp.zeros_like(s)))
        sb = jnp.where(small, 0.5 * one, s)
        l1 = -jnp.log1p(-sb)
        val = jnp.where(small, ser, (l1 - sb) / sb)
        der = jnp.where(small, dser, (sb / (1 - sb) - l1) / (sb * sb))
        new = s - (val - x_near) / der
        return jnp.clip(new, 0.0, 1.0 - eps)

    s0 = jnp.minimum(-jnp.expm1(-r_near), 1.0 - eps)
    s_near = lax.fori_loop(0, 60, newton_near, s0)

    # Far from threshold (R0 > 2): Newton on 1 - exp(-R0 S) - S from S = 1 (monotone).
    r_far = jnp.where(r0 > 2.0, r0, 3.0 * one)

    def newton_far(_, s):
        e = jnp.exp(-r_far * s)
        return s - (-jnp.expm1(-r_far * s) - s) / (r_far * e - 1.0)

    s_far = lax.fori_loop(0, 60, newton_far, one)
    s = jnp.where(r0 > 2.0, s_far, s_near)
    return jnp.where(r0 > 1.0, s, jnp.zeros_like(r0))


@_s_inf.defjvp
def _s_inf_jvp(primals, tangents):
    (r0,), (dr0,) = primals, tangents
    s = _s_inf(r0)
    denom = (1.0 - r0) + r0 * s  # = 1 - R0 exp(-R0 S) at the root
    pos = s > 0
    ds = jnp.where(pos, s * (1.0 - s) / jnp.where(pos, denom, 1.0), 0.0)
    return s, ds * dr0


def bond_percolation(
    key: PRNGKeyArray | int, graph: Graph, p: ArrayLike
) -> Bool[Array, " e"]:
    r"""Bond percolation: keep each present undirected edge independently with prob. $p$.

    One uniform number per undirected edge (indexed by `graph.edge_ids`), so both slots
    of an edge always agree. Combined with the graph's own mask.

    Args:
      key: PRNG key (or an int seed).
      graph: The graph.
      p: Occupation probability in $[0, 1]$: a scalar, or one per undirected edge, shape
        `(graph.n_edges,)` (e.g. FK bonds with per-edge couplings). May be traced (under
        `jit`, `vmap` or `sweep` over $p$): a traced value outside $[0, 1]$ is an
        `eqx.error_if` error, since a mask has no NaN to carry it. float32 or float64
        (the uniforms are drawn in its dtype).

    Returns:
      `bool[e]` slot mask for `graph.with_mask` or `connected_components(edge_mask=...)`.

    Raises:
      ValueError: `p` outside $[0, 1]$, NaN, or of the wrong shape.
      TypeError: `p` of dtype float16 or bfloat16 (uniforms too coarse), or not real.
    """
    key = as_key(key)
    _check_graph(graph)
    p = _real(check_array("p", p, ndim=(0, 1), low=0.0, high=1.0))
    _check_draw_dtype("p", p)
    if p.ndim == 1 and p.shape[0] != graph.n_edges:
        raise ValueError(
            f"`p` must be a scalar or have shape (n_edges,) = ({graph.n_edges},), "
            f"got shape {p.shape}"
        )
    u = jr.uniform(key, (graph.n_edges,), dtype=p.dtype)
    u = eqx.error_if(
        u,
        ~jnp.all(in_domain(p, low=0.0, high=1.0)),
        "`p` is out of range; allowed: [0, 1]",
    )
    keep = (u < p)[graph.edge_ids]
    if graph.edge_mask is not None:
        keep = keep & graph.edge_mask
    return keep


def _check_draw_dtype(name: str, x) -> None:
    """Probabilities compared with uniform draws: float32 or float64 only.

    The uniforms are drawn in the probability's dtype; in float16 they are multiples of
    $2^{-10}$ (a $p = 10^{-4}$ kept ~10x too many edges), so float16 is refused like
    bfloat16 (which `check_array` already refuses).
    """
    if jnp.dtype(x.dtype) == jnp.float16:
        raise TypeError(
            f"`{name}` must be a float32 or float64 array (or a Python number), got "
            f"dtype float16: its uniform draws are multiples of 2**-10"
        )


def _check_graph(graph) -> None:
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")


class PercolationSweep(AbstractResult):
    r"""Result of `giant_fraction_sweep`: measured $S$ beside eq. (3).

    Attributes:
      p: Occupation probabilities, `(P,)`.
      r0: $R_0 = p \langle k \rangle$ with the graph's realised mean degree, `(P,)`.
      s_measured: Largest-component fraction per $p$ and replica, `(P, replicas)`.
      s_theory: Eq. (3) at `r0`, `(P,)`.
      status: `RESULTS.successful`, or `RESULTS.invalid_parameter` when a traced `ps`
        is outside $[0, 1]$ (then `r0`, `s_measured` and `s_theory` are NaN).
    """

    p: Float[Array, " P"]
    r0: Float[Array, " P"]
    s_measured: Float[Array, "P replicas"]
    s_theory: Float[Array, " P"]
    status: RESULTS


def giant_fraction_sweep(
    key: PRNGKeyArray | int,
    graph: Graph,
    ps: ArrayLike | Sequence[float],
    *,
    replicas: int = 1,
) -> PercolationSweep:
    r"""Measured $S$ under bond percolation for a grid of $p$, beside eq. (3).

    For each $p$ and replica $r$ the key is `fold_in(key, i * replicas + r)`; all points
    run as one `vmap`. The prediction uses $R_0 = p \langle k \rangle$ with the graph's
    realised mean degree, which is exact for Poisson (ER) graphs in the large-$n$ limit.

    Args:
      key: PRNG key (or an int seed).
      graph: The graph to percolate.
      ps: Occupation probabilities, a scalar or shape `(P,)`, each in $[0, 1]$ (may be
        traced); float32 or float64 (float16, bfloat16: `TypeError`).
      replicas: Independent percolations per $p$, an int $\ge 1$ (static).

    Returns:
      A `PercolationSweep` (`p`, `r0`, `s_measured`, `s_theory`, `status`).
    """
    key = as_key(key)
    _check_graph(graph)
    replicas = check_int("replicas", replicas, min_value=1)
    ps = _real(check_array("ps", ps, ndim=(0, 1), low=0.0, high=1.0, nonempty=True))
    _check_draw_dtype("ps", ps)
    ps = jnp.atleast_1d(ps)
    ok = jnp.all(in_domain(ps, low=0.0, high=1.0))
    safe = jnp.where(ok, ps, jnp.zeros_like(ps))
    idx = jnp.arange(ps.shape[0] * replicas).reshape(ps.shape[0], replicas)
    s = _sweep(key, graph, safe, idx).astype(ps.dtype)
    mean_k = (2 * graph.num_active_edges()).astype(ps.dtype) / graph.n_nodes
    r0 = safe * mean_k
    return PercolationSweep(
        p=ps,
        r0=nan_outside(ok, r0),
        s_measured=nan_outside(ok, s),
        s_theory=nan_outside(ok, giant_component_fraction_theory(r0)),
        status=RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter),
    )


@jax.jit
def _sweep(key, graph, ps, idx):
    def one(p, i):
        mask = bond_percolation(jr.fold_in(key, i), graph, p)
        return giant_component_fraction(graph, mask)

    return jax.vmap(lambda p, row: jax.vmap(lambda i: one(p, i))(row))(ps, idx)
