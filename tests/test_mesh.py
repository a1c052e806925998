"""meshjax.mesh: each ingredient alone reproduces its own module; routing, settlement,
replicas, keys and validation."""

import chex
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from meshjax import RESULTS, ces, diffusion, fitness, mesh
from meshjax.graph import laplacian_matvec

QUIET = dict(
    query_rate=0.0, skill_rate=0.0, diffusion_rate=0.0, learning=0.0, forgetting=0.0
)


def _advance(key, state, params, n_steps):
    def body(st, k):
        return mesh.step(k, st, params), None

    return jax.lax.scan(body, state, jr.split(key, n_steps))[0]


def test_arrivals_alone_give_bb_degree_exponent():
    """Arrivals only, one at a time: the degree tail matches `fitness.bianconi_barabasi`
    (uniform fitness) within a statistical tolerance."""
    n, m = 3000, 2
    params = mesh.MeshParams(growth=1.0, **QUIET)
    kmin = 2 * m
    ours, theirs = [], []
    advance = jax.jit(_advance, static_argnums=3)
    for seed in range(2):
        st = mesh.init_state(seed, params, n_agents=n, m=m, max_arrivals=1, n_types=2)
        st = advance(jr.key(seed), st, params, n - m - 1)
        assert int(st.n_present) == n
        deg = np.asarray(st.degree)
        assert deg.sum() == 2 * np.sum(np.asarray(st.targets) >= 0)
        ours.append(fitness.degree_exponent_mle(deg, kmin))
        eta = fitness.uniform_fitness(jr.key(100 + seed), n)
        eta = jnp.maximum(eta, 1e-6)
        bb = fitness.bianconi_barabasi(jr.key(200 + seed), eta, m, build_graph=False)
        theirs.append(fitness.degree_exponent_mle(np.asarray(bb.degrees), kmin))
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.2, (ours, theirs)
    # and both are the fat tail of uniform-fitness BB (1 + C = 2.255 up to log
    # corrections and finite size), far from BA's 3 and from an exponential tail
    assert 2.0 < np.mean(ours) < 2.9


def test_arrival_targets_are_distinct_and_drawn_in_proportion_to_eta_k():
    """One step's arrivals on a fixed mesh: every arrival gets m distinct targets (also
    where fitness is small: theta = 50; a rejection sampler with a fixed number of tries
    once left most of those arrivals isolated), and the first target of an arrival is
    drawn with probability eta_i k_i / sum (a chi-square test over many keys)."""
    from meshjax.mesh._dynamics import _arrive

    n, m, b = 60, 3, 8
    for theta in (0.0, 50.0):
        params = mesh.MeshParams(growth=0.2, fitness_theta=theta, link_prob=1.0)
        st = mesh.init_state(0, params, n_agents=n, m=m, max_arrivals=b, n_init=30)
        st = _advance(jr.key(1), st, params, 1)  # a mesh with unequal degrees
        n0 = int(st.n_present)
        arrive = jax.jit(jax.vmap(lambda k: _arrive(k, st, params)[0].targets))
        keys = jr.split(jr.key(2), 2000)
        targets = np.asarray(arrive(keys)).reshape(len(keys), n, m)
        n_new = int(np.floor(0.2 * n0 + 1.0))  # at least this many arrive every time
        new = targets[:, n0 : n0 + n_new - 1]
        assert (new >= 0).all() and (new < n0).all()
        assert (np.sort(new, axis=-1)[..., 1:] != np.sort(new, axis=-1)[..., :-1]).all()
        first = new[..., 0].reshape(-1)
        w = np.asarray(st.fitness[:n0], np.float64) * np.asarray(st.degree[:n0])
        expected = first.size * w / w.sum()
        counts = np.bincount(first, minlength=n0)
        big = expected >= 5  # chi-square over the well-filled cells, the rest pooled
        assert counts[w == 0].sum() == 0  # an agent without weight is never drawn
        obs, exp = counts[big], expected[big]
        if expected[~big].sum() > 0:
            obs = np.append(obs, counts[~big].sum())
            exp = np.append(exp, expected[~big].sum())
        chi2 = float(((obs - exp) ** 2 / exp).sum())
        dof = len(obs) - 1
        assert chi2 < dof + 5 * np.sqrt(2 * dof), (theta, chi2, dof)  # ~5 sigma


