"""The compilation and sharding plan of a sweep: one `jit(shard_map(vmap(fn)))` per chunk
shape.

Also the automatic chunk size (`estimate_chunk_size`) and the compile cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from .._devices import device_mesh
from .._validate import as_key, check_int
from . import _programs
from ._grid import Grid

__all__ = ["estimate_chunk_size"]

_MAX_CHUNK = 1 << 18  # points per chunk at most when the size is chosen automatically
_MIN_CHUNKS = (
    16  # automatic chunking aims at >= this many chunks (progress, checkpoints)
)


def _single_key(key: Any) -> jax.Array:
    """One typed PRNG key from a key, a legacy uint32 key or an int seed."""
    key = as_key(key)
    if key.shape != ():
        raise ValueError(
            f"`key` must be a single key, got a key array of shape {key.shape}"
        )
    return key


def _as_computed(name: str, col: np.ndarray) -> np.ndarray:
    """A grid column in the dtype JAX computes with (int64 -> int32 without x64).

    Integers that do not fit that dtype would wrap silently, and floats beyond its range
    would become inf: both are refused, naming the parameter. Floats that merely round
    (float64 -> float32) are rounded here, so the table shows the rounded values.
    """
    dt = np.dtype(jax.dtypes.canonicalize_dtype(col.dtype))
    if dt == col.dtype:
        return col
    with np.errstate(over="ignore", invalid="ignore"):
        out = col.astype(dt)
    if col.dtype.kind in "iu":
        bad = out.astype(col.dtype) != col
    else:
        bad = np.isfinite(col) & ~np.isfinite(out)
    if bad.any():
        info = np.iinfo(dt) if dt.kind in "iu" else np.finfo(dt)
        raise ValueError(
            f"grid parameter `{name}` has value {col[bad][0].item()!r} outside the "
            f"range of {dt} ([{info.min}, {info.max}]), the dtype JAX computes with "
            f"while jax_enable_x64 is off; enable x64 "
            f"(jax.config.update('jax_enable_x64', True)) or use smaller values"
        )
    return out


def estimate_chunk_size(
    fn: Callable[..., Mapping[str, Any]],
    grid: Grid,
    *,
    replicas: int = 1,
    mesh: Mesh | None = None,
    key: Any = None,
    memory_budget: int | None = None,
    shared: Any = None,
) -> int:
    """Chunk size (flat indices per chunk) that fits the devices' memory.

    Compiles the chunk program for one point per device and reads XLA's memory analysis
    (`compiled.memory_analysis()`: argument + output + temporary bytes per device). That
    figure less the `shared` arrays, other fixed costs included, is taken as the cost of
    one point, so the estimate errs on the small side. Budget: `memory_budget` bytes per
    device, default a quarter of the free device memory (`device.memory_stats()`,
    GPU/TPU) or of host RAM divided by the local device count (CPU). Where no memory
    analysis is available, 4096 points per device.

    The result is also capped so that a sweep has about 16 chunks or more (progress
    lines and checkpoints) and at 2**18 points, and is a multiple of the device count.

    Returns:
      A chunk size >= the device count.
    """
    if not isinstance(grid, Grid):
        raise TypeError(f"`grid` must be a Grid, got {type(grid).__name__}")
    replicas = check_int("replicas", replicas, min_value=1)
    if memory_budget is not None:
        memory_budget = check_int("memory_budget", memory_budget, min_value=1)
    mesh = device_mesh() if mesh is None else mesh
    key = jr.key(0) if key is None else _single_key(key)
    n_dev = mesh.size
    n_total = len(grid) * replicas
    plan = _Plan(fn, grid, replicas, key, mesh, shared)
    per_point = None
    try:
        stats = plan.compile(n_dev).memory_analysis()
        if stats is not None:
            per_point = (
                stats.argument_size_in_bytes
                - plan.shared_bytes
                + stats.output_size_in_bytes
                + stats.temp_size_in_bytes
            )
    except Exception:  # some backends do not implement memory analysis
        per_point = None
    budget = memory_budget if memory_budget is not None else _memory_budget(mesh)
    per_device = 4096 if not per_point else max(1, budget // max(per_point, 1))
    by_memory = per_device * n_dev
    by_count = -(-n_total // _MIN_CHUNKS)
    size = min(by_memory, by_count, _MAX_CHUNK)
    return max(n_dev, (size // n_dev) * n_dev if size >= n_dev else n_dev)


# --------------------------------------------------------------------------- internals


class _Plan:
    """Compiles and launches chunks of one sweep."""

    def __init__(
        self,
        fn,
        grid: Grid,
        replicas: int,
        key,
        mesh: Mesh,
        shared=None,
        microbatch=None,
    ):
        self.fn, self.grid, self.replicas, self.mesh = fn, grid, replicas, mesh
        self.microbatch = microbatch
        self.has_shared = shared is not None
        # Array leaves of `shared` become replicated jit arguments; the rest is static.
        dyn, self.shared_static = eqx.partition(shared, eqx.is_array)
        leaves, self.shared_def = jax.tree.flatten(dyn)
        self.shared_leaves = [
            jnp.asarray(x, dtype=jax.dtypes.canonicalize_dtype(x.dtype)) for x in leaves
        ]
        self.names = grid.names
        self.key_impl = str(jr.key_impl(key))
        self.key_data = np.asarray(jr.key_data(key))
        # Parameters in the dtypes JAX computes with (float64 -> float32 without x64);
        # these, not the grid's originals, are what the table shows.
        self.host_cols = [
            _as_computed(name, col) for name, col in grid._columns.items()
        ]
        axis = mesh.axis_names[0]
        self.batch = NamedSharding(mesh, P(axis))
        self.replicated = NamedSharding(mesh, P())
        # One process reads every shard of the outputs itself; several processes each
        # need all of them (the gather is then a collective in the program).
        self.out_sharding = self.batch if jax.process_count() == 1 else self.replicated
        self._key_dev = None
        self._shared_dev = None

    @property
    def shared_bytes(self) -> int:
        return sum(x.size * x.dtype.itemsize for x in self.shared_leaves)

    def _point_fn(
        self, order: list | None = None, plain: bool = False, local: bool = True
    ):
        """The chunk function. `local`: each device runs its own points (`shard_map`);
        else one function over the whole chunk, partitioned by XLA (see `_traced`)."""
        fn, names, impl = self.fn, self.names, self.key_impl
        microbatch = None if plain else self.microbatch
        # leading axis of the microbatch layout: one device's points, or every device's
        n_lead = 1 if local else self.mesh.size
        has_shared, shared_def, static = (
            self.has_shared,
            self.shared_def,
            self.shared_static,
        )

        def run(key_data, shared_leaves, idx, *cols):
            key = jr.wrap_key_data(key_data, impl=impl)
            extra = ()
            if has_shared:
                dyn = jax.tree.unflatten(shared_def, shared_leaves)
                extra = (eqx.combine(dyn, static),)

            def one(i, *vals):
                out = fn(jr.fold_in(key, i), *extra, **dict(zip(names, vals)))
                if not isinstance(out, Mapping):
                    raise TypeError(
                        f"sweep fn must return a dict of metrics, got "
                        f"{type(out).__name__}"
                    )
                if order is not None:  # the fn's own key order (pytrees sort dict keys)
                    order[:] = [str(k) for k in out]
                return {str(k): jnp.asarray(v) for k, v in out.items()}

            if microbatch is None:
                return jax.vmap(one)(idx, *cols)
            # (devices, blocks, L): the leading axis (this device alone under
            # `shard_map`) is vmapped, each device scans its blocks, and fn always sees
            # a batch of exactly L points.
            n = idx.shape[0]
            shape = (n_lead, n // (n_lead * microbatch), microbatch)
            args = [a.reshape(shape) for a in (idx, *cols)]

            def block(b):
                if microbatch == 1:  # one point: no vmap, so fn's conds stay conds
                    out = one(*(x[0] for x in b))
                    return jax.tree.map(lambda x: x[None], out)
                return jax.vmap(one)(*b)

            def per_device(*a):
                return jax.lax.map(block, a)

            out = jax.vmap(per_device)(*args)
            return jax.tree.map(lambda x: x.reshape(n, *x.shape[3:]), out)

        if plain or not local:
            return run
        # Each device runs `run` on its own points (`shard_map`), so the program has no
        # collective in it: a reduction over the batch that `fn` makes (the `any` of a
        # vmapped `eqx.error_if`, whose host callback the partitioner would otherwise
        # place on one device) stays on the device. With collectives, an error raised
        # on one device left the others waiting in an all-reduce until XLA aborted the
        # process; now it is raised as an exception.
        batch = P(self.mesh.axis_names[0])
        n_cols = len(self.host_cols)
        return jax.shard_map(
            run,
            mesh=self.mesh,
            in_specs=(P(), P(), batch, *([batch] * n_cols)),
            out_specs=batch,
            check_vma=False,
        )

    def _cache_key(self, what: str, n: int) -> tuple:
        static_leaves, static_def = jax.tree.flatten(self.shared_static)
        return (
            what,
            n,
            self.fn,
            self.microbatch,
            self.has_shared,
            self.shared_def,
            static_def,
            tuple(static_leaves),
            tuple((x.shape, x.dtype.str) for x in self.shared_leaves),
            self.names,
            tuple(c.dtype.str for c in self.host_cols),
            self.key_impl,
            self.key_data.shape,
            self.mesh,
            bool(jax.config.jax_enable_x64),
        )

    def metric_spec(
        self, padded: int | None = None
    ) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Each metric's per-point shape and dtype, in `fn`'s own key order.

        With `padded` (the chunk shape, when the caller fixed the chunk size) this traces
        the very program `compile(padded)` lowers and keeps the trace, so a sweep traces
        `fn` once instead of twice (tracing is most of a warm rerun's time); without it,
        an `eval_shape` of one point.
        """
        if padded is not None:
            stored = (
                None
                if self._in_memory("traced", padded)
                else _programs.load(self, padded)
            )
            if stored is not None:  # compiled in an earlier process: no trace at all
                compiled, spec = stored
                _cached(self._cache_key("compiled", padded), lambda: compiled)
                return {k: (tuple(s), np.dtype(d)) for k, (s, d) in spec.items()}
            order: list[str] = []
            traced = self._traced(padded, order)
            out = traced.out_info
            order = order or sorted(out)
            return {k: (tuple(out[k].shape[1:]), np.dtype(out[k].dtype)) for k in order}

        def make():
            specs = self._arg_specs(1, sharded=False)
            order: list[str] = []
            out = jax.eval_shape(self._point_fn(order, plain=True), *specs)
            return {k: (tuple(out[k].shape[1:]), np.dtype(out[k].dtype)) for k in order}

        return _cached(self._cache_key("spec", 1), make)

    def _in_memory(self, what: str, padded: int) -> bool:
        try:
            return self._cache_key(what, padded) in _CACHE
        except TypeError:  # an unhashable fn
            return False

    def _traced(self, padded: int, order: list | None = None, local: bool = True):
        """`jit(run).trace(...)` of the chunk program (cached with its key order).

        `local=False`, or a `fn` whose own shardings a device-local trace cannot hold (a
        closed-over edge-sharded graph, a `shard_map` of its own: JAX names the mesh in
        its error), gives the chunk as one function partitioned by XLA, as sweeps were
        compiled before `shard_map`; there an `eqx.error_if` firing on one of several
        devices still leaves the others waiting (docs/cli.md).
        """

        def trace(loc: bool):
            keys: list[str] = []
            fn = self._point_fn(keys, local=loc)
            jitted = jax.jit(fn, out_shardings=self.out_sharding)
            return jitted.trace(*self._arg_specs(padded)), keys

        def make():
            if not local:
                return trace(False)
            try:
                return trace(True)
            except ValueError as e:
                if not _mesh_conflict(e):
                    raise
            return trace(False)

        what = "traced" if local else "traced-global"
        traced, keys = _cached(self._cache_key(what, padded), make)
        if order is not None:
            order[:] = keys
        return traced

    def _arg_specs(self, n: int, sharded: bool = True):
        kw = {"sharding": self.batch} if sharded else {}
        kw_rep = {"sharding": self.replicated} if sharded else {}
        specs = [
            jax.ShapeDtypeStruct(self.key_data.shape, self.key_data.dtype, **kw_rep),
            [
                jax.ShapeDtypeStruct(x.shape, x.dtype, **kw_rep)
                for x in self.shared_leaves
            ],
            jax.ShapeDtypeStruct((n,), np.int32, **kw),
        ]
        specs += [jax.ShapeDtypeStruct((n,), c.dtype, **kw) for c in self.host_cols]
        return specs

    def compile(self, padded: int):
        def make():
            stored = _programs.load(self, padded)
            if stored is not None:
                return stored[0]
            hits = _programs.cache_hits()
            try:
                lowered = self._traced(padded).lower()
            except ValueError as e:  # e.g. a sharding constraint in `fn` (`_traced`)
                if not _mesh_conflict(e):
                    raise
                lowered = self._traced(padded, local=False).lower()
            compiled = lowered.compile()
            spec = self.metric_spec(padded)
            _programs.save(
                self,
                padded,
                compiled,
                {k: (list(s), np.dtype(d).str) for k, (s, d) in spec.items()},
                from_cache=_programs.cache_hits() != hits,
            )
            return compiled

        return _cached(self._cache_key("compiled", padded), make)

    def launch(self, compiled, start: int, stop: int, padded: int):
        idx = np.arange(start, stop, dtype=np.int64)
        if padded > stop - start:  # pad with copies of the first index: valid inputs
            idx = np.concatenate([idx, np.full(padded - (stop - start), start)])
        point = idx // self.replicas
        args = [idx.astype(np.int32)] + [c[point] for c in self.host_cols]
        if self._key_dev is None:
            self._key_dev = _global_array(self.key_data, self.replicated)
            self._shared_dev = [
                _replicated(x, self.replicated) for x in self.shared_leaves
            ]
        dev_args = [_global_array(a, self.batch) for a in args]
        return compiled(self._key_dev, self._shared_dev, *dev_args)


