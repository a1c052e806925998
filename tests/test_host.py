"""The host thread pool (`meshjax._host`)."""

import os
import warnings

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
