"""Tests for meshjax.epidemic: QS SIS against the pair approximation on random regular
graphs, thresholds against their formulas, QS methods, determinism, bad input."""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import networkx as nx
import numpy as np
import pytest

from meshjax import RESULTS, epidemic, graph as mg


@pytest.fixture(scope="module")
def rrg():
    return mg.random_regular(jr.key(11), 1000, 6)


def test_qs_prevalence_matches_pair_approximation(rrg):
    # lambda_c^PA = 1/(k-1) = 0.2; rates 2x and 3x above it.
    rates = np.array([0.4, 0.6])
    res = epidemic.sis(
        jr.key(1), rrg, rates, 1.0, n_steps=2000, dt=0.025, n_burn=600, replicas=4
    )
    assert res.status == RESULTS.successful
    rho = np.asarray(res.qs_prevalence)
    expected = np.asarray(epidemic.pair_approximation_prevalence(rates, 6))
    np.testing.assert_allclose(expected, [6 / 11, 12 / 17], rtol=1e-12)
    stderr = rho.std(axis=1, ddof=1) / math.sqrt(rho.shape[1])
    # statistical error plus the O(dt) bias of synchronous updates plus the (small)
    # error of the pair approximation itself on a 6-regular graph.
    assert np.all(np.abs(rho.mean(axis=1) - expected) < 5 * stderr + 0.012), (
        rho,
        expected,
    )
    assert res.prevalence_series.shape == (2, 4, 200)
    assert res.record_times.shape == (200,)
    assert res.final_state.shape == (2, 4, 1000)
    assert np.all(np.asarray(res.n_absorbed) == 0)
    # well above threshold chi is O(1): far below N
    assert np.all(np.asarray(res.qs_susceptibility) < 50)


def test_qs_methods_near_and_below_threshold(rrg):
    rates = np.array([0.05, 0.12])  # below lambda_c^PA = 0.2: plain SIS dies out
    # same static sizes as the test above: no new compile for "history"
    kw = dict(n_steps=2000, dt=0.025, n_burn=1000, replicas=4, initial_fraction=0.02)
    none = epidemic.sis(jr.key(2), rrg, rates, **kw, qs="none")
    assert np.all(np.asarray(none.final_state).sum(-1) == 0)
    assert np.all(np.asarray(none.qs_prevalence) == 0)
    for qs in ("history", "reflect"):
        res = epidemic.sis(jr.key(2), rrg, rates, **kw, qs=qs)
        assert np.all(np.asarray(res.n_absorbed) >= 1)
        assert np.all(np.asarray(res.final_state).sum(-1) >= 1)  # never absorbed at end
        assert np.all(np.asarray(res.qs_prevalence) > 0)
        # far below threshold the QS state has O(1) infected nodes: rho ~ 1/N
        assert np.all(np.asarray(res.qs_prevalence)[0] < 10 / 1000), res.qs_prevalence


def test_runs_do_not_depend_on_batch(rrg):
    # run (rate i, replica j) depends only on (key, i, j): another second rate and more
    # replicas leave runs (0, 0..3) unchanged. (Static sizes as above: no new compile.)
    kw = dict(n_steps=2000, dt=0.025, n_burn=1000, record_every=10)
    a = epidemic.sis(jr.key(3), rrg, [0.3, 0.5], 1.0, replicas=4, **kw)
    b = epidemic.sis(jr.key(3), rrg, [0.3], 1.0, replicas=8, **kw)
    np.testing.assert_array_equal(
        np.asarray(a.final_state[0]), np.asarray(b.final_state[0, :4])
    )
    np.testing.assert_array_equal(
        np.asarray(a.prevalence_series[0]), np.asarray(b.prevalence_series[0, :4])
    )
    np.testing.assert_allclose(np.asarray(a.spreading_rate), [0.3, 0.5])


def test_thresholds():
    hmf = epidemic.threshold_hmf_from_degrees
    np.testing.assert_allclose(float(hmf(np.full(50, 4))), 0.25)
    k = np.random.default_rng(0).integers(1, 30, 500)
    np.testing.assert_allclose(float(hmf(k)), k.mean() / (k**2).mean())
    # QMF: 1/lambda_max(A); lambda_max = k on a k-regular graph
    G = nx.random_regular_graph(4, 60, seed=1)
    np.testing.assert_allclose(
        float(epidemic.threshold_qmf(mg.from_networkx(G))), 0.25, rtol=1e-10
    )
    np.testing.assert_allclose(
        float(epidemic.threshold_hmf(mg.from_networkx(G))), 0.25, rtol=1e-12
    )
    big = mg.random_regular(jr.key(4), 100, 5)  # n > 64: Lanczos
    np.testing.assert_allclose(float(epidemic.threshold_qmf(big)), 0.2, rtol=1e-8)
    star = mg.from_networkx(nx.star_graph(16))
    np.testing.assert_allclose(float(epidemic.threshold_qmf(star)), 1 / 4, rtol=1e-10)
    # star with s leaves: <k>/<k^2> = 2s/(s + s^2) = 2/(1 + s); QMF 1/sqrt(s)
    np.testing.assert_allclose(float(epidemic.threshold_hmf(star)), 2 / 17)
    np.testing.assert_allclose(float(hmf(star.degrees())), 2 / 17)


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
        # Chung-Lu power-law graph, gamma = 2.3, <k> ~ 4 (networkx, so that this test
        # does not depend on meshjax.graph's generators)
        w = (np.arange(1, n + 1) / n) ** (-1 / 1.3)
        w *= 4.0 * n / w.sum()
        G = nx.expected_degree_graph(w, seed=5, selfloops=False)
        g = mg.from_networkx(G)
        res = epidemic.sis(
            jr.key(6),
            g,
            rates,
            n_steps=1200,
            dt=0.1,
            n_burn=400,
            replicas=2,
            qs="reflect",
            record_every=50,
        )
        chi = res.pooled_susceptibility
        peaks.append(float(epidemic.susceptibility_peak(res.spreading_rate, chi)))
    assert peaks[1] < peaks[0], peaks


