import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.optimize

from meshjax import RESULTS, ces, equilibrium as eq, percolation, specialization as sp

J = 4
PARAMS = sp.ThresholdParams(demand=jnp.full((J,), 0.1))


def test_measured_n_star_matches_eq16():
    """Agents spread evenly over J types, fixed mean degree: N* = M c_cent / (S c)."""
    n_max, r0, M, c_cent, rho = 1200, 4.0, 40, 10.0, 0.5
    grid = np.array([250, 300, 350, 400, 450, 500, 600, 800, 1200])
    res = eq.capability_curve(
        jr.key(0),
        grid,
        mean_degree=r0,
        params=PARAMS,
        capability=jnp.ones(n_max),
        rho=rho,
        M=M,
        c_cent=c_cent,
        n_steps=150,
        replicas=4,
    )
    s = float(res.s_theory)
    pred = float(ces.critical_mass(M, c_cent, 1.0, s))
    n_star = eq.measured_critical_mass(res.n_agents, res.ratio)
    assert np.all(np.isfinite(n_star))
    # sampling error: the giant component's size at N* has variance
    # N S (1 - S) / (1 - R0 (1 - S))^2 (ER graph); coverage unevenness and the linear
    # interpolation add O(J) agents at most.
    sd = math.sqrt(pred * s * (1 - s)) / (1 - r0 * (1 - s)) / s
    tol = 5 * sd / math.sqrt(len(n_star)) + J
    assert abs(n_star.mean() - pred) < tol, (n_star, pred, tol)
    # the giant fraction matches eq. (3) at every N; shares are even; ratio grows with N
    np.testing.assert_allclose(np.asarray(res.s_measured).mean(0), s, atol=0.03)
    np.testing.assert_allclose(np.asarray(res.task_shares), 1 / J, atol=0.05)
    assert np.all(np.diff(np.asarray(res.ratio).mean(0)) > 0)


def test_grow_mesh_series():
    n_max, beta = 1000, 6.0 / 1000
    sched = np.linspace(50, n_max, 12).astype(np.int64)
    out = eq.grow_mesh(
        jr.key(1),
        sched,
        beta=beta,
        params=PARAMS,
        capability=jnp.ones(n_max),
        rho=0.5,
        M=30,
        c_cent=10.0,
        record_every=40,
    )
    r0 = np.asarray(out.r0)
    np.testing.assert_allclose(r0, beta * sched)
    s_m, s_t = np.asarray(out.s_measured), np.asarray(out.s_theory)
    big = r0 > 2.5
    np.testing.assert_allclose(s_m[big], s_t[big], atol=0.06)
    # Corollary 6.2: after the crossing the centralised share falls with N
    ratio, share = np.asarray(out.ratio), np.asarray(out.share_cent)
    after = ratio > 1
    assert after.any() and np.all(np.diff(share[after]) < 0)
    np.testing.assert_allclose(share, 1 / (1 + ratio), rtol=1e-12)
    # the first crossing lies near the fixed-beta prediction N S(beta N) = M c_cent / c
    pred = eq.critical_mass_fixed_beta(30, 10.0, 1.0, beta)
    crossing = eq.measured_critical_mass(sched, ratio)
    assert abs(float(crossing) - pred) < 0.15 * pred
    assert int(out.types_covered[-1]) == J
    phases = eq.classify_phases(out.c_mesh, out.r0)
    assert np.all(np.diff(phases) >= 0) and phases[-1] == 3


def test_critical_mass_fixed_beta_root():
    beta, target = 0.002, 800.0
    n = eq.critical_mass_fixed_beta(80, 10.0, 1.0, beta)

    def resid(x):
        return x * float(percolation.giant_component_fraction_theory(beta * x)) - target

    ref = scipy.optimize.brentq(resid, 1.0 / beta + 1e-6, 1e6)
    np.testing.assert_allclose(n, ref, rtol=1e-8)


def test_measured_critical_mass_interpolates():
    n = np.array([10, 20, 30, 40])
    ratio = np.array([[0.2, 0.6, 1.0, 1.4], [0.1, 0.2, 0.3, 0.4], [1.2, 1.3, 1.4, 1.5]])
    got = eq.measured_critical_mass(n, ratio)
    np.testing.assert_allclose(got[0], 30.0)
    assert np.isnan(got[1]) and np.isnan(got[2])
    np.testing.assert_allclose(eq.measured_critical_mass(n, [0.0, 0.5, 1.5, 2.0]), 25.0)


