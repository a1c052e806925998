"""Components from a compact edge list (`compact_edges`, `pair_components`) and the
Swendsen–Wang clusters that use them (`potts._cluster._bond_components`)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse import csgraph

from meshjax.graph import (
    components as C,
    connected_components,
    erdos_renyi,
    power_law,
    with_layout,
)
from meshjax.potts import _cluster


def _scipy_labels(n, u, v):
    """Smallest node id of each component, from scipy."""
    a = sp.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _, lab = csgraph.connected_components(a, directed=False)
    smallest = np.full(lab.max() + 1, n)
    np.minimum.at(smallest, lab, np.arange(n))
    return smallest[lab]


@pytest.mark.parametrize(
    "e, density, cap",
    [
        (1000, 0.0, 50),  # nothing flagged
        (1000, 1.0, 1000),  # everything
        (1000, 0.05, 64),
        (4099, 0.3, 2000),  # a partial last word
        (4099, 0.3, 100),  # more flags than places: the first `cap`
        (70_001, 0.01, 5000),
    ],
)
def test_flag_positions_are_flatnonzero(e, density, cap):
    rng = np.random.default_rng(e + cap)
    flags = rng.random(e) < density
    flags[:200] = False  # leading empty words
    if density == 1.0:
        flags[:] = True
    idx, count = jax.jit(C._flag_positions, static_argnums=1)(jnp.asarray(flags), cap)
    expect = np.flatnonzero(flags)[:cap]
    got = np.asarray(idx)
    assert int(count) == flags.sum()
    np.testing.assert_array_equal(got[: expect.size], expect)
    assert np.all(got[expect.size :] == e)


@pytest.mark.parametrize("keep", [0.0, 0.05, 0.12, 0.6])
def test_pair_components_match_scipy(keep):
    # a masked ER graph (its own repeats masked) and a power-law graph with hubs; a mask
    # that keeps a share `keep` of the edges, both slots alike
    key = jr.key(int(keep * 100))
    for g in (erdos_renyi(key, 3000, 6.0), power_law(key, 2000, 2.3, 4.0)):
        draw = jr.uniform(jr.fold_in(key, 1), (g.n_edges,)) < keep
        present = draw[g.edge_ids]
        if g.edge_mask is not None:
            present &= g.edge_mask
        cap = g.n_slots // 2
        u, v, count = C.compact_edges(g, present, cap)
        labels = C.pair_components(g.n_nodes, u, v)
        s, r, pm = (np.asarray(x) for x in (g.senders, g.receivers, present))
        one_way = pm & (s < r)
        assert int(count) == one_way.sum()
        np.testing.assert_array_equal(
            np.asarray(labels), _scipy_labels(g.n_nodes, s[one_way], r[one_way])
        )
        np.testing.assert_array_equal(
            np.asarray(labels), np.asarray(connected_components(g, present))
        )


@pytest.mark.parametrize("keep", [0.05, 0.3, 1.0])
def test_pair_components_shortened_lists_match_scipy(monkeypatch, keep):
    # small tiers so that a small graph's list is shortened several times (1/4 each,
    # down to 8 pairs), with rounds on the full list repeated while too many pairs are
    # active (keep=1.0: a connected graph), and padding pairs (cap above the count)
    monkeypatch.setattr(C, "_TIER_RATIO", 4)
    monkeypatch.setattr(C, "_TIER_FLOOR", 8)
    key = jr.key(int(keep * 100) + 5)
    for g in (erdos_renyi(key, 3000, 6.0), power_law(key, 2000, 2.3, 4.0)):
        present = _bonds(g, jr.fold_in(key, 1), keep)
        cap = g.n_slots // 2 + 17
        u, v, count = jax.jit(C.compact_edges, static_argnums=2)(g, present, cap)
        labels = jax.jit(C.pair_components, static_argnums=0)(g.n_nodes, u, v)
        s, r, pm = (np.asarray(x) for x in (g.senders, g.receivers, present))
        one_way = pm & (s < r)
        assert int(count) == one_way.sum()
        np.testing.assert_array_equal(
            np.asarray(labels), _scipy_labels(g.n_nodes, s[one_way], r[one_way])
        )
        # and batched: every member's list shortened alike
        both = jnp.stack([u, jnp.flip(v)]), jnp.stack([v, jnp.flip(u)])
        got = jax.vmap(lambda a, b: C.pair_components(g.n_nodes, a, b))(*both)
        np.testing.assert_array_equal(np.asarray(got[0]), np.asarray(labels))
        flipped = np.asarray(jnp.flip(v)), np.asarray(jnp.flip(u))
        np.testing.assert_array_equal(
            np.asarray(got[1]), _scipy_labels(g.n_nodes, *flipped)
        )


def _bonds(g, key, share):
    b = jr.uniform(key, (g.n_edges,)) < share
    b = b[g.edge_ids]
    return b if g.edge_mask is None else b & g.edge_mask


def test_bond_components_take_either_branch_with_the_same_labels():
    # sparse bonds (below SPARSE_EDGES of the edges: the edge list) and dense ones (the
    # layout path), on a graph with a layout; min_nodes=0 lets a small graph in
    g = with_layout(erdos_renyi(jr.key(0), 4000, 8.0), policy="always")
    assert g.layout is not None
    fn = jax.jit(lambda b: _cluster._bond_components(g, b, min_nodes=0))
    for share in (0.05, 0.1, 0.5, 0.9):
        bonds = _bonds(g, jr.key(int(share * 10)), share)
        got = np.asarray(fn(bonds))
        expect = np.asarray(connected_components(_cluster._bond_graph(g, bonds)))
        np.testing.assert_array_equal(got, expect)
    # and batched (the batch takes one branch: the edge lists only if all fit): both
    # sparse, and one sparse with one dense
    for shares in ((0.05, 0.1), (0.05, 0.8)):
        both = jnp.stack([_bonds(g, jr.key(7 + i), x) for i, x in enumerate(shares)])
        got = jax.vmap(fn)(both)
        for i in range(2):
            expect = connected_components(_cluster._bond_graph(g, both[i]))
            np.testing.assert_array_equal(np.asarray(got[i]), np.asarray(expect))


def test_swendsen_wang_sweep_is_the_same_on_either_path():
    # the clusters are exact either way, so a sweep gives the same spins bit for bit
    g = with_layout(erdos_renyi(jr.key(1), 4000, 8.0), policy="always")
    spins = jr.randint(jr.key(2), (g.n_nodes,), 0, 3, dtype=jnp.int32).astype(jnp.int8)
    beta = jnp.float32(0.2)

    def sweep(min_nodes):
        def step(key, s):
            key_b, key_s = jr.split(key)
            bonds = _cluster._fk_bonds(key_b, g, s, beta, None)
            labels = _cluster._bond_components(g, bonds, min_nodes=min_nodes)
            return _cluster._cluster_states(key_s, labels, s, beta, None, 3)

        return jax.jit(step)

    sparse, layout = sweep(0), sweep(g.n_nodes + 1)
    s_a = s_b = spins
    for t in range(3):
        s_a = sparse(jr.key(10 + t), s_a)
        s_b = layout(jr.key(10 + t), s_b)
        np.testing.assert_array_equal(np.asarray(s_a), np.asarray(s_b))
    # and the step used by every Swendsen–Wang entry point is this one
    ref = _cluster._sw_step(jr.key(10), g, spins, beta, None, None, 3)
    np.testing.assert_array_equal(
        np.asarray(ref), np.asarray(layout(jr.key(10), spins))
    )


def test_connected_components_with_a_sparse_mask_reads_the_edge_list(monkeypatch):
    # a mask on a graph with a layout from AFFOREST_MIN_NODES nodes (lowered here so
    # that a small graph qualifies): few edges kept -> the short edge list, up to half
    # of them -> the long one, more -> FastSV; scipy's labels every way, alone and in
    # one vmap (which takes the shortest list that all members fit)
    monkeypatch.setattr(C, "AFFOREST_MIN_NODES", 1000)
    g = with_layout(erdos_renyi(jr.key(3), 4000, 8.0), policy="always")
    s, r = np.asarray(g.senders), np.asarray(g.receivers)
    masks = []
    for i, share in enumerate((0.03, 0.11, 0.3, 0.45, 0.8)):
        m = _bonds(g, jr.key(20 + i), share)  # includes the graph's own mask
        masks.append(m)
        got = np.asarray(connected_components(g, m))
        keep = np.asarray(m) & (s < r)
        np.testing.assert_array_equal(got, _scipy_labels(g.n_nodes, s[keep], r[keep]))
    # short + short, short + long, long + long, short + FastSV, long + FastSV
    for pair in ((0, 1), (0, 2), (2, 3), (0, 4), (3, 4)):
        batch = jnp.stack([masks[i] for i in pair])
        got = jax.vmap(lambda m: connected_components(g, m))(batch)
        for j, i in enumerate(pair):
            keep = np.asarray(masks[i]) & (s < r)
            np.testing.assert_array_equal(
                np.asarray(got[j]), _scipy_labels(g.n_nodes, s[keep], r[keep])
            )
