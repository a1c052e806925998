"""Cooperative interruption: signals set a flag; long work checks it between chunks.

A Python signal handler that *raises* (the default `KeyboardInterrupt`) can fire while JAX
is inside XLA's runtime or while its worker threads still run, and the interpreter may then
tear down under them (a segmentation fault at exit was seen in 2 of 8 Ctrl-C's). So
`meshjax run` installs handlers that only record the signal; the sweep engine and the
experiments' progress lines call `check()` between chunks, which raises `Interrupted` at a
safe point, and the command writes `summary.json` (`interrupted`) and exits with
128 + the signal number (130 for SIGINT, 143 for SIGTERM, 141 for SIGPIPE). A second
signal while the first is pending stops the process at once (`os._exit`), for a user who
does not want to wait for the chunk in flight.
"""

from __future__ import annotations

import os
import signal

__all__ = [
    "Interrupted",
    "check",
    "install",
    "request",
    "requested",
    "reset",
    "restore",
]

_STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGPIPE")
_requested: int | None = None


class Interrupted(Exception):
    """Raised by `check()` once a stop signal has arrived; `signum` says which."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(f"stopped by {signal.Signals(self.signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _handler(signum, frame) -> None:  # runs in the main thread, between bytecodes
    global _requested
    if _requested is not None:
        os._exit(128 + signum)
    _requested = signum


def install() -> dict:
    """Installs the flag-setting handlers for SIGINT, SIGTERM and SIGPIPE (main thread).

    Returns the previous handlers, for `restore`.
    """
    previous = {}
    for name in _STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None:
            previous[sig] = signal.signal(sig, _handler)
    return previous


def restore(previous: dict) -> None:
    """Puts back the handlers `install` replaced."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def request(signum: int) -> None:
    """Records a stop request, as a signal would (used for a closed output pipe)."""
    global _requested
    if _requested is None:
        _requested = int(signum)


def requested() -> int | None:
    """The pending stop signal's number, or None."""
    return _requested


def reset() -> None:
    """Forgets a pending request (tests; a new run in the same process)."""
    global _requested
    _requested = None


def check() -> None:
    """Raises `Interrupted` if a stop signal has arrived; otherwise returns at once."""
    if _requested is not None:
        raise Interrupted(_requested)
