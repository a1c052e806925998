import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from meshjax import RESULTS, graph as mg, specialization as sp

J = 4
N = 1000
DEMAND = np.array([0.16, 0.1, 0.08, 0.06])  # total 0.4 of the agents' time
STEPS, EVERY = 2000, 250
METRICS = (
    "dol",
    "dol_propensity",
    "frac_specialised",
    "coverage",
    "work",
    "stimulus",
    "ces",
)


def _params(**kw):
    return sp.ThresholdParams(demand=jnp.asarray(DEMAND), **kw)


@pytest.fixture(scope="module")
def runs():
    """One learning run and one control run (xi = phi = 0) from the same thresholds."""
    out = {}
    for name, kw in (("learn", {}), ("control", dict(learning=0.0, forgetting=0.0))):
        p = _params(**kw)
        st0 = sp.init_state(jr.key(1), N, p)
        run = sp.simulate(jr.key(2), st0, p, STEPS, record_every=EVERY)
        assert run.status == RESULTS.successful
        series = {f: np.asarray(getattr(run, f)) for f in METRICS + ("t",)}
        out[name] = (p, st0, run.state, series)
    return out


def test_response_probability_eq9():
    s = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    th = np.array([1.0, 1.0, 1.0, 0.0, 3.0])
    for n in (1.0, 2.0, 7.5):
        want = np.where(th == 0, 1.0, s**n / (s**n + th**n))
        np.testing.assert_allclose(sp.response_probability(s, th, n), want, rtol=1e-12)
    assert float(sp.response_probability(1e3, 1.0, 500.0)) == 1.0  # no overflow


def test_division_of_labour_index():
    eye = np.eye(3).repeat(5, axis=0)
    np.testing.assert_allclose(sp.division_of_labour(eye), 1.0, atol=1e-12)
    same = np.tile([1.0, 2.0, 3.0], (10, 1))
    np.testing.assert_allclose(sp.division_of_labour(same), 0.0, atol=1e-12)
    w = np.random.default_rng(0).random((20, 3)) ** 3
    p = w / w.sum()
    pi, pj = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    mi = np.sum(p * np.log(p / (pi * pj)))
    np.testing.assert_allclose(
        sp.division_of_labour(w), mi / -np.sum(pj * np.log(pj)), rtol=1e-10
    )
    members = np.arange(20) < 10
    np.testing.assert_allclose(
        sp.division_of_labour(w, members), sp.division_of_labour(w[:10]), rtol=1e-12
    )


def test_specialisation_emerges(runs):
    """Prop. 4.2: from heterogeneous thresholds the DOL index rises close to 1."""
    _, _, final, s = runs["learn"]
    assert s["dol"][0] < s["dol"][-1]
    assert s["dol"][-3:].min() > 0.9
    assert s["dol_propensity"][-1] > 0.85
    assert s["frac_specialised"][-1] > 0.7
    th = np.asarray(final.thresholds)
    # agents end with at most one low threshold: specialists or (surplus) non-workers
    n_low = np.sum(th < 10.0, axis=1)
    assert np.mean(n_low >= 2) < 0.05 and np.mean(n_low == 1) > 0.2


def test_work_tracks_demand(runs):
    """Stimulus feedback: in steady state W_j / N -> demand_j / efficiency."""
    p, _, _, s = runs["learn"]
    work = s["work"][-4:].mean(0)  # 4 records of N = 1000 agents
    # binomial noise of a fraction d over 4 snapshots of N agents, plus the stimulus lag
    tol = 5 * np.sqrt(DEMAND / (4 * N)) + 0.005
    np.testing.assert_array_less(np.abs(work - DEMAND / float(p.efficiency)), tol)
    # coverage (dominant tasks) is ordered like the demand
    cov = s["coverage"][-1]
    assert np.all(np.diff(cov) < 0)


def test_control_no_specialisation(runs):
    """With xi = phi = 0 thresholds never move and no division of labour emerges."""
    _, st0, final, s = runs["control"]
    np.testing.assert_array_equal(final.thresholds, st0.thresholds)
    learn = runs["learn"][3]
    assert s["dol_propensity"][-1] < 0.1
    assert s["dol"][-1] < 0.5 * learn["dol"][-1]
    assert s["frac_specialised"][-1] < 0.05
    # work still tracks demand (the stimuli do that, not the learning)
    np.testing.assert_array_less(np.abs(s["work"][-6:].mean(0) - DEMAND), 0.025)


