"""Routing queries through the mesh on their own (the §14 discovery rule)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .._custom_types import Array, Bool, Int
from .._results import RESULTS, AbstractResult
from .._validate import check_array, check_real, in_domain, is_traced
from ._dynamics import route_queries, routing_table
from ._state import MeshState


class Routing(AbstractResult):
    """Where each query went (`route`).

    Attributes:
      served: `bool[q]`: the query reached an agent that can serve it.
      server: `int32[q]`: where the query stopped (the server when served).
      hops: `int32[q]`: moves made (the latency).
      dead_end: `bool[q]`: stopped at a local maximum of capability that cannot serve.
      hop_limit: `bool[q]`: still travelling after `max_hops` moves.
      status: `RESULTS.successful`, or `invalid_parameter` for a traced bad threshold.
    """

    served: Bool[Array, " q"]
    server: Int[Array, " q"]
    hops: Int[Array, " q"]
    dead_end: Bool[Array, " q"]
    hop_limit: Bool[Array, " q"]
    status: RESULTS


def route(
    state: MeshState, sources, types, *, serve_threshold: float | Array = 0.2
) -> Routing:
    r"""Routes queries of type `types` from agents `sources` by the mesh's greedy rule.

    At agent $u$ a query of type $j$ is served if $c_{uj} \ge$ `serve_threshold` (and
    $c_{uj} > 0$); otherwise it moves to the neighbour with the largest $c_{vj}$ when
    that is larger than $c_{uj}$, else it stops; at most `state.max_hops` moves.
    Deterministic (no key).

    Args:
      state: A `MeshState` (its capabilities and edges).
      sources: `int[q]` ids of agents that have arrived, in `[0, N)` with
        $N$ = `state.n_present`. A concrete id outside it is a `ValueError`; a traced
        one is not routed (all its flags False) and the status is `invalid_parameter`.
      types: `int[q]` types in `[0, J)`.
      serve_threshold: $c_{\min} \ge 0$ (may be traced).

    Returns:
      A `Routing`. Cost O(E J + q H).
    """
    n, J = state.capability.shape
    sources = check_array(
        "sources", sources, kind="int", ndim=1, low=0.0, high=float(n - 1)
    )
    types = check_array(
        "types",
        types,
        kind="int",
        shape=(sources.shape[0],),
        low=0.0,
        high=float(J - 1),
    )
    serve_threshold = check_real("serve_threshold", serve_threshold, low=0.0)
    if (
        not is_traced((sources, state.n_present))
        and jnp.ndim(state.n_present) == 0  # (a batched state: checked inside)
        and sources.shape[0]
    ):
        n_present = int(state.n_present)
        if int(jnp.max(sources)) >= n_present:
            raise ValueError(
                f"`sources` must be agents that have arrived (ids < n_present = "
                f"{n_present}), got {int(jnp.max(sources))}"
            )
    return _route(state, sources, types, serve_threshold)


@eqx.filter_jit
def _route(state, sources, types, serve_threshold):
    ok = in_domain(serve_threshold, low=0.0)
    dtype = state.capability.dtype
    thr = jnp.where(ok, jnp.asarray(serve_threshold).astype(dtype), 0.0)
    c = state.capability
    nxt = routing_table(state, c)
    live = (
        sources.astype(jnp.int32) < state.n_present
    )  # a yet-to-arrive agent: no query
    served, server, hops, dead, limit = route_queries(
        state, c, nxt, sources.astype(jnp.int32), types.astype(jnp.int32), live, thr
    )
    status = RESULTS.where(
        ok & jnp.all(live), RESULTS.successful, RESULTS.invalid_parameter
    )
    return Routing(
        served=served & ok,
        server=server,
        hops=hops,
        dead_end=dead,
        hop_limit=limit,
        status=status,
    )
