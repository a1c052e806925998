r"""Training operations as catalytic reaction systems and their RAF sets (§9).

A reaction system (Def. 9.1) has `n_types` molecule/capability types, `n_reactions`
reactions (training operations) with reactants I_r, products O_r and catalysts K_r, and a
food set F (Def. 9.2). A subset R' of reactions is a RAF set (Def. 9.3, Hordijk & Steel
2004) if it is non-empty and every r in R' has all its reactants and at least one of its
catalysts in cl_{R'}(F), the closure of the food set under the reactions of R'.

Representation (fixed shapes, so random instances `vmap`):

* `reactants` (r, a) and `products` (r, b): type indices of each reaction, padded with the
  sentinel `n_types` ("no reactant"/"no product");
* `catalyst_types` (k,), `catalyst_reactions` (k,): the catalysis pairs (x catalyses r),
  padded with reaction index `n_reactions` (padding pairs catalyse nothing);
* `food` (s,): boolean mask of the food set.

This is O(r·(a + b) + k) in memory: Kauffman's binary polymer model with n = 12 (8190
types, 163 848 reactions) is 2.6 MB per instance, where dense r × s incidence matrices
would be 1.3 GB. `ReactionSystem.from_dense` / `to_dense` convert from / to dense boolean
(r, s) incidence matrices.

Note on Def. 9.3 (a): the chapter asks each operation to be catalysed by a type "in the
food set or produced by some *other* operation in R". Hordijk–Steel (and meshjax) use
cl_{R'}(F), so a reaction catalysed only by its own product, with food reactants, is a RAF.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from ._results import RESULTS, AbstractResult, where_status
from ._validate import (
    as_key,
    check_array,
    check_bool,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)

__all__ = [
    "CatalysisLevels",
    "PolymerSize",
    "ReactionSystem",
    "closure",
    "is_raf",
    "max_raf",
    "thin_catalysis",
    "raf_threshold",
    "binary_polymer",
    "binary_polymer_levels",
    "binary_polymer_size",
    "mesh_operations",
    "mesh_operations_levels",
    "catalysis_probability",
    "agents_for_probability",
]


class ReactionSystem(eqx.Module):
    """A catalytic reaction system (Defs. 9.1–9.2) with fixed-capacity index arrays.

    Leading batch axes are allowed (a stack of instances of equal shapes, for `vmap`).

    Attributes:
      reactants: (..., r, a) int32 type indices of each reaction's reactants (inputs I_r);
        `n_types` pads.
      products: (..., r, b) int32 type indices of each reaction's products (outputs O_r);
        `n_types` pads.
      catalyst_types: (..., k) int32 type of each catalysis pair (in [0, n_types)).
      catalyst_reactions: (..., k) int32 reaction of each catalysis pair; `n_reactions`
        marks a padding pair.
      food: (..., s) bool mask of the food set F (must be non-empty).
    """

    reactants: Int[Array, "*batch r a"]
    products: Int[Array, "*batch r b"]
    catalyst_types: Int[Array, "*batch k"]
    catalyst_reactions: Int[Array, "*batch k"]
    food: Bool[Array, "*batch s"]

    def __check_init__(self):
        batch = self.food.shape[:-1]
        nb = len(batch)
        if self.food.ndim < 1 or self.food.dtype != jnp.bool_:
            raise ValueError(
                f"food must be a boolean array of shape (..., n_types); got dtype "
                f"{self.food.dtype}, shape {self.food.shape}"
            )
        for name in ("reactants", "products", "catalyst_types", "catalyst_reactions"):
            arr = getattr(self, name)
            if not jnp.issubdtype(arr.dtype, jnp.integer):
                raise ValueError(f"{name} must be an integer array; got {arr.dtype}")
        if self.reactants.ndim != nb + 2 or self.products.ndim != nb + 2:
            raise ValueError(
                f"reactants and products must have shape (..., n_reactions, width) with "
                f"the batch shape {batch} of food; got {self.reactants.shape} and "
                f"{self.products.shape}"
            )
        if self.reactants.shape[:-1] != self.products.shape[:-1] or (
            self.reactants.shape[:nb] != batch
        ):
            raise ValueError(
                f"inconsistent shapes: reactants {self.reactants.shape}, products "
                f"{self.products.shape}, food {self.food.shape} (batch and n_reactions "
                f"must agree)"
            )
        if (
            self.catalyst_types.shape != self.catalyst_reactions.shape
            or self.catalyst_types.ndim != nb + 1
            or self.catalyst_types.shape[:nb] != batch
        ):
            raise ValueError(
                f"catalyst_types {self.catalyst_types.shape} and catalyst_reactions "
                f"{self.catalyst_reactions.shape} must both have shape (..., k) with the "
                f"batch shape {batch} of food"
            )
        s, r = self.n_types, self.n_reactions
        if not is_traced(self.food):
            food = np.asarray(self.food)
            if not food.reshape(-1, s).any(axis=1).all():
                raise ValueError(
                    "`food` set is empty (food.any() is False); a RAF needs food"
                )
        checks = (
            ("reactants", self.reactants, 0, s),
            ("products", self.products, 0, s),
            ("catalyst_types", self.catalyst_types, 0, s - 1),
            ("catalyst_reactions", self.catalyst_reactions, 0, r),
        )
        for name, arr, lo, hi in checks:
            check_array(name, arr, kind="int", low=lo, high=hi)

    @property
    def n_types(self) -> int:
        """Number of types s (static, from the shape of `food`)."""
        return self.food.shape[-1]

    @property
    def n_reactions(self) -> int:
        """Number of reactions r (static)."""
        return self.reactants.shape[-2]

    @classmethod
    def from_dense(
        cls,
        reactants,
        catalysts,
        products,
        food,
        *,
        max_reactants: int | None = None,
        max_products: int | None = None,
        max_catalysts: int | None = None,
    ) -> ReactionSystem:
        """Builds a system from dense boolean (r, s) incidence matrices (host-side NumPy).

        Args:
          reactants, catalysts, products: (r, s) boolean; entry [i, x] says type x is a
            reactant of / catalyses / is a product of reaction i.
          food: (s,) boolean food mask (non-empty).
          max_reactants, max_products, max_catalysts: capacities (widths a, b and number
            of pairs k); default the smallest that fit. Give them to stack instances.

        Returns:
          The `ReactionSystem`.

        Raises:
          ValueError: on inconsistent shapes, an empty food set, or a capacity too small.
        """
        mats = [np.asarray(m) for m in (reactants, catalysts, products)]
        food = np.asarray(food)
        names = ("reactants", "catalysts", "products")
        if food.ndim != 1:
            raise ValueError(f"food must have shape (n_types,); got {food.shape}")
        s = food.shape[0]
        for name, m in zip(names, mats):
            if m.ndim != 2 or m.shape[1] != s or m.shape[0] != mats[0].shape[0]:
                raise ValueError(
                    f"{name} must have shape (n_reactions, n_types) = "
                    f"({mats[0].shape[0] if mats[0].ndim == 2 else '?'}, {s}); "
                    f"got {m.shape}"
                )
        rea, cat, pro = (m.astype(bool) for m in mats)
        r = rea.shape[0]

        def pad_rows(m, width, name):
            need = int(m.sum(axis=1).max()) if r else 0
            width = max(need, 1) if width is None else width
            if need > width:
                raise ValueError(f"{name}={width} is too small; need {need}")
            out = np.full((r, width), s, np.int32)
            for i in range(r):
                idx = np.flatnonzero(m[i])
                out[i, : idx.size] = idx
            return out

        ri, xi = np.nonzero(cat)
        k = max(ri.size, 1) if max_catalysts is None else max_catalysts
        if ri.size > k:
            raise ValueError(f"max_catalysts={k} is too small; need {ri.size}")
        ct = np.zeros(k, np.int32)
        cr = np.full(k, r, np.int32)
        ct[: ri.size], cr[: ri.size] = xi, ri
        return cls(
            reactants=jnp.asarray(pad_rows(rea, max_reactants, "max_reactants")),
            products=jnp.asarray(pad_rows(pro, max_products, "max_products")),
            catalyst_types=jnp.asarray(ct),
            catalyst_reactions=jnp.asarray(cr),
            food=jnp.asarray(food.astype(bool)),
        )

    def to_dense(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Dense (reactants, catalysts, products, food) as NumPy booleans (one instance).

        Returns:
          Three (r, s) boolean matrices (entry [i, x]: type x reactant of / catalyses / is
          a product of reaction i) and the (s,) food mask.
        """
        if self.food.ndim != 1:
            raise ValueError(
                f"to_dense takes one instance; food shape {self.food.shape}"
            )
        s, r = self.n_types, self.n_reactions

        def dense(idx):
            m = np.zeros((r, s + 1), bool)
            rows = np.repeat(np.arange(r), idx.shape[1])
            m[rows, np.asarray(idx).ravel()] = True
            return m[:, :s]

        cat = np.zeros((r + 1, s), bool)
        cat[np.asarray(self.catalyst_reactions), np.asarray(self.catalyst_types)] = True
        return (
            dense(self.reactants),
            cat[:r],
            dense(self.products),
            np.asarray(self.food),
        )


