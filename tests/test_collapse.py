"""Tests for meshjax.collapse: (35)-(39) and the simulated collapse experiment."""

import math

import jax.random as jr
import numpy as np
import pytest

from meshjax import collapse as c

N, G, R = 50, 300, 16  # samples per refit, generations, replicas


def test_diversity_correction_values():
    J = np.array([1, 2, 10, 100])
    np.testing.assert_allclose(c.diversity_correction(0.0, J), (J - 1) / J, rtol=1e-12)
    rho = np.array([0.25, 0.5])
    ref = (10 - 1) / 10 * (1 - rho ** (1 / (1 - rho)))
    np.testing.assert_allclose(c.diversity_correction(rho, 10), ref, rtol=1e-12)
    # rho -> 1: the factor tends to 1 - 1/e, not to 0
    np.testing.assert_allclose(
        c.diversity_correction(1 - 1e-7, 2), 0.5 * (1 - math.exp(-1)), rtol=1e-5
    )
    grid = np.linspace(0.0, 0.99, 100)
    d = np.asarray(c.diversity_correction(grid, 10))
    assert np.all(np.diff(d) < 0)  # decreasing in rho
    assert np.all(
        np.diff(np.asarray(c.diversity_correction(0.5, np.arange(1, 50)))) > 0
    )


def test_negative_rho_policy():
    with pytest.raises(ValueError, match="rho"):
        c.diversity_correction(-0.5, 10)
    np.testing.assert_allclose(
        c.diversity_correction(-0.5, 10, negative_rho="saturate"),
        c.diversity_correction(0.0, 10),
    )
    with pytest.raises(ValueError, match="negative_rho"):
        c.diversity_correction(0.5, 10, negative_rho="abs")


def test_alpha_eff_and_condition_37():
    a, rho, J, crit = 0.2, 0.3, 7, 0.6
    D = (J - 1) / J * (1 - rho ** (1 / (1 - rho)))
    np.testing.assert_allclose(c.alpha_eff(a, rho, J), a + (1 - a) * D, rtol=1e-12)
    assert bool(c.avoids_collapse(a, rho, J, crit)) == (a + (1 - a) * D > crit)
    np.testing.assert_allclose(c.d_threshold(a, crit), (crit - a) / (1 - a))


def test_j_min_matches_brute_force():
    Js = np.arange(1, 5001)
    for rho in (0.0, 0.2, 0.5, 0.8):
        for a_ext in (0.0, 0.1, 0.3):
            for crit in (0.2, 0.4, 0.55):
                ok = np.asarray(c.avoids_collapse(a_ext, rho, Js, crit))
                expected = Js[ok][0] if ok.any() else math.inf
                assert float(c.j_min(rho, a_ext, crit)) == expected, (rho, a_ext, crit)