def test_diffusion_alone_conserves_and_matches_diffuse():
    n, kappa, steps = 40, 0.002, 500
    params = mesh.MeshParams(growth=0.0, **{**QUIET, "diffusion_rate": kappa})
    st = mesh.init_state(
        1, params, n_agents=n, m=2, n_init=n - 1, diffusion="laplacian",
        dtype=jnp.float64,
    )  # fmt: skip
    c0 = st.capability
    st1 = jax.jit(_advance, static_argnums=3)(jr.key(2), st, params, steps)
    c1 = st1.capability
    np.testing.assert_allclose(c1.sum(0), c0.sum(0), rtol=1e-12)
    g = mesh.as_graph(st)
    # exactly the explicit Euler scheme of (11)
    u = jax.jit(  # one program, not 500 op-by-op steps
        lambda u: jax.lax.fori_loop(
            0, steps, lambda _, u: u - kappa * laplacian_matvec(g, u), u
        )
    )(c0)
    np.testing.assert_allclose(c1, u, rtol=1e-9, atol=1e-12)
    # and the exact solution of `diffusion.diffuse` up to the O(kappa) Euler error
    exact = diffusion.diffuse(g, c0, kappa * steps)
    err = np.abs(np.asarray(c1) - np.asarray(exact)).max()
    spread = np.abs(np.asarray(c0) - np.asarray(c0).mean(0)).max()
    assert err < 0.02 * spread, (err, spread)


def test_metropolis_diffusion_conserves_the_total():
    params = mesh.MeshParams(growth=0.2, **{**QUIET, "diffusion_rate": 1.0})
    st = mesh.init_state(3, params, n_agents=300, m=3)
    c0 = st.capability.sum(0)
    st1 = jax.jit(_advance, static_argnums=3)(jr.key(4), st, params, 40)
    present = np.asarray(st1.present())
    # absent agents keep their initial draw; present ones exchange mass
    c_pres0 = np.asarray(mesh.init_state(3, params, n_agents=300, m=3).capability)
    tot0 = c_pres0[present].sum(0)
    np.testing.assert_allclose(np.asarray(st1.capability)[present].sum(0), tot0,
                               rtol=2e-5)  # fmt: skip
    assert np.isfinite(np.asarray(c0)).all()


def _path_state(L, max_hops):
    """Agents 0..L on a path (band graph with m = 1), capability of type 0 rising
    towards L, where only agent L can serve."""
    st = mesh.init_state(0, n_agents=L + 2, m=1, n_init=L + 1, max_hops=max_hops,
                         n_types=2)  # fmt: skip
    c = np.zeros((L + 2, 2), np.float32)
    c[: L + 1, 0] = np.linspace(0.01, 0.1, L + 1)
    c[L, 0] = 1.0
    return eqx.tree_at(lambda s: s.capability, st, jnp.asarray(c))


PATH_L, PATH_H = 12, 8


@pytest.fixture(scope="module")
def path_state():
    """One path state (one compile of `init_state`) for the routing tests."""
    return _path_state(PATH_L, PATH_H)


def test_routing_on_a_path_gives_exact_hop_counts(path_state):
    L, H = PATH_L, PATH_H
    st = path_state
    src = np.arange(L + 1)
    r = mesh.route(st, src, np.zeros(L + 1, np.int32), serve_threshold=0.5)
    assert r.status == RESULTS.successful
    dist = L - src
    reach = dist <= H
    np.testing.assert_array_equal(np.asarray(r.served), reach)
    np.testing.assert_array_equal(np.asarray(r.hops), np.minimum(dist, H))
    np.testing.assert_array_equal(np.asarray(r.server)[reach], L)
    np.testing.assert_array_equal(np.asarray(r.hop_limit), ~reach)
    # type 1: nobody can serve and nothing ascends: a dead end where it starts
    r1 = mesh.route(st, src, np.ones(L + 1, np.int32), serve_threshold=0.5)
    assert not np.asarray(r1.served).any()
    assert np.asarray(r1.dead_end).all() and (np.asarray(r1.hops) == 0).all()