def _check_system(system, name="system"):
    if not isinstance(system, ReactionSystem):
        raise TypeError(
            f"`{name}` must be a ReactionSystem; got {type(system).__name__}"
        )


def _check_mask(system, reaction_mask, name="reaction_mask"):
    shape = system.food.shape[:-1] + (system.n_reactions,)
    return jnp.asarray(check_array(name, reaction_mask, kind="bool", shape=shape))


def _check_levels(system, levels):
    return jnp.asarray(
        check_array(
            "levels", levels, shape=system.catalyst_types.shape, finite=False, low=0.0
        )
    )


def _reactants_ok(system, avail):
    """(r,) whether all reactants of each reaction are in `avail` (sentinel counts)."""
    ext = jnp.concatenate([avail, jnp.ones((1,), bool)])
    return jnp.all(ext[system.reactants], axis=-1)


def _catalysed(system, avail):
    """(r,) whether some catalyst of each reaction is in `avail`."""
    r = system.n_reactions
    idx = jnp.where(avail[system.catalyst_types], system.catalyst_reactions, r)
    return jnp.zeros((r,), bool).at[idx].set(True, mode="drop")


def _closure(system, active):
    """cl_active(F) for one instance: repeat firing until nothing new appears."""
    s = system.n_types

    def fire(avail):
        ok = active & _reactants_ok(system, avail)
        idx = jnp.where(ok[:, None], system.products, s)
        return avail.at[idx].set(True, mode="drop")

    def body(carry):
        avail, _ = carry
        new = fire(avail)
        return new, jnp.any(new != avail)

    avail, _ = lax.while_loop(lambda c: c[1], body, (system.food, jnp.array(True)))
    return avail


