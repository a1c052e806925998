"""Tests for meshjax.diffusion: exp(-tL) against scipy, Fiedler values against closed forms
and scipy, the spectral radius, Lemma 5.1's bound, bandwidth (13), bad input.

Graphs for the Lanczos tests share one shape (128 nodes, padded to one edge capacity), so
the solver compiles once per operator.
"""

import math

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse.linalg as spl

from meshjax import RESULTS, diffusion, graph as mg

N_PAD = 128
CAP = N_PAD * (N_PAD - 1) // 2  # room for the complete graph


def padded(G: nx.Graph) -> mg.Graph:
    G = nx.convert_node_labels_to_integers(G)
    assert G.number_of_nodes() == N_PAD
    edges = np.array(G.edges(), dtype=np.int64).reshape(-1, 2)
    return mg.from_edges(edges, N_PAD, capacity=CAP)


def laplacian(G: nx.Graph) -> np.ndarray:
    G = nx.convert_node_labels_to_integers(G)
    return (
        nx.laplacian_matrix(G, nodelist=range(G.number_of_nodes()))
        .toarray()
        .astype(float)
    )


CLOSED_FORMS = {
    "path": (nx.path_graph(N_PAD), 2 - 2 * math.cos(math.pi / N_PAD)),
    "cycle": (nx.cycle_graph(N_PAD), 2 - 2 * math.cos(2 * math.pi / N_PAD)),
    "complete": (nx.complete_graph(N_PAD), float(N_PAD)),
    "hypercube": (nx.hypercube_graph(7), 2.0),
}


# --- diffuse ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    G = nx.gnm_random_graph(40, 90, seed=2)
    return G, mg.from_networkx(G), laplacian(G)


@pytest.mark.parametrize("batch", [None, 3])
def test_diffuse_matches_expm(small, batch):
    G, g, L = small
    rng = np.random.default_rng(0)
    u0 = rng.normal(size=(40,) if batch is None else (40, batch))
    times = np.array([0.0, 0.05, 0.7, 4.0, 30.0])
    out = np.asarray(diffusion.diffuse(g, u0, times))
    assert out.shape == (5,) + u0.shape
    for i, t in enumerate(times):
        ref = sla.expm(-t * L) @ u0
        np.testing.assert_allclose(
            out[i], ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max()
        )
    # the mean is conserved to rounding
    np.testing.assert_allclose(
        out.mean(axis=1),
        np.broadcast_to(u0.mean(0), out.mean(1).shape),
        rtol=0,
        atol=1e-13,
    )


def test_diffuse_scalar_time_float32_and_masked_graph(small):
    G, _, L = small
    edges = np.array(G.edges())
    g = mg.from_edges(edges, 40, capacity=edges.shape[0] + 11)  # masked padding slots
    u0 = np.random.default_rng(1).normal(size=40).astype(np.float32)
    out = diffusion.diffuse(g, u0, 0.3)
    assert out.shape == (40,) and out.dtype == jnp.float32
    ref = sla.expm(-0.3 * L) @ u0.astype(np.float64)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=0, atol=2e-5)
    assert abs(float(jnp.mean(out)) - float(u0.mean())) < 1e-6


def test_chebyshev_coefficients_match_scipy():
    import scipy.special as ss

    for a in [0.0, 0.2, 3.0, 80.0, 2e4]:
        c = diffusion._chebyshev_exp_coeffs(a, 1e-14)
        k = np.arange(c.size)
        ref = ss.ive(k, a) * np.where(k == 0, 1.0, 2.0) * (-1.0) ** k
        np.testing.assert_allclose(c, ref, rtol=0, atol=1e-15)
        tail = 2 * ss.ive(np.arange(c.size, c.size + 4000), a).sum()
        assert tail <= 1e-14


@pytest.mark.parametrize("a", [0.0, 0.2, 3.0, 80.0, 700.0])
def test_traced_bessel_weights_match_scipy(a):
    # the in-JAX coefficients (FFT of exp(a (cos - 1))) used for traced times
    import scipy.special as ss

    k = 256
    w, tail = diffusion._bessel_weights(jnp.asarray([a]), k)
    j = np.arange(k)
    ref = ss.ive(j, a) * np.where(j == 0, 1.0, 2.0)
    np.testing.assert_allclose(np.asarray(w[0]), ref, rtol=0, atol=1e-14)
    eps = np.finfo(np.float64).eps  # the tail is a sum of |rounding| when tiny
    assert float(tail[0]) <= 2 * ss.ive(np.arange(k, 4 * k), a).sum() + k * eps


