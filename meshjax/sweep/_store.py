"""Checkpoints of a sweep: a manifest (the sweep's identity + chunk checksums) and chunks.

A chunk on disk is reused only when the sweep that wrote it is the same sweep:

- the function's identity: its qualified name and a digest of its code (bytecode,
  constants, nested functions), its defaults and every value it closes over (arrays by
  their bytes, numbers by value, captured functions recursively, `functools.partial`
  arguments, bound objects' pytrees); or, when the caller gives one, an explicit
  `version` string instead of the digest (for functions whose meaning depends on
  globals the digest cannot see);
- the grid (names, values, dtypes), replicas, the key, the dtype policy (x64 on/off) and
  the metrics' shapes and dtypes, and the `shared` pytree (its structure, its arrays'
  contents and its static leaves);
- meshjax's own source (a digest of the package's `.py` files: the function calls
  meshjax's kernels by global name, so a fixed kernel must not be mixed with chunks of
  the old one), JAX's version and the JAX settings that change results
  (`result_settings`: x64, the threefry layout, the key type, matmul precision);
- and the chunk file's SHA-256 matches the one the manifest recorded when it was written.

A folder with chunk files but no manifest is never reused. A folder whose manifest
describes another sweep is refused with a message naming what differs
(`CheckpointMismatch`); the caller decides (the run layer moves it aside, never deletes).
"""

from __future__ import annotations

import functools
import hashlib
import json
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

# checkpoint format version (2: function identity, chunk checksums; 3: meshjax's source,
# JAX's version and result settings, `shared`'s static leaves)
_FORMAT = 3

# JAX settings that change what a traced program computes: random bits (the threefry
# layout, the key type), dtypes, matmul precision.
_RESULT_SETTINGS = (
    "jax_enable_x64",
    "jax_threefry_partitionable",
    "jax_default_prng_impl",
    "jax_default_matmul_precision",
)


def result_settings() -> dict[str, str]:
    """JAX's version and the settings of `_RESULT_SETTINGS`, as strings."""
    out = {"jax": jax.__version__}
    out.update({n: str(getattr(jax.config, n, None)) for n in _RESULT_SETTINGS})
    return out


