"""The `capability_growth` experiment on the run layer: resume, timings, legends."""

import exp_runs
import numpy as np
import pytest

from meshjax.experiments import capability_growth

EXP = capability_growth.EXPERIMENT
SMALL = dict(
    n_phi0=4,
    n_beta=4,
    h_values=[0.0, 0.5],
    C0_values=[1.0],
    rho_s=[0.0, -1.0],
    baumol_t1=100.0,
    collapse_J=[2, 10],
    collapse_alpha=[0.0, 0.2],
    collapse_rho=[0.5],
    n_samples=10,
    n_steps=20,
    replicas=2,
    calibrate=False,
)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    out = tmp_path_factory.mktemp("cg") / "run"
    res, ctx = exp_runs.run(EXP, exp_runs.params_of(EXP, **SMALL), out)
    return out, res, ctx


def test_timings_and_sizes(first):
    _, res, _ = first
    assert {"regime_map", "baumol", "collapse"} <= set(res.timings)
    sim = [f for f in res.findings if f.claim.startswith(("Thm 12.3", "Pred. 9"))]
    assert sim and all(f.size and f.verdict == "inconclusive" for f in sim)


def test_tables_verdicts_and_blowup_times(first):
    # formerly tests/test_growth.py::test_capability_growth_experiment_tiny, which ran
    # the experiment again at similar sizes; its validation check stays in
    # test_growth.py and its "three figures exist" is in test_regime_colours_in_a_legend
    _, res, _ = first
    assert set(res.tables) >= {
        "metrics",
        "regime_map",
        "baumol",
        "collapse_formula",
        "collapse_sim",
    }
    assert len(res.tables["regime_map"]) == (
        SMALL["n_phi0"] * SMALL["n_beta"] * len(SMALL["h_values"])
    )
    verdicts = {f.claim: f.verdict for f in res.findings}
    assert (
        verdicts["Prop. 13.1 with (40) Cobb-Douglas: g_Ceff -> g_Z as beta -> 1"]
        == "not supported"
    )
    m = {r["metric"]: r["value"] for r in res.tables["metrics"]}
    assert m["blowup_points"] > 0
    assert m["max_rel_err_t_stop_vs_exact_blowup"] < 1e-3


def test_resume_loads_every_chunk(first, tmp_path):
    # a rerun of a copy of the shared finished run (nothing deleted) loads every chunk
    out, res, ctx1 = first
    n = len(exp_runs.chunks(out))
    assert exp_runs.totals(ctx1) == (n, 0) and n >= 2
    p = exp_runs.params_of(EXP, **SMALL)
    again, ctx2, _ = exp_runs.rerun_copy(EXP, p, out, tmp_path / "run", [])
    assert exp_runs.totals(ctx2) == (0, n)
    assert exp_runs.csv_bytes(again, tmp_path / "b") == exp_runs.csv_bytes(
        res, tmp_path / "a"
    )


def test_regime_colours_in_a_legend(first, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    _, res, _ = first
    paths, figs = exp_runs.figures(EXP, res, tmp_path, monkeypatch)
    assert len(paths) == 3 and all(p.exists() for p in paths)
    assert exp_runs.legend_problems(figs) == []
    regime = figs[0]
    texts = [t.get_text() for t in regime.axes[0].get_legend().get_texts()]
    assert any("regime (c)" in t for t in texts)


def test_eq33_delta0_counts_only_points_due_to_blow_up_by_t1():
    """With delta = 0, a phi_eff > 1 point that did not blow up by t1 contradicts (33)
    only if its T_s is below t1 (it was counted whatever its T_s: 'not supported' on
    the default grid, where all 99 such points have T_s >= 52.8 > t1 = 50)."""
    from meshjax.experiments.capability_growth import _eq33_verdict

    p = {"t1": 50.0, "delta": 0.0}
    blow = np.array([True, True, False, False])
    fin_b = blow.copy()
    c_pred = np.ones(4, bool)
    no_blow = c_pred & ~blow
    rel = np.array([1e-7, 2e-7])
    ratio = np.array([1.0, 1.0])
    late = {"Ts": np.array([10.0, 20.0, 52.8, 80.0])}
    v, d = _eq33_verdict(p, late, blow, fin_b, c_pred, no_blow, rel, ratio)
    assert v == "supported", d
    early = {"Ts": np.array([10.0, 20.0, 30.0, 80.0])}  # due by t1, did not blow up
    v, d = _eq33_verdict(p, early, blow, fin_b, c_pred, no_blow, rel, ratio)
    assert v == "not supported"
    assert "1 points with phi_eff > 1 and T_s < t1" in d
    v, _ = _eq33_verdict(p, late, blow, fin_b, c_pred, no_blow, rel * 1e5, ratio)
    assert v == "not supported"  # blow-up times off by 1-2 %
