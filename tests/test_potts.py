"""Tests for meshjax.potts: exactness against enumeration, FK/percolation, Bethe numbers."""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import networkx as nx
import numpy as np
import pytest
import scipy.stats

from meshjax import potts
from meshjax.graph import (
    colouring,
    count_neighbor_states,
    from_edges,
    from_networkx,
    random_regular,
    to_edges,
)
from meshjax.percolation import bond_percolation

Q = 3


# ---------------------------------------------------------------------------- helpers


def _small_graph():
    """A fixed connected 10-node graph with 16 edges."""
    G = nx.gnm_random_graph(10, 16, seed=3)
    assert nx.is_connected(G)
    return from_networkx(G)


def _all_states(n, q):
    return np.indices((q,) * n).reshape(n, -1).T  # (q^n, n)


def _energies(states, edges, q, field=None, couplings=None):
    j = np.ones(len(edges)) if couplings is None else np.asarray(couplings)
    same = states[:, edges[:, 0]] == states[:, edges[:, 1]]
    e = -(same * j).sum(1)
    if field is not None:
        f = np.asarray(field)
        e = e - f[np.arange(states.shape[1]), states].sum(1)
    return e


def _chi2_energy(samples, exact_e, exact_p, n_bins=12):
    """Chi-square of sampled energies against the exact distribution.

    Energy levels (rounded) are merged, in order, into bins of roughly equal exact
    probability, so every bin expects many counts.
    """
    levels = np.round(exact_e, 9)
    uniq, inv = np.unique(levels, return_inverse=True)
    p_lvl = np.bincount(inv, weights=exact_p)
    cum = np.cumsum(p_lvl)
    bin_of_level = np.minimum((cum - p_lvl / 2) * n_bins, n_bins - 1).astype(int)
    p_bin = np.bincount(bin_of_level, weights=p_lvl, minlength=n_bins)
    s = np.round(np.asarray(samples, np.float64).ravel(), 9)
    idx = np.searchsorted(uniq, s)
    assert np.all(uniq[np.minimum(idx, uniq.size - 1)] == s), (
        "sampled an impossible energy"
    )
    obs = np.bincount(bin_of_level[idx], minlength=n_bins)
    keep = p_bin > 0
    exp_counts = p_bin[keep] * s.size
    assert exp_counts.min() > 20
    return scipy.stats.chisquare(obs[keep], exp_counts)


# --------------------------------------------------------------- exactness (enumeration)


@pytest.mark.parametrize("algorithm", ["heat_bath", "swendsen_wang"])
@pytest.mark.parametrize("with_field", [False, True])
def test_energy_distribution_matches_enumeration(algorithm, with_field, getkey):
    g = _small_graph()
    n = g.n_nodes
    edges_all = np.stack([np.asarray(g.senders), np.asarray(g.receivers)], 1)
    eid = np.asarray(g.edge_ids)
    # one row per undirected edge, ordered by edge id
    edges = np.zeros((g.n_edges, 2), np.int64)
    edges[eid] = edges_all
    beta = 0.8
    field = couplings = None
    if with_field:
        rng = np.random.default_rng(7)
        field = rng.normal(0.0, 0.7, (n, Q))
        couplings = rng.uniform(0.3, 1.6, g.n_edges)
    states = _all_states(n, Q)
    e = _energies(states, edges, Q, field, couplings)
    w = np.exp(-beta * (e - e.min()))
    p = w / w.sum()
    replicas = 20_000
    key = getkey()
    r = potts.run(
        key,
        g,
        Q,
        beta,
        n_steps=1,
        n_burn=30,
        algorithm=algorithm,
        field=field,
        couplings=couplings,
        replicas=replicas,
    )
    assert r.energy.shape == (replicas, 1)
    assert r.spins.dtype == jnp.int8
    sampled = np.asarray(r.energy)[:, 0] * n
    # the recorded energy agrees with a direct evaluation of the final spins
    direct = _energies(np.asarray(r.spins[:50]).astype(int), edges, Q, field, couplings)
    np.testing.assert_allclose(sampled[:50], direct, rtol=1e-10, atol=1e-10)
    if not with_field:  # same call again: reproducible (and a jit cache hit)
        r2 = potts.run(
            key,
            g,
            Q,
            beta,
            n_steps=1,
            n_burn=30,
            algorithm=algorithm,
            replicas=replicas,
        )
        np.testing.assert_array_equal(np.asarray(r.spins), np.asarray(r2.spins))
        assert not np.array_equal(np.asarray(r.spins[0]), np.asarray(r.spins[1]))
    chi = _chi2_energy(sampled, e, p)
    assert chi.pvalue > 1e-3, chi
    mean, sd = (p * e).sum(), math.sqrt((p * e * e).sum() - (p * e).sum() ** 2)
    assert abs(sampled.mean() - mean) < 5 * sd / math.sqrt(replicas)


