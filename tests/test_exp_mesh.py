"""The `mesh` experiment on the run layer: resume, timings out of the tables, memory."""

import exp_runs
import pytest

from meshjax.experiments import mesh

EXP = mesh.EXPERIMENT
SMALL = dict(
    n_agents=200,
    n_steps=20,
    record_every=5,
    replicas=2,
    ms=[2],
    lambda2_every=2,
    lanczos_steps=8,
    n_fit_min=20,
)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    out = tmp_path_factory.mktemp("mesh") / "run"
    res, ctx = exp_runs.run(EXP, exp_runs.params_of(EXP, **SMALL), out)
    return out, res, ctx


def test_tables_and_timings(first):
    _, res, _ = first
    assert set(res.tables) == {"metrics", "hops", "fits"}
    assert set(res.timings) == {"m2"}
    arms = {r["arm"] for r in res.tables["metrics"]}
    assert arms == {"m2", "m2_variety"}
    for f in res.findings:
        assert f.size
        if f.verdict != "info":
            assert f.verdict == "inconclusive"


def test_resume_loads_every_chunk_and_recomputes_deleted_ones(first, tmp_path):
    out, res, ctx1 = first
    n = len(exp_runs.chunks(out))
    assert exp_runs.totals(ctx1) == (n, 0) and n == 2
    ref = exp_runs.csv_bytes(res, tmp_path / "a")
    p = exp_runs.params_of(EXP, **SMALL)
    # one rerun of a copy of the shared run with chunk 1 deleted: chunk 0 is loaded,
    # exactly chunk 1 is computed, same tables
    third, ctx3, gone = exp_runs.rerun_copy(EXP, p, out, tmp_path / "run", [1])
    exp_runs.assert_only_deleted_recomputed(ctx3, gone, n)
    assert exp_runs.totals(ctx3) == (1, 1)
    assert exp_runs.csv_bytes(third, tmp_path / "c") == ref


def test_figures_have_legends(first, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    _, res, _ = first
    _, figs = exp_runs.figures(EXP, res, tmp_path, monkeypatch)
    assert exp_runs.legend_problems(figs) == []


def test_memory_estimate_refuses_huge_sizes(tmp_path):
    assert EXP.memory(exp_runs.params_of(EXP, n_agents=2**30)) > 2**40
    rc, _, err = exp_runs.cli(
        "run",
        "configs/mesh.toml",
        "--set",
        "params.n_agents=1073741824",
        "--out",
        str(tmp_path / "out"),
    )
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "GiB" in err


def test_verdicts_from_failed_runs_are_inconclusive():
    """A run that overflowed only added an "info" finding; its verdicts stood."""
    from meshjax._results import RESULTS, status_code
    from meshjax.experiments._base import Finding

    overflow = int(status_code(RESULTS.overflow))
    found = [
        Finding("from m2", "supported", "a"),
        Finding("from the variety arm", "not supported", "b"),
    ]
    uses = [("m2",), ("m2_variety",)]
    assert mesh._status_findings(found, uses, {"m2": 0, "m2_variety": 0}) == found
    out = mesh._status_findings(found, uses, {"m2": 0, "m2_variety": overflow})
    assert [f.verdict for f in out] == ["supported", "inconclusive", "info"]
    assert "overflow" in out[1].detail and "leaned not supported" in out[1].detail


def test_a_noisy_latency_fit_is_not_supported_automatically():
    """|change| < 0.1 mean + 2 seh span: a large seh made any fit "supported"."""
    assert mesh._latency_verdict(0.05, 2.0, 0.01, 5.0) == "supported"
    assert mesh._latency_verdict(0.05, 2.0, 1.0, 5.0) == "inconclusive"
    assert mesh._latency_verdict(20.0, 2.0, 1.0, 5.0) == "not supported"
    assert mesh._latency_verdict(float("nan"), 2.0, 0.01, 5.0) == "inconclusive"


def test_a_short_run_is_not_decisive():
    assert not mesh._small(dict(mesh.DEFAULTS))
    assert mesh._small({**mesh.DEFAULTS, "n_steps": 10})
