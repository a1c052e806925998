"""Edge-sharded graphs on 8 forced CPU devices give the numbers of the unsharded graph."""

import re

import jax
import jax.numpy as jnp
import jax.random as jr
import networkx as nx
import numpy as np
import pytest
from jax import lax
from jax.sharding import NamedSharding

from meshjax import graph as G
from meshjax.graph.components import _fastsv
from meshjax.graph.sharding import (
    padded_slot_count,
    replicate,
    shard_edges,
    shard_graph,
    shard_slots,
)
from meshjax.percolation import bond_percolation
from meshjax.sweep import device_mesh

N = 400
M = 451  # 902 slots: not a multiple of 8, so shard_graph pads


@pytest.fixture(scope="module")
def mesh():
    assert jax.device_count() >= 8
    return device_mesh(8, "edges")


@pytest.fixture(scope="module")
def graphs(mesh):
    nxg = nx.gnm_random_graph(
        N, M, seed=3
    )  # mean degree 2.25: a giant + small components
    g = G.from_networkx(nxg)
    return g, shard_graph(g, mesh)


def _spec(a):
    return tuple(a.sharding.spec)


def test_layout_padding_and_sharding(graphs, mesh):
    g, gs = graphs
    e = g.n_slots
    assert e == 2 * M and e % 8
    assert gs.n_slots == padded_slot_count(e, 8) == 904
    assert gs.n_nodes == g.n_nodes and gs.n_edges == gs.n_slots // 2
    for a in (gs.senders, gs.receivers, gs.edge_ids, gs.edge_mask):
        assert isinstance(a.sharding, NamedSharding) and _spec(a) == ("edges",)
        shards = a.addressable_shards
        assert len({s.device for s in shards}) == 8
        assert all(s.data.shape == (gs.n_slots // 8,) for s in shards)
    # The original slots first, unchanged; padding masked, sorted, ids paired.
    for name in ("senders", "receivers", "edge_ids"):
        np.testing.assert_array_equal(
            np.asarray(getattr(gs, name))[:e], np.asarray(getattr(g, name))
        )
    mask = np.asarray(gs.edge_mask)
    assert mask[:e].all() and not mask[e:].any()
    r, s = np.asarray(gs.receivers), np.asarray(gs.senders)
    assert np.all(np.diff(r) >= 0) and np.all(r[e:] == N - 1) and np.all(s[e:] == N - 1)
    np.testing.assert_array_equal(
        np.bincount(np.asarray(gs.edge_ids)), np.full(gs.n_edges, 2)
    )
    assert int(gs.num_active_edges()) == M


def test_no_padding_keeps_mask_none(mesh):
    g = G.lattice((8, 8), periodic=True)  # 256 slots
    assert g.edge_mask is None
    gs = shard_graph(g, mesh)
    assert gs.edge_mask is None and gs.n_slots == g.n_slots
    assert _spec(gs.senders) == ("edges",)


@pytest.mark.parametrize("n_dev", [1, 3])
def test_other_device_counts(n_dev, getkey):
    g = G.from_networkx(nx.gnm_random_graph(200, 499, seed=n_dev))
    gs = shard_graph(g, device_mesh(n_dev, "edges"))
    assert gs.n_slots % (2 * n_dev if n_dev % 2 else n_dev) == 0
    assert len(gs.senders.addressable_shards) == n_dev
    x = jr.normal(getkey(), (200,))
    np.testing.assert_allclose(
        jax.jit(G.neighbor_sum)(gs, replicate(x, gs.senders.sharding.mesh)),
        G.neighbor_sum(g, x),
        rtol=1e-12,
        atol=1e-12,
    )


def test_matvecs_and_counts_match(graphs, mesh, getkey):
    g, gs = graphs
    x = jr.normal(getkey(), (N, 3))
    xr = replicate(x, mesh)

    @jax.jit
    def ops(graph, x, states, w):
        return (
            G.neighbor_sum(graph, x),
            G.laplacian_matvec(graph, x[:, 0]),
            G.count_neighbor_states(graph, states, 4),
            G.count_neighbor_states(graph, states, 4, weights=w),
            graph.degrees(),
        )

    states = jr.randint(getkey(), (N,), 0, 4)
    w = jr.uniform(getkey(), (g.n_slots,))
    ref = ops(g, x, states, w)
    out = ops(gs, xr, replicate(states, mesh), shard_slots(w, gs))
    for a, b in zip(out, ref):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert _spec(a) in (
            (),
            (None,),
            (None, None),
        )  # node outputs come back replicated
    np.testing.assert_allclose(out[0], ref[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out[1], ref[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(out[2], ref[2])
    np.testing.assert_allclose(out[3], ref[3], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(out[4], ref[4])
    # ... and against networkx.
    A = nx.to_numpy_array(G.to_networkx(g), nodelist=range(N))
    np.testing.assert_allclose(out[0], A @ np.asarray(x), rtol=1e-12, atol=1e-12)
    # float32 input keeps its dtype when sharded too.
    out32 = jax.jit(G.neighbor_sum)(gs, replicate(x.astype(jnp.float32), mesh))
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(out32, ref[0], rtol=1e-5, atol=1e-5)


def test_compiled_code_never_gathers_slots(graphs, mesh):
    _, gs = graphs
    xr = replicate(jnp.ones(N), mesh)
    sr = replicate(jnp.zeros(N, jnp.int32), mesh)
    cases = {
        "neighbor_sum": (jax.jit(G.neighbor_sum).lower(gs, xr), N),
        "laplacian": (jax.jit(G.laplacian_matvec).lower(gs, xr), N),
        "counts": (
            jax.jit(G.count_neighbor_states, static_argnums=2).lower(gs, sr, 3),
            3 * N,
        ),
        "components": (_fastsv.lower(gs), N),
    }
    for name, (lowered, size) in cases.items():
        hlo = lowered.compile().as_text()
        assert "all-gather" not in hlo, name
        # the only cross-device traffic: node-sized reductions, never slot-sized
        reduces = re.findall(r"= (\S+) all-reduce\(", hlo)
        assert reduces and all(f"[{size}]" in shape for shape in reduces), (
            name,
            reduces,
        )


def test_connected_components_match(graphs, mesh, getkey):
    g, gs = graphs
    labels = G.connected_components(g)
    np.testing.assert_array_equal(G.connected_components(gs), labels)
    # networkx agrees on the partition
    comps = nx.connected_components(G.to_networkx(g))
    ref = np.empty(N, np.int64)
    for c in comps:
        ref[list(c)] = min(c)
    np.testing.assert_array_equal(labels, ref)
    # percolated bonds drawn on the unsharded graph, padded and sharded
    bonds = bond_percolation(getkey(), g, 0.7)
    want = G.connected_components(g, bonds)
    bs = shard_slots(bonds, gs, fill=False)
    assert _spec(bs) == ("edges",) and bs.shape == (gs.n_slots,)
    np.testing.assert_array_equal(G.connected_components(gs, bs), want)
    np.testing.assert_allclose(
        G.giant_component_fraction(gs, bs),
        G.giant_component_fraction(g, bonds),
        rtol=0,
        atol=0,
    )


@jax.jit
def _diffuse(graph, u0, dt):
    """50 explicit Euler steps of du/dt = -L u."""

    def step(u, _):
        u = u - dt * G.laplacian_matvec(graph, u)
        return u, u

    return lax.scan(step, u0, None, length=50)[1]


def test_diffusion_trajectory_matches(graphs, mesh, getkey):
    g, gs = graphs
    u0 = jr.uniform(getkey(), (N,))
    ref = _diffuse(g, u0, 0.05)
    out = _diffuse(gs, replicate(u0, mesh), 0.05)
    assert out.shape == (50, N)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        out.sum(axis=1), float(u0.sum()), rtol=1e-12
    )  # mass kept
    # and against dense numpy Euler
    L = nx.laplacian_matrix(G.to_networkx(g), nodelist=range(N)).toarray()
    u = np.asarray(u0)
    for _ in range(50):
        u = u - 0.05 * (L @ u)
    np.testing.assert_allclose(out[-1], u, rtol=1e-12, atol=1e-12)


def test_shard_edges_equals_shard_graph_of_from_edges(graphs, mesh):
    g, gs = graphs
    edges = G.to_edges(g)
    rng = np.random.default_rng(0)
    edges = edges[rng.permutation(len(edges))]
    edges[::2] = edges[::2, ::-1]  # either orientation
    want = shard_graph(G.from_edges(edges, N), mesh)
    got = shard_edges(edges, N, mesh)
    for name in ("senders", "receivers", "edge_ids", "edge_mask"):
        a, b = getattr(got, name), getattr(want, name)
        np.testing.assert_array_equal(a, b)
        assert _spec(a) == ("edges",)
    # repeats: an error, or dropped with dedupe (the first copy kept)
    rep = np.concatenate([edges, edges[:5, ::-1]])
    with pytest.raises(ValueError, match="repeated"):
        shard_edges(rep, N, mesh)
    dd = shard_edges(rep, N, mesh, dedupe=True)
    np.testing.assert_array_equal(dd.edge_ids, got.edge_ids)
    empty = shard_edges(np.zeros((0, 2), int), 5, mesh)
    assert empty.n_slots == 8 and not np.asarray(empty.edge_mask).any()
    np.testing.assert_array_equal(G.neighbor_sum(empty, jnp.ones(5)), np.zeros(5))


def test_default_mesh_and_replicate():
    g = G.from_networkx(nx.cycle_graph(101))
    gs = shard_graph(g)  # all devices
    assert len(gs.senders.addressable_shards) == jax.device_count()
    tree = replicate({"x": np.arange(3.0), "k": 3})
    assert tree["k"] == 3 and _spec(tree["x"]) == ()
    assert len(tree["x"].addressable_shards) == jax.device_count()


def test_bad_inputs(graphs, mesh):
    g, gs = graphs
    with pytest.raises(TypeError, match="graph"):
        shard_graph(np.zeros(4), mesh)
    with pytest.raises(TypeError, match="mesh"):
        shard_graph(g, "cpu")
    with pytest.raises(ValueError, match="axis"):
        shard_graph(g, mesh, axis="batch")
    with pytest.raises(ValueError, match="axis"):
        shard_graph(g, mesh, axis="")
    stacked = jax.tree.map(lambda a: jnp.stack([a, a]), g)
    with pytest.raises(ValueError, match="unbatched"):
        shard_graph(stacked, mesh)
    with pytest.raises(ValueError, match="n_slots"):
        padded_slot_count(3, 2)
    with pytest.raises(ValueError, match="n_devices"):
        padded_slot_count(4, 0)
    with pytest.raises(TypeError, match="n_slots"):
        padded_slot_count(4.0, 2)
    with pytest.raises(ValueError, match="shard_graph"):
        shard_slots(np.ones(g.n_slots), g)
    with pytest.raises(ValueError, match="values"):
        shard_slots(np.ones(gs.n_slots + 2), gs)
    with pytest.raises(ValueError, match="values"):
        shard_slots(np.float64(1.0), gs)
    with pytest.raises(TypeError, match="graph"):
        shard_slots(np.ones(4), "graph")
    with pytest.raises(TypeError, match="mesh"):
        replicate(np.ones(3), mesh="cpu")
    with pytest.raises(ValueError, match="edges"):
        shard_edges(np.zeros((3, 3), int), 5, mesh)
    with pytest.raises(TypeError, match="edges"):
        shard_edges(np.zeros((3, 2)), 5, mesh)
    with pytest.raises(ValueError, match="node ids"):
        shard_edges([[0, 5]], 5, mesh)
    with pytest.raises(ValueError, match="self-loop"):
        shard_edges([[1, 1]], 5, mesh)
    with pytest.raises(ValueError, match="n_nodes"):
        shard_edges([[0, 1]], 0, mesh)


def test_weighted_graph_shards_its_weights(mesh):
    nxg = nx.gnm_random_graph(50, 61, seed=2)
    rng = np.random.default_rng(0)
    for u, v in nxg.edges():
        nxg[u][v]["weight"] = float(rng.uniform(0.5, 2.0))
    g = G.from_networkx(nxg, weight="weight")
    gs = shard_graph(g, mesh)
    assert gs.weights is not None and _spec(gs.weights) == ("edges",)
    x = jnp.asarray(rng.normal(size=50))
    np.testing.assert_allclose(
        np.asarray(jax.jit(G.neighbor_sum)(gs, x)),
        np.asarray(G.neighbor_sum(g, x)),
        rtol=1e-10,
    )
