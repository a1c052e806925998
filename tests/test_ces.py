import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from meshjax import ces

RNG = np.random.default_rng(0)
RHOS = [0.9, 0.5, 0.1, 1e-3, 1e-6, -1e-6, -0.5, -2.0, -20.0]


def _np_power_mean(c, rho):
    c = np.asarray(c, float)
    return np.mean(c**rho, axis=-1) ** (1.0 / rho)


@pytest.mark.parametrize("rho", RHOS)
def test_aggregate_matches_numpy(rho):
    c = RNG.uniform(0.2, 3.0, (7, 6))
    got = ces.ces_aggregate(c, rho)
    np.testing.assert_allclose(got, _np_power_mean(c, rho), rtol=1e-9)
    if abs(rho) >= 0.1:  # otherwise J^(1/rho) overflows
        got_u = ces.ces_aggregate(c, rho, normalized=False)
        np.testing.assert_allclose(
            got_u, np.sum(c**rho, axis=-1) ** (1 / rho), rtol=1e-9
        )
        # the conventions differ by J^(1/rho), the same for every vector
        np.testing.assert_allclose(got_u / got, 6 ** (1 / rho), rtol=1e-9)


def test_axis_and_broadcast_rho():
    c = RNG.uniform(0.5, 2.0, (5, 4))
    rho = np.array([-1.0, 0.5, 0.0, -np.inf])
    got = ces.ces_aggregate(c, rho, axis=0)
    want = [
        _np_power_mean(c[:, 0], -1.0),
        _np_power_mean(c[:, 1], 0.5),
        scipy.stats.gmean(c[:, 2]),
        c[:, 3].min(),
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_limit_rho_to_zero_is_geometric_mean():
    c = RNG.uniform(0.1, 10.0, (5, 8))
    g = scipy.stats.gmean(c, axis=-1)
    np.testing.assert_allclose(ces.ces_aggregate(c, 0.0), g, rtol=1e-14)
    for rho in (1e-12, -1e-12, 1e-8, -1e-8):
        np.testing.assert_allclose(ces.ces_aggregate(c, rho), g, rtol=1e-7)
    # the approach is first order with slope Var(log C)/2
    rho = 1e-4
    var = np.var(np.log(c), axis=-1)
    np.testing.assert_allclose(
        np.log(ces.ces_aggregate(c, rho)) - np.log(g), rho * var / 2, rtol=1e-3
    )


def test_limit_rho_to_minus_infinity_is_min():
    c = RNG.uniform(0.1, 10.0, (5, 8))
    np.testing.assert_allclose(ces.ces_aggregate(c, -np.inf), c.min(-1), rtol=0)
    np.testing.assert_allclose(
        ces.ces_aggregate(c, -np.inf, normalized=False), c.min(-1), rtol=0
    )
    # M_rho -> min from above; within a factor J^(-1/rho) of it
    for rho in (-50.0, -500.0, -1e5):
        m = np.asarray(ces.ces_aggregate(c, rho))
        assert np.all(m >= c.min(-1) * (1 - 1e-12))
        assert np.all(m <= c.min(-1) * 8 ** (-1 / rho) * (1 + 1e-12))


def test_zero_entries():
    c = np.array([0.0, 1.0, 4.0])
    np.testing.assert_allclose(ces.ces_aggregate(c, 0.5), _np_power_mean(c, 0.5))
    np.testing.assert_allclose(
        ces.ces_aggregate(c, 1e-7),
        ((1 + 1) / 3) ** 1e7 * 0 + (np.mean(c**1e-7) ** 1e7),
        rtol=1e-6,
    )
    for rho in (0.0, -0.5, -np.inf):
        assert float(ces.ces_aggregate(c, rho)) == 0.0
    assert float(ces.ces_aggregate(np.zeros(3), 0.5)) == 0.0


@pytest.mark.parametrize("J", [2, 5, 10])
@pytest.mark.parametrize("rho", [0.9, 0.5, 0.2])
@pytest.mark.parametrize("normalized", [True, False])
def test_diversity_premium_identity(J, rho, normalized):
    total = 7.0
    equal = ces.ces_aggregate(np.full(J, total / J), rho, normalized=normalized)
    conc = ces.ces_aggregate(np.r_[total, np.zeros(J - 1)], rho, normalized=normalized)
    np.testing.assert_allclose(equal / conc, J ** ((1 - rho) / rho), rtol=1e-10)
    np.testing.assert_allclose(
        ces.diversity_premium(J, rho), J ** ((1 - rho) / rho), rtol=1e-12
    )


@pytest.mark.parametrize("rho", [0.0, -0.5, -np.inf])
def test_diversity_premium_infinite_for_nonpositive_rho(rho):
    # a zero input annihilates the CES for rho <= 0, so the concentrated case is 0
    assert float(ces.ces_aggregate(np.array([3.0, 0.0, 0.0]), rho)) == 0.0
    assert np.isinf(ces.diversity_premium(3, rho))


def test_lemma_41_equal_allocation_maximises():
    rng = np.random.default_rng(0)
    shares = rng.dirichlet(np.ones(5), 200)
    for rho in (0.7, 0.3, -1.0):
        vals = np.asarray(ces.ces_aggregate(10 * shares, rho, normalized=False))
        best = float(ces.ces_aggregate(np.full(5, 2.0), rho, normalized=False))
        assert np.all(vals <= best * (1 + 1e-12))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_gradients_finite_everywhere(dtype):
    c = jnp.asarray(RNG.uniform(0.05, 20.0, 6), dtype)
    f = lambda c, r: ces.ces_aggregate(c, r)
    g = jax.jit(jax.grad(f, argnums=(0, 1)))
    for rho in [0.999, 0.5, 1e-3, 1e-7, 0.0, -1e-7, -1.0, -30.0, -1e4, -np.inf]:
        gc, gr = g(c, jnp.asarray(rho, dtype))
        assert gc.dtype == dtype
        assert np.all(np.isfinite(gc)) and np.isfinite(gr), rho
        np.testing.assert_allclose(
            np.sum(gc), 1.0 if np.isinf(rho) else np.sum(gc), rtol=1e-5
        )
    # at rho = 0 the rho-derivative is Var(log C)/2 * geometric mean (finite difference)
    c64 = np.asarray(c, float)
    gm = scipy.stats.gmean(c64)
    g64 = jax.jit(jax.grad(f, argnums=(0, 1)))
    _, gr0 = g64(jnp.asarray(c64), jnp.asarray(0.0))
    np.testing.assert_allclose(gr0, gm * np.var(np.log(c64)) / 2, rtol=1e-10)
    # dC/dc_j = C^(1-rho) c_j^(rho-1) / J (normalised), checked at rho = 0.5
    gc, _ = g64(jnp.asarray(c64), jnp.asarray(0.5))
    C = _np_power_mean(c64, 0.5)
    np.testing.assert_allclose(gc, C**0.5 * c64 ** (-0.5) / 6, rtol=1e-10)


def test_float32_stays_float32():
    c = jnp.asarray([1.0, 2.0, 3.0], jnp.float32)
    assert ces.ces_aggregate(c, 0.5).dtype == jnp.float32
    np.testing.assert_allclose(
        ces.ces_aggregate(c, 1e-5), _np_power_mean([1, 2, 3], 1e-5), rtol=1e-6
    )


def test_curvature():
    np.testing.assert_allclose(ces.curvature(0.5, 4), 0.5 * 3 / 4)
    np.testing.assert_allclose(ces.curvature(np.array([0.0, -1.0]), 2), [0.5, 1.0])


def test_centralized_capability_eq8():
    for rho in (0.5, -1.0):
        got = ces.centralized_capability(10, 3.0, 4, rho)
        np.testing.assert_allclose(got, 4 ** ((1 - rho) / rho) * 30.0, rtol=1e-12)
        direct = ces.ces_aggregate(np.full(4, 30.0 / 4), rho, normalized=False)
        np.testing.assert_allclose(got, direct, rtol=1e-12)
        np.testing.assert_allclose(
            ces.centralized_capability(10, 3.0, 4, rho, normalized=True), 7.5
        )
    np.testing.assert_allclose(ces.centralized_capability(10, 3.0, 4, -np.inf), 7.5)
    # no units: 0, also where J^(1/rho) overflows (0 * inf was NaN)
    assert float(ces.centralized_capability(0, 1.0, 2, 1e-4)) == 0.0
    assert float(ces.centralized_capability(3, 0.0, 2, 1e-4)) == 0.0
    assert np.isinf(ces.centralized_capability(3, 1.0, 2, 1e-4))


def test_mesh_capability_eq15():
    c = RNG.random((50, 4))
    members = RNG.random(50) < 0.6
    got = ces.mesh_capability(c, 0.4, members=members)
    C = (c * members[:, None]).sum(0)
    np.testing.assert_allclose(got, np.sum(C**0.4) ** (1 / 0.4), rtol=1e-12)
    batched = ces.mesh_capability(np.stack([c, 2 * c]), 0.4)
    np.testing.assert_allclose(batched[1], 2 * batched[0], rtol=1e-12)


def test_critical_mass_eq16():
    base = ces.critical_mass(100, 10.0, 2.0, 0.8)
    np.testing.assert_allclose(base, 100 * 10.0 / (0.8 * 2.0))
    J, rho = 5, 0.5
    even = ces.critical_mass(100, 10.0, 2.0, 0.8, shares=np.full(J, 1 / J), rho=rho)
    np.testing.assert_allclose(even, base, rtol=1e-12)
    # N* is where C_mesh(N) = S N cbar * CES(shares) equals C_cent (both conventions)
    shares = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
    n_star = float(ces.critical_mass(100, 10.0, 2.0, 0.8, shares=shares, rho=rho))
    assert n_star > float(base)
    for normalized in (True, False):
        c_mesh = ces.ces_aggregate(
            0.8 * n_star * 2.0 * shares, rho, normalized=normalized
        )
        c_cent = ces.centralized_capability(100, 10.0, J, rho, normalized=normalized)
        np.testing.assert_allclose(c_mesh, c_cent, rtol=1e-10)
    # the printed middle expression of (16) (extra 1/J) would give J times the N*
    c_mesh_printed = J ** ((1 - rho) / rho) * 0.8 * float(base) * 2.0 / J
    c_cent = float(ces.centralized_capability(100, 10.0, J, rho))
    assert math.isclose(c_mesh_printed * J, c_cent, rel_tol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ces.ces_aggregate([1.0, 2.0], 1.0),
        lambda: ces.ces_aggregate([1.0, 2.0], 1.5),
        lambda: ces.ces_aggregate([1.0, 2.0], np.nan),
        lambda: ces.ces_aggregate([1.0, 2.0], 0.0, normalized=False),
        lambda: ces.ces_aggregate([1.0], 0.5),
        lambda: ces.ces_aggregate([1.0, -2.0], 0.5),
        lambda: ces.ces_aggregate([1.0, np.inf], 0.5),
        lambda: ces.curvature(1.0, 3),
        lambda: ces.curvature(0.5, 1),
        lambda: ces.curvature(-np.inf, 3),
        lambda: ces.diversity_premium(1, 0.5),
        lambda: ces.diversity_premium(3, 1.0),
        lambda: ces.centralized_capability(-1, 1.0, 3, 0.5),
        lambda: ces.centralized_capability(1, -1.0, 3, 0.5),
        lambda: ces.centralized_capability(1, 1.0, 1, 0.5),
        lambda: ces.centralized_capability(1, 1.0, 3, 0.0),
        lambda: ces.mesh_capability(np.ones((3, 1)), 0.5),
        lambda: ces.mesh_capability(-np.ones((3, 2)), 0.5),
        lambda: ces.mesh_capability(np.ones(3), 0.5),
        lambda: ces.mesh_capability(np.ones((3, 2)), 0.5, members=np.ones(2, bool)),
        lambda: ces.critical_mass(0, 1.0, 1.0, 0.5),
        lambda: ces.critical_mass(1, 1.0, 1.0, 1.5),
        lambda: ces.critical_mass(1, 1.0, 1.0, 0.5, shares=[0.5, 0.6], rho=0.5),
        lambda: ces.critical_mass(1, 1.0, 1.0, 0.5, shares=[0.5, 0.5]),
        lambda: ces.critical_mass(1, 1.0, 1.0, 0.5, shares=[1.0], rho=0.5),
        lambda: ces.critical_mass(1, 1.0, 1.0, 0.5, shares=[0.5, 0.5], rho=-np.inf),
        lambda: ces.critical_mass(1, 1.0, 1.0, 0.5, rho=0.5),
        lambda: ces.ces_aggregate(np.ones((3, 2)), 0.5, axis=2),
        lambda: ces.ces_aggregate(np.ones((3, 2)), 0.5, axis=-3),
        lambda: ces.curvature(0.5, 2.5),
    ],
)
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_bad_type():
    with pytest.raises(TypeError, match="J"):
        ces.curvature(0.5, "3")
    with pytest.raises(TypeError, match="rho"):
        ces.ces_aggregate([1.0, 2.0], True)
    with pytest.raises(TypeError, match="axis"):
        ces.ces_aggregate([1.0, 2.0], 0.5, axis=0.5)


