"""Contract specs of meshjax.equilibrium (see tests/contract.py)."""

from __future__ import annotations

import math

import numpy as np
from contract import Count, Real, Spec

from meshjax import equilibrium as eq, specialization as sp

_P = sp.ThresholdParams(demand=np.array([0.1, 0.1, 0.1]))
_N = 20
_POS = Real(low=0.0, low_open=True)
_RHO = Real(high=1.0, high_open=True)

SPECS = [
    Spec(
        fn=eq.grow_mesh,
        args=dict(
            key=0,
            n_schedule=np.array([10, 20]),
            beta=0.2,
            params=_P,
            capability=np.linspace(0.5, 1.5, _N),
            rho=0.5,
            M=2.0,
            c_cent=1.0,
            record_every=2,
        ),
        key=True,
        driver=True,
        sweep=dict(rho=(0.5, -0.5), M=(2.0, 3.0), c_cent=(1.0, 2.0)),
        domains=dict(
            rho=_RHO,
            M=_POS,
            c_cent=_POS,
            beta=Real(low=0.0, high=1.0, low_open=True),
            record_every=Count(low=1),
        ),
        bad=[
            ("rho", 0.0),
            ("n_schedule", np.array([20, 10])),
            ("n_schedule", np.array([0, 10])),
            ("n_schedule", np.array([10, 30])),
            ("n_schedule", np.array([10.0, 20.0])),
            ("capability", -np.ones(_N)),
            ("capability", np.ones((_N, 2))),
            ("capability", np.full(_N, math.nan)),
            ("params", None),
            ("normalized", 0),
        ],
    ),
    Spec(
        fn=eq.capability_curve,
        args=dict(
            key=0,
            n_grid=np.array([10, 20]),
            mean_degree=2.0,
            params=_P,
            capability=np.ones(_N),
            rho=0.5,
            M=2.0,
            c_cent=1.0,
            n_steps=4,
            replicas=1,
        ),
        key=True,
        driver=True,
        sweep=dict(rho=(0.5, -0.5), M=(2.0, 3.0)),
        domains=dict(
            rho=_RHO,
            M=_POS,
            c_cent=_POS,
            mean_degree=_POS,
            n_steps=Count(low=1),
            replicas=Count(low=1),
        ),
        bad=[
            ("rho", 0.0),
            ("n_grid", np.array([10, 5])),
            ("n_grid", np.array([1, 10])),
            ("n_grid", np.array([10, 30])),
            ("mean_degree", 9.0),
            ("thresholds", np.ones((_N, 2))),
            ("thresholds", -np.ones((_N, 3))),
        ],
    ),
    Spec(
        fn=eq.measured_critical_mass,
        args=dict(n=np.array([10.0, 20.0, 30.0]), ratio=np.array([0.5, 0.9, 1.3])),
        bad=[
            ("ratio", np.array([0.5, 1.0])),
            ("ratio", 1.0),
            ("n", np.array([10.0])),
            ("n", np.array([30.0, 20.0, 10.0])),
            ("n", np.array([10.0, math.nan, 30.0])),
        ],
    ),
    Spec(
        fn=eq.critical_mass_fixed_beta,
        args=dict(M=80.0, c_cent=10.0, c_mesh=1.0, beta=0.002),
        sweep=dict(
            M=(80.0, 40.0), c_cent=(10.0, 5.0), c_mesh=(1.0, 2.0), beta=(0.002, 0.01)
        ),
        domains=dict(
            M=_POS,
            c_cent=_POS,
            c_mesh=_POS,
            beta=Real(low=0.0, high=1.0, low_open=True),
        ),
    ),
    Spec(
        fn=eq.classify_phases,
        args=dict(
            c_mesh=np.array([0.0, 0.05, 0.2, 0.5, 0.95, 1.0]),
            r0=np.array([0.5, 1.2, 2.0, 3.0, 4.0, 5.0]),
            low=0.1,
            high=0.9,
        ),
        sweep=dict(low=(0.1, 0.3), high=(0.9, 0.6)),
        domains=dict(
            low=Real(low=0.0, high=1.0, low_open=True, high_open=True),
            high=Real(low=0.0, high=1.0, low_open=True, high_open=True),
        ),
        bad=[("r0", np.ones(3)), ("c_mesh", np.ones((2, 3))), ("high", 0.05)],
    ),
    Spec(
        fn=eq.uniform_entropy,
        args=dict(width=0.5),
        sweep=dict(width=(0.5, 0.25)),
        domains=dict(width=Real(low=0.0)),
    ),
    Spec(
        fn=eq.discrete_entropy,
        args=dict(p=np.array([0.25, 0.25, 0.5])),
        bad=[
            ("p", np.array([0.5, -0.5])),
            ("p", np.array([0.5, math.nan])),
            ("p", 1.0),
            ("p", "0.5"),
            ("p", None),
        ],
    ),
]

EXEMPT = {
    "meshjax.equilibrium.MeshGrowth": "the result module returned by grow_mesh "
    "(checked through grow_mesh's spec)",
    "meshjax.equilibrium.CapabilityCurve": "the result module returned by "
    "capability_curve (checked through its spec)",
}
