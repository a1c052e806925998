r"""Percolation and the giant component: $R_0^{\mathrm{mesh}}$ (2), $S_\infty$ (3).

Eq. (3), $S_\infty = 1 - e^{-R_0 S_\infty}$, is the giant-component fraction of a large
Erdős–Rényi (Poisson) graph with mean degree $R_0$; bond percolation with occupation $p$
on an ER graph of mean degree $\langle k \rangle$ is again Poisson with mean
$p\langle k \rangle$. (On other degree distributions the generating-function equations
differ; `giant_fraction_sweep` measures whatever graph it is given.)
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from ._checks import check_array_range
from ._custom_types import Array, ArrayLike, Bool, Float, PRNGKeyArray
from .graph import Graph, giant_component_fraction


def r0_mesh(
    n_nodes: ArrayLike, beta: ArrayLike, value: ArrayLike, attrition: ArrayLike
) -> Float[Array, ...]:
    r"""Mesh reproduction number, eq. (2): $R_0^{\mathrm{mesh}} = N \beta v / D$.

    Args (broadcast together):
      n_nodes: Active nodes $N > 0$.
      beta: Connection probability per node pair $\beta \in [0, 1]$.
      value: Expected value per interaction $v \ge 0$.
      attrition: Attrition rate $D > 0$ (coordination friction and churn).

    Returns:
      $R_0^{\mathrm{mesh}}$, broadcast shape, floating point.
    """
    check_array_range("n_nodes", n_nodes, low=0.0)
    check_array_range("beta", beta, low=0.0, high=1.0)
    check_array_range("value", value, low=0.0)
    check_array_range("attrition", attrition, low=0.0)
    _check_positive("n_nodes", n_nodes)
    _check_positive("attrition", attrition)
    n, b, v, d = (
        jnp.asarray(x, dtype=jnp.result_type(float))
        for x in (n_nodes, beta, value, attrition)
    )
    return n * b * v / d


def _check_positive(name, x):
    try:
        import numpy as np

        a = np.asarray(x)
    except Exception:
        return
    if a.dtype != object and a.size and a.min() <= 0:
        raise ValueError(f"`{name}` has a value {a.min()}; allowed: > 0")


def giant_component_fraction_theory(r0: ArrayLike) -> Float[Array, ...]:
    r"""The largest solution of eq. (3), $S_\infty = 1 - e^{-R_0 S_\infty}$.

    0 for $R_0 \le 1$; for $R_0 > 1$ the unique root in $(0, 1)$ (Prop. 3.1), found by
    Newton's method from $S = 1$ (monotone, since the residual is concave), 60 steps,
    enough for full precision down to $R_0 - 1 \sim 10^{-12}$. Differentiable: the
    derivative comes from the implicit function theorem,
    $dS/dR_0 = S e^{-R_0 S} / (1 - R_0 e^{-R_0 S})$.

    Args:
      r0: $R_0 \ge 0$, any shape (floating point).

    Returns:
      $S_\infty$, same shape.
    """
    check_array_range("r0", r0, low=0.0)
    r0 = jnp.asarray(r0, dtype=jnp.result_type(r0, float))
    return _s_inf(r0)


@jax.custom_jvp
def _s_inf(r0):
    def newton(_, s):
        e = jnp.exp(-r0 * s)
        g = 1.0 - e - s
        dg = r0 * e - 1.0
        return s - g / dg

    s = lax.fori_loop(0, 60, newton, jnp.ones_like(r0))
    return jnp.where(r0 > 1.0, s, jnp.zeros_like(r0))


@_s_inf.defjvp
def _s_inf_jvp(primals, tangents):
    (r0,), (dr0,) = primals, tangents
    s = _s_inf(r0)
    e = jnp.exp(-r0 * s)
    denom = 1.0 - r0 * e
    safe = jnp.where(s > 0, denom, 1.0)
    ds = jnp.where(s > 0, s * e / safe, 0.0)
    return s, ds * dr0


def bond_percolation(
    key: PRNGKeyArray, graph: Graph, p: ArrayLike
) -> Bool[Array, " e"]:
    r"""Bond percolation: keep each present undirected edge independently with prob. $p$.

    One uniform number per undirected edge (indexed by `graph.edge_ids`), so both slots
    of an edge always agree. Combined with the graph's own mask.

    Args:
      key: PRNG key.
      graph: The graph.
      p: Occupation probability in $[0, 1]$ (may be traced, e.g. under `vmap` over $p$;
        then it is not range-checked).

    Returns:
      `bool[e]` slot mask for `graph.with_mask` or `connected_components(edge_mask=...)`.
    """
    check_array_range("p", p, low=0.0, high=1.0)
    u = jr.uniform(key, (graph.n_edges,))
    keep = (u < p)[graph.edge_ids]
    if graph.edge_mask is not None:
        keep = keep & graph.edge_mask
    return keep


def giant_fraction_sweep(
    key: PRNGKeyArray, graph: Graph, ps: ArrayLike, replicas: int = 1
) -> dict[str, Array]:
    r"""Measured $S$ under bond percolation for a grid of $p$, beside eq. (3).

    For each $p$ and replica $r$ the key is `fold_in(key, i * replicas + r)`; all points
    run as one `vmap`. The prediction uses $R_0 = p \langle k \rangle$ with the graph's
    realised mean degree, which is exact for Poisson (ER) graphs in the large-$n$ limit.

    Args:
      key: PRNG key.
      graph: The graph to percolate.
      ps: Occupation probabilities, shape `(P,)`, each in $[0, 1]$.
      replicas: Independent percolations per $p$.

    Returns:
      Dict with `p` `(P,)`, `r0` `(P,)`, `s_measured` `(P, replicas)`, `s_theory` `(P,)`.
    """
    ps = jnp.atleast_1d(jnp.asarray(ps, dtype=jnp.result_type(float)))
    check_array_range("ps", ps, low=0.0, high=1.0)
    if ps.ndim != 1:
        raise ValueError(f"`ps` must be one-dimensional, got shape {ps.shape}")
    idx = jnp.arange(ps.shape[0] * replicas).reshape(ps.shape[0], replicas)
    s = _sweep(key, graph, ps, idx)
    mean_k = 2.0 * graph.num_active_edges() / graph.n_nodes
    r0 = ps * mean_k
    return {
        "p": ps,
        "r0": r0,
        "s_measured": s,
        "s_theory": giant_component_fraction_theory(r0),
    }


@functools.partial(jax.jit)
def _sweep(key, graph, ps, idx):
    def one(p, i):
        mask = bond_percolation(jr.fold_in(key, i), graph, p)
        return giant_component_fraction(graph, mask)

    return jax.vmap(lambda p, row: jax.vmap(lambda i: one(p, i))(row))(ps, idx)
