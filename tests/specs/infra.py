"""Contract specs of the run layer: sweep, config, io, distributed, and meshjax's top level.

Most of this layer is host-side (files, TOML, environment variables) and has no key and no
numeric parameter to trace: those callables are exempt, each with the reason, and tested in
their own test files. Where the contract's bad-argument rule applies (grids, tables, device
meshes, the cluster environment) there is a spec.
"""

from __future__ import annotations

import jax
import numpy as np
from contract import Count, Spec

from meshjax import RESULTS, distributed, is_successful, messages, status_code
from meshjax.sweep import Grid, Table, device_mesh

_HOST_IO = (
    "host-side file writer/reader of the run layer (a path and host data in, a Path or "
    "rows out): no key, no numeric parameter to trace, no model result; atomic writes "
    "and round trips are tested in tests/test_cli.py and tests/test_sweep.py"
)
_CONFIG = (
    "host-side TOML config layer: every problem is a `ConfigError` (a ValueError) naming "
    "the dotted config key (`params.n_nodes`), not the Python argument; no key, no "
    "numeric parameter to trace; tested table-driven in tests/test_config.py"
)
_RECORD = (
    "a frozen dataclass record filled by meshjax itself (not a model result, no "
    "validation of its own); its producer is tested"
)

SPECS = [
    Spec(
        fn=Grid,
        args={"columns": {"a": [1.0, 2.0], "q": [2, 3]}, "n_points": 1},
        domains={"n_points": Count(low=1)},
        bad=[
            ("columns", [1.0, 2.0]),
            ("columns", "ab"),
        ],
    ),
    Spec(
        fn=Table,
        args={"columns": {"a": [1, 2], "y": [0.5, 1.5]}, "meta": None},
        bad=[
            ("columns", [1, 2]),
            ("columns", {"a": 1.0}),
            ("columns", {"a": [1], "b": [1, 2]}),
            ("meta", 3),
        ],
    ),
    Spec(
        fn=device_mesh,
        args={"n_devices": 1, "axis": "batch", "devices": None},
        bad=[
            ("n_devices", 0),
            ("n_devices", 10**6),
            ("n_devices", 2.5),
            ("n_devices", "3"),
            ("n_devices", True),
            ("axis", ""),
            ("axis", 3),
            ("devices", []),
        ],
    ),
    Spec(
        fn=distributed.detect,
        args={"env": {}},
        bad=[
            ("env", 3),
            ("env", ["JAX_NUM_PROCESSES"]),
            ("env", {"JAX_NUM_PROCESSES": "two", "JAX_PROCESS_ID": "0"}),
            ("env", {"JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "5"}),
        ],
    ),
    Spec(
        fn=distributed.initialize,
        args={"env": {}},
        bad=[("env", 3), ("env", {"PMI_SIZE": "0", "PMI_RANK": "0"})],
    ),
    Spec(fn=distributed.is_main_process, args={}),
    Spec(
        fn=distributed.first_host,
        args={"nodelist": "node[007-012,020],gpu3"},
        bad=[
            ("nodelist", ""),
            ("nodelist", "node[1-2"),
            ("nodelist", "a],b"),
            ("nodelist", 3),
            ("nodelist", None),
        ],
    ),
    Spec(fn=is_successful, args={"x": RESULTS.blowup}),
    # A batch of statuses: `messages` of a single status returns a str, not the
    # np.ndarray its annotation promises (reported to the lead; _results.py is not ours).
    Spec(
        fn=messages,
        args={
            "x": jax.vmap(
                lambda p: RESULTS.where(
                    p, RESULTS.successful, RESULTS.invalid_parameter
                )
            )(np.array([True, False]))
        },
    ),
    Spec(fn=status_code, args={"x": RESULTS.nonfinite}),
]

EXEMPT = {
    "meshjax.sweep._store.CheckpointMismatch": (
        "an exception class (a ValueError subclass) that `sweep` raises when a "
        "checkpoint folder holds another sweep; tested in tests/test_sweep.py"
    ),
    "meshjax.sweep._sweep.sweep": (
        "the sweep engine itself, a higher-order driver: `sweep(fn, grid, *, key, ...)` "
        "takes the model function and a Grid first and `key` keyword-only (the call "
        "every contract check makes through it), so key-first does not apply; its bad "
        "arguments (fn, grid, key, replicas, chunk_size, mesh, progress, microbatch, "
        "memory_budget, out-of-range grid values) are table-tested in "
        "tests/test_sweep.py::test_sweep_rejects_bad_arguments"
    ),
    "meshjax.sweep._plan.estimate_chunk_size": (
        "host-side planning helper of `sweep` (returns an int chunk size from XLA's "
        "memory analysis); `key` is an optional keyword only used to trace `fn`; "
        "tested in tests/test_sweep.py"
    ),
    "meshjax.sweep._sweep.ChunkInfo": (
        "a frozen dataclass record that `sweep` passes to `on_chunk` callbacks; users "
        "never build one"
    ),
    "meshjax.config.Config": (
        "the resolved-config record built by `config.resolve`, which validates every key"
    ),
    "meshjax.config.ConfigError": (
        "an exception class (a ValueError subclass), not a model callable"
    ),
    "meshjax.config.load": _CONFIG,
    "meshjax.config.parse_override": _CONFIG,
    "meshjax.config.resolve": _CONFIG,
    "meshjax.config.to_toml": _CONFIG,
    "meshjax.config.validate_params": _CONFIG,
    "meshjax.io.RunFolder": _HOST_IO,
    "meshjax.io.read_csv": _HOST_IO,
    "meshjax.io.save_npz": _HOST_IO,
    "meshjax.io.write_bytes": _HOST_IO,
    "meshjax.io.write_csv": _HOST_IO,
    "meshjax.io.write_json": _HOST_IO,
    "meshjax.io.write_text": _HOST_IO,
    "meshjax.distributed.ClusterSpec": _RECORD + " (`detect`)",
    "meshjax.distributed.DistributedInfo": _RECORD + " (`initialize`)",
    "meshjax._results.AbstractResult": (
        "the abstract base class of every driver's result (equinox abstract/final "
        "pattern); it cannot be instantiated, its concrete subclasses are checked "
        "through their drivers' specs"
    ),
    "meshjax.graph._graph.Graph": (
        "the graph container (an eqx.Module of edge arrays); users build it through the "
        "validating constructors of meshjax.graph (from_edges, from_networkx, ...), "
        "whose specs cover its bad inputs"
    ),
}
