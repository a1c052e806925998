"""Progress lines of a running sweep (stderr or a callable), at most one a second."""

from __future__ import annotations

import functools
import math
import sys
import time
from collections.abc import Callable

import jax

_PROGRESS_EVERY = 1.0  # seconds between progress lines


def _short_name(fn) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", type(fn).__name__)


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