def test_fk_measure_matches_eq4_and_partition_identity(getkey):
    """Bonds from `random_cluster` follow P(A) ~ p^|A| (1-p)^(|E|-|A|) q^c(A), eq. (4),
    and Z_Potts = e^{beta J |E|} * (4) (the chapter omits this constant)."""
    G = nx.Graph([(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3), (1, 4)])
    g = from_networkx(G)
    m = g.n_edges
    edges = np.zeros((m, 2), np.int64)
    edges[np.asarray(g.edge_ids)] = np.stack(
        [np.asarray(g.senders), np.asarray(g.receivers)], 1
    )
    q, beta = 3, 0.9
    p = -math.expm1(-beta)
    # enumerate bond sets A
    sizes, weights, z_fk = [], [], 0.0
    for code in range(2**m):
        a = [(code >> k) & 1 for k in range(m)]
        H = nx.Graph()
        H.add_nodes_from(range(g.n_nodes))
        H.add_edges_from(edges[k] for k in range(m) if a[k])
        wgt = (
            p ** sum(a)
            * (1 - p) ** (m - sum(a))
            * q ** nx.number_connected_components(H)
        )
        sizes.append(sum(a))
        weights.append(wgt)
        z_fk += wgt
    z_potts = np.exp(-beta * _energies(_all_states(g.n_nodes, q), edges, q)).sum()
    np.testing.assert_allclose(z_potts, math.exp(beta * m) * z_fk, rtol=1e-12)
    dist = np.bincount(sizes, weights=weights, minlength=m + 1) / z_fk
    keys = jr.split(getkey(), 8000)
    bonds = jax.vmap(lambda k: potts.random_cluster(k, g, q, p, n_steps=15))(keys)
    n_open = np.asarray(bonds.sum(1) // 2)
    obs = np.bincount(n_open, minlength=m + 1)
    keep = dist * keys.shape[0] > 5
    exp_counts = dist[keep] * keys.shape[0]
    obs_k, exp_k = obs[keep], exp_counts
    if (~keep).any():
        obs_k = np.append(obs_k, obs[~keep].sum())
        exp_k = np.append(exp_k, dist[~keep].sum() * keys.shape[0])
    assert scipy.stats.chisquare(obs_k, exp_k * obs_k.sum() / exp_k.sum()).pvalue > 1e-3


def test_random_cluster_q1_is_bond_percolation(getkey):
    g = random_regular(getkey(), 200, 3)
    key = getkey()
    for p in (0.2, 0.7):
        a = potts.random_cluster(key, g, 1, p, n_steps=3)
        b = bond_percolation(jr.split(key)[1], g, p)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_fk_bonds_only_on_satisfied_edges(getkey):
    g = random_regular(getkey(), 300, 4)
    s = potts.init(getkey(), g, Q)
    bonds = np.asarray(potts.fk_bonds(getkey(), g, s, 2.0))
    spins = np.asarray(s.spins)
    snd, rcv = np.asarray(g.senders), np.asarray(g.receivers)
    assert not np.any(bonds & (spins[snd] != spins[rcv]))
    # both slots of an edge agree
    eid = np.asarray(g.edge_ids)
    per_edge = np.zeros((g.n_edges, 2), bool)
    first = np.zeros(g.n_edges, bool)
    for k in range(eid.size):
        per_edge[eid[k], int(first[eid[k]])] = bonds[k]
        first[eid[k]] = True
    np.testing.assert_array_equal(per_edge[:, 0], per_edge[:, 1])
    sat = (spins[snd] == spins[rcv]).sum()
    frac = bonds.sum() / sat
    assert abs(frac - (1 - math.exp(-2.0))) < 5 * math.sqrt(0.15 / (sat / 2))


# ------------------------------------------------------------------ kernels and layout


@pytest.fixture(scope="module")
def layout_graphs():
    """The three layouts of the class-count test, built once for all its `q`."""
    from meshjax.graph import barabasi_albert

    G = nx.gnm_random_graph(60, 150, seed=1)
    return {
        "padded": from_edges(np.array(G.edges()), 60, capacity=160),  # masked slots
        "hubs": barabasi_albert(jr.key(21), 300, 3),  # degrees > 32: a COO tail
        "star": from_edges(np.array(nx.star_graph(80).edges()), 81),
    }


# q = 3: the packed counts' one-word path (states and sentinel fill its 4 bytes; q = 2
# takes the same path); q = 7: several words, the last one full (q = 4 .. 16 alike);
# q = 20 > LIST_STATES: one (n, q) array instead of a list per state, on the masked
# slots and on a hub tail (the star's); the BA hubs' many-column classes with their
# tails run on both packed paths. (hubs with q = 20 adds no path and its compile is
# the slowest of all: 20 selects per column of ~150 columns.) q = 70 > WIDE_STATES: one
# 2-D operation per column (`_class_counts_wide`), on all three graphs.
@pytest.mark.parametrize(
    "kind, q",
    [(k, q) for k in ("padded", "hubs", "star") for q in (3, 7)]
    + [("padded", 20), ("star", 20)]
    + [(k, 70) for k in ("padded", "hubs", "star")],
)
def test_layout_counts_match_count_neighbor_states(kind, q, layout_graphs, getkey):
    """The class layout's counts (packed 8-bit counters; per-slot couplings; the hubs'
    tail) against `count_neighbor_states` and a NumPy scatter, class by class.

    All of it is one `jit` program: op-by-op dispatch compiled every primitive of
    every class slice on its own (~1000 compiles a case)."""
    from meshjax.potts._classes import class_counts

    g = layout_graphs[kind]
    c = colouring(0, g)
    model = potts.PottsModel.build(g, c, q)
    if kind != "padded":
        assert model.classes.tail_nbr.shape[0] > 0
    s = potts.init(getkey(), g, q).spins
    sp = model.to_internal(s)
    pg = model.pgraph
    snd, rcv = np.asarray(pg.senders), np.asarray(pg.receivers)
    w = np.random.default_rng(0).uniform(0.5, 1.5, g.n_edges)
    sj = model.slot_couplings(jnp.asarray(w), jnp.float64)
    ref_w = np.zeros((g.n_nodes, q))
    np.add.at(ref_w, (rcv, np.asarray(sp)[snd]), np.asarray(sj))

    @jax.jit
    def compute(s, sp, sj, key, b):
        s_ext = jnp.concatenate([sp, jnp.full((1,), q, sp.dtype)])
        sj_ext = jnp.concatenate([sj, jnp.zeros(1)])

        def counts(k, sj):
            n0, n1 = model.node_offsets[k], model.node_offsets[k + 1]
            got = class_counts(model.classes, k, n0, n1, s_ext, q, sj, jnp.float64)
            if isinstance(got, list):  # one array per state (q <= LIST_STATES)
                return jnp.stack(got, axis=1)
            return got

        classes = range(model.num_colours)
        return (
            count_neighbor_states(g, s, q),
            [counts(k, None) for k in classes],
            [counts(k, sj_ext) for k in classes],
            model.heat_bath(key, sp, b),
            model.heat_bath(key, sp, b, None, model.slot_couplings(None, b.dtype)),
        )

    cns, unit, weighted, hb, hb_j = compute(s, sp, sj, getkey(), jnp.asarray(0.7))
    ref = np.asarray(cns)[np.asarray(model.order)]
    for k in range(model.num_colours):
        n0, n1 = model.node_offsets[k], model.node_offsets[k + 1]
        np.testing.assert_array_equal(np.asarray(unit[k]), ref[n0:n1])
        np.testing.assert_allclose(np.asarray(weighted[k]), ref_w[n0:n1], rtol=1e-12)
        s0, s1 = model.slot_offsets[k], model.slot_offsets[k + 1]
        assert np.all((rcv[s0:s1] >= n0) & (rcv[s0:s1] < n1))
    assert np.all(np.diff(np.asarray(pg.receivers)) >= 0)
    # masked (padding) slots count as absent with and without explicit couplings
    np.testing.assert_array_equal(np.asarray(hb), np.asarray(hb_j))
    np.testing.assert_array_equal(np.asarray(model.to_original(sp)), np.asarray(s))


def test_heat_bath_sweep_wrapper_and_beta_zero_uniform(getkey):
    g = random_regular(getkey(), 3000, 4)
    s = potts.init(getkey(), g, Q, ordered=True)
    assert s.spins.dtype == jnp.int8 and int(s.spins.max()) == 0
    out = potts.heat_bath_sweep(getkey(), g, s, 0.0, Q)
    assert isinstance(out, potts.PottsState) and out.spins.dtype == jnp.int8
    counts = np.bincount(np.asarray(out.spins), minlength=Q)
    assert scipy.stats.chisquare(counts).pvalue > 1e-3
    out2 = potts.swendsen_wang_sweep(getkey(), g, np.asarray(s.spins), 0.0, Q)
    assert isinstance(out2, jax.Array)
    assert (
        scipy.stats.chisquare(np.bincount(np.asarray(out2), minlength=Q)).pvalue > 1e-3
    )


def test_energy_and_order_parameter_match_numpy(getkey):
    G = nx.gnm_random_graph(40, 90, seed=2)
    g = from_networkx(G)
    edges = to_edges(g)
    s = np.asarray(potts.init(getkey(), g, 4).spins).astype(int)
    field = np.asarray(potts.random_field(getkey(), 40, 4, 0.5, kind="gaussian"))
    # couplings indexed by edge id: build the per-edge-id table for the reference
    eid_edges = np.zeros((g.n_edges, 2), np.int64)
    eid_edges[np.asarray(g.edge_ids)] = np.stack(
        [np.asarray(g.senders), np.asarray(g.receivers)], 1
    )
    j = np.linspace(0.5, 1.5, g.n_edges)
    ref = _energies(s[None], eid_edges, 4, field, j)[0]
    np.testing.assert_allclose(
        float(potts.energy(g, s, field=field, couplings=j)), ref, rtol=1e-12
    )
    same = (s[edges[:, 0]] == s[edges[:, 1]]).sum()
    np.testing.assert_allclose(float(potts.energy(g, s)), -same)
    nmax = np.bincount(s, minlength=4).max()
    np.testing.assert_allclose(
        float(potts.order_parameter(s, 4)), (4 * nmax / 40 - 1) / 3
    )
    assert float(potts.order_parameter(np.zeros(40, np.int8), 4)) == 1.0
    rf = np.asarray(potts.random_field(getkey(), 40, 4, 2.0))
    assert rf.shape == (40, 4) and np.all(rf.sum(1) == 2.0)


# ---------------------------------------------------------------- Bethe predictions


@pytest.mark.parametrize("d", [3, 4, 6, 10])
def test_bethe_ising_point(d):
    t = potts.bethe_transitions(d, 2)
    np.testing.assert_allclose(
        math.tanh(t.beta_first_order / 2), 1 / (d - 1), rtol=1e-12
    )
    assert t.m_jump == 0.0
    # continuous: just above the point the ordered branch starts at m -> 0
    m = potts.bethe_regular(t.beta_para_instability * 1.0001, d, 2).m_ordered
    assert 0 < m < 0.05


@pytest.mark.parametrize("d,q", [(3, 3), (4, 3), (4, 4), (4, 5), (6, 3), (5, 7)])
def test_bethe_first_order_point(d, q):
    t = potts.bethe_transitions(d, q)
    # paramagnetic instability e^{beta J} = (d + q - 2)/(d - 2)
    np.testing.assert_allclose(math.exp(t.beta_para_instability), (d + q - 2) / (d - 2))
    # equal free energies agree with the closed form of Wu (1982) / Peruggi et al. (1983)
    np.testing.assert_allclose(
        t.beta_first_order, t.beta_first_order_closed_form, rtol=1e-8
    )
    assert t.beta_spinodal < t.beta_first_order < t.beta_para_instability
    assert t.m_jump > 0.3 and t.latent_heat > 0
    # the ordered fixed point exists just above the spinodal and not just below
    assert math.isnan(potts.bethe_regular(t.beta_spinodal * 0.999, d, q).m_ordered)
    assert potts.bethe_regular(t.beta_spinodal * 1.001, d, q).m_ordered > 0.2


@pytest.mark.parametrize("q", [3, 4])
def test_bethe_mean_field_limit(q):
    """Large d: K_t d -> 2 (q-1) ln(q-1)/(q-2) and m_jump -> (q-2)/(q-1) (Wu 1982)."""
    d = 2000
    t = potts.bethe_transitions(d, q)
    mf = 2 * (q - 1) * math.log(q - 1) / (q - 2)
    np.testing.assert_allclose(t.beta_first_order * d, mf, rtol=5e-3)
    np.testing.assert_allclose(t.m_jump, (q - 2) / (q - 1), rtol=5e-3)


def test_bethe_paramagnet_energy_closed_form():
    for d, q, beta in [(4, 3, 0.5), (3, 5, 1.2), (7, 2, 0.1)]:
        b = potts.bethe_regular(beta, d, q)
        x = math.exp(beta)
        np.testing.assert_allclose(b.energy_para, -d / 2 * x / (x + q - 1), rtol=1e-12)
        assert b.m_para == 0.0


def test_simulation_agrees_with_bethe_on_random_regular(getkey):
    """On a random 4-regular graph the cavity solution is exact as n -> oo: compare
    energy and m in the paramagnet (random start) and on the ordered branch."""
    n, d = 2000, 4
    g = random_regular(getkey(), n, d)
    for beta, ordered in [(0.6, False), (1.3, True)]:
        r = potts.run(getkey(), g, Q, beta, n_steps=300, n_burn=50, ordered=ordered)
        est = potts.estimate(r.energy, r.m, n, beta, n_blocks=10)
        b = potts.bethe_regular(beta, d, Q)
        e_th = b.energy_ordered if ordered else b.energy_para
        e, de = float(est.energy.value), float(est.energy.error)
        # tolerance: statistical error plus an O(1/n) finite-size allowance
        assert abs(e - e_th) < 5 * de + 2 / n * d, (beta, e, de, e_th)
        if ordered:
            mv, dm = float(est.m.value), float(est.m.error)
            assert abs(mv - b.m_ordered) < 5 * dm + 0.01


# ------------------------------------------------------------------- drivers, estimators


def test_anneal_and_experiment_tiny(getkey, tmp_path):
    """`anneal` through the experiment at tiny size: shapes, branches, findings."""
    from meshjax.experiments._base import Context
    from meshjax.experiments.potts_crystallization import DEFAULTS, EXPERIMENT

    p = dict(DEFAULTS)
    p.update(
        n_nodes=400,
        degree=4,
        qs=[3],
        graphs=["regular"],
        algorithms=["heat_bath"],
        beta_points=6,
        n_steps=30,
        n_burn=20,
        hist_n_steps=0,
    )
    EXPERIMENT.validate(p)
    res = EXPERIMENT.run(p, Context(seed=0, out_dir=tmp_path, log=lambda s: None))
    rows = res.tables["metrics"]
    assert len(rows) == 6 and all(r["q"] == 3 for r in rows)
    betas = [r["beta"] for r in rows]
    assert betas == sorted(betas)
    a = res.extras["anneal"][("regular", 3, "heat_bath")]
    assert a["mc"].shape == (6, 30) and a["eh"].shape == (6, 30)
    # the grid spans the transition: disordered at the low end, ordered at the high end
    assert rows[0]["m_cool"] < 0.35 and rows[0]["m_heat"] < 0.35  # finite n = 400
    assert rows[-1]["m_cool"] > 0.6 and rows[-1]["m_heat"] > 0.6
    claims = [f.claim for f in res.findings]
    assert any("first-order" in c for c in claims)
    assert all(
        f.verdict in ("supported", "not supported", "inconclusive")
        for f in res.findings
    )
    bad = dict(p, qs=[1])
    with pytest.raises(ValueError, match="q"):
        EXPERIMENT.validate(bad)
    with pytest.raises(ValueError, match="betas"):
        potts.anneal(getkey(), _small_graph(), Q, [0.1, -1.0], 2)


def test_estimate_against_direct_formulas():
    rng = np.random.default_rng(0)
    e = rng.normal(-1.0, 0.1, 4000)
    m = rng.normal(0.0, 1.0, 4000)
    est = potts.estimate(e, m, n_nodes=50, beta=2.0, n_blocks=20)
    np.testing.assert_allclose(est.energy.value, e.mean())
    np.testing.assert_allclose(est.specific_heat.value, 50 * 4 * e.var(), rtol=1e-10)
    np.testing.assert_allclose(est.susceptibility.value, 50 * 2 * m.var(), rtol=1e-10)
    np.testing.assert_allclose(
        est.binder.value, 1 - (m**4).mean() / (3 * (m**2).mean() ** 2)
    )
    # iid data: the jackknife/binning error is sigma / sqrt(T)
    np.testing.assert_allclose(est.energy.error, 0.1 / math.sqrt(4000), rtol=0.4)
    assert abs(est.binder.value) < 5 * est.binder.error + 0.05
    rep = potts.estimate(e.reshape(8, 500), m.reshape(8, 500), 50, 2.0)
    np.testing.assert_allclose(rep.energy.value, e.mean())
    h = potts.energy_histogram(e, bins=30)
    np.testing.assert_allclose((h.density * np.diff(h.edges)).sum(), 1.0)


# ------------------------------------------------------------------------- bad input


def test_bad_input_raises(getkey):
    g = _small_graph()
    key = getkey()
    s = potts.init(key, g, Q).spins
    # FK needs ferromagnetic graph weights (a masked slot's weight does not count)
    tri = np.array([[0, 1], [1, 2], [0, 2]])
    anti = from_edges(tri, 3, weights=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="graph.weights"):
        potts.run(key, anti, Q, 0.5, 2, algorithm="swendsen_wang")
    with pytest.raises(ValueError, match="q"):
        potts.init(key, g, 1)
    with pytest.raises(ValueError, match="q"):
        potts.run(key, g, 1, 0.5, 2)
    for beta in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="beta"):
            potts.heat_bath_sweep(key, g, s, beta, Q)
        with pytest.raises(ValueError, match="beta"):
            potts.swendsen_wang_sweep(key, g, s, beta, Q)
    bad_col = np.zeros(g.n_nodes, np.int32)
    with pytest.raises(ValueError, match="colouring"):
        potts.heat_bath_sweep(key, g, s, 0.5, Q, colouring=bad_col)
    with pytest.raises(ValueError, match="colouring"):
        potts.run(key, g, Q, 0.5, 2, colouring=bad_col)
    with pytest.raises(ValueError, match="spins"):
        potts.heat_bath_sweep(key, g, s.at[0].set(3), 0.5, Q)
    with pytest.raises(ValueError, match="spins"):
        potts.swendsen_wang_sweep(key, g, s.at[0].set(-1), 0.5, Q)
    with pytest.raises(ValueError, match="field"):
        potts.heat_bath_sweep(key, g, s, 0.5, Q, field=np.zeros((g.n_nodes, Q + 1)))
    with pytest.raises(ValueError, match="field"):
        potts.run(
            key, g, Q, 0.5, 2, algorithm="swendsen_wang", field=np.zeros(g.n_nodes)
        )
    with pytest.raises(ValueError, match="couplings"):
        potts.run(key, g, Q, 0.5, 2, couplings=np.ones(3))
    with pytest.raises(ValueError, match="couplings"):
        potts.swendsen_wang_sweep(key, g, s, 0.5, Q, couplings=-np.ones(g.n_edges))
    with pytest.raises(ValueError, match="algorithm"):
        potts.run(key, g, Q, 0.5, 2, algorithm="metropolis")
    with pytest.raises(ValueError, match="p"):
        potts.random_cluster(key, g, 2, 1.0)
    with pytest.raises(ValueError, match="d"):
        potts.bethe_transitions(2, 3)


