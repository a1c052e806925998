r"""One graph larger than one device: the edge-slot axis sharded over a device mesh.

A `Graph` is a set of edge slots ($j \to i$) plus node arrays. `shard_graph` splits the slot
arrays (`senders`, `receivers`, `edge_ids`, `edge_mask`) into equal contiguous blocks, one
per device of a one-dimensional mesh axis, and every node array stays replicated. The
existing ops then run unchanged under `jit`: each device gathers its slots' sender values
from its replicated copy of `x`, reduces its block into a full-length node partial, and XLA
inserts one `all-reduce` (sum or min) over the mesh axis. Per device the memory is
$O(n + E/D)$ for $D$ devices, so a graph whose $E$ slots fit on no single device still runs,
as long as one node vector fits (node state replicated). No slot array is ever gathered.
`shard_graph` shards an existing `Graph` (which then was whole on one device once);
`shard_edges` builds the sharded graph from a host edge list without that step.

Padding. The slot count $e$ is padded up to a multiple of $\mathrm{lcm}(2, D)$ with absent
slots appended at the end: `senders = receivers = n_nodes - 1` (so `receivers` stays
sorted), `edge_mask = False`, and fresh edge ids `e//2, e//2, e//2 + 1, e//2 + 1, ...`
(so every id is still on exactly two slots and `n_edges` becomes `e_pad // 2`). The first
$e$ slots are the original ones in the original order, so a per-slot result of the sharded
graph truncated to `[:e]` is the unsharded one. Per-slot inputs (weights, a percolation
mask drawn on the unsharded graph) are padded and placed with `shard_slots`; per-edge inputs
indexed by `edge_ids` (couplings $J_e$) need `graph.n_edges` entries, e.g.
`jnp.pad(J, (0, sharded.n_edges - len(J)))`, and are replicated with `replicate`.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from .._custom_types import Array
from .._devices import device_mesh
from .._validate import check_int
from ._graph import Graph
from .interop import _host_pairs

__all__ = [
    "padded_slot_count",
    "replicate",
    "shard_edges",
    "shard_graph",
    "shard_slots",
]


def padded_slot_count(n_slots: int, n_devices: int) -> int:
    r"""The slot count after padding: the smallest multiple of $\mathrm{lcm}(2, D)$ that is
    $\ge$ `n_slots` (at least one slot per device).

    Args:
      n_slots: Slots of the unsharded graph, an even int $\ge 0$.
      n_devices: Devices $D \ge 1$ along the sharded mesh axis.

    Returns:
      The padded slot count (int).

    Raises:
      TypeError/ValueError: `n_slots` not an even int $\ge 0$ or `n_devices` not an int
      $\ge 1$.
    """
    n_slots = check_int("n_slots", n_slots, min_value=0)
    n_devices = check_int("n_devices", n_devices, min_value=1)
    if n_slots % 2:
        raise ValueError(f"`n_slots`={n_slots} must be even (two slots per edge)")
    m = math.lcm(2, n_devices)
    return max(m, -(-n_slots // m) * m)


def shard_graph(graph: Graph, mesh: Mesh | None = None, axis: str = "edges") -> Graph:
    r"""The same graph with its slot arrays sharded over `axis` of `mesh`.

    Host-side (not jittable): the slot arrays are brought to the host once, padded (see the
    module docstring) and each device receives only its own block
    (`jax.make_array_from_callback`), so the full slot arrays never sit on one device. The
    result is a `Graph` like any other: pass it through `jit` to `neighbor_sum`,
    `laplacian_matvec`, `count_neighbor_states`, `connected_components`, ...; node inputs
    should be replicated over the mesh (`replicate`), and node outputs come back
    replicated. Results equal the unsharded ones up to floating-point summation order
    (integers and min-reductions exactly).

    Args:
      graph: An unbatched `Graph` (slot arrays of shape `(e,)`).
      mesh: A `jax.sharding.Mesh` with an axis named `axis`; default
        `meshjax.sweep.device_mesh(axis=axis)` (all devices). On a multi-axis mesh the
        slots are split over `axis` and replicated over the other axes.
      axis: The mesh axis name to split the slots over.

    Returns:
      A `Graph` with `n_slots = padded_slot_count(e, D)` and slot arrays sharded as
      `NamedSharding(mesh, P(axis))`. `edge_mask` is `None` only if the input's was and no
      padding was needed. `n_nodes` is unchanged; `n_edges` counts the padded ids.

    Raises:
      TypeError: `graph` is not a `Graph`, or `mesh` is not a `Mesh`.
      ValueError: `axis` is not an axis of `mesh`, or the graph is batched.

    Cost: O(E) host work and one host-to-device transfer of O(E/D) per device.
    """
    mesh, axis = _resolve_mesh(mesh, axis)
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    if graph.senders.ndim != 1:
        raise ValueError(
            f"`graph` must be unbatched (slot arrays of shape (e,)), got "
            f"shape {graph.senders.shape}"
        )
    mask = None if graph.edge_mask is None else np.asarray(graph.edge_mask, bool)
    weights = None if graph.weights is None else np.asarray(graph.weights)
    return _shard_host(
        np.asarray(graph.senders),
        np.asarray(graph.receivers),
        np.asarray(graph.edge_ids),
        mask,
        graph.n_nodes,
        mesh,
        axis,
        weights,
    )


def shard_edges(
    edges: Any,
    n_nodes: int,
    mesh: Mesh | None = None,
    axis: str = "edges",
    *,
    dedupe: bool = False,
) -> Graph:
    r"""An edge-sharded `Graph` straight from a host edge list, never whole on one device.

    Equals `shard_graph(from_edges(edges, n_nodes, dedupe=dedupe), mesh, axis)` slot for
    slot, but the layout (both directions, sorted by receiver then sender, edge id = row of
    `edges`) is done in NumPy on the host and each device receives only its block, so the
    graph may be larger than any one device's memory (it must fit in host memory: 12 bytes
    per slot during the layout, 2 slots per edge).

    Args:
      edges: Integer array-like of shape `(m, 2)`; row $k$ is the edge $\{u_k, v_k\}$,
        $0 \le u_k, v_k < n$.
      n_nodes: Number of nodes $n \ge 1$.
      mesh, axis: As in `shard_graph`.
      dedupe: Drop repeated edges (first copy kept) instead of raising.

    Returns:
      The sharded `Graph` (see `shard_graph` for padding).

    Raises:
      TypeError/ValueError: as `from_edges` (shape, dtype, ids out of range, self-loops,
      repeats without `dedupe`), and as `shard_graph` for `mesh`/`axis`.

    Cost: O(E log E) host work (one lexsort), O(E/D) transfer per device.
    """
    mesh, axis = _resolve_mesh(mesh, axis)
    n_nodes = check_int("n_nodes", n_nodes, min_value=1, max_value=2**31 - 1)
    lo, hi = _host_pairs(edges, n_nodes, dedupe)
    m = lo.size
    eid = np.arange(m, dtype=np.int64)
    senders = np.concatenate([lo, hi])
    receivers = np.concatenate([hi, lo])
    eids = np.concatenate([eid, eid])
    order = np.lexsort((eids, senders, receivers))
    return _shard_host(
        senders[order].astype(np.int32),
        receivers[order].astype(np.int32),
        eids[order].astype(np.int32),
        None,
        n_nodes,
        mesh,
        axis,
    )


def shard_slots(values: Any, graph: Graph, fill: Any = 0) -> Array:
    r"""A per-slot array laid out like the slots of the sharded `graph`.

    Use it for per-slot inputs computed on the unsharded graph: weights for
    `count_neighbor_states`, or an edge mask (`fill=False`) for `connected_components` /
    `Graph.with_mask`, e.g. from `bond_percolation` on the unsharded graph, so that the
    sharded run sees exactly the same bonds.

    Args:
      values: Array of shape `(e,)` or `(e, *f)` with `e <= graph.n_slots` (the unsharded
        slot count).
      graph: A graph returned by `shard_graph`.
      fill: The value for the padded slots (they are masked anyway; use `False` for masks).

    Returns:
      `values` padded to `(graph.n_slots, *f)` with `fill`, sharded like `graph.senders`.

    Raises:
      ValueError: `values` is 0-d or longer than `graph.n_slots`, or `graph`'s slots are not
        sharded with a `NamedSharding`.
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    sharding = getattr(graph.senders, "sharding", None)
    if not isinstance(sharding, NamedSharding):
        raise ValueError(
            "`graph` must come from `shard_graph` (its slot arrays carry a "
            f"NamedSharding), got sharding {sharding!r}"
        )
    arr = np.asarray(values)
    if arr.ndim < 1 or arr.shape[0] > graph.n_slots:
        raise ValueError(
            f"`values` must have shape (e, ...) with e <= {graph.n_slots}, "
            f"got shape {arr.shape}"
        )
    pad = graph.n_slots - arr.shape[0]
    arr = _pad_host(arr, pad, fill)
    spec = P(*(tuple(sharding.spec) + (None,) * (arr.ndim - 1))[: arr.ndim])
    return _put_host(arr, NamedSharding(sharding.mesh, spec))