def _max_raf(system, init=None):
    """Greatest fixpoint of the Hordijk–Steel operator, iterated from `init` (default all
    reactions). Any `init` containing the maxRAF gives the maxRAF (the operator is
    monotone), which `_raf_threshold` uses for warm starts."""

    def body(carry):
        active, _ = carry
        avail = _closure(system, active)
        new = active & _reactants_ok(system, avail) & _catalysed(system, avail)
        return new, jnp.any(new != active)

    if init is None:
        init = jnp.ones((system.n_reactions,), bool)
    active, _ = lax.while_loop(lambda c: c[1], body, (init, jnp.array(True)))
    return active


def _batched(fn, system, *args):
    nb = system.food.ndim - 1
    for _ in range(nb):
        fn = jax.vmap(fn)
    return fn(system, *args)


@jax.jit
def _max_raf_jit(system):
    return _batched(_max_raf, system)


@jax.jit
def _closure_jit(system, mask):
    return _batched(_closure, system, mask)


@jax.jit
def _is_raf_jit(system, mask):
    def one(system, mask):
        avail = _closure(system, mask)
        ok = _reactants_ok(system, avail) & _catalysed(system, avail)
        return jnp.any(mask) & jnp.all(ok | ~mask)

    return _batched(one, system, mask)


def max_raf(system: ReactionSystem) -> Bool[Array, "*batch r"]:
    r"""The maximal RAF set (Def. 9.3) by the Hordijk–Steel fixpoint.

    Repeat: compute cl_{R'}(F), the closure of the food set under the remaining reactions
    R'; drop every reaction with a reactant outside the closure or no catalyst inside it;
    until nothing changes. The result is the union of all RAF subsets (empty: no RAF).
    Nested `lax.while_loop`s; jittable and vmappable; leading batch axes of `system` are
    vmapped over.

    Args:
      system: a `ReactionSystem`, possibly batched (..., ).

    Returns:
      (..., r) bool mask of the reactions in the maximal RAF (all False: no RAF exists).

    Raises:
      TypeError: if `system` is not a `ReactionSystem`.

    Cost: O(r·(a + b) + k) per closure step; at most r outer rounds, each with at most
    s closure steps (typically a handful of each).
    """
    _check_system(system)
    return _max_raf_jit(system)


def closure(
    system: ReactionSystem, reaction_mask: ArrayLike
) -> Bool[Array, "*batch s"]:
    r"""cl_{R'}(F): the types produced from the food set by the reactions in `reaction_mask`.

    Catalysis is ignored (as in Hordijk–Steel's definition of the closure).

    Args:
      system: a `ReactionSystem` (possibly batched).
      reaction_mask: (..., r) bool, the reaction subset R'.

    Returns:
      (..., s) bool mask of the closure.

    Raises:
      TypeError, ValueError: on a wrong system type or mask shape.

    Cost: O(r·(a + b)) per step, at most s steps.
    """
    _check_system(system)
    return _closure_jit(system, _check_mask(system, reaction_mask))


def is_raf(system: ReactionSystem, reaction_mask: ArrayLike) -> Bool[Array, "*batch"]:
    r"""Whether `reaction_mask` is a RAF set (Def. 9.3): non-empty, every reaction with all
    reactants and at least one catalyst in cl_{R'}(F).

    Args:
      system: a `ReactionSystem` (possibly batched).
      reaction_mask: (..., r) bool, the reaction subset R'.

    Returns:
      (...,) bool.

    Raises:
      TypeError, ValueError: on a wrong system type or mask shape.

    Cost: one closure plus O(r·a + k).
    """
    _check_system(system)
    return _is_raf_jit(system, _check_mask(system, reaction_mask))