def test_diffuse_times_are_traceable(small):
    # issue 12: `times` were read on the host (TypeError under jit/vmap/sweep)
    G, g, L = small
    u0 = np.random.default_rng(0).normal(size=40)
    ts = np.array([0.0, 0.3, 2.0])
    direct = np.asarray(diffusion.diffuse(g, u0, ts))
    vm = jax.vmap(lambda t: diffusion.diffuse(g, u0, t))(jnp.asarray(ts))
    jt = jax.jit(lambda t: diffusion.diffuse(g, u0, t, n_terms=96))(jnp.asarray(ts))
    np.testing.assert_allclose(np.asarray(vm), direct, rtol=0, atol=1e-11)
    np.testing.assert_allclose(np.asarray(jt), direct, rtol=0, atol=1e-11)
    # a traced time outside [0, inf) gives NaN at that time, not a number
    bad = jax.jit(lambda t: diffusion.diffuse(g, u0, t))(jnp.asarray([-1.0, 0.3]))
    assert np.isnan(np.asarray(bad[0])).all()
    np.testing.assert_allclose(np.asarray(bad[1]), direct[1], rtol=0, atol=1e-11)
    # too few terms for a traced time: an error, not a silently truncated series
    with pytest.raises(Exception, match="n_terms"):
        jax.jit(lambda t: diffusion.diffuse(g, u0, t, n_terms=8))(jnp.asarray(50.0))


def test_diffuse_spectral_bound_and_tol_traceable(small):
    G, g, L = small
    u0 = np.random.default_rng(2).normal(size=(40, 2))
    kmax = float(np.max(L.diagonal()))
    direct = np.asarray(diffusion.diffuse(g, u0, 0.5, spectral_bound=2.5 * kmax))
    f = jax.jit(
        lambda ell, tol: diffusion.diffuse(g, u0, 0.5, spectral_bound=ell, tol=tol)
    )
    out = f(jnp.asarray(2.5 * kmax), jnp.asarray(1e-12))
    np.testing.assert_allclose(np.asarray(out), direct, rtol=0, atol=1e-11)
    assert np.isnan(np.asarray(f(jnp.asarray(-1.0), jnp.asarray(1e-12)))).all()
    assert np.isnan(np.asarray(f(jnp.asarray(2.5 * kmax), jnp.asarray(2.0)))).all()


def test_diffuse_spectral_bound_below_max_degree_is_refused(small):
    # before: a bound below lambda_max(L) silently gave a wrong (even growing) solution
    G, g, L = small
    with pytest.raises(ValueError, match="spectral_bound"):
        diffusion.diffuse(g, np.ones(40), 1.0, spectral_bound=1.0)


def test_diffuse_refuses_negative_weights_and_a_bound_below_lambda_max():
    import scipy.linalg

    tri = np.array([[0, 1], [1, 2], [0, 2]])
    g = mg.from_edges(tri, 3, weights=np.array([1.0, 1.0, -3.0]))
    with pytest.raises(ValueError, match="graph.weights"):  # gave 1.7e4 for 74
        diffusion.diffuse(g, np.eye(3)[0], 1.0)
    # the star K_{1,4}: s_max = 4 < lambda_max = 5 = d_max + 1 (a bound of 4 was
    # accepted and missed the promised tolerance by 10^4)
    star = mg.from_edges(np.array([[0, i] for i in range(1, 5)]), 5)
    u0 = np.arange(5.0)
    with pytest.raises(ValueError, match="spectral_bound"):
        diffusion.diffuse(star, u0, 3.0, spectral_bound=4.0)
    got = np.asarray(diffusion.diffuse(star, u0, 3.0, spectral_bound=5.0))
    A = np.zeros((5, 5))
    A[0, 1:] = A[1:, 0] = 1.0
    ref = scipy.linalg.expm(-3.0 * (np.diag(A.sum(1)) - A)) @ u0
    np.testing.assert_allclose(got, ref, atol=1e-11)
    # weighted: the bound is s_i + sum_j w_ij^2 / s_i (here 3 + 5/3 at the hub)
    path = mg.from_edges(np.array([[0, 1], [1, 2]]), 3, weights=np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="spectral_bound"):
        diffusion.diffuse(path, u0[:3], 1.0, spectral_bound=4.6)
    L = np.array([[1.0, -1, 0], [-1, 3, -2], [0, -2, 2]])
    assert np.linalg.eigvalsh(L).max() >= 3 + 5 / 3
    got = np.asarray(diffusion.diffuse(path, u0[:3], 1.0, spectral_bound=4.7))
    np.testing.assert_allclose(got, scipy.linalg.expm(-L) @ u0[:3], atol=1e-11)


