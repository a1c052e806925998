"""Compiled chunk programs kept on disk between processes (`meshjax run`, `meshjax bench`).

JAX's persistent compilation cache lets a second process skip XLA's compilation, but not
the tracing and lowering before it, which it needs to compute its key; for the quick
start's ~20 sweep programs those were most of a rerun's wall time (measured: trace 12.5 s
and lowering 5 s of a 30 s rerun). The sweep therefore also keeps each compiled chunk
program, serialized with `jax.experimental.serialize_executable`, with its metrics' names,
shapes and dtypes, under a key made of everything that decides the program:

- the function's identity (`fn_identity`: its code and every value it closes over) and
  meshjax's own source (a digest of the package's `.py` files), since the function calls
  meshjax code by global name, which no closure digest sees;
- the program's signature: chunk shape, microbatch, parameter names and dtypes, the
  `shared` pytree's structure, shapes, dtypes and static leaves, the key's type and shape;
- the devices (platform, kinds, ids) and the mesh axis, the JAX and jaxlib versions, the
  backend's version, `XLA_FLAGS`, `EQX_ON_ERROR` and the JAX settings that change
  results (`_store.result_settings`: x64, the threefry layout, the key type, matmul
  precision).

Only functions defined in meshjax are stored (and every function they capture): a user's
own function may read globals of its module that no key can see, so it is traced as
always. The store is on only where `enable` was called (the CLI does it, next to the
compilation cache; `MESHJAX_NO_COMPILATION_CACHE=1` turns both off), and only in a
single-process run. A damaged or unreadable entry is a miss (the program is compiled and
the entry rewritten); entries are written atomically; the folder is bounded (least recently
used first, 1 GiB or `$MESHJAX_PROGRAM_CACHE_MAX_BYTES`) and holds nothing but entries.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import threading
import types
from pathlib import Path
from typing import Any

import jax

from ._store import fn_identity, result_settings, source_digest

__all__ = ["enable", "disable", "stats"]

_DIR: Path | None = None
_LOCK = threading.Lock()
_SUFFIX = ".program"
_DEFAULT_MAX_BYTES = 2**30
stats = {"loaded": 0, "stored": 0}  # this process's hits and writes (tests, logs)


def enable(path: str | os.PathLike) -> Path | None:
    """Keeps compiled chunk programs in `path` (created); returns it, or None if unusable."""
    global _DIR, _LISTENING
    p = Path(path).expanduser()
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    _DIR = p
    if not _LISTENING:
        jax.monitoring.register_event_listener(_on_event)
        _LISTENING = True
    return p


# An executable that JAX loaded from its own persistent cache serializes *incompletely*
# on the CPU backend (jax 0.10.2: the payload lacks some fused kernels, and running it
# after loading fails with "Function ... not found" or a segmentation fault; shown by
# tests/test_programs.py). So a program is stored only when this thread's compilation
# was a real one: JAX reports each of its cache hits as an event, counted per thread.
_LISTENING = False
_HITS = threading.local()


def _on_event(event: str, **kwargs) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        _HITS.n = getattr(_HITS, "n", 0) + 1


def cache_hits() -> int:
    """JAX persistent-cache hits in this thread so far."""
    return getattr(_HITS, "n", 0)


def disable() -> None:
    global _DIR
    _DIR = None


def _active() -> Path | None:
    if _DIR is None or jax.process_count() > 1:
        return None
    return _DIR


# Libraries whose functions may be captured by a meshjax function (a type-checking
# wrapper's closure, a jitted kernel): their code is fixed by their versions.
_LIBRARIES = (
    "jax",
    "jaxlib",
    "equinox",
    "jaxtyping",
    "beartype",
    "numpy",
    "diffrax",
    "lineax",
    "optimistix",
    "optax",
    "functools",
    "builtins",
)


def _ours(obj: Any, seen: set[int] | None = None, depth: int = 0) -> bool:
    """Whether `obj` is meshjax code and every function it captures is meshjax's or a
    library's (a test run wraps meshjax's functions in jaxtyping/beartype checkers)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 12:
        return True
    seen.add(id(obj))
    if isinstance(obj, functools.partial):
        return _ours(obj.func, seen, depth + 1) and all(
            _ours(a, seen, depth + 1)
            for a in (*obj.args, *obj.keywords.values())
            if callable(a)
        )
    if isinstance(obj, types.MethodType):
        return _ours(obj.__func__, seen, depth + 1)
    if isinstance(obj, types.FunctionType):
        module = obj.__module__ or ""
        if module.split(".")[0] in _LIBRARIES and depth > 0:
            return True
        if not module.startswith("meshjax."):
            return False
        for cell in obj.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if callable(value) and not isinstance(value, type):
                if not _ours(value, seen, depth + 1):
                    return False
        return True
    if isinstance(obj, types.BuiltinFunctionType | type):
        return True
    module = type(obj).__module__ or ""
    return module.startswith("meshjax.") or module.split(".")[0] in _LIBRARIES


