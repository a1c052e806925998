"""Contract specs of meshjax.ces (see tests/contract.py)."""

from __future__ import annotations

import math

import numpy as np
from contract import Real, Spec

from meshjax import ces

_C = np.array([1.0, 2.0, 3.0, 0.5])
# rho may be -inf in the CES forms (the minimum), so it is not a `Real` domain there
_RHO_BAD = [
    ("rho", math.nan),
    ("rho", math.inf),
    ("rho", 1.0),
    ("rho", 1.5),
    ("rho", "0.5"),
    ("rho", True),
    ("rho", None),
    ("rho", np.array([0.5, 1.5])),
]
_CAP_BAD = [
    ("capabilities", np.array([1.0, -2.0, 3.0])),
    ("capabilities", np.array([1.0, math.nan])),
    ("capabilities", np.array([1.0, math.inf])),
    ("capabilities", np.array([1.0])),
    ("capabilities", 2.0),
    ("capabilities", np.array(["a", "b"])),
    ("capabilities", None),
]

SPECS = [
    Spec(
        fn=ces.ces_aggregate,
        args=dict(capabilities=_C, rho=0.5),
        sweep=dict(rho=(0.5, -0.7)),
        bad=_RHO_BAD
        + _CAP_BAD
        + [("axis", 1), ("axis", -2), ("axis", 0.5), ("normalized", "yes")],
    ),
    Spec(
        fn=ces.ces_aggregate,
        id="meshjax.ces.ces_aggregate[unnormalized]",
        args=dict(capabilities=_C, rho=0.5, normalized=False),
        sweep=dict(rho=(0.5, -0.7)),
        bad=[("rho", 0.0)],
    ),
    Spec(
        fn=ces.log_power_mean,
        args=dict(capabilities=_C, rho=0.5),
        sweep=dict(rho=(1e-6, -0.7)),
        bad=_RHO_BAD + _CAP_BAD + [("axis", 1), ("axis", 2.0)],
    ),
    Spec(
        fn=ces.curvature,
        args=dict(rho=0.5, J=4),
        sweep=dict(rho=(0.5, -1.0), J=(2, 5)),
        domains=dict(rho=Real(high=1.0, high_open=True), J=Real(low=2.0)),
        bad=[("J", 2.5), ("J", np.array([2, 1]))],
    ),
    Spec(
        fn=ces.diversity_premium,
        args=dict(J=4, rho=0.5),
        sweep=dict(J=(2, 5), rho=(0.5, 0.2)),
        domains=dict(J=Real(low=2.0)),
        bad=[*_RHO_BAD, ("J", 2.5)],
    ),
    Spec(
        fn=ces.centralized_capability,
        args=dict(M=10.0, c=3.0, J=4, rho=0.5),
        sweep=dict(M=(10.0, 5.0), c=(3.0, 1.0), J=(4, 3), rho=(0.5, -1.0)),
        domains=dict(M=Real(low=0.0), c=Real(low=0.0), J=Real(low=2.0)),
        bad=[*_RHO_BAD, ("rho", 0.0), ("J", 3.5), ("normalized", 1)],
    ),
    Spec(
        fn=ces.mesh_capability,
        args=dict(capabilities=np.arange(12.0).reshape(6, 2) + 1.0, rho=0.4),
        sweep=dict(rho=(0.4, -0.5)),
        bad=[
            *_RHO_BAD,
            ("rho", 0.0),
            ("capabilities", -np.ones((3, 2))),
            ("capabilities", np.ones((3, 1))),
            ("capabilities", np.ones(3)),
            ("members", np.ones(2, bool)),
            ("members", np.ones(6)),
        ],
    ),
    Spec(
        fn=ces.critical_mass,
        args=dict(
            M=100.0,
            c_cent=1.0,
            c_mesh=1.0,
            s_inf=0.9,
            shares=np.array([0.4, 0.3, 0.2, 0.1]),
            rho=0.01,
        ),
        sweep=dict(M=(100.0, 50.0), s_inf=(0.9, 0.5), rho=(0.01, -0.5)),
        domains=dict(
            M=Real(low=0.0, low_open=True),
            c_cent=Real(low=0.0, low_open=True),
            c_mesh=Real(low=0.0, low_open=True),
            s_inf=Real(low=0.0, high=1.0, low_open=True),
            rho=Real(high=1.0, high_open=True),
        ),
        bad=[
            ("shares", np.array([0.5, 0.6])),
            ("shares", np.array([-0.5, 1.5])),
            ("shares", np.array([1.0])),
            ("shares", np.array([0.5, math.nan])),
        ],
    ),
    Spec(
        fn=ces.critical_mass,
        id="meshjax.ces.critical_mass[even]",
        args=dict(M=100.0, c_cent=1.0, c_mesh=2.0, s_inf=0.9),
        sweep=dict(c_cent=(1.0, 3.0), c_mesh=(2.0, 1.0)),
        domains=dict(
            c_cent=Real(low=0.0, low_open=True), c_mesh=Real(low=0.0, low_open=True)
        ),
        bad=[("rho", 0.5)],
    ),
]

EXEMPT: dict[str, str] = {}