def test_routing_stops_at_a_local_maximum(path_state):
    L = PATH_L
    c = np.asarray(path_state.capability).copy()
    c[3, 0] = 0.2  # a bump below the threshold between the source and the server
    st = eqx.tree_at(lambda s: s.capability, path_state, jnp.asarray(c))
    r = mesh.route(st, np.array([0, L - 1]), np.array([0, 0]), serve_threshold=0.5)
    np.testing.assert_array_equal(np.asarray(r.served), [False, True])
    np.testing.assert_array_equal(np.asarray(r.hops), [3, 1])
    np.testing.assert_array_equal(np.asarray(r.server), [3, L])
    np.testing.assert_array_equal(np.asarray(r.dead_end), [True, False])


def test_every_served_query_is_exactly_one_payment():
    params = mesh.MeshParams(growth=0.1, raf_f=0.3)
    st = mesh.init_state(5, params, n_agents=400, n_types=3, raf_ops=2)
    step = jax.jit(mesh.step)
    key = jr.key(6)
    for _ in range(30):
        key, k = jr.split(key)
        before = st
        st = step(k, st, params)
        d_earned = int((st.earned - before.earned).sum())
        d_paid = int((st.paid - before.paid).sum())
        tl, tl0 = st.tally, before.tally
        d_tx = int(tl.transactions - tl0.transactions)
        d_raf = int(tl.raf_transactions - tl0.raf_transactions)
        assert d_earned == d_paid == d_tx + d_raf
        d_served = int(tl.served - tl0.served)
        d_self = int(tl.self_served - tl0.self_served)
        assert d_tx == d_served - d_self
        assert int(tl.hop_hist.sum()) == int(tl.served)
        assert int(tl.served + tl.dead_end + tl.hop_limit) == int(tl.queries)
    assert int(st.tally.transactions) > 0 and int(st.tally.raf_transactions) > 0
    # nobody pays itself: earned and paid balance over the whole mesh
    assert int(st.earned.sum()) == int(st.paid.sum())


CFG = dict(n_agents=300, n_steps=40, record_every=10, n_types=3, type_capacity=8,
           raf_ops=2, lambda2_every=2, lanczos_steps=300)  # fmt: skip
RUN_PARAMS = mesh.MeshParams(growth=0.2, raf_f=0.2, variety_rate=0.01)


@pytest.fixture(scope="module")
def run():
    """One compiled configuration shared by the simulate tests (compiles dominate)."""
    return mesh.simulate(7, RUN_PARAMS, **CFG)


def test_simulate_records_and_settlement_totals(run):
    res = run
    assert res.status == RESULTS.successful
    res.raise_for_status()
    assert res.n_present.shape == (4,)
    tx = jnp.sum(res.transactions_per_step + res.raf_transactions_per_step) * 10
    assert round(float(tx)) == int(res.final.earned.sum()) == int(res.final.paid.sum())
    l2 = np.asarray(res.lambda2)
    assert np.isnan(l2[[0, 2]]).all() and np.isfinite(l2[[1, 3]]).all()
    assert (l2[[1, 3]] > 0).all()
    assert np.all(np.asarray(res.giant_fraction) <= 1)
    np.testing.assert_array_equal(res.hop_hist.sum(1) > 0, res.served_share > 0)