# ---------------------------------------------------- issue 12: contract and reproducers


def test_order_parameter_is_exact_at_its_ends_and_does_not_overflow(getkey):
    # all agree: exactly 1 (x64 gave 0.9999999999999999 through XLA's reciprocal)
    for n, q in [(49, 2), (98, 3), (103, 5), (9999, 10)]:
        assert float(potts.order_parameter(np.zeros(n, np.int32), q)) == 1.0
    # equal occupation: exactly 0
    assert float(potts.order_parameter(np.arange(12, dtype=np.int32) % 4, 4)) == 0.0
    # q n_max above 2^31 without x64: the int32 product wrapped (m = -0.43 for 1)
    with jax.enable_x64(False):
        for n, q in [(10**4, 300_000), (10**6, 3_000)]:
            assert float(potts.order_parameter(np.zeros(n, np.int32), q)) == 1.0
        s = np.asarray(jr.randint(getkey(), (10**6,), 0, 3_000, jnp.int32))
        got = float(potts.order_parameter(s, 3_000))
    n_max = np.bincount(s, minlength=3_000).max()
    ref = (3_000 * float(n_max) / 10**6 - 1) / 2_999
    assert abs(got - ref) < 1e-6 and ref > 0


def test_estimate_in_float32_keeps_the_variance_of_a_large_system():
    # per-node energies of N = 10^7 nodes fluctuate by ~N^-1/2: from raw float32
    # moments C came out -0.30 +- 0.61 for an exact 0.2226
    rng = np.random.default_rng(1)
    n, beta = 10**7, 0.5
    e = (-1.2 + 3e-4 * rng.standard_normal(2000)).astype(np.float32)
    m = (0.6 + 3e-4 * rng.standard_normal(2000)).astype(np.float32)
    with jax.enable_x64(False):
        r = potts.estimate(e, m, n, beta)
        heat, chi = float(r.specific_heat.value), float(r.susceptibility.value)
        energy = float(r.energy.value)
    e64, m64 = e.astype(np.float64), m.astype(np.float64)
    np.testing.assert_allclose(heat, n * beta**2 * e64.var(), rtol=1e-4)
    np.testing.assert_allclose(chi, n * beta * m64.var(), rtol=1e-4)
    np.testing.assert_allclose(energy, e64.mean(), rtol=1e-6)