@pytest.mark.parametrize(
    "bad",
    [
        dict(infection_rate=-0.1),
        dict(infection_rate=np.nan),
        dict(recovery_rate=0.0),
        dict(dt=0.0),
        dict(dt=-1.0),
        dict(n_burn=100),
        dict(n_burn=-1),
        dict(qs="absorb"),
        dict(replicas=0),
        dict(initial_fraction=0.0),
        dict(history_size=0),
        dict(infection_rate=[0.1, 0.2], recovery_rate=[1.0, 1.0, 1.0]),
        dict(infection_rate=[[0.1]]),
        dict(record_every=1000),
        dict(dt=np.inf),
        dict(history_rate=0.0),
        dict(initial_fraction=1.5),
        dict(key="seed"),
    ],
)
def test_sis_bad_input(rrg, bad):
    args = dict(
        key=jr.key(0), graph=rrg, infection_rate=0.3, recovery_rate=1.0, n_steps=100
    )
    args.update(bad)
    with pytest.raises((ValueError, TypeError), match=next(iter(bad))):
        epidemic.sis(**args)


def test_threshold_bad_input():
    hmf = epidemic.threshold_hmf_from_degrees
    with pytest.raises(ValueError, match="degrees"):
        hmf(np.zeros(5))
    with pytest.raises(ValueError, match="degrees"):
        hmf(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="degrees"):
        hmf(np.ones((2, 2)))
    edgeless = mg.from_edges(np.zeros((0, 2), np.int64), 5)
    with pytest.raises(ValueError, match="graph"):
        epidemic.threshold_hmf(edgeless)
    with pytest.raises(ValueError, match="graph"):
        epidemic.threshold_qmf(edgeless)
    with pytest.raises(TypeError, match="graph"):
        epidemic.threshold_hmf(np.full(5, 2))
    with pytest.raises(ValueError):
        epidemic.pair_approximation_prevalence(-1.0, 4)
    with pytest.raises(ValueError):
        epidemic.pair_approximation_prevalence(0.5, 1)
    with pytest.raises(TypeError):
        epidemic.sis(jr.key(0), "graph", 0.3, n_steps=10)


@pytest.fixture(scope="module")
def ring():
    return mg.random_regular(jr.key(12), 30, 4)


def test_sis_parameters_are_traceable(ring):
    # issue 12: rates were read on the host (TypeError under jit/vmap/sweep)
    kw = dict(n_steps=40, replicas=2, record_every=5, history_size=4)

    def run(beta, dt, frac):
        return epidemic.sis(5, ring, beta, 1.0, dt=dt, initial_fraction=frac, **kw)

    direct = run(0.8, 0.05, 0.3)
    batched = jax.vmap(run)(
        jnp.asarray([0.8, 1.2]), jnp.asarray([0.05, 0.1]), jnp.asarray([0.3, 0.5])
    )
    np.testing.assert_allclose(
        np.asarray(batched.qs_prevalence[0]), np.asarray(direct.qs_prevalence)
    )
    assert bool(jnp.all(batched.status == RESULTS.successful))
    # an int seed, a key and a legacy key agree
    a = epidemic.sis(5, ring, 0.8, **kw)
    b = epidemic.sis(jr.key(5), ring, 0.8, **kw)
    c = epidemic.sis(jr.PRNGKey(5), ring, 0.8, **kw)
    np.testing.assert_array_equal(np.asarray(a.final_state), np.asarray(b.final_state))
    np.testing.assert_array_equal(np.asarray(a.final_state), np.asarray(c.final_state))


@pytest.mark.parametrize(
    "name, value",
    [
        ("infection_rate", -0.5),
        ("infection_rate", np.nan),
        ("recovery_rate", 0.0),
        ("dt", -0.1),
        ("dt", np.inf),
        ("history_rate", 0.0),
        ("initial_fraction", 1.5),
    ],
)
def test_sis_traced_bad_parameter_is_reported(ring, name, value):
    args = dict(
        infection_rate=0.8,
        recovery_rate=1.0,
        dt=0.05,
        history_rate=1.0,
        initial_fraction=0.5,
    )

    @jax.jit
    def run(x):
        return epidemic.sis(
            0, ring, **{**args, name: x}, n_steps=20, record_every=5, history_size=4
        )

    res = run(jnp.asarray(value))
    assert res.status == RESULTS.invalid_parameter
    assert np.isnan(np.asarray(res.qs_prevalence)).all()
    assert np.isnan(np.asarray(res.qs_susceptibility)).all()