@functools.cache
def source_digest() -> str:
    """SHA-256 of meshjax's own source files (names and bytes, in a fixed order): a
    function calls meshjax code by global name, which no closure digest sees."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


class CheckpointMismatch(ValueError):
    """`checkpoint_dir` holds checkpoints of a different sweep; `differs` says in what."""

    def __init__(self, path: Path, differs: Sequence[str]):
        self.path = Path(path)
        self.differs = list(differs)
        super().__init__(
            f"checkpoint_dir {path} holds a different sweep (differs in: "
            f"{', '.join(self.differs)}); use another folder, or move this one aside"
        )


class _Store:
    """Finished chunks on disk: `manifest.json` + `chunk-<start>-<stop>.npz` files."""

    def __init__(self, path: Path, fingerprint: dict, log: Callable | None = None):
        self.path = path
        self.fingerprint = fingerprint
        self.chunks: dict[str, str] = {}  # file name -> sha256, of verified chunks
        self.log = log
        self.rejected = 0  # chunks not reused (no manifest entry or bad checksum)

    def _say(self, msg: str) -> None:
        if self.log is not None:
            self.log(msg, True)

    def open(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        manifest = self.path / "manifest.json"
        if manifest.exists():
            try:
                old = json.loads(manifest.read_text())
            except (OSError, ValueError):
                # nothing in the folder can be trusted: like another sweep's folder
                # (the run layer moves it aside and recomputes; `sweep` refuses it)
                raise CheckpointMismatch(self.path, ["manifest unreadable"]) from None
            old_fp = old.get("fingerprint", old) if isinstance(old, dict) else {}
            if old_fp != self.fingerprint:
                diff = sorted(
                    k
                    for k in set(old_fp) | set(self.fingerprint)
                    if old_fp.get(k) != self.fingerprint.get(k)
                )
                raise CheckpointMismatch(self.path, diff)
            self.chunks = dict(old.get("chunks", {}))
        else:
            orphans = list(self._chunks())
            if orphans:
                self._say(
                    f"{self.path}: {len(orphans)} chunk file(s) without a manifest; "
                    "not reused (they will be recomputed)"
                )
                self.rejected += len(orphans)
            self._write_manifest()

    def _write_manifest(self) -> None:
        from .. import io

        io.write_text(
            self.path / "manifest.json",
            json.dumps(
                {"fingerprint": self.fingerprint, "chunks": self.chunks}, indent=1
            ),
        )

    def _chunks(self) -> Iterator[tuple[int, int, Path]]:
        for p in sorted(self.path.glob("chunk-*.npz")):
            parts = p.stem.split("-")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                yield int(parts[1]), int(parts[2]), p

    def load_into(self, values: dict[str, np.ndarray], done: np.ndarray) -> None:
        n = done.shape[0]
        for start, stop, p in self._chunks():
            expected = self.chunks.get(p.name)
            if expected is None or not 0 <= start < stop <= n:
                continue
            try:
                data_bytes = p.read_bytes()
            except OSError:
                continue
            if hashlib.sha256(data_bytes).hexdigest() != expected:
                self._say(f"{p}: checksum differs from the manifest; recomputing it")
                self.chunks.pop(p.name, None)
                self.rejected += 1
                continue
            try:
                import io as _io

                with np.load(_io.BytesIO(data_bytes)) as data:
                    arrays = {m: data[m] for m in values}
            except Exception:  # unreadable: recompute that range
                continue
            if any(
                arrays[m].shape != (stop - start, *values[m].shape[1:]) for m in values
            ):
                continue
            for m in values:
                values[m][start:stop] = arrays[m]
            done[start:stop] = True

    def largest_chunk(self) -> int | None:
        """The longest chunk the manifest lists (the chunk size it was written with)."""
        sizes = [
            int(b) - int(a)
            for a, b in (
                name[len("chunk-") : -len(".npz")].split("-") for name in self.chunks
            )
        ]
        return max(sizes) if sizes else None

    def save(self, start: int, stop: int, arrays: dict[str, np.ndarray]) -> None:
        from .. import io

        name = f"chunk-{start:012d}-{stop:012d}.npz"
        path = io.save_npz(self.path / name, arrays)
        self.chunks[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        self._write_manifest()


def _shared_digest(leaves: Sequence[jax.Array]) -> str:
    h = hashlib.sha256(str(len(leaves)).encode())
    for x in leaves:
        x = np.asarray(x)
        h.update(f"{x.shape}{x.dtype.str}".encode())
        h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()


def _fn_name(fn) -> str:
    if isinstance(fn, functools.partial):
        return f"partial({_fn_name(fn.func)})"
    mod = getattr(fn, "__module__", None) or type(fn).__module__
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{mod}.{name}"


def fn_identity(fn: Any, version: str | None = None) -> str:
    """A digest of what `fn` computes: its code and captured values (or `version`)."""
    if version is not None:
        return "version:" + str(version)
    h = hashlib.sha256()
    _feed(h, fn, set(), 0)
    return "code:" + h.hexdigest()


def _feed(h, obj: Any, seen: set[int], depth: int) -> None:
    """Adds a stable description of `obj` to the hash (process-independent)."""
    if depth > 12:
        h.update(b"<deep>")
        return
    if obj is None or isinstance(obj, bool | int | float | complex | str | bytes):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
        return
    if isinstance(obj, np.ndarray | np.generic | jax.Array):
        if isinstance(obj, jax.Array) and jax.dtypes.issubdtype(
            obj.dtype, jax.dtypes.prng_key
        ):
            obj = jax.random.key_data(obj)
        a = np.asarray(obj)
        h.update(f"arr:{a.shape}{a.dtype.str};".encode())
        h.update(np.ascontiguousarray(a).tobytes())
        return
    if isinstance(obj, types.ModuleType):
        h.update(f"module:{obj.__name__};".encode())
        return
    if isinstance(obj, type):
        h.update(f"type:{obj.__module__}.{obj.__qualname__};".encode())
        return
    if id(obj) in seen:
        h.update(b"<cycle>")
        return
    seen = seen | {id(obj)}
    if isinstance(obj, functools.partial):
        h.update(b"partial(")
        _feed(h, obj.func, seen, depth + 1)
        _feed(h, obj.args, seen, depth + 1)
        _feed(h, sorted(obj.keywords.items()), seen, depth + 1)
        h.update(b")")
        return
    if isinstance(obj, types.MethodType):
        _feed(h, obj.__func__, seen, depth + 1)
        _feed(h, obj.__self__, seen, depth + 1)
        return
    if isinstance(obj, types.FunctionType):
        h.update(f"fn:{obj.__module__}.{obj.__qualname__};".encode())
        _feed_code(h, obj.__code__)
        _feed(h, obj.__defaults__, seen, depth + 1)
        _feed(h, sorted((obj.__kwdefaults__ or {}).items()), seen, depth + 1)
        for cell in obj.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                value = "<empty cell>"
            _feed(h, value, seen, depth + 1)
        return
    if isinstance(obj, list | tuple):
        h.update(f"{type(obj).__name__}[{len(obj)}](".encode())
        for x in obj:
            _feed(h, x, seen, depth + 1)
        h.update(b")")
        return
    if isinstance(obj, dict):
        h.update(f"dict[{len(obj)}](".encode())
        for k in sorted(obj, key=repr):
            _feed(h, k, seen, depth + 1)
            _feed(h, obj[k], seen, depth + 1)
        h.update(b")")
        return
    # Any other object: its type, and its pytree leaves (eqx.Module, dataclasses
    # registered as pytrees) or its attributes; a callable instance also hashes the
    # code of its __call__ through its type's qualified name.
    h.update(f"obj:{type(obj).__module__}.{type(obj).__qualname__};".encode())
    leaves, treedef = jax.tree_util.tree_flatten(obj)
    if not (len(leaves) == 1 and leaves[0] is obj):
        h.update(str(treedef).encode())
        for leaf in leaves:
            _feed(h, leaf, seen, depth + 1)
        return
    state = getattr(obj, "__dict__", None)
    if isinstance(state, dict):
        _feed(h, state, seen, depth + 1)


def _feed_code(h, code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    h.update(repr(code.co_varnames).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(h, const)
        else:
            h.update(repr(const).encode())
