"""Tests for meshjax.replicator: JK attractor = PF vector (numpy.linalg.eig), ODE
convergence, acyclic attractor, λ1 staircase, vmap, (19) as printed, bad input."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from meshjax import RESULTS, replicator as rep


def pf_numpy(c):
    """Leading eigenvalue and its non-negative eigenvector (sum 1) by numpy.linalg.eig."""
    w, v = np.linalg.eig(c.astype(float))
    i = np.argmax(w.real)
    vec = np.abs(v[:, i].real)
    return w[i].real, vec / vec.sum(), np.sort(w.real)[::-1]


def test_attractor_is_pf_vector_of_random_graphs():
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(200):
        s = 12
        c = (rng.random((s, s)) < 0.15) & ~np.eye(s, dtype=bool)
        lam, vec, ws = pf_numpy(c)
        # a simple dominant eigenvalue (unique dominant ACS): X is exactly its PF vector
        w_all = np.linalg.eigvals(c.astype(float))
        if lam < 0.5 or np.sum(np.abs(w_all - lam) < 1e-6) != 1:
            continue
        res = rep.attractor(jnp.asarray(c))
        x, lam1 = res.x, res.lambda1
        np.testing.assert_allclose(lam1, lam, rtol=1e-9)
        np.testing.assert_allclose(x, vec, atol=1e-9)
        checked += 1
    assert checked > 50


def test_attractor_of_subgraph_with_dead_types():
    # 3-cycle 0->1->2->0 feeding 3, plus 4 -> 5 (no cycle): X lives on {0,1,2,3}
    s = 12
    c = np.zeros((s, s), bool)
    for j, i in [(0, 1), (1, 2), (2, 0), (2, 3), (4, 5)]:
        c[i, j] = True
    res = rep.attractor(jnp.asarray(c))
    x, lam = res.x, res.lambda1
    np.testing.assert_allclose(lam, 1.0, rtol=1e-9)
    sub = c[:4, :4]
    _, vec, _ = pf_numpy(sub)  # PF vector of the relevant subgraph
    np.testing.assert_allclose(x[:4], vec, atol=1e-9)
    np.testing.assert_array_equal(np.asarray(x[4:]), 0.0)


def test_attractor_acyclic_is_longest_path_ends():
    rng = np.random.default_rng(1)
    for _ in range(20):
        s = 12
        c = np.tril(rng.random((s, s)) < 0.3, k=-1)  # j < i links only: acyclic
        perm = rng.permutation(s)
        c = c[np.ix_(perm, perm)]
        ones = np.ones(s)
        powers = [ones]
        while (c.astype(float) @ powers[-1]).any():
            powers.append(c.astype(float) @ powers[-1])
        want = powers[-1] / powers[-1].sum()
        res = rep.attractor(jnp.asarray(c))
        x, lam = res.x, res.lambda1
        assert float(lam) == 0.0
        np.testing.assert_allclose(x, want, atol=1e-12)


def test_ode_converges_to_attractor():
    rng = np.random.default_rng(2)
    s = 12
    while True:
        c = (rng.random((s, s)) < 0.2) & ~np.eye(s, dtype=bool)
        w = np.sort(np.abs(np.linalg.eigvals(c.astype(float))))[::-1]
        if w[0] > 1.2 and w[0] - w[1] > 0.2:
            break
    x_star = rep.attractor(jnp.asarray(c)).x
    cf = c.astype(float)

    def rhs(t, x):  # the JK equation in NumPy (jk_rhs is checked against it below)
        cx = cf @ x
        return cx - x * cx.sum()

    sol = solve_ivp(rhs, (0, 80), np.ones(s) / s, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol.y[:, -1], x_star, atol=1e-7)
    # the rhs is the JK equation
    x = rng.random(s)
    np.testing.assert_allclose(
        rep.jk_rhs(jnp.asarray(x), jnp.asarray(c)),
        cf @ x - x * (cf @ x).sum(),
        rtol=1e-12,
    )


def test_eq19_as_printed_is_not_pf_selection():
    # 2-cycle 0 <-> 1 with pendant 2 (0 catalyses 2): PF vector (1, 1, 1)/3
    c = np.zeros((3, 3), bool)
    c[0, 1] = c[1, 0] = c[2, 0] = True
    big = np.zeros((12, 12), bool)  # padded with isolated types, which get X = 0
    big[:3, :3] = c
    x = rep.attractor(jnp.asarray(big)).x
    np.testing.assert_allclose(x, np.r_[np.ones(3) / 3, np.zeros(9)], atol=1e-9)

    cf = c.astype(float)

    def rhs(t, y):  # (19) as printed, c_i ((M c)_i - φ0), φ0 = Σ c_i (M c)_i
        mc = cf @ y
        return y * (mc - (y * mc).sum())

    y = np.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(
        rep.replicator_rhs_19(jnp.asarray(y), jnp.asarray(c)), rhs(0, y), rtol=1e-12
    )

    end = solve_ivp(rhs, (0, 400), np.array([0.5, 0.3, 0.2]), rtol=1e-10).y[:, -1]
    # (19) with the factor c_i settles elsewhere (its rest points form a line)
    assert np.max(np.abs(end - 1 / 3)) > 0.05


def test_lambda1_staircase_and_link_growth(getkey):
    s, m, n = 30, 0.5, 1200
    p = m / (s - 1)
    rec = rep.jain_krishna(getkey(), s, p, n, initial=jnp.zeros((s, s), bool)).record
    lam = np.asarray(rec.lambda1)
    links = np.asarray(rec.n_links)
    acs = np.asarray(rec.acs_size)
    # λ1 of a 0/1 matrix is 0 or >= 1: it jumps
    assert np.all((np.abs(lam) < 1e-9) | (lam > 1 - 1e-9))
    assert lam[0] == 0.0
    first = int(np.argmax(lam > 0.5))
    assert first > 0 and lam[first] >= 1 - 1e-9 and acs[first] >= 2
    assert np.all(acs[:first] == 0)
    # links grow once the ACS has formed and spread
    assert links[-n // 4 :].mean() > 1.5 * links[:first].mean()
    assert acs[-n // 4 :].mean() > s / 2


def test_least_fit_removed_is_outside_acs(getkey):
    s, p = 12, 1.5 / 11
    adj = rep.random_catalytic_matrix(getkey(), s, p)
    for i in range(10):
        x = rep.attractor(adj).x
        out = rep.jain_krishna_step(jr.fold_in(getkey(), i), adj, p)
        new, rec = out.adjacency, out.record
        k = int(rec.removed)
        xs = np.asarray(x)
        assert xs[k] <= xs.min() + 1e-9 * xs.max()
        # the removed type's old links are replaced; no self-links
        assert not bool(new[k, k])
        adj = new


def test_vmap_over_runs_matches_loop(getkey):
    keys = jr.split(getkey(), 2)
    s, p, n = 12, 0.1, 20
    run_v = rep.jain_krishna(keys, s, p, n)  # a batch of keys: vmapped runs
    adj_v, rec_v = run_v.adjacency, run_v.record
    for i in range(2):
        run = rep.jain_krishna(keys[i], s, p, n)
        adj, rec = run.adjacency, run.record
        np.testing.assert_array_equal(adj_v[i], adj)
        np.testing.assert_allclose(rec_v.lambda1[i], rec.lambda1, rtol=1e-12)
        np.testing.assert_array_equal(rec_v.removed[i], rec.removed)


def test_random_matrix_density(getkey):
    s, p = 12, 0.2
    c = np.asarray(rep.random_catalytic_matrix(getkey(), s, p))
    assert not np.diag(c).any()
    n = s * (s - 1)
    assert abs(c.sum() / n - p) < 5 * np.sqrt(p * (1 - p) / n)


def test_bad_input(getkey):
    with pytest.raises(ValueError, match="n_types"):
        rep.random_catalytic_matrix(getkey(), 1, 0.1)
    with pytest.raises(ValueError, match="`p`"):
        rep.random_catalytic_matrix(getkey(), 5, 1.5)
    with pytest.raises(ValueError, match="`p`"):
        rep.jain_krishna(getkey(), 5, -0.1, 10)
    with pytest.raises(ValueError, match="n_types"):
        rep.jain_krishna(getkey(), 1, 0.1, 10)
    with pytest.raises(ValueError, match="n_steps"):
        rep.jain_krishna(getkey(), 5, 0.1, 0)
    with pytest.raises(ValueError, match="square"):
        rep.attractor(jnp.zeros((3, 4), bool))
    with pytest.raises(ValueError, match="initial"):
        rep.jain_krishna(getkey(), 5, 0.1, 10, initial=jnp.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="`x`"):
        rep.jk_rhs(jnp.ones(3), jnp.zeros((4, 4), bool))
    # a self-link made a lone self-catalyst an autocatalytic set (lambda_1 = 1)
    selfish = np.zeros((3, 3), bool)
    selfish[0, 0] = True
    with pytest.raises(ValueError, match=r"\[0, 0\] is a self-link"):
        rep.attractor(selfish)
    with pytest.raises(ValueError, match="self-link"):
        rep.jain_krishna_step(getkey(), selfish, 0.1)
    with pytest.raises(ValueError, match="self-link"):
        rep.jain_krishna(getkey(), 3, 0.1, 10, initial=selfish)


def test_traced_p_and_keys():
    run = jax.jit(lambda p: rep.jain_krishna(0, 6, p, 3))
    assert run(0.2).status == RESULTS.successful
    bad = run(1.5)
    assert bad.status == RESULTS.invalid_parameter
    assert np.isnan(np.asarray(bad.record.lambda1)).all()
    # the sizes of test_vmap_over_runs_matches_loop's direct runs: its compiled program
    a = rep.jain_krishna(3, 12, 0.2, 20)
    b = rep.jain_krishna(jr.key(3), 12, 0.2, 20)
    c = rep.jain_krishna(jr.PRNGKey(3), 12, 0.2, 20)
    np.testing.assert_array_equal(a.adjacency, b.adjacency)
    np.testing.assert_array_equal(a.adjacency, c.adjacency)
    with pytest.raises(RuntimeError, match="p"):
        jax.jit(lambda p: rep.random_catalytic_matrix(0, 6, p))(2.0).block_until_ready()
