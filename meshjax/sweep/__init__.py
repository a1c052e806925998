r"""Parameter sweeps over every device of every host: grid -> keys -> sharded
`jit(shard_map(vmap(fn)))` -> tidy table.

A sweep evaluates a pure JAX function `fn(key, **params) -> {metric: array}` at every
point of a named parameter `Grid`, `replicas` times each. Flat index $i$ runs over
points x replicas (replica fastest: $i = \text{point} \cdot R + r$) and point $i$ sees
the key `jax.random.fold_in(key, i)`, so a result depends on (key, point, replica) only
— never on the chunk size, the number of devices or the number of hosts.

The flat index axis is cut into chunks; each chunk is padded to a multiple of the device
count, laid out over a one-dimensional device mesh with `NamedSharding(mesh, P(axis))`,
and evaluated by one compiled `jit(shard_map(vmap(fn)))`: each device runs its own
points, so an `eqx.error_if` in `fn` raises instead of stalling the others (one
compilation per sweep, cached for
the next sweep of the same function, dtypes, mesh and chunk shape). Finished
chunks are written atomically (temporary file + `os.replace`) to `checkpoint_dir`; a
sweep restarted with the same function (its code and captured values, or an explicit
`version`), grid, replicas, key and dtypes loads them (after checking each chunk's
checksum) and computes only what is missing, whatever chunk size either run used.

Several hosts: call `meshjax.distributed.initialize()` first and pass nothing else; the
default mesh spans the global devices, each host builds and computes the shards on its
own devices, results come back replicated, and only process 0 reads/writes checkpoints.

Parameters reach `fn` in the dtypes JAX computes with (float32 and int32 unless
`jax_enable_x64` is on), and the table's parameter columns hold exactly those values; an
int that would wrap is an error (see `sweep`).

Layout (private files, one idea each): `_grid` (`Grid`), `_table` (`Table`), `_plan`
(compilation and sharding plan, `estimate_chunk_size`), `_store` (checkpoints and their
manifest), `_progress` (progress lines), `_sweep` (the `sweep` driver); `device_mesh`
lives in `meshjax._devices` and is re-exported here.
"""

from .._devices import device_mesh as device_mesh
from ._grid import Grid as Grid
from ._plan import estimate_chunk_size as estimate_chunk_size
from ._store import CheckpointMismatch as CheckpointMismatch
from ._sweep import ChunkInfo as ChunkInfo, sweep as sweep
from ._table import Table as Table

__all__ = [
    "CheckpointMismatch",
    "ChunkInfo",
    "Grid",
    "Table",
    "device_mesh",
    "estimate_chunk_size",
    "sweep",
]
