"""Tests for meshjax.fitness: Bianconi–Barabási growth (5), self-consistency (6)."""

import itertools
import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from meshjax import RESULTS, fitness as F
from meshjax.sweep import Grid, sweep

# ----------------------------------------------------------------------------- theory


def test_uniform_constant_solves_closed_form():
    cond = F.condensation_constant(F.theta_pdf(0.0))
    c = cond.C
    np.testing.assert_allclose(math.exp(-2 / c), 1 - 1 / c, rtol=1e-9)
    np.testing.assert_allclose(c, 1.2550, atol=5e-4)
    assert not cond.condensed and cond.condensate_fraction == 0.0
    # Samples: the empirical measure gives the same C to sampling accuracy.
    s = np.random.default_rng(0).random(200_000)
    np.testing.assert_allclose(F.condensation_constant(s).C, c, atol=5e-3)


@pytest.mark.parametrize("theta", [0.25, 0.5, 0.8, 1.5, 2.0, 4.0])
def test_theta_family_criterion(theta):
    cond = F.condensation_constant(F.theta_pdf(theta))
    # I(1) = (1 + theta) B(2, theta) = 1 / theta: condensate iff theta > 1.
    # (rtol: tanh-sinh nodes closer to 1 than float64 resolves are dropped, which cuts
    # a tail of order 1e-16 ** theta off the singular integrand at small theta.)
    np.testing.assert_allclose(cond.integral_at_max, 1 / theta, rtol=1e-3)
    assert cond.condensed == (theta > 1)
    if theta > 1:
        assert cond.C == 1.0
        np.testing.assert_allclose(cond.condensate_fraction, 1 - 1 / theta, rtol=1e-6)
    else:
        # The root satisfies (6) with the closed-form integrand.
        x = np.linspace(0, 1, 2_000_001)[:-1] + 0.25e-6
        val = np.mean((1 + theta) * (1 - x) ** theta * x / (cond.C - x))
        np.testing.assert_allclose(val, 1.0, atol=2e-3)


def test_equal_fitness_gives_ba_constant():
    cond = F.condensation_constant(np.full(10, 0.5), eta_max=1.0)
    # delta at 1/2 with eta_max = 1: 0.5/(C - 0.5) = 1 -> C = 1, exponent 1/2.
    np.testing.assert_allclose(cond.C, 1.0, rtol=1e-9)
    np.testing.assert_allclose(F.predicted_exponents(0.5, cond.C), 0.5)


def test_datacenter_bulk_threshold():
    # Uniform bulk scaled by a: I(1) = -1 - ln(1 - a)/a; the condensate dissolves at
    # -ln(1 - a*) = 2 a*, a* = 0.7968; with gap g = 0.5, learning* = 1 - (1 - a*)/g.
    a_star = 0.5
    for _ in range(60):
        a_star = 1 - math.exp(-2 * a_star)
    ell_star = 1 - (1 - a_star) / 0.5
    for ell in (0.0, ell_star - 0.02, ell_star + 0.02, 1.0):
        cond = F.condensation_constant(F.datacenter_edge_bulk_pdf(ell, gap=0.5))
        a = 1 - 0.5 * (1 - ell)
        np.testing.assert_allclose(
            cond.integral_at_max,
            -1 - math.log1p(-a) / a if a < 1 else cond.integral_at_max,
            rtol=1e-6,
        )
        assert cond.condensed == (ell < ell_star)


def test_samplers(getkey):
    n = 200_000
    for theta in (0.0, 2.0):
        eta = np.asarray(F.theta_fitness(getkey(), n, theta))
        assert eta.min() >= 0 and eta.max() <= 1
        # E[eta] = 1/(2 + theta); standard error ~ 0.3/sqrt(n).
        np.testing.assert_allclose(
            eta.mean(), 1 / (2 + theta), atol=5 * 0.3 / math.sqrt(n)
        )
    eta = np.asarray(F.datacenter_edge_fitness(getkey(), 1000, 0.0, n_datacenters=3))
    assert np.all(eta[:3] == 1) and eta[3:].max() <= 0.5
    eta = np.asarray(F.uniform_fitness(getkey(), 10, eta_max=2.0))
    assert eta.max() <= 2.0