def test_out_of_range_spins_energy_and_order_parameter(getkey):
    """Issue 12: out-of-range spins gave NaN energy and m = -0.5 silently."""
    g = _small_graph()
    s = np.zeros(g.n_nodes, np.int32)
    s[0] = 5  # >= q = 3
    field = np.ones((g.n_nodes, Q))
    with pytest.raises(ValueError, match="`spins`"):
        potts.order_parameter(s, Q)
    with pytest.raises(ValueError, match="`spins`"):
        potts.energy(g, s, field=field)
    with pytest.raises(ValueError, match="`spins`"):
        potts.energy(g, -np.ones(g.n_nodes, np.int32))
    # traced: NaN, never a number
    m = jax.jit(lambda x: potts.order_parameter(x, Q))(jnp.asarray(s))
    assert np.isnan(float(m))
    e = jax.jit(lambda x: potts.energy(g, x, field=field))(jnp.asarray(s))
    assert np.isnan(float(e))
    ok = jnp.zeros(g.n_nodes, jnp.int32)
    assert float(jax.jit(lambda x: potts.order_parameter(x, Q))(ok)) == 1.0


def test_run_is_traceable_in_beta_and_sweepable(getkey):
    """Issue 12: `jax.jit(lambda b: potts.run(k, g, 3, b, 5).m.mean())(1.0)` raised."""
    from meshjax import RESULTS
    from meshjax.sweep import sweep

    g = random_regular(getkey(), 60, 3)
    k = getkey()
    for alg in potts.ALGORITHMS:
        f = jax.jit(lambda b: potts.run(k, g, 3, b, 5, algorithm=alg).m.mean())
        direct = float(potts.run(k, g, 3, 1.0, 5, algorithm=alg).m.mean())
        np.testing.assert_allclose(float(f(1.0)), direct, rtol=1e-6)
    # a traced bad beta is reported through the status, with NaN series
    bad = jax.jit(lambda b: potts.run(k, g, 3, b, 5))(-1.0)
    assert bad.status == RESULTS.invalid_parameter
    assert np.all(np.isnan(np.asarray(bad.m)))
    table = sweep(
        lambda key, beta: {"m": potts.run(key, g, 3, beta, 4).m.mean()},
        {"beta": [0.2, 1.5]},
        key=getkey(),
        progress=False,
    )
    assert np.asarray(table["m"]).shape == (2,)
    # anneal over a traced grid, bethe over traced beta and coupling
    betas = jnp.asarray([0.5, 1.0])
    res = jax.jit(lambda bs: potts.anneal(k, g, 3, bs, 2))(betas)
    assert res.m_cool.shape == (2, 2) and res.status == RESULTS.successful
    bj = jax.jit(lambda b, j: potts.bethe_regular(b, 4, 3, j).energy_para)(0.5, 2.0)
    np.testing.assert_allclose(
        float(bj), float(potts.bethe_regular(1.0, 4, 3).energy_para) * 2.0, rtol=1e-6
    )


