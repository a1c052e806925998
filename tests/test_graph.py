"""The graph substrate against scipy/networkx and exact invariants."""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import networkx as nx
import numpy as np
import pytest
import scipy.sparse.csgraph as csgraph

from meshjax import graph as G
from meshjax.graph import generators


def assert_slot_invariants(g):
    """Sorted receivers; each edge id on two slots that are each other's reverse."""
    s, r, e = (np.asarray(a) for a in (g.senders, g.receivers, g.edge_ids))
    assert s.dtype == np.int32 and r.dtype == np.int32 and e.dtype == np.int32
    assert np.all(np.diff(r) >= 0)
    assert np.all(np.bincount(e, minlength=g.n_edges) == 2)
    order = np.argsort(e, kind="stable")
    a, b = order[0::2], order[1::2]
    np.testing.assert_array_equal(s[a], r[b])
    np.testing.assert_array_equal(r[a], s[b])
    if g.edge_mask is not None:
        m = np.asarray(g.edge_mask)
        np.testing.assert_array_equal(m[a], m[b])
        assert not np.any(m & (s == r)), "self-loop slot present"
    else:
        assert np.all(s != r)
    present = np.ones_like(s, bool) if g.edge_mask is None else np.asarray(g.edge_mask)
    code = r[present].astype(np.int64) * g.n_nodes + s[present]
    assert np.unique(code).size == code.size, "repeated edge present"


def random_edges(rng, n, m):
    e = rng.integers(0, n, size=(m, 2))
    e = e[e[:, 0] != e[:, 1]]
    lo, hi = e.min(1), e.max(1)
    _, keep = np.unique(lo * n + hi, return_index=True)
    return e[np.sort(keep)]


# ---------------------------------------------------------------- construction


def test_from_edges_matches_networkx_adjacency():
    G0 = nx.karate_club_graph()
    g = G.from_networkx(G0)
    assert g.n_nodes == 34 and g.n_edges == G0.number_of_edges()
    assert_slot_invariants(g)
    A = nx.to_scipy_sparse_array(G0, nodelist=range(34), weight=None).toarray()
    np.testing.assert_array_equal(G.to_scipy(g).toarray(), A)
    np.testing.assert_array_equal(np.asarray(g.degrees()), A.sum(1))
    back = G.to_networkx(g)
    assert nx.utils.graphs_equal(back, nx.Graph(G0.edges())) or set(
        map(frozenset, back.edges())
    ) == set(map(frozenset, G0.edges()))


def test_scipy_round_trip_and_padding():
    rng = np.random.default_rng(1)
    e = random_edges(rng, 50, 120)
    g = G.from_edges(e, 50)
    g2 = G.from_scipy(G.to_scipy(g))
    np.testing.assert_array_equal(G.to_edges(g), G.to_edges(g2))
    padded = G.from_edges(e, 50, capacity=len(e) + 7)
    assert padded.n_edges == len(e) + 7
    assert int(padded.num_active_edges()) == len(e)
    assert np.all(np.diff(np.asarray(padded.receivers)) >= 0)
    np.testing.assert_array_equal(G.to_scipy(padded).toarray(), G.to_scipy(g).toarray())
    np.testing.assert_array_equal(G.to_edges(padded), G.to_edges(g))


def test_from_edges_dedupe_and_isolated_nodes():
    e = np.array([[0, 1], [1, 0], [2, 3]])
    with pytest.raises(ValueError, match="repeated"):
        G.from_edges(e, 6)
    g = G.from_edges(e, 6, dedupe=True)
    assert g.n_edges == 2
    np.testing.assert_array_equal(np.asarray(g.degrees()), [1, 1, 1, 1, 0, 0])