def thin_catalysis(
    system: ReactionSystem, levels: ArrayLike, level: ArrayLike
) -> ReactionSystem:
    """Keeps only the catalysis pairs with `levels <= level` (monotone coupling).

    Generators `*_levels` attach to each catalysis pair the smallest parameter value (f, or
    the catalysis probability p) at which it is present; thinning at `level` gives an
    exact sample of the model at that parameter, coupled across parameters.

    Args:
      system: a `ReactionSystem` (possibly batched).
      levels: (..., k) level of each catalysis pair, >= 0 (inf for padding).
      level: scalar or (...,) threshold >= 0 (may be traced; a traced NaN or negative
        level is an `eqx.error_if` error: a system has no NaN to carry it).

    Returns:
      The thinned `ReactionSystem` (same shapes).
    """
    _check_system(system)
    levels = _check_levels(system, levels)
    level = jnp.asarray(check_array("level", level, low=0.0))
    level = eqx.error_if(
        level,
        ~jnp.all(in_domain(level, low=0.0)),
        "`level` is out of range; allowed: [0, inf)",
    )
    keep = levels <= level[..., None]
    cr = jnp.where(keep, system.catalyst_reactions, system.n_reactions)
    return eqx.tree_at(lambda s: s.catalyst_reactions, system, cr.astype(jnp.int32))


def _raf_threshold(system, levels):
    sorted_levels = jnp.sort(levels)
    n_finite = jnp.sum(jnp.isfinite(levels))

    def sub_system(i):  # the pairs with the i+1 smallest levels
        keep = levels <= sorted_levels[i]
        cr = jnp.where(keep, system.catalyst_reactions, system.n_reactions)
        return eqx.tree_at(lambda s: s.catalyst_reactions, system, cr)

    full = _max_raf(system)
    found = jnp.any(full)

    # invariant: RAF with pairs[: hi + 1] (its maxRAF is hi_mask); none below lo
    def body(carry):
        lo, hi, hi_mask = carry
        mid = (lo + hi) // 2
        mask = _max_raf(sub_system(mid), init=hi_mask)  # warm start: maxRAF is monotone
        ok = jnp.any(mask)
        return (
            jnp.where(ok, lo, mid + 1),
            jnp.where(ok, mid, hi),
            jnp.where(ok, mask, hi_mask),
        )

    hi0 = jnp.where(found, n_finite - 1, 0)
    lo, hi, _ = lax.while_loop(
        lambda c: c[0] < c[1], body, (jnp.zeros_like(hi0), hi0, full)
    )
    inf = jnp.array(jnp.inf, levels.dtype)
    return jnp.where(found, sorted_levels[hi], inf)


@functools.partial(jax.jit, static_argnames="batch_size")
def _raf_threshold_jit(system, levels, batch_size):
    batch = system.food.shape[:-1]
    if not batch:
        return _raf_threshold(system, levels)
    flat = jax.tree.map(
        lambda x: x.reshape((-1,) + x.shape[len(batch) :]), (system, levels)
    )
    out = lax.map(lambda a: _raf_threshold(*a), flat, batch_size=batch_size)
    return out.reshape(batch)


def raf_threshold(
    system: ReactionSystem, levels: ArrayLike, *, batch_size: int = 1
) -> Float[Array, "*batch"]:
    r"""The smallest level at which the thinned system has a RAF (per instance).

    With `levels` from `binary_polymer_levels` (f units) or `mesh_operations_levels`
    (p units), this is the instance's critical catalysis level: the coupled system at
    parameter x has a RAF iff x >= threshold. P(RAF)(x) is then the empirical CDF of the
    thresholds over instances: one bisection per instance gives the whole curve.

    Args:
      system: a `ReactionSystem` with all candidate pairs (possibly batched).
      levels: (..., k) level of each pair (inf for padding).
      batch_size: instances vmapped together (`lax.map(..., batch_size)`); the bisection
        runs until the slowest instance of a chunk finishes, so 1 (sequential) is best on
        CPU, larger on GPU.

    Returns:
      (...,) threshold level; inf when no RAF exists even with all pairs.

    Cost: about log2(#pairs) calls of `max_raf`, each warm-started from the last RAF found.
    """
    _check_system(system)
    levels = _check_levels(system, levels)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    return _raf_threshold_jit(system, levels, batch_size)


# ----------------------------------------------------------------------------- sampling


