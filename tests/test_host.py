"""The host thread pool (`meshjax._host`)."""

import os
import time
import warnings

import numpy as np
import pytest

from meshjax import _host


def test_pool_returns_results_and_raises_errors():
    assert [_host.submit(pow, 2, k).result() for k in range(5)] == [1, 2, 4, 8, 16]
    with pytest.raises(ZeroDivisionError):
        _host.submit(divmod, 1, 0).result()
    assert 1 <= _host.threads() <= 8


def test_pool_works_in_a_forked_child():
    """A child forked after the pool started has none of its threads: it gets a new pool
    (else its first task would wait forever)."""
    assert _host.submit(int, 1).result() == 1  # the parent's pool is running
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JAX warns that fork and threads do not mix
        pid = os.fork()
    if pid == 0:  # the child: no JAX here, only the pool
        try:
            code = 0 if _host.submit(int, 2).result(timeout=30) == 2 else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_row_counts_counted_in_parts_equal_one_count():
    """The assembly's second thread counts each row's upper and lower neighbours in
    parts (more than 2^20 pairs: several); the counts and `receivers` equal one count."""
    from meshjax.graph._graph import _row_slots

    rng = np.random.default_rng(3)
    n, m = 97, (1 << 21) + 5
    src = rng.integers(0, n, m).astype(np.int32)
    dst = rng.integers(0, n, m).astype(np.int32)
    ends = [src, dst]
    n_up, n_low, receivers = _row_slots(ends, n, False)
    assert ends == []  # emptied, so that the caller's pairs can be freed
    np.testing.assert_array_equal(n_up, np.bincount(np.minimum(src, dst), minlength=n))
    np.testing.assert_array_equal(n_low, np.bincount(np.maximum(src, dst), minlength=n))
    want = np.repeat(
        np.arange(n), np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    )
    np.testing.assert_array_equal(receivers, want)
    empty = _row_slots([src[:0], dst[:0]], n, True)
    assert empty[0].sum() == empty[1].sum() == 0 and empty[2].shape == (0,)


def test_split_covers_every_index_once_and_waits_for_every_part():
    n = 3 * _host.MIN_PARALLEL + 7  # several parts on a multi-core host
    hits = np.zeros(n, np.int32)

    def mark(a, b):
        hits[a:b] += 1

    _host.split(mark, n)
    assert np.all(hits == 1)
    _host.split(mark, 5)  # below the threshold: one part, this thread
    assert np.all(hits[:5] == 2) and np.all(hits[5:] == 1)
    done = []

    def fail_first(a, b):
        if a == 0:
            raise ValueError("part 0")
        time.sleep(0.2)  # still running when the first part fails
        done.append(b)

    with pytest.raises(ValueError, match="part 0"):
        _host.run_parts(fail_first, [0, 1, 2, 3])
    assert sorted(done) == [2, 3]  # the other parts finished before the error rose


@pytest.mark.parametrize("dtype", [np.int32, np.uint64, np.uint8])
@pytest.mark.parametrize("n", [0, 1, 1000, 12345])
def test_aligned_arrays_reach_the_cpu_device_as_views_and_are_released(n, dtype):
    """`_host.empty` starts on an `ALIGN` boundary, so that its transfer to the CPU
    device is a view; once the device array is dropped, `release` frees the host
    memory (JAX holds it until its deferred-release queue is drained)."""
    import gc
    import weakref

    import jax

    x = _host.empty(n, dtype)
    assert x.shape == (n,) and x.dtype == dtype and x.flags.c_contiguous
    assert n == 0 or x.ctypes.data % _host.ALIGN == 0  # (empty: no data to align)
    x[:] = np.arange(n) % 251
    with jax.enable_x64(True):
        y = jax.device_put(x)
    np.testing.assert_array_equal(np.asarray(y), np.arange(n) % 251)
    assert y.dtype == dtype
    if jax.default_backend() == "cpu" and n:
        assert np.shares_memory(np.asarray(y), x)  # no copy
    owner = weakref.ref(x.base)  # the buffer `x` views
    was_enabled = gc.isenabled()
    gc.disable()  # no automatic pass between the two checks below
    try:
        del x, y
        _host.release()
        assert owner() is None
    finally:
        if was_enabled:
            gc.enable()


def test_split_inside_pool_tasks_does_not_wait_on_the_pool():
    """Tasks that split their own work, as many as the pool has threads: each runs its
    parts itself (else every pool thread would wait on parts none is free to run)."""
    n = 4 * _host.MIN_PARALLEL

    def task():
        seen = np.zeros(n, np.int64)

        def fill(a, b):
            seen[a:b] += 1

        _host.split(fill, n)
        _host.run_parts(fill, [0, 5, 9, n])
        return seen

    futures = [_host.submit(task) for _ in range(_host.threads())]
    for f in futures:
        np.testing.assert_array_equal(f.result(timeout=60), 2)


def test_aligned_copies_only_what_is_not_aligned_already():
    x = _host.empty(1000, np.int32)
    x[:] = np.arange(1000)
    assert _host.aligned(x, np.int32) is x  # already aligned, same dtype: no copy
    for src in (np.arange(1000, dtype=np.int64), x[1:], x.reshape(500, 2)[:, 0]):
        y = _host.aligned(src, np.int32)
        assert y.dtype == np.int32 and y.ctypes.data % _host.ALIGN == 0
        assert not np.shares_memory(y, x)
        np.testing.assert_array_equal(y, src)
