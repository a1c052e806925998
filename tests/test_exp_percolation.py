"""The `percolation` experiment on the run layer: device-count independence, resume,
config validation (small sizes)."""

from exp_harness import (
    assert_no_timing_columns,
    assert_refused,
    chunk_files,
    params,
    run,
    table_bytes,
)

SMALL = {"n_nodes": [200, 400], "n_points": 8, "replicas": 2}


def test_one_and_eight_devices_give_identical_tables(tmp_path, monkeypatch):
    import jax

    assert len(jax.devices()) == 8  # tests/conftest.py forces 8 CPU devices
    p = params("percolation", SMALL)
    res8, ctx8 = run("percolation", p, tmp_path / "eight")
    res1, ctx1 = run(
        "percolation", p, tmp_path / "one", one_device=True, monkeypatch=monkeypatch
    )
    assert table_bytes(res8, tmp_path / "c8") == table_bytes(res1, tmp_path / "c1")
    assert len(res8.tables["metrics"]) == 2 * 8 * 2
    assert_no_timing_columns(res8)
    for f in res8.findings:  # toy sizes: never decisive, the size is stated
        assert f.size and f.verdict in ("inconclusive", "info")


def test_rerun_loads_every_chunk_and_a_lost_chunk_is_recomputed(tmp_path):
    p = params("percolation", SMALL)
    out = tmp_path / "run"
    first, ctx = run("percolation", p, out)
    want = table_bytes(first, tmp_path / "a")
    assert all(c["computed"] >= 2 and c["loaded"] == 0 for c in ctx.chunks.values())

    again, ctx2 = run("percolation", p, out)
    assert all(c["computed"] == 0 and c["loaded"] >= 2 for c in ctx2.chunks.values())
    assert table_bytes(again, tmp_path / "b") == want

    files = chunk_files(out)
    files[-1].unlink()  # an interruption before the last chunk of the last stage
    resumed, ctx3 = run("percolation", p, out)
    assert sum(c["computed"] for c in ctx3.chunks.values()) == 1
    assert table_bytes(resumed, tmp_path / "c") == want


def test_bad_configs_are_refused_with_one_line(tmp_path):
    cfg = "configs/percolation.toml"
    assert_refused(cfg, ["params.mean_degree=inf"], tmp_path / "a", "mean_degree")
    assert_refused(
        cfg,
        ["params.n_nodes=[10]", "params.mean_degree=9.5", "params.r0_max=4.0"],
        tmp_path / "b",
        "mean_degree",
        "n_nodes",
    )
    assert_refused(cfg, ["params.n_nodes=[1099511627776]"], tmp_path / "c", "n_nodes")
    assert_refused(cfg, ["params.n_nodes=[1073741824]"], tmp_path / "d", "GiB")