def test_simulate_matches_manual_loop(runs):
    """simulate == a Python loop over the jitted step with keys fold_in(key, t)."""
    p, st0, final, series = runs["learn"]
    key = jr.key(2)

    @jax.jit
    def manual(st):  # a plain loop over step, outside simulate's scan/record structure
        return jax.lax.fori_loop(
            0, EVERY, lambda i, s: sp.step(jr.fold_in(key, i), s, p), st
        )

    st = manual(st0)
    m = sp.metrics(st, p)
    for name in ("dol", "dol_propensity", "frac_specialised", "ces"):
        np.testing.assert_allclose(getattr(m, name), series[name][0], rtol=1e-10)
    np.testing.assert_allclose(m.work, series["work"][0], rtol=1e-10)
    assert series["dol"].shape == (STEPS // EVERY,) and series["work"].shape == (
        STEPS // EVERY,
        J,
    )
    assert int(final.t) == STEPS


def test_step_equations_one_step():
    """One step against the equations: quit, engage, stimuli, thresholds."""
    p = _params(quit_prob=1.0, learning=0.3, forgetting=0.1)
    th = np.full((6, J), 5.0)
    st = sp.init_state(jr.key(0), 6, p, thresholds=th)
    st = sp.ThresholdState(
        st.thresholds,
        jnp.asarray([0, 1, 2, 3, 4, 4], jnp.int16),
        jnp.asarray([1.0, 0.0, 2.0, 0.5]),
        st.activity,
        st.t,
    )
    nxt = sp.step(jr.key(1), st, p)
    # quit_prob = 1: every worker stops; idle agents 4, 5 may engage
    task = np.asarray(nxt.task)
    assert np.all(task[:4] == J)
    x = (task[:, None] == np.arange(J)).astype(float)
    want_s = np.maximum(np.array([1.0, 0.0, 2.0, 0.5]) + DEMAND - x.sum(0) / 6, 0)
    np.testing.assert_allclose(nxt.stimuli, want_s, rtol=1e-12)
    want_th = np.clip(th - 0.3 * x + 0.1 * (1 - x), 0.01, 20.0)
    np.testing.assert_allclose(nxt.thresholds, want_th, rtol=1e-12)
    np.testing.assert_allclose(nxt.activity, 0.005 * x, rtol=1e-12)


def test_graph_local_stimuli_and_present_mask():
    p = _params()
    g = mg.from_edges(np.array([[0, 1], [1, 2]]), 4)  # node 3 isolated
    st = sp.init_state(jr.key(0), 4, p, local=True, thresholds=np.full((4, J), 0.01))
    st = sp.ThresholdState(
        st.thresholds, st.task, jnp.full((4, J), 5.0), st.activity, st.t
    )
    present = jnp.asarray([True, True, True, False])
    nxt = sp.step(jr.key(1), st, p, graph=g, present=present)
    task = np.asarray(nxt.task)
    assert task[3] == J  # absent: never works
    np.testing.assert_array_equal(nxt.thresholds[3], st.thresholds[3])
    x = (task[:, None] == np.arange(J)).astype(float)
    A = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], float)
    deg = A.sum(1, keepdims=True)
    want = np.maximum(5.0 + DEMAND - (x + A @ x) / (1 + deg), 0)
    np.testing.assert_allclose(nxt.stimuli[:3], want[:3], rtol=1e-12)
    np.testing.assert_allclose(nxt.stimuli[3], 5.0)


@pytest.mark.parametrize(
    "kw",
    [
        dict(steepness=0.5),
        dict(learning=-0.1),
        dict(forgetting=-1.0),
        dict(quit_prob=0.0),
        dict(quit_prob=1.5),
        dict(theta_min=-1.0),
        dict(theta_min=5.0, theta_max=2.0),
        dict(efficiency=0.0),
        dict(memory=0.0),
        dict(demand=jnp.asarray([0.1])),
        dict(demand=jnp.asarray([0.1, -0.1])),
    ],
)
def test_bad_params(kw):
    base = dict(demand=jnp.asarray(DEMAND))
    base.update(kw)
    with pytest.raises(ValueError):
        sp.ThresholdParams(**base)