@pytest.mark.parametrize(
    "edges, n, exc, match",
    [
        (np.array([[0, 5]]), 5, ValueError, "node ids"),
        (np.array([[-1, 2]]), 5, ValueError, "node ids"),
        (np.array([[1, 1]]), 5, ValueError, "self-loop"),
        (np.array([0, 1, 2]), 5, ValueError, "shape"),
        (np.array([[0.0, 1.0]]), 5, TypeError, "integer"),
        (np.array([[0, 1]]), 0, ValueError, "n_nodes"),
    ],
)
def test_from_edges_bad_input(edges, n, exc, match):
    with pytest.raises(exc, match=match):
        G.from_edges(edges, n)


def test_from_scipy_rejects_directed():
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="symmetric"):
        G.from_scipy(sp.csr_array(np.array([[0, 1], [0, 0]])))


def test_bad_inputs_name_what_is_wrong():
    """A NaN weight was reported as an asymmetric matrix, a weight of None as a bare
    TypeError from float(); an int lattice shape (was 'int is not iterable') is one side."""
    import networkx as nx
    import scipy.sparse as sp

    m = np.array([[0, np.nan], [np.nan, 0]])
    with pytest.raises(ValueError, match="not finite"):
        G.from_scipy(sp.csr_array(m), weighted=True)
    h = nx.Graph()
    h.add_edge("a", "b", weight=None)
    with pytest.raises(ValueError, match="'a', 'b'.*`weight`=None"):
        G.from_networkx(h, weight="weight")
    path = G.lattice(5, False)  # one side length: a path (was a TypeError)
    assert G.to_edges(path).tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]]
    assert G.to_edges(G.lattice(4)).tolist() == [[0, 1], [0, 3], [1, 2], [2, 3]]
    for shape in (np.array([3, 4]), range(3, 5), [3, 4]):  # any sequence of sides
        assert G.lattice(shape).n_nodes == 12


# ---------------------------------------------------------------- sparse ops


