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
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray

from ._results import RESULTS, AbstractResult, where_status
from ._validate import (
    as_key,
    check_array,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)

__all__ = [
    "Attractor",
    "JKRecord",
    "JKRun",
    "attractor",
    "jain_krishna",
    "jain_krishna_step",
    "jk_rhs",
    "random_catalytic_matrix",
    "replicator_rhs_19",
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


class JKRun(AbstractResult):
    """Result of `jain_krishna` and `jain_krishna_step`.

    Attributes:
      adjacency: (..., n_types, n_types) bool C after the last update.
      record: `JKRecord` of every update (leading axis n_steps for `jain_krishna`, none
        for `jain_krishna_step`), each of the graph before that update.
      status: `RESULTS.successful`, or `RESULTS.invalid_parameter` when a traced `p` is
        outside [0, 1] (then `record.lambda1` is NaN).
    """

    adjacency: Bool[Array, "*b s s"]
    record: JKRecord
    status: RESULTS


class Attractor(eqx.Module):
    """Result of `attractor`: the Jain–Krishna attractor X and λ1 = ρ(C).

    Attributes:
      x: (n_types,) populations summing to 1.
      lambda1: scalar λ1 = Σ (C X).
    """

    x: Float[Array, " s"]
    lambda1: Float[Array, ""]


def _check_p(p) -> Any:
    p = check_real("p", p, low=0.0, high=1.0)
    return jnp.asarray(p, dtype=float) if isinstance(p, float) else p


def _check_adjacency(adjacency, name="adjacency") -> Array:
    a = check_array(name, adjacency, kind="bool", ndim=2)
    shape = a.shape
    if shape[0] != shape[1]:
        raise ValueError(
            f"`{name}` must be a square (n_types, n_types) matrix; got shape {shape}"
        )
    if shape[0] < 2:
        raise ValueError(
            f"`{name}` has shape {shape}; allowed: at least 2 types (n_types >= 2)"
        )
    if not is_traced(a) and np.any(np.diagonal(np.asarray(a))):
        # a self-catalyst would count as an autocatalytic set by itself (lambda_1 = 1)
        i = int(np.flatnonzero(np.diagonal(np.asarray(a)))[0])
        raise ValueError(
            f"`{name}`[{i}, {i}] is a self-link; the model has none (zero diagonal)"
        )
    return jnp.asarray(a, bool)


def random_catalytic_matrix(
    key: PRNGKeyArray | int, n_types: int, p: ArrayLike
) -> Bool[Array, "s s"]:
    """Random catalytic graph: each ordered pair i != j is a link j -> i with probability p.

    Args:
      key: PRNG key (or an int seed).
      n_types: number of types, int >= 2 (static).
      p: link probability in [0, 1] (may be traced; a traced value outside [0, 1] is
        an `eqx.error_if` error, since a boolean matrix cannot carry NaN).

    Returns:
      (n_types, n_types) bool C with C[i, j] = j catalyses i and a zero diagonal.

    Raises:
      ValueError: on n_types < 2 or p outside [0, 1].
    """
    key = as_key(key)
    n_types = check_int("n_types", n_types, min_value=2)
    p = _check_p(p)
    p = eqx.error_if(
        p, ~in_domain(p, low=0.0, high=1.0), "`p` is out of range; allowed: [0, 1]"
    )
    return _random_matrix(key, n_types, p)


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
        path_cond, path_body, (jnp.ones((s,), dtype), jnp.array(0), jnp.array(True))
    )
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
        m, _, _ = lax.while_loop(
            sq_cond, sq_body, (m / jnp.max(m), jnp.array(0), jnp.array(True))
        )
        return jnp.sum(m, axis=1)

    x_cyc = lax.cond(acyclic, lambda _: v_top, squarings, None)
    x = jnp.where(acyclic, v_top, x_cyc)
    x = x / jnp.sum(x)
    x = jnp.where(x > tol * jnp.max(x), x, 0.0)  # drop the O(2^-n_squarings) remainders
    x = x / jnp.sum(x)
    lam = jnp.where(acyclic, 0.0, jnp.sum(c @ x))  # C X = λ1 X and Σ X = 1
    return x, lam


