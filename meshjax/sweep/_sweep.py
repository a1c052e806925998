"""The `sweep` driver: grid -> keys -> sharded `jit(shard_map(vmap(fn)))` -> table, with
resume."""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.random as jr
import numpy as np
from jax.sharding import Mesh

from .. import _stop
from .._devices import device_mesh
from .._validate import check_bool, check_int
from ._grid import _RESERVED, Grid
from ._plan import _Plan, _single_key, estimate_chunk_size
from ._progress import _progress_writer, _report, _short_name
from ._store import (
    _FORMAT,
    _fn_name,
    _shared_digest,
    _Store,
    fn_identity,
    result_settings,
    source_digest,
)
from ._table import Table

__all__ = ["ChunkInfo", "sweep"]


def _shared_identity(plan) -> str:
    """`shared`'s arrays by content, plus its structure and static (non-array) leaves,
    which go into the compiled program as constants."""
    return "|".join(
        [
            _shared_digest(plan.shared_leaves),
            str(plan.shared_def),
            fn_identity(plan.shared_static),
        ]
    )


@dataclasses.dataclass(frozen=True)
class ChunkInfo:
    """What `on_chunk` is told after each chunk.

    Attributes:
      index: The chunk's position, 0-based.
      n_chunks: How many chunks the sweep has.
      start: First flat index (point x replica) of the chunk.
      stop: One past its last flat index.
      computed: True if computed now, False if loaded from a checkpoint.
    """

    index: int
    n_chunks: int
    start: int
    stop: int
    computed: bool


