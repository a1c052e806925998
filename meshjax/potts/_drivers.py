"""Drivers: `run` (a chain under `lax.scan`) and `anneal` (cooling/heating over β)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from .._custom_types import Array, Float, Int
from .._results import RESULTS, AbstractResult
from .._validate import (
    as_key,
    check_array,
    check_bool,
    check_choice,
    check_int,
    in_domain,
)
from ..graph import Graph, check_colouring
from ..graph._graph import weights_ok
from ._cluster import _check_weights_nonnegative
from ._kernels import (
    ALGORITHMS,
    PottsModel,
    _as_float,
    _check_beta,
    _check_couplings,
    _check_field,
    _check_graph,
    _check_q,
    _check_spins,
    _couplings_ok,
    _order_parameter,
    _spins_ok,
    spin_dtype,
)


class PottsRun(AbstractResult):
    """Result of `run`.

    Attributes:
      energy: Energy per node $H/N$ at each recorded step, `(T,)` or `(R, T)` with
        `T = n_steps // record_every`.
      m: Order parameter at each recorded step, same shape.
      spins: Final spins (original numbering), `(n,)` or `(R, n)`.
      status: `RESULTS.successful`, or `RESULTS.invalid_parameter` when a traced β,
        coupling, field or initial spin was out of its domain, or (Swendsen–Wang) a
        traced graph weight was negative or non-finite (then `energy` and `m` are NaN).
    """

    energy: Float[Array, "*r t"]
    m: Float[Array, "*r t"]
    spins: Int[Array, "*r n"]
    status: RESULTS


class AnnealResult(AbstractResult):
    """Result of `anneal`: per β of the (ascending) grid, the recorded time series.

    Cooling = β increasing from a random start; heating = β decreasing, carrying on from
    the state the cooling pass ended in. Both are stored on the ascending grid.

    Attributes:
      betas: `(B,)` ascending.
      energy_cool, m_cool, energy_heat, m_heat: `(B, T)` per-node energy and order
        parameter at each recorded step.
      status: `RESULTS.successful`, or `RESULTS.invalid_parameter` (traced bad β or
        coupling, or a traced bad weight under Swendsen–Wang; the series are then NaN).
    """

    betas: Float[Array, " b"]
    energy_cool: Float[Array, "b t"]
    m_cool: Float[Array, "b t"]
    energy_heat: Float[Array, "b t"]
    m_heat: Float[Array, "b t"]
    status: RESULTS


def _prepare(graph, q, colouring, field, couplings, algorithm, spins):
    algorithm = check_choice("algorithm", algorithm, ALGORITHMS)
    field = _check_field(field, graph.n_nodes, q)
    sw = algorithm == "swendsen_wang"
    couplings = _check_couplings(couplings, graph, nonnegative=sw)
    if sw:
        _check_weights_nonnegative(graph)
    if algorithm == "heat_bath":
        model = PottsModel.build(graph, colouring, q)
    else:
        # Swendsen–Wang needs no colouring; use a single class (identity layout).
        if colouring is not None:
            check_colouring(graph, colouring)
        model = PottsModel.identity(graph, q)
    if spins is not None:
        spins = _check_spins(spins, graph.n_nodes, q).astype(spin_dtype(q))
    return model, spins, field, couplings


def _sweep_fn(model, algorithm, field_p, slot_j):
    if algorithm == "heat_bath":
        return lambda k, s, b: model.heat_bath(k, s, b, field_p, slot_j)
    return lambda k, s, b: model.swendsen_wang(k, s, b, field_p, slot_j)


def _params_ok(model, beta, field, couplings, algorithm):
    sw = algorithm == "swendsen_wang"
    ok = jnp.all(in_domain(beta, low=0.0)) & _couplings_ok(couplings, sw)
    if sw:  # ferromagnetic bonds: traced weights >= 0 (a concrete graph's: on the host)
        ok = ok & weights_ok(model.pgraph)
    if field is not None:
        ok = ok & jnp.all(jnp.isfinite(field))
    return ok


def _chain(model, key, spins, beta, field, couplings, n_steps, n_burn, every, alg):
    """One chain, internal bookkeeping; returns (energy, m, final spins), no checks."""
    beta = jnp.asarray(beta)
    slot_j = model.slot_couplings(couplings, beta.dtype)
    field_p = None if field is None else model.to_internal(field).astype(beta.dtype)
    sweep = _sweep_fn(model, alg, field_p, slot_j)
    s = model.to_internal(spins)
    n = model.n_nodes

    # One loop body for burn-in and measurement (one compile of the sweep); the
    # measurement is O(n + E), cheaper than a sweep, and discarded where not recorded.
    def body(s, t):
        s = sweep(jr.fold_in(key, t), s, beta)
        return s, (model.energy(s, field_p, slot_j) / n, _order_parameter(s, model.q))

    s, (e, m) = lax.scan(body, s, jnp.arange(n_burn + n_steps))
    start = n_burn + every - 1
    return e[start::every], m[start::every], model.to_original(s)


def _nan_if(bad, x):
    return jnp.where(bad, jnp.full_like(x, jnp.nan), x)


def run(
    key: Any,
    graph: Graph,
    q: int,
    beta: Any,
    n_steps: int,
    n_burn: int = 0,
    *,
    algorithm: str = "heat_bath",
    record_every: int = 1,
    colouring: Any = None,
    spins: Any = None,
    ordered: bool = False,
    field: Any = None,
    couplings: Any = None,
    replicas: int = 1,
) -> PottsRun:
    r"""Runs a Potts chain under `lax.scan` and records $H/N$ and $m$.

    `n_burn` sweeps are done first and not recorded, then `n_steps` sweeps of which
    every `record_every`-th is recorded. With `replicas > 1`, independent chains (each
    from its own random start unless `spins`/`ordered` fix it) run as one `vmap`; the
    series then have a leading replica axis (use them for replica error bars in
    `estimate`).

    Args:
      key: PRNG key or int seed.
      graph: The graph (`graph.weights` multiply the couplings: a weighted graph gives
        per-edge couplings $J_{ij} = J w_{ij}$).
      q: States, >= 2.
      beta: $\beta \ge 0$; may be traced (`jit`, `vmap`, `meshjax.sweep.sweep`): a
        traced bad value gives `status=RESULTS.invalid_parameter` and NaN series.
      n_steps: Sweeps after burn-in, >= 1 (static).
      n_burn: Discarded sweeps, >= 0 (static).
      algorithm: `"heat_bath"` or `"swendsen_wang"`.
      record_every: Record every k-th sweep, 1 <= k <= n_steps (static).
      colouring: Proper colouring for the heat bath (default:
        `meshjax.graph.colouring(0, graph)`).
      spins: Initial spins (default: `init(key, graph, q, ordered=ordered)`).
      ordered: Start all in state 0 when `spins` is not given.
      field: Optional $h_i(s)$, `(n, q)`.
      couplings: Optional $J$, scalar or `(n_edges,)` (may be traced).
      replicas: Independent chains, >= 1 (static).

    Returns:
      `PottsRun`. Cost O((n_burn + n_steps)(nq + E)) (plus components for SW).

    Raises:
      ValueError: see `heat_bath_sweep` / `swendsen_wang_sweep`; unknown algorithm.
    """
    key = as_key(key)
    _check_graph(graph)
    q = _check_q(q)
    beta = _check_beta(beta)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    n_burn = check_int("n_burn", n_burn, min_value=0)
    record_every = check_int(
        "record_every", record_every, min_value=1, max_value=n_steps
    )
    replicas = check_int("replicas", replicas, min_value=1)
    ordered = check_bool("ordered", ordered)
    key_init, key = jr.split(key)
    model, s0, field, couplings = _prepare(
        graph, q, colouring, field, couplings, algorithm, spins
    )
    return _run(
        model,
        key,
        key_init,
        s0,
        _as_float(beta),
        field,
        couplings,
        n_steps,
        n_burn,
        record_every,
        algorithm,
        replicas,
        ordered,
    )


@eqx.filter_jit
def _run(
    model,
    key,
    key_init,
    s0,
    beta,
    field,
    couplings,
    n_steps,
    n_burn,
    every,
    alg,
    replicas,
    ordered,
):
    n, q = model.n_nodes, model.q
    dt = spin_dtype(q)

    def start(k):
        if s0 is not None:
            return s0
        if ordered:
            return jnp.zeros(n, dt)
        return jr.randint(k, (n,), 0, q, dtype=jnp.int32).astype(dt)

    ok = _params_ok(model, beta, field, couplings, alg)
    if s0 is not None:
        ok = ok & _spins_ok(s0, q)
    safe_beta = jnp.where(ok, beta, jnp.zeros((), beta.dtype))

    def one(k, k0):
        return _chain(
            model,
            k,
            start(k0),
            safe_beta,
            field,
            couplings,
            n_steps,
            n_burn,
            every,
            alg,
        )

    if replicas == 1:
        e, m, s = one(key, key_init)
    else:
        e, m, s = jax.vmap(one)(jr.split(key, replicas), jr.split(key_init, replicas))
    status = RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter)
    return PottsRun(energy=_nan_if(~ok, e), m=_nan_if(~ok, m), spins=s, status=status)


def anneal(
    key: Any,
    graph: Graph,
    q: int,
    betas: Any,
    n_steps: int,
    n_burn: int = 0,
    *,
    algorithm: str = "heat_bath",
    record_every: int = 1,
    colouring: Any = None,
    field: Any = None,
    couplings: Any = None,
) -> AnnealResult:
    r"""Cooling then heating over a β grid with the state carried along (hysteresis).

    Cooling visits `betas` in ascending order from a random start; heating visits them in
    descending order starting from the state cooling ended in. At each point `n_burn`
    unrecorded and `n_steps` sweeps are made (every `record_every`-th recorded). At a
    first-order transition the two branches differ (metastability) over a β window that
    should bracket the equilibrium transition; at a continuous one they meet.

    Args:
      key: PRNG key or int seed (point $b$ of pass $p$ uses
        `fold_in(fold_in(key, p), b)`).
      graph, q, algorithm, record_every, colouring, field, couplings: as in `run`.
      betas: `(B,)` non-negative inverse temperatures (sorted here, ascending); may be
        traced (a traced bad value gives `RESULTS.invalid_parameter` and NaN series).
      n_steps, n_burn: Sweeps per β point (after burn-in / discarded).

    Returns:
      `AnnealResult` with `(B, T)` series on the ascending grid.
      Cost O(2 B (n_burn + n_steps)(nq + E)).
    """
    key = as_key(key)
    _check_graph(graph)
    q = _check_q(q)
    b = check_array("betas", betas, kind="real", ndim=(0, 1), low=0.0, nonempty=True)
    b = jnp.sort(jnp.atleast_1d(jnp.asarray(b, jnp.result_type(float))))
    n_steps = check_int("n_steps", n_steps, min_value=1)
    n_burn = check_int("n_burn", n_burn, min_value=0)
    record_every = check_int(
        "record_every", record_every, min_value=1, max_value=n_steps
    )
    key_init, key = jr.split(key)
    model, _, field, couplings = _prepare(
        graph, q, colouring, field, couplings, algorithm, None
    )
    return _anneal(
        model,
        key,
        key_init,
        b,
        field,
        couplings,
        n_steps,
        n_burn,
        record_every,
        algorithm,
    )


@eqx.filter_jit
def _anneal(model, key, key_init, betas, field, couplings, n_steps, n_burn, every, alg):
    n, q = model.n_nodes, model.q
    ok = _params_ok(model, betas, field, couplings, alg)
    betas_safe = jnp.where(ok, betas, jnp.zeros((), betas.dtype))
    spins = jr.randint(key_init, (n,), 0, q, dtype=jnp.int32).astype(spin_dtype(q))

    def one_pass(s, pkey, bs):
        def point(s, xb):
            i, beta = xb
            e, m, s = _chain(
                model,
                jr.fold_in(pkey, i),
                s,
                beta,
                field,
                couplings,
                n_steps,
                n_burn,
                every,
                alg,
            )
            return s, (e, m)

        idx = jnp.arange(bs.shape[0])
        return lax.scan(point, s, (idx, bs))

    s, (ec, mc) = one_pass(spins, jr.fold_in(key, 0), betas_safe)
    _, (eh, mh) = one_pass(s, jr.fold_in(key, 1), betas_safe[::-1])
    bad = ~ok
    return AnnealResult(
        betas=betas,
        energy_cool=_nan_if(bad, ec),
        m_cool=_nan_if(bad, mc),
        energy_heat=_nan_if(bad, eh[::-1]),
        m_heat=_nan_if(bad, mh[::-1]),
        status=RESULTS.where(ok, RESULTS.successful, RESULTS.invalid_parameter),
    )
