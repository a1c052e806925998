"""The `predictions` experiment on the run layer: no wall-clock seconds in tables,
resume, sizes in the findings."""

import math

import exp_runs
import pytest

from meshjax.experiments import predictions
from meshjax.experiments._base import VERDICTS

EXP = predictions.EXPERIMENT
SMALL = dict(
    potts_n=100,
    potts_beta_points=3,
    potts_sweeps=2,
    potts_burn=2,
    hub_n=200,
    hub_models=["BB"],
    sis_sizes=[100, 200],
    raf_types=8,
    raf_ops=60,
    raf_instances=2,
    collapse_J=[1, 10],
    collapse_alpha=[0.1],
    collapse_samples=10,
    collapse_n_steps=10,
    collapse_replicas=2,
    baumol_t1=50.0,
    phis=[0.7, 1.2],
    growth_t1=30.0,
    mesh_n=100,
    mesh_steps=10,
)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    out = tmp_path_factory.mktemp("pred") / "run"
    res, ctx = exp_runs.run(EXP, exp_runs.params_of(EXP, **SMALL), out)
    return out, res, ctx


def test_timings_not_in_tables(first):
    _, res, _ = first
    assert set(res.tables) == {"metrics", "verdicts"}
    assert {"P1", "P4", "P9", "P12"} <= set(res.timings)
    for rows in res.tables.values():
        assert not any("second" in k for k in rows[0])
    for f in res.findings:
        if f.verdict != "info":
            assert f.size
    small = [f for f in res.findings if f.claim.startswith(("P1:", "P7:", "P9:"))]
    assert all(f.verdict in ("inconclusive", "info") for f in small)


def test_each_prediction_reported_once(first):
    # formerly tests/test_predictions.py::test_tiny_run_reports_each_prediction_once,
    # which ran the experiment a second time at similar tiny sizes; its assertions are
    # all here, on the shared run (its "plot paths exist" is in test_figure_has_legends)
    _, res, _ = first
    ids = [f.claim.split(":")[0] for f in res.findings]
    assert ids == [f"P{i}" for i in range(1, 13)]
    for f in res.findings:
        assert f.verdict in VERDICTS
        assert f.detail
        assert f.size or f.verdict == "info"  # every verdict says its size
        assert (f.verdict == "info") == (
            f.claim.split(":")[0] in predictions.NO_ANALOGUE
        )
    assert [r["prediction"] for r in res.tables["verdicts"]] == ids
    rows = res.tables["metrics"]
    assert {r["prediction"] for r in rows} == {
        "P1",
        "P4",
        "P5",
        "P6",
        "P7",
        "P8",
        "P9",
        "P10",
        "P11",
        "P12",
    }
    for r in rows:
        # N_auto is inf only when an instance has no RAF at p_max; t_end is finite always
        if r["quantity"] in ("N_auto_median",):
            assert r["value"] > 0
        elif r["quantity"] == "volume_exponent_in_N":  # NaN: too few growing records
            assert math.isfinite(r["value"]) or SMALL["mesh_n"] < 1000
        else:
            assert math.isfinite(r["value"]), r


def test_resume_loads_every_chunk_and_recomputes_deleted_ones(first, tmp_path):
    out, res, ctx1 = first
    n = len(exp_runs.chunks(out))
    assert exp_runs.totals(ctx1) == (n, 0)
    ref = exp_runs.csv_bytes(res, tmp_path / "a")
    p = exp_runs.params_of(EXP, **SMALL)
    # one rerun of a copy of the shared run with the last chunk deleted: every other
    # chunk is loaded, exactly that one is computed, same tables
    third, ctx3, gone = exp_runs.rerun_copy(EXP, p, out, tmp_path / "run", [-1])
    exp_runs.assert_only_deleted_recomputed(ctx3, gone, n)
    assert exp_runs.csv_bytes(third, tmp_path / "c") == ref


def test_figure_has_legends(first, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    _, res, _ = first
    paths, figs = exp_runs.figures(EXP, res, tmp_path, monkeypatch)
    assert paths and all(p.exists() for p in paths)
    assert exp_runs.legend_problems(figs) == []
