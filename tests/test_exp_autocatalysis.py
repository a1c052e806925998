"""The `autocatalysis` experiment on the run layer: resume, sizes, legends."""

import exp_runs
import numpy as np
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


def _poly():
    return [{"n": n, "f_half": 1.0, "f_10": 0.5, "f_90": 1.5} for n in (6, 8)]


def _ths():
    return {6: np.ones(16), 8: np.ones(16)}


def _jk_row(i, first_acs, growth_rises=0):
    return dict(
        run=i,
        s=100,
        first_acs=first_acs,
        first_full_acs=-1,
        links_before_acs=50.0,
        links_last_quarter=50.0,
        lambda1_values_between_0_and_1=0,
        growth_rises=growth_rises,
        growth_drops=0,
        lambda1_rises=growth_rises,
        lambda1_drops=0,
        big_acs_drops=0,
        crashes_to_no_acs=0,
    )


def _mesh_row(r, n_auto, p_max=None):
    import math

    return dict(
        sweep="ops",
        J=40,
        R=r,
        beta_t=1e-3,
        N_auto=n_auto,
        p_half_times_R=1.0,
        chapter_lnR_over_beta=math.log(r) / 1e-3,
        p_max=min(1.0, 40 / r) if p_max is None else p_max,
        no_raf_at_p_max=16,
        instances=16,
    )


def _verdict(findings, start):
    (f,) = [f for f in findings if f.claim.startswith(start)]
    return f


def test_the_staircase_needs_a_run_that_formed_an_acs():
    """all() over no run with an ACS is True: runs that never formed one made the
    §9.5 staircase "supported"."""
    p = dict(autocatalysis.DEFAULTS)
    none = [_jk_row(i, -1) for i in range(4)]
    f = _verdict(autocatalysis._findings(p, _poly(), [], none, _ths()), "§9.5: reorg")
    assert f.verdict == "inconclusive" and "No run formed an ACS" in f.detail
    some = none[:3] + [_jk_row(3, 10, growth_rises=2)]
    f = _verdict(autocatalysis._findings(p, _poly(), [], some, _ths()), "§9.5: reorg")
    assert f.verdict == "supported"


def test_n_auto_growth_is_judged_in_r_order():
    """`grows` compared the last and first rows of the config's mesh_ops order."""
    p = dict(autocatalysis.DEFAULTS)
    for order in ([6400, 400], [400, 6400]):
        mesh = [_mesh_row(r, 10.0 if r == 400 else 50.0) for r in order]
        f = _verdict(
            autocatalysis._findings(p, _poly(), mesh, [], _ths()), "Prop. 9.4 (17)"
        )
        assert f.verdict == "inconclusive"  # grows with |R|: not refuted
        mesh = [_mesh_row(r, 50.0 if r == 400 else 10.0) for r in order]
        f = _verdict(
            autocatalysis._findings(p, _poly(), mesh, [], _ths()), "Prop. 9.4 (17)"
        )
        assert f.verdict == "not supported"
        assert f.detail.index("|R|=400") < f.detail.index("|R|=6400")


def test_no_raf_below_full_catalysis_is_inconclusive():
    """p_max = min(1, 40/|R|): for |R| > 40 an infinite median threshold only says there
    is no RAF up to p_max, which does not refute Prop. 9.4."""
    p = dict(autocatalysis.DEFAULTS)
    claim = "Prop. 9.4: for N > N_auto"
    f = _verdict(
        autocatalysis._findings(p, _poly(), [_mesh_row(400, np.inf)], [], _ths()), claim
    )
    assert (
        f.verdict == "inconclusive" and "up to p=0.1 (searched no higher)" in f.detail
    )
    f = _verdict(
        autocatalysis._findings(p, _poly(), [_mesh_row(20, np.inf)], [], _ths()), claim
    )
    assert f.verdict == "not supported" and "p=1" in f.detail
