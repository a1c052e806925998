"""The `predictions` experiment (§16): range checks. (Every prediction reported once,
valid verdicts and finite numbers are checked on the shared tiny run in
tests/test_exp_predictions.py::test_each_prediction_reported_once.)"""

import pytest

from meshjax.experiments.predictions import DEFAULTS, EXPERIMENT

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