def test_formulas_are_traceable():
    pa = jax.vmap(lambda lam: epidemic.pair_approximation_prevalence(lam, 6.0))
    out = np.asarray(pa(jnp.asarray([0.4, 0.6, -1.0])))
    np.testing.assert_allclose(out[:2], [6 / 11, 12 / 17], rtol=1e-12)
    assert np.isnan(out[2])
    lam = np.geomspace(0.01, 1, 21)
    chi = np.exp(-((np.log(lam) - np.log(0.1)) ** 2))
    peak = jax.jit(epidemic.susceptibility_peak)(jnp.asarray(lam), jnp.asarray(chi))
    np.testing.assert_allclose(float(peak), 0.1, rtol=1e-6)
    bad = jax.jit(epidemic.susceptibility_peak)(
        jnp.asarray(lam[::-1]), jnp.asarray(chi)
    )
    assert np.isnan(float(bad))
    hmf = jax.jit(epidemic.threshold_hmf_from_degrees)(jnp.zeros(4))
    assert np.isnan(float(hmf))
    with pytest.raises(ValueError, match="degree"):
        epidemic.pair_approximation_prevalence(0.5, 1.0)


@pytest.fixture(scope="module")
def layout_graphs():
    """BA hubs (short and long tail) and a masked graph, with layouts, built once."""
    from meshjax.graph import barabasi_albert, from_edges, with_layout

    ba = barabasi_albert(jr.key(0), 3000, 3)
    rng = np.random.default_rng(1)
    pairs = rng.integers(0, 500, (2500, 2))
    pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
    return [
        with_layout(ba, policy="always"),
        with_layout(ba, policy="always", max_columns=4),  # long tail
        with_layout(from_edges(pairs, 500, capacity=2600), policy="always"),  # masked
    ]


@pytest.mark.parametrize("runs", [1, 3, 4, 9])
def test_infected_neighbour_counts_on_the_layout_match_neighbor_sum(
    runs, layout_graphs
):
    """The byte-packed layout count (one run as int8, four runs per int32 word, the
    hubs' tail summed per run) equals the float `neighbor_sum`, with and without a tail
    and with a baked mask. (Both under `jit`, as in `sis`: op by op, every primitive of
    every layout column was compiled on its own.)"""
    from meshjax.epidemic import _infected_neighbours
    from meshjax.graph import neighbor_sum

    @jax.jit
    def both(g, x):
        return neighbor_sum(g, x.astype(jnp.float32)), _infected_neighbours(
            g, x, jnp.float32
        )

    for g in layout_graphs:
        assert g.layout is not None
        x = jr.uniform(jr.key(runs), (g.n_nodes, runs)) < 0.6
        ref, got = both(g, x)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(ref))


@pytest.mark.parametrize("replicas", [1, 3])
def test_sis_on_the_layout_equals_the_segment_path(rrg, replicas):
    """Same key, same graph with and without its gather layout: identical runs (the
    infected-neighbour counts are the same integers either way)."""
    from meshjax.graph import with_layout

    kw = dict(n_steps=60, dt=0.1, replicas=replicas, record_every=10)
    a = epidemic.sis(jr.key(5), rrg, [0.3, 0.5], 1.0, **kw)
    b = epidemic.sis(
        jr.key(5), with_layout(rrg, policy="always"), [0.3, 0.5], 1.0, **kw
    )
    np.testing.assert_array_equal(np.asarray(a.final_state), np.asarray(b.final_state))
    np.testing.assert_array_equal(
        np.asarray(a.prevalence_series), np.asarray(b.prevalence_series)
    )


def test_float32_susceptibility_keeps_its_digits():
    # chi from <rho^2> - <rho>^2 of float32 time averages was 0.4-0.8% off at
    # n = 10^5-2·10^5 (and mostly rounding at 10^7); summed about the mean it is exact
    n = 100_000
    g = mg.erdos_renyi(jr.key(1), n, 10.0)
    with jax.enable_x64(False):
        r = epidemic.sis(
            jr.key(2), g, 0.2, recovery_rate=1.0, dt=0.1, n_steps=300, n_burn=100,
            record_every=1, replicas=2, qs="none", initial_fraction=0.5,
        )  # fmt: skip
        chi, pooled = (
            np.asarray(r.qs_susceptibility[0]),
            float(r.pooled_susceptibility[0]),
        )
    s = np.asarray(r.prevalence_series, np.float64)[0, :, 100:]
    np.testing.assert_allclose(chi, n * s.var(axis=1) / s.mean(axis=1), rtol=1e-5)
    ref = n * ((s**2).mean() - s.mean() ** 2) / s.mean()
    np.testing.assert_allclose(pooled, ref, rtol=1e-5)