def test_record_every(getkey):
    g = random_regular(getkey(), 40, 3)
    k = getkey()
    full = potts.run(k, g, Q, 0.7, 6, 2)
    sub = potts.run(k, g, Q, 0.7, 6, 2, record_every=3)
    np.testing.assert_array_equal(np.asarray(sub.m), np.asarray(full.m)[2::3])
    with pytest.raises(ValueError, match="record_every"):
        potts.run(k, g, Q, 0.7, 6, record_every=7)


def _bethe_direct(beta, d, q):
    """The textbook (overflowing) form of the Bethe branches, float64, for moderate β."""
    K = beta

    def cav(x):
        r, ek = np.exp(x), np.exp(K)
        return (d - 1) * (np.log(ek * r + q - 1) - np.log(r + ek + q - 2))

    xs = np.linspace(1e-9, K * (d - 1) + 1, 200001)
    pos = np.flatnonzero(cav(xs) - xs > 0)
    lo, hi = xs[pos[-1]], xs[pos[-1] + 1]
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cav(mid) - mid > 0 else (lo, mid)
    out = []
    for x in (0.0, 0.5 * (lo + hi)):
        r = np.exp(x)
        a, b = r / (r + q - 1), 1 / (r + q - 1)
        w = np.expm1(K)
        zi = (1 + w * a) ** d + (q - 1) * (1 + w * b) ** d
        pair = a * a + (q - 1) * b * b
        zij = 1 + w * pair
        m = (q * (1 + w * a) ** d / zi - 1) / (q - 1)
        out.append(
            (m, -0.5 * d * (1 + w) * pair / zij, np.log(zi) - d / 2 * np.log(zij))
        )
    return out


