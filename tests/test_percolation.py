"""Eq. (2), eq. (3) and bond percolation on graphs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from meshjax import RESULTS, graph as G, percolation as P


def test_r0_mesh_formula_and_bad_input():
    np.testing.assert_allclose(P.r0_mesh(1000, 0.01, 0.5, 2.0), 2.5)
    np.testing.assert_allclose(P.r0_mesh(np.array([10, 20]), 0.1, 1.0, 1.0), [1.0, 2.0])
    with pytest.raises(ValueError, match="beta"):
        P.r0_mesh(10, 1.5, 1.0, 1.0)
    with pytest.raises(ValueError, match="attrition"):
        P.r0_mesh(10, 0.5, 1.0, 0.0)
    with pytest.raises(ValueError, match="n_nodes"):
        P.r0_mesh(-1, 0.5, 1.0, 1.0)
    with pytest.raises(ValueError, match="value"):
        P.r0_mesh(10, 0.5, float("nan"), 1.0)


def test_s_inf_matches_brentq_and_limits():
    r0 = np.array([0.0, 0.5, 1.0, 1.0 + 1e-6, 1.01, 1.5, 2.0, 4.0, 10.0])
    got = np.asarray(P.giant_component_fraction_theory(r0))
    for r, s in zip(r0, got):
        if r <= 1:
            assert s == 0.0
        else:
            lower = min(0.5, 0.5 * (r - 1) / r)  # excludes the trivial root S = 0
            ref = scipy.optimize.brentq(
                lambda x: x - 1 + math.exp(-r * x), lower, 1.0, xtol=1e-15
            )
            assert abs(s - ref) < 1e-10, (r, s, ref)
    # Near threshold S ~ 2(R0 - 1).
    assert abs(got[3] / 2e-6 - 1) < 1e-3


def test_s_inf_gradient_matches_finite_difference():
    grad = jax.vmap(jax.grad(P.giant_component_fraction_theory))
    r0 = jnp.array([0.5, 1.3, 2.0, 5.0])
    h = 1e-6
    fd = (
        P.giant_component_fraction_theory(r0 + h)
        - P.giant_component_fraction_theory(r0 - h)
    ) / (2 * h)
    np.testing.assert_allclose(grad(r0), fd, rtol=1e-6, atol=1e-9)
    assert float(grad(jnp.array([0.5]))[0]) == 0.0
    with pytest.raises(ValueError, match="r0"):
        P.giant_component_fraction_theory(-1.0)


def test_bond_percolation_symmetric_and_rate(getkey):
    g = G.erdos_renyi(getkey(), 5000, 8.0)
    mask = P.bond_percolation(getkey(), g, 0.3)
    m = np.asarray(mask)
    e = np.asarray(g.edge_ids)
    order = np.argsort(e, kind="stable")
    np.testing.assert_array_equal(m[order[0::2]], m[order[1::2]])
    assert not np.any(m & ~np.asarray(g.edge_mask))
    n_present = int(g.num_active_edges())
    frac = m.sum() / 2 / n_present
    assert abs(frac - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n_present)
    assert np.all(P.bond_percolation(getkey(), g, 1.0) == g.edge_mask)
    assert not np.any(P.bond_percolation(getkey(), g, 0.0))
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError, match="p"):
            P.bond_percolation(getkey(), g, bad)


def test_measured_giant_component_matches_eq3(getkey):
    # ER with <k> = 4 percolated at p in [0.375, 1]: R0 = p<k> in [1.5, 4].
    g = G.erdos_renyi(getkey(), 100_000, 4.0)
    ps = jnp.linspace(0.375, 1.0, 6)
    out = P.giant_fraction_sweep(getkey(), g, ps, replicas=2)
    assert isinstance(out, P.PercolationSweep) and out.status == RESULTS.successful
    assert out.s_measured.shape == (6, 2)
    diff = np.abs(np.asarray(out.s_measured) - np.asarray(out.s_theory)[:, None])
    assert diff.max() < 0.01, diff


def _s_reference(r):
    """S and dS/dR0 in float64 by bisection on the inverse relation R0 = -ln(1-S)/S."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid < 0.3:
            excess = sum(mid**k / (k + 1) for k in range(1, 80))
        else:
            excess = -math.log1p(-mid) / mid - 1
        lo, hi = (mid, hi) if excess < r - 1 else (lo, mid)
    s = 0.5 * (lo + hi)
    return s, s * (1 - s) / ((1 - r) + r * s)


def test_s_inf_near_threshold_float32():
    # issue 12: in float32, S(1.0001) was -1.3e-4 with zero gradient, and 70x too large
    # at 1 + 1e-6; now value and gradient match a float64 reference to float32 accuracy.
    r0 = np.array([1 + 1e-6, 1.0001, 1.001, 1.01, 1.3, 2.0, 3.0, 10.0], np.float32)
    x = jnp.asarray(r0)
    got = np.asarray(P.giant_component_fraction_theory(x))
    grad = np.asarray(jax.vmap(jax.grad(P.giant_component_fraction_theory))(x))
    assert got.dtype == np.float32
    for r, s, ds in zip(r0.astype(float), got, grad):
        s_ref, ds_ref = _s_reference(r)
        assert abs(s / s_ref - 1) < 1e-6, (r, s, s_ref)
        assert abs(ds / ds_ref - 1) < 1e-4, (r, ds, ds_ref)


def test_traced_r0_out_of_domain_is_nan():
    f = jax.jit(P.giant_component_fraction_theory)
    assert np.isnan(f(-1.0)) and np.isnan(f(jnp.nan))
    assert float(f(2.0)) > 0.79


def test_sweep_replicas_must_be_positive(getkey):
    # issue 12: replicas <= 0 returned empty arrays
    g = G.erdos_renyi(getkey(), 100, 4.0)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="replicas"):
            P.giant_fraction_sweep(getkey(), g, [0.5], replicas=bad)


def test_seed_and_legacy_key_accepted():
    g = G.erdos_renyi(jax.random.key(0), 50, 4.0)
    a = P.bond_percolation(3, g, 0.5)
    b = P.bond_percolation(jax.random.key(3), g, 0.5)
    c = P.bond_percolation(jax.random.PRNGKey(3), g, 0.5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_traced_bad_p_is_reported(getkey):
    g = G.erdos_renyi(getkey(), 50, 4.0)
    out = jax.jit(lambda p: P.giant_fraction_sweep(0, g, p))(1.5)
    assert out.status == RESULTS.invalid_parameter
    assert np.isnan(np.asarray(out.s_measured)).all()
    with pytest.raises(RuntimeError, match="p"):
        jax.jit(lambda p: P.bond_percolation(0, g, p))(1.5).block_until_ready()


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_p_is_refused(dtype, getkey):
    # audit: float16 uniforms are multiples of 2**-10, so p = 1e-4 kept 1.07e-3 of the
    # edges of an ER graph (10.7x too many); bfloat16 was already refused
    g = G.erdos_renyi(getkey(), 200, 5.0)
    with pytest.raises(TypeError, match="`p`"):
        P.bond_percolation(getkey(), g, jnp.asarray(1e-4, dtype))
    with pytest.raises(TypeError, match="`p`"):
        jax.jit(lambda p: P.bond_percolation(1, g, p))(jnp.asarray(1e-4, dtype))
    with pytest.raises(TypeError, match="`ps`"):
        P.giant_fraction_sweep(getkey(), g, jnp.asarray([1e-4, 0.5], dtype))
    assert P.bond_percolation(getkey(), g, np.float32(0.5)).dtype == bool