def _bernoulli_pairs(key, n_types, n_reactions, p, capacity):
    """Each (type, reaction) pair independently with probability p, per-type capacity.

    Exact: geometric gaps between successes along each type's row. Returns
    (types, reactions, u) of shape (n_types * capacity,), padding reaction index
    `n_reactions`, and u ~ U(0, 1) per pair (for the coupling levels), plus an overflow
    flag (some row may have more than `capacity` successes).
    """
    key_gap, key_u = jr.split(key)
    dtype = jnp.result_type(float)
    p = jnp.asarray(p, dtype)
    u = jr.uniform(key_gap, (n_types, capacity), dtype, minval=jnp.finfo(dtype).tiny)
    gaps = jnp.floor(jnp.log(u) / jnp.log1p(-p)) + 1.0
    gaps = jnp.clip(jnp.nan_to_num(gaps, nan=n_reactions + 1.0), 1.0, n_reactions + 1.0)
    # A running sum that stops at n_reactions + 1 (past the last reaction nothing more
    # is placed): a plain int32 cumsum of up to `capacity` gaps of n_reactions + 1 each
    # wrapped past 2^31 (max_catalysed 4400 at 10^6 reactions) and put pairs on
    # reactions that had none. uint32: a + b <= 2 (n_reactions + 1) < 2^32.
    cap = jnp.uint32(n_reactions + 1)

    def add(a, b):
        return jnp.minimum(a + b, cap)

    csum = lax.associative_scan(add, gaps.astype(jnp.uint32), axis=1)
    pos = csum.astype(jnp.int32) - 1
    overflow = jnp.any(pos[:, -1] < n_reactions)
    reactions = jnp.where(pos < n_reactions, pos, n_reactions).astype(jnp.int32)
    types = jnp.broadcast_to(jnp.arange(n_types, dtype=jnp.int32)[:, None], pos.shape)
    uu = jr.uniform(key_u, (n_types * capacity,), dtype)
    return types.ravel(), reactions.ravel(), uu, overflow


def _capacity(max_catalysed, mean, n_reactions):
    """Per-type pair capacity: given, or mean + 10 sd + 10 (capped at n_reactions + 1)."""
    if max_catalysed is not None:
        return check_int("max_catalysed", max_catalysed, min_value=1)
    if mean is None or is_traced(mean):
        raise TypeError(
            "`max_catalysed` must be given when the catalysis level is traced (it "
            "fixes array shapes)"
        )
    m = float(mean)
    return min(int(math.ceil(m + 10.0 * math.sqrt(m) + 10.0)), n_reactions + 1)


@functools.lru_cache(maxsize=32)
def _polymer_structure(n: int, food_length: int):
    """Host-side index arrays of the binary polymer model (cached)."""
    s = 2 ** (n + 1) - 2
    lig_a, lig_b, lig_p = [], [], []
    for length in range(2, n + 1):
        v = np.arange(2**length)
        for k in range(1, length):
            left = v >> (length - k)
            right = v & ((1 << (length - k)) - 1)
            lig_a.append((2**k - 2) + left)
            lig_b.append((2 ** (length - k) - 2) + right)
            lig_p.append((2**length - 2) + v)
    a = np.concatenate(lig_a).astype(np.int32)
    b = np.concatenate(lig_b).astype(np.int32)
    w = np.concatenate(lig_p).astype(np.int32)
    pad = np.full_like(w, s)
    ligation_r = np.stack([a, b], 1)
    ligation_p = np.stack([w, pad], 1)
    cleavage_r = np.stack([w, pad], 1)
    cleavage_p = np.stack([a, b], 1)
    reactants = np.concatenate([ligation_r, cleavage_r])
    products = np.concatenate([ligation_p, cleavage_p])
    food = np.zeros(s, bool)
    food[: 2 ** (food_length + 1) - 2] = True
    return reactants, products, food


class PolymerSize(eqx.Module):
    """Size of Kauffman's binary polymer model (`binary_polymer_size`).

    Attributes:
      n_types: s = 2^{n+1} − 2 binary strings of length 1..n.
      n_reactions: |R| = (n − 2) 2^{n+2} + 8 (ligations and cleavages counted apart).
    """

    n_types: int
    n_reactions: int


class CatalysisLevels(AbstractResult):
    """Result of `binary_polymer_levels` and `mesh_operations_levels`.

    Attributes:
      system: the `ReactionSystem` with every candidate catalysis pair (k pair slots).
      levels: (..., k) parameter level (f units or probability units) at which each pair
        appears (inf for padding); `thin_catalysis(system, levels, x)` is the system at x.
      status: `RESULTS.successful`, or `RESULTS.invalid_parameter` when a traced level
        (`f_max`, `p_max`) is outside its domain, or `RESULTS.capacity_exceeded` when,
        under `jit`/`vmap`, a type drew more pairs than `max_catalysed` (a concrete
        overflow raises `ValueError`); `levels` is NaN at such instances.
    """

    system: ReactionSystem
    levels: Float[Array, "*batch k"]
    status: RESULTS


def binary_polymer_size(n: int) -> PolymerSize:
    """Number of types and reactions of the binary polymer model with maximal length n.

    Types: all binary strings of length 1..n, s = 2^{n+1} − 2. Reactions: for every
    polymer of length L >= 2 and each of its L − 1 cut points, one ligation and one
    cleavage, counted separately: |R| = 2 Σ_{L=2}^{n} (L − 1) 2^L = (n − 2) 2^{n+2} + 8.

    Returns:
      A `PolymerSize` (`n_types`, `n_reactions`).
    """
    n = check_int("n", n, min_value=2, max_value=16)
    return PolymerSize(n_types=2 ** (n + 1) - 2, n_reactions=(n - 2) * 2 ** (n + 2) + 8)