def test_bethe_regular_large_beta_is_finite_and_exact():
    """Issue 12: `bethe_regular(300, 4, 3)` was NaN (e^{dK} overflow)."""
    d, q, beta = 4, 3, 300.0
    b = potts.bethe_regular(beta, d, q)
    # References derived by hand: at K = 300 every edge is satisfied on the ordered
    # branch (m = 1, e = -d/2, -beta f = K d / 2, corrections O(e^{-K})); the paramagnet
    # has e = -(d/2) e^K / (e^K + q - 1) and -beta f = ln q + (d/2) ln((e^K + q - 1)/q).
    np.testing.assert_allclose(float(b.m_ordered), 1.0, rtol=1e-12)
    np.testing.assert_allclose(float(b.energy_ordered), -d / 2, rtol=1e-12)
    np.testing.assert_allclose(float(b.phi_ordered), beta * d / 2, rtol=1e-12)
    np.testing.assert_allclose(float(b.energy_para), -d / 2, rtol=1e-12)
    phi_para = math.log(q) + d / 2 * (
        beta + math.log1p((q - 1) * math.exp(-beta)) - math.log(q)
    )
    np.testing.assert_allclose(float(b.phi_para), phi_para, rtol=1e-12)
    assert float(b.m_para) == 0.0
    # and the log-space form equals the direct one where the direct one is finite
    for beta, d, q in [(1.3, 4, 3), (2.0, 3, 5), (2.0, 6, 2)]:
        (m0, u0, p0), (m1, u1, p1) = _bethe_direct(beta, d, q)
        b = potts.bethe_regular(beta, d, q)
        np.testing.assert_allclose(float(b.energy_para), u0, rtol=1e-10)
        np.testing.assert_allclose(float(b.phi_para), p0, rtol=1e-10)
        np.testing.assert_allclose(float(b.m_ordered), m1, rtol=1e-6)
        np.testing.assert_allclose(float(b.energy_ordered), u1, rtol=1e-6)
        np.testing.assert_allclose(float(b.phi_ordered), p1, rtol=1e-8)


