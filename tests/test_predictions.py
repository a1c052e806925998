"""The `predictions` experiment (§16): every prediction reported once, valid verdicts,
finite numbers, range checks."""

import math

import pytest

from meshjax.experiments._base import VERDICTS, Context
from meshjax.experiments.predictions import DEFAULTS, EXPERIMENT, NO_ANALOGUE

TINY = dict(
    potts_n=300,
    potts_beta_points=9,
    potts_sweeps=6,
    potts_burn=4,
    hub_n=1000,
    hub_models=["BB"],
    sis_sizes=[200, 800],
    sis_gammas=[2.5, 3.5],
    raf_types=8,
    raf_ops=100,
    raf_instances=2,
    collapse_J=[1, 3, 10],
    collapse_alpha=[0.2],
    collapse_n_steps=20,
    collapse_replicas=1,
    collapse_samples=20,
    baumol_t1=50.0,
    phis=[0.7, 1.2],
    growth_t1=30.0,
    mesh_n=300,
    mesh_steps=40,
)


def test_tiny_run_reports_each_prediction_once(tmp_path):
    params = {**DEFAULTS, **TINY}
    EXPERIMENT.validate(params)
    res = EXPERIMENT.run(params, Context(seed=0, out_dir=tmp_path, log=lambda s: None))
    ids = [f.claim.split(":")[0] for f in res.findings]
    assert ids == [f"P{i}" for i in range(1, 13)]
    for f in res.findings:
        assert f.verdict in VERDICTS
        assert f.detail
        assert f.size or f.verdict == "info"  # every verdict says its size
        assert (f.verdict == "info") == (f.claim.split(":")[0] in NO_ANALOGUE)
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
            assert math.isfinite(r["value"]) or TINY["mesh_n"] < 1000
        else:
            assert math.isfinite(r["value"]), r
    paths = EXPERIMENT.plot(res, tmp_path)
    assert all(p.exists() for p in paths)


@pytest.mark.parametrize(
    "key, value",
    [
        ("potts_degree", 2),
        ("hub_models", ["XY"]),
        ("sis_sizes", [100]),
        ("sis_gammas", [1.5]),
        ("raf_food", 8),
        ("collapse_J", [1, 2]),
        ("collapse_alpha", [0.6]),
        ("phis", [0.7, 0.9]),
        ("variety_rho", -0.5),
    ],
)
def test_validate_rejects_out_of_range(key, value):
    params = {**DEFAULTS, **TINY, key: value}
    with pytest.raises(ValueError, match=key):
        EXPERIMENT.validate(params)