def test_diffuse_edgeless_graph_is_constant():
    g = mg.from_edges(np.zeros((0, 2), np.int64), 5)
    u0 = np.arange(5.0)
    out = diffusion.diffuse(g, u0, [0.0, 2.0])
    np.testing.assert_array_equal(np.asarray(out), np.stack([u0, u0]))


@pytest.mark.parametrize(
    "bad, err",
    [
        (dict(times=[-1.0]), ValueError),
        (dict(times=[np.nan]), ValueError),
        (dict(times=[[1.0]]), ValueError),
        (dict(u0=np.ones(39)), ValueError),
        (dict(u0=np.ones((40, 2, 2))), ValueError),
        (dict(u0=np.full(40, np.nan)), ValueError),
        (dict(u0=np.ones(40, bool)), TypeError),
        (dict(tol=0.0), ValueError),
        (dict(tol=np.inf), ValueError),
        (dict(spectral_bound=-1.0), ValueError),
        (dict(spectral_bound=np.nan), ValueError),
        (dict(graph="not a graph"), TypeError),
        (dict(u0="abc"), TypeError),
        (dict(u0=np.ones(40, complex)), TypeError),
        (dict(times=["a"]), TypeError),
        (dict(times=[np.inf]), ValueError),
        (dict(n_terms=1), ValueError),
        (dict(n_terms=2.5), TypeError),
    ],
)
def test_diffuse_bad_input(small, bad, err):
    args = dict(graph=small[1], u0=np.ones(40), times=[1.0])
    args.update(bad)
    with pytest.raises(err):
        diffusion.diffuse(**args)


# --- Fiedler value and vector ---------------------------------------------------------


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_fiedler_closed_forms(name):
    G, exact = CLOSED_FORMS[name]
    res = diffusion.fiedler(padded(G), method="lanczos")
    assert res.status == RESULTS.successful and int(res.n_components) == 1
    np.testing.assert_allclose(float(res.value), exact, rtol=1e-4)
    x = np.asarray(res.vector)
    L = laplacian(G)
    assert abs(x.sum()) < 1e-8 and abs(np.linalg.norm(x) - 1) < 1e-10
    assert np.linalg.norm(L @ x - float(res.value) * x) <= float(res.residual) + 1e-10


@pytest.mark.parametrize("seed", [0, 1])
def test_fiedler_matches_scipy_on_random_graphs(seed):
    graphs = [
        nx.random_regular_graph(4, N_PAD, seed=seed),
        nx.barabasi_albert_graph(N_PAD, 2, seed=seed),
        nx.connected_watts_strogatz_graph(N_PAD, 6, 0.2, seed=seed),
    ]
    for G in graphs:
        assert nx.is_connected(G)
        ref = np.sort(np.linalg.eigvalsh(laplacian(G)))[1]
        val = diffusion.fiedler_value(padded(G), method="lanczos")
        np.testing.assert_allclose(float(val), ref, rtol=1e-4)
        # and networkx's own routine agrees
        nx_ref = nx.algebraic_connectivity(G, method="tracemin_lu", tol=1e-10)
        np.testing.assert_allclose(float(val), nx_ref, rtol=1e-4)


