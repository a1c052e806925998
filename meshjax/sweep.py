r"""Parameter sweeps over every device of every host: grid -> keys -> sharded
`jit(vmap(fn))` -> tidy table.

A sweep evaluates a pure JAX function `fn(key, **params) -> {metric: array}` at every
point of a named parameter `Grid`, `replicas` times each. Flat index $i$ runs over
points x replicas (replica fastest: $i = \text{point} \cdot R + r$) and point $i$ sees
the key `jax.random.fold_in(key, i)`, so a result depends on (key, point, replica) only
— never on the chunk size, the number of devices or the number of hosts.

The flat index axis is cut into chunks; each chunk is padded to a multiple of the device
count, laid out over a one-dimensional device mesh with `NamedSharding(mesh, P(axis))`,
and evaluated by one compiled `jit(vmap(fn))` (one compilation per sweep, cached for
the next sweep of the same function, dtypes, mesh and chunk shape). Finished
chunks are written atomically (temporary file + `os.replace`) to `checkpoint_dir`; a
sweep restarted with the same function name, grid, replicas and key loads them and
computes only what is missing, whatever chunk size either run used.

Several hosts: call `meshjax.distributed.initialize()` first and pass nothing else; the
default mesh spans the global devices, each host builds and computes the shards on its
own devices, results come back replicated, and only process 0 reads/writes checkpoints.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from ._devices import device_mesh

__all__ = ["ChunkInfo", "Grid", "Table", "device_mesh", "estimate_chunk_size", "sweep"]

_RESERVED = ("replica",)
_MAX_CHUNK = 1 << 18  # points per chunk at most when the size is chosen automatically
_MIN_CHUNKS = (
    16  # automatic chunking aims at >= this many chunks (progress, checkpoints)
)
_FORMAT = 1  # checkpoint format version
_PROGRESS_EVERY = 1.0  # seconds between progress lines


# --------------------------------------------------------------------------- devices


# --------------------------------------------------------------------------- grids


class Grid:
    """Named parameter points: a cartesian product or a zip of value lists.

    Every parameter is a 1-D array of numbers (bool, int or float) with one value per
    point. Combine grids with `*` (cartesian product, left factor varying slowest):
    `Grid.product(q=[2, 3]) * Grid.zip(n=[100, 1000], k=[4.0, 8.0])` has 4 points.

    Example:
      >>> g = Grid.product(beta=[0.5, 1.0], q=[2, 3, 4])
      >>> len(g), g.point(1)
      (6, {'beta': 0.5, 'q': 3})
    """

    def __init__(self, columns: Mapping[str, Any] | None = None, *, n_points: int = 1):
        cols = {} if columns is None else dict(columns)
        out: dict[str, np.ndarray] = {}
        length = None
        for name, values in cols.items():
            _check_name(name)
            arr = _as_column(name, values)
            if length is None:
                length = arr.shape[0]
            elif arr.shape[0] != length:
                raise ValueError(
                    f"grid parameters have different lengths: `{name}` has "
                    f"{arr.shape[0]} values, earlier ones {length}"
                )
            out[name] = arr
        self._columns = out
        self._n = length if length is not None else int(n_points)

    @classmethod
    def product(cls, **axes: Sequence[Any]) -> Grid:
        """Cartesian product; the first axis varies slowest (as `itertools.product`)."""
        arrays = {name: _as_column(name, v) for name, v in axes.items()}
        if not arrays:
            return cls({})
        mesh = np.meshgrid(*arrays.values(), indexing="ij")
        return cls({name: m.reshape(-1) for name, m in zip(arrays, mesh)})

    @classmethod
    def zip(cls, **axes: Sequence[Any]) -> Grid:
        """Points side by side: every parameter has the same number of values."""
        return cls(axes)

    def __mul__(self, other: Grid) -> Grid:
        if not isinstance(other, Grid):
            return NotImplemented
        clash = set(self.names) & set(other.names)
        if clash:
            raise ValueError(f"cannot combine grids sharing parameters {sorted(clash)}")
        a, b = len(self), len(other)
        cols = {k: np.repeat(v, b) for k, v in self._columns.items()}
        cols.update({k: np.tile(v, a) for k, v in other._columns.items()})
        return Grid(cols, n_points=a * b)

    def __len__(self) -> int:
        return self._n

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._columns)

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Parameter name -> values, one per point (copies)."""
        return {k: v.copy() for k, v in self._columns.items()}

    def point(self, i: int) -> dict[str, Any]:
        """The parameters of point `i` as Python scalars."""
        if not 0 <= i < self._n:
            raise IndexError(f"point {i} out of range for a grid of {self._n} points")
        return {k: v[i].item() for k, v in self._columns.items()}

    def __repr__(self) -> str:
        return f"Grid(n_points={self._n}, names={list(self.names)})"

    def _digest(self) -> str:
        h = hashlib.sha256(str(self._n).encode())
        for name, col in self._columns.items():
            h.update(name.encode() + b"\0" + col.dtype.str.encode() + b"\0")
            h.update(np.ascontiguousarray(col).tobytes())
        return h.hexdigest()


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"parameter name {name!r} must be a Python identifier")
    if name in _RESERVED:
        raise ValueError(
            f"parameter name {name!r} is reserved for the table's own column"
        )