def replicate(x: Any, mesh: Mesh | None = None) -> Any:
    """Every array leaf of the pytree `x` replicated on every device of `mesh`.

    Node state (spins, concentrations, labels) goes with an edge-sharded graph this way.
    Non-array leaves pass through unchanged.

    Args:
      x: A pytree of arrays (NumPy or JAX) and other leaves.
      mesh: The mesh; default `meshjax.sweep.device_mesh(axis="edges")`.

    Returns:
      The same pytree with array leaves placed as `NamedSharding(mesh, P())`.
    """
    if mesh is None:
        mesh = device_mesh(axis="edges")
    if not isinstance(mesh, Mesh):
        raise TypeError(
            f"`mesh` must be a jax.sharding.Mesh, got {type(mesh).__name__}"
        )
    rep = NamedSharding(mesh, P())

    def place(leaf):
        if isinstance(leaf, jax.Array | np.ndarray | np.generic):
            return jax.device_put(leaf, rep)
        return leaf

    return jax.tree.map(place, x)


# --------------------------------------------------------------------------- helpers


def _resolve_mesh(mesh: Mesh | None, axis: str) -> tuple[Mesh, str]:
    if not isinstance(axis, str) or not axis:
        raise ValueError(f"`axis` must be a non-empty string, got {axis!r}")
    if mesh is None:
        return device_mesh(axis=axis), axis
    if not isinstance(mesh, Mesh):
        raise TypeError(
            f"`mesh` must be a jax.sharding.Mesh, got {type(mesh).__name__}"
        )
    if axis not in mesh.axis_names:
        raise ValueError(
            f"`axis`={axis!r} is not an axis of `mesh`; allowed: "
            f"{list(mesh.axis_names)}"
        )
    return mesh, axis