@pytest.mark.parametrize("basis_size,keep", [(64, 24), (8, 3)])
def test_fiedler_float32_on_a_hub_graph(basis_size, keep):
    # Single-precision Lanczos on a graph with hubs (where L v_j is much longer than the
    # new direction, the hard case for one reorthogonalisation pass), with one cycle's
    # worth of restarts and with many: the answer is an eigenpair to within its reported
    # residual plus float32's rounding floor of a mat-vec, eps * 2 s_max.
    G = nx.barabasi_albert_graph(1500, 3, seed=4)
    L = laplacian(G)
    ref = np.sort(np.linalg.eigvalsh(L))[1]
    res = diffusion.fiedler(
        mg.from_networkx(G),
        dtype="float32",
        tol=1e-6,
        basis_size=basis_size,
        keep=keep,
    )
    assert res.status == RESULTS.successful and res.value.dtype == jnp.float32
    floor = 10 * np.finfo(np.float32).eps * 2 * L.diagonal().max()
    x = np.asarray(res.vector, np.float64)
    assert abs(x.sum()) < 1e-4 and abs(np.linalg.norm(x) - 1) < 1e-5
    # the reported residual is the computed one, not the recurrence's estimate
    true_residual = np.linalg.norm(L @ x - float(res.value) * x)
    np.testing.assert_allclose(float(res.residual), true_residual, rtol=0.01)
    assert abs(float(res.value) - ref) <= float(res.residual) + floor
    assert float(res.residual) <= 1e-6 * 2 * L.diagonal().max()


def test_lanczos_keeps_a_short_genuine_direction():
    # A tridiagonal operator whose top eigenvector reaches past a weak coupling (3e-5 of
    # the entries' size, ~250 float32 eps): the remainder there is short but genuine.
    # Treating it as a breakdown set it aside for a fresh direction every cycle, so the
    # run never converged (and once reported a residual of 0); kept, it converges.
    from meshjax._spectral import lanczos_extreme

    n = 200
    rng = np.random.default_rng(0)
    diag = np.r_[1.0, 2.0, 3.0, 4.0, 10.0, rng.uniform(0, 8, n - 5)]
    off = np.r_[1.0, 1.0, 1.0, 1.0, 3e-5, rng.uniform(0.5, 1, n - 6)]
    A = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
    ref = np.linalg.eigvalsh(A).max()
    v0 = np.zeros(n, np.float32)
    v0[0] = 1
    r = lanczos_extreme(
        lambda a, x: a @ x,
        jnp.asarray(A, jnp.float32),
        jnp.asarray(v0),
        m=5,
        k=2,
        largest=True,
        tol=jnp.float32(1e-6),
        scale=jnp.float32(12.0),
        max_restarts=50,
        deflate_constant=False,
    )
    assert bool(r.converged) and float(r.residual) <= 1.2e-5
    x = np.asarray(r.vector, np.float64)
    np.testing.assert_allclose(
        float(r.residual), np.linalg.norm(A @ x - float(r.value) * x), atol=1e-6
    )
    assert abs(float(r.value) - ref) <= float(r.residual) + 1e-5


def test_fiedler_below_the_precision_floor_stops_and_says_so():
    # float32 cannot bring the residual to 1e-10 * 2 s_max: the run stops once the
    # recurrence's estimate is a quarter of the computed residual (rounding makes up the
    # rest), long before max_restarts, with status not_converged and the computed
    # residual.
    G = nx.barabasi_albert_graph(1500, 3, seed=4)
    L = laplacian(G)
    ref = np.sort(np.linalg.eigvalsh(L))[1]
    res = diffusion.fiedler(mg.from_networkx(G), dtype="float32", tol=1e-10)
    assert res.status == RESULTS.not_converged
    assert int(res.n_matvec) < 100 * 41  # max_restarts=1000 cycles would be ~40000
    x = np.asarray(res.vector, np.float64)
    true_residual = np.linalg.norm(L @ x - float(res.value) * x)
    np.testing.assert_allclose(float(res.residual), true_residual, rtol=0.01)
    assert float(res.residual) > 1e-10 * 2 * L.diagonal().max()
    assert abs(float(res.value) - ref) <= float(res.residual)


