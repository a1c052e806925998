"""Host (NumPy) steps side by side: one shared thread pool.

NumPy's sorts, gathers and copies release the GIL, so host steps that do not depend on
each other (the graph assembly's row counts beside its sorts, the gather layout's
columns split by rows) run on separate cores; and host arrays allocated aligned
(`empty`) reach the CPU device without a copy (`jax.device_put` shares them).
Measured on the 2-core CPU (benchmarks/RESULTS.md): a BA graph of 10^6 nodes is
assembled in 0.37 s instead of 0.45 s, with the same arrays bit for bit.

Tasks submitted here are leaves: they never wait on another task of the pool, so the pool
cannot deadlock however many callers share it; a caller that splits work keeps one part
for its own thread.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

#: Work below this many elements stays on the calling thread (a task costs about 50 µs).
MIN_PARALLEL = 1 << 18


def threads() -> int:
    """Cores this process may use (its affinity where the OS tells it), at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    return max(1, min(8, n))


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="meshjax-host")


def submit(fn, /, *args) -> Future:
    """Runs `fn(*args)` on the host pool; `.result()` returns it or raises its error."""
    return _pool().submit(fn, *args)


#: XLA's CPU client takes a host buffer without copying when it is aligned to this.
_ALIGN = 64


def empty(shape, dtype) -> np.ndarray:
    """`np.empty`, aligned so that `jax.device_put` shares it instead of copying it.

    NumPy's large arrays start 16 bytes into their pages; XLA's CPU client copies those
    on `device_put` (about 0.02 s per 40 MB here, mostly first-touch page faults) and
    aliases 64-byte-aligned ones (no copy, no second allocation). So once transferred,
    the host array must not be written again (drop it).
    """
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    buf = np.empty(count * dtype.itemsize + _ALIGN, np.uint8)
    skip = -buf.ctypes.data % _ALIGN
    return buf[skip : skip + count * dtype.itemsize].view(dtype).reshape(shape)
