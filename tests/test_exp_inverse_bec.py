"""The `inverse_bec` experiment on the run layer: resume, no empty tables, legible
figure, config validation (small sizes)."""

import itertools

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

from meshjax import experiments

SMALL = {
    "n_nodes": 1000,
    "replicas": 2,
    "records": 10,
    "thetas": [0.0, 2.0],
    "learnings": [0.0, 1.0],
    "levels": [0.5, 1.0],
    "nodes_per_level": 2,
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One finished run of SMALL, inspected by the resume and figure tests."""
    out = tmp_path_factory.mktemp("inverse_bec") / "run"
    res, ctx = run("inverse_bec", params("inverse_bec", SMALL), out)
    return out, res, ctx


def test_rerun_loads_every_stage_and_a_lost_one_is_recomputed(shared, tmp_path):
    out, first, ctx = shared
    p = params("inverse_bec", SMALL)
    want = table_bytes(first, tmp_path / "a")
    assert set(want) == {"metrics", "growth_exponents"}
    assert_no_timing_columns(first)
    assert set(ctx.chunks) == {
        "grow_theta_0",
        "grow_theta_2",
        "grow_learning_0",
        "grow_learning_1",
    }
    assert all(c == {"computed": 1, "loaded": 0} for c in ctx.chunks.values())
    n = len(chunk_files(out))

    # one rerun of a copy with stage 1's chunk deleted: the other stages load their
    # chunk ({"computed": 0, "loaded": 1}), exactly the lost one is computed
    resumed, ctx3, gone = rerun_copy("inverse_bec", p, out, tmp_path / "run", [1])
    assert_only_deleted_recomputed(ctx3, gone, n)
    for stage, c in ctx3.chunks.items():
        lost = stage == gone[0].parent.name
        assert c == (
            {"computed": 1, "loaded": 0} if lost else {"computed": 0, "loaded": 1}
        )
    assert table_bytes(resumed, tmp_path / "c") == want


def test_condensation_and_shares(shared):
    # formerly tests/test_fitness.py::test_inverse_bec_experiment_tiny, which ran the
    # experiment again (thetas 0.5 and 3 there, 0 and 2 here: one on each side of
    # theta = 1); its validation check stays in test_fitness.py
    _, res, _ = shared
    rows = res.tables["metrics"]
    assert {r["family"] for r in rows} == {"theta", "learning"}
    last = {(r["family"], r["value"]): r for r in rows if r["N"] == SMALL["n_nodes"]}
    assert last[("theta", 2.0)]["predicted_condensed"]
    assert not last[("theta", 0.0)]["predicted_condensed"]
    assert last[("learning", 0.0)]["predicted_condensed"]
    # The condensed distributions hold a larger top share than the fit-get-rich ones.
    assert last[("theta", 2.0)]["kmax_share"] > last[("theta", 0.0)]["kmax_share"]
    assert (
        last[("learning", 0.0)]["datacenter_share"]
        > last[("learning", 1.0)]["datacenter_share"]
    )
    verdicts = {f.claim: f.verdict for f in res.findings}
    alpha = [v for c, v in verdicts.items() if "alpha_B <= 0" in c]
    assert alpha == ["inconclusive"]  # N = 1000 is below the full config's N


def test_no_growth_exponents_table_without_the_uniform_case(tmp_path):
    p = params("inverse_bec", {**SMALL, "thetas": [2.0], "learnings": []})
    res, _ = run("inverse_bec", p, tmp_path / "run")
    assert set(res.tables) == {"metrics"}
    assert all(res.tables.values())


def test_figure_has_legends_and_no_overlapping_tick_labels(
    shared, tmp_path, monkeypatch
):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    _, res, _ = shared
    seen = []
    save = Figure.savefig

    def check(fig, *args, **kwargs):
        out = save(fig, *args, **kwargs)
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            assert ax.get_legend() is not None
            for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
                boxes = [
                    t.get_window_extent(renderer)
                    for t in labels
                    if t.get_visible() and t.get_text()
                ]
                for a, b in itertools.combinations(boxes, 2):
                    assert not a.overlaps(b), [t.get_text() for t in labels]
        seen.append(fig)
        return out

    monkeypatch.setattr(Figure, "savefig", check)
    paths = experiments.get("inverse_bec").plot(res, tmp_path)
    assert seen and all(path.exists() for path in paths)


def test_bad_configs_are_refused_with_one_line(tmp_path):
    cfg = "configs/inverse_bec.toml"
    assert_refused(cfg, ["params.flat_slope=nan"], tmp_path / "a", "flat_slope")
    assert_refused(cfg, ["params.flat_slope=0.5"], tmp_path / "b", "flat_slope")
    assert_refused(cfg, ["params.n_nodes=1073741824"], tmp_path / "c", "GiB")


def test_stage_names_tell_close_values_apart():
    from meshjax.experiments.inverse_bec import _tag

    # the names earlier runs had stay (their checkpoints and random streams)
    assert [_tag(v) for v in (0.5, -0.5, 2.0, 0.0, 4.0)] == [
        "0.5",
        "-0.5",
        "2",
        "0",
        "4",
    ]
    # values that `:g` rounded together get names of their own
    assert _tag(0.5000001) != _tag(0.5) and float(_tag(0.5000001)) == 0.5000001


def _theta_row(theta, sim):
    return {
        "value": theta,
        "predicted_condensed": theta > 1,
        "simulated_condensed": sim,
        "kmax_share": 0.1,
        "share_slope_last_decade": 0.0 if sim else -0.5,
        "predicted_slope": 0.0,
        "elite_share": 0.1,
        "elite_share_predicted": 0.1,
        "elite_share_predicted_without_condensate": 0.1,
    }


def _learning_row(ell, sim):
    return {
        "value": ell,
        "predicted_condensed": sim,
        "simulated_condensed": sim,
        "datacenter_share": 0.4,
        "predicted_share_limit": 0.3,
        "share_slope_last_decade": 0.0,
    }


def _theta(rows, decisive=True, stalled=()):
    from meshjax.experiments.inverse_bec import DEFAULTS, _theta_findings

    out = []
    _theta_findings(out, rows, 50_000, dict(DEFAULTS), "s", decisive, stalled)
    return out


def test_the_alpha_b_verdict_follows_the_simulation():
    """It was "not supported" whatever the runs showed, its detail claimed that no
    alpha_B <= 0 case condensed, and it ignored `decisive`."""
    chapter = [_theta_row(-0.5, True), _theta_row(0.0, True), _theta_row(2.0, False)]
    f = _theta(chapter)[1]
    assert f.verdict == "supported"
    assert "2/2 alpha_B <= 0 cases condense" in f.detail
    reversed_ = [_theta_row(0.0, False), _theta_row(2.0, True)]
    assert _theta(reversed_)[1].verdict == "not supported"
    assert _theta(chapter, decisive=False)[1].verdict == "inconclusive"
    # one side of alpha_B = 0 alone decides nothing
    assert _theta([_theta_row(2.0, True)])[1].verdict == "inconclusive"


def test_the_bec_phase_is_inconclusive_without_a_theta_above_1():
    """No theta > 1 grown: nothing was tested, yet the verdict was "not supported"."""
    rows = [_theta_row(0.0, False), _theta_row(0.5, False)]
    assert _theta(rows)[0].verdict == "inconclusive"
    assert _theta(rows + [_theta_row(2.0, False)])[0].verdict == "not supported"


def test_prop_3_3_needs_a_dissolution():
    """Every row condensed (nothing dissolves) agreed with (6) and was "supported"."""
    from meshjax.experiments.inverse_bec import DEFAULTS, _learning_findings

    def verdict(rows, stalled=()):
        out = []
        _learning_findings(out, rows, 50_000, dict(DEFAULTS), "s", True, stalled)
        return out[0]

    assert verdict([_learning_row(0.0, True), _learning_row(0.1, True)]).verdict == (
        "inconclusive"
    )
    dissolving = [_learning_row(0.0, True), _learning_row(1.0, False)]
    assert verdict(dissolving).verdict == "supported"
    # a stalled growth is left out, and the detail says so
    f = verdict(dissolving, stalled=["learning=1"])
    assert f.verdict == "inconclusive"
    assert "1 stalled case(s) left out" in f.detail


def test_stalled_runs_decide_nothing():
    """A stalled growth (an invalid graph) fed the eq. (5) and §3.3 verdicts."""
    from meshjax.experiments.inverse_bec import _exponent_finding

    lv = np.array([0.5, 1.0])
    args = (lv, lv / 1.255, lv / 1.255, 50_000, 4, 8, "s", True)
    assert _exponent_finding(*args, True).verdict == "supported"
    f = _exponent_finding(*args, False)
    assert f.verdict == "inconclusive" and "stalled" in f.detail
    chapter = [_theta_row(-0.5, True), _theta_row(0.0, True), _theta_row(2.0, False)]
    f = _theta(chapter, stalled=["theta=2"])[1]
    assert f.verdict == "inconclusive" and "theta=2" in f.detail


def test_one_replica_is_not_decisive():
    from meshjax.experiments.inverse_bec import DEFAULTS, _decisive

    assert _decisive(dict(DEFAULTS))
    assert not _decisive({**DEFAULTS, "replicas": 1})
    assert not _decisive({**DEFAULTS, "n_nodes": 1000})