def test_fiedler_dense_path_and_vector():
    G = nx.path_graph(10)
    g = mg.from_networkx(G)
    res = diffusion.fiedler(g)  # n <= 64: dense
    assert int(res.n_matvec) == 0
    np.testing.assert_allclose(
        float(res.value), 2 - 2 * math.cos(math.pi / 10), rtol=1e-12
    )
    v = np.asarray(diffusion.fiedler_vector(g))
    # the path's Fiedler vector is cos(pi (i + 1/2) / n), up to sign
    ref = np.cos(np.pi * (np.arange(10) + 0.5) / 10)
    ref /= np.linalg.norm(ref)
    assert min(np.abs(v - ref).max(), np.abs(v + ref).max()) < 1e-10


def test_fiedler_disconnected_is_zero_and_says_so():
    G = nx.disjoint_union(nx.cycle_graph(6), nx.cycle_graph(5))
    g = mg.from_networkx(G)
    for method in ("dense", "lanczos"):
        res = diffusion.fiedler(g, method=method)
        assert res.status == RESULTS.disconnected and int(res.n_components) == 2
        assert bool(res.is_successful())  # an answer, not a failure
        res.raise_for_status()
        assert float(res.value) == 0.0
        x = np.asarray(res.vector)
        np.testing.assert_allclose(laplacian(G) @ x, 0, atol=1e-12)
        assert abs(x.sum()) < 1e-12
    assert float(diffusion.fiedler_value(g)) == 0.0


def test_fiedler_zero_weight_bridge_is_disconnected():
    """Two cycles joined by one edge of weight 0: L is that of the two cycles apart, so
    lambda_2 = 0 exactly and the status says so (the structure alone is connected);
    with weight 1 on that edge it is connected, lambda_2 > 0."""
    G = nx.disjoint_union(nx.cycle_graph(6), nx.cycle_graph(5))
    G.add_edge(0, 6)
    for bridge in (0.0, 1.0):
        for u, v in G.edges:
            G[u][v]["weight"] = bridge if (u, v) == (0, 6) else 1.0
        g = mg.from_networkx(G, weight="weight")
        lam = np.sort(np.linalg.eigvalsh(laplacian(G)))[1]
        for method in ("dense", "lanczos"):
            res = diffusion.fiedler(g, method=method)
            if bridge == 0.0:
                assert res.status == RESULTS.disconnected
                assert int(res.n_components) == 2 and float(res.value) == 0.0
                x = np.asarray(res.vector)
                np.testing.assert_allclose(laplacian(G) @ x, 0, atol=1e-12)
            else:
                assert res.status == RESULTS.successful
                assert int(res.n_components) == 1
                np.testing.assert_allclose(float(res.value), lam, rtol=1e-8)


def test_fiedler_reports_non_convergence():
    g = padded(CLOSED_FORMS["path"][0])
    res = diffusion.fiedler(g, method="lanczos", tol=1e-14, max_restarts=1)
    assert res.status == RESULTS.not_converged
    assert float(res.residual) > 0 and np.isfinite(float(res.value))
    assert not bool(res.is_successful())
    assert "did not converge" in RESULTS[res.status]
    # the value-only forms say so with NaN instead of a silently rough number
    assert np.isnan(
        float(diffusion.fiedler_value(g, method="lanczos", tol=1e-14, max_restarts=1))
    )


def test_fiedler_jits_over_graphs_and_traced_tol():
    G = nx.connected_watts_strogatz_graph(30, 4, 0.3, seed=1)
    g = mg.from_networkx(G)
    ref = np.sort(np.linalg.eigvalsh(laplacian(G)))[1]
    res = jax.jit(lambda gr, tol: diffusion.fiedler(gr, tol=tol))(g, jnp.asarray(1e-9))
    np.testing.assert_allclose(float(res.value), ref, rtol=1e-9)
    bad = jax.jit(lambda tol: diffusion.fiedler(g, tol=tol))(jnp.asarray(np.nan))
    assert bad.status == RESULTS.invalid_parameter and np.isnan(float(bad.value))