def _masked(g, rng):
    keep = rng.random(g.n_edges) < 0.6
    return g.with_mask(jnp.asarray(keep)[g.edge_ids])


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_neighbor_sum_and_laplacian_match_scipy(jit, masked, getkey):
    rng = np.random.default_rng(2)
    g = G.from_edges(random_edges(rng, 200, 700), 200)
    if masked:
        g = _masked(g, rng)
    A = G.to_scipy(g)
    L = np.diag(np.asarray(A.sum(1)).ravel()) - A.toarray()
    x = jr.normal(getkey(), (200,))
    xf = jr.normal(getkey(), (200, 3))
    ns = jax.jit(G.neighbor_sum) if jit else G.neighbor_sum
    lm = jax.jit(G.laplacian_matvec) if jit else G.laplacian_matvec
    np.testing.assert_allclose(ns(g, x), A @ np.asarray(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ns(g, xf), A @ np.asarray(xf), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lm(g, x), L @ np.asarray(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lm(g, xf), L @ np.asarray(xf), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("masked", [False, True])
def test_count_neighbor_states_matches_numpy(masked):
    rng = np.random.default_rng(3)
    g = G.from_edges(random_edges(rng, 100, 300), 100)
    if masked:
        g = _masked(g, rng)
    q = 4
    s = rng.integers(0, q, size=100)
    A = G.to_scipy(g).toarray()
    expect = A @ np.eye(q)[s]
    got = G.count_neighbor_states(g, jnp.asarray(s, jnp.int8), q)
    assert got.dtype == jnp.int32
    np.testing.assert_array_equal(got, expect)
    w = rng.random(g.n_edges)
    W = np.zeros((100, 100))
    e = G.to_edges(g)
    ids = {}
    for sl, (a, b) in enumerate(zip(np.asarray(g.receivers), np.asarray(g.senders))):
        ids[(a, b)] = int(np.asarray(g.edge_ids)[sl])
    for a, b in e:
        W[a, b] = W[b, a] = w[ids[(a, b)]]
    got_w = G.count_neighbor_states(
        g, jnp.asarray(s), q, weights=jnp.asarray(w)[g.edge_ids]
    )
    np.testing.assert_allclose(got_w, W @ np.eye(q)[s], rtol=1e-12)


def test_ops_reject_wrong_shapes():
    g = G.lattice((4, 4))
    with pytest.raises(ValueError, match="n_nodes"):
        G.neighbor_sum(g, jnp.ones(15))
    with pytest.raises(ValueError, match="n_nodes"):
        G.laplacian_matvec(g, jnp.ones((3, 16)))
    with pytest.raises(ValueError, match="q"):
        G.count_neighbor_states(g, jnp.zeros(16, jnp.int32), 0)


# ---------------------------------------------------------------- generators


def test_erdos_renyi_poisson_degrees(getkey):
    n, k = 20_000, 6.0
    g = G.erdos_renyi(getkey(), n, k)
    assert_slot_invariants(g)
    d = np.asarray(g.degrees())
    # Mean within 4 standard errors of <k> (minus the O(k^2/n) removed repeats).
    assert abs(d.mean() - k) < 4 * math.sqrt(k / n) + k**2 / n
    # Poisson: variance equals the mean; P(k=j) matches the pmf.
    assert abs(d.var() / d.mean() - 1) < 0.05
    from scipy.stats import poisson

    for j in (2, 6, 10):
        p = poisson.pmf(j, k)
        assert abs(np.mean(d == j) - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_erdos_renyi_vmaps_over_keys(getkey):
    keys = jr.split(getkey(), 3)
    gs = jax.vmap(lambda k: G.erdos_renyi(k, 500, 4.0))(keys)
    assert gs.senders.shape == (3, 2000)
    single = G.erdos_renyi(keys[1], 500, 4.0)
    np.testing.assert_array_equal(gs.senders[1], single.senders)
    np.testing.assert_array_equal(gs.edge_ids[1], single.edge_ids)


def _mle_gamma(d, kmin):
    """Discrete power-law MLE (Clauset et al. 2009, eq. 3.7 approximation)."""
    x = d[d >= kmin].astype(float)
    return 1 + x.size / np.sum(np.log(x / (kmin - 0.5)))


@pytest.mark.parametrize("gamma", [2.5, 3.0])
def test_power_law_exponent(gamma, getkey):
    g = G.power_law(getkey(), 100_000, gamma, 10.0)
    assert_slot_invariants(g)
    d = np.asarray(g.degrees())
    assert abs(d.mean() - 10.0) < 0.5
    fit = _mle_gamma(d, kmin=20)
    assert abs(fit - gamma) < 0.15, fit


def test_barabasi_albert_degrees(getkey):
    n, m = 50_000, 3
    g = G.barabasi_albert(getkey(), n, m)
    assert_slot_invariants(g)
    assert g.n_edges == m * (m + 1) // 2 + m * (n - m - 1)
    d = np.asarray(g.degrees())
    assert d.min() == m
    fit = _mle_gamma(d, kmin=10)
    assert abs(fit - 3.0) < 0.2, fit
    # Exact asymptotic P(k) = 2m(m+1)/(k(k+1)(k+2)) at small k.
    for k in (m, m + 1, m + 3):
        p = 2 * m * (m + 1) / (k * (k + 1) * (k + 2))
        assert abs(np.mean(d == k) - p) < 5 * math.sqrt(p * (1 - p) / n) + 0.01


def test_randint_is_jr_randint():
    # the draw of every BA target (`_barabasi_albert_pairs`); spans 1, 2, 3, a power
    # of two and the largest int32 beside random ones
    for seed, n in ((0, 1000), (1, 70_001)):
        key = jr.key(seed)
        lim = jr.randint(jr.fold_in(key, 1), (n,), 1, 2**31 - 1, dtype=jnp.int32)
        lim = lim.at[:5].set(jnp.array([1, 2, 3, 1 << 20, 2**31 - 1], jnp.int32))
        full = jr.randint(key, (n,), 0, lim, dtype=jnp.int32)
        got = jax.jit(generators._randint)(key, lim)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(full))
        # any entries alone, in any order, repeated: the full draw's values there
        at = jr.randint(jr.fold_in(key, 2), (257,), 0, n, dtype=jnp.int32)
        part = jax.jit(generators._randint)(key, lim[at], at)
        np.testing.assert_array_equal(np.asarray(part), np.asarray(full)[at])


def test_randint_at_needs_partitionable_bits():
    with jax.threefry_partitionable(False):
        lim = jnp.full(8, 5, jnp.int32)
        full = generators._randint(jr.key(0), lim)
        expect = jr.randint(jr.key(0), (8,), 0, lim, dtype=jnp.int32)
        np.testing.assert_array_equal(np.asarray(full), np.asarray(expect))
        with pytest.raises(ValueError, match="partitionable"):
            generators._randint(jr.key(0), lim, jnp.arange(8, dtype=jnp.int32))


@pytest.mark.parametrize("n_marked", [0, 1, 7, 40, 3000])
def test_ba_redraw_in_blocks_is_the_full_redraw(n_marked):
    # BA's redraw: masked entries get the full draw's values, the rest keep theirs,
    # whether it draws the marked blocks alone (at most 8 of the 16-entry blocks hold
    # a marked entry: 0, 1, 7 marked, or 40 in 7 blocks) or all entries (3000 marked);
    # the last block is partial (4001 entries)
    n_t, par_start, m = 4001, 64, 3
    key = jr.key(n_marked)
    rng = np.random.default_rng(n_marked)
    mask = np.zeros(n_t, bool)
    if n_marked == 40:  # blocks 1, 2, 6, 187, 188, 249 and the partial last, 250
        mask[[*range(16, 40), *range(3000, 3010), 4000, 3999, 100, 101, 102, 103]] = (
            True
        )
    else:
        mask[rng.choice(n_t, n_marked, replace=False)] = True
    old = jnp.asarray(rng.integers(-5, 0, n_t), jnp.int32)  # unlike any draw
    limit = par_start + 2 * m * (jnp.arange(n_t, dtype=jnp.int32) // m)
    expect = jnp.where(mask, generators._randint(key, limit), old)
    redraw = jax.jit(generators._redraw, static_argnums=(3, 4, 5, 6))
    got = redraw(key, jnp.asarray(mask), old, par_start, m, 16, 8)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expect))
    assert np.all(np.asarray(got)[~mask] == np.asarray(old)[~mask])


def test_rem_u32_is_exact():
    # a = q span - 1 for large q (a / span just below an integer, where a rounded
    # quotient would reach q if float64 were too coarse), exact multiples, the
    # extremes, and random pairs
    rng = np.random.default_rng(0)
    span = rng.integers(1, 2**32, 20_000, dtype=np.uint64)
    q = rng.integers(1, 2**32, 20_000, dtype=np.uint64) % (2**32 // span) + 1
    a = np.concatenate([q * span - 1, q * span, rng.integers(0, 2**32, 20_000)])
    s = np.concatenate([span, span, rng.integers(1, 2**32, 20_000)])
    a = np.concatenate([a, [2**32 - 1, 2**32 - 1, 2**32 - 2, 0]]).astype(np.uint32)
    s = np.concatenate([s, [2**32 - 1, 1, 2**32 - 1, 7]]).astype(np.uint32)
    got = jax.jit(generators._rem_u32)(jnp.asarray(a), jnp.asarray(s))
    np.testing.assert_array_equal(np.asarray(got), a % s)


def test_barabasi_albert_small_and_bad(getkey):
    g = G.barabasi_albert(getkey(), 6, 2)
    assert_slot_invariants(g)
    assert np.asarray(g.degrees()).min() == 2
    with pytest.raises(ValueError, match="m"):
        G.barabasi_albert(getkey(), 5, 4)
    with pytest.raises(ValueError, match="m"):
        G.barabasi_albert(getkey(), 5, 0)


@pytest.mark.parametrize("n, d", [(1000, 3), (500, 4), (200, 10), (12, 11)])
def test_random_regular_simple_and_regular(n, d, getkey):
    g = G.random_regular(getkey(), n, d)
    assert_slot_invariants(g)
    assert np.all(np.asarray(g.degrees()) == d)
    assert g.edge_mask is None


def test_lattice_matches_networkx():
    g = G.lattice((5, 4, 3), periodic=True)
    ref = nx.grid_graph(dim=[3, 4, 5], periodic=True)
    assert g.n_edges == ref.number_of_edges()
    assert np.all(np.asarray(g.degrees()) == 6)
    g2 = G.lattice((5, 4), periodic=False)
    assert g2.n_edges == nx.grid_2d_graph(5, 4).number_of_edges()
    assert_slot_invariants(g)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda k: G.erdos_renyi(k, 0, 1.0), "n_nodes"),
        (lambda k: G.erdos_renyi(k, 10, -1.0), "mean_degree"),
        (lambda k: G.erdos_renyi(k, 10, 9.0), "mean_degree"),
        (lambda k: G.erdos_renyi(k, 10, float("nan")), "mean_degree"),
        (lambda k: G.power_law(k, 100, 2.0, 4.0), "gamma"),
        (lambda k: G.power_law(k, 100, 2.5, 0.0), "mean_degree"),
        (lambda k: G.random_regular(k, 5, 3), "even"),
        (lambda k: G.random_regular(k, 5, 5), "degree"),
        (lambda k: G.lattice((2, 5)), "periodic"),
    ],
)
def test_generators_bad_input(call, match, getkey):
    with pytest.raises(ValueError, match=match):
        call(getkey())