def test_c_mesh_is_eq15_via_ces(run):
    st = run.final
    J = int(st.n_types)
    c = np.asarray(st.capability, np.float64)[np.asarray(st.present())][:, :J]
    eq15 = np.sum(c.sum(0) ** 0.5) ** 2
    np.testing.assert_allclose(run.c_mesh_all[-1], eq15, rtol=1e-5)
    with jax.numpy_dtype_promotion("standard"):  # ces is not strict-clean on main yet
        want = ces.mesh_capability(c, 0.5)
    np.testing.assert_allclose(run.c_mesh_all[-1], want, rtol=1e-5)


def test_c_mesh_beyond_the_float_range_is_an_overflow_status():
    """(15) grows like J^(1/rho): at rho = 0.01 it is beyond float32 and the record is
    inf; the status says so (it said `successful`), and float64 holds it."""
    cfg = dict(n_agents=200, n_steps=10, record_every=5, n_types=3)
    res = mesh.simulate(0, mesh.MeshParams(rho=0.01), **cfg)
    assert np.isinf(np.asarray(res.c_mesh)).any()
    assert res.status == RESULTS.overflow
    with pytest.raises(Exception, match="overflow"):
        res.raise_for_status()
    ok = mesh.simulate(0, mesh.MeshParams(rho=0.5), **cfg)
    assert ok.status == RESULTS.successful


def test_lambda2_matches_dense_on_a_small_mesh(run):
    g = mesh.as_graph(run.final)
    n = g.n_nodes
    A = np.zeros((n, n))
    ok = np.asarray(g.edge_mask)
    A[np.asarray(g.receivers)[ok], np.asarray(g.senders)[ok]] = 1
    N = int(run.final.n_present)
    A = A[:N, :N]
    lam = np.linalg.eigvalsh(np.diag(A.sum(1)) - A)
    assert float(run.giant_fraction[-1]) == 1.0
    np.testing.assert_allclose(float(run.lambda2[-1]), lam[1], rtol=1e-3)


