"""Sweeps: grids, keys, sharding over 1 and 8 devices, chunking, checkpoints, tables."""

import itertools
import json
import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from meshjax import io
from meshjax.sweep import (
    CheckpointMismatch,
    ChunkInfo,
    Grid,
    Table,
    device_mesh,
    estimate_chunk_size,
    sweep,
)


def noisy(key, a, b):
    """A cheap model with randomness, an int parameter and an array-valued metric."""
    k1, k2 = jr.split(key)
    b = b.astype(a.dtype)
    x = a * b + jr.normal(k1, dtype=a.dtype)
    return {"x": x, "u": jr.uniform(k2, (3,)), "ab": jnp.stack([a, b])}


def s_inf(key, r0):
    """Giant-component fraction S = 1 - exp(-R0 S) (chapter eq. (3)) by fixed point."""
    del key
    s = jax.lax.fori_loop(
        0, 400, lambda i, s: 1.0 - jnp.exp(-r0 * s), jnp.ones_like(r0)
    )
    return {"s": s}


GRID = Grid.product(a=[0.5, 1.0, 2.0], b=[1, 2, 3, 4, 5])  # 15 points


# --------------------------------------------------------------------------- grids


def test_product_order_matches_itertools():
    g = Grid.product(a=[1, 2], b=[10.0, 20.0, 30.0], c=[True, False])
    expected = list(itertools.product([1, 2], [10.0, 20.0, 30.0], [True, False]))
    assert len(g) == 12
    assert [tuple(g.point(i).values()) for i in range(12)] == expected
    assert g.names == ("a", "b", "c")


def test_zip_and_product_of_grids():
    z = Grid.zip(n=[100, 1000], k=[4.0, 8.0])
    g = Grid.product(q=[2, 3]) * z
    assert len(g) == 4
    assert [g.point(i) for i in range(4)] == [
        {"q": 2, "n": 100, "k": 4.0},
        {"q": 2, "n": 1000, "k": 8.0},
        {"q": 3, "n": 100, "k": 4.0},
        {"q": 3, "n": 1000, "k": 8.0},
    ]
    assert len(Grid.product()) == 1


@pytest.mark.parametrize(
    "bad, err",
    [
        (lambda: Grid.zip(a=[1, 2], b=[1, 2, 3]), ValueError),
        (lambda: Grid.product(a=["x", "y"]), TypeError),
        (lambda: Grid.product(a=[]), ValueError),
        (lambda: Grid.product(a=[[1, 2], [3, 4]]), ValueError),
        (lambda: Grid.product(replica=[1, 2]), ValueError),
        (lambda: Grid.product(a=[1]) * Grid.product(a=[2]), ValueError),
        (lambda: Grid.product(a=[1]).point(1), IndexError),
        (lambda: Grid([1, 2]), TypeError),
        (lambda: Grid.product(a=[1]).point(0.5), TypeError),
        (lambda: Grid(n_points=0), ValueError),
        (lambda: Table([1, 2]), TypeError),
    ],
)
def test_grid_rejects_bad_input(bad, err):
    with pytest.raises(err):
        bad()


# --------------------------------------------------------------------------- results