def _check_n(n, food_length):
    n = check_int("n", n, min_value=2, max_value=16)
    food_length = check_int("food_length", food_length, min_value=1, max_value=n - 1)
    return n, food_length


def _status(ok) -> RESULTS:
    """`invalid_parameter` where not `ok`, else `successful` (any batch shape)."""
    return where_status(ok, RESULTS.successful, RESULTS.invalid_parameter)


def _level(name, value, high):
    """A scalar catalysis level in [0, high]: checked when concrete; (safe value, ok)."""
    value = check_real(name, value, low=0.0, high=high)
    value = jnp.asarray(value, dtype=float) if isinstance(value, float) else value
    if not jnp.issubdtype(value.dtype, jnp.floating):
        value = value.astype(float)
    ok = in_domain(value, low=0.0, high=high)
    return jnp.where(ok, value, jnp.zeros_like(value)), ok


def _levels_result(key, out, ok) -> CatalysisLevels:
    """The levels with their status; a traced capacity overflow is a status.

    A concrete overflow raises (`_check_overflow`); a traced one (inside `jit`, `vmap`
    or a sweep) gives `RESULTS.capacity_exceeded` and NaN levels at that instance, so a
    sweep needs no host callback (and its program can be cached between processes).
    """
    system, levels, overflow = out
    if not is_traced(overflow):
        system, levels = _check_overflow(out)
        overflow = jnp.zeros(jnp.shape(overflow), bool)
    ok = jnp.broadcast_to(ok, jnp.shape(key))
    fits = jnp.broadcast_to(~overflow, jnp.shape(key))
    status = where_status(fits, _status(ok), RESULTS.capacity_exceeded)
    return CatalysisLevels(
        system=system,
        levels=nan_outside((ok & fits)[..., None], levels),
        status=status,
    )


def _polymer(key, n, f, name, food_length, reversible, max_catalysed):
    key = as_key(key)
    n, food_length = _check_n(n, food_length)
    reversible = check_bool("reversible", reversible)
    size = binary_polymer_size(n)
    units = size.n_reactions // 2 if reversible else size.n_reactions
    f, ok = _level(name, f, float(units))
    cap = _capacity(max_catalysed, None if is_traced(f) else float(f), units)
    return key, _polymer_jit(key, f, n, food_length, reversible, cap), ok


def binary_polymer_levels(
    key: Any,
    n: int,
    f_max: ArrayLike,
    *,
    food_length: int = 2,
    reversible: bool = False,
    max_catalysed: int | None = None,
) -> CatalysisLevels:
    r"""Kauffman's binary polymer model at catalysis level `f_max`, with coupling levels.

    Types: binary polymers of length 1..n; reactions: ligation and cleavage at every cut
    (counted as separate reactions, see `binary_polymer_size`); food: the polymers of
    length <= `food_length` (default 2, i.e. 6 types). Each type catalyses each reaction
    independently with probability p = f / |R|, so **f is the mean number of reactions
    catalysed per type**, with ligations and cleavages counted as separate reactions
    and catalysed independently. With `reversible=True` a ligation and its cleavage are
    one reversible reaction: catalysis is drawn per reversible pair (p = f / (|R|/2)) and
    a catalyst of the pair catalyses both directions, so f counts reversible reactions.

    Each sampled pair carries a level in (0, f_max] (uniform): thinning at f
    (`thin_catalysis`) gives an exact sample at f, coupled across f.

    Args:
      key: PRNG key or int seed, or a (b,) batch of keys for b instances (vmapped, one
        compile).
      n: maximal polymer length, int in [2, 16] (static).
      f_max: largest catalysis level, in [0, |R|] (|R|/2 if reversible), since p <= 1.
        May be traced if `max_catalysed` is given; a traced value outside the range
        gives `status = RESULTS.invalid_parameter` and NaN levels.
      food_length: food = polymers up to this length, int in [1, n-1] (static).
      reversible: catalysis per reversible ligation/cleavage pair (see above; static).
      max_catalysed: capacity of reactions catalysed per type (static); default
        f + 10 sqrt(f) + 10. A concrete overflow raises `ValueError`; under `jit`/`vmap`
        it gives `status = RESULTS.capacity_exceeded` (NaN levels).

    Returns:
      A `CatalysisLevels`: the `system` with k = n_types * max_catalysed pair slots (2k if
      reversible) and the (k,) `levels` in f units (inf for padding); with batched keys
      both have a leading (b,) axis.

    Raises:
      ValueError: on n, food_length or f_max out of range.

    Cost: O(s · max_catalysed) sampling, O(|R|) structure (cached host-side).
    """
    key, out, ok = _polymer(
        key, n, f_max, "f_max", food_length, reversible, max_catalysed
    )
    return _levels_result(key, out, ok)