@pytest.mark.parametrize(
    "bad",
    [
        dict(method="qr"),
        dict(basis_size=1),
        dict(keep=0),
        dict(tol=2.0),
        dict(max_restarts=0),
        dict(dtype="int32"),
    ],
)
def test_fiedler_bad_input(bad):
    g = mg.from_networkx(nx.path_graph(70))
    with pytest.raises(ValueError, match=next(iter(bad))):
        diffusion.fiedler(g, **bad)
    with pytest.raises(ValueError, match="graph"):
        diffusion.fiedler(mg.from_edges(np.zeros((0, 2), np.int64), 1))


# --- spectral radius ----------------------------------------------------------------------


def test_spectral_radius():
    for G, exact in [
        (nx.complete_graph(N_PAD), N_PAD - 1.0),
        (nx.cycle_graph(N_PAD), 2.0),
        (nx.hypercube_graph(7), 7.0),
    ]:
        np.testing.assert_allclose(
            float(diffusion.spectral_radius(padded(G))), exact, rtol=1e-8
        )
    G = nx.barabasi_albert_graph(N_PAD, 2, seed=5)
    A = nx.adjacency_matrix(G, nodelist=range(N_PAD)).astype(float)
    ref = spl.eigsh(A, k=1, which="LA")[0][0]
    res = diffusion.leading_adjacency(padded(G))
    assert res.status == RESULTS.successful
    np.testing.assert_allclose(float(res.value), ref, rtol=1e-8)
    assert np.all(np.asarray(res.vector) * np.sign(res.vector[0]) > 0)  # Perron vector
    # small graphs use the dense path
    np.testing.assert_allclose(
        float(diffusion.spectral_radius(mg.from_networkx(nx.star_graph(9)))),
        3.0,
        rtol=1e-12,
    )


# --- Lemma 5.1, bandwidth -----------------------------------------------------------------


def test_consensus_decay_obeys_bound_and_is_tight_for_fiedler_vector(small):
    G = nx.connected_watts_strogatz_graph(40, 4, 0.3, seed=3)
    g = mg.from_networkx(G)
    lam2 = float(diffusion.fiedler_value(g))
    times = np.linspace(0, 40, 11)
    u0 = np.random.default_rng(3).normal(size=(40, 4))
    curve = diffusion.consensus_decay(g, u0, times, lambda2=lam2)
    assert curve.status == RESULTS.successful
    assert curve.distance.shape == (11, 4) == curve.bound.shape
    assert np.all(
        np.asarray(curve.distance) <= np.asarray(curve.bound) * (1 + 1e-9) + 1e-12
    )
    # slope at late times -> lambda2
    d = np.asarray(curve.distance)[:, 0]
    np.testing.assert_allclose(
        -np.log(d[-1] / d[-2]) / (times[-1] - times[-2]), lam2, rtol=0.05
    )
    phi = np.asarray(diffusion.fiedler_vector(g))
    tight = diffusion.consensus_decay(g, 3.0 + phi, times, lambda2=lam2)
    np.testing.assert_allclose(
        np.asarray(tight.distance), np.asarray(tight.bound), rtol=1e-9, atol=1e-11
    )


def test_bandwidth():
    np.testing.assert_allclose(float(diffusion.mesh_bandwidth(1000, 10.0, 2.0)), 2e4)
    n_x = diffusion.bandwidth_crossing(1e6, 10.0)
    np.testing.assert_allclose(float(n_x), 1e5)
    assert float(diffusion.mesh_bandwidth(n_x * 1.01, 10.0)) > 1e6
    with pytest.raises(ValueError):
        diffusion.mesh_bandwidth(-1, 10.0)
    with pytest.raises(ValueError):
        diffusion.bandwidth_crossing(1e6, 0.0)
    with pytest.raises(ValueError):
        diffusion.bandwidth_crossing(np.nan, 1.0)
    # traceable: vmap over the mean degree; NaN for a traced value out of range
    ks = jnp.asarray([5.0, 10.0, -1.0])
    out = np.asarray(jax.vmap(lambda k: diffusion.bandwidth_crossing(1e6, k))(ks))
    np.testing.assert_allclose(out[:2], [2e5, 1e5])
    assert np.isnan(out[2])


