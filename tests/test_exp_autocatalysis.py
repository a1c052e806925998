"""The `autocatalysis` experiment on the run layer: resume, sizes, legends."""

import exp_runs
import pytest

from meshjax.experiments import autocatalysis

EXP = autocatalysis.EXPERIMENT
SMALL = dict(
    polymer_n=[4, 5],
    polymer_instances=2,
    mesh_types=10,
    mesh_ops=[50, 100],
    mesh_types_sweep=[],
    mesh_instances=2,
    jk_types=10,
    jk_steps=20,
    jk_runs=1,
)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    out = tmp_path_factory.mktemp("ac") / "run"
    res, ctx = exp_runs.run(EXP, exp_runs.params_of(EXP, **SMALL), out)
    return out, res, ctx


def test_resume_loads_every_chunk_and_recomputes_deleted_ones(first, tmp_path):
    # one rerun of a copy of the shared finished run with a chunk deleted: every other
    # chunk is loaded, exactly the deleted one is computed, same tables
    out, res, ctx1 = first
    n = len(exp_runs.chunks(out))
    assert exp_runs.totals(ctx1) == (n, 0) and n >= 5
    ref = exp_runs.csv_bytes(res, tmp_path / "a")
    p = exp_runs.params_of(EXP, **SMALL)
    # (one chunk of a split stage: one stage recompiles, and resumes from its others)
    drop = [exp_runs.chunk_in_a_split_stage(out)]
    third, ctx3, gone = exp_runs.rerun_copy(EXP, p, out, tmp_path / "run", drop)
    exp_runs.assert_only_deleted_recomputed(ctx3, gone, n)
    assert exp_runs.csv_bytes(third, tmp_path / "c") == ref


def test_findings_carry_sizes(first):
    _, res, _ = first
    assert {"polymer", "mesh", "jk"} <= set(res.timings)
    for f in res.findings:
        if f.verdict != "info":
            assert f.size and f.verdict == "inconclusive"


def test_figures_have_legends(first, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    _, res, _ = first
    _, figs = exp_runs.figures(EXP, res, tmp_path, monkeypatch)
    assert exp_runs.legend_problems(figs) == []