def test_classify_phases():
    c = np.array([0.0, 0.05, 0.2, 0.5, 0.95, 1.0])
    r0 = np.array([0.5, 1.2, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(eq.classify_phases(c, r0), [0, 1, 2, 2, 3, 3])


def test_entropies():
    np.testing.assert_allclose(eq.uniform_entropy(0.5), 0.0, atol=1e-15)
    np.testing.assert_allclose(eq.discrete_entropy(np.full(4, 0.25)), math.log(4))
    np.testing.assert_allclose(eq.discrete_entropy([1.0, 0.0]), 0.0)
    # weights are normalised: counts give the entropy of their shares
    np.testing.assert_allclose(eq.discrete_entropy([1.0, 1.0, 1.0, 1.0]), math.log(4))
    np.testing.assert_allclose(eq.discrete_entropy([2.0, 2.0]), math.log(2))
    np.testing.assert_allclose(
        eq.discrete_entropy([[3.0, 1.0], [0.5, 0.5]]),
        [-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), math.log(2)],
    )
    with pytest.raises(ValueError, match="`p`"):
        eq.discrete_entropy([0.0, 0.0])
    assert np.isnan(jax.jit(eq.discrete_entropy)(jnp.zeros(3)))


def test_n_star_falls_with_type_entropy():
    """Theorem 6.1(e) in its CES form: at fixed N and cbar, uneven type shares (lower
    entropy) need more agents (Lemma 4.1)."""
    Ks = range(1, J + 1)
    shares = [np.r_[np.full(k, 1 / k), np.zeros(J - k)] for k in Ks]
    soft = [0.7 * s + 0.3 / J for s in shares]  # no zero shares
    H = [float(eq.discrete_entropy(s)) for s in soft]
    n = [float(ces.critical_mass(10, 1.0, 1.0, 0.9, shares=s, rho=0.5)) for s in soft]
    assert np.all(np.diff(H) > 0) and np.all(np.diff(n) < 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: eq.grow_mesh(
            jr.key(0),
            np.array([5, 3]),
            beta=0.1,
            params=PARAMS,
            capability=jnp.ones(10),
            rho=0.5,
            M=1,
            c_cent=1.0,
        ),
        lambda: eq.grow_mesh(
            jr.key(0),
            np.array([5, 30]),
            beta=0.1,
            params=PARAMS,
            capability=jnp.ones(10),
            rho=0.5,
            M=1,
            c_cent=1.0,
        ),
        lambda: eq.grow_mesh(
            jr.key(0),
            np.array([5]),
            beta=0.0,
            params=PARAMS,
            capability=jnp.ones(10),
            rho=0.5,
            M=1,
            c_cent=1.0,
        ),
        lambda: eq.grow_mesh(
            jr.key(0),
            np.array([5]),
            beta=0.1,
            params=PARAMS,
            capability=-jnp.ones(10),
            rho=0.5,
            M=1,
            c_cent=1.0,
        ),
        lambda: eq.grow_mesh(
            jr.key(0),
            np.array([5]),
            beta=0.1,
            params=PARAMS,
            capability=jnp.ones(10),
            rho=1.0,
            M=1,
            c_cent=1.0,
        ),
        lambda: eq.grow_mesh(
            jr.key(0),
            np.array([5]),
            beta=0.1,
            params=PARAMS,
            capability=jnp.ones(10),
            rho=0.0,
            M=1,
            c_cent=1.0,
        ),
        lambda: eq.grow_mesh(
            jr.key(0),
            np.array([5]),
            beta=0.1,
            params=PARAMS,
            capability=jnp.ones(10),
            rho=0.5,
            M=0,
            c_cent=1.0,
        ),
        lambda: eq.capability_curve(
            jr.key(0),
            np.array([5, 4]),
            mean_degree=2.0,
            params=PARAMS,
            capability=jnp.ones(10),
            rho=0.5,
            M=1,
            c_cent=1.0,
        ),
        lambda: eq.capability_curve(
            jr.key(0),
            np.array([5, 8]),
            mean_degree=5.0,
            params=PARAMS,
            capability=jnp.ones(10),
            rho=0.5,
            M=1,
            c_cent=1.0,
        ),
        lambda: eq.critical_mass_fixed_beta(1, 1.0, 1.0, 1.5),
        lambda: eq.classify_phases([1.0, 2.0], [1.0]),
        lambda: eq.measured_critical_mass([1, 2], [[1.0, 2.0, 3.0]]),
    ],
)
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_bad_params_type():
    with pytest.raises(TypeError):
        eq.grow_mesh(
            jr.key(0),
            np.array([5]),
            beta=0.1,
            params=None,
            capability=jnp.ones(10),
            rho=0.5,
            M=1,
            c_cent=1.0,
        )


