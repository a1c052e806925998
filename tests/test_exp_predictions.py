"""The `predictions` experiment on the run layer: no wall-clock seconds in tables,
resume, sizes in the findings."""

import exp_runs
import pytest

from meshjax.experiments import predictions

EXP = predictions.EXPERIMENT
SMALL = dict(
    potts_n=100,
    potts_beta_points=3,
    potts_sweeps=2,
    potts_burn=2,
    hub_n=200,
    hub_models=["BB"],
    sis_sizes=[100, 200],
    raf_ops=60,
    raf_instances=2,
    collapse_J=[1, 10],
    collapse_alpha=[0.1],
    collapse_samples=10,
    collapse_n_steps=10,
    collapse_replicas=2,
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


def test_resume_loads_every_chunk_and_recomputes_deleted_ones(first, tmp_path):
    out, res, ctx1 = first
    n = len(exp_runs.chunks(out))
    assert exp_runs.totals(ctx1) == (n, 0)
    ref = exp_runs.csv_bytes(res, tmp_path / "a")
    p = exp_runs.params_of(EXP, **SMALL)
    again, ctx2 = exp_runs.run(EXP, p, out)
    assert exp_runs.totals(ctx2) == (0, n)
    assert exp_runs.csv_bytes(again, tmp_path / "b") == ref
    exp_runs.chunks(out)[-1].unlink()
    third, ctx3 = exp_runs.run(EXP, p, out)
    assert exp_runs.totals(ctx3) == (1, n - 1)
    assert exp_runs.csv_bytes(third, tmp_path / "c") == ref


def test_figure_has_legends(first, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    _, res, _ = first
    paths, figs = exp_runs.figures(EXP, res, tmp_path, monkeypatch)
    assert paths and all(p.exists() for p in paths)
    assert exp_runs.legend_problems(figs) == []