def attractor(
    adjacency: ArrayLike, *, n_squarings: int = 40, tol: float = 1e-9
) -> Attractor:
    r"""Attractor X of the Jain–Krishna equation and λ1 = ρ(C) (Prop. 9.6).

    X = lim_{m→∞} (I + C)^m 1 / |·|_1. With no cycles (C nilpotent, λ1 = 0) this is
    X ∝ C^L 1 (types at the ends of the longest paths), computed exactly by n_types
    matrix-vector products. Otherwise by `n_squarings` normalised squarings of I + C
    (m = 2^40 by default: remainders decaying like 1/m or faster fall below `tol`); X is
    then a non-negative eigenvector of C for λ1, the PF vector of the dominant ACS and its
    periphery. (In float32 a chain of >= 5 ACSs with exactly equal λ1, a Jordan block of
    size >= 5, could underflow; x64 covers it.)

    Args:
      adjacency: (n_types, n_types) bool, C[i, j] = j catalyses i.
      n_squarings: number of squarings (static).
      tol: entries below tol·max(X) are set to 0 (they vanish in the exact limit); a
        static option.

    Returns:
      An `Attractor`: `x`, the (n_types,) populations summing to 1, and the scalar
      `lambda1` = Σ (C X).

    Raises:
      ValueError: on a non-square matrix, n_types < 2 or a self-link (a nonzero
        diagonal entry).

    Cost: O((n_squarings + 1) · n_types^3).
    """
    adjacency = _check_adjacency(adjacency)
    n_squarings = check_int("n_squarings", n_squarings, min_value=1)
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True)
    x, lam = _attractor_jit(adjacency, n_squarings, float(tol))
    return Attractor(x=x, lambda1=lam)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _attractor_jit(adjacency, n_squarings, tol):
    return _attractor(adjacency, n_squarings, tol)


def _check_state(name, x, adjacency):
    adjacency = _check_adjacency(adjacency)
    x = check_array(name, x, ndim=1, finite=False)
    if x.shape[0] != adjacency.shape[0]:
        raise ValueError(
            f"`{name}` must have shape ({adjacency.shape[0]},) to match `adjacency`, "
            f"got shape {x.shape}"
        )
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(float)
    return jnp.asarray(x), adjacency


def jk_rhs(x: ArrayLike, adjacency: ArrayLike) -> Float[Array, " s"]:
    r"""Right-hand side of the Jain–Krishna equation, C x − x Σ(C x)."""
    x, adjacency = _check_state("x", x, adjacency)
    cx = adjacency.astype(x.dtype) @ x
    return cx - x * jnp.sum(cx)


def replicator_rhs_19(c: ArrayLike, adjacency: ArrayLike) -> Float[Array, " s"]:
    r"""Right-hand side of (19) as printed, c_i((M c)_i − φ0), with φ0 = Σ_i c_i (M c)_i
    (the normalisation that keeps Σ c = 1; the chapter's N^{-1} is 1 on the simplex)."""
    c, adjacency = _check_state("c", c, adjacency)
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
    key: PRNGKeyArray | int,
    adjacency: ArrayLike,
    p: ArrayLike,
    *,
    n_squarings: int = 40,
    tol: float = 1e-9,
) -> JKRun:
    """One Jain–Krishna graph update: attractor, remove a least-fit type, new random links.

    Args:
      key: PRNG key (or an int seed).
      adjacency: (n_types, n_types) bool C.
      p: link probability in [0, 1] (may be traced).
      n_squarings, tol: see `attractor`; ties are X_i <= min X + tol·max X.

    Returns:
      A `JKRun`: the new adjacency and the `JKRecord` of the graph before the update.

    Raises:
      ValueError: on a non-square matrix, n_types < 2, a self-link (a nonzero
        diagonal entry), or p outside [0, 1].

    Cost: O(n_squarings · n_types^3).
    """
    key = as_key(key)
    adjacency = _check_adjacency(adjacency)
    p = _check_p(p)
    n_squarings = check_int("n_squarings", n_squarings, min_value=1)
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True)
    new, record, ok = _step_jit(key, adjacency, p, n_squarings, float(tol))
    return _result(new, record, ok)


