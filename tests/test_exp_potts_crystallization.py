"""The `potts_crystallization` experiment on the run layer: resume, no timings in tables,
honest sizes, config validation (small sizes)."""

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
    "n_nodes": 60,
    "degree": 4,
    "qs": [2, 3],
    "graphs": ["regular", "er"],
    "er_qs": [3],
    "algorithms": ["heat_bath", "swendsen_wang"],
    "sw_qs": [3],
    "beta_points": 4,
    "n_steps": 4,
    "n_burn": 2,
    "hist_n_nodes": 30,
    "hist_q": 3,
    "hist_n_steps": 20,
}


def test_rerun_loads_every_stage_and_a_lost_one_is_recomputed(tmp_path):
    p = params("potts_crystallization", SMALL)
    out = tmp_path / "first"
    first, ctx = run("potts_crystallization", p, out)
    want = table_bytes(first, tmp_path / "a")
    assert set(want) == {"metrics", "histograms"}
    assert_no_timing_columns(first)
    assert "hist_chain" in first.timings
    stages = {
        "anneal_regular_q2_heat_bath",
        "anneal_regular_q3_heat_bath",
        "anneal_regular_q3_swendsen_wang",
        "anneal_er_q3_heat_bath",
        "anneal_er_q3_swendsen_wang",
        "hist_chain",
    }
    assert set(ctx.chunks) == stages
    for f in first.findings:  # toy sizes decide nothing; the size is stated
        assert f.size and f.verdict in ("inconclusive", "info"), f

    assert all(c == {"computed": 1, "loaded": 0} for c in ctx.chunks.values())

    files = chunk_files(out)
    assert len(files) == len(stages)
    # one rerun of a copy with stage 2's chunk deleted: every other stage loads its
    # chunk ({"computed": 0, "loaded": 1}), exactly the lost one is computed
    resumed, ctx3, gone = rerun_copy(
        "potts_crystallization", p, out, tmp_path / "run", [2]
    )
    assert_only_deleted_recomputed(ctx3, gone, len(files))
    for stage, c in ctx3.chunks.items():
        lost = stage == gone[0].parent.name
        assert c == (
            {"computed": 1, "loaded": 0} if lost else {"computed": 0, "loaded": 1}
        )
    assert table_bytes(resumed, tmp_path / "c") == want


def test_without_the_small_chain_no_histogram_rows_are_invented(tmp_path):
    p = params(
        "potts_crystallization",
        {
            **SMALL,
            "qs": [2],
            "graphs": ["regular"],
            "algorithms": ["heat_bath"],
            "hist_n_steps": 0,
        },
    )
    res, _ = run("potts_crystallization", p, tmp_path / "run")
    assert set(res.tables) == {"metrics"}  # q = 2 only: no energy histogram at all


def test_bad_configs_are_refused_with_one_line(tmp_path):
    cfg = "configs/potts_crystallization.toml"
    assert_refused(
        cfg, ["params.n_nodes=10", "params.degree=10"], tmp_path / "a", "degree"
    )
    assert_refused(cfg, ["params.n_nodes=1073741824"], tmp_path / "b", "GiB")
    assert_refused(cfg, ["params.qs=[1]"], tmp_path / "c", "qs")


def test_q2_with_too_few_beta_points_is_inconclusive_not_a_crash():
    """beta_points 2 or 3 (allowed) leave no point away from beta_c for q = 2, and
    np.max over the empty selection raised "zero-size array"."""
    import numpy as np

    from meshjax.experiments import potts_crystallization as pc

    lo, hi, bt = pc._grid(4, 2)
    bt["degree"] = 4
    for k in (2, 3):
        betas = np.linspace(lo, hi, k)
        z, e = np.zeros(k), np.zeros((k, 5))
        for g in ("regular", "er"):
            (f,) = pc._judge(
                g,
                2,
                "heat_bath",
                betas,
                z,
                z,
                e,
                e,
                bt,
                10**5,
                [],
                size="s",
                decisive=True,
            )
            assert f.verdict == "inconclusive" and "more beta_points" in f.detail


def test_short_annealing_runs_are_not_decisive():
    """`decisive` looked at n_nodes only: 10^5 nodes with 2 β points and 4 sweeps
    decided the claims."""
    from meshjax.experiments import potts_crystallization as pc

    assert pc._anneal_decisive(pc.DEFAULTS)
    for key, small in (
        ("beta_points", 4),
        ("n_steps", 4),
        ("n_burn", 2),
        ("n_nodes", 60),
    ):
        assert not pc._anneal_decisive(dict(pc.DEFAULTS, **{key: small}))