def _per_key(fn):
    """Vmaps `fn(key, ...)` over leading batch axes of `key` (a batch of instances)."""

    @functools.wraps(fn)
    def wrapped(key, *args):
        f = lambda k: fn(k, *args)
        for _ in range(jnp.ndim(key)):
            f = jax.vmap(f)
        return f(key)

    return wrapped


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5))
@_per_key
def _polymer_jit(key, f_max, n, food_length, reversible, cap):
    rea, pro, food = _polymer_structure(n, food_length)
    units = rea.shape[0] // 2 if reversible else rea.shape[0]
    return _levels_system(
        key,
        jnp.asarray(rea),
        jnp.asarray(pro),
        jnp.asarray(food),
        f_max / units,
        cap,
        scale=units,
        reversible=reversible,
    )


def _levels_system(key, rea, pro, food, p, cap, scale, reversible=False):
    s, r = food.shape[0], rea.shape[0]
    units = r // 2 if reversible else r
    types, reactions, u, overflow = _bernoulli_pairs(key, s, units, p, cap)
    levels = jnp.where(reactions < units, u * p * scale, jnp.inf)
    reactions = jnp.where(reactions < units, reactions, r)
    if reversible:  # unit i is ligation i and cleavage i + r/2 (see _polymer_structure)
        types = jnp.concatenate([types, types])
        reactions = jnp.concatenate(
            [reactions, jnp.where(reactions < r, reactions + units, r)]
        )
        levels = jnp.concatenate([levels, levels])
    system = ReactionSystem(rea, pro, types, reactions.astype(jnp.int32), food)
    return system, levels, overflow


def _check_overflow(out):
    """Raises on capacity overflow: on the host when concrete, else via eqx.error_if."""
    system, levels, overflow = out
    msg = (
        "catalysis capacity overflow: a type catalyses more than `max_catalysed` "
        "reactions"
    )
    if is_traced(overflow):
        # on_error="raise" whatever EQX_ON_ERROR says: an overflow depends on the data,
        # and `meshjax run` (which sets "nan") must still stop on it.
        levels = eqx.error_if(levels, overflow, msg, on_error="raise")
    elif np.asarray(overflow).any():
        raise ValueError(msg)
    return system, levels


def _error_if_invalid(system, ok, name, allowed):
    cr = eqx.error_if(
        system.catalyst_reactions,
        ~jnp.all(ok),
        f"`{name}` is out of range; allowed: {allowed}",
    )
    return eqx.tree_at(lambda s: s.catalyst_reactions, system, cr)


def binary_polymer(
    key: Any,
    n: int,
    f: ArrayLike,
    *,
    food_length: int = 2,
    reversible: bool = False,
    max_catalysed: int | None = None,
) -> ReactionSystem:
    """Kauffman's binary polymer model at mean catalysis level f (see
    `binary_polymer_levels` for the conventions and arguments).

    `f` is in [0, |R|] (|R|/2 if reversible): a larger f would need a catalysis
    probability p = f/|R| > 1 (a `ValueError` naming `f`; a traced f out of range is an
    `eqx.error_if` error).

    Returns:
      A `ReactionSystem`: each type catalyses each reaction with probability f / |R|.
    """
    key, out, ok = _polymer(key, n, f, "f", food_length, reversible, max_catalysed)
    system, _ = _check_overflow(out)
    return _error_if_invalid(system, ok, "f", "[0, |R|]")


def _mesh_structure(key, n_types, n_ops, n_food, n_inputs, n_outputs):
    key_in, key_out = jr.split(key)
    inputs = jr.randint(key_in, (n_ops, n_inputs), 0, n_types, jnp.int32)
    outputs = jr.randint(key_out, (n_ops, n_outputs), n_food, n_types, jnp.int32)
    food = jnp.arange(n_types) < n_food
    return inputs, outputs, food


def _check_mesh(n_types, n_ops, n_food, n_inputs, n_outputs):
    n_types = check_int("n_types", n_types, min_value=2)
    n_ops = check_int("n_ops", n_ops, min_value=1)
    n_food = check_int("n_food", n_food, min_value=1, max_value=n_types - 1)
    n_inputs = check_int("n_inputs", n_inputs, min_value=1)
    n_outputs = check_int("n_outputs", n_outputs, min_value=1)
    return n_types, n_ops, n_food, n_inputs, n_outputs


def _mesh(key, n_types, n_ops, p, name, n_food, n_inputs, n_outputs, max_catalysed):
    key = as_key(key)
    sizes = _check_mesh(n_types, n_ops, n_food, n_inputs, n_outputs)
    p, ok = _level(name, p, 1.0)
    n_ops = sizes[1]
    cap = _capacity(max_catalysed, None if is_traced(p) else float(p) * n_ops, n_ops)
    return key, _mesh_jit(key, p, *sizes, cap), ok