def test_weighted_graph_is_per_edge_couplings(getkey):
    """Graph.weights act as per-edge couplings: same chain as `couplings=` per edge id."""
    G = nx.gnm_random_graph(12, 20, seed=5)
    rng = np.random.default_rng(1)
    for u, v in G.edges():
        G[u][v]["weight"] = float(rng.uniform(0.3, 1.7))
    gw = from_networkx(G, weight="weight")
    g = from_networkx(G)
    j = np.asarray(gw.edge_weights())
    k = getkey()
    s = potts.init(getkey(), g, Q).spins
    np.testing.assert_allclose(
        float(potts.energy(gw, s)), float(potts.energy(g, s, couplings=j)), rtol=1e-12
    )
    a = potts.run(k, gw, Q, 0.9, 3)
    b = potts.run(k, g, Q, 0.9, 3, couplings=j)
    np.testing.assert_array_equal(np.asarray(a.spins), np.asarray(b.spins))
    np.testing.assert_allclose(np.asarray(a.energy), np.asarray(b.energy))
    np.testing.assert_array_equal(
        np.asarray(potts.fk_bonds(k, gw, s, 0.9)),
        np.asarray(potts.fk_bonds(k, g, s, 0.9, couplings=j)),
    )


@pytest.mark.parametrize("q", [3, 5, 9])
def test_vmapped_heat_bath_equals_one_by_one(q, getkey):
    """Replicas / β values under `vmap` (one-hot states of 4 chains per int32 word,
    padded to a multiple of 4, for q <= 7; the plain vmap above) give exactly the
    sweeps run one by one; with a hub tail and a field."""
    from meshjax.graph import barabasi_albert

    g = barabasi_albert(getkey(), 150, 3)
    model = potts.PottsModel.build(g, colouring(0, g), q)
    r = 5
    spins = jr.randint(getkey(), (r, g.n_nodes), 0, q).astype(jnp.int8)
    keys = jr.split(getkey(), r)
    betas = jnp.linspace(0.1, 1.5, r)
    field = jr.normal(getkey(), (g.n_nodes, q))
    # Under jit (one compile per sweep program, reused for every chain): op-by-op
    # dispatch compiled each primitive of each class on its own.
    sweep = jax.jit(lambda k, s, b, f: model.heat_bath(k, s, b, f))
    for f in (None, field):
        one = [sweep(keys[i], spins[i], betas[i], f) for i in range(r)]
        vm = jax.jit(jax.vmap(sweep, (0, 0, 0, None)))(keys, spins, betas, f)
        np.testing.assert_array_equal(np.stack(one), np.asarray(vm))
    one = [sweep(keys[0], spins[0], b, None) for b in betas]
    vm = jax.jit(jax.vmap(lambda b: model.heat_bath(keys[0], spins[0], b)))(betas)
    np.testing.assert_array_equal(np.stack(one), np.asarray(vm))