def test_consensus_decay_traced_lambda2_and_fiedler_status():
    G = nx.cycle_graph(12)
    g = mg.from_networkx(G)
    u0 = np.arange(12.0)
    f = jax.jit(lambda lam: diffusion.consensus_decay(g, u0, [0.0, 1.0], lambda2=lam))
    assert f(jnp.asarray(0.2)).status == RESULTS.successful
    bad = f(jnp.asarray(-1.0))
    assert bad.status == RESULTS.invalid_parameter
    assert np.isnan(np.asarray(bad.bound)).all()
    split = mg.from_networkx(nx.disjoint_union(G, nx.cycle_graph(5)))
    curve = diffusion.consensus_decay(split, np.arange(17.0), [0.0, 1.0])
    assert curve.status == RESULTS.disconnected and float(curve.lambda2) == 0.0
    with pytest.raises(ValueError, match="lambda2"):
        diffusion.consensus_decay(g, u0, [1.0], lambda2=-0.5)


# --- the knowledge_diffusion experiment ------------------------------------------------


def test_knowledge_diffusion_validate_refuses_bad_values():
    # The tiny run's tables and verdicts (Lemma 5.1 supported, one spectral row, SIS rows,
    # threshold ranges) are checked on the shared run of
    # tests/test_exp_knowledge_diffusion.py::test_tables_and_verdicts.
    from meshjax.experiments import get

    exp = get("knowledge_diffusion")
    with pytest.raises(ValueError):
        exp.validate({**exp.defaults, "sis_gammas": [1.5]})
    with pytest.raises(ValueError):
        exp.validate({**exp.defaults, "sis_qs": "bogus"})


# Options that default to None (so tests/specs cannot generate their bad values): their
# traced bad values must be reported too (NaN from a formula, a status from a driver).
_OPTS = [
    ("diffuse", "tol", [np.nan, 0.0, 1.0, np.inf]),
    ("diffuse", "spectral_bound", [np.nan, 0.0, -1.0, np.inf, 0.5]),
    ("consensus_decay", "tol", [np.nan, 0.0, 1.0]),
    ("fiedler", "tol", [np.nan, 0.0, 1.0, -np.inf]),
    ("fiedler_value", "tol", [np.nan, 0.0, 1.0]),
    ("leading_adjacency", "tol", [np.nan, 0.0, 1.0]),
    ("spectral_radius", "tol", [np.nan, 2.0]),
]


@pytest.mark.parametrize(
    "name, param, values", _OPTS, ids=[f"{a}-{b}" for a, b, _ in _OPTS]
)
def test_traced_bad_options_are_reported(name, param, values):
    from meshjax import is_successful

    g = mg.from_networkx(nx.cycle_graph(12))
    fn = getattr(diffusion, name)
    args = dict(graph=g)
    if name in ("diffuse", "consensus_decay"):
        args.update(u0=np.linspace(0, 1, 12), times=np.array([0.0, 1.0]), n_terms=32)
    run = jax.jit(lambda x: fn(**args, **{param: x}))
    for v in values:
        out = run(jnp.asarray(v))
        if hasattr(out, "status"):
            assert not bool(is_successful(out)), (name, param, v)
        else:
            assert np.isnan(np.asarray(out)).all(), (name, param, v)


# --- traced edge weights --------------------------------------------------------------
# A concrete graph's weights are checked on the host (ValueError); traced ones (jit or
# vmap over the weights) are checked inside: before, a negative weight gave a silently
# wrong number (diffuse: 1.7e4 for 74 on a triangle) and a NaN one sent Lanczos through
# all its restarts.


def _reweigh(g: mg.Graph, w) -> mg.Graph:
    import equinox as eqx

    return eqx.tree_at(lambda gr: gr.weights, g, w)


@pytest.fixture(scope="module")
def weighted():
    """A connected weighted graph on 80 nodes (Lanczos paths), one edge masked out."""
    G = nx.connected_watts_strogatz_graph(80, 4, 0.3, seed=1)
    edges = np.array(G.edges(), dtype=np.int64)
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(edges))
    g = mg.from_edges(edges, 80, weights=w)
    g = g.with_mask(g.edge_ids != 0)  # edge 0 absent (still connected)
    assert np.all(np.asarray(mg.connected_components(g)) == 0)
    return g