def _mesh_conflict(e: ValueError) -> bool:
    """Whether JAX refused a device-local (`shard_map`) trace for a sharding of `fn`'s
    own: its messages name the mesh (context mesh, mesh axis types)."""
    return "mesh" in str(e).lower()


_CACHE: dict[tuple, Any] = {}
_CACHE_SIZE = 32
_CACHE_LOCK = threading.Lock()


def _cached(key: tuple, make: Callable[[], Any]) -> Any:
    """Compiled chunk functions and metric shapes of recent sweeps.

    A repeated sweep of the same function, parameter dtypes, mesh and chunk shape does
    not recompile.
    """
    try:
        hash(key)
    except TypeError:  # an unhashable fn: no caching
        return make()
    with _CACHE_LOCK:  # sweeps may run in threads (the suite's `workers`)
        if key in _CACHE:
            _CACHE[key] = _CACHE.pop(key)  # most recent last
            return _CACHE[key]
    value = make()  # outside the lock: compiling takes seconds
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
    return value


def _global_array(host: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A global array from a host array every process holds in full."""
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _replicated(x: jax.Array, sharding: NamedSharding) -> jax.Array:
    """`x` (the same on every process) copied to every device of the mesh."""
    if jax.process_count() == 1:
        return jax.device_put(x, sharding)
    return _global_array(np.asarray(x), sharding)


def _memory_budget(mesh: Mesh) -> int:
    dev = next(d for d in mesh.devices.flat)
    stats = None
    try:
        stats = dev.memory_stats()
    except Exception:
        stats = None
    if stats and "bytes_limit" in stats:
        free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
        return max(1 << 20, free // 4)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 << 30
    return max(1 << 20, ram // (4 * max(1, jax.local_device_count())))