def test_swendsen_wang_same_with_and_without_the_layout(getkey):
    """SW folds the FK bonds into the graph's gather layout (`bake_mask`) for the
    component search: the sweep is identical to the one on the bare slots."""
    from meshjax.graph import erdos_renyi, with_layout

    g = erdos_renyi(getkey(), 400, 6.0)
    with_lay = with_layout(g, policy="always")
    bare = with_layout(g, policy="never")
    s = potts.init(getkey(), g, Q).spins
    for beta in (0.5, 1.5):
        k = getkey()
        a = potts.swendsen_wang_sweep(k, with_lay, s, beta, Q)
        b = potts.swendsen_wang_sweep(k, bare, s, beta, Q)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_traced_bad_weights_swendsen_wang(getkey):
    """SW / FK need ferromagnetic weights: a traced negative or non-finite weight on a
    present slot is an error in the sweeps and `invalid_parameter` in `run`; a bad
    weight on a masked-out slot does not count."""
    import equinox as eqx

    from meshjax import RESULTS

    tri = np.array([[0, 1], [1, 2], [0, 2], [2, 3]])
    g = from_edges(tri, 4, weights=np.array([1.0, 0.5, 1.0, 2.0]))
    key = getkey()
    s = jnp.zeros(4, jnp.int32)

    def reweigh(w):
        return eqx.tree_at(lambda gr: gr.weights, g, w)

    w0 = np.asarray(g.weights)
    bad = [np.where(np.asarray(g.edge_ids) == 1, v, w0) for v in (-0.5, np.nan, np.inf)]
    sweep = jax.jit(lambda w: potts.swendsen_wang_sweep(key, reweigh(w), s, 0.7, Q))
    bonds = jax.jit(lambda w: potts.fk_bonds(key, reweigh(w), s, 0.7))
    np.testing.assert_array_equal(
        sweep(w0), potts.swendsen_wang_sweep(key, g, s, 0.7, Q)
    )
    np.testing.assert_array_equal(bonds(w0), potts.fk_bonds(key, g, s, 0.7))
    for w in bad:
        with pytest.raises(Exception, match="weights"):
            jax.block_until_ready(sweep(w))
        with pytest.raises(Exception, match="weights"):
            jax.block_until_ready(bonds(w))
    masked = g.with_mask(jnp.asarray(np.asarray(g.edge_ids) != 1))
    ok_masked = eqx.tree_at(lambda gr: gr.weights, masked, jnp.asarray(bad[0]))
    jax.block_until_ready(
        jax.jit(potts.swendsen_wang_sweep, static_argnums=4)(key, ok_masked, s, 0.7, Q)
    )

    run = jax.jit(
        jax.vmap(
            lambda w: potts.run(key, reweigh(w), Q, 0.7, 4, algorithm="swendsen_wang")
        )
    )
    out = run(jnp.asarray(np.stack([w0] + bad)))
    assert np.asarray(out.status == RESULTS.successful).tolist() == [
        True,
        False,
        False,
        False,
    ]
    assert np.asarray(out.status == RESULTS.invalid_parameter).tolist() == [
        False,
        True,
        True,
        True,
    ]
    assert np.isfinite(np.asarray(out.energy[0])).all()
    assert np.isnan(np.asarray(out.energy[1:])).all()