# ---------------------------------------------------------------- components


def _same_partition(labels, ref):
    labels, ref = np.asarray(labels), np.asarray(ref)
    pairs = set(zip(labels.tolist(), ref.tolist()))
    return len(pairs) == len(set(labels.tolist())) == len(set(ref.tolist()))


@pytest.mark.parametrize("mean_degree", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("masked", [False, True])
def test_components_match_scipy(mean_degree, masked, getkey):
    g = G.erdos_renyi(getkey(), 3000, mean_degree)
    extra = None
    if masked:
        extra = jr.bernoulli(getkey(), 0.5, (g.n_edges,))[g.edge_ids]
    labels = G.connected_components(g, extra)
    _, ref = csgraph.connected_components(
        G.to_scipy(g.with_mask(extra)), directed=False
    )
    assert _same_partition(labels, ref)
    lab = np.asarray(labels)
    # The label is the smallest node id of the component.
    for c in np.unique(lab):
        assert c == np.flatnonzero(lab == c).min()
    sizes = np.asarray(G.component_sizes(labels))
    assert sizes.sum() == 3000
    np.testing.assert_allclose(
        G.giant_component_fraction(g, extra), np.bincount(ref).max() / 3000
    )


def test_components_on_lattice_and_isolated_nodes():
    g = G.lattice((40, 40), periodic=False)
    assert np.all(np.asarray(G.connected_components(g)) == 0)
    g = G.from_edges(np.array([[3, 4], [5, 9]]), 10)
    np.testing.assert_array_equal(
        G.connected_components(g), [0, 1, 2, 3, 3, 5, 6, 7, 8, 5]
    )


def test_components_under_vmap(getkey):
    g = G.erdos_renyi(getkey(), 400, 1.5)
    masks = jr.bernoulli(getkey(), 0.7, (4, g.n_edges))[:, g.edge_ids]
    batched = jax.vmap(lambda m: G.connected_components(g, m))(masks)
    for i in range(4):
        np.testing.assert_array_equal(batched[i], G.connected_components(g, masks[i]))


def test_asymmetric_concrete_masks_are_refused(getkey):
    """Both slots of an edge must agree: a concrete mask that keeps one of them is an
    error naming the argument (before: a silently directed graph; the edge-list and
    FastSV component paths then disagreed). A traced one is not checked (no sync)."""
    g = G.erdos_renyi(getkey(), 300, 6.0)  # its own mask drops repeated pairs
    ids, s, r = (np.asarray(a) for a in (g.edge_ids, g.senders, g.receivers))
    own = np.asarray(g.edge_mask)
    assert not own.all()
    rng = np.random.default_rng(0)
    sym = (rng.random(g.n_edges) < 0.5)[ids]
    G.connected_components(g, jnp.asarray(sym))  # accepted
    kept = np.flatnonzero(sym & own)
    bad = {
        "one slot": np.where(np.arange(g.n_slots) == kept[0], False, sym),
        "directed": s < r,
        "per slot": rng.random(g.n_slots) < 0.5,
    }
    for name, mask in bad.items():
        mask = jnp.asarray(mask)
        with pytest.raises(ValueError, match="`mask`.*both slots"):
            g.with_mask(mask)
        with pytest.raises(ValueError, match="`edge_mask`"):
            G.connected_components(g, mask)
        with pytest.raises(ValueError, match="`edge_mask`"):
            G.giant_component_fraction(g, mask)
    # one to four slots of distinct edges flipped: every one is caught
    first = np.unique(ids[kept], return_index=True)[1]
    for trial in range(120):
        flip = rng.choice(kept[first], size=trial % 4 + 1, replace=False)
        mask = sym.copy()
        mask[flip] = False
        with pytest.raises(ValueError, match="`mask`"):
            g.with_mask(jnp.asarray(mask))
    # one slot of an edge the graph itself drops: harmless, accepted
    gone = np.flatnonzero(~own & (s != r))[0]
    odd = sym.copy()
    odd[ids == ids[gone]] = False
    odd[gone] = True
    g.with_mask(jnp.asarray(odd))
    # traced: not checked (the caller's intent, as colouring's own DAG mask)
    out = jax.jit(lambda m: g.with_mask(m).edge_mask)(jnp.asarray(s < r))
    np.testing.assert_array_equal(np.asarray(out), (s < r) & own)


def test_mask_check_host_and_device_xor_agree():
    """The check's XOR on the host (split over threads) and on a device (the path for
    accelerator arrays) agree; 0 exactly for a mask that agrees on every edge."""
    from meshjax.graph import _graph

    rng = np.random.default_rng(1)
    e = 1 << 20  # two parts on two host threads
    ids = rng.permutation(np.repeat(np.arange(e // 2, dtype=np.int32), 2))
    sym = (rng.random(e // 2) < 0.5)[ids]
    per_slot = rng.random(e) < 0.5
    assert _graph._xor_odd_squares(ids, sym) == 0
    host = _graph._xor_odd_squares(ids, per_slot)
    dev = _graph._xor_odd_squares_jit(
        jnp.asarray(ids)[None], jnp.asarray(per_slot)[None]
    )
    assert host != 0 and host == int(np.asarray(dev)[0])


# ---------------------------------------------------------------- colouring


@pytest.mark.parametrize("kind", ["er", "ba", "lattice", "powerlaw"])
def test_colouring_is_proper_and_bounded(kind, getkey):
    g = {
        "er": lambda: G.erdos_renyi(getkey(), 2000, 8.0),
        "ba": lambda: G.barabasi_albert(getkey(), 2000, 4),
        "lattice": lambda: G.lattice((10, 11)),
        "powerlaw": lambda: G.power_law(getkey(), 2000, 2.5, 6.0),
    }[kind]()
    c = G.colouring(getkey(), g)
    G.check_colouring(g, c)
    assert int(c.max()) + 1 <= int(g.degrees().max()) + 1
    cc = G.colour_classes(c, int(c.max()) + 1)
    order, offsets = cc.order, cc.offsets
    assert np.all(np.diff(np.asarray(c)[np.asarray(order)]) >= 0)
    assert int(offsets[-1]) == g.n_nodes


def test_check_colouring_rejects_improper():
    g = G.lattice((4, 4))
    with pytest.raises(ValueError, match="not proper"):
        G.check_colouring(g, np.zeros(16, np.int32))
    with pytest.raises(ValueError, match="shape"):
        G.check_colouring(g, np.zeros(15, np.int32))


# ---------------------------------------------------------------- invariants (hypothesis)

from hypothesis import given, settings, strategies as st  # noqa: E402

_N, _CAP = 24, 60


@st.composite
def _edge_lists(draw):
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, _N - 1), st.integers(0, _N - 1)), max_size=_CAP
        )
    )
    seen, out = set(), []
    for u, v in pairs:
        if u != v and frozenset((u, v)) not in seen:
            seen.add(frozenset((u, v)))
            out.append((u, v))
    return np.array(out, np.int64).reshape(-1, 2)


@settings(max_examples=40, deadline=None)
@given(_edge_lists())
def test_any_graph_components_partition_and_colouring_proper(edges):
    # One padded shape for every example: one compilation.
    g = G.from_edges(edges, _N, capacity=_CAP)
    assert_slot_invariants(g)
    labels = np.asarray(G.connected_components(g))
    _, ref = csgraph.connected_components(G.to_scipy(g), directed=False)
    assert _same_partition(labels, ref)
    assert np.all(labels <= np.arange(_N)) and np.all(labels[labels] == labels)
    c = G.colouring(jr.key(0), g)
    G.check_colouring(g, c)
    assert int(c.max()) <= int(np.asarray(g.degrees()).max())


# ---------------------------------------------------- issue 12: contract and reproducers


def test_count_neighbor_states_refuses_states_out_of_range():
    """Issue 12: states >= q were silently dropped from the counts."""
    import jax

    g = G.lattice((4, 4))
    s = np.zeros(16, np.int32)
    s[3] = 3
    with pytest.raises(ValueError, match="`states`"):
        G.count_neighbor_states(g, s, 3)
    out = jax.jit(lambda x: G.count_neighbor_states(g, x, 3))(jnp.asarray(s))
    assert np.all(np.asarray(out) == -1)
    w = jnp.ones(g.n_slots)
    out = jax.jit(lambda x: G.count_neighbor_states(g, x, 3, w))(jnp.asarray(s))
    assert np.all(np.isnan(np.asarray(out)))


def test_from_edges_refuses_more_nodes_than_int32():
    """Issue 12: n_nodes > 2^31 wrapped node ids."""
    with pytest.raises(ValueError, match="`n_nodes`"):
        G.from_edges(np.array([[0, 1]]), 2**31 + 5)
    with pytest.raises(ValueError, match="`n_nodes`"):
        G.from_edges(np.array([[0, 2**31 + 1]]), 2**31 + 5)


def test_giant_component_matches_networkx():
    Gx = nx.disjoint_union(nx.gnm_random_graph(30, 45, seed=1), nx.path_graph(5))
    Gx.add_node(99)
    g = G.from_networkx(Gx)
    gc = G.giant_component(g)
    big = max(nx.connected_components(Gx), key=len)
    nodes = sorted(Gx.nodes)
    assert sorted(nodes[i] for i in np.asarray(gc.nodes)) == sorted(big)
    np.testing.assert_allclose(float(gc.fraction), len(big) / Gx.number_of_nodes())
    sub = nx.relabel_nodes(
        Gx.subgraph(big), {nodes[i]: k for k, i in enumerate(np.asarray(gc.nodes))}
    )
    assert nx.utils.graphs_equal(G.to_networkx(gc.graph), nx.Graph(sub))


def test_weights_roundtrip_and_weighted_ops_match_scipy():
    rng = np.random.default_rng(0)
    Gx = nx.gnm_random_graph(25, 60, seed=4)
    for u, v in Gx.edges():
        Gx[u][v]["w"] = float(rng.uniform(0.1, 2.0))
    g = G.from_networkx(Gx, weight="w")
    assert g.weights is not None and G.from_networkx(Gx).weights is None
    # both slots of an edge carry the same weight
    per_edge = np.asarray(g.edge_weights())[np.asarray(g.edge_ids)]
    np.testing.assert_array_equal(per_edge, np.asarray(g.weights))
    a = nx.to_scipy_sparse_array(Gx, nodelist=range(25), weight="w").toarray()
    np.testing.assert_allclose(G.to_scipy(g).toarray(), a)
    x = rng.normal(size=(25, 2))
    np.testing.assert_allclose(np.asarray(G.neighbor_sum(g, x)), a @ x, rtol=1e-12)
    lap = np.diag(a.sum(1)) - a
    np.testing.assert_allclose(
        np.asarray(G.laplacian_matvec(g, x)), lap @ x, rtol=1e-10, atol=1e-12
    )
    s = rng.integers(0, 3, 25)
    ref = np.stack([a @ (s == k) for k in range(3)], 1)
    np.testing.assert_allclose(np.asarray(G.count_neighbor_states(g, s, 3)), ref)
    # scipy and networkx round trips keep the weights
    g2 = G.from_scipy(G.to_scipy(g), weighted=True)
    np.testing.assert_allclose(G.to_scipy(g2).toarray(), a)
    back = G.to_networkx(g)
    for u, v, d in back.edges(data=True):
        assert d["weight"] == pytest.approx(Gx[u][v]["w"])
    # from_edges with weights and padding
    e = np.array([[0, 1], [1, 2]])
    gp = G.from_edges(e, 3, weights=np.array([2.0, 3.0]), capacity=4)
    np.testing.assert_allclose(G.to_scipy(gp).toarray()[0, 1], 2.0)
    with pytest.raises(ValueError, match="`weights`"):
        G.from_edges(e, 3, weights=np.array([1.0]))
    with pytest.raises(ValueError, match="`weights`"):
        G.from_edges(e, 3, weights=np.array([1.0, np.nan]))


def test_from_networkx_labels_and_directed():
    Gx = nx.Graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    lg = G.from_networkx(Gx, return_labels=True)
    assert isinstance(lg, G.LabelledGraph) and lg.labels == ("a", "b", "c", "d")
    idx = lg.index()
    got = {tuple(sorted((lg.labels[u], lg.labels[v]))) for u, v in G.to_edges(lg.graph)}
    assert got == {tuple(sorted(e)) for e in Gx.edges()} and idx["c"] == 2
    D = nx.DiGraph([(0, 1), (1, 0), (1, 2)])
    with pytest.raises(ValueError, match="directed"):
        G.from_networkx(D)
    gs = G.from_networkx(D, symmetrize=True)
    assert G.to_edges(gs).tolist() == [[0, 1], [1, 2]]


def test_from_pairs_refuses_or_masks_ids_off_the_graph():
    """A concrete id outside [0, n) is an error; a traced one makes its pair absent
    (it was laid out as a slot pointing at node 5 of a 3-node graph)."""
    with pytest.raises(ValueError, match="`src`"):
        G.from_pairs(jnp.array([0, 5, 1]), jnp.array([1, 2, 2]), 3)
    with pytest.raises(ValueError, match="`dst`"):
        G.from_pairs(np.array([0, 1]), np.array([1, -1]), 3)
    g = jax.jit(lambda s, d: G.from_pairs(s, d, 3))(
        jnp.array([0, 5, 1, -1]), jnp.array([1, 2, 2, 0])
    )
    assert G.to_edges(g).tolist() == [[0, 1], [1, 2]]
    np.testing.assert_array_equal(np.asarray(g.degrees()), [1, 2, 1])
    assert int(g.num_active_edges()) == 2


def test_from_pairs_matches_from_edges_and_jits():
    """The jittable constructor lays out the same graph as the host one."""
    rng = np.random.default_rng(5)
    e = rng.integers(0, 30, (80, 2))
    src, dst = jnp.asarray(e[:, 0], jnp.int32), jnp.asarray(e[:, 1], jnp.int32)
    g = jax.jit(lambda s, d: G.from_pairs(s, d, 30, dedupe=True))(src, dst)
    want = {tuple(sorted(p)) for p in e.tolist() if p[0] != p[1]}
    got = {tuple(p) for p in G.to_edges(g).tolist()}
    assert got == want
    ref = nx.Graph(sorted(want))
    ref.add_nodes_from(range(30))
    np.testing.assert_array_equal(
        np.asarray(g.degrees()), [ref.degree(i) for i in range(30)]
    )
