"""The gather layout (jagged diagonals + COO tail) against the segment path and scipy."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.sparse.csgraph as csgraph

from meshjax import graph as G


@pytest.fixture(scope="module")
def graphs():
    """The five graph families, built once for all parametrizations."""
    k = jr.split(jr.key(31), 4)
    return {
        "er": G.erdos_renyi(k[0], 600, 6.0),
        "powerlaw": G.power_law(k[1], 800, 2.2, 5.0),
        "ba": G.barabasi_albert(k[2], 500, 3),
        "padded": G.from_edges(
            np.array([[0, 1], [1, 2], [2, 3], [5, 9], [9, 4]]), 12, capacity=9
        ),
        "lattice": G.lattice((7, 9)),
    }


def _dense(g):
    return G.to_scipy(g).toarray().astype(np.float64)


@jax.jit
def _layout_ops(g, bare, xj, sj, w):
    """Every reduction of the test in one program (op by op, each primitive of each
    layout column compiled on its own): one compile per case."""
    return (
        G.neighbor_sum(g, xj),
        G.neighbor_sum(g, xj[:, 0]),
        G.laplacian_matvec(g, xj[:, 1]),
        g.degrees(),
        G.count_neighbor_states(g, sj.astype(jnp.int8), 3),
        G.count_neighbor_states(g, sj, 3, w),
        G.count_neighbor_states(bare, sj, 3, w),
    )


@pytest.mark.parametrize(
    "kind, max_columns",
    [("er", 32), ("powerlaw", 2), ("ba", 4), ("padded", 32), ("lattice", 32)],
)
@pytest.mark.parametrize("masked", [False, True])
def test_layout_ops_match_scipy(kind, max_columns, masked, graphs, getkey):
    g = G.with_layout(graphs[kind], policy="always", max_columns=max_columns)
    assert g.layout is not None
    bare = G.with_layout(g, policy="never")
    assert bare.layout is None
    # inputs drawn on the host: jax.random would compile a sampler per graph's shapes
    rng = np.random.default_rng(len(kind) + 10 * max_columns + int(masked))
    if masked:
        keep = jnp.asarray((rng.random(g.n_edges) < 0.6)[np.asarray(g.edge_ids)])
        g, bare = g.with_mask(keep), bare.with_mask(keep)
        assert not g.layout.mask_baked
    A = _dense(bare)
    n = g.n_nodes
    q = 3
    x = rng.normal(size=(n, 3))
    xj = jnp.asarray(x)
    s = rng.integers(0, q, n)
    sj = jnp.asarray(s, jnp.int32)
    w = jnp.asarray(rng.uniform(size=g.n_slots))
    nsum, nsum0, lap, deg, cns, cns_w, cns_w_bare = _layout_ops(g, bare, xj, sj, w)
    np.testing.assert_allclose(nsum, A @ x, atol=1e-10)
    np.testing.assert_allclose(nsum0, A @ x[:, 0], atol=1e-10)
    L = np.diag(A.sum(1)) - A
    np.testing.assert_allclose(lap, L @ x[:, 1], atol=1e-10)
    np.testing.assert_array_equal(deg, A.sum(1))
    np.testing.assert_array_equal(cns, A @ np.eye(q)[s])
    np.testing.assert_allclose(cns_w, cns_w_bare)
    labels = G.connected_components(g)
    _, ref = csgraph.connected_components(G.to_scipy(bare), directed=False)
    pairs = set(zip(np.asarray(labels).tolist(), ref.tolist()))
    assert len(pairs) == len(set(ref.tolist()))
    np.testing.assert_array_equal(labels, G.connected_components(bare))
    if not masked or kind == "powerlaw":
        c = G.colouring(getkey(), g)
        G.check_colouring(bare, c)
        assert int(c.max()) <= int(A.sum(1).max())


def test_layout_is_compact(getkey):
    g1 = G.with_layout(G.erdos_renyi(getkey(), 20_000, 10.0), policy="always")
    lay = g1.layout
    # Head entries: the slots plus at most 1/16 rounding per column.
    assert lay.head.shape[0] <= g1.n_slots * 17 / 16 + 32 * lay.n_columns
    assert lay.nbytes() / g1.n_slots < 7.0
    assert all(a >= b for a, b in zip(lay.lengths, lay.lengths[1:]))


def test_auto_policy_and_tracing(getkey):
    small = G.erdos_renyi(getkey(), 100, 3.0)
    assert G.with_layout(small).layout is None  # below the auto threshold
    big = G.erdos_renyi(getkey(), 5000, 10.0)
    assert big.layout is not None  # generators attach one where it pays
    assert G.with_layout(big, policy="measure").n_slots == big.n_slots
    with pytest.raises(ValueError, match="policy"):
        G.with_layout(small, policy="fast")
    # Under jit the layout passes through as pytree leaves.
    x = jnp.ones(5000)
    np.testing.assert_allclose(
        jax.jit(G.neighbor_sum)(big, x), G.to_scipy(big) @ np.ones(5000)
    )


def test_colouring_is_greedy_quality(getkey):
    g = G.erdos_renyi(getkey(), 20_000, 10.0)
    c = G.colouring(getkey(), g)
    G.check_colouring(g, c)
    # Sequential greedy uses 6-8 colours on ER(<k> = 10).
    assert int(c.max()) + 1 <= 9


def _greedy_reference(key, g, block):
    """Sequential greedy colouring in the order `colouring` documents, node by node."""
    from meshjax.graph.colouring import _within_block_key

    n = g.n_nodes
    prio = np.asarray(_within_block_key(jr.key(key), g)).astype(np.int64)
    s, r = np.asarray(g.senders), np.asarray(g.receivers)
    present = (
        np.ones(s.shape[0], bool) if g.edge_mask is None else np.asarray(g.edge_mask)
    )
    counts = np.bincount(r, minlength=n)
    rank = np.empty(n, np.int64)
    rank[np.argsort(-counts, kind="stable")] = np.arange(n)
    blk = rank // min(block, n)
    # earlier block first, then the larger key, then the larger id
    seq = np.lexsort((-np.arange(n), -prio, blk))
    bounds = np.searchsorted(r, np.arange(n + 1))
    col = np.full(n, -1)
    for i in seq:
        nb = s[bounds[i] : bounds[i + 1]][present[bounds[i] : bounds[i + 1]]]
        taken = set(col[nb].tolist())
        c = 0
        while c in taken:
            c += 1
        col[i] = c
    return col


def _colouring_cases():
    er = G.erdos_renyi(jr.key(1), 3000, 10.0)
    ba = G.barabasi_albert(jr.key(2), 3000, 4)
    # one draw per edge: both slots agree (a mask per slot is refused by `with_mask`)
    masked = er.edge_mask & jr.bernoulli(jr.key(3), 0.7, (er.n_edges,))[er.edge_ids]
    clique = np.array([(i, j) for i in range(40) for j in range(i)])
    dense = G.from_edges(np.concatenate([clique, G.to_edges(er)[:2000] + 40]), 3040)
    return {"er": er, "ba": ba, "masked": masked, "clique": dense}


@pytest.mark.parametrize("case", ["er", "ba", "masked", "clique"])
@pytest.mark.parametrize("max_columns", [3, 32])
@pytest.mark.parametrize("block", [256, 1 << 15])
def test_colouring_is_the_sequential_greedy(case, max_columns, block):
    """Block by block on the layout (few columns: hubs with a COO tail; many blocks;
    a mask read per slot; a 40-clique whose colours pass the 32-bit window; both ways of
    storing the state) and pass by pass on the slots: the sequential greedy colouring
    in the documented order, computed node by node."""
    from meshjax.graph.colouring import (
        _BLOCK,
        _block_greedy,
        _fixed_point,
        _priority_dag,
    )

    cases = _colouring_cases()
    g = cases["er" if case == "masked" else case]
    lay = G.with_layout(g, policy="always", max_columns=max_columns)
    if case == "masked":  # a mask after the layout: read per slot
        g, lay = g.with_mask(cases[case]), lay.with_mask(cases[case])
    want = _greedy_reference(9, g, block)
    assert max_columns > 3 or lay.layout.tail_nbr.shape[0] > 0
    assert case != "masked" or not lay.layout.mask_baked
    for packed in (True, False) if block == 256 else (True,):
        got = np.asarray(_block_greedy(jr.key(9), lay, block, packed))
        np.testing.assert_array_equal(got, want)
    seg = G.with_layout(g, policy="never")
    assert seg.layout is None
    np.testing.assert_array_equal(
        np.asarray(_fixed_point(_priority_dag(jr.key(9), seg, block))), want
    )
    if block == _BLOCK:  # the public function, both ways
        np.testing.assert_array_equal(G.colouring(jr.key(9), lay), want)
        np.testing.assert_array_equal(G.colouring(jr.key(9), seg), want)
    assert case != "clique" or want.max() >= 39


def test_colouring_of_graphs_with_few_entries():
    """A layout without entries (no edges) or with one column, and hubs all in the tail."""
    empty = G.with_layout(G.from_edges(np.zeros((0, 2), np.int64), 10), policy="always")
    assert empty.layout is not None and empty.layout.n_columns == 0
    np.testing.assert_array_equal(G.colouring(0, empty), np.zeros(10, np.int32))
    one = G.with_layout(G.from_edges(np.array([[0, 1]]), 3), policy="always")
    c = np.asarray(G.colouring(0, one))
    assert sorted(c[:2].tolist()) == [0, 1] and c[2] == 0  # the isolated node: colour 0
    grid = G.with_layout(G.lattice((5, 5)), policy="always", max_columns=1)
    assert grid.layout.tail_nbr.shape[0] == 75
    G.check_colouring(grid, G.colouring(0, grid))


def test_host_assembly_is_bit_identical_to_jitted(getkey):
    """On the CPU backend, concrete keys assemble slots in NumPy; traced keys in XLA."""
    n = 3000
    for make in (
        lambda k: G.erdos_renyi(k, n, 6.0),
        lambda k: G.power_law(k, n, 2.2, 6.0),  # has self-loops and repeats (masked)
        lambda k: G.barabasi_albert(k, n, 3),
    ):
        key = getkey()
        host = make(key)
        traced = jax.jit(jax.vmap(make))(key[None])  # jit: one program, not op by op
        for field in ("senders", "receivers", "edge_ids"):
            np.testing.assert_array_equal(
                getattr(host, field), getattr(traced, field)[0]
            )
        if host.edge_mask is not None:
            np.testing.assert_array_equal(host.edge_mask, traced.edge_mask[0])


@pytest.mark.parametrize("host_fill", [True, False])
@pytest.mark.parametrize("dedupe", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_host_assembly_matches_jitted_on_loops_and_repeats(
    seed, dedupe, host_fill, monkeypatch
):
    """Many self-loops (several at one node) and repeated pairs, in any orientation;
    small graphs fill their slots in NumPy, large ones in a compiled program: both."""
    from meshjax.graph import _graph
    from meshjax.graph._graph import _assemble, _assemble_np

    monkeypatch.setattr(_graph, "_HOST_FILL_MAX", 1 << 30 if host_fill else 0)
    rng = np.random.default_rng(seed)
    n = 12
    src = rng.integers(0, n, 200).astype(np.int32)
    dst = np.where(rng.random(200) < 0.2, src, rng.integers(0, n, 200)).astype(np.int32)
    host = _assemble_np([src, dst], n, dedupe)
    ref = jax.jit(_assemble, static_argnums=(2, 3))(src, dst, n, dedupe)
    for field in ("senders", "receivers", "edge_ids", "edge_mask"):
        np.testing.assert_array_equal(getattr(host, field), getattr(ref, field))
    # every id is on exactly two slots, the two directions of one pair
    order = np.argsort(np.asarray(host.edge_ids), kind="stable")
    ids = np.asarray(host.edge_ids)[order].reshape(-1, 2)
    assert np.all(ids[:, 0] == ids[:, 1]) and np.array_equal(ids[:, 0], np.arange(200))
    s = np.asarray(host.senders)[order].reshape(-1, 2)
    r = np.asarray(host.receivers)[order].reshape(-1, 2)
    assert np.array_equal(s[:, 0], r[:, 1]) and np.array_equal(s[:, 1], r[:, 0])
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    pairs = np.sort(lo.astype(np.int64) * n + hi)  # ids follow (lo, hi) order
    assert np.array_equal(
        np.minimum(s[:, 0], s[:, 1]) * n + np.maximum(s[:, 0], s[:, 1]), pairs
    )
    zero = np.zeros(0, np.int32)
    for empty in (
        _assemble_np([zero, zero], n, dedupe),
        _assemble(zero, zero, n, dedupe),
    ):
        assert empty.n_slots == 0


@pytest.mark.parametrize("host_fill", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_assembly_by_upper_matches_pairs_in_any_order(seed, host_fill, monkeypatch):
    """Simple pairs given as `[hi, lo]` sorted by `(hi, lo)` take one sort instead of
    two (and, filled by the compiled program, read their lower ends in order): the same
    graph as the same pairs in any order and orientation, layout included."""
    from meshjax.graph import _graph
    from meshjax.graph._graph import _assemble, _assemble_np

    monkeypatch.setattr(_graph, "_HOST_FILL_MAX", 1 << 30 if host_fill else 0)
    rng = np.random.default_rng(seed)
    n = 40 + 30 * seed
    lo, hi = np.triu_indices(n, 1)
    keep = rng.random(lo.shape[0]) < 0.3
    keep[-1] = True  # node n - 1 has an edge: every row can be empty but the last
    lo, hi = lo[keep].astype(np.int32), hi[keep].astype(np.int32)
    order = np.lexsort((lo, hi))
    ref = jax.jit(_assemble, static_argnums=(2, 3))(
        *rng.permutation(np.stack([lo, hi]), axis=0), n, False
    )
    shuffled = rng.permutation(lo.shape[0])
    any_order = _assemble_np([hi[shuffled], lo[shuffled]], n, False, simple=True)
    got = _assemble_np([hi[order], lo[order]], n, False, simple=True, by_upper=True)
    assert got.edge_mask is None and any_order.edge_mask is None
    for field in ("senders", "receivers", "edge_ids"):
        np.testing.assert_array_equal(getattr(got, field), getattr(ref, field))
        np.testing.assert_array_equal(getattr(any_order, field), getattr(ref, field))
    laid = G.with_layout(got, policy="always")
    want = G.with_layout(any_order, policy="always")
    for field in ("order", "first", "head", "tail_nbr", "tail_slot"):
        np.testing.assert_array_equal(
            getattr(laid.layout, field), getattr(want.layout, field)
        )
    with pytest.raises(ValueError, match="simple"):
        _assemble_np([hi[order], lo[order]], n, False, by_upper=True)


def test_assembly_by_upper_in_parts_and_chunks(monkeypatch):
    """The one-sort assembly with its scatter split over threads in many blocks, and
    the compiled fill (reading `lows`) in chunks: the same graph as the two-sort one."""
    from meshjax import _host
    from meshjax.graph import _graph
    from meshjax.graph._graph import _assemble_np

    rng = np.random.default_rng(5)
    n = 200
    lo, hi = np.triu_indices(n, 1)
    keep = rng.random(lo.shape[0]) < 0.05
    lo, hi = lo[keep].astype(np.int32), hi[keep].astype(np.int32)
    order = np.lexsort((lo, hi))
    ref = _assemble_np([lo, hi], n, False, simple=True)  # two sorts, one fill pass
    monkeypatch.setattr(_graph, "_HOST_FILL_MAX", 0)
    monkeypatch.setattr(_graph, "_FILL_CHUNK", 64)
    monkeypatch.setattr(_graph, "_PLACE_BLOCK", 5)
    monkeypatch.setattr(_host, "MIN_PARALLEL", 7)  # several parts even on one core
    _graph._fill_slots_jit.clear_cache()  # traced again with the small chunks
    try:
        got = _assemble_np([hi[order], lo[order]], n, False, simple=True, by_upper=True)
    finally:
        _graph._fill_slots_jit.clear_cache()
    for field in ("senders", "receivers", "edge_ids"):
        np.testing.assert_array_equal(getattr(got, field), getattr(ref, field))


@pytest.mark.parametrize("chunk", [None, 64])
def test_assembly_by_upper_with_a_regular_tail(chunk, monkeypatch):
    """Pairs that come `k` per row after a head (BA's arrivals after its core): the
    assembly told so (`tail`) takes the rows' lower counts and every pair's upper end
    from its position, and makes the same graph as without being told."""
    from meshjax.graph import _graph
    from meshjax.graph._graph import _assemble_np

    rng = np.random.default_rng(11)
    n, k = 300, 3
    core = [(i, j) for j in range(k + 1) for i in range(j)]  # (lo, hi), by (hi, lo)
    tail_pairs = [
        (int(lo), t) for t in range(k + 1, n) for lo in np.sort(rng.choice(t, k, False))
    ]
    lo, hi = np.array(core + tail_pairs, np.int32).T
    monkeypatch.setattr(_graph, "_HOST_FILL_MAX", 0)  # the compiled fill reads `tail`
    if chunk:
        monkeypatch.setattr(_graph, "_FILL_CHUNK", chunk)
        monkeypatch.setattr(_graph, "_PLACE_BLOCK", 5)
    _graph._fill_slots_jit.clear_cache()
    try:
        ref = _assemble_np([hi, lo], n, False, simple=True, by_upper=True)
        spec = (len(core), k + 1, k)
        got = _assemble_np([hi, lo], n, False, simple=True, by_upper=True, tail=spec)
        headless = _assemble_np(
            [hi[len(core) :], lo[len(core) :]],
            n,
            False,
            simple=True,
            by_upper=True,
            tail=(0, k + 1, k),
        )
    finally:
        _graph._fill_slots_jit.clear_cache()
    want = _assemble_np([lo, hi], n, False, simple=True)  # two sorts, no tail
    for field in ("senders", "receivers", "edge_ids"):
        np.testing.assert_array_equal(getattr(got, field), getattr(ref, field))
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
    no_core = _assemble_np([lo[len(core) :], hi[len(core) :]], n, False, simple=True)
    for field in ("senders", "receivers", "edge_ids"):
        np.testing.assert_array_equal(getattr(headless, field), getattr(no_core, field))
    with pytest.raises(ValueError, match="by_upper"):
        _assemble_np([hi, lo], n, False, simple=True, tail=spec)
    with pytest.raises(ValueError, match="whole rows"):  # a partial last row
        _assemble_np(
            [hi[:-1], lo[:-1]], n, False, simple=True, by_upper=True, tail=spec
        )


@pytest.mark.parametrize("kind", ["er", "ba", "powerlaw"])
def test_generated_layout_equals_one_built_afresh(kind):
    """Generators attach a layout whose plan was made beside the assembly's sorts: the
    same as one built afresh from the graph's slots (masked repeats included)."""
    make = {
        "er": lambda k: G.erdos_renyi(k, 5000, 10.0),
        "ba": lambda k: G.barabasi_albert(k, 5000, 5),
        "powerlaw": lambda k: G.power_law(k, 5000, 2.2, 10.0),  # repeats, masked
    }[kind]
    g = make(jr.key(3))
    assert g.layout is not None
    fresh = G.with_layout(G.with_layout(g, policy="never"), policy="always").layout
    for field in ("order", "inv", "first", "degree", "head", "tail_nbr", "tail_pos"):
        np.testing.assert_array_equal(getattr(g.layout, field), getattr(fresh, field))
    np.testing.assert_array_equal(g.layout.tail_slot, fresh.tail_slot)
    assert g.layout.lengths == fresh.lengths


def test_barabasi_albert_pairs_come_by_upper_end():
    """BA's pairs are `[hi, lo]`, `lo < hi`, sorted by `(hi, lo)` (what the one-sort
    assembly needs), each arrival's targets distinct."""
    from meshjax.graph.generators import _barabasi_albert_pairs

    for n, m in ((7, 5), (3000, 3), (2500, 1), (1100, 20)):
        hi, lo = map(np.asarray, _barabasi_albert_pairs(jr.key(n), n, m))
        assert hi.shape == lo.shape == (m * (m + 1) // 2 + m * (n - m - 1),)
        assert np.all(lo < hi) and np.all((hi >= 0) & (hi < n))
        key = hi.astype(np.int64) * n + lo
        assert np.all(np.diff(key) > 0)  # sorted by (hi, lo), no repeat


@pytest.mark.parametrize("k", [1, 2, 5, 16, 17])
def test_sort_rows_network_equals_sort(k):
    from meshjax.graph.generators import _sort_rows

    x = jr.randint(jr.key(k), (300, k), -50, 50, jnp.int32)
    np.testing.assert_array_equal(_sort_rows(x), jnp.sort(x, axis=1))


@pytest.mark.parametrize("dedupe", [True, False])
def test_slot_fill_in_chunks_matches_one_pass(dedupe, monkeypatch):
    """Large graphs fill their slots chunk by chunk (the last chunk overlaps the one
    before it): with tiny chunks the jitted assembly still equals the NumPy fill."""
    from meshjax.graph import _graph
    from meshjax.graph._graph import _assemble, _assemble_np

    rng = np.random.default_rng(11)
    n = 30
    src = rng.integers(0, n, 211).astype(np.int32)
    dst = np.where(rng.random(211) < 0.1, src, rng.integers(0, n, 211)).astype(np.int32)
    monkeypatch.setattr(_graph, "_HOST_FILL_MAX", 1 << 30)
    host = _assemble_np([src, dst], n, dedupe)
    monkeypatch.setattr(
        _graph, "_FILL_CHUNK", 64
    )  # 422 slots: 7 chunks, the last overlaps
    # a new function object: traced afresh, so the patched chunk size is used
    chunked = jax.jit(lambda a, b: _assemble(a, b, n, dedupe))(src, dst)
    for field in ("senders", "receivers", "edge_ids", "edge_mask"):
        np.testing.assert_array_equal(getattr(host, field), getattr(chunked, field))


@pytest.mark.parametrize("gamma", [2.05, 2.5, 4.0])
def test_power_law_guide_table_is_exact_inverse_cdf(gamma):
    """The guide-table search returns `searchsorted(cdf, u, side="right")` exactly."""
    from meshjax.graph.generators import _inverse_cdf, _power_law_draws

    n, m = 5000, 40_000
    i = jnp.arange(1, n + 1, dtype=jnp.float32)
    cdf = jnp.cumsum(i ** (-1.0 / (gamma - 1.0)))
    cdf = cdf / cdf[-1]
    x = jr.uniform(jr.key(7), (m,), jnp.float32)
    x = x.at[:3].set(jnp.asarray([0.0, cdf[0], cdf[n // 2]]))  # ties with the CDF
    want = jnp.minimum(jnp.searchsorted(cdf, x, side="right"), n - 1)
    np.testing.assert_array_equal(jax.jit(_inverse_cdf)(cdf, x), want)
    # the relabelling keys are unique and sort to a permutation
    rank_keys = _power_law_draws(jr.key(8), n, m, np.float32(gamma))[2]
    perm = np.sort(np.asarray(rank_keys)) & np.uint64((1 << 13) - 1)
    assert np.array_equal(np.sort(perm), np.arange(n))


def test_generator_layout_matches_a_layout_built_afterwards():
    """The host assembly attaches the layout with its own row starts (and patches masked
    repeats and self-loops into the sentinel): the same as building it from scratch."""
    for g in (
        G.power_law(jr.key(3), 20_000, 2.2, 4.0),  # masked loops and repeats
        G.barabasi_albert(jr.key(4), 8000, 3),  # no mask
    ):
        assert g.layout is not None
        bare = G.with_layout(g, policy="never")
        ref = G.with_layout(bare, policy="always").layout
        for a, b in zip(jax.tree.leaves(g.layout), jax.tree.leaves(ref), strict=True):
            np.testing.assert_array_equal(a, b)
        assert g.layout.lengths == ref.lengths


@pytest.mark.parametrize("parts", [2, 3])
def test_layout_filled_by_several_host_threads_equals_one(parts, monkeypatch):
    """The head's columns cut by rows over host threads: the same layout as one thread
    fills (the cuts fall inside degree classes, and masked slots are patched after)."""
    from meshjax import _host

    graphs = (
        G.power_law(jr.key(5), 20_000, 2.2, 4.0),  # masked loops and repeats
        G.barabasi_albert(jr.key(6), 8000, 3),
    )
    monkeypatch.setattr(_host, "MIN_PARALLEL", 1 << 40)
    one = [G.with_layout(g, policy="always").layout for g in graphs]
    monkeypatch.setattr(_host, "MIN_PARALLEL", 1000)
    monkeypatch.setattr(_host, "threads", lambda: parts)
    for g, ref in zip(graphs, one, strict=True):
        split = G.with_layout(g, policy="always").layout
        for a, b in zip(jax.tree.leaves(split), jax.tree.leaves(ref), strict=True):
            np.testing.assert_array_equal(a, b)


def test_weighted_graph_with_layout_matches_segment_path():
    """A layout carries no weights: weighted reductions must still use them."""
    rng = np.random.default_rng(3)
    e = np.array([[i, (i * 7 + 3) % 60] for i in range(60) if i != (i * 7 + 3) % 60])
    w = rng.uniform(0.5, 2.0, len(e))
    g = G.from_edges(e, 60, weights=w, dedupe=True)
    gl = G.with_layout(g, policy="always")
    assert gl.layout is not None and gl.weights is not None
    x = jnp.asarray(rng.normal(size=60), jnp.float32)
    s = jnp.asarray(rng.integers(0, 3, 60), jnp.int32)
    # under jit: one program per graph, not every primitive compiled op by op
    f = jax.jit(
        lambda h: (
            G.neighbor_sum(h, x),
            G.laplacian_matvec(h, x),
            G.count_neighbor_states(h, s, 3),
        )
    )
    for a, b in zip(f(gl), f(g), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5)
    assert G.with_layout(gl, policy="never").weights is not None


def test_bake_mask_equals_reading_the_mask_per_slot():
    """`bake_mask` folds a slot mask into the layout (e.g. FK bonds): the same
    reductions and components as `with_mask`, which reads the mask every time."""
    from meshjax.graph import barabasi_albert, connected_components, neighbor_sum
    from meshjax.graph._layout import bake_mask

    g = G.with_layout(
        barabasi_albert(jr.key(3), 2000, 3), policy="always", max_columns=5
    )
    assert g.layout.tail_nbr.shape[0] > 0
    keep = jr.uniform(jr.key(4), (g.n_edges,))[g.edge_ids] < 0.4  # per edge
    masked = g.with_mask(keep)
    baked = G.Graph(
        g.senders,
        g.receivers,
        g.edge_ids,
        keep,
        g.n_nodes,
        layout=bake_mask(g.layout, keep),
    )
    assert baked.layout.mask_baked
    x = jr.normal(jr.key(5), (g.n_nodes,))
    nsum = jax.jit(neighbor_sum)  # one program per graph, not op by op
    np.testing.assert_allclose(
        np.asarray(nsum(baked, x)),
        np.asarray(nsum(masked, x)),
        rtol=1e-6,
        atol=1e-6,
    )
    np.testing.assert_array_equal(
        np.asarray(connected_components(baked)),
        np.asarray(connected_components(masked)),
    )


@pytest.mark.parametrize("chunk", [7, 1 << 18])
def test_entry_maps_chunk_by_chunk(chunk, monkeypatch):
    """`bake_mask` rewrites the head chunk by chunk (the last chunk
    overlaps the one before it): with tiny chunks and one chunk, every entry equals a
    NumPy reference built from each entry's row and column."""
    from meshjax.graph import _layout
    from meshjax.graph._layout import bake_mask

    monkeypatch.setattr(_layout, "_MAP_CHUNK", chunk)
    g = G.with_layout(
        G.barabasi_albert(jr.key(3), 300, 3), policy="always", max_columns=6
    )
    lay = g.layout
    n, e = lay.n_nodes, lay.n_slots
    head = np.asarray(lay.head)
    rows = np.concatenate([np.arange(length) for length in lay.lengths])
    cols = np.repeat(np.arange(lay.n_columns), lay.lengths)
    # every entry sees its own row, column and neighbour
    got = jax.jit(
        lambda la: _layout._map_entries(
            la, lambda nbr, r, c: (r * lay.n_columns + c) * (n + 1) + nbr
        )
    )(lay)
    np.testing.assert_array_equal(
        np.asarray(got), (rows * lay.n_columns + cols) * (n + 1) + head
    )
    keep = np.asarray(jr.uniform(jr.key(4), (e,)) < 0.5)
    slot = np.minimum(np.asarray(lay.first)[rows] + cols, e)
    want = np.where(np.append(keep, False)[slot], head, n)
    # fresh traces: the patched chunk size is read when tracing
    got = jax.jit(lambda la, k: bake_mask(la, k).head)(lay, jnp.asarray(keep))
    np.testing.assert_array_equal(np.asarray(got), want)


def _min_id_labels(g):
    """Exact labels: the smallest node id of each component (scipy's partition)."""
    _, ref = csgraph.connected_components(G.to_scipy(g), directed=False)
    first = np.full(ref.max() + 1, g.n_nodes)
    np.minimum.at(first, ref, np.arange(g.n_nodes))
    return first[ref]


def _case(name):
    """Graphs with a layout for the component tests: few or many left-over rows after
    the sample, a mask read per slot, hubs with tail slots."""
    key = jr.key(7)
    if name == "er":
        g = G.erdos_renyi(key, 3000, 8.0)
    elif name == "dense":  # 97 rows left over after the sample
        g = G.erdos_renyi(key, 3000, 12.0)
    elif name == "sparse":  # many small components: FastSV on every edge
        g = G.erdos_renyi(key, 3000, 1.6)
    elif name.startswith("masked"):
        g = G.erdos_renyi(key, 3000, 6.0)
    else:
        g = G.barabasi_albert(key, 3000, 3)
    g = G.with_layout(g, policy="always", max_columns=6 if name == "hubs" else 32)
    if name == "hubs":
        assert g.layout.tail_nbr.shape[0] > 0
    if name.startswith("masked"):  # "masked_few": few rows left over; else many
        share = 0.95 if name == "masked_few" else 0.45
        keep = jr.bernoulli(jr.key(8), share, (g.n_edges,))[g.edge_ids]
        g = g.with_mask(keep)
        assert not g.layout.mask_baked
    return g


@pytest.mark.parametrize(
    ("name", "few"),
    [
        ("dense", True),
        ("sparse", False),
        ("masked", False),
        ("masked_few", True),
        ("hubs", True),
    ],
)
def test_components_afforest_is_exact(name, few):
    """Sampled rounds, then the left-over rows on their own (`few`) or FastSV on every
    edge: the labels are exactly the smallest node id of each component."""
    from meshjax.graph import components as C

    g = _case(name)
    labels, finished_alone = C._fastsv(g, afforest=True, report_branch=True)
    assert bool(finished_alone) == few  # the branch the data chose
    np.testing.assert_array_equal(labels, _min_id_labels(g))


@pytest.mark.parametrize("name", ["sparse", "masked"])
@pytest.mark.parametrize("share", [8, 10**9])
def test_components_many_left_over_rows_is_exact(monkeypatch, name, share):
    """Many rows left over after the sample: the edges joining two labels as a list
    (`pair_components` from the sample's labels), or, where they do not fit (a list of
    one pair: share 10^9), FastSV on every edge; exact labels either way."""
    from meshjax.graph import components as C

    monkeypatch.setattr(C, "_FINISH_SHARE", share)
    g = _case(name)

    def fresh(g):  # a new function: traced again with the patched share
        return C._fastsv.__wrapped__(g, afforest=True, report_branch=True)

    labels, finished_alone = jax.jit(fresh)(g)
    assert not bool(finished_alone)
    np.testing.assert_array_equal(labels, _min_id_labels(g))


def test_components_take_afforest_from_its_size(monkeypatch):
    """`connected_components` takes the Afforest finish from `AFFOREST_MIN_NODES` nodes
    on, the plain sampled FastSV below (both exact)."""
    from meshjax.graph import components as C

    seen = []
    real = C._fastsv

    def spy(g, afforest=True, report_branch=False):
        seen.append(afforest)
        return real(g, afforest=afforest)

    monkeypatch.setattr(C, "_fastsv", spy)
    monkeypatch.setattr(C, "AFFOREST_MIN_NODES", 3000)
    for name in ("dense", "hubs"):  # 3000 nodes each
        g = _case(name)
        np.testing.assert_array_equal(G.connected_components(g), _min_id_labels(g))
    monkeypatch.setattr(C, "AFFOREST_MIN_NODES", 3001)
    g = _case("sparse")
    np.testing.assert_array_equal(G.connected_components(g), _min_id_labels(g))
    assert seen == [True, True, False]


@pytest.mark.parametrize(
    ("name", "share"), [("er", 0.2), ("sparse", 0.6), ("masked", 0.6), ("hubs", 0.2)]
)
def test_finishing_the_left_over_rows_is_exact(name, share):
    """`_finish_rows` from any flat start whose trees lie inside components (here: the
    components of a random share of the edges): hooking the rows outside the most
    frequent label gives the exact labels, with hundreds of such rows or few."""
    from meshjax.graph import components as C

    g = _case(name)
    s, r = np.asarray(g.senders), np.asarray(g.receivers)
    up = s < r
    if g.edge_mask is not None:
        up &= np.asarray(g.edge_mask)
    pick = np.random.default_rng(3).random(up.size) < share
    sub = G.from_edges(np.stack([s[up & pick], r[up & pick]], 1), g.n_nodes)
    f = _min_id_labels(sub)
    deg = np.asarray(g.layout.degree)
    todo = (f != np.bincount(f).argmax()) & (deg > 0)
    if g.layout.tail_nbr.shape[0]:  # the caller's condition: no hub left over
        hubs = np.asarray(g.layout.order)[np.asarray(g.layout.tail_pos)]
        todo[hubs] = False
        # BA is connected: its hubs may share one label, the smallest id among them
        f = np.where(np.isin(f, f[hubs]), f[hubs].min(), f)
        f = np.where(f == f[hubs].min(), np.flatnonzero(f == f[hubs].min()).min(), f)
        todo = (f != f[hubs].min()) & (deg > 0)
    assert todo.sum() > 0
    got = C._finish_rows(
        g, jnp.asarray(f, jnp.int32), todo=jnp.asarray(todo), cap=int(todo.sum()) + 5
    )
    np.testing.assert_array_equal(got, _min_id_labels(g))


def test_finishing_reads_every_column_of_a_left_over_row():
    """The only link between ten left-over nodes and the labelled core is the last entry
    of one row (the widest column, holding that row alone): it must be read."""
    from meshjax.graph import components as C

    core = [(i, i + 1) for i in range(100, 199)]  # a path, labelled 100 already
    clique = [(i, j) for i in range(10) for j in range(i + 1, 10)]
    g = G.with_layout(
        G.from_edges(np.array(core + clique + [(0, 150)]), 200), policy="always"
    )
    assert g.layout.lengths[-1] == 1  # node 0's row alone reaches the last column
    f = np.arange(200)
    f[100:] = 100
    todo = np.arange(200) < 10
    got = C._finish_rows(g, jnp.asarray(f, jnp.int32), todo=jnp.asarray(todo), cap=16)
    want = np.where(np.arange(200) < 10, 0, np.where(np.arange(200) < 100, f, 0))
    np.testing.assert_array_equal(got, want)


def test_components_with_layout_under_vmap():
    """Batched masks: `lax.cond` becomes a select over both branches, same labels."""
    from meshjax.graph import components as C

    g = G.with_layout(G.erdos_renyi(jr.key(1), 2000, 4.0), policy="always")
    masks = jr.bernoulli(jr.key(2), 0.5, (3, g.n_edges))[:, g.edge_ids]
    batched = jax.vmap(lambda m: C._fastsv(g.with_mask(m), afforest=True))(masks)
    for i in range(3):
        np.testing.assert_array_equal(batched[i], _min_id_labels(g.with_mask(masks[i])))


@pytest.mark.parametrize(
    ("n", "density"),
    [(1, 0.3), (128, 0.3), (1000, 0.0), (5003, 0.0), (5003, 0.003), (5003, 0.3)],
)
def test_positions_of_few_flags(n, density):
    """`_positions` (blocks first, then within them) equals `flatnonzero` padded with n,
    also for n not a multiple of the block and when the flags just fill `cap`."""
    from meshjax.graph.components import _positions

    flags = np.random.default_rng(n).random(n) < density
    want = np.flatnonzero(flags)
    for cap in (len(want), len(want) + 3, max(len(want), 512)):
        got = np.asarray(_positions(jnp.asarray(flags), cap))
        assert got.dtype == np.int32 and got.shape == (cap,)
        np.testing.assert_array_equal(got[: len(want)], want)
        assert np.all(got[len(want) :] == n)


def test_layout_laplacian_is_the_segment_paths_expression():
    """With a layout, (Lx)_i is summed as sum_j A_ij (x_i - x_j), the segment path's
    expression (it was k_i x_i - (Ax)_i): exactly 0 on a constant vector, 0 at a node
    without edges whatever it holds (inf and NaN gave NaN), and no cancellation for
    values far from 0 (1e4 + noise in float32 was 0.022 off)."""
    rng = np.random.default_rng(3)
    n = 8000
    e = rng.integers(0, n - 10, (20000, 2))  # nodes n - 10 .. n - 1 isolated
    e = e[e[:, 0] != e[:, 1]]
    g = G.from_edges(e, n, dedupe=True)
    assert g.layout is not None
    bare = G.with_layout(g, policy="never")
    A = G.to_scipy(bare)
    x = (1e4 + rng.normal(size=n)).astype(np.float32)
    x64 = x.astype(np.float64)
    ref = np.asarray(A.sum(1)).ravel() * x64 - A @ x64
    for h in (g, bare):
        np.testing.assert_allclose(
            np.asarray(G.laplacian_matvec(h, x)), ref, rtol=0, atol=2e-3
        )
        const = np.full(n, 0.1, np.float32)
        assert not np.asarray(G.laplacian_matvec(h, const)).any()
        x_bad = x.copy()
        x_bad[-2:] = [np.inf, np.nan]
        out = np.asarray(G.laplacian_matvec(h, x_bad))
        assert (out[-2:] == 0).all()
        assert np.isfinite(out).all()
    # the same under a mask applied after the layout was built (read per slot)
    keep = jnp.asarray((rng.random(g.n_edges) < 0.5)[np.asarray(g.edge_ids)])
    gm, bm = g.with_mask(keep), bare.with_mask(keep)
    np.testing.assert_allclose(
        np.asarray(G.laplacian_matvec(gm, x)),
        np.asarray(G.laplacian_matvec(bm, x)),
        rtol=0,
        atol=2e-3,
    )


def test_neighbour_sums_refuse_bool_values():
    g = G.lattice((6, 6))
    for f in (G.neighbor_sum, G.laplacian_matvec, lambda g, x: g.neighbor_sum(x)):
        with pytest.raises(ValueError, match="`x` must hold numbers"):
            f(g, jnp.ones(36, bool))
    # NumPy arrays of numbers are still summed
    ones = np.ones(36)
    np.testing.assert_array_equal(
        np.asarray(G.neighbor_sum(g, ones)), np.asarray(g.degrees())
    )
    assert not np.asarray(G.laplacian_matvec(g, ones)).any()
