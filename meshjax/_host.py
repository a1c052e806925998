"""Host (NumPy) steps side by side: one shared thread pool.

NumPy's sorts, gathers and copies release the GIL, so host steps that do not depend on
each other (the graph assembly's row counts beside its sorts, the gather layout's
columns split by rows) run on separate cores. Measured on the 2-core CPU
(benchmarks/RESULTS.md): a BA graph of 10^6 nodes is assembled in 0.36 s instead of
0.45 s, with the same arrays bit for bit.

Not done, measured: host arrays allocated 64-byte aligned reach the CPU device without a
copy, but JAX then keeps them in a reference cycle after the device array is dropped
(freed only by the cyclic garbage collector): at n = 10^7 the generation peaked at 35
instead of 27 bytes per slot, for no time gained at 10^6.

Tasks submitted here are leaves: they never wait on another task of the pool, so the pool
cannot deadlock however many callers share it; a caller that splits work keeps one part
for its own thread.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import Future, ThreadPoolExecutor

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


if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads
    os.register_at_fork(after_in_child=_pool.cache_clear)


def submit(fn, /, *args) -> Future:
    """Runs `fn(*args)` on the host pool; `.result()` returns it or raises its error."""
    return _pool().submit(fn, *args)


def run_parts(fn, bounds) -> None:
    """`fn(bounds[i], bounds[i + 1])` for every part, the first on the calling thread
    and the others on the pool; returns when all are done (raises the first error)."""
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