def test_axis_out_of_range_is_an_error_naming_axis():
    # issue 12: axis=2 on a 2-D array used to wrap silently to axis 0
    with pytest.raises(ValueError, match="`axis`=2"):
        ces.ces_aggregate(np.ones((3, 4)), 0.5, axis=2)
    with pytest.raises(ValueError, match="`axis`"):
        ces.log_power_mean(np.ones((3, 4)), 0.5, axis=-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rho", [0.01, 1e-3, 1e-6, 0.0, -1e-6, -1e-3, -0.01])
def test_critical_mass_near_rho_zero(rho, dtype):
    # issue 12: critical_mass(100, 1, 1, .9, shares=full(4, .25), rho=0.01) was NaN
    # (J^((1-rho)/rho) and (sum p^rho)^(1/rho) overflowed); even shares give M c / (S c)
    got = ces.critical_mass(
        dtype(100),
        dtype(1),
        dtype(1),
        dtype(0.9),
        shares=jnp.full(4, 0.25, dtype),
        rho=rho,
    )
    assert got.dtype == dtype
    np.testing.assert_allclose(got, 100 / 0.9, rtol=1e-5)


def test_critical_mass_continuous_through_rho_zero():
    shares = np.array([0.4, 0.3, 0.2, 0.1])
    at0 = float(ces.critical_mass(100, 1.0, 1.0, 0.9, shares=shares, rho=0.0))
    # Cobb-Douglas limit: N* = base / (J * geometric mean of the shares)
    want = 100 / 0.9 / (4 * scipy.stats.gmean(shares))
    np.testing.assert_allclose(at0, want, rtol=1e-12)
    for rho in (1e-9, -1e-9, 1e-6, -1e-6):
        near = float(ces.critical_mass(100, 1.0, 1.0, 0.9, shares=shares, rho=rho))
        np.testing.assert_allclose(near, at0, rtol=1e-5)
    # away from 0, the form of (16): J^((1-rho)/rho) / (sum p^rho)^(1/rho)
    rho = 0.3
    want = 100 / 0.9 * 4 ** ((1 - rho) / rho) / np.sum(shares**rho) ** (1 / rho)
    np.testing.assert_allclose(
        ces.critical_mass(100, 1.0, 1.0, 0.9, shares=shares, rho=rho), want, rtol=1e-12
    )


def test_log_power_mean():
    c = RNG.uniform(0.2, 3.0, (4, 6))
    for rho in (0.5, 1e-4, -2.0):
        np.testing.assert_allclose(
            ces.log_power_mean(c, rho), np.log(_np_power_mean(c, rho)), rtol=1e-10
        )
    np.testing.assert_allclose(
        ces.log_power_mean(c, 0.0), np.mean(np.log(c), axis=-1), rtol=1e-12
    )
    np.testing.assert_allclose(
        ces.log_power_mean(c, -np.inf), np.log(c.min(-1)), rtol=1e-12
    )


def test_parameters_traceable():
    # issue 12: critical_mass and diversity_premium(J) raised raw tracer errors
    shares = jnp.asarray([0.4, 0.3, 0.2, 0.1])
    f = jax.jit(lambda r: ces.critical_mass(100, 1.0, 1.0, 0.9, shares=shares, rho=r))
    np.testing.assert_allclose(
        f(0.5), ces.critical_mass(100, 1.0, 1.0, 0.9, shares=shares, rho=0.5)
    )
    assert np.isnan(f(1.5)) and np.isnan(f(np.nan))
    js = jnp.asarray([2, 3, 5])
    np.testing.assert_allclose(
        jax.vmap(lambda j: ces.diversity_premium(j, 0.5))(js),
        [2.0, 3.0, 5.0],
        rtol=1e-12,
    )
    assert np.isnan(jax.jit(ces.diversity_premium)(1, 0.5))
    g = jax.jit(lambda m: ces.critical_mass(m, 1.0, 1.0, 0.5))
    np.testing.assert_allclose(g(10.0), 20.0)
    assert np.isnan(g(-1.0))
    r = jax.jit(lambda r: ces.ces_aggregate(jnp.ones(3), r))
    assert np.isnan(r(1.0)) and np.isnan(r(np.nan))


def test_sweep_over_critical_mass_rho():
    # issue 12, "must show": sweep over ces.critical_mass's rho works
    import jax.random as jr

    from meshjax.sweep import sweep

    shares = jnp.asarray([0.4, 0.3, 0.2, 0.1])
    rhos = [0.5, 0.01, 0.0, -0.01, -1.0]

    def point(key, rho):
        return {
            "n_star": ces.critical_mass(100.0, 1.0, 1.0, 0.9, shares=shares, rho=rho)
        }

    table = sweep(point, {"rho": rhos}, key=jr.key(0), progress=False)
    direct = [
        float(ces.critical_mass(100.0, 1.0, 1.0, 0.9, shares=shares, rho=r))
        for r in rhos
    ]
    np.testing.assert_allclose(np.asarray(table["n_star"]), direct, rtol=1e-10)
    assert np.all(np.isfinite(direct))