# ----------------------------------------------------------------------------- growth


def _exact_outcomes(fit, m, n_core, n):
    """Exact law of the sets chosen by each arrival (successive sampling ∝ eta k)."""
    deg0 = [n_core - 1] * n_core
    out = {(): (1.0, deg0)}
    for t in range(n_core, n):
        new = {}
        for hist, (p, deg) in out.items():
            for order in itertools.permutations(range(t), m):
                q, left = 1.0, list(range(t))
                for v in order:
                    w = {u: fit[u] * deg[u] for u in left}
                    q *= w[v] / sum(w.values())
                    left.remove(v)
                if q == 0:
                    continue
                d2 = deg + [m]
                for v in order:
                    d2[v] += 1
                key = hist + (frozenset(order),)
                prev = new.get(key, (0.0, d2))[0]
                new[key] = (prev + p * q, d2)
        out = new
    return {k: v[0] for k, v in out.items()}


def test_growth_law_is_exact_on_tiny_networks(getkey):
    """n = 6, m = 2, core of 3: all 3 arrivals in one block (the speculative sweeps
    must reproduce sequential growth); frequencies of all outcomes vs exact law."""
    fit = np.array([1.0, 0.3, 0.6, 0.8, 0.1, 0.5])
    m, n_core, n = 2, 3, 6
    exact = _exact_outcomes(fit, m, n_core, n)
    reps = 4000
    keys = jr.split(getkey(), reps)
    res = jax.vmap(lambda k: F.bianconi_barabasi(k, fit, m, n_core=n_core))(keys)
    assert bool(np.all(res.is_successful()))
    s, r = np.asarray(res.graph.senders), np.asarray(res.graph.receivers)
    adj = np.zeros((reps, n, n), bool)
    adj[np.arange(reps)[:, None], r, s] = True
    # Simple graphs: every slot a distinct pair, no self-loops.
    assert np.all(adj.sum(axis=(1, 2)) == 2 * (3 + m * (n - n_core)))
    assert not np.any(adj[:, np.arange(n), np.arange(n)])
    # Outcome = the set each arrival chose, coded as bits of adj[t, :t].
    code = np.zeros(reps, np.int64)
    for t in range(n_core, n):
        code = code * 64 + adj[:, t, :t] @ (1 << np.arange(t))
    uniq, cnt = np.unique(code, return_counts=True)
    counts = {}
    for c, k in zip(uniq.tolist(), cnt.tolist()):
        sets = []
        for t in reversed(range(n_core, n)):
            bits = c % 64
            c //= 64
            sets.append(frozenset(i for i in range(t) if bits >> i & 1))
        counts[tuple(reversed(sets))] = k
    assert set(counts) <= set(exact)
    chi2 = sum(
        (counts.get(k, 0) - reps * p) ** 2 / (reps * p) for k, p in exact.items()
    )
    dof = len(exact) - 1
    # chi-square with dof degrees of freedom: mean dof, sd sqrt(2 dof); 5 sd margin.
    assert chi2 < dof + 5 * math.sqrt(2 * dof), (chi2, dof)
    # vmap == loop: every replica has its own random stream.
    one = F.bianconi_barabasi(keys[1], fit, m, n_core=n_core)
    np.testing.assert_array_equal(res.graph.senders[1], one.graph.senders)


# One configuration, compiled once, used for the growth-exponent, BA and record tests.
_N, _M, _EVERY, _REPS = 20_000, 2, 200, 4
_LEVELS = np.array([0.4, 0.7, 1.0])
_PER = 6  # tracked nodes per level


def _grow(keys, fit, track):
    return jax.vmap(
        lambda k: F.bianconi_barabasi(
            k, fit, _M, track=track, record_every=_EVERY, build_graph=False
        )
    )(keys)


