"""Host (NumPy) steps side by side: one shared thread pool.

NumPy's sorts, gathers and copies release the GIL, so host steps that do not depend on
each other (the graph assembly's row counts beside its sorts, the gather layout's
columns split by rows) run on separate cores. Measured on the 2-core CPU
(benchmarks/RESULTS.md): a BA graph of 10^6 nodes is assembled in 0.36 s instead of
0.45 s, with the same arrays bit for bit.

Host arrays that go to the device are allocated 64-byte aligned (`empty`): on the CPU
backend `jax.device_put` then aliases them instead of copying (a copy of 40 MB into fresh
pages took 16–18 ms here). JAX drops its reference to an aliased array only when its
deferred-release queue is drained, which every garbage-collector pass does (a
`gc.callbacks` hook); `release` runs one (a generation-0 pass, tens of µs), so the
assembly's temporaries are freed where they were before. Without it an earlier attempt
peaked at 35 instead of 27 bytes per slot at n = 10^7.

Tasks submitted here are leaves: they never wait on another task of the pool, so the pool
cannot deadlock however many callers share it; a caller that splits work keeps one part
for its own thread, and a task that splits its own work (`run_parts` on a pool thread)
runs every part itself.
"""

from __future__ import annotations

import functools
import gc
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

#: Work below this many elements stays on the calling thread (a task costs about 50 µs).
MIN_PARALLEL = 1 << 18


#: The alignment under which `jax.device_put` aliases a host array on the CPU backend.
ALIGN = 64


def empty(n: int, dtype) -> np.ndarray:
    """`np.empty(n, dtype)` starting on an `ALIGN`-byte boundary, so that a
    `jax.device_put` of it on the CPU backend is a view, not a copy. Do not write to
    it after the transfer: the device array would change with it."""
    dtype = np.dtype(dtype)
    nbytes = n * dtype.itemsize
    buf = np.empty(nbytes + ALIGN, np.uint8)
    off = -buf.ctypes.data % ALIGN
    return buf[off : off + nbytes].view(dtype)


def aligned(x, dtype) -> np.ndarray:
    """`x` (1-D) as `dtype` in an aligned array (`empty`; `x` itself where it already
    is one), so that its transfer to the CPU device is a view. Not to be written
    afterwards."""
    x = np.asarray(x)
    dtype = np.dtype(dtype)
    if x.dtype == dtype and x.flags.c_contiguous and x.ctypes.data % ALIGN == 0:
        return x
    out = empty(x.shape[0], dtype)
    out[:] = x
    return out


def release(arrays: list | None = None, timeout: float = 0.1) -> None:
    """Frees the host arrays of dropped device arrays that aliased them (`empty`): JAX
    releases them from a queue drained on every garbage-collector pass (a generation-0
    pass here). `arrays`: weak references to host arrays that should be freed now; a
    device array still in use by a computation that has just finished is let go a
    moment later, so the pass is repeated until they are gone, or for `timeout`
    seconds (a later pass frees them then)."""
    gc.collect(0)
    deadline = time.perf_counter() + timeout
    while any(r() is not None for r in arrays or ()):
        if time.perf_counter() > deadline:
            return  # freed by a later pass
        time.sleep(1e-4)
        gc.collect(0)


def threads() -> int:
    """Cores this process may use (its affinity where the OS tells it), at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    return max(1, min(8, n))


_PREFIX = "meshjax-host"  # the pool threads' names start with it


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads(), thread_name_prefix=_PREFIX)


if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads
    os.register_at_fork(after_in_child=_pool.cache_clear)


def submit(fn, /, *args) -> Future:
    """Runs `fn(*args)` on the host pool; `.result()` returns it or raises its error."""
    return _pool().submit(fn, *args)


def run_parts(fn, bounds) -> None:
    """`fn(bounds[i], bounds[i + 1])` for every part, the first on the calling thread
    and the others on the pool; returns when all are done (raises the first error).

    Called from a pool thread (a task that splits its own work) every part runs on
    that thread: waiting there for other tasks could leave every pool thread waiting
    on tasks that none is free to run."""
    if threading.current_thread().name.startswith(_PREFIX):
        for a, b in zip(bounds[:-1], bounds[1:]):
            fn(a, b)
        return
    rest = [submit(fn, a, b) for a, b in zip(bounds[1:-1], bounds[2:])]
    try:
        fn(bounds[0], bounds[1])
    finally:  # every part done (or failed) before returning or raising
        for f in rest:
            f.exception()
    for f in rest:
        f.result()


def split(fn, n: int) -> None:
    """`fn(a, b)` over `[0, n)` cut into equal parts, one per thread (one part below
    `2 * MIN_PARALLEL`)."""
    parts = max(1, min(threads(), n // MIN_PARALLEL))
    run_parts(fn, [n * i // parts for i in range(parts + 1)])