def test_bad_input():
    p = _params()
    with pytest.raises(ValueError):
        sp.init_state(jr.key(0), 3, p, thresholds=-np.ones((3, J)))
    with pytest.raises(ValueError):
        sp.init_state(jr.key(0), 3, p, thresholds=np.ones((3, J + 1)))
    with pytest.raises(ValueError):
        sp.init_state(jr.key(0), 3, p, theta0=(0.0, 100.0))
    with pytest.raises(ValueError):
        sp.init_state(jr.key(0), 0, p)
    with pytest.raises(ValueError):
        sp.response_probability(1.0, -1.0, 2.0)
    with pytest.raises(ValueError):
        sp.response_probability(1.0, 1.0, 0.5)
    with pytest.raises(ValueError):
        sp.division_of_labour(-np.ones((3, 2)))
    with pytest.raises(ValueError):
        sp.division_of_labour(np.ones((3, 1)))
    st = sp.init_state(jr.key(0), 3, p)
    with pytest.raises(ValueError):
        sp.simulate(jr.key(0), st, p, n_steps=10, record_every=3)
    with pytest.raises(ValueError):
        sp.simulate(jr.key(0), st, p, 10, rho=1.0)
    with pytest.raises(ValueError):
        sp.simulate(jr.key(0), st, p, 10, graph=mg.from_edges(np.array([[0, 1]]), 3))


@pytest.mark.parametrize(
    "name", ["learning", "forgetting", "quit_prob", "steepness", "memory", "efficiency"]
)
@pytest.mark.parametrize("value", [np.nan, np.inf, "0.5", None])
def test_nonfinite_or_wrong_type_param_names_it(name, value):
    # issue 12: learning=nan etc. were let through (NaN thresholds, no specialisation)
    with pytest.raises((ValueError, TypeError), match=f"`{name}`"):
        _params(**{name: value})


def test_traced_bad_capability_in_simulate_is_reported():
    # the records' own check (capability) used to be dropped: NaN metrics under status
    # successful
    st0 = sp.init_state(jr.key(0), 20, _params())

    @jax.jit
    def run(cap):
        return sp.simulate(
            jr.key(1), st0, _params(), 20, record_every=10, capability=cap
        )

    bad = run(jnp.asarray(-1.0))
    assert bad.status == RESULTS.invalid_parameter
    assert np.all(np.isnan(bad.ces))
    assert run(jnp.asarray(2.0)).status == RESULTS.successful


def test_traced_bad_params_give_invalid_status():
    st0 = sp.init_state(jr.key(0), 20, _params())

    @jax.jit
    def run(learning, quit_prob, rho):
        p = _params(learning=learning, quit_prob=quit_prob)
        return sp.simulate(jr.key(1), st0, p, 20, record_every=10, rho=rho)

    good = run(0.5, 0.1, 0.5)
    assert good.status == RESULTS.successful
    np.testing.assert_allclose(
        good.dol, sp.simulate(jr.key(1), st0, _params(), 20, record_every=10).dol
    )
    for args in [
        (np.nan, 0.1, 0.5),
        (-1.0, 0.1, 0.5),
        (0.5, 0.0, 0.5),
        (0.5, 0.1, 1.0),
    ]:
        bad = run(*args)
        assert bad.status == RESULTS.invalid_parameter, args
        assert np.all(np.isnan(bad.dol)) and np.all(np.isnan(bad.ces)), args
    # the same through vmap over a batch of parameters (one status per element)
    batch = jax.vmap(run)(
        jnp.asarray([0.5, np.nan]), jnp.full(2, 0.1), jnp.full(2, 0.5)
    )
    assert np.asarray(batch.is_successful()).tolist() == [True, False]


def test_int_seed_and_keys_agree():
    p = _params()
    a = sp.init_state(3, 10, p)
    b = sp.init_state(jr.key(3), 10, p)
    c = sp.init_state(jr.PRNGKey(3), 10, p)
    np.testing.assert_array_equal(a.thresholds, b.thresholds)
    np.testing.assert_array_equal(a.thresholds, c.thresholds)
    r1 = sp.simulate(5, a, p, 10)
    r2 = sp.simulate(jr.key(5), a, p, 10)
    np.testing.assert_array_equal(r1.dol, r2.dol)


def test_init_state_under_jit_with_theta0():
    p = _params()
    f = jax.jit(lambda k: sp.init_state(k, 5, p, theta0=(1.0, 2.0)).thresholds)
    th = np.asarray(f(jr.key(0)))
    assert th.min() >= 1.0 and th.max() <= 2.0
    np.testing.assert_array_equal(
        th, sp.init_state(jr.key(0), 5, p, theta0=(1.0, 2.0)).thresholds
    )
