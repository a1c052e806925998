"""The `percolation` experiment on the run layer: device-count independence, resume,
config validation (small sizes)."""

import numpy as np
import pytest
from exp_harness import (
    assert_no_timing_columns,
    assert_only_deleted_recomputed,
    assert_refused,
    chunk_files,
    params,
    rerun_copy,
    run,
    table_bytes,
)

SMALL = {"n_nodes": [200, 400], "n_points": 8, "replicas": 2}


@pytest.fixture(scope="module")
def eight(tmp_path_factory):
    """The run on all 8 devices, shared by the device-count and resume tests."""
    out = tmp_path_factory.mktemp("percolation") / "eight"
    res, ctx = run("percolation", params("percolation", SMALL), out)
    return out, res, ctx


def test_one_and_eight_devices_give_identical_tables(eight, tmp_path, monkeypatch):
    import jax

    assert len(jax.devices()) == 8  # tests/conftest.py forces 8 CPU devices
    p = params("percolation", SMALL)
    _, res8, ctx8 = eight
    res1, ctx1 = run(
        "percolation", p, tmp_path / "one", one_device=True, monkeypatch=monkeypatch
    )
    assert table_bytes(res8, tmp_path / "c8") == table_bytes(res1, tmp_path / "c1")
    assert len(res8.tables["metrics"]) == 2 * 8 * 2
    assert_no_timing_columns(res8)
    for f in res8.findings:  # toy sizes: never decisive, the size is stated
        assert f.size and f.verdict in ("inconclusive", "info")


def test_rerun_loads_every_chunk_and_a_lost_chunk_is_recomputed(eight, tmp_path):
    p = params("percolation", SMALL)
    out, first, ctx = eight
    want = table_bytes(first, tmp_path / "a")
    assert all(c["computed"] >= 2 and c["loaded"] == 0 for c in ctx.chunks.values())
    n = len(chunk_files(out))

    # one rerun of a copy with the last chunk of the last stage deleted (an interruption
    # before it): every other chunk loads, exactly the lost one is computed
    resumed, ctx3, gone = rerun_copy("percolation", p, out, tmp_path / "run", [-1])
    assert_only_deleted_recomputed(ctx3, gone, n)
    for stage, c in ctx3.chunks.items():
        if stage != gone[0].parent.name:
            assert c["computed"] == 0 and c["loaded"] >= 2
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


def test_a_nan_run_makes_the_eq3_verdict_inconclusive():
    """A failed run (NaN) in the R0 window decided nothing; Python's max() skipped a
    NaN that was not first and reported "supported" over it."""
    from meshjax.experiments.percolation import _findings

    def row(s, n=10**6, r0=2.0):
        return {"n_nodes": n, "r0": r0, "s_measured": s, "s_theory": 0.7968}

    good = _findings([row(0.797), row(0.7969)], 1, 2)[0]
    assert good.verdict == "supported"
    for rows in ([row(0.797), row(np.nan)], [row(np.nan), row(0.797)]):
        f = _findings(rows, 1, 2)[0]
        assert f.verdict == "inconclusive"
        assert "1 of them gave NaN" in f.detail
