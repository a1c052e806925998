"""The `predictions` experiment on the run layer: no wall-clock seconds in tables,
resume, sizes in the findings."""

import math

import exp_runs
import numpy as np
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


def _code(name):
    from meshjax._results import RESULTS, status_code

    return int(status_code(getattr(RESULTS, name)))


def test_a_failed_mesh_run_decides_neither_p6_nor_p8():
    """`_mesh_run` dropped `mesh.simulate`'s status: an overflowed run's share decided
    P8."""
    t = np.arange(1.0, 11.0)
    run = {"n_present": 100 * t, "tx": 100 * t, "raf_tx": 50 * t, "hops": 0 * t + 1}
    for status, want in (("successful", "supported"), ("overflow", "inconclusive")):
        found, rows = {}, []
        p6 = predictions._p6_p8_findings(
            run, np.array([_code(status)]), 4, 0.05, rows, found
        )
        assert found["P8"].verdict == want
        assert p6.verdict == "inconclusive"
    assert "overflow" in found["P8"].detail and "overflow" in p6.detail


def test_a_failed_solve_decides_neither_p10_nor_p12():
    """A blow-up's inf g_Ceff gave P10 "not supported"; a failed P12 solve was "not
    supported" when C_eff did not rise."""
    gz = 0.05
    out = {"Cobb-Douglas (40)": (math.inf, 0.2), "CES": (0.05, 0.2)}
    assert predictions._p10_finding(out, [], gz, 400.0).verdict == "inconclusive"
    both = {"Cobb-Douglas (40)": (math.inf, 0.2), "CES": (math.inf, 0.2)}
    assert predictions._p10_finding(both, [], gz, 400.0).verdict == "not supported"
    f = predictions._p10_finding(both, ["CES"], gz, 400.0)
    assert f.verdict == "inconclusive" and "CES" in f.detail
    assert predictions._p12_verdict(False, True, solved=True) == "not supported"
    assert predictions._p12_verdict(False, True, solved=False) == "inconclusive"
    assert predictions._p12_verdict(True, True, solved=False) == "inconclusive"


def test_a_nan_kl_ratio_makes_p9_inconclusive_in_any_order():
    """Python's min() over ratios with a NaN depended on where the NaN stood."""
    assert predictions._p9_verdict([0.5, 3.0], True) == "not supported"
    for ratios in ([math.nan, 0.5], [0.5, math.nan], [3.0, math.nan]):
        assert predictions._p9_verdict(ratios, True) == "inconclusive"


def test_tiny_runs_are_not_decisive():
    """mesh_steps=2, potts_beta_points=3, potts_burn=0, raf_ops=1, raf_types=3 and
    collapse_samples=2 were all called decisive."""
    d = predictions.DEFAULTS
    assert not any(small for _, small in predictions._sizes(dict(d)).values())
    for key, value, pred in (
        ("mesh_steps", 2, ("P6", "P8")),
        ("potts_beta_points", 3, ("P1",)),
        ("potts_burn", 0, ("P1",)),
        ("raf_ops", 1, ("P7",)),
        ("raf_types", 3, ("P7",)),
        ("collapse_samples", 2, ("P9",)),
    ):
        sizes = predictions._sizes({**d, key: value})
        assert [k for k, (_, small) in sizes.items() if small] == list(pred), key
