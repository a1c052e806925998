"""The `knowledge_diffusion` experiment on the run layer: resume, no timings in tables,
config validation (small sizes)."""

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


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One finished run of SMALL, inspected by the tests below."""
    out = tmp_path_factory.mktemp("knowledge_diffusion") / "run"
    res, ctx = run("knowledge_diffusion", params("knowledge_diffusion", SMALL), out)
    return out, res, ctx


def test_tables_and_verdicts(shared):
    # formerly tests/test_diffusion.py::test_knowledge_diffusion_experiment_tiny, which
    # ran the experiment again at similar sizes (one SIS size there, two here: the row
    # count is per size); its validation checks stay in test_diffusion.py
    _, res, _ = shared
    verdicts = {f.claim.split(":")[0]: f.verdict for f in res.findings}
    assert verdicts["Lemma 5.1 / eq. (12)"] == "supported"
    assert len(res.tables["spectral"]) == 1
    assert len(res.tables["sis"]) == SMALL["sis_rate_count"] * len(SMALL["sis_sizes"])
    m = res.tables["metrics"][0]
    assert 0 < m["lambda_c_hmf"] and 0 < m["lambda_c_qmf"] <= 1


def test_rerun_loads_everything_and_a_lost_chunk_is_recomputed(shared, tmp_path):
    p = params("knowledge_diffusion", SMALL)
    out, first, ctx = shared
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


def test_a_nan_or_failed_decay_run_makes_lemma_5_1_inconclusive():
    """Python's max(0.0, nan) is 0.0: a NaN distance was skipped and the lemma reported
    "supported"; the Lanczos and Chebyshev statuses were not read at all."""
    import numpy as np

    from meshjax.experiments.knowledge_diffusion import DEFAULTS, _lemma51_finding

    def curve(d, status="converged", curve_ok=True):
        b = np.array([[1.0, 1.0], [0.5, 0.5]])
        return {
            "distance": np.asarray(d),
            "bound": b,
            "status": status,
            "curve_ok": curve_ok,
        }

    good = [[1.0, 1.0], [0.4, 0.5]]
    rates = {"ba": (0.5, 0.6), "rrg": (0.5, 0.6)}
    f = _lemma51_finding({"ba": curve(good), "rrg": curve(good)}, rates, DEFAULTS)
    assert f.verdict == "supported"
    nan = [[1.0, 1.0], [np.nan, 0.5]]
    for curves, why in [
        ({"ba": curve(nan), "rrg": curve(good)}, "NaN"),
        ({"ba": curve(good), "rrg": curve(nan)}, "NaN"),
        (
            {"ba": curve(good, "not converged"), "rrg": curve(good)},
            "ba: λ2 not converged",
        ),
        ({"ba": curve(good), "rrg": curve(good, curve_ok=False)}, "rrg: decay curve"),
    ]:
        f = _lemma51_finding(curves, rates, DEFAULTS)
        assert f.verdict == "inconclusive"
        assert why in f.detail