def _shard_host(
    senders: np.ndarray,
    receivers: np.ndarray,
    ids: np.ndarray,
    mask: np.ndarray | None,
    n_nodes: int,
    mesh: Mesh,
    axis: str,
    weights: np.ndarray | None = None,
) -> Graph:
    """Pads host slot arrays to `padded_slot_count` and places one block per device."""
    e = senders.shape[0]
    pad = padded_slot_count(e, mesh.shape[axis]) - e
    last = n_nodes - 1
    senders = _pad_host(senders, pad, last)
    receivers = _pad_host(receivers, pad, last)
    ids = np.concatenate([ids, (e // 2 + np.arange(pad) // 2).astype(ids.dtype)])
    if mask is not None or pad:
        mask = _pad_host(np.ones(e, bool) if mask is None else mask, pad, False)
    sharding = NamedSharding(mesh, P(axis))
    put = lambda a: None if a is None else _put_host(a, sharding)
    if weights is not None:
        weights = _pad_host(weights, pad, 0)
    return Graph(
        put(senders), put(receivers), put(ids), put(mask), n_nodes, weights=put(weights)
    )


def _pad_host(a, pad: int, fill) -> np.ndarray:
    a = np.asarray(a)
    if pad == 0:
        return a
    tail = np.full((pad,) + a.shape[1:], fill, a.dtype)
    return np.concatenate([a, tail])


def _put_host(a: np.ndarray, sharding: NamedSharding) -> Array:
    """Places a host array so that each device receives only its own block."""
    return jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx])
