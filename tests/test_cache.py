"""The persistent compilation cache: where it is, that it is bounded (hence locked)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, env: dict) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu", **env},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cache_is_bounded_locked_and_stamps_old_entries(tmp_path):
    old = tmp_path / "deadbeef-cache"
    old.write_bytes(b"x")  # an entry an unbounded cache wrote: no access stamp
    out = _run(
        "from meshjax import _cache; import jax, jax.numpy as jnp\n"
        "print(_cache.enable())\n"
        "print(jax.config.jax_compilation_cache_max_size)\n"
        "from meshjax.sweep import _programs; print(_programs._DIR)\n"
        "jax.jit(lambda x: x + 1)(jnp.ones(3)).block_until_ready()\n",
        {
            "MESHJAX_CACHE_DIR": str(tmp_path),
            "MESHJAX_CACHE_MAX_BYTES": "123456789",
            "MESHJAX_NO_COMPILATION_CACHE": "",
        },
    )
    path, size, programs = out.split()
    assert path == str(tmp_path) and int(size) == 123456789
    assert programs == str(tmp_path / "programs")  # the sweep's program store
    assert (tmp_path / "deadbeef-atime").exists()
    assert (tmp_path / ".lockfile").exists()  # JAX locks a bounded cache
    entries = list(tmp_path.glob("*-cache"))
    assert len(entries) >= 2  # the jit above was written


def test_cache_can_be_switched_off(tmp_path):
    out = _run(
        "from meshjax import _cache; print(_cache.enable())\n"
        "from meshjax.sweep import _programs; print(_programs._DIR)",
        {"MESHJAX_CACHE_DIR": str(tmp_path), "MESHJAX_NO_COMPILATION_CACHE": "1"},
    )
    assert out.split() == ["None", "None"] and not any(tmp_path.iterdir())