@pytest.fixture(scope="module")
def uniform_run():
    key = jr.key(123)
    fit = np.array(F.uniform_fitness(key, _N))
    # Plant the fitness levels on early nodes, two per level (measure-zero change).
    track = np.arange(3, 3 + _PER * _LEVELS.size)
    fit[track] = np.repeat(_LEVELS, _PER)
    res = _grow(jr.split(jr.fold_in(key, 1), _REPS), fit, track)
    return fit, track, res


def test_growth_exponents_match_eta_over_c(uniform_run):
    fit, track, res = uniform_run
    assert bool(np.all(res.is_successful()))
    c = F.condensation_constant(F.theta_pdf(0.0)).C
    # Exponent of the ensemble-mean degree per level (E k_i(t) ~ t^(eta_i/C) exactly in
    # the mean-field sense; the mean over replicas x nodes tames the small-k noise).
    times = np.asarray(res.times[0])
    k = np.asarray(res.tracked_degrees).reshape(_REPS, times.size, _LEVELS.size, _PER)
    beta = np.asarray(F.growth_exponents(times, k.mean(axis=(0, 3)), t_min=2_000))
    np.testing.assert_allclose(beta, _LEVELS / c, atol=0.05)
    # Fitter nodes grow faster (fit-get-rich).
    assert np.all(np.diff(beta) > 0)


def test_records_are_consistent(uniform_run):
    fit, track, res = uniform_run
    deg = np.asarray(res.degrees)
    assert res.times[0, -1] == _N and res.times.shape == (_REPS, _N // _EVERY)
    np.testing.assert_array_equal(np.asarray(res.tracked_degrees)[:, -1], deg[:, track])
    np.testing.assert_allclose(
        np.asarray(res.kmax_share)[:, -1],
        np.asarray(F.condensate_share(deg)),
        rtol=1e-6,
    )
    assert np.all(deg.sum(axis=1) == 2 * (3 + _M * (_N - 3)))
    assert np.all(deg.min(axis=1) >= _M)
    # Replicas differ.
    assert not np.array_equal(deg[0], deg[1])


def test_equal_fitness_is_barabasi_albert():
    fit = np.full(_N, 0.7)
    res = _grow(jr.split(jr.key(7), _REPS), fit, np.arange(3, 3 + _PER * _LEVELS.size))
    deg = np.asarray(res.degrees).ravel()
    m = _M
    # P(k) = 2m(m+1)/(k(k+1)(k+2)) for k >= m; check k = m..12 with binomial errors.
    ks = np.arange(m, 13)
    p_exact = 2 * m * (m + 1) / (ks * (ks + 1) * (ks + 2))
    p_emp = np.array([(deg == k).mean() for k in ks])
    tol = 5 * np.sqrt(p_exact * (1 - p_exact) / deg.size) + 2e-3
    np.testing.assert_array_less(np.abs(p_emp - p_exact), tol)
    gamma = F.degree_exponent_mle(deg, k_min=8)
    assert abs(gamma - 3) < 0.2, gamma
    # Growth exponent 1/2 (C = 2 eta).
    beta = np.asarray(
        F.growth_exponents(res.times[0], res.tracked_degrees, t_min=2_000)
    )
    np.testing.assert_allclose(beta.mean(), 0.5, atol=0.05)


# ----------------------------------------------------------------------------- measures


def test_growth_exponents_on_exact_power_laws():
    t = np.arange(10, 1000, 10)
    k = np.stack([3 * t**0.3, 2 * t**0.8], axis=1)
    np.testing.assert_allclose(F.growth_exponents(t, k), [0.3, 0.8], rtol=1e-10)


def test_degree_exponent_mle_on_zeta_samples():
    rng = np.random.default_rng(1)
    k = rng.zipf(3.0, 200_000)
    assert abs(F.degree_exponent_mle(k, k_min=5) - 3.0) < 0.1


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "fit, m, kw, match",
    [
        ([1.0, -0.5, 1.0, 1.0], 1, {}, "fitness"),
        ([1.0, np.nan, 1.0, 1.0], 1, {}, "fitness"),
        ([0.0, 0.0, 0.0, 0.0], 1, {}, "all zero"),
        ([1.0, 0.0, 0.0, 1.0, 1.0], 2, {}, "core"),
        ([1.0, 1.0, 1.0, 1.0], 0, {}, "`m`"),
        ([1.0] * 6, 3, {"n_core": 2}, "larger than the initial core"),
        ([1.0] * 4, 1, {"n_core": 4}, "n_core"),
        ([1.0] * 4, 1, {"n_core": 1}, "n_core"),
        ([[1.0, 1.0], [1.0, 1.0]], 1, {}, "`fitness` must have 1 dim"),
        ([1.0] * 6, 1, {"track": [7]}, "track"),
        ([1.0] * 6, 1, {"record_every": 0}, "record_every"),
    ],
)
def test_bad_input(fit, m, kw, match):
    with pytest.raises(ValueError, match=match):
        F.bianconi_barabasi(jr.key(0), np.asarray(fit), m, **kw)


