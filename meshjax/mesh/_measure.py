"""Measurements of the mesh at a record: components, C_mesh (15), λ2, degree tail."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr

from ..graph import component_sizes, connected_components, laplacian_matvec
from ._state import MeshState, as_graph


def giant_members(state: MeshState):
    """`bool[n]`: present agents in the largest connected component; and the graph."""
    g = as_graph(state)
    labels = connected_components(g)
    sizes = component_sizes(labels)
    giant = jnp.argmax(sizes).astype(jnp.int32)
    return (labels == giant) & state.present(), g


def ces_mesh(per_type, rho, active):
    r"""Eq. (15) over the active types: $(\sum_{j \le J(t)} C_j^\rho)^{1/\rho}$, in logs.

    Zero $C_j$ gives 0 for $\rho < 0$ (a missing complement) and adds nothing for
    $\rho > 0$.
    """
    dtype = per_type.dtype
    tiny = jnp.finfo(dtype).tiny
    logc = jnp.log(jnp.maximum(per_type, tiny))
    z = jnp.where(active & (per_type > 0), rho * logc, -jnp.inf)
    lse = jax.nn.logsumexp(z)
    out = jnp.exp(lse / rho)
    any_zero = jnp.any(active & (per_type <= 0))
    out = jnp.where((rho < 0) & any_zero, jnp.zeros((), dtype), out)
    return jnp.where(jnp.isfinite(lse), out, jnp.zeros((), dtype))


def tail_exponent(degree, present, k_min: int, dtype):
    r"""Discrete power-law MLE $1 + n_t / \sum \ln(k/(k_{\min} - 1/2))$ over $k \ge k_{\min}$."""
    k = degree.astype(dtype)
    sel = present & (degree >= k_min)
    s = jnp.sum(jnp.where(sel, jnp.log(k / (k_min - 0.5)), jnp.zeros((), dtype)))
    cnt = jnp.sum(sel).astype(dtype)
    return jnp.where(cnt >= 2, 1.0 + cnt / jnp.maximum(s, 1e-30), jnp.nan).astype(dtype)


def lanczos_lambda2(key, g, members, steps: int, dtype):
    r"""Ritz estimate of $\lambda_2(L)$ of the subgraph on `members` (its giant component).

    `steps` Lanczos iterations with full re-orthogonalisation on the complement of the
    constant vector of the members; the smallest Ritz value is returned. Ritz values
    bound the extreme eigenvalues from inside, so this is an *upper bound* on
    $\lambda_2$ that tightens with `steps` (exact for `steps` ≥ the member count).
    Memory O(steps · n).
    """
    n = g.n_nodes
    mf = members.astype(dtype)
    one = mf / jnp.sqrt(jnp.maximum(jnp.sum(mf), 1.0))

    def proj(x):
        x = x * mf
        return x - jnp.dot(one, x) * one

    def op(x):
        return proj(laplacian_matvec(g, proj(x)))

    v0 = proj(jr.normal(key, (n,), dtype))
    v0 = v0 / jnp.maximum(jnp.linalg.norm(v0), 1e-30)
    V = jnp.zeros((steps, n), dtype).at[0].set(v0)
    alpha = jnp.zeros((steps,), dtype)
    beta = jnp.zeros((steps,), dtype)

    def body(i, carry):
        V, alpha, beta = carry
        v = V[i]
        w = op(v)
        a = jnp.dot(w, v)
        w = w - a * v - jnp.where(i > 0, beta[i - 1], 0.0) * V[jnp.maximum(i - 1, 0)]
        # full re-orthogonalisation against the basis so far (rows > i are zero)
        w = w - V.T @ (V @ w)
        w = proj(w)
        b = jnp.linalg.norm(w)
        V = jnp.where(
            i + 1 < steps,
            V.at[jnp.minimum(i + 1, steps - 1)].set(w / jnp.maximum(b, 1e-30)),
            V,
        )
        return V, alpha.at[i].set(a), beta.at[i].set(b)

    V, alpha, beta = jax.lax.fori_loop(0, steps, body, (V, alpha, beta))
    # stop at the first (near) breakdown: the Krylov space is exhausted there
    tol = 1e-6 * jnp.maximum(jnp.max(jnp.abs(alpha)), 1.0)
    idx = jnp.arange(steps)
    brk = jnp.where(beta < tol, idx, steps - 1)
    last = jnp.min(brk)
    keep = idx <= last
    big = 2.0 * jnp.max(jnp.abs(alpha)) + 1.0
    off = jnp.where(idx[:-1] < last, beta[:-1], 0.0)
    diag = jnp.where(keep, alpha, big)
    T = jnp.diag(diag) + jnp.diag(off, 1) + jnp.diag(off, -1)
    ev = jnp.linalg.eigvalsh(T)
    lam = ev[0]
    n_mem = jnp.sum(members)
    return jnp.where(n_mem >= 2, jnp.maximum(lam, 0.0), jnp.nan)
