"""JAX's persistent compilation cache, on by default for `meshjax run`, `bench` and tests.

A second process that compiles the same functions loads them from disk instead (the quick
start's compile time is most of its wall time on a CPU). The cache lives in the user's cache
folder (`$MESHJAX_CACHE_DIR`, else `$XDG_CACHE_HOME/meshjax/jax`, else
`~/.cache/meshjax/jax`); `MESHJAX_NO_COMPILATION_CACHE=1` turns it off.

The cache is bounded (least recently used entries go first; 4 GiB, or
`$MESHJAX_CACHE_MAX_BYTES`), and bounding it is also what makes JAX lock the folder
(`filelock`) around every read and write. Unbounded, JAX writes entries in place without a
lock, and a second process reading an entry while it is being written crashed with a
segmentation fault in our test runs (four test sessions sharing one cache); two
`meshjax run`s on one machine share the cache the same way.

`enable` also turns on the sweep's store of compiled chunk programs in `<cache>/programs`
(`meshjax/sweep/_programs.py`): JAX's cache skips compilation but still traces and lowers
every program to find its key; the program store skips those too for meshjax's own sweeps.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "enable"]


def cache_dir() -> Path | None:
    """Where the cache goes, or None when `MESHJAX_NO_COMPILATION_CACHE` is set."""
    if os.environ.get("MESHJAX_NO_COMPILATION_CACHE", "").strip() not in ("", "0"):
        return None
    explicit = os.environ.get("MESHJAX_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "meshjax" / "jax"


def enable() -> str | None:
    """Turns the persistent cache on (every compilation is cached); returns its folder."""
    path = cache_dir()
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: run without the cache
    import jax

    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _stamp_unstamped(path)
    jax.config.update("jax_compilation_cache_max_size", _max_bytes())
    from .sweep import _programs

    _programs.enable(path / "programs")
    return str(path)


def _stamp_unstamped(path: Path) -> None:
    """Gives entries written by an unbounded cache the access stamp a bounded one needs.

    A bounded cache reads `<key>-atime` for every `<key>-cache` when it evicts; entries
    from an unbounded cache (older meshjax, or plain JAX) have none, and eviction would fail.
    """
    import time

    stamp = time.time_ns().to_bytes(8, "little")
    try:
        for entry in path.glob("*-cache"):
            atime = entry.with_name(entry.name[: -len("-cache")] + "-atime")
            if not atime.exists():
                atime.write_bytes(stamp)
    except OSError:
        pass  # a read-only or vanishing entry: the cache still works for reads


def _max_bytes() -> int:
    return env_bytes("MESHJAX_CACHE_MAX_BYTES", _DEFAULT_MAX_BYTES)


def env_bytes(name: str, default: int) -> int:
    """A positive byte count from environment variable `name`, else `default`."""
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = default
    return value if value > 0 else default


_DEFAULT_MAX_BYTES = 4 * 2**30