def test_rows_use_fold_in_keys_and_grid_order(getkey):
    key = getkey()
    t = sweep(noisy, GRID, key=key, replicas=2, chunk_size=4, progress=False)
    assert len(t) == 30
    assert t.names == ("a", "b", "replica", "x", "u", "ab")
    for i in [0, 1, 7, 29]:
        p = GRID.point(i // 2)
        assert (t["a"][i], t["b"][i], t["replica"][i]) == (p["a"], p["b"], i % 2)
        ref = jax.jit(noisy)(
            jr.fold_in(key, i), jnp.asarray(p["a"]), jnp.asarray(p["b"])
        )
        np.testing.assert_allclose(t["x"][i], ref["x"], rtol=1e-12)
        np.testing.assert_allclose(t["u"][i], ref["u"], rtol=1e-12)
    assert t["u"].shape == (30, 3)
    assert t["b"].dtype.kind == "i"


@pytest.mark.parametrize("n_devices, chunk_size", [(1, 1), (1, 16), (8, 7), (8, None)])
def test_same_table_for_any_chunk_size_and_device_count(n_devices, chunk_size):
    ref = sweep(
        noisy,
        GRID,
        key=jr.key(3),
        replicas=2,
        chunk_size=30,
        mesh=device_mesh(1),
        progress=False,
    )
    t = sweep(
        noisy,
        GRID,
        key=jr.key(3),
        replicas=2,
        chunk_size=chunk_size,
        mesh=device_mesh(n_devices),
        progress=False,
    )
    assert t.equals(ref)
    assert t.meta["n_devices"] == n_devices


@pytest.mark.parametrize("n_devices", [1, 8])
def test_an_error_if_firing_on_one_device_is_raised_not_a_hang(n_devices):
    # A vmapped `eqx.error_if` reduces its condition over the batch; partitioned over
    # devices that reduction was an all-reduce, and the device whose host callback
    # raised never joined it: the others waited until XLA aborted the process. Each
    # device now runs its own points, so the error reaches Python as an exception.
    def checked(key, x):
        return {"y": eqx.error_if(x, x < 0, "x is negative")}

    grid = Grid.zip(x=[1.0, 2.0, 3.0, -1.0, 4.0, 5.0, 6.0, 7.0])
    with pytest.raises(Exception, match="x is negative"):
        sweep(checked, grid, key=0, mesh=device_mesh(n_devices), progress=False)
    ok = sweep(
        checked,
        Grid.zip(x=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
        key=0,
        mesh=device_mesh(n_devices),
        progress=False,
    )
    np.testing.assert_array_equal(ok["y"], np.arange(1.0, 9.0))


def test_a_fn_with_shardings_of_its_own_still_sweeps_over_devices():
    # Each device runs its own points (`shard_map`), which cannot hold a sharding that
    # `fn` brings itself; such a chunk is compiled as one partitioned function instead.
    from jax.sharding import NamedSharding, PartitionSpec as P

    import meshjax.graph as G

    mesh = device_mesh(8)
    edges = device_mesh(8, "edges")
    g = G.shard_graph(G.erdos_renyi(jr.key(0), 200, 4.0), edges)

    def on_sharded_graph(key, p):  # a closed-over edge-sharded graph
        return {"y": jnp.sum(G.neighbor_sum(g, jr.normal(key, (g.n_nodes,)) * p))}

    def constrained(key, p):  # a sharding constraint on the sweep's own mesh
        x = jr.normal(key, (16,)) * p
        x = jax.lax.with_sharding_constraint(x, NamedSharding(mesh, P()))
        return {"y": jnp.sum(x)}

    def nested(key, p):  # a shard_map of its own
        x = jr.normal(key, (16,)) * p
        s = jax.shard_map(
            lambda v: jax.lax.psum(jnp.sum(v), "edges"),
            mesh=edges,
            in_specs=P("edges"),
            out_specs=P(),
        )(x)
        return {"y": s}

    ps = [0.1 * i for i in range(1, 9)]
    for fn in (on_sharded_graph, constrained, nested):
        t = sweep(fn, Grid.zip(p=ps), key=jr.key(2), mesh=mesh, progress=False)
        ref = [
            float(jax.jit(fn)(jr.fold_in(jr.key(2), i), p)["y"])
            for i, p in enumerate(ps)
        ]
        np.testing.assert_allclose(t["y"], ref, rtol=1e-12, atol=1e-12)


def test_legacy_uint32_key_gives_the_same_table():
    a = sweep(noisy, GRID, key=jr.key(5), progress=False)
    b = sweep(noisy, GRID, key=jr.PRNGKey(5), progress=False)
    assert a.equals(b)


def test_throughput_of_ten_thousand_points_of_s_inf():
    r0 = np.linspace(0.2, 4.0, 10_000)
    t = sweep(s_inf, Grid.zip(r0=r0), key=jr.key(0), progress=False)
    print(
        f"\n10^4-point S_inf sweep: {t.meta['points_per_s']:.3g} points/s on "
        f"{t.meta['n_devices']} devices, {t.meta['n_chunks']} chunks, "
        f"compile {t.meta['compile_s']:.2f}s"
    )
    # reference: scipy's root of S = 1 - exp(-R0 S) on a subset (S = 0 for R0 <= 1)
    from scipy.optimize import brentq

    for i in range(0, 10_000, 997):
        r = r0[i]
        exact = (
            brentq(lambda s: s - 1 + math.exp(-r * s), 1e-12, 1.0) if r > 1.05 else None
        )
        if exact is not None:
            np.testing.assert_allclose(t["s"][i], exact, rtol=1e-9)
        else:  # slow convergence near R0 = 1; below it S -> 0
            assert 0 <= t["s"][i] < 0.1


def test_compiles_once_and_caches_between_sweeps():
    traces = []

    def counted(key, a):
        traces.append(1)
        return {"y": a + jr.uniform(key)}

    grid = Grid.zip(a=np.arange(40.0))
    t1 = sweep(counted, grid, key=jr.key(0), chunk_size=8, progress=False)
    # a given chunk size: one trace serves the metric shapes and the compilation
    n_first = len(traces)
    assert n_first == 1 and t1.meta["n_chunks"] == 5
    sweep(counted, grid, key=jr.key(1), chunk_size=8, progress=False)
    assert len(traces) == n_first


# ---------------------------------------------------------------------------
# checkpoints


class Stop(Exception):
    pass


def _interrupt_after(k, seen):
    def on_chunk(info: ChunkInfo):
        seen.append(info)
        if sum(i.computed for i in seen) >= k:
            raise Stop

    return on_chunk


@pytest.mark.parametrize("resume_chunk, resume_devices", [(6, 8), (4, 1)])
def test_killed_sweep_resumes_and_recomputes_only_missing_chunks(
    tmp_path, resume_chunk, resume_devices
):
    full = sweep(noisy, GRID, key=jr.key(1), replicas=2, chunk_size=6, progress=False)
    ck = tmp_path / "ck"
    seen = []
    with pytest.raises(Stop):
        sweep(
            noisy,
            GRID,
            key=jr.key(1),
            replicas=2,
            chunk_size=6,
            checkpoint_dir=ck,
            mesh=device_mesh(8),
            progress=False,
            on_chunk=_interrupt_after(2, seen),
        )
    assert len(list(ck.glob("chunk-*.npz"))) == 2
    assert not list(ck.glob(".*tmp*"))  # no temporary files left behind
    seen2 = []
    t = sweep(
        noisy,
        GRID,
        key=jr.key(1),
        replicas=2,
        chunk_size=resume_chunk,
        checkpoint_dir=ck,
        mesh=device_mesh(resume_devices),
        progress=False,
        on_chunk=seen2.append,
    )
    assert t.equals(full)
    computed = [i for i in seen2 if i.computed]
    covered = set(range(12))  # indices done before the interruption
    n_chunks = math.ceil(30 / resume_chunk)
    inside = [c for c in range(n_chunks) if min((c + 1) * resume_chunk, 30) <= 12]
    assert t.meta["chunks_loaded"] == len(inside) == 12 // resume_chunk
    assert len(computed) == n_chunks - len(inside)  # only chunks with missing indices
    assert all(not set(range(i.start, i.stop)) <= covered for i in computed)
    # a third run computes nothing
    seen3 = []
    t3 = sweep(
        noisy,
        GRID,
        key=jr.key(1),
        replicas=2,
        chunk_size=resume_chunk,
        checkpoint_dir=ck,
        progress=False,
        on_chunk=seen3.append,
    )
    assert t3.equals(full) and not any(i.computed for i in seen3)


def test_a_finished_sweep_reruns_without_compiling(tmp_path, monkeypatch):
    """Every chunk on disk: no memory probe, no compilation, the stored chunk size."""
    from meshjax.sweep import _plan, _sweep

    ck = tmp_path / "ck"
    full = sweep(
        noisy,
        GRID,
        key=jr.key(3),
        replicas=2,
        chunk_size=7,
        checkpoint_dir=ck,
        progress=False,
    )

    def refuse(*args, **kwargs):
        raise AssertionError("compiled although every chunk was on disk")

    monkeypatch.setattr(_plan._Plan, "compile", refuse)
    monkeypatch.setattr(_sweep, "estimate_chunk_size", refuse)
    again = sweep(
        noisy, GRID, key=jr.key(3), replicas=2, checkpoint_dir=ck, progress=False
    )
    assert again.equals(full)
    assert again.meta["chunk_size"] == 7
    assert again.meta["chunks_loaded"] == again.meta["n_chunks"] == math.ceil(30 / 7)
    assert again.meta["chunks_computed"] == 0
    # one chunk missing: that one is compiled for and computed
    monkeypatch.undo()
    sorted(ck.glob("chunk-*.npz"))[-1].unlink()
    third = sweep(
        noisy,
        GRID,
        key=jr.key(3),
        replicas=2,
        checkpoint_dir=ck,
        progress=False,
        chunk_size=7,
    )
    assert third.equals(full) and third.meta["chunks_computed"] == 1


def test_checkpoint_of_another_sweep_is_refused(tmp_path):
    sweep(
        noisy,
        GRID,
        key=jr.key(1),
        chunk_size=8,
        checkpoint_dir=tmp_path,
        progress=False,
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["fingerprint"]["fn"].endswith("noisy")
    assert manifest["fingerprint"]["fn_identity"].startswith("code:")
    assert sorted(manifest["chunks"]) == sorted(
        p.name for p in tmp_path.glob("chunk-*")
    )
    with pytest.raises(ValueError, match="grid"):
        sweep(
            noisy,
            Grid.product(a=[0.5], b=[1, 2]),
            key=jr.key(1),
            checkpoint_dir=tmp_path,
            progress=False,
        )
    with pytest.raises(ValueError, match="key_data"):
        sweep(noisy, GRID, key=jr.key(2), checkpoint_dir=tmp_path, progress=False)


def test_corrupt_chunk_file_is_recomputed(tmp_path):
    ref = sweep(
        noisy,
        GRID,
        key=jr.key(1),
        chunk_size=8,
        checkpoint_dir=tmp_path,
        progress=False,
    )
    victim = sorted(tmp_path.glob("chunk-*.npz"))[0]
    victim.write_bytes(b"garbage")
    seen = []
    t = sweep(
        noisy,
        GRID,
        key=jr.key(1),
        chunk_size=8,
        checkpoint_dir=tmp_path,
        progress=False,
        on_chunk=seen.append,
    )
    assert t.equals(ref)
    assert [i.start for i in seen if i.computed] == [0]


# --------------------------------------------------------------------------- chunk size


def test_estimated_chunk_size_respects_budget_and_devices():
    grid = Grid.zip(a=np.arange(1000.0))

    def big(key, a):  # ~80 kB of temporaries per point
        return {"m": jnp.sum(jnp.sin(a + jr.normal(key, (10_000,))))}

    mesh = device_mesh(8)
    c_small = estimate_chunk_size(big, grid, mesh=mesh, memory_budget=1)
    assert c_small == 8
    c_mid = estimate_chunk_size(big, grid, mesh=mesh, memory_budget=2_000_000)
    assert c_mid % 8 == 0 and 8 <= c_mid <= 8 * 2_000_000 // 80_000
    c_big = estimate_chunk_size(big, grid, mesh=mesh, memory_budget=10**12)
    assert (
        c_big == (math.ceil(1000 / 16) // 8) * 8
    )  # capped: the sweep has >= 16 chunks


# --------------------------------------------------------------------------- progress


def test_progress_lines_go_to_a_callable_and_to_stderr(capsys):
    lines = []
    sweep(noisy, GRID, key=jr.key(0), chunk_size=5, progress=lines.append)
    assert any("chunk 1/3" in s for s in lines) and "done, 15 points" in lines[-1]
    sweep(noisy, GRID, key=jr.key(0), chunk_size=5, progress=True)
    err = capsys.readouterr().err
    assert "sweep noisy" in err and "points/s" in err
    sweep(noisy, GRID, key=jr.key(0), chunk_size=5, progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- tables


def test_table_rows_csv_and_pandas(tmp_path):
    t = sweep(noisy, GRID, key=jr.key(0), progress=False)
    rows = t.to_rows()
    assert rows[0].keys() == {
        "a",
        "b",
        "replica",
        "x",
        "u[0]",
        "u[1]",
        "u[2]",
        "ab[0]",
        "ab[1]",
    }
    assert isinstance(rows[0]["b"], int) and isinstance(rows[0]["x"], float)
    back = io.read_csv(t.to_csv(tmp_path / "t.csv"))
    assert back == rows  # floats written with repr: exact round trip
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            t.to_pandas()
    else:
        assert t.to_pandas().shape == (15, 9)


def test_table_checks_lengths_and_compares():
    with pytest.raises(ValueError, match="lengths"):
        Table({"a": [1, 2], "b": [1, 2, 3]})
    with pytest.raises(ValueError, match="scalar"):
        Table({"a": 1})
    t = Table({"a": [1.0, np.nan]})
    assert t.equals(Table({"a": [1.0, np.nan]}))
    assert not t.equals(Table({"a": [1.0, 2.0]}))
    assert not t.equals(Table({"b": [1.0, np.nan]}))


# --------------------------------------------------------------------------- bad input


def _not_a_dict(key, a):
    return a


def _clash(key, a):
    return {"a": a}


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"fn": 3}, TypeError, "fn"),
        ({"grid": [1, 2]}, TypeError, "grid"),
        ({"key": "0"}, TypeError, "key"),
        ({"key": -1}, ValueError, "key"),
        ({"replicas": 1.5}, TypeError, "replicas"),
        ({"memory_budget": 0}, ValueError, "memory_budget"),
        ({"key": jr.split(jr.key(0), 2)}, ValueError, "single key"),
        ({"replicas": 0}, ValueError, "replicas"),
        ({"chunk_size": 0}, ValueError, "chunk_size"),
        ({"chunk_size": True}, TypeError, "chunk_size"),
        ({"chunk_size": 2.0}, TypeError, "chunk_size"),
        ({"mesh": "cpu"}, TypeError, "mesh"),
        ({"progress": "yes"}, TypeError, "progress"),
        ({"microbatch": 0}, ValueError, "microbatch"),
        ({"on_chunk": 3}, TypeError, "on_chunk"),
        ({"checkpoint_dir": 3}, TypeError, "checkpoint_dir"),
        ({"fn": _not_a_dict}, TypeError, "dict"),
        ({"fn": _clash}, ValueError, "clash"),
    ],
)
def test_sweep_rejects_bad_arguments(kwargs, err, match):
    args = {
        "fn": lambda key, a: {"y": a},
        "grid": Grid.zip(a=[1.0, 2.0]),
        "key": jr.key(0),
        "progress": False,
    }
    args.update(kwargs)
    fn, grid = args.pop("fn"), args.pop("grid")
    with pytest.raises(err, match=match):
        sweep(fn, grid, **args)


def test_device_mesh():
    assert device_mesh().size == jax.device_count() == 8
    m = device_mesh(2, "edges")
    assert m.axis_names == ("edges",) and m.size == 2
    with pytest.raises(ValueError, match="n_devices"):
        device_mesh(9)
    with pytest.raises(ValueError, match="n_devices"):
        device_mesh(0)
    with pytest.raises(TypeError, match="n_devices"):
        device_mesh(1.5)
    with pytest.raises(ValueError, match="axis"):
        device_mesh(1, "")


def test_dict_grid_shorthand_and_timing_meta():
    t0 = time.perf_counter()
    t = sweep(
        lambda key, a, b: {"s": a + b},
        {"a": [1, 2], "b": [10, 20, 30]},
        key=jr.key(0),
        progress=False,
    )
    assert list(t["s"]) == [11, 21, 31, 12, 22, 32]
    assert 0 <= t.meta["wall_s"] <= time.perf_counter() - t0


def test_without_x64_the_table_shows_the_float32_values_fn_computed_with():
    """Issue 12: float64 grid values were cast to float32 while the table showed the
    float64 originals; now the table holds exactly what fn saw."""
    seen = {}

    def probe(key, a, n):
        seen["dtypes"] = (a.dtype, n.dtype)
        return {"y": a * n.astype(a.dtype) + jr.uniform(key, dtype=a.dtype), "a2": a}

    with jax.enable_x64(False):
        grid = Grid.zip(a=[0.1, 0.2], n=[1, 2])
        t = sweep(probe, grid, key=jr.key(0), progress=False)
    assert seen["dtypes"] == (np.float32, np.int32)
    assert t["a"].dtype == np.float32 and t["n"].dtype == np.int32
    np.testing.assert_array_equal(t["a"], t["a2"])  # the values computed with
    np.testing.assert_array_equal(t["a"], np.float32([0.1, 0.2]))
    assert t["y"].dtype == np.float32


def test_without_x64_int_values_beyond_int32_are_refused_not_wrapped():
    """Issue 12: an int grid value > int32 wrapped silently without x64."""
    big = 2**31 + 5
    with jax.enable_x64(False):
        with pytest.raises(ValueError, match="`n`.*2147483653"):
            sweep(
                lambda key, n: {"y": n},
                Grid.zip(n=[1, big]),
                key=0,
                progress=False,
            )
        with pytest.raises(ValueError, match="`a`"):
            sweep(
                lambda key, a: {"y": a},
                Grid.zip(a=[1e300]),
                key=0,
                progress=False,
            )


def test_with_x64_int64_and_float64_values_are_kept_exactly():
    big = 2**40 + 3
    t = sweep(
        lambda key, n, a: {"n2": n, "a2": a},
        Grid.zip(n=[1, big], a=[0.1, 1e300]),
        key=0,
        progress=False,
    )
    assert t["n"].dtype == np.int64 and list(t["n"]) == [1, big]
    assert list(t["n2"]) == [1, big]
    assert t["a"].dtype == np.float64 and list(t["a2"]) == [0.1, 1e300]


def test_int_seed_and_keys_give_the_same_table():
    a = sweep(noisy, GRID, key=5, progress=False)
    assert a.equals(sweep(noisy, GRID, key=jr.key(5), progress=False))


def test_seeds_above_32_bits_keep_their_high_word_without_x64():
    from meshjax._validate import as_key

    for seed in (0, 7, 2**31, 2**32 - 1, 2**32, 2**40 + 5, 2**63 - 1):
        ref = np.asarray(jr.key_data(jr.key(seed)))  # x64 is on in the tests
        np.testing.assert_array_equal(np.asarray(jr.key_data(as_key(seed))), ref)
        with jax.enable_x64(False):
            got = np.asarray(jr.key_data(as_key(seed)))
        np.testing.assert_array_equal(got, ref)
    # without the fix JAX alone gave 2**32 the key of seed 0 there
    with jax.enable_x64(False):
        a = sweep(noisy, GRID, key=2**32, progress=False)
        b = sweep(noisy, GRID, key=0, progress=False)
    assert not a.equals(b)


class Ring(eqx.Module):
    """A stand-in for a Graph: node weights (an array leaf) and a static size."""

    weights: jax.Array
    n_nodes: int = eqx.field(static=True)


def ring_model(key, ring, beta):
    x = jr.normal(key, (ring.n_nodes,))
    return {"e": beta * jnp.sum(ring.weights * x * jnp.roll(x, 1))}


def test_shared_pytree_is_an_argument_not_a_constant(tmp_path):
    w = jnp.linspace(0.5, 1.5, 6)
    ring = Ring(w, 6)
    grid = Grid.zip(beta=[0.1, 0.2, 0.3])
    key = jr.key(0)
    t8 = sweep(ring_model, grid, key=key, shared=ring, replicas=2, progress=False)
    for i in (0, 5):
        beta = grid.point(i // 2)["beta"]
        ref = jax.jit(ring_model)(jr.fold_in(key, i), ring, beta)
        np.testing.assert_allclose(t8["e"][i], ref["e"], rtol=1e-12)

    traces = []

    def counted(key, ring, beta):
        traces.append(1)
        return ring_model(key, ring, beta)

    a = sweep(counted, grid, key=jr.key(0), shared=ring, chunk_size=8, progress=False)
    n = len(traces)
    b = sweep(
        counted,
        grid,
        key=jr.key(0),
        shared=Ring(2 * w, 6),
        chunk_size=8,
        progress=False,
    )
    assert len(traces) == n  # same shapes: no retrace, so the weights are an argument
    np.testing.assert_allclose(b["e"], 2 * a["e"], rtol=1e-12)

    sweep(
        ring_model,
        grid,
        key=jr.key(0),
        shared=ring,
        checkpoint_dir=tmp_path,
        progress=False,
    )
    with pytest.raises(ValueError, match="shared"):
        sweep(
            ring_model,
            grid,
            key=jr.key(0),
            shared=Ring(2 * w, 6),
            checkpoint_dir=tmp_path,
            progress=False,
        )


def test_chunk_estimate_does_not_count_shared_arrays_per_point():
    big = Ring(jnp.ones(250_000), 4)  # 2 MB, shared by every point
    grid = Grid.zip(beta=np.linspace(0, 1, 4096))
    mesh = device_mesh(8)
    with_shared = estimate_chunk_size(
        ring_model, grid, mesh=mesh, memory_budget=1_000_000, shared=big
    )
    small = estimate_chunk_size(
        ring_model,
        grid,
        mesh=mesh,
        memory_budget=1_000_000,
        shared=Ring(jnp.ones(4), 4),
    )
    assert with_shared == small == 4096 // 16


@pytest.mark.parametrize("n_devices, chunk_size", [(8, 7), (1, 2)])
def test_microbatch_gives_bitwise_identical_tables_with_reductions(
    n_devices, chunk_size
):
    ring, grid = Ring(jnp.linspace(0.5, 1.5, 6), 6), Grid.zip(beta=[0.1, 0.2, 0.3])
    kw = {"key": jr.key(0), "shared": ring, "replicas": 2, "progress": False}
    ref = sweep(ring_model, grid, mesh=device_mesh(1), chunk_size=6, microbatch=2, **kw)
    t = sweep(
        ring_model,
        grid,
        mesh=device_mesh(n_devices),
        chunk_size=chunk_size,
        microbatch=2,
        **kw,
    )
    assert t.equals(ref)
    assert t.meta["n_devices"] == n_devices


# ------------------------------------------------------------ checkpoint identity


def test_checkpoints_of_other_meshjax_code_or_jax_settings_are_not_reused(
    tmp_path, monkeypatch
):
    # a kernel fixed (or a `git pull`) between an interruption and the resume: the old
    # chunks were computed by other code, which the function's own digest cannot see
    from meshjax.sweep import _sweep

    grid = {"a": [1.0, 2.0, 3.0]}
    sweep(_make_scaled(1.0), grid, key=0, checkpoint_dir=tmp_path, progress=False)
    real = _sweep.source_digest
    monkeypatch.setattr(_sweep, "source_digest", lambda: "another meshjax")
    with pytest.raises(CheckpointMismatch, match="meshjax"):
        sweep(_make_scaled(1.0), grid, key=0, checkpoint_dir=tmp_path, progress=False)
    monkeypatch.setattr(_sweep, "source_digest", real)
    partitionable = jax.config.jax_threefry_partitionable
    with jax.threefry_partitionable(not partitionable):  # other random bits
        with pytest.raises(CheckpointMismatch, match="jax"):
            sweep(
                _make_scaled(1.0), grid, key=0, checkpoint_dir=tmp_path, progress=False
            )
    t = sweep(_make_scaled(1.0), grid, key=0, checkpoint_dir=tmp_path, progress=False)
    assert t.meta["chunks_loaded"] == t.meta["n_chunks"]


class Scaled(eqx.Module):
    weights: jax.Array
    scale: float = eqx.field(static=True)  # a constant of the compiled program


def test_checkpoints_of_other_static_leaves_of_shared_are_not_reused(tmp_path):
    def fn(key, shared, a):
        return {"y": a * shared.scale * jnp.sum(shared.weights)}

    w, grid = jnp.ones(2), {"a": [1.0, 2.0]}
    t = sweep(
        fn, grid, key=0, shared=Scaled(w, 1.0), checkpoint_dir=tmp_path, progress=False
    )
    np.testing.assert_allclose(t["y"], [2.0, 4.0])
    with pytest.raises(CheckpointMismatch, match="shared"):
        sweep(
            fn,
            grid,
            key=0,
            shared=Scaled(w, 100.0),
            checkpoint_dir=tmp_path,
            progress=False,
        )


def test_an_unreadable_manifest_is_a_mismatch(tmp_path):
    grid = {"a": [1.0, 2.0]}
    sweep(_make_scaled(1.0), grid, key=0, checkpoint_dir=tmp_path, progress=False)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointMismatch, match="manifest unreadable"):
        sweep(_make_scaled(1.0), grid, key=0, checkpoint_dir=tmp_path, progress=False)


def _make_scaled(scale):
    def scaled(key, a):
        return {"y": a * scale}

    return scaled


def test_checkpoints_of_a_closure_with_other_captured_values_are_not_reused(tmp_path):
    grid = {"a": [1.0, 2.0, 3.0]}
    first = sweep(
        _make_scaled(1.0), grid, key=0, checkpoint_dir=tmp_path, progress=False
    )
    np.testing.assert_allclose(first["y"], [1.0, 2.0, 3.0])
    with pytest.raises(CheckpointMismatch, match="fn_identity"):
        sweep(_make_scaled(100.0), grid, key=0, checkpoint_dir=tmp_path, progress=False)
    again = sweep(
        _make_scaled(1.0), grid, key=0, checkpoint_dir=tmp_path, progress=False
    )
    assert again.meta["chunks_loaded"] == again.meta["n_chunks"]
    # an explicit version replaces the code digest
    other = tmp_path / "v"
    sweep(
        _make_scaled(1.0),
        grid,
        key=0,
        checkpoint_dir=other,
        progress=False,
        version="1",
    )
    t = sweep(
        _make_scaled(5.0),
        grid,
        key=0,
        checkpoint_dir=other,
        progress=False,
        version="1",
    )
    assert t.meta["chunks_loaded"] == t.meta["n_chunks"]


def test_chunks_without_a_manifest_are_never_reused(tmp_path):
    grid = {"a": [1.0, 2.0, 3.0, 4.0]}
    sweep(
        _make_scaled(1.0),
        grid,
        key=0,
        checkpoint_dir=tmp_path,
        chunk_size=2,
        progress=False,
    )
    (tmp_path / "manifest.json").unlink()
    lines = []
    t = sweep(
        _make_scaled(1.0),
        grid,
        key=0,
        checkpoint_dir=tmp_path,
        chunk_size=2,
        progress=lines.append,
    )
    assert t.meta["chunks_loaded"] == 0 and t.meta["chunks_computed"] == 2
    assert any("without a manifest" in line for line in lines)
    np.testing.assert_allclose(t["y"], [1.0, 2.0, 3.0, 4.0])


def test_an_altered_chunk_fails_its_checksum_and_is_recomputed(tmp_path):
    grid = {"a": [1.0, 2.0, 3.0, 4.0]}
    sweep(
        _make_scaled(1.0),
        grid,
        key=0,
        checkpoint_dir=tmp_path,
        chunk_size=2,
        progress=False,
    )
    chunk = sorted(tmp_path.glob("chunk-*.npz"))[0]
    with np.load(chunk) as data:
        arrays = dict(data)
    arrays["y"] = arrays["y"] * 0 + 99.0  # a valid .npz with wrong values
    np.savez(chunk, **arrays)
    lines = []
    t = sweep(
        _make_scaled(1.0),
        grid,
        key=0,
        checkpoint_dir=tmp_path,
        chunk_size=2,
        progress=lines.append,
    )
    assert t.meta["chunks_loaded"] == 1 and t.meta["chunks_computed"] == 1
    assert any("checksum" in line for line in lines)
    np.testing.assert_allclose(t["y"], [1.0, 2.0, 3.0, 4.0])


def test_a_stop_request_ends_the_sweep_between_chunks(tmp_path):
    from meshjax import _stop

    seen = []

    def on_chunk(info):
        seen.append(info)
        if len(seen) == 2:
            _stop.request(2)  # as SIGINT would, from the handler

    _stop.reset()
    try:
        with pytest.raises(_stop.Interrupted) as err:
            sweep(
                _make_scaled(1.0),
                {"a": np.arange(10.0)},
                key=0,
                chunk_size=2,
                checkpoint_dir=tmp_path,
                progress=False,
                on_chunk=on_chunk,
            )
        assert err.value.exit_code == 130
    finally:
        _stop.reset()
    saved = sorted(tmp_path.glob("chunk-*.npz"))
    assert 2 <= len(saved) < 5  # the chunks finished before the stop are on disk
    t = sweep(
        _make_scaled(1.0),
        {"a": np.arange(10.0)},
        key=0,
        chunk_size=2,
        checkpoint_dir=tmp_path,
        progress=False,
    )
    assert t.meta["chunks_loaded"] == len(saved)
    np.testing.assert_allclose(t["y"], np.arange(10.0))


def test_csv_floats_are_written_at_their_own_precision(tmp_path):
    t = Table(
        {
            "f32": np.array([0.05, 0.1], np.float32),
            "f64": np.array([0.05, 0.1], np.float64),
        }
    )
    text = t.to_csv(tmp_path / "t.csv").read_text()
    assert text.splitlines() == ["f32,f64", "0.05,0.05", "0.1,0.1"]
    back = io.read_csv(tmp_path / "t.csv")
    assert np.float32(back[0]["f32"]) == t["f32"][0] and back[0]["f64"] == 0.05


@pytest.mark.parametrize("name", ["key", "shared"])
def test_a_grid_parameter_named_like_fn_s_own_arguments_is_refused(name):
    with pytest.raises(ValueError, match=f"grid parameter '{name}'"):
        sweep(lambda key, **p: {"y": 1.0}, {name: [1.0, 2.0]}, key=0, progress=False)
