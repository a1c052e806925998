"""The sweep's store of compiled chunk programs (meshjax/sweep/_programs.py)."""

import functools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from meshjax.experiments import autocatalysis
from meshjax.sweep import Grid, _plan, _programs, sweep


def _jk(p=0.2):
    # A real meshjax sweep function (the autocatalysis experiment's Jain-Krishna run).
    return functools.partial(autocatalysis._jk_run, s=8, p=p, n_steps=20)


def _run(fn):
    table = sweep(fn, Grid(), key=3, replicas=4, chunk_size=4, progress=False)
    return {k: np.asarray(table[k]) for k in ("lambda1", "acs_size", "n_links")}


@pytest.fixture
def store(tmp_path, monkeypatch):
    folder = tmp_path / "programs"
    _programs.enable(folder)
    monkeypatch.setattr(_programs, "stats", {"loaded": 0, "stored": 0})
    _plan._CACHE.clear()
    yield folder
    _programs.disable()
    _plan._CACHE.clear()


def _no_tracing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("traced although the program was stored")

    monkeypatch.setattr(_plan._Plan, "_traced", refuse)


def test_a_stored_program_is_used_without_tracing_and_gives_the_same_bytes(
    store, monkeypatch
):
    first = _run(_jk())
    assert _programs.stats == {"loaded": 0, "stored": 1}
    assert len(list(store.glob("*.program"))) == 1
    _plan._CACHE.clear()  # as in a new process
    _no_tracing(monkeypatch)
    again = _run(_jk())
    assert _programs.stats["loaded"] == 1
    for k in first:
        assert first[k].tobytes() == again[k].tobytes()


def test_another_captured_value_is_another_program(store):
    _run(_jk(0.2))
    _plan._CACHE.clear()
    _run(_jk(0.3))
    assert _programs.stats == {"loaded": 0, "stored": 2}


def test_other_jax_result_settings_are_another_program(store):
    # the threefry layout changes every random draw: a program traced under one
    # setting must not serve a run under the other
    import jax

    first = _run(_jk())
    _plan._CACHE.clear()
    with jax.threefry_partitionable(not jax.config.jax_threefry_partitionable):
        other = _run(_jk())
    assert _programs.stats == {"loaded": 0, "stored": 2}
    assert any(first[k].tobytes() != other[k].tobytes() for k in first)


def test_functions_outside_meshjax_are_never_stored(store):
    def mine(key):  # a user's function (module tests.test_programs)
        return {"y": key}

    jk = _jk()
    sweep(lambda key: jk(key), Grid(), key=0, replicas=2, chunk_size=2, progress=False)
    assert _programs.stats["stored"] == 0
    assert not list(store.glob("*.program"))
    assert not _programs._ours(mine)
    assert _programs._ours(jk)


def test_a_damaged_entry_is_a_miss_and_is_rewritten(store, monkeypatch):
    first = _run(_jk())
    (entry,) = store.glob("*.program")
    entry.write_bytes(b"not a program")
    _plan._CACHE.clear()
    again = _run(_jk())
    assert _programs.stats == {"loaded": 0, "stored": 2}
    for k in first:
        assert first[k].tobytes() == again[k].tobytes()
    _plan._CACHE.clear()
    _no_tracing(monkeypatch)
    _run(_jk())
    assert _programs.stats["loaded"] == 1


def test_the_bound_removes_only_program_entries(store, monkeypatch):
    keep = store / "notes.txt"
    keep.write_text("a user's file")
    monkeypatch.setenv("MESHJAX_PROGRAM_CACHE_MAX_BYTES", "1")
    _run(_jk())
    assert _programs.stats["stored"] == 1
    assert not list(store.glob("*.program"))  # over the 1-byte bound: evicted
    assert keep.read_text() == "a user's file"


_SCRIPT = textwrap.dedent(
    """
    import functools, sys
    import numpy as np
    from meshjax import _cache
    from meshjax.experiments import autocatalysis
    from meshjax.sweep import Grid, _programs, sweep
    _cache.enable()  # JAX's persistent cache and the program store beside it
    fn = functools.partial(autocatalysis._jk_run, s=8, p=0.2, n_steps=20)
    t = sweep(fn, Grid(), key=3, replicas=4, chunk_size=4, progress=False)
    print(_programs.stats["loaded"], _programs.stats["stored"],
          np.asarray(t["lambda1"]).tobytes().hex())
    """
)


def _process(tmp_path, script=_SCRIPT):
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "MESHJAX_CACHE_DIR": str(tmp_path / "cache"),
        "MESHJAX_NO_COMPILATION_CACHE": "",
    }
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_a_second_process_loads_the_program(tmp_path):
    first, second = _process(tmp_path), _process(tmp_path)
    assert first[:2] == ["0", "1"]  # compiled and stored
    assert second[:2] == ["1", "0"]  # loaded, nothing compiled
    assert first[2] == second[2]  # the same bytes


def test_a_program_from_jax_cache_is_not_stored(tmp_path):
    # JAX 0.10.2 serializes an executable it loaded from its persistent cache without
    # some of its kernels ("Function ... not found" when the copy runs, or a segfault):
    # such a program must never reach the store.
    first = _process(tmp_path)
    assert first[:2] == ["0", "1"]
    for entry in (tmp_path / "cache" / "programs").glob("*.program"):
        entry.unlink()  # e.g. meshjax was updated: the store misses, JAX's cache hits
    again = _process(tmp_path)
    assert again[:2] == ["0", "0"]  # compiled from JAX's cache, not stored
    third = _process(tmp_path)
    assert third[:2] == ["0", "0"] and third[2] == first[2]


_LAPACK_SCRIPT = textwrap.dedent(
    """
    import functools
    import jax.numpy as jnp
    import numpy as np
    from meshjax import _cache
    from meshjax.experiments import mesh as E
    from meshjax.sweep import Grid, _programs, sweep
    _cache.enable()
    shared = {k: jnp.asarray(E.DEFAULTS[k], jnp.float32) for k in E._RATES}
    kw = dict(n_agents=64, n_steps=8, record_every=4, n_types=3, type_capacity=4, m=2,
              max_hops=4, raf_ops=E.DEFAULTS["raf_ops"], lambda2_every=1,
              lanczos_steps=8)
    fn = functools.partial(E._arms, rates=(0.0,), kw=kw)
    t = sweep(fn, Grid(n_points=1), key=0, shared=shared, chunk_size=1, microbatch=1,
              progress=False)
    print(_programs.stats["loaded"], _programs.stats["stored"],
          np.asarray(t["lambda2"]).tobytes().hex())
    """
)


def test_a_process_whose_first_lapack_call_is_a_stored_program(tmp_path):
    # jaxlib fills in its LAPACK kernels when a program using one is lowered; a stored
    # program is not lowered, and the mesh's Lanczos (eigvalsh) then segfaulted when it
    # was the first LAPACK user of the process (a resumed quick start, mesh part alone).
    first = _process(tmp_path, _LAPACK_SCRIPT)
    again = _process(tmp_path, _LAPACK_SCRIPT)
    assert first[:2] == ["0", "1"] and again[:2] == ["1", "0"]
    assert first[2] == again[2]
    assert not np.isnan(np.frombuffer(bytes.fromhex(first[2]), np.float32)).all()
