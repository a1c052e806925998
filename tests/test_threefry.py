"""The unrolled CPU threefry (`meshjax._threefry`): JAX's bits, in one fusion."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.extend.random import threefry2x32_p

import meshjax.graph  # noqa: F401  (importing a model installs it)
from meshjax import _threefry


def _threefry_np(k0, k1, x0, x1):
    """Threefry-2x32, 20 rounds (Salmon et al. 2011), in NumPy uint32."""
    rot = ((13, 15, 26, 6), (17, 29, 16, 24))
    ks = (np.uint32(k0), np.uint32(k1), np.uint32(k0 ^ k1 ^ 0x1BD11BDA))
    x0 = (x0 + ks[0]).astype(np.uint32)
    x1 = (x1 + ks[1]).astype(np.uint32)
    for i in range(5):
        for r in rot[i % 2]:
            x0 = x0 + x1
            x1 = (x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))
            x1 = x1 ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def test_installed_on_the_cpu_as_one_fusion():
    assert _threefry.installed()
    hlo = jax.jit(lambda k: jr.bits(k, (64,))).lower(jr.key(0)).as_text()
    assert "while" not in hlo


def test_known_answers():
    # Random123's known-answer vectors for threefry2x32_20
    cases = [
        ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ]
    for (k0, k1), (c0, c1), want in cases:
        u = jnp.uint32
        got = jax.jit(threefry2x32_p.bind)(u(k0), u(k1), u(c0), u(c1))
        assert tuple(int(g) for g in got) == want
        one = [np.array([c0], np.uint32), np.array([c1], np.uint32)]
        ref = _threefry_np(k0, k1, *one)
        assert tuple(int(r[0]) for r in ref) == want


def test_draws_match_a_numpy_threefry():
    for seed in (0, 7):
        key = jr.key(seed)
        k0, k1 = (int(v) for v in np.asarray(jr.key_data(key)))
        n = 10_001
        got = np.asarray(jax.jit(lambda k: jr.bits(k, (n,), jnp.uint32))(key))
        idx = np.arange(n, dtype=np.uint32)
        b1, b2 = _threefry_np(k0, k1, np.zeros(n, np.uint32), idx)
        np.testing.assert_array_equal(got, b1 ^ b2)


def test_the_environment_variable_leaves_jax_alone(monkeypatch):
    monkeypatch.setattr(_threefry, "_installed", False)
    monkeypatch.setenv("MESHJAX_ROLLED_THREEFRY", "1")
    assert _threefry.install() is False
    assert _threefry.installed() is False