def _as_column(name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(
            f"parameter `{name}` must be a 1-D list of values, got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"parameter `{name}` has no values")
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"parameter `{name}` must hold numbers (bool, int or float), got "
            f"dtype {arr.dtype}; sweep passes parameters to JAX"
        )
    return arr


# --------------------------------------------------------------------------- tables


class Table:
    """A tidy table: equal-length named NumPy columns, one row per observation.

    A sweep's table has one column per parameter, `replica`, and one per metric (a
    metric of shape `s` per point is a column of shape `(n_rows, *s)`; CSV/rows flatten
    it to `name[i]` / `name[i,j]` columns). `meta` holds facts about how the table was
    made (timings, chunks) and is not part of the data.
    """

    def __init__(
        self, columns: Mapping[str, Any], meta: Mapping[str, Any] | None = None
    ):
        cols = {str(k): np.asarray(v) for k, v in columns.items()}
        lengths = {k: (v.shape[0] if v.ndim else None) for k, v in cols.items()}
        if any(n is None for n in lengths.values()):
            bad = [k for k, n in lengths.items() if n is None]
            raise ValueError(
                f"table columns must be arrays with a row axis; scalar: {bad}"
            )
        if len(set(lengths.values())) > 1:
            raise ValueError(f"table columns have different lengths: {lengths}")
        self._columns = cols
        self.meta = dict(meta or {})

    @property
    def columns(self) -> dict[str, np.ndarray]:
        return dict(self._columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def __len__(self) -> int:
        return next(iter(self._columns.values())).shape[0] if self._columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __repr__(self) -> str:
        return f"Table(n_rows={len(self)}, columns={list(self._columns)})"

    def equals(self, other: Table) -> bool:
        """Same column names, dtypes and values (NaNs equal); `meta` ignored."""
        if not isinstance(other, Table) or self.names != other.names:
            return False
        for k in self.names:
            a, b = self[k], other[k]
            if a.dtype != b.dtype or a.shape != b.shape:
                return False
            if not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
                return False
        return True

    def flat_columns(self) -> dict[str, np.ndarray]:
        """Columns with array-valued cells split into scalar columns `name[i,j]`."""
        out = {}
        for k, v in self._columns.items():
            if v.ndim == 1:
                out[k] = v
                continue
            for idx in np.ndindex(*v.shape[1:]):
                out[f"{k}[{','.join(map(str, idx))}]"] = v[(slice(None), *idx)]
        return out

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per row, values as Python scalars (array cells flattened)."""
        flat = self.flat_columns()
        lists = {k: v.tolist() for k, v in flat.items()}
        return [{k: lists[k][i] for k in flat} for i in range(len(self))]

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Writes the table as CSV atomically; returns the path."""
        from . import io

        return io.write_csv(path, self.to_rows(), columns=list(self.flat_columns()))

    def to_pandas(self):
        """A `pandas.DataFrame` of `flat_columns()`; needs pandas (not a dependency)."""
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError(
                "Table.to_pandas needs pandas, which is not installed; "
                "use to_rows() or to_csv() instead"
            ) from err
        return pd.DataFrame(self.flat_columns())


# --------------------------------------------------------------------------- sweep


@dataclasses.dataclass(frozen=True)
class ChunkInfo:
    """What `on_chunk` is told after each chunk.

    Its position (`index` of `n_chunks`, flat indices `start:stop`), and whether it was
    computed now (`computed=True`) or loaded from a checkpoint.
    """

    index: int
    n_chunks: int
    start: int
    stop: int
    computed: bool


def sweep(
    fn: Callable[..., Mapping[str, Any]],
    grid: Grid | Mapping[str, Sequence[Any]],
    *,
    key: jax.Array,
    replicas: int = 1,
    chunk_size: int | None = None,
    mesh: Mesh | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool | Callable[[str], None] = True,
    on_chunk: Callable[[ChunkInfo], None] | None = None,
    memory_budget: int | None = None,
    shared: Any = None,
    microbatch: int | None = None,
) -> Table:
    r"""Evaluates `fn` at every grid point and replica, sharded over devices.

    Point/replica $i$ (flat index over points x replicas, replica fastest) is evaluated
    as `fn(jax.random.fold_in(key, i), **grid.point(i // replicas))` — or
    `fn(key_i, shared, **params)` when `shared` is given; `fn` must be a pure,
    `vmap`-able JAX function returning a dict of scalars or small fixed-shape arrays.

    Args:
      fn: `fn(key, **params) -> {metric: array}`. Its `module.qualname` names the sweep
        in checkpoints: change the name (or the folder) when you change what `fn`
        computes.
      grid: A `Grid`, or a dict of value lists (shorthand for `Grid.product(**grid)`).
      key: A PRNG key (`jax.random.key(seed)`, or a legacy uint32 key).
      replicas: Independent replicas per point (>= 1).
      chunk_size: Flat indices per chunk (>= 1), rounded up to a multiple of the device
        count for the computation (padding is computed and dropped). Default: from a
        memory estimate (`estimate_chunk_size`).
      mesh: A one-dimensional `Mesh` (`device_mesh()`); default: all devices.
      checkpoint_dir: Folder for finished chunks and a manifest; a rerun resumes from
        it.
      progress: True prints a progress line on stderr between chunks; a callable
        receives the line instead; False is silent.
      on_chunk: Called with a `ChunkInfo` after every chunk (computed or loaded); an
        exception raised there stops the sweep (chunks written so far stay on disk).
      memory_budget: Bytes per device the automatic chunk size may use; default a
        quarter of the device's free memory (GPU/TPU) or of host RAM per local device
        (CPU).
      shared: Optional pytree the same for every point (e.g. a `Graph`, an
        `eqx.Module` of model constants), passed to `fn` as its second argument. Its
        array leaves are jit arguments replicated on every device (not compiled-in
        constants, not vmapped); other leaves are static. Checkpoints fingerprint its
        arrays' contents.
      microbatch: None (default): each device evaluates its share of a chunk as one
        `vmap`. An int L: each device runs `lax.map` over blocks of exactly L points
        (chunks padded to a multiple of L x devices), so `fn` always sees the same
        batch shape and tables are bitwise identical for any chunk size and device
        count even when `fn` has reductions that XLA vectorises differently for
        different batch sizes (otherwise they agree to a few ulp). Costs throughput
        when L is small.

    Returns:
      `Table` with columns: each parameter, `replica`, each metric; one row per flat
      index. `table.meta` has `wall_s`, `compile_s`, `chunk_size`, `n_chunks`,
      `chunks_computed`, `chunks_loaded`, `n_devices`, `points_per_s`.

    Raises:
      TypeError / ValueError: bad arguments, a metric name that clashes with a
        parameter, or a `checkpoint_dir` that holds a different sweep.

    Cost: one compilation (another for the memory probe when the chunk size is
    estimated; none when cached), then ceil(n / chunk_size) launches of `fn` on
    ceil(chunk_size / n_devices) points per device; host memory O(n x metrics).
    """
    t_start = time.perf_counter()
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {fn!r}")
    if isinstance(grid, Mapping):
        grid = Grid.product(**grid)
    if not isinstance(grid, Grid):
        raise TypeError(
            f"`grid` must be a Grid or a dict of value lists, got {type(grid)}"
        )
    key = _as_typed_key(key)
    replicas = _check_count("replicas", replicas)
    if chunk_size is not None:
        chunk_size = _check_count("chunk_size", chunk_size)
    if memory_budget is not None:
        memory_budget = _check_count("memory_budget", memory_budget)
    if microbatch is not None:
        microbatch = _check_count("microbatch", microbatch)
    mesh = device_mesh() if mesh is None else mesh
    if not isinstance(mesh, Mesh) or len(mesh.axis_names) != 1:
        raise ValueError(
            f"`mesh` must be a one-dimensional jax.sharding.Mesh, got {mesh!r}"
        )
    log = _progress_writer(progress)

    n_total = len(grid) * replicas
    n_dev = mesh.size
    plan = _Plan(fn, grid, replicas, key, mesh, shared, microbatch)
    metrics = plan.metric_spec()
    clash = set(metrics) & (set(grid.names) | set(_RESERVED))
    if clash:
        raise ValueError(
            f"metric names {sorted(clash)} clash with parameter/table columns"
        )

    if chunk_size is None:
        chunk_size = estimate_chunk_size(
            fn,
            grid,
            replicas=replicas,
            mesh=mesh,
            key=key,
            memory_budget=memory_budget,
            shared=shared,
        )
    chunk_size = min(chunk_size, n_total)
    unit = n_dev * (microbatch or 1)
    padded = -(-chunk_size // unit) * unit
    n_chunks = -(-n_total // chunk_size)

    # Results on the host, filled from checkpoints and computed chunks.
    values = {
        m: np.zeros((n_total, *shape), dtype) for m, (shape, dtype) in metrics.items()
    }
    done = np.zeros(n_total, bool)
    store = None
    if checkpoint_dir is not None:
        fingerprint = {
            "format": _FORMAT,
            "fn": _fn_name(fn),
            "grid": grid._digest(),
            "names": list(grid.names),
            "replicas": replicas,
            "n_total": n_total,
            "key_impl": str(jr.key_impl(key)),
            "key_data": np.asarray(jr.key_data(key)).tolist(),
            "metrics": {m: [list(s), np.dtype(d).str] for m, (s, d) in metrics.items()},
            "shared": _shared_digest(plan.shared_leaves) if plan.has_shared else None,
        }
        store = _Store(Path(checkpoint_dir), fingerprint)
        error = None
        if jax.process_index() == 0:
            try:
                store.open()
                store.load_into(values, done)
            except (ValueError, OSError) as err:
                error = err
        if (
            jax.process_count() > 1
        ):  # process 0 read the checkpoints; everyone gets them
            from jax.experimental import multihost_utils

            ok = bool(multihost_utils.broadcast_one_to_all(np.array(error is None)))
            if not ok:
                raise error or ValueError(
                    f"process 0 could not use checkpoint_dir {checkpoint_dir}"
                )
            done, values = multihost_utils.broadcast_one_to_all((done, values))
            done, values = np.array(done), {m: np.array(values[m]) for m in metrics}
        elif error is not None:
            raise error

    t0 = time.perf_counter()
    compiled = plan.compile(padded)
    compile_s = time.perf_counter() - t0

    n_computed = n_loaded = 0
    points_done = int(done.sum())
    t_loop = time.perf_counter()
    points_at_loop = points_done
    pending = None  # (chunk index, start, stop, device outputs): one chunk in flight

    def finish(item):
        nonlocal n_computed, points_done
        c, start, stop, out = item
        host = {m: np.asarray(out[m])[: stop - start] for m in metrics}
        for m in metrics:
            values[m][start:stop] = host[m]
        points_done += int((~done[start:stop]).sum())
        done[start:stop] = True
        if store is not None and jax.process_index() == 0:
            store.save(start, stop, host)
        n_computed += 1
        _report(
            log,
            fn,
            c + 1,
            n_chunks,
            points_done,
            n_total,
            points_done - points_at_loop,
            time.perf_counter() - t_loop,
        )
        if on_chunk is not None:
            on_chunk(ChunkInfo(c, n_chunks, start, stop, True))

    for c in range(n_chunks):
        start, stop = c * chunk_size, min((c + 1) * chunk_size, n_total)
        if done[start:stop].all():
            n_loaded += 1
            if on_chunk is not None:
                on_chunk(ChunkInfo(c, n_chunks, start, stop, False))
            continue
        out = plan.launch(compiled, start, stop, padded)  # asynchronous dispatch
        if pending is not None:
            finish(pending)
        pending = (c, start, stop, out)
    if pending is not None:
        finish(pending)

    if log is not None:
        log(
            f"sweep {_short_name(fn)}: done, {n_total} points ({n_computed} "
            f"chunks computed, {n_loaded} loaded) in "
            f"{time.perf_counter() - t_start:.1f}s",
            True,
        )
    cols: dict[str, np.ndarray] = {}
    point = np.arange(n_total) // replicas
    for name, col in grid._columns.items():
        cols[name] = col[point]
    cols["replica"] = np.tile(np.arange(replicas), len(grid))
    cols.update(values)
    wall = time.perf_counter() - t_start
    loop_s = time.perf_counter() - t_loop
    computed_points = points_done - points_at_loop
    meta = {
        "fn": _fn_name(fn),
        "n_points": len(grid),
        "replicas": replicas,
        "chunk_size": chunk_size,
        "n_chunks": n_chunks,
        "chunks_computed": n_computed,
        "chunks_loaded": n_loaded,
        "n_devices": n_dev,
        "compile_s": compile_s,
        "wall_s": wall,
        "points_per_s": computed_points / loop_s if loop_s > 0 else math.inf,
    }
    return Table(cols, meta)


def estimate_chunk_size(
    fn: Callable[..., Mapping[str, Any]],
    grid: Grid,
    *,
    replicas: int = 1,
    mesh: Mesh | None = None,
    key: jax.Array | None = None,
    memory_budget: int | None = None,
    shared: Any = None,
) -> int:
    """Chunk size (flat indices per chunk) that fits the devices' memory.

    Compiles `jit(vmap(fn))` for one point per device and reads XLA's memory analysis
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
    mesh = device_mesh() if mesh is None else mesh
    key = jr.key(0) if key is None else _as_typed_key(key)
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
        # Parameters in the dtypes JAX will use (float64 -> float32 without x64).
        self.host_cols = [
            col.astype(jax.dtypes.canonicalize_dtype(col.dtype))
            for col in grid._columns.values()
        ]
        axis = mesh.axis_names[0]
        self.batch = NamedSharding(mesh, P(axis))
        self.replicated = NamedSharding(mesh, P())
        self._key_dev = None
        self._shared_dev = None

    @property
    def shared_bytes(self) -> int:
        return sum(x.size * x.dtype.itemsize for x in self.shared_leaves)

    def _point_fn(self, order: list | None = None, plain: bool = False):
        fn, names, impl = self.fn, self.names, self.key_impl
        microbatch, n_dev = (None if plain else self.microbatch), self.mesh.size
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
            # (devices, blocks, L): the sharded leading axis is vmapped, each device
            # scans its blocks, and fn always sees a batch of exactly L points.
            n = idx.shape[0]
            shape = (n_dev, n // (n_dev * microbatch), microbatch)
            args = [a.reshape(shape) for a in (idx, *cols)]

            def per_device(*a):
                return jax.lax.map(lambda b: jax.vmap(one)(*b), a)

            out = jax.vmap(per_device)(*args)
            return jax.tree.map(lambda x: x.reshape(n, *x.shape[3:]), out)

        return run

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

    def metric_spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        def make():
            specs = self._arg_specs(1, sharded=False)
            order: list[str] = []
            out = jax.eval_shape(self._point_fn(order, plain=True), *specs)
            return {k: (tuple(out[k].shape[1:]), np.dtype(out[k].dtype)) for k in order}

        return _cached(self._cache_key("spec", 1), make)

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
            jitted = jax.jit(self._point_fn(), out_shardings=self.replicated)
            return jitted.lower(*self._arg_specs(padded)).compile()

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


_CACHE: dict[tuple, Any] = {}
_CACHE_SIZE = 32


def _cached(key: tuple, make: Callable[[], Any]) -> Any:
    """Compiled chunk functions and metric shapes of recent sweeps.

    A repeated sweep of the same function, parameter dtypes, mesh and chunk shape does
    not recompile.
    """
    try:
        hash(key)
    except TypeError:  # an unhashable fn: no caching
        return make()
    if key in _CACHE:
        _CACHE[key] = _CACHE.pop(key)  # most recent last
        return _CACHE[key]
    value = make()
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


class _Store:
    """Finished chunks on disk: `manifest.json` + `chunk-<start>-<stop>.npz` files."""

    def __init__(self, path: Path, fingerprint: dict):
        self.path = path
        self.fingerprint = fingerprint

    def open(self) -> None:
        from . import io

        self.path.mkdir(parents=True, exist_ok=True)
        manifest = self.path / "manifest.json"
        if manifest.exists():
            try:
                old = json.loads(manifest.read_text())
            except (OSError, ValueError) as err:
                raise ValueError(
                    f"checkpoint manifest {manifest} is unreadable: {err}"
                ) from err
            if old != self.fingerprint:
                diff = sorted(
                    k
                    for k in set(old) | set(self.fingerprint)
                    if old.get(k) != self.fingerprint.get(k)
                )
                raise ValueError(
                    f"checkpoint_dir {self.path} holds a different sweep (differs in: "
                    f"{', '.join(diff)}); use another folder or delete it"
                )
        else:
            io.write_text(manifest, json.dumps(self.fingerprint, indent=1))

    def _chunks(self) -> Iterator[tuple[int, int, Path]]:
        for p in sorted(self.path.glob("chunk-*.npz")):
            parts = p.stem.split("-")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                yield int(parts[1]), int(parts[2]), p

    def load_into(self, values: dict[str, np.ndarray], done: np.ndarray) -> None:
        n = done.shape[0]
        for start, stop, p in self._chunks():
            if not 0 <= start < stop <= n:
                continue
            try:
                with np.load(p) as data:
                    arrays = {m: data[m] for m in values}
            except Exception:  # unreadable or foreign file: recompute that range
                continue
            if any(
                arrays[m].shape != (stop - start, *values[m].shape[1:]) for m in values
            ):
                continue
            for m in values:
                values[m][start:stop] = arrays[m]
            done[start:stop] = True

    def save(self, start: int, stop: int, arrays: dict[str, np.ndarray]) -> None:
        from . import io

        io.save_npz(self.path / f"chunk-{start:012d}-{stop:012d}.npz", arrays)


def _shared_digest(leaves: Sequence[jax.Array]) -> str:
    h = hashlib.sha256(str(len(leaves)).encode())
    for x in leaves:
        x = np.asarray(x)
        h.update(f"{x.shape}{x.dtype.str}".encode())
        h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()


def _fn_name(fn) -> str:
    if isinstance(fn, functools.partial):
        inner = _fn_name(fn.func)
        return (
            f"partial({inner})#"
            + hashlib.sha256(
                repr((fn.args, sorted(fn.keywords.items()))).encode()
            ).hexdigest()[:16]
        )
    mod = getattr(fn, "__module__", None) or type(fn).__module__
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{mod}.{name}"


def _short_name(fn) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", type(fn).__name__)


def _as_typed_key(key) -> jax.Array:
    try:
        arr = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    except TypeError as err:
        raise TypeError(f"`key` must be a PRNG key, got {key!r}") from err
    if jnp.issubdtype(arr.dtype, jax.dtypes.prng_key):
        if arr.shape != ():
            raise ValueError(
                f"`key` must be a single key, got a key array of shape {arr.shape}"
            )
        return arr
    if arr.dtype == jnp.uint32 and arr.shape == (2,):
        return jr.wrap_key_data(arr)
    raise TypeError(
        f"`key` must be a PRNG key (jax.random.key(seed)), got dtype "
        f"{arr.dtype} and shape {arr.shape}"
    )


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"`{name}`={value} is out of range; allowed: >= 1")
    return int(value)


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


def _progress_writer(progress) -> Callable[[str, bool], None] | None:
    """A progress sink: a line per `_PROGRESS_EVERY` seconds at most, and the last."""
    if progress is False or progress is None:
        return None
    if callable(progress):
        sink = progress
        tty = False
    elif progress is not True:
        raise TypeError(f"`progress` must be a bool or a callable, got {progress!r}")
    elif jax.process_index() != 0:
        return None
    else:
        tty = sys.stderr.isatty()

        def sink(line: str) -> None:
            sys.stderr.write(("\r" + line) if tty else (line + "\n"))
            sys.stderr.flush()

    state = {"last": -math.inf}

    def write(line: str, final: bool) -> None:
        now = time.perf_counter()
        if not final and now - state["last"] < _PROGRESS_EVERY:
            return
        state["last"] = now
        if tty and final:
            sys.stderr.write("\r")
            sys.stderr.flush()
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        else:
            sink(line)

    return write


def _report(
    log, fn, chunk: int, n_chunks: int, done: int, total: int, new: int, elapsed: float
) -> None:
    if log is None:
        return
    rate = new / elapsed if elapsed > 0 else math.inf
    eta = (total - done) / rate if rate > 0 else math.inf
    filled = int(20 * done / total)
    bar = "#" * filled + "-" * (20 - filled)
    line = (
        f"sweep {_short_name(fn)}: [{bar}] {100 * done / total:3.0f}%  chunk "
        f"{chunk}/{n_chunks}  {done}/{total} points  {rate:.3g} points/s  "
        f"eta {eta:.0f}s"
    )
    log(line, False)