def _bad_weights(g: mg.Graph, value: float) -> np.ndarray:
    """The graph's weights with `value` on both slots of a present edge."""
    w = np.array(g.weights)
    w[np.asarray(g.edge_ids) == 3] = value
    return w


_SPECTRAL = {
    "fiedler": lambda g: diffusion.fiedler(g, method="lanczos", max_restarts=50),
    "fiedler_dense": lambda g: diffusion.fiedler(g, method="dense"),
    "leading_adjacency": lambda g: diffusion.leading_adjacency(g, max_restarts=50),
}


@pytest.mark.parametrize("name", sorted(_SPECTRAL))
def test_traced_bad_weights_give_invalid_parameter(weighted, name):
    fn = _SPECTRAL[name]
    good = fn(weighted)  # concrete
    assert good.status == RESULTS.successful
    run = jax.jit(jax.vmap(lambda w: fn(_reweigh(weighted, w))))
    w0 = np.asarray(weighted.weights)
    masked = np.where(np.asarray(weighted.edge_ids) == 0, -5.0, w0)  # absent slot
    batch = np.stack(
        [w0, masked] + [_bad_weights(weighted, v) for v in (-0.5, np.nan, np.inf)]
    )
    out = run(jnp.asarray(batch))
    ok = np.asarray(out.status == RESULTS.successful)
    invalid = np.asarray(out.status == RESULTS.invalid_parameter)
    assert ok.tolist() == [True, True, False, False, False] and invalid[2:].all()
    for i in (0, 1):  # traced good weights: the concrete answer (absent slot ignored)
        np.testing.assert_allclose(float(out.value[i]), float(good.value), rtol=1e-8)
    for field in (out.value, out.vector, out.residual):
        assert np.isnan(np.asarray(field)[2:]).all()
    assert np.all(np.asarray(out.n_matvec)[2:] == 0)  # Lanczos never ran on them
    # the concrete form of the same graphs is refused, naming the weights
    with pytest.raises(ValueError, match="graph.weights"):
        fn(_reweigh(weighted, jnp.asarray(batch[2])))


def test_traced_bad_weights_give_nan_in_diffuse_and_consensus_decay(weighted):
    u0 = np.random.default_rng(1).normal(size=80)
    times = np.array([0.0, 0.5, 2.0])
    ref = np.asarray(diffusion.diffuse(weighted, u0, times, n_terms=64))
    w0 = np.asarray(weighted.weights)
    masked = np.where(np.asarray(weighted.edge_ids) == 0, np.nan, w0)
    batch = jnp.asarray(
        np.stack([w0, masked] + [_bad_weights(weighted, v) for v in (-0.5, np.nan)])
    )

    def both(w):
        g = _reweigh(weighted, w)
        u = diffusion.diffuse(g, u0, times, n_terms=64)
        curve = diffusion.consensus_decay(g, u0, times, lambda2=0.1, n_terms=64)
        return u, curve

    u, curve = jax.jit(jax.vmap(both))(batch)
    u = np.asarray(u)
    for i in (0, 1):
        np.testing.assert_allclose(u[i], ref, rtol=0, atol=1e-10)
    assert np.isnan(u[2:]).all()  # before: a finite, wrong answer for -0.5
    assert np.asarray(curve.status == RESULTS.successful).tolist() == [1, 1, 0, 0]
    assert np.asarray(curve.status == RESULTS.invalid_parameter)[2:].all()
    assert np.isnan(np.asarray(curve.distance)[2:]).all()
    assert np.isnan(np.asarray(curve.bound)[2:]).all()
    # jit without vmap, and the value forms
    one = jax.jit(lambda w: diffusion.diffuse(_reweigh(weighted, w), u0, 1.0))
    assert np.isnan(np.asarray(one(batch[2]))).all()
    assert np.isfinite(np.asarray(one(batch[0]))).all()
    val = jax.jit(lambda w: diffusion.spectral_radius(_reweigh(weighted, w)))
    assert np.isnan(float(val(batch[3]))) and np.isfinite(float(val(batch[0])))
    fv = jax.jit(lambda w: diffusion.fiedler_value(_reweigh(weighted, w)))
    assert np.isnan(float(fv(batch[2]))) and np.isfinite(float(fv(batch[0])))
