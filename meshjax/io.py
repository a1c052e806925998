"""Results on disk: atomic writes, tidy CSV tables, JSON, NumPy chunks, run folders.

Every writer here writes a temporary file in the target's folder and moves it into place
with `os.replace`, so a reader (or a resumed run) never sees half a file.
"""

from __future__ import annotations

import contextlib
import csv
import io as _io
import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "MARKER",
    "RunFolder",
    "read_csv",
    "save_npz",
    "write_bytes",
    "write_csv",
    "write_json",
    "write_text",
]


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Writes `data` to `path` atomically (temporary file, fsync, `os.replace`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Writes UTF-8 `text` to `path` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Writes `obj` as indented JSON atomically (NumPy scalars/arrays converted)."""
    return write_text(path, json.dumps(_jsonable(obj), indent=2) + "\n")


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Writes arrays as an uncompressed `.npz` atomically."""
    buf = _io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return write_bytes(path, buf.getvalue())


def write_csv(
    path: str | os.PathLike,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
) -> Path:
    """Writes row dicts as CSV atomically: header, then one line per row.

    Args:
      path: Target file.
      rows: Row dicts with the same keys (values: numbers, bools, strings, None).
      columns: Column order; default the keys of the first row, then any new keys in
        order of appearance.

    Floats are written as the shortest text that round-trips at their own precision
    (a NumPy float32 0.05 as `0.05`, not `0.05000000074505806`; Python floats with
    `repr`); None as an empty cell.

    Raises:
      ValueError: a row has a key not in `columns`.
    """
    if columns is None:
        columns = []
        for r in rows:
            for k in r:
                if k not in columns:
                    columns.append(k)
    columns = list(columns)
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    allowed = set(columns)
    for i, r in enumerate(rows):
        extra = set(r) - allowed
        if extra:
            raise ValueError(f"row {i} has columns {sorted(extra)} not in {columns}")
        w.writerow([_cell(r.get(c)) for c in columns])
    return write_text(path, buf.getvalue())


def read_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Reads a CSV written by `write_csv`: ints, floats and true/false parsed back."""
    with open(path, newline="") as f:
        return [{k: _parse(v) for k, v in r.items()} for r in csv.DictReader(f)]


MARKER = ".meshjax-run"  # every folder `meshjax run` creates carries this file
LOCK = ".meshjax-lock"  # held (flock) by the run writing into `<out>.partial/`


class RunFolder:
    """An output folder that only looks complete once the run finished.

    The run writes into `<out>.partial/`; `commit()` renames it to `<out>`. A crashed or
    interrupted run leaves only `<out>.partial/` (which a rerun with the same resolved
    config resumes: its checkpoints are kept). Both carry the marker file `MARKER`;
    meshjax never deletes or replaces a folder without it, whatever the options. The run
    holds a lock on `<out>.partial/` (the file `LOCK`, removed at commit), so a second
    run of the same `--out` (a resubmitted batch job) is refused while the first one
    writes, rather than writing into its folder.

    Args:
      out: The final folder.
      force: Replace an existing complete `<out>` (only one meshjax made), or an
        existing `<out>.partial/` of another config.

    Raises:
      FileExistsError: `<out>` exists and `force` is False, or `<out>` / `<out>.partial`
        exists without the marker (meshjax did not make it), or `<out>` is a file, the
        current folder or one above it.
    """

    def __init__(self, out: str | os.PathLike, *, force: bool = False):
        self.out = Path(out)
        resolved = self.out.resolve()
        cwd = Path.cwd().resolve()
        if self.out.name in ("", ".", ".."):
            raise FileExistsError(
                f"--out {out} does not end in a folder name; name the run's folder "
                "itself (e.g. runs/<name>)"
            )
        if resolved in (cwd, *cwd.parents):
            raise FileExistsError(
                f"--out {out} is the current folder or one above it; name a new "
                "folder for the run (e.g. runs/<name>)"
            )
        self.partial = self.out.with_name(self.out.name + ".partial")
        for path in (self.out, self.partial):
            if path.exists() and not path.is_dir():
                raise FileExistsError(
                    f"--out: {path} exists and is not a folder; choose another --out"
                )
        if self.out.exists():
            if not force:
                raise FileExistsError(
                    f"output folder {self.out} already exists; choose another "
                    "--out or pass --force to replace it"
                )
            _require_marker(self.out, "replace")
        if self.partial.exists():
            _require_marker(self.partial, "resume or replace")
        self.force = force

    def prepare(self, config_text: str) -> bool:
        """Creates `<out>.partial/`; True if it resumes an earlier attempt.

        An earlier `<out>.partial/` with the same resolved config is kept (resume,
        True); one with another config is replaced only with `force` (else
        `FileExistsError`).
        """
        cfg = self.partial / "config.toml"
        if self.partial.exists():
            self._lock()
            if cfg.exists() and cfg.read_text() == config_text:
                return True
            if not self.force:
                self._unlock()
                raise FileExistsError(
                    f"{self.partial} holds an unfinished run of another config; rerun "
                    "that config to resume it, pass --force to replace it, or choose "
                    "another --out"
                )
            self._unlock()
            shutil.rmtree(self.partial)
        self.partial.mkdir(parents=True)
        self._lock()
        write_text(
            self.partial / MARKER, "made by `meshjax run`; safe for it to replace\n"
        )
        write_text(cfg, config_text)
        return False

    def _lock(self) -> None:
        import filelock

        lock = filelock.FileLock(str(self.partial / LOCK), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise FileExistsError(
                f"{self.partial} is being written by another meshjax run (it holds "
                f"{LOCK}); wait for it to finish, or choose another --out"
            ) from None
        except NotImplementedError:  # a file system without locks (older filelock)
            lock = None
        self._held = lock

    def _unlock(self) -> None:
        lock = getattr(self, "_held", None)
        if lock is not None:
            lock.release()
            self._held = None

    def commit(self) -> Path:
        """Moves `<out>.partial/` to `<out>` (replaced if `force`); returns `<out>`."""
        if self.out.exists():
            if not self.force:
                raise FileExistsError(
                    f"output folder {self.out} appeared during the run"
                )
            _require_marker(self.out, "replace")
            shutil.rmtree(self.out)
        os.replace(self.partial, self.out)
        self._unlock()
        with contextlib.suppress(OSError):
            (self.out / LOCK).unlink()
        return self.out


def _require_marker(path: Path, action: str) -> None:
    if not (path / MARKER).is_file():
        raise FileExistsError(
            f"{path} was not made by `meshjax run` (no {MARKER} file); refusing to "
            f"{action} it. Choose another --out"
        )


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, np.generic) and not isinstance(v, np.floating):
        v = v.item()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, np.floating):
        return str(v)  # shortest text that round-trips at the value's own precision
    if isinstance(v, float):
        return repr(v)
    return v


def _parse(s: str) -> Any:
    if s == "":
        return None
    if s in ("true", "false"):
        return s == "true"
    for conv in (int, float):
        try:
            return conv(s)
        except ValueError:
            pass
    return s


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)  # JSON has no NaN/inf
    if isinstance(obj, Path):
        return str(obj)
    return obj
