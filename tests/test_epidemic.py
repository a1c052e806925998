"""Tests for meshjax.epidemic: QS SIS against the pair approximation on random regular
graphs, thresholds against their formulas, QS methods, determinism, bad input."""

import math

import jax.random as jr
import networkx as nx
import numpy as np
import pytest

from meshjax import epidemic, graph as mg


@pytest.fixture(scope="module")
def rrg():
    return mg.random_regular(jr.key(11), 1000, 6)


def test_qs_prevalence_matches_pair_approximation(rrg):
    # lambda_c^PA = 1/(k-1) = 0.2; rates 2x and 3x above it.
    rates = np.array([0.4, 0.6])
    res = epidemic.sis(
        jr.key(1), rrg, rates, 1.0, n_steps=2000, dt=0.025, burn_in=600, n_replicas=4
    )
    rho = np.asarray(res.rho_mean)
    expected = np.asarray(epidemic.pair_approximation_prevalence(rates, 6))
    np.testing.assert_allclose(expected, [6 / 11, 12 / 17], rtol=1e-12)
    stderr = rho.std(axis=1, ddof=1) / math.sqrt(rho.shape[1])
    # statistical error plus the O(dt) bias of synchronous updates plus the (small)
    # error of the pair approximation itself on a 6-regular graph.
    assert np.all(np.abs(rho.mean(axis=1) - expected) < 5 * stderr + 0.012), (
        rho,
        expected,
    )
    assert res.prevalence.shape == (2, 4, 200) and res.times.shape == (200,)
    assert res.final.shape == (2, 4, 1000)
    assert np.all(np.asarray(res.n_absorbed) == 0)
    # well above threshold chi is O(1): far below N
    assert np.all(np.asarray(res.chi) < 50)


def test_qs_methods_near_and_below_threshold(rrg):
    rates = np.array([0.05, 0.12])  # below lambda_c^PA = 0.2: plain SIS dies out
    # same static sizes as the test above: no new compile for "history"
    kw = dict(n_steps=2000, dt=0.025, burn_in=1000, n_replicas=4, initial_fraction=0.02)
    none = epidemic.sis(jr.key(2), rrg, rates, **kw, qs="none")
    assert np.all(np.asarray(none.final).sum(-1) == 0)
    assert np.all(np.asarray(none.rho_mean) == 0)
    for qs in ("history", "reflect"):
        res = epidemic.sis(jr.key(2), rrg, rates, **kw, qs=qs)
        assert np.all(np.asarray(res.n_absorbed) >= 1)
        assert np.all(np.asarray(res.final).sum(-1) >= 1)  # never absorbed at the end
        assert np.all(np.asarray(res.rho_mean) > 0)
        # far below threshold the QS state has O(1) infected nodes: rho ~ 1/N
        assert np.all(np.asarray(res.rho_mean)[0] < 10 / 1000), res.rho_mean


def test_runs_do_not_depend_on_batch(rrg):
    # run (rate i, replica j) depends only on (key, i, j): another second rate and more
    # replicas leave runs (0, 0..3) unchanged. (Static sizes as above: no new compile.)
    kw = dict(n_steps=2000, dt=0.025, burn_in=1000, record_every=10)
    a = epidemic.sis(jr.key(3), rrg, [0.3, 0.5], 1.0, n_replicas=4, **kw)
    b = epidemic.sis(jr.key(3), rrg, [0.3], 1.0, n_replicas=8, **kw)
    np.testing.assert_array_equal(np.asarray(a.final[0]), np.asarray(b.final[0, :4]))
    np.testing.assert_array_equal(
        np.asarray(a.prevalence[0]), np.asarray(b.prevalence[0, :4])
    )
    np.testing.assert_allclose(np.asarray(a.rates), [0.3, 0.5])


def test_thresholds():
    np.testing.assert_allclose(float(epidemic.threshold_hmf(np.full(50, 4))), 0.25)
    k = np.random.default_rng(0).integers(1, 30, 500)
    np.testing.assert_allclose(
        float(epidemic.threshold_hmf(k)), k.mean() / (k**2).mean()
    )
    # QMF: 1/lambda_max(A); lambda_max = k on a k-regular graph
    G = nx.random_regular_graph(4, 60, seed=1)
    np.testing.assert_allclose(
        float(epidemic.threshold_qmf(mg.from_networkx(G))), 0.25, rtol=1e-10
    )
    star = mg.from_networkx(nx.star_graph(16))
    np.testing.assert_allclose(float(epidemic.threshold_qmf(star)), 1 / 4, rtol=1e-10)
    # star with s leaves: <k>/<k^2> = 2s/(s + s^2) = 2/(1 + s); QMF 1/sqrt(s)
    np.testing.assert_allclose(float(epidemic.threshold_hmf(star.degrees())), 2 / 17)


def test_susceptibility_peak():
    lam = np.geomspace(0.01, 1, 21)
    chi = np.exp(-((np.log(lam) - np.log(0.1)) ** 2))
    np.testing.assert_allclose(
        float(epidemic.susceptibility_peak(lam, chi)), 0.1, rtol=1e-6
    )
    assert float(epidemic.susceptibility_peak(lam, lam)) == 1.0  # edge of the grid
    with pytest.raises(ValueError):
        epidemic.susceptibility_peak(lam[::-1], chi)
    with pytest.raises(ValueError):
        epidemic.susceptibility_peak(lam[:2], chi[:2])


def test_threshold_estimate_decreases_with_n_for_gamma_below_3():
    # small-N evidence (the experiment goes to 10^4 and beyond): the chi peak moves down.
    rates = np.geomspace(0.03, 0.5, 8)
    peaks = []
    for n in (300, 3000):
        g = mg.power_law(jr.key(5), n, 2.3, 4.0)
        res = epidemic.sis(
            jr.key(6),
            g,
            rates,
            n_steps=1200,
            dt=0.1,
            burn_in=400,
            n_replicas=2,
            qs="reflect",
            record_every=50,
        )
        peaks.append(float(epidemic.susceptibility_peak(rates, res.pooled()[1])))
    assert peaks[1] < peaks[0], peaks


@pytest.mark.parametrize(
    "bad",
    [
        dict(infection_rate=-0.1),
        dict(infection_rate=np.nan),
        dict(recovery_rate=0.0),
        dict(dt=0.0),
        dict(dt=-1.0),
        dict(burn_in=100),
        dict(qs="absorb"),
        dict(n_replicas=0),
        dict(initial_fraction=0.0),
        dict(history_size=0),
        dict(infection_rate=[0.1, 0.2], recovery_rate=[1.0, 1.0, 1.0]),
        dict(infection_rate=[[0.1]]),
        dict(record_every=1000),
    ],
)
def test_sis_bad_input(rrg, bad):
    args = dict(
        key=jr.key(0), graph=rrg, infection_rate=0.3, recovery_rate=1.0, n_steps=100
    )
    args.update(bad)
    with pytest.raises(ValueError):
        epidemic.sis(**args)


def test_threshold_bad_input():
    with pytest.raises(ValueError):
        epidemic.threshold_hmf(np.zeros(5))
    with pytest.raises(ValueError):
        epidemic.threshold_hmf(np.array([1.0, np.nan]))
    with pytest.raises(ValueError):
        epidemic.threshold_hmf(np.ones((2, 2)))
    with pytest.raises(ValueError):
        epidemic.pair_approximation_prevalence(-1.0, 4)
    with pytest.raises(ValueError):
        epidemic.pair_approximation_prevalence(0.5, 1)
    with pytest.raises(TypeError):
        epidemic.sis(jr.key(0), "graph", 0.3, n_steps=10)