@pytest.mark.parametrize("kind", ["star", "two_stars", "tree", "clique_pair"])
def test_lanczos_lambda2_with_enough_steps_is_exact(kind):
    """With `steps` >= the member count the Ritz value is lambda_2 itself, also on graphs
    whose many equal eigenvalues end the recurrence early (a star: eigenvalue 1 with
    multiplicity n - 2); only the members' subgraph counts."""
    from meshjax import graph as G
    from meshjax.mesh._measure import lanczos_lambda2

    if kind == "star":
        edges = [(0, i) for i in range(1, 25)]
    elif kind == "two_stars":
        edges = [(0, i) for i in range(2, 14)] + [(1, i) for i in range(14, 30)]
        edges.append((0, 1))
    elif kind == "tree":
        edges = [(i, (i - 1) // 3) for i in range(1, 40)]
    else:
        a = [(i, j) for i in range(8) for j in range(i + 1, 8)]
        edges = a + [(i + 8, j + 8) for i, j in a] + [(7, 8)]
    n = max(max(e) for e in edges) + 3  # two isolated non-members
    g = G.from_edges(np.asarray(edges), n)
    members = jnp.arange(n) < n - 2
    lam = float(lanczos_lambda2(jr.key(0), g, members, n, jnp.float64))
    A = np.zeros((n - 2, n - 2))
    for u, v in edges:
        A[u, v] = A[v, u] = 1
    ref = np.linalg.eigvalsh(np.diag(A.sum(1)) - A)[1]
    np.testing.assert_allclose(lam, ref, rtol=1e-8, atol=1e-10)


def test_variety_creates_types_from_viable_pairs(run):
    J = np.asarray(run.n_types)
    assert J[-1] > 3 and (np.diff(J) >= 0).all() and J[-1] <= 8
    assert np.asarray(run.viable_pairs).max() >= 1
    # off (a traced parameter: same compilation): no new types
    res0 = mesh.simulate(7, eqx.tree_at(lambda p: p.variety_rate, RUN_PARAMS,
                                        jnp.asarray(0.0)), **CFG)  # fmt: skip
    assert (np.asarray(res0.n_types) == 3).all()


def test_vmap_over_replicas_equals_loop():
    keys = jr.split(jr.key(13), 2)
    batched = jax.vmap(lambda k: mesh.simulate(k, RUN_PARAMS, **CFG))(keys)
    for i in range(2):
        one = mesh.simulate(keys[i], RUN_PARAMS, **CFG)
        for name in ("n_present", "c_mesh", "transactions_per_step", "hop_hist"):
            np.testing.assert_allclose(
                getattr(batched, name)[i], getattr(one, name), rtol=1e-5
            )


def test_key_first_int_seed_and_legacy_key_agree(run):
    b = mesh.simulate(jr.key(7), RUN_PARAMS, **CFG)
    c = mesh.simulate(jr.PRNGKey(7), RUN_PARAMS, **CFG)
    for r in (b, c):
        np.testing.assert_array_equal(run.n_present, r.n_present)
        np.testing.assert_array_equal(run.c_mesh, r.c_mesh)


def test_specialisation_alone_tracks_query_demand():
    """Threshold rule of `specialization` driven by queries: the work per type settles
    at the demand over the efficiency, W_j / N -> q / (J alpha)."""
    J, alpha = 4, 2.0
    params = mesh.MeshParams(growth=0.0, query_rate=1.0, efficiency=alpha,
                             diffusion_rate=0.0, skill_rate=0.0)  # fmt: skip
    st = mesh.init_state(10, params, n_agents=2001, n_init=2000, n_types=J)
    st = jax.jit(_advance, static_argnums=3)(jr.key(11), st, params, 600)
    task = np.asarray(st.task)[:2000]
    work = np.bincount(task, minlength=J + 1)[:J] / 2000
    np.testing.assert_allclose(work, 1.0 / (J * alpha), atol=0.03)
    # and the thresholds have split: specialists sit at theta_min on their task
    th = np.asarray(st.thresholds)[:2000]
    assert (th.min(1) < 1.0).mean() > 0.5


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_agents=0), "n_agents"),
        (dict(n_agents=2.5), "n_agents"),
        (dict(n_steps=0), "n_steps"),
        (dict(record_every=3), "n_steps"),
        (dict(m=0), "m"),
        (dict(max_hops=0), "max_hops"),
        (dict(diffusion="exact"), "diffusion"),
        (dict(lambda2_every=3), "lambda2_every"),
        (dict(n_types=1), "n_types"),
        (dict(type_capacity=2), "type_capacity"),
        (dict(n_init=200), "n_init"),
        (dict(n_agents=4), "`n_agents`=4 is out of range for `m`=3"),
        (dict(dtype=jnp.float16), "dtype"),
        (dict(dtype=jnp.int32), "dtype"),
        (dict(dtype="spam"), "dtype"),
    ],
)
def test_bad_static_inputs_raise_naming_the_argument(kwargs, name):
    kw = dict(n_agents=100, n_steps=10, record_every=5) | kwargs
    with pytest.raises((ValueError, TypeError), match=name):
        mesh.simulate(0, **kw)


def test_float64_without_x64_is_refused():
    # JAX would silently run the whole simulation in float32
    with jax.enable_x64(False), pytest.raises(ValueError, match="jax_enable_x64"):
        mesh.simulate(0, n_agents=100, n_steps=10, record_every=5, dtype="float64")


@pytest.mark.parametrize(
    "field, value",
    [("query_rate", 2.0), ("growth", -1.0), ("rho", 1.0), ("rho", 0.0),
     ("quit_prob", 0.0), ("diffusion_rate", float("nan")), ("link_prob", 1.5)],
)  # fmt: skip
def test_bad_params_raise_or_report(run, field, value):
    with pytest.raises(ValueError, match=f"`{field}`"):
        mesh.MeshParams(**{field: value})
    # the same value reaching the compiled driver (where it is traced) is reported
    bad = eqx.tree_at(lambda p: getattr(p, field), RUN_PARAMS, jnp.asarray(value))
    res = mesh.simulate(0, bad, **CFG)
    assert res.status == RESULTS.invalid_parameter
    assert np.isnan(np.asarray(res.c_mesh)).all()
    # the final state was run on stand-in parameters: NaN, not a plausible state
    assert np.isnan(np.asarray(res.final.capability)).all()
    assert np.isnan(np.asarray(res.final.stimuli)).all()