def mesh_operations_levels(
    key: Any,
    n_types: int,
    n_ops: int,
    p_max: ArrayLike,
    *,
    n_food: int,
    n_inputs: int = 2,
    n_outputs: int = 1,
    max_catalysed: int | None = None,
) -> CatalysisLevels:
    r"""The mesh's training-operation system of §9 (Defs. 9.1–9.2), with coupling levels.

    J = `n_types` capability types; types 0..n_food-1 are the food set F (base models).
    Each of the |R| = `n_ops` operations has `n_inputs` input types drawn uniformly from
    all J types (with replacement) and `n_outputs` output types drawn uniformly from the
    non-food types. As in the proof of Prop. 9.4, each (type, operation) pair is a
    catalysis independently with probability p; in the mesh p = p(N) = 1 − (1 − β_t)^N
    (18), see `catalysis_probability`.

    Args:
      key: PRNG key or int seed, or a (b,) batch of keys for b instances.
      n_types: J, int >= 2 (static). n_ops: |R|, int >= 1 (static).
      p_max: largest catalysis probability in [0, 1] (may be traced with
        `max_catalysed`; a traced value outside [0, 1] gives `status =
        RESULTS.invalid_parameter` and NaN levels).
      n_food: size of the food set, in [1, J-1] (static).
      n_inputs, n_outputs: per operation, ints >= 1 (static).
      max_catalysed: per-type capacity of catalysed operations (static); default
        p|R| + 10 sqrt(p|R|) + 10.

    Returns:
      A `CatalysisLevels` (levels in probability units; thinning at p gives the system
      at p).

    Raises:
      ValueError: on sizes out of range, an empty food set, or p outside [0, 1].
    """
    key, out, ok = _mesh(
        key, n_types, n_ops, p_max, "p_max", n_food, n_inputs, n_outputs, max_catalysed
    )
    return _levels_result(key, out, ok)


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6, 7))
@_per_key
def _mesh_jit(key, p_max, n_types, n_ops, n_food, n_inputs, n_outputs, cap):
    key_s, key_c = jr.split(key)
    inputs, outputs, food = _mesh_structure(
        key_s, n_types, n_ops, n_food, n_inputs, n_outputs
    )
    return _levels_system(key_c, inputs, outputs, food, p_max, cap, scale=1.0)


def mesh_operations(
    key: Any,
    n_types: int,
    n_ops: int,
    p: ArrayLike,
    *,
    n_food: int,
    n_inputs: int = 2,
    n_outputs: int = 1,
    max_catalysed: int | None = None,
) -> ReactionSystem:
    """The mesh training-operation system at catalysis probability p in [0, 1] (see
    `mesh_operations_levels` for the model and arguments; a traced p out of range is an
    `eqx.error_if` error)."""
    key, out, ok = _mesh(
        key, n_types, n_ops, p, "p", n_food, n_inputs, n_outputs, max_catalysed
    )
    system, _ = _check_overflow(out)
    return _error_if_invalid(system, ok, "p", "[0, 1]")


def _real(name, x, **kw) -> Array:
    x = jnp.asarray(check_array(name, x, **kw))
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(float)


def catalysis_probability(n_agents: ArrayLike, beta_t: ArrayLike) -> Float[Array, ...]:
    r"""p(N) = 1 − (1 − β_t)^N (18): a catalyst capability is present among N agents.

    Args:
      n_agents: N >= 0 (array-like, may be traced).
      beta_t: per-agent probability in [0, 1] (may be traced).

    Returns:
      p(N), computed as −expm1(N log1p(−β_t)); NaN where a traced input is out of range.

    Raises:
      ValueError: on N < 0 or β_t outside [0, 1].
    """
    n = _real("n_agents", n_agents, low=0.0)
    b = _real("beta_t", beta_t, low=0.0, high=1.0)
    dtype = jnp.result_type(n, b)
    n, b = n.astype(dtype), b.astype(dtype)
    ok = in_domain(n, low=0.0) & in_domain(b, low=0.0, high=1.0)
    # N = 0 catalyses nothing, also at beta_t = 1 (0 * log1p(-1) would be 0 * -inf)
    log_miss = jnp.where(n == 0, 0.0, n * jnp.log1p(-b))
    return nan_outside(ok, -jnp.expm1(log_miss) + 0.0)  # (+ 0.0: no -0.0)


def agents_for_probability(p: ArrayLike, beta_t: ArrayLike) -> Float[Array, ...]:
    r"""Inverse of (18): N = ln(1 − p) / ln(1 − β_t) (real-valued; ceil for an integer N).

    Args:
      p: catalysis probability in [0, 1]. beta_t: per-agent probability in (0, 1).
        Both may be traced.

    Returns:
      N(p) (inf for p = 1); NaN where a traced input is out of range.

    Raises:
      ValueError: on p outside [0, 1] or β_t outside (0, 1).
    """
    p = _real("p", p, low=0.0, high=1.0)
    b = _real("beta_t", beta_t, low=0.0, high=1.0, low_open=True, high_open=True)
    dtype = jnp.result_type(p, b)
    p, b = p.astype(dtype), b.astype(dtype)
    ok = in_domain(p, low=0.0, high=1.0) & in_domain(
        b, low=0.0, high=1.0, low_open=True, high_open=True
    )
    return nan_outside(ok, jnp.log1p(-p) / jnp.log1p(-b))
