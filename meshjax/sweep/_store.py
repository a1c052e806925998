"""Checkpoints of a sweep: a manifest (the sweep's fingerprint) and finished chunks."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import jax
import numpy as np

_FORMAT = 1  # checkpoint format version


class _Store:
    """Finished chunks on disk: `manifest.json` + `chunk-<start>-<stop>.npz` files."""

    def __init__(self, path: Path, fingerprint: dict):
        self.path = path
        self.fingerprint = fingerprint

    def open(self) -> None:
        from .. import io

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
        from .. import io

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