def test_j_min_increases_with_rho_and_chapter_ceiling_slip():
    rhos = np.linspace(0.0, 0.6, 13)
    jm = np.asarray(c.j_min(rhos, 0.1, 0.5))
    assert np.all(np.diff(jm) >= 0) and jm[-1] > jm[0]  # increasing, not decreasing
    # x/c = 1/2 exactly: (39)'s ceiling gives J = 2, where (37) holds only with equality
    assert float(c.j_min_chapter(0.0, 0.0, 0.5)) == 2.0
    assert float(c.j_min(0.0, 0.0, 0.5)) == 3.0
    # no J suffices when the threshold exceeds the rho factor, although rho < 1
    assert math.isinf(float(c.j_min(0.9, 0.0, 0.7)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_j_min_agrees_with_avoids_collapse(dtype):
    # audit: j_min(0, 0, 0.9) was 10, where (37) holds only with equality (D = 0.9);
    # floor(1/(1 - x/c)) + 1 slipped by one whenever 1/(1 - x/c) rounded to just
    # below an integer (float32: crit 0.95, 0.96; float64: 0.95, 0.96, 0.99)
    rng = np.random.default_rng(0)
    exact = [1 - 1 / k for k in range(2, 200)]  # x/c = 1 - 1/k: the boundary is J = k
    crit = np.concatenate([exact, [0.95, 0.96, 0.99], rng.uniform(0, 1, 400)])
    rho = np.concatenate([np.zeros(201), rng.choice([0.0, 0.3, 0.7], 400)])
    a = np.concatenate([np.zeros(201), rng.uniform(0, 0.9, 400)])
    crit, rho, a = (np.asarray(v, dtype) for v in (crit, rho, a))
    jm = np.asarray(c.j_min(rho, a, crit))
    assert jm.dtype == dtype
    fin = np.isfinite(jm)
    assert fin[:201].all() and fin.sum() > 300
    jm, rho, a, crit = jm[fin], rho[fin], a[fin], crit[fin]
    assert np.all(jm >= 1) and np.all(jm == np.round(jm))
    assert np.asarray(c.avoids_collapse(a, rho, jm, crit)).all()
    below = jm > 1
    prev = (jm - 1)[below].astype(dtype)
    assert not np.asarray(
        c.avoids_collapse(a[below], rho[below], prev, crit[below])
    ).any()
    if dtype == np.float64:  # the exact boundaries: J = k gives equality, so k + 1
        np.testing.assert_array_equal(jm[:198], np.arange(2, 200) + 1)
        assert float(c.j_min(0.0, 0.0, 0.9)) == 11.0


def test_shape_mismatch_names_the_arguments():
    with pytest.raises(ValueError, match="`mu`.*`var`"):
        c.gaussian_kl([0.0, 1.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="`alpha_ext`.*`rho`"):
        c.alpha_eff([0.1, 0.2], [0.1, 0.2, 0.3], 2.0)
    with pytest.raises(ValueError, match="`rho`.*`alpha_crit`"):
        c.j_min([0.1, 0.2], 0.1, [0.5, 0.6, 0.7])


@pytest.mark.parametrize(
    "kw",
    [
        dict(alpha_ext=-0.1),
        dict(alpha_ext=1.5),
        dict(rho=1.0),
        dict(rho=np.nan),
        dict(J=0.5),
    ],
)
def test_bad_inputs_raise(kw):
    args = dict(alpha_ext=0.2, rho=0.5, J=5)
    args.update(kw)
    with pytest.raises(ValueError):
        c.alpha_eff(**args)


def test_simulation_bad_inputs():
    with pytest.raises(ValueError, match="J"):
        c.simulate_collapse(jr.key(0), 2.5, 0.1)
    with pytest.raises(ValueError, match="`J` is empty"):
        c.simulate_collapse(jr.key(0), np.zeros(0), 0.1)
    with pytest.raises(ValueError, match="alpha_ext"):
        c.simulate_collapse(jr.key(0), 3, np.nan)
    with pytest.raises(ValueError, match="source"):
        c.simulate_collapse(jr.key(0), 3, 0.1, source="self")
    # audit: 2**31 was a bare OverflowError, [True, 2] ran as J = [1, 2]
    with pytest.raises(ValueError, match="`J`"):
        c.simulate_collapse(jr.key(0), 2**31, 0.1)
    with pytest.raises(TypeError, match="`J`"):
        c.simulate_collapse(jr.key(0), [True, 2], 0.1)
    with pytest.raises(ValueError, match="`J`.*`alpha_ext`"):
        c.simulate_collapse(jr.key(0), [[1, 2]], [0.1, 0.2, 0.3])


CASES = [  # (J, alpha_ext)
    (1, 0.5),
    (1, 0.0),
    (10, 0.0),
    (1, 0.1),
    (10, 0.1),
    (1, 0.19),
]


@pytest.fixture(scope="module")
def sim():
    J = np.array([j for j, _ in CASES])[:, None] * np.ones((1, R), int)
    a = np.array([x for _, x in CASES])[:, None] * np.ones((1, R))
    # one more row: a single model at the chapter's alpha_eff(rho=0, J=10, alpha_ext=0.1)
    a_eff = float(c.alpha_eff(0.1, 0.0, 10))
    J = np.vstack([J, np.ones((1, R), int)])
    a = np.vstack([a, np.full((1, R), a_eff)])
    run = c.simulate_collapse(jr.key(42), J, a, n_samples=N, n_steps=G)
    kl, var = run.kl, run.var
    return np.asarray(kl), np.asarray(var)


def test_single_model_matches_stationary_theory(sim):
    kl, _ = sim
    per_rep = kl[0, :, 100:].mean(axis=-1)
    se = per_rep.std(ddof=1) / math.sqrt(R)
    theory = float(c.stationary_kl_single(0.5, N))
    assert abs(per_rep.mean() - theory) < 5 * se + 0.1 * theory


def test_no_external_data_collapses_for_any_J(sim):
    kl, var = sim
    # J = 1: Shumailov's collapse, the variance shrinks towards 0
    assert np.median(var[1, :, -1]) < 0.5
    # J = 10 with alpha_ext = 0: alpha_eff = 0.9 by (35), yet the divergence keeps growing
    # (pooled refits inflate the variance instead): mesh data is not external data
    assert np.median(kl[2, :, -1]) > 5 * np.median(kl[2, :, G // 10])
    assert np.median(kl[2, :, -1]) > 10 * float(c.stationary_kl_single(0.9, N))


def test_diversity_helps_but_less_than_alpha_eff(sim):
    kl, _ = sim
    tail = kl[:, :, 100:].mean(axis=-1)  # (cases, R)
    single, mesh, single_eff = tail[3], tail[4], tail[6]
    se = lambda x: x.std(ddof=1) / math.sqrt(R)
    # heterogeneity lowers the stationary divergence at alpha_ext = 0.1 ...
    assert single.mean() - mesh.mean() > 3 * math.hypot(se(single), se(mesh))
    # ... but the mesh is far worse than one model that really had alpha_eff real data
    assert mesh.mean() - single_eff.mean() > 3 * math.hypot(se(mesh), se(single_eff))


def test_simulation_reports_traced_bad_alpha():
    import jax

    run = jax.jit(lambda a: c.simulate_collapse(0, 3, a, n_samples=5, n_steps=3))(1.5)
    assert not bool(run.is_successful())
    assert np.all(np.isnan(np.asarray(run.kl)))
    with pytest.raises(ValueError, match="n_steps"):
        c.simulate_collapse(0, 3, 0.1, n_steps=0)
