"""The `knowledge_diffusion` experiment on the run layer: resume, no timings in tables,
config validation (small sizes)."""

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

SMALL = {
    "decay_n": 60,
    "decay_points": 5,
    "spectral_families": ["ba"],
    "spectral_sizes": [100],
    "spectral_degrees": [4],
    "spectral_base_degree": 4,
    "sis_gammas": [2.5],
    "sis_sizes": [100, 200],
    "sis_rate_count": 5,
    "sis_replicas": 2,
    "sis_time": 4.0,
    "sis_dt": 0.1,
}


def test_rerun_loads_everything_and_a_lost_chunk_is_recomputed(tmp_path):
    p = params("knowledge_diffusion", SMALL)
    out = tmp_path / "first"
    first, ctx = run("knowledge_diffusion", p, out)
    want = table_bytes(first, tmp_path / "a")
    assert set(want) == {"decay", "spectral", "bandwidth", "sis", "metrics"}
    assert_no_timing_columns(first)
    assert set(first.timings) == {"decay", "spectral", "sis"}
    assert set(ctx.chunks) == {"sis_g2.5_n100", "sis_g2.5_n200"}
    assert all(c["computed"] == 2 and c["loaded"] == 0 for c in ctx.chunks.values())
    sis = [f for f in first.findings if "vanishes" in f.claim]
    assert sis and all(f.verdict == "inconclusive" and f.size for f in sis)

    # one rerun of a copy with chunk 0 deleted: every other chunk loads (the intact
    # stage: computed 0, loaded 2), exactly the lost one is computed, same tables
    n = len(chunk_files(out))
    resumed, ctx3, gone = rerun_copy(
        "knowledge_diffusion", p, out, tmp_path / "run", [0]
    )
    assert_only_deleted_recomputed(ctx3, gone, n)
    for stage, c in ctx3.chunks.items():
        if stage != gone[0].parent.name:
            assert c["computed"] == 0 and c["loaded"] == 2
    assert table_bytes(resumed, tmp_path / "c") == want


def test_bad_configs_are_refused_with_one_line(tmp_path):
    cfg = "configs/knowledge_diffusion.toml"
    assert_refused(
        cfg, ["params.sis_mean_degree=inf"], tmp_path / "a", "sis_mean_degree"
    )
    assert_refused(
        cfg,
        ["params.sis_sizes=[60]", "params.sis_mean_degree=59.5"],
        tmp_path / "b",
        "sis_mean_degree",
        "sis_sizes",
    )
    assert_refused(cfg, ["params.sis_sizes=[1073741824]"], tmp_path / "c", "GiB")
