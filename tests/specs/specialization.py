"""Contract specs of meshjax.specialization (see tests/contract.py)."""

from __future__ import annotations

import math

import jax.random as jr
import numpy as np
from contract import Count, Real, Spec

from meshjax import specialization as sp

_DEMAND = np.array([0.2, 0.1, 0.05])
_P = sp.ThresholdParams(demand=_DEMAND)
_N = 12
_ST = sp.init_state(jr.key(0), _N, _P)
# some work memory (3 agents); the same call as simulate's spec below: one compiled program
_ST_ACT = sp.simulate(
    jr.key(6), _ST, _P, 10, record_every=5, rho=0.5, spec_level=0.9
).state

_PARAM_DOMAINS = dict(
    efficiency=Real(low=0.0, low_open=True),
    steepness=Real(low=1.0),
    learning=Real(low=0.0),
    forgetting=Real(low=0.0),
    quit_prob=Real(low=0.0, high=1.0, low_open=True),
    theta_min=Real(low=0.0),
    theta_max=Real(low=0.0, low_open=True),
    memory=Real(low=0.0, high=1.0, low_open=True),
)


def simulate_with_params(
    key,
    efficiency=1.0,
    steepness=2.0,
    learning=0.5,
    forgetting=0.05,
    quit_prob=0.1,
    theta_min=0.01,
    theta_max=20.0,
    memory=0.005,
):
    """`simulate` with every ThresholdParams field as an argument (so it can be swept)."""
    params = sp.ThresholdParams(
        demand=_DEMAND,
        efficiency=efficiency,
        steepness=steepness,
        learning=learning,
        forgetting=forgetting,
        quit_prob=quit_prob,
        theta_min=theta_min,
        theta_max=theta_max,
        memory=memory,
    )
    return sp.simulate(key, _ST, params, 10, record_every=5)


SPECS = [
    Spec(
        fn=sp.ThresholdParams,
        args=dict(demand=_DEMAND),
        # traced fields pass the constructor and are reported by the drivers' status:
        # swept (and checked traced) through `simulate_with_params` below
        domains=_PARAM_DOMAINS,
        bad=[
            ("demand", np.array([0.1])),
            ("demand", np.array([0.1, -0.1])),
            ("demand", np.array([0.1, math.nan])),
            ("demand", np.ones((2, 2))),
            ("demand", "0.1"),
            ("theta_max", 0.005),
        ],
    ),
    Spec(
        fn=simulate_with_params,
        id="meshjax.specialization.simulate[params]",
        args=dict(key=0),
        key=True,
        driver=True,
        sweep=dict(
            efficiency=(1.0, 0.5),
            steepness=(2.0, 3.0),
            learning=(0.5, 0.2),
            forgetting=(0.05, 0.1),
            quit_prob=(0.1, 0.3),
            theta_min=(0.01, 0.1),
            theta_max=(20.0, 15.0),
            memory=(0.005, 0.05),
        ),
        domains=_PARAM_DOMAINS,
    ),
    Spec(
        fn=sp.init_state,
        args=dict(key=0, n_agents=_N, params=_P),
        key=True,
        domains=dict(n_agents=Count(low=1)),
        bad=[
            ("params", None),
            ("thresholds", -np.ones((_N, 3))),
            ("thresholds", np.ones((_N, 4))),
            ("theta0", (0.0, 100.0)),
            ("theta0", (math.nan, 1.0)),
        ],
    ),
    Spec(
        fn=sp.step,
        args=dict(key=0, state=_ST, params=_P),
        key=True,
        bad=[
            ("params", sp.ThresholdParams(demand=np.ones(4))),
            ("present", np.ones(_N)),
            ("present", np.ones(3, bool)),
        ],
    ),
    Spec(
        fn=sp.simulate,
        args=dict(
            key=0,
            state=_ST,
            params=_P,
            n_steps=10,
            record_every=5,
            rho=0.5,
            spec_level=0.9,
        ),
        key=True,
        driver=True,
        sweep=dict(rho=(0.5, -0.5), spec_level=(0.9, 0.5)),
        domains=dict(
            n_steps=Count(low=1),
            record_every=Count(low=1),
            rho=Real(high=1.0, high_open=True),
            spec_level=Real(low=0.0, high=1.0, low_open=True),
        ),
        bad=[
            ("rho", 0.0),
            ("n_steps", 7),
            ("capability", -np.ones(_N)),
            ("capability", np.ones(3)),
            ("present", np.ones(_N)),
        ],
    ),
    Spec(
        fn=sp.metrics,
        args=dict(state=_ST_ACT, params=_P, rho=0.5, spec_level=0.9),
        driver=True,
        sweep=dict(rho=(0.5, -0.5), spec_level=(0.9, 0.5)),
        domains=dict(
            rho=Real(high=1.0, high_open=True),
            spec_level=Real(low=0.0, high=1.0, low_open=True),
        ),
        bad=[("rho", 0.0), ("capability", -np.ones(_N)), ("present", np.ones(3, bool))],
    ),
    Spec(
        fn=sp.division_of_labour,
        args=dict(weights=np.eye(3).repeat(2, axis=0)),
        bad=[
            ("weights", -np.ones((3, 2))),
            ("weights", np.ones((3, 1))),
            ("weights", np.ones(3)),
            ("weights", np.full((3, 2), math.nan)),
            ("members", np.ones(2, bool)),
            ("members", np.ones(6)),
        ],
    ),
    Spec(
        fn=sp.response_probability,
        args=dict(stimuli=1.0, thresholds=2.0, steepness=2.0),
        sweep=dict(stimuli=(1.0, 0.5), thresholds=(2.0, 0.3), steepness=(2.0, 5.0)),
        domains=dict(
            stimuli=Real(low=0.0), thresholds=Real(low=0.0), steepness=Real(low=1.0)
        ),
    ),
    Spec(
        fn=sp.capability_matrix,
        args=dict(state=_ST_ACT, capability=2.0),
        sweep=dict(capability=(2.0, 0.5)),
        # None is allowed (capability 1), so the bad values are listed, not a domain
        bad=[
            ("capability", np.ones(3)),
            ("capability", np.ones((_N, 2))),
            ("capability", -1.0),
            ("capability", math.nan),
            ("capability", math.inf),
            ("capability", "1.0"),
            ("capability", True),
        ],
    ),
]

EXEMPT = {
    "meshjax.specialization.ThresholdState": "a state container (thresholds, tasks, "
    "stimuli, memory) built by init_state and step; no parameters to validate",
    "meshjax.specialization.ThresholdMetrics": "the result module returned by "
    "metrics (checked through metrics' spec)",
    "meshjax.specialization.ThresholdRun": "the result module returned by simulate "
    "(checked through simulate's spec)",
}