def test_experiments_tiny(tmp_path):
    from meshjax.experiments import Context, get

    # mesh_equilibrium's tiny run (tables, one metrics row per record, Eq. (16)
    # inconclusive leaning supported) is checked on the shared run of
    # tests/test_exp_mesh_equilibrium.py::test_tables_and_findings; its validation here
    exp = get("mesh_equilibrium")
    with pytest.raises(ValueError, match="rho"):
        exp.validate(dict(exp.defaults, n_tasks=J, type_counts=[], rho=1.0))

    exp = get("specialization")
    # the sizes of test_specialization's runs, so a shared session reuses the compile
    p = dict(exp.defaults, n_agents=1000, n_tasks=4, n_steps=2000, record_every=250)
    res = exp.run(p, Context(seed=0, out_dir=tmp_path, log=lambda s: None))
    assert len(res.tables["metrics"]) == 16
    control = res.findings[1]  # N = 1000 is below what configs/specialization.toml uses
    assert control.verdict == "inconclusive" and "leans supported" in control.detail
    with pytest.raises(ValueError):
        exp.validate(dict(p, steepness=0.5))


def _small_growth(rho, **kw):
    return eq.grow_mesh(
        jr.key(3),
        np.array([20, 40, 60]),
        beta=0.08,
        params=PARAMS,
        capability=jnp.linspace(0.5, 1.5, 60),
        rho=rho,
        M=2,
        c_cent=1.0,
        record_every=5,
        **kw,
    )


def test_grow_mesh_specialisation_metrics_defined_at_normalized_rho_0():
    # dol and frac_specialised do not depend on rho; at normalized rho = 0 (allowed,
    # Cobb-Douglas) they were NaN under status successful
    at0 = _small_growth(0.0, normalized=True)
    half = _small_growth(0.5, normalized=True)
    assert at0.status == RESULTS.successful
    for name in ("dol", "frac_specialised"):
        a, b = np.asarray(getattr(at0, name)), np.asarray(getattr(half, name))
        assert np.isfinite(a).all(), name
        np.testing.assert_array_equal(a, b)
    assert (np.asarray(at0.dol) <= 1).all() and (np.asarray(at0.dol) >= 0).all()


@pytest.mark.parametrize("rho", [1e-4, -1e-4, -1e-3, -0.01, 1e-8])
def test_grow_mesh_ratio_finite_near_rho_zero(rho):
    # issue 12: the ratio was NaN at rho = 1e-4 and rho = -0.01 (J^(1/rho) overflowed
    # or underflowed in C_mesh and C_cent before the division)
    out = _small_growth(rho)
    assert out.status == RESULTS.successful
    ratio = np.asarray(out.ratio)
    assert np.all(np.isfinite(ratio)) and np.all(ratio > 0)
    np.testing.assert_allclose(out.share_cent, 1 / (1 + ratio), rtol=1e-12)
    # continuous through rho = 0 (Cobb-Douglas, normalized convention)
    at0 = np.asarray(_small_growth(0.0, normalized=True).ratio)
    np.testing.assert_allclose(ratio, at0, rtol=1e-3)
    # the ratio does not depend on the convention
    np.testing.assert_allclose(
        _small_growth(rho, normalized=True).ratio, ratio, rtol=1e-10
    )


def test_grow_mesh_traced_parameters():
    f = jax.jit(
        lambda rho, M: eq.grow_mesh(
            jr.key(3),
            np.array([20, 40, 60]),
            beta=0.08,
            params=PARAMS,
            capability=jnp.linspace(0.5, 1.5, 60),
            rho=rho,
            M=M,
            c_cent=1.0,
            record_every=5,
        )
    )
    good = f(0.5, 2.0)
    np.testing.assert_allclose(good.ratio, _small_growth(0.5).ratio, rtol=1e-10)
    for rho, M in [(1.0, 2.0), (np.nan, 2.0), (0.0, 2.0), (0.5, -1.0)]:
        bad = f(rho, M)
        assert bad.status == RESULTS.invalid_parameter
        assert np.all(np.isnan(bad.ratio))


def test_formulas_traceable():
    np.testing.assert_allclose(
        jax.jit(eq.critical_mass_fixed_beta)(80.0, 10.0, 1.0, 0.002),
        eq.critical_mass_fixed_beta(80, 10.0, 1.0, 0.002),
        rtol=1e-12,
    )
    assert np.isnan(jax.jit(eq.critical_mass_fixed_beta)(80.0, 10.0, 1.0, 2.0))
    assert np.isnan(jax.jit(eq.uniform_entropy)(-1.0))
    assert np.isnan(jax.jit(eq.discrete_entropy)(jnp.asarray([0.5, -0.5])))
    with pytest.raises(RuntimeError):
        jax.jit(lambda lo: eq.classify_phases([1.0, 2.0], [2.0, 2.0], low=lo))(0.95)