def _jaxlib_version() -> str:
    try:
        from jaxlib import version

        return str(version.__version__)
    except Exception:  # noqa: BLE001
        return ""


def _key(plan, padded: int) -> str:
    mesh = plan.mesh
    devices = mesh.devices.reshape(-1)
    backend = devices[0].client
    static_leaves, static_def = jax.tree.flatten(plan.shared_static)
    described = (
        plan.fn,
        padded,
        plan.microbatch,
        plan.has_shared,
        str(plan.shared_def),
        str(static_def),
        tuple(static_leaves),
        tuple((tuple(x.shape), x.dtype.str) for x in plan.shared_leaves),
        tuple(plan.names),
        tuple(c.dtype.str for c in plan.host_cols),
        plan.key_impl,
        tuple(plan.key_data.shape),
        tuple(mesh.axis_names),
        tuple((d.platform, d.device_kind, d.id) for d in devices),
        backend.platform_version,
        jax.__version__,
        _jaxlib_version(),
        bool(jax.config.jax_enable_x64),
        os.environ.get("XLA_FLAGS", ""),
        os.environ.get("EQX_ON_ERROR", ""),
        source_digest(),
        tuple(sorted(result_settings().items())),
    )
    return fn_identity(described).split(":", 1)[1]


@functools.cache
def _prepare_runtime() -> None:
    """Runs what lowering would have initialised before any stored program is loaded.

    jaxlib fills in its LAPACK kernels (eigh, cholesky, lu, qr, svd, eig on the CPU)
    the first time a program using one is *lowered*; a loaded program skips lowering, and
    a process whose first LAPACK call came from the store crashed (segmentation fault:
    the quick-start mesh part, whose Lanczos uses `eigvalsh`, resumed alone). Lowering
    (not compiling) one small program with each of them does that initialisation.
    """
    import jax.numpy as jnp
    import jax.scipy.linalg

    def ops(a):
        return (
            jnp.linalg.eigh(a),
            jnp.linalg.cholesky(a),
            jnp.linalg.qr(a),
            jnp.linalg.svd(a),
            jax.scipy.linalg.lu(a),
            jnp.linalg.eig(a) if jax.default_backend() == "cpu" else None,
        )

    jax.jit(ops).lower(jax.ShapeDtypeStruct((2, 2), jnp.float32))


def load(plan, padded: int):
    """`(compiled, spec)` stored for this plan and chunk shape, or None."""
    folder = _active()
    if folder is None or not _ours(plan.fn):
        return None
    path = folder / (_key(plan, padded) + _SUFFIX)
    if not path.exists():
        return None
    try:
        _prepare_runtime()
        entry = pickle.loads(path.read_bytes())
        payload = entry["payload"]
        if hashlib.sha256(payload).hexdigest() != entry["sha256"]:
            return None
        from jax.experimental.serialize_executable import deserialize_and_load

        devices = list(plan.mesh.devices.reshape(-1))
        compiled = deserialize_and_load(
            payload,
            entry["in_tree"],
            entry["out_tree"],
            backend=devices[0].client,
            execution_devices=devices,
        )
        os.utime(path)  # recently used
    except Exception:  # noqa: BLE001 - a missing, damaged or foreign entry is a miss
        return None
    with _LOCK:
        stats["loaded"] += 1
    return compiled, entry["spec"]


def save(plan, padded: int, compiled, spec, from_cache: bool = False) -> None:
    """Stores `compiled` for this plan (silently nothing where it cannot be serialized,
    or where `from_cache`: JAX loaded it from its persistent cache, see above)."""
    folder = _active()
    if folder is None or from_cache or not _ours(plan.fn):
        return
    try:
        from jax.experimental.serialize_executable import serialize

        payload, in_tree, out_tree = serialize(compiled)
        data = pickle.dumps(
            {
                "payload": payload,
                "sha256": hashlib.sha256(payload).hexdigest(),
                "in_tree": in_tree,
                "out_tree": out_tree,
                "spec": spec,
            }
        )
        path = folder / (_key(plan, padded) + _SUFFIX)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - e.g. constants JAX cannot serialize yet
        return
    with _LOCK:
        stats["stored"] += 1
    _evict(folder)


def _max_bytes() -> int:
    from .._cache import env_bytes

    return env_bytes("MESHJAX_PROGRAM_CACHE_MAX_BYTES", _DEFAULT_MAX_BYTES)


def _evict(folder: Path) -> None:
    """Removes least recently used entries (only `*.program` files) beyond the bound."""
    try:
        entries = [(p.stat(), p) for p in folder.glob("*" + _SUFFIX)]
    except OSError:
        return
    total = sum(s.st_size for s, _ in entries)
    limit = _max_bytes()
    for s, p in sorted(entries, key=lambda e: e[0].st_mtime):
        if total <= limit:
            break
        try:
            p.unlink()
            total -= s.st_size
        except OSError:
            pass
