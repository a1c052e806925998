"""JAX's persistent compilation cache, on by default for `meshjax run`, `bench` and tests.

A second process that compiles the same functions loads them from disk instead (the quick
start's compile time is most of its wall time on a CPU). The cache lives in the user's cache
folder (`$MESHJAX_CACHE_DIR`, else `$XDG_CACHE_HOME/meshjax/jax`, else
`~/.cache/meshjax/jax`); `MESHJAX_NO_COMPILATION_CACHE=1` turns it off.
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
    return str(path)
