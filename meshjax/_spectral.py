r"""Extreme eigenpairs of a symmetric operator: thick-restart Lanczos with full
reorthogonalisation, matrix-free and jittable.

Used by `diffusion.fiedler` (smallest eigenvalue of $L$ on $\mathbf{1}^\perp$) and
`diffusion.leading_adjacency` (largest eigenvalue of $A$). Memory: a basis of `m` vectors,
O(m n); work per restart cycle: (m − k) + 1 operator applications (m + 1 in the first)
plus O(m² n) for the reorthogonalisation.

Algorithm (Wu & Simon 2000, "Thick-restart Lanczos method for large symmetric eigenvalue
problems"): extend an orthonormal basis $V$ by $w = A v_j$ made orthogonal to every basis
vector (and to the constant vector when deflated). The first vector of a cycle couples to
all the kept Ritz vectors, so its $w$ takes two full classical Gram–Schmidt passes; the
later ones first lose their three-term components $\beta_j v_{j-1} + \alpha_j v_j$ (where
the cancellation happens) and then take one full pass, which removes what is left along
the basis, $O(\epsilon \|A v_j\|)$, and so restores orthogonality to working precision;
a second pass follows only where that pass removed most of the vector (near breakdown).
Full reorthogonalisation thus reads the basis twice per step, not four times: on a
10^6-node graph that read, not the mat-vec, set the pace.
The projected matrix $T = V^\top A V$ is filled from the coefficients, so it is the
Rayleigh–Ritz matrix of the basis. After `m` vectors, $T$ is diagonalised; the
`k` Ritz vectors nearest the wanted end of the spectrum and the last residual direction
become the start of the next cycle. In exact arithmetic the residual norm of Ritz pair
$i$ is $|\beta_m y_{m-1,i}|$, but that estimate leaves out the rounding of the mat-vecs
and of the recurrence (in float32 on a 10^6-node graph with hubs the true residual was
twice the estimate), so each cycle applies $A$ once more to the best Ritz vector and
judges it by its Rayleigh quotient and its computed residual; by the Bauer–Fike/Kato
bound an eigenvalue of $A$ lies within that residual of the quotient.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax

from ._custom_types import Array, Bool, Float, Int

# A run stops short of the tolerance, at the precision's floor, once the recurrence's
# residual estimate |beta y_m| is at most this share of the computed residual.
_FLOOR = 0.25
# A second Gram–Schmidt pass where the first left less than this share of the vector.
_DGKS = 0.7071


class LanczosResult(eqx.Module):
    r"""Outcome of `lanczos_extreme` (private; `diffusion.SpectralResult` is the public form).

    Attributes:
      value: The Rayleigh quotient $x^\top A x$ of `vector`.
      vector: The unit Ritz vector nearest the wanted end, shape `(n,)`.
      residual: $\|A x - \theta x\|_2$ for that pair (an eigenvalue lies within it).
      n_matvec: Operator applications used.
      converged: Whether `residual <= tol * scale` was reached.
    """

    value: Float[Array, ""]
    vector: Float[Array, " n"]
    residual: Float[Array, ""]
    n_matvec: Int[Array, ""]
    converged: Bool[Array, ""]


@functools.partial(
    jax.jit, static_argnames=("matvec", "m", "k", "largest", "deflate_constant")
)
def lanczos_extreme(
    matvec,
    args,
    v0: Array,
    *,
    m: int,
    k: int,
    largest: bool,
    tol: Array,
    scale: Array,
    max_restarts: Array,
    deflate_constant: bool,
) -> LanczosResult:
    r"""The extreme eigenpair of the symmetric operator `matvec(args, x)`.

    Args:
      matvec: Static callable `(args, x) -> A x` for `x` of shape `(n,)`.
      args: Pytree of arrays passed to `matvec` (e.g. the `Graph`).
      v0: Start vector `(n,)`, nonzero (after deflation).
      m: Basis size per cycle (static), `2 <= m <= n` (minus 1 with deflation).
      k: Ritz vectors kept at a restart (static), `1 <= k < m`.
      largest: Wanted end of the spectrum (static).
      tol: Relative tolerance on the residual: stop when `residual <= tol * scale`.
      scale: Scale of the eigenvalue (e.g. a bound on the spectral radius).
      max_restarts: Maximum number of cycles (traced: changing it does not recompile).
      deflate_constant: Work in $\mathbf{1}^\perp$ (static): every vector is made
        orthogonal to the constant vector.

    Returns:
      A `LanczosResult`.
    """
    n = v0.shape[0]
    dtype = v0.dtype
    max_restarts = jnp.asarray(max_restarts, jnp.int32)

    def deflate(x):
        if deflate_constant:
            return x - jnp.mean(x)
        return x

    def gs_pass(w, V, active):
        # One pass of classical Gram–Schmidt against the active rows of V.
        h = jnp.where(active, V @ w, 0)
        return w - h @ V, h

    def orth(w, V, active):
        # Two passes.
        w, h = gs_pass(w, V, active)
        w, h2 = gs_pass(w, V, active)
        return deflate(deflate(w)), h + h2

    v0 = deflate(v0)
    v0 = v0 / jnp.linalg.norm(v0)
    idx = jnp.arange(m, dtype=jnp.int32)

    def store(j, V, T, w, h, active, size, before=None):
        beta = jnp.linalg.norm(w)
        if before is not None:
            # Where the pass cancelled most of w (|w| fell below |w| before it / sqrt 2:
            # Daniel-Gragg-Kaufman-Stewart), a second pass; rare outside near-breakdown.
            def again(w):
                w, h2 = gs_pass(w, V, active)
                return deflate(w), h2

            w, h2 = lax.cond(
                beta < _DGKS * before, again, lambda w: (w, jnp.zeros_like(h)), w
            )
            h, beta = h + h2, jnp.linalg.norm(w)
        T = T.at[:, j].set(jnp.where(active, h, T[:, j]))
        T = T.at[j, :].set(jnp.where(active, h, T[j, :]))
        # Breakdown (the basis spans an invariant subspace: what is left of A v_j, after
        # two passes where needed, is rounding relative to its length `size`): continue
        # with a fresh pseudo-random direction orthogonal to the basis; T stays V^T A V.
        # A short but genuine remainder (beta a few eps of |A v_j| and up) is kept: it
        # is where the Ritz vectors' residual lies, and dropping it stalls the run.
        safe = beta > 4 * jnp.finfo(dtype).eps * size

        def fresh(_):
            r = jnp.sin(
                (jnp.arange(n, dtype=dtype) + 1)
                * (0.7548776662466927 * (j + 1).astype(dtype) + 0.5698402909980532)
            )
            r, _ = orth(r, V, active)
            return r / jnp.maximum(jnp.linalg.norm(r), jnp.finfo(dtype).tiny)

        w_next = lax.cond(safe, lambda _: w / jnp.where(safe, beta, 1), fresh, None)
        V = V.at[j + 1].set(w_next, mode="drop")  # no row m: dropped
        return V, T, w_next, jnp.where(safe, beta, 0), beta

    def extend_full(j, V, T):
        # First vector of a cycle: A v_j couples to every kept Ritz vector (the
        # "arrow" of the thick restart), so it is orthogonalised in two full passes.
        active = idx <= j
        raw = deflate(matvec(args, V[j]))
        w, h = orth(raw, V, active)
        return store(j, V, T, w, h, active, jnp.linalg.norm(raw))

    def extend(j, state):
        # Later vectors: in exact arithmetic A v_j lies in span(v_{j-1}, v_j, v_{j+1})
        # (the three-term recurrence), so those two components are removed first and
        # one full classical Gram–Schmidt pass then removes what rounding left along
        # the basis, O(eps |A v_j|): w is already nearly orthogonal, so one pass keeps V
        # orthonormal to working precision (`store` adds a second only where this one
        # removed most of w): half the reads of V of two passes from A v_j.
        # The vectors v_j and v_{j-1} ride in the loop carry (no reads of V's rows), and
        # A v_j is not deflated here: the pass below ends with the deflation.
        V, T, v, v_prev, beta_j, _ = state
        raw = matvec(args, v)
        w = raw - beta_j * v_prev
        alpha = jnp.dot(v, w)
        w = w - alpha * v
        active = idx <= j
        before = jnp.linalg.norm(w)
        w, h = gs_pass(w, V, active)
        w = deflate(w)
        h = h + jnp.where(idx == j, alpha, 0) + jnp.where(idx == j - 1, beta_j, 0)
        V, T, w_next, beta, beta_raw = store(
            j, V, T, w, h, active, jnp.linalg.norm(raw), before
        )
        return V, T, w_next, v, beta, beta_raw

    def cycle(state):
        V, T, kk, it, nmv, _, _, _, _, _ = state
        V, T, w_next, beta, beta_raw = extend_full(kk, V, T)
        state = (V, T, w_next, V[kk], beta, beta_raw)
        V, T, w_next, _, _, beta_raw = lax.fori_loop(kk + 1, m, extend, state)
        Ts = 0.5 * (T + T.T)
        theta, Y = jnp.linalg.eigh(Ts)  # ascending
        if largest:
            theta, Y = theta[::-1], Y[:, ::-1]
        X = Y[:, :k].T @ V  # (k, n) Ritz vectors
        new_V = jnp.zeros_like(V).at[:k].set(X).at[k].set(w_next)
        new_T = jnp.zeros_like(T).at[idx[:k], idx[:k]].set(theta[:k])
        # The best pair judged on A itself (one application): its Rayleigh quotient and
        # its computed residual. The estimate |beta y_m| leaves out rounding in the
        # mat-vecs and in the recurrence, and in single precision on a large graph the
        # computed residual stalls at a floor above it: once the estimate is a small part
        # of the computed residual (rounding makes up nearly all of it), more cycles
        # cannot bring it down, and a tolerance below it ends the run unconverged.
        x = X[0] / jnp.linalg.norm(X[0])
        y = deflate(matvec(args, x))
        value = jnp.dot(x, y)
        res = jnp.linalg.norm(y - value * x)
        nmv = nmv + (m - kk) + 1
        conv = res <= tol * scale
        # (the estimate with the remainder as it was, also where it was set aside)
        floor = jnp.abs(beta_raw * Y[m - 1, 0]) <= _FLOOR * res
        k_arr = jnp.asarray(k, jnp.int32)
        return (new_V, new_T, k_arr, it + 1, nmv, value, x, res, conv, floor)

    V = jnp.zeros((m, n), dtype).at[0].set(v0)
    T = jnp.zeros((m, m), dtype)
    zero = jnp.zeros((), dtype)
    state = (
        V,
        T,
        jnp.asarray(0, jnp.int32),
        jnp.asarray(0, jnp.int32),
        jnp.asarray(0, jnp.int32),
        zero,
        v0,
        jnp.asarray(jnp.inf, dtype),
        jnp.asarray(False),
        jnp.asarray(False),
    )
    state = lax.while_loop(
        lambda s: ~(s[8] | s[9]) & (s[3] < max_restarts), cycle, state
    )
    _, _, _, _, nmv, value, vec, res, conv, _ = state
    vec = vec / jnp.linalg.norm(vec)
    return LanczosResult(
        value=value, vector=vec, residual=res, n_matvec=nmv, converged=conv
    )
