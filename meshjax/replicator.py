r"""Jain–Krishna catalytic replicator dynamics and Perron–Frobenius selection (§9.5).

s types; C[i, j] = 1 if type j catalyses type i (no self-links). Populations follow the
Jain–Krishna (1998) equation

    dx_i/dt = Σ_j C_ij x_j − x_i Σ_{k,j} C_kj x_j,      Σ_i x_i = 1,

whose solution is x(t) = e^{Ct} x0 / |e^{Ct} x0|_1. Its attractor X (from a uniform x0) is
the limit direction of e^{Ct} 1, which is also the limit direction of (I + C)^m 1; meshjax
computes it exactly (up to rounding) by repeated squaring of I + C. X is an eigenvector
of C for λ1 = ρ(C): the Perron–Frobenius vector of the dominant autocatalytic set (ACS)
and its periphery (Prop. 9.6); with no ACS (λ1 = 0) it is C^L 1 (L the longest path).
A graph update removes a least-fit type (smallest X_i; random among ties) and gives the
new type random in- and out-links with probability p each.

Note on (19): the chapter prints dc_i/dt = c_i (Σ_j M_ij c_j − φ0), a replicator equation
with linear fitness (a Lotka–Volterra/hypercycle form). Its rest points have equal
(Mc)_i on their support and are not in general the PF eigenvector (for M = a 2-cycle with
a pendant node they form a line). The Jain–Krishna model cited for Prop. 9.6 has no
factor c_i in the catalytic term; meshjax implements that (`jk_rhs`) and keeps the printed
form as `replicator_rhs_19` for comparison.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

__all__ = [
    "JKRecord",
    "random_catalytic_matrix",
    "attractor",
    "jk_rhs",
    "replicator_rhs_19",
    "jain_krishna_step",
    "jain_krishna",
]


class JKRecord(eqx.Module):
    """What one Jain–Krishna graph update records (of the graph before the update).

    Attributes:
      lambda1: λ1 = ρ(C), the Perron–Frobenius eigenvalue (0, or >= 1 once an ACS exists).
      acs_size: number of types with X_i > 0 when λ1 >= 1 (the dominant ACS and its
        periphery, JK's s1); 0 when there is no ACS.
      n_links: number of catalytic links Σ C_ij.
      removed: index of the type replaced.
    """

    lambda1: Float[Array, "*t"]
    acs_size: Int[Array, "*t"]
    n_links: Int[Array, "*t"]
    removed: Int[Array, "*t"]


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_s(s):
    if not _is_int(s) or s < 2:
        raise ValueError(f"s={s!r}: the number of types must be an int >= 2")


def _check_p(p):
    if isinstance(p, jax.core.Tracer):
        return
    a = np.asarray(p)
    if a.shape != () or not np.isfinite(a) or not 0.0 <= float(a) <= 1.0:
        raise ValueError(f"p={p!r}: link probability must be a scalar in [0, 1]")


def _check_adjacency(adjacency, name="adjacency"):
    shape = jnp.shape(adjacency)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"{name} must be a square (s, s) matrix; got shape {shape}")
    _check_s(shape[0])


def random_catalytic_matrix(key: PRNGKeyArray, s: int, p) -> Bool[Array, "s s"]:
    """Random catalytic graph: each ordered pair i != j is a link j -> i with probability p.

    Args:
      key: PRNG key. s: number of types, int >= 2. p: link probability in [0, 1].

    Returns:
      (s, s) bool C with C[i, j] = j catalyses i and a zero diagonal.

    Raises:
      ValueError: on s < 2 or p outside [0, 1].
    """
    _check_s(s)
    _check_p(p)
    return _random_matrix(key, s, jnp.asarray(p))


def _random_matrix(key, s, p):
    links = jr.bernoulli(key, p, (s, s))
    return links & ~jnp.eye(s, dtype=bool)


def _attractor(adjacency, n_squarings, tol):
    dtype = jnp.result_type(float)
    c = adjacency.astype(dtype)
    s = c.shape[0]

    # no cycles (C nilpotent, λ1 = 0): X ∝ C^L 1, the last non-zero C^k 1, exactly.
    # Stops at the first k with C^k 1 = 0 (acyclic) or after s products (a cycle).
    def path_cond(carry):
        _, k, nonzero = carry
        return nonzero & (k < s)

    def path_body(carry):
        v, k, _ = carry
        w = c @ v
        mx = jnp.max(w)
        nonzero = mx > 0
        return jnp.where(nonzero, w / jnp.where(nonzero, mx, 1), v), k + 1, nonzero

    v_top, _, cyclic = lax.while_loop(
        path_cond, path_body, (jnp.ones((s,), dtype), jnp.array(0), jnp.array(True)))
    acyclic = ~cyclic  # C^k 1 = 0 for some k <= s

    # cycles (λ1 >= 1): limit direction of (I + C)^m 1 by normalised squaring, until
    # the matrix stops changing or after n_squarings squarings
    def sq_cond(carry):
        _, i, changed = carry
        return changed & (i < n_squarings)

    def sq_body(carry):
        m, i, _ = carry
        m2 = m @ m
        mx = jnp.max(m2)
        m2 = jnp.where(mx > 0, m2 / jnp.where(mx > 0, mx, 1), m)
        return m2, i + 1, jnp.any(m2 != m)

    def squarings(_):
        m = jnp.eye(s, dtype=dtype) + c
        m, _, _ = lax.while_loop(sq_cond, sq_body, (m / jnp.max(m), jnp.array(0),
                                                    jnp.array(True)))
        return jnp.sum(m, axis=1)

    x_cyc = lax.cond(acyclic, lambda _: v_top, squarings, None)
    x = jnp.where(acyclic, v_top, x_cyc)
    x = x / jnp.sum(x)
    x = jnp.where(x > tol * jnp.max(x), x, 0.0)  # drop the O(2^-n_squarings) remainders
    x = x / jnp.sum(x)
    lam = jnp.where(acyclic, 0.0, jnp.sum(c @ x))  # C X = λ1 X and Σ X = 1
    return x, lam


def attractor(
    adjacency: Bool[Array, "s s"], *, n_squarings: int = 40, tol: float = 1e-9
) -> tuple[Float[Array, " s"], Float[Array, ""]]:
    r"""Attractor X of the Jain–Krishna equation and λ1 = ρ(C) (Prop. 9.6).

    X = lim_{m→∞} (I + C)^m 1 / |·|_1. With no cycles (C nilpotent, λ1 = 0) this is
    X ∝ C^L 1 (types at the ends of the longest paths), computed exactly by s
    matrix-vector products. Otherwise by `n_squarings` normalised squarings of I + C
    (m = 2^40 by default: remainders decaying like 1/m or faster fall below `tol`); X is
    then a non-negative eigenvector of C for λ1, the PF vector of the dominant ACS and its
    periphery. (In float32 a chain of >= 5 ACSs with exactly equal λ1, a Jordan block of
    size >= 5, could underflow; x64 covers it.)

    Args:
      adjacency: (s, s) bool, C[i, j] = j catalyses i.
      n_squarings: number of squarings (static).
      tol: entries below tol·max(X) are set to 0 (they vanish in the exact limit).

    Returns:
      (X, λ1): (s,) populations summing to 1, and the scalar λ1 = Σ (C X).

    Raises:
      ValueError: on a non-square matrix or s < 2.

    Cost: O((n_squarings + 1) · s^3).
    """
    _check_adjacency(adjacency)
    return _attractor_jit(jnp.asarray(adjacency, bool), int(n_squarings), float(tol))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _attractor_jit(adjacency, n_squarings, tol):
    return _attractor(adjacency, n_squarings, tol)


def jk_rhs(x: Float[Array, " s"], adjacency: Bool[Array, "s s"]) -> Float[Array, " s"]:
    r"""Right-hand side of the Jain–Krishna equation, C x − x Σ(C x)."""
    cx = adjacency.astype(x.dtype) @ x
    return cx - x * jnp.sum(cx)


def replicator_rhs_19(c: Float[Array, " s"], adjacency: Bool[Array, "s s"]
                      ) -> Float[Array, " s"]:
    r"""Right-hand side of (19) as printed, c_i((M c)_i − φ0), with φ0 = Σ_i c_i (M c)_i
    (the normalisation that keeps Σ c = 1; the chapter's N^{-1} is 1 on the simplex)."""
    mc = adjacency.astype(c.dtype) @ c
    return c * (mc - jnp.sum(c * mc))


def _step(key, adjacency, p, n_squarings, tol):
    s = adjacency.shape[0]
    key_pick, key_in, key_out = jr.split(key, 3)
    x, lam = _attractor(adjacency, n_squarings, tol)
    least = x <= jnp.min(x) + tol * jnp.max(x)
    k = jr.categorical(key_pick, jnp.where(least, 0.0, -jnp.inf))
    others = jnp.arange(s) != k
    row = jr.bernoulli(key_in, p, (s,)) & others  # C[k, j]: j catalyses the new type
    col = jr.bernoulli(key_out, p, (s,)) & others  # C[j, k]: the new type catalyses j
    new = adjacency.at[k, :].set(row).at[:, k].set(col)
    has_acs = lam > 0.5  # λ1 of a 0/1 matrix is 0 or >= 1
    record = JKRecord(
        lambda1=lam,
        acs_size=jnp.where(has_acs, jnp.sum(x > 0), 0).astype(jnp.int32),
        n_links=jnp.sum(adjacency).astype(jnp.int32),
        removed=k.astype(jnp.int32),
    )
    return new, record


def jain_krishna_step(
    key: PRNGKeyArray, adjacency: Bool[Array, "s s"], p, *, n_squarings: int = 40,
    tol: float = 1e-9
) -> tuple[Bool[Array, "s s"], JKRecord]:
    """One Jain–Krishna graph update: attractor, remove a least-fit type, new random links.

    Args:
      key: PRNG key. adjacency: (s, s) bool C. p: link probability in [0, 1].
      n_squarings, tol: see `attractor`; ties are X_i <= min X + tol·max X.

    Returns:
      (new adjacency, `JKRecord` of the graph before the update).

    Raises:
      ValueError: on a non-square matrix, s < 2, or p outside [0, 1].

    Cost: O(n_squarings · s^3).
    """
    _check_adjacency(adjacency)
    _check_p(p)
    return _step_jit(key, jnp.asarray(adjacency, bool), jnp.asarray(p),
                     int(n_squarings), float(tol))


@functools.partial(jax.jit, static_argnums=(3, 4))
def _step_jit(key, adjacency, p, n_squarings, tol):
    return _step(key, adjacency, p, n_squarings, tol)


def jain_krishna(
    key: PRNGKeyArray,
    s: int,
    p,
    n_updates: int,
    *,
    initial: Bool[Array, "s s"] | None = None,
    n_squarings: int = 40,
    tol: float = 1e-9,
) -> tuple[Bool[Array, "s s"], JKRecord]:
    r"""Runs the Jain–Krishna model for `n_updates` graph updates (`lax.scan`).

    Update i uses `jr.fold_in(key, i)`; the initial graph (if not given) is
    `random_catalytic_matrix(jr.fold_in(key, 2**31 - 1), s, p)`. A (b,) batch of keys
    gives b independent runs (vmapped); vmap yourself to batch p as well.

    Args:
      key: PRNG key, or a (b,) batch of keys (then outputs get a leading (b,) axis). s: number of types, int >= 2 (static). p: link probability in [0, 1]
        (may be traced). n_updates: number of graph updates, int >= 1 (static).
      initial: optional (s, s) bool starting graph.
      n_squarings, tol: see `attractor`.

    Returns:
      (final adjacency, `JKRecord` with leading axis n_updates).

    Raises:
      ValueError: on s < 2, p outside [0, 1], n_updates < 1 or a wrong `initial` shape.

    Cost: O(n_updates · n_squarings · s^3).
    """
    _check_s(s)
    _check_p(p)
    if not _is_int(n_updates) or n_updates < 1:
        raise ValueError(f"n_updates={n_updates!r}: must be an int >= 1")
    if initial is not None:
        _check_adjacency(initial, "initial")
        if jnp.shape(initial)[0] != s:
            raise ValueError(f"initial has shape {jnp.shape(initial)}; expected ({s}, {s})")
        initial = jnp.asarray(initial, bool)
    return _run_jit(key, jnp.asarray(p), initial, s, int(n_updates), int(n_squarings),
                    float(tol))


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6))
def _run_jit(key, p, initial, s, n_updates, n_squarings, tol):
    if jnp.ndim(key):
        run = lambda k: _run_jit.__wrapped__(k, p, initial, s, n_updates, n_squarings, tol)
        for _ in range(jnp.ndim(key)):
            run = jax.vmap(run)
        return run(key)
    if initial is None:
        initial = _random_matrix(jr.fold_in(key, 2**31 - 1), s, p)

    def body(adj, i):
        return _step(jr.fold_in(key, i), adj, p, n_squarings, tol)

    return lax.scan(body, initial, jnp.arange(n_updates))