def _result(adjacency, record, ok) -> JKRun:
    lam = record.lambda1
    ok_b = jnp.reshape(ok, jnp.shape(ok) + (1,) * (lam.ndim - jnp.ndim(ok)))
    record = eqx.tree_at(lambda r: r.lambda1, record, nan_outside(ok_b, lam))
    return JKRun(
        adjacency=adjacency,
        record=record,
        status=_status(ok),
    )


def _status(ok) -> RESULTS:
    """`invalid_parameter` where not `ok`, else `successful` (any batch shape)."""
    return where_status(ok, RESULTS.successful, RESULTS.invalid_parameter)


def _safe_p(p):
    ok = in_domain(p, low=0.0, high=1.0)
    return jnp.where(ok, p, jnp.zeros_like(p)), ok


@functools.partial(jax.jit, static_argnums=(3, 4))
def _step_jit(key, adjacency, p, n_squarings, tol):
    p, ok = _safe_p(p)
    new, record = _step(key, adjacency, p, n_squarings, tol)
    return new, record, ok


def jain_krishna(
    key: Any,
    n_types: int,
    p: ArrayLike,
    n_steps: int,
    *,
    initial: ArrayLike | None = None,
    n_squarings: int = 40,
    tol: float = 1e-9,
) -> JKRun:
    r"""Runs the Jain–Krishna model for `n_steps` graph updates (`lax.scan`).

    Update i uses `jr.fold_in(key, i)`; the initial graph (if not given) is
    `random_catalytic_matrix(jr.fold_in(key, 2**31 - 1), n_types, p)`. A (b,) batch of
    keys gives b independent runs (vmapped); vmap (or `sweep`) yourself to batch p too.

    Args:
      key: PRNG key or int seed, or a (b,) batch of keys (then outputs get a leading
        (b,) axis).
      n_types: number of types, int >= 2 (static).
      p: link probability in [0, 1] (may be traced).
      n_steps: number of graph updates, int >= 1 (static).
      initial: optional (n_types, n_types) bool starting graph.
      n_squarings, tol: see `attractor`.

    Returns:
      A `JKRun`: the final adjacency and the `JKRecord`s (leading axis n_steps).

    Raises:
      ValueError: on n_types < 2, p outside [0, 1], n_steps < 1, a wrong `initial`
        shape or a self-link in it.

    Cost: O(n_steps · n_squarings · n_types^3).
    """
    key = as_key(key)
    n_types = check_int("n_types", n_types, min_value=2)
    p = _check_p(p)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    n_squarings = check_int("n_squarings", n_squarings, min_value=1)
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True)
    if initial is not None:
        initial = _check_adjacency(initial, "initial")
        if initial.shape[0] != n_types:
            raise ValueError(
                f"`initial` has shape {initial.shape}; expected ({n_types}, {n_types})"
            )
    new, record, ok = _run_jit(
        key, p, initial, n_types, n_steps, n_squarings, float(tol)
    )
    return _result(new, record, ok)


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6))
def _run_jit(key, p, initial, n_types, n_steps, n_squarings, tol):
    p, ok = _safe_p(p)
    if jnp.ndim(key):
        run = lambda k: _run_one(k, p, initial, n_types, n_steps, n_squarings, tol)
        for _ in range(jnp.ndim(key)):
            run = jax.vmap(run)
        new, record = run(key)
        return new, record, jnp.broadcast_to(ok, jnp.shape(key))
    new, record = _run_one(key, p, initial, n_types, n_steps, n_squarings, tol)
    return new, record, ok


def _run_one(key, p, initial, n_types, n_steps, n_squarings, tol):
    if initial is None:
        initial = _random_matrix(jr.fold_in(key, 2**31 - 1), n_types, p)

    def body(adj, i):
        return _step(jr.fold_in(key, i), adj, p, n_squarings, tol)

    return lax.scan(body, initial, jnp.arange(n_steps))