def sweep(
    fn: Callable[..., Mapping[str, Any]],
    grid: Grid | Mapping[str, Any],
    *,
    key: Any,
    replicas: int = 1,
    chunk_size: int | None = None,
    mesh: Mesh | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool | Callable[[str], None] = True,
    on_chunk: Callable[[ChunkInfo], None] | None = None,
    memory_budget: int | None = None,
    shared: Any = None,
    microbatch: int | None = None,
    version: str | None = None,
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
      key: A PRNG key (`jax.random.key(seed)`, a legacy `jax.random.PRNGKey`) or an
        int seed; the three give the same table.
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

      version: Optional explicit identity of `fn` for its checkpoints. By default a
        chunk is reused only when `fn`'s code and the values it closes over hash the
        same (`meshjax.sweep._store`); globals `fn` reads are not hashed, so bump
        `version` when a change there alters the results.

    Checkpoints: a chunk is reused only when the function's identity, the grid, the key,
    the dtype policy and the metrics match the manifest and the chunk's SHA-256 matches
    the one recorded when it was written; chunk files without a manifest are never
    reused. A folder holding another sweep raises `CheckpointMismatch` (a `ValueError`).

    Parameter dtypes: `fn` receives each parameter in the dtype JAX computes with, and
    the table's parameter columns hold exactly those values. With `jax_enable_x64` off,
    float64 values are rounded to float32 (the table then shows the float32 values,
    e.g. 0.1 -> 0.10000000149011612, not the float64 originals), and an int value that
    does not fit int32 (or a float beyond the float32 range) is a `ValueError` naming
    the parameter instead of wrapping silently; with x64 on, int64 and float64 values
    are kept exactly.

    Returns:
      `Table` with columns: each parameter (the values `fn` saw), `replica`, each
      metric; one row per flat index. `table.meta` has `wall_s`, `compile_s`, `chunk_size`, `n_chunks`,
      `chunks_computed`, `chunks_loaded`, `n_devices`, `points_per_s`.

    Raises:
      TypeError / ValueError: bad arguments (named), a grid value outside the range of
        the dtype JAX computes with, a metric name that clashes with a parameter, or a
        `checkpoint_dir` that holds a different sweep.

    Cost: one compilation (another for the memory probe when the chunk size is
    estimated; none when cached, and none at all when every chunk loads from
    `checkpoint_dir`), then ceil(n / chunk_size) launches of `fn` on
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
    taken = [n for n in ("key", "shared") if n in grid.names]
    if taken:
        raise ValueError(
            f"grid parameter {taken[0]!r} is the name of fn's own argument "
            f"(fn(key, [shared,] **params)); rename the parameter"
        )
    key = _single_key(key)
    replicas = check_int("replicas", replicas, min_value=1)
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size, min_value=1)
    if memory_budget is not None:
        memory_budget = check_int("memory_budget", memory_budget, min_value=1)
    if microbatch is not None:
        microbatch = check_int("microbatch", microbatch, min_value=1)
    if version is not None and not isinstance(version, str):
        raise TypeError(f"`version` must be a string or None, got {version!r}")
    if not callable(progress):
        progress = check_bool("progress", progress)
    if on_chunk is not None and not callable(on_chunk):
        raise TypeError(f"`on_chunk` must be callable or None, got {on_chunk!r}")
    if checkpoint_dir is not None and not isinstance(checkpoint_dir, str | os.PathLike):
        raise TypeError(
            f"`checkpoint_dir` must be a path (str or os.PathLike), got "
            f"{type(checkpoint_dir).__name__}"
        )
    mesh = device_mesh() if mesh is None else mesh
    if not isinstance(mesh, Mesh):
        raise TypeError(f"`mesh` must be a jax.sharding.Mesh, got {mesh!r}")
    if len(mesh.axis_names) != 1:
        raise ValueError(f"`mesh` must be one-dimensional, got axes {mesh.axis_names}")
    log = _progress_writer(progress)

    n_total = len(grid) * replicas
    n_dev = mesh.size
    plan = _Plan(fn, grid, replicas, key, mesh, shared, microbatch)
    unit = n_dev * (microbatch or 1)
    # A given chunk size fixes the chunk program now: trace it once, for the metric
    # shapes and (if anything is left to compute) for the compilation.
    metrics = plan.metric_spec(
        None if chunk_size is None else _padded(min(chunk_size, n_total), unit)
    )
    clash = set(metrics) & (set(grid.names) | set(_RESERVED))
    if clash:
        raise ValueError(
            f"metric names {sorted(clash)} clash with parameter/table columns"
        )

    # Results on the host, filled from checkpoints and computed chunks.
    values = {
        m: np.zeros((n_total, *shape), dtype) for m, (shape, dtype) in metrics.items()
    }
    done = np.zeros(n_total, bool)
    store, stored = None, 0  # stored: the largest checkpointed chunk
    if checkpoint_dir is not None:
        fingerprint = {
            "format": _FORMAT,
            "fn": _fn_name(fn),
            "fn_identity": fn_identity(fn, version),
            "x64": bool(jax.config.jax_enable_x64),
            "dtypes": [np.dtype(c.dtype).str for c in plan.host_cols],
            "grid": grid._digest(),
            "names": list(grid.names),
            "replicas": replicas,
            "n_total": n_total,
            "key_impl": str(jr.key_impl(key)),
            "key_data": np.asarray(jr.key_data(key)).tolist(),
            "metrics": {m: [list(s), np.dtype(d).str] for m, (s, d) in metrics.items()},
            "shared": _shared_identity(plan) if plan.has_shared else None,
            "meshjax": source_digest(),
            "jax": result_settings(),
        }
        store = _Store(Path(checkpoint_dir), fingerprint, log)
        error = None
        if jax.process_index() == 0:
            try:
                store.open()
                store.load_into(values, done)
                stored = store.largest_chunk() or 0
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
            stored = int(multihost_utils.broadcast_one_to_all(np.array(stored)))
        elif error is not None:
            raise error

    # Nothing left to compute (a rerun of a finished sweep): no memory probe, no
    # compilation; the chunk size is the one the checkpoints were written with.
    need = not done.all()
    if chunk_size is None and not need and stored > 0:
        chunk_size = stored
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
    padded = _padded(chunk_size, unit)
    n_chunks = -(-n_total // chunk_size)

    t0 = time.perf_counter()
    compiled = plan.compile(padded) if need else None
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
        if _stop.requested() is not None:  # a signal: finish the chunk in flight, stop
            if pending is not None:
                finish(pending)
            _stop.check()
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
    for name, col in zip(grid.names, plan.host_cols):  # the values fn computed with
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


def _padded(chunk_size: int, unit: int) -> int:
    """The computed chunk length: `chunk_size` rounded up to a multiple of `unit`."""
    return -(-chunk_size // unit) * unit