def test_bad_input_theory():
    with pytest.raises(ValueError, match="eta_max"):
        F.condensation_constant(np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="all zero"):
        F.condensation_constant(np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        F.condensation_constant(np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="integrates"):
        F.condensation_constant(lambda x: 2 * np.ones_like(x))
    with pytest.raises(ValueError, match="theta"):
        F.theta_pdf(-1.0)
    with pytest.raises(ValueError, match="learning"):
        F.datacenter_edge_fitness(jr.key(0), 10, 1.5)
    with pytest.raises(TypeError):
        F.bianconi_barabasi(jr.key(0), np.ones(5), 1.5)


@pytest.mark.parametrize(
    "sampler",
    [
        lambda dt: F.uniform_fitness(0, 8, dtype=dt),
        lambda dt: F.theta_fitness(0, 8, 1.0, dtype=dt),
        lambda dt: F.datacenter_edge_fitness(0, 8, 0.5, dtype=dt),
    ],
)
def test_sampler_dtype_is_checked(sampler):
    assert sampler("float32").dtype == jnp.float32
    assert sampler(np.float64).dtype == jnp.float64
    for bad, err in [
        ("float16", ValueError),
        (jnp.int32, ValueError),
        ("spam", TypeError),
    ]:
        with pytest.raises(err, match="`dtype`"):
            sampler(bad)
    # without x64 JAX would hand back float32 for float64 (with a warning at most)
    with jax.enable_x64(False), pytest.raises(ValueError, match="jax_enable_x64"):
        sampler("float64")


def test_inverse_bec_validate_refuses_learnings_above_one():
    # The tiny run's condensation flags, top shares and alpha_B verdict are checked on
    # the shared run of tests/test_exp_inverse_bec.py::test_condensation_and_shares.
    from meshjax.experiments.inverse_bec import EXPERIMENT

    params = {**EXPERIMENT.defaults, "n_nodes": 2_000, "m": _M, "nodes_per_level": 2}
    EXPERIMENT.validate(params)
    with pytest.raises(ValueError, match="learnings"):
        EXPERIMENT.validate({**params, "learnings": [1.5]})


def test_predicted_link_share():
    # All nodes hold everything; theta = 2 top nodes hold the condensate n0/2 = 1/4 plus
    # (1/2) int_{eta_q}^1 3 (1 - eta) d eta = (3/4) (1 - eta_q)^2.
    np.testing.assert_allclose(
        F.predicted_link_share(F.theta_pdf(0.0), 0.0), 1.0, rtol=1e-6
    )
    d = 0.2
    np.testing.assert_allclose(
        F.predicted_link_share(F.theta_pdf(2.0), 1 - d), 0.25 + 0.75 * d**2, rtol=1e-6
    )


def test_theta_samplers_sweep_over_theta():
    # issue 12: theta_fitness / theta_pdf raised "theta must be a real number, got
    # VmapTracer" inside sweep
    def point(key, theta):
        return {
            "mean": jnp.mean(F.theta_fitness(key, 64, theta)),
            "pdf": F.theta_pdf(theta)(jnp.asarray(0.5)),
        }

    table = sweep(point, Grid.zip(theta=[0.0, 2.0]), key=jr.key(0), progress=False)
    for i, theta in enumerate([0.0, 2.0]):
        direct = jnp.mean(F.theta_fitness(jr.fold_in(jr.key(0), i), 64, theta))
        np.testing.assert_allclose(table["mean"][i], direct, rtol=1e-6)
        np.testing.assert_allclose(table["pdf"][i], (1 + theta) * 0.5**theta)
    bad = jax.jit(lambda t: F.theta_fitness(0, 8, t))(-2.0)
    assert np.isnan(np.asarray(bad)).all()


def test_predicted_link_share_docstring_is_intact():
    # issue 12: a tab, a form feed and a carriage return had eaten \rho, \frac, \rm
    doc = F.predicted_link_share.__doc__
    assert not any(c in doc for c in "\t\f\r")
    assert "\\rho" in doc and "\\frac12" in doc and "\\rm low" in doc


def test_traced_fitness_is_reported_and_keys_accepted():
    fit = np.ones(8)
    grow = jax.jit(lambda f: F.bianconi_barabasi(0, f, 1, build_graph=False))
    assert grow(jnp.asarray(fit)).status == RESULTS.successful
    bad = grow(jnp.asarray(fit).at[2].set(-1.0))
    assert bad.status == RESULTS.invalid_parameter
    assert np.isnan(np.asarray(bad.kmax_share)).all()
    a = F.bianconi_barabasi(3, fit, 1).degrees
    b = F.bianconi_barabasi(jr.key(3), fit, 1).degrees
    c = F.bianconi_barabasi(jr.PRNGKey(3), fit, 1).degrees
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_traced_track_ids_match_concrete_and_are_checked_inside():
    # The tracked ids may be traced (only their count fixes shapes): the inverse_bec
    # experiment runs every case through one compiled program this way.
    fit = np.asarray(jr.uniform(jr.key(5), (300,)), np.float32) + 0.1
    ids = np.array([0, 7, 150, 299], np.int32)

    def grow(track):
        return F.bianconi_barabasi(
            jr.key(2), fit, 2, track=track, record_every=50, build_graph=False
        )

    concrete = grow(ids)
    traced = jax.jit(grow)(ids)
    np.testing.assert_array_equal(concrete.tracked_degrees, traced.tracked_degrees)
    assert traced.status == RESULTS.successful
    bad = jax.jit(grow)(np.array([0, 7, 150, 300], np.int32))
    assert bad.status == RESULTS.invalid_parameter
    assert (np.asarray(bad.tracked_degrees) == -1).all()
    with pytest.raises(ValueError, match="`track`"):
        grow(np.array([0, 300], np.int32))
    with pytest.raises(TypeError, match="`track`"):
        grow(np.array([0.0, 1.0]))


def test_condensation_integral_keeps_the_top_singularity():
    # the quadrature stopped ~1e-16 below eta_max, where 1 - eta rounds: for
    # (1 - eta)^theta with small theta most of I(1) = 1/theta is there (theta = 0.01
    # gave 30 for 100), and a mixture with exact I(1) = 2.2 > 1 was called condensed
    for theta in (0.01, 0.05, 0.5, 2.0):
        r = F.condensation_constant(F.theta_pdf(theta))
        np.testing.assert_allclose(r.integral_at_max, 1 / theta, rtol=1e-3)
        assert r.condensed == (theta > 1)
    assert F.condensation_constant(lambda x: np.ones_like(x)).integral_at_max == np.inf
    a, b = F.theta_pdf(0.005), F.theta_pdf(5.0)

    def mix(x):
        return 0.01 * a(x) + 0.99 * b(x)

    r = F.condensation_constant(mix)
    np.testing.assert_allclose(r.integral_at_max, 0.01 / 0.005 + 0.99 / 5.0, rtol=1e-3)
    assert not r.condensed and r.condensate_fraction == 0.0
    # every link end is held by some node (C - 1 is about 1e-80 here)
    np.testing.assert_allclose(F.predicted_link_share(mix, 0.0), 1.0, rtol=1e-6)
    for theta in (0.01, 0.5, 2.0):
        share = F.predicted_link_share(F.theta_pdf(theta), 0.0)
        np.testing.assert_allclose(share, 1.0, rtol=1e-6)