def test_lambda2_records_do_not_change_the_run(run):
    # switching the lambda2 diagnostic on or off gives the same trajectory (its keys
    # were once split per group of records, so lambda2 changed the run it measured)
    off = mesh.simulate(7, RUN_PARAMS, **(CFG | dict(lambda2_every=0)))
    same = [lambda r: r.final] + [
        lambda r, f=f: getattr(r, f)
        for f in ("t", "n_present", "c_mesh", "mean_degree", "transactions_per_step")
        + ("served_share", "hop_hist", "n_types", "specialist_share")
    ]
    for get in same:
        chex.assert_trees_all_equal(get(off), get(run))
    assert np.isnan(np.asarray(off.lambda2)).all()
    assert np.isfinite(np.asarray(run.lambda2)[1::2]).all()


@pytest.mark.parametrize(
    "kw", [dict(theta_min=30.0, theta_max=20.0), dict(quit_prob=0.0), dict(rho=2.0)]
)
def test_step_with_a_traced_bad_parameter_gives_a_nan_state(kw):
    """`step` has no status: a traced parameter outside its domain, or theta_min >=
    theta_max (once not checked inside at all), makes its floats NaN (they were zeroed
    into a plausible state); `simulate` reports the pair as invalid_parameter."""
    st = mesh.init_state(0, n_agents=60)
    name, value = next(iter(kw.items()))
    rest = {k: v for k, v in kw.items() if k != name}

    def one(v):
        return mesh.step(1, st, mesh.MeshParams(**{name: v}, **rest))

    out = jax.jit(one)(jnp.asarray(value))
    assert np.isnan(np.asarray(out.capability)).all()
    assert np.isnan(np.asarray(out.thresholds)).all()
    good = jax.jit(one)(jnp.asarray(0.5 if name != "theta_min" else 1.0))
    assert np.isfinite(np.asarray(good.capability)).all()
    if name == "theta_min":
        res = jax.jit(
            lambda v: mesh.simulate(
                0,
                mesh.MeshParams(theta_min=v, theta_max=20.0),
                n_agents=60,
                n_steps=4,
                record_every=2,
            )
        )(jnp.asarray(30.0))
        assert res.status == RESULTS.invalid_parameter


def test_route_from_an_agent_yet_to_arrive():
    """Agent 35 of 40 is not present (n_present = 25): a concrete query from it is an
    error (it was served, by itself), a traced one is not routed and the status says
    so, while the other queries of the batch are routed as usual."""
    st = mesh.init_state(0, n_agents=40, n_init=25, n_types=4, m=2)
    assert int(st.n_present) == 25
    with pytest.raises(ValueError, match="`sources`.*n_present = 25"):
        mesh.route(st, np.array([3, 35]), np.array([0, 0]), serve_threshold=0.0)
    r = jax.jit(lambda s: mesh.route(st, s, jnp.array([0, 0]), serve_threshold=0.0))(
        jnp.array([3, 35])
    )
    assert r.status == RESULTS.invalid_parameter
    assert r.served.tolist() == [True, False]
    assert not np.asarray(r.dead_end | r.hop_limit)[1]
    ok = mesh.route(st, np.array([3]), np.array([0]), serve_threshold=0.0)
    assert ok.status == RESULTS.successful


def test_route_validates(path_state):
    st = path_state
    with pytest.raises(ValueError, match="`sources`"):
        mesh.route(st, np.array([99]), np.array([0]))
    with pytest.raises(ValueError, match="`types`"):
        mesh.route(st, np.array([0]), np.array([5]))
    with pytest.raises(ValueError, match="`serve_threshold`"):
        mesh.route(st, np.array([0]), np.array([0]), serve_threshold=-1.0)
