"""Contract specs for meshjax.fitness."""

import numpy as np
from contract import Count, Real, Spec

from meshjax import fitness as F

_FIT = np.array([1.0, 0.5, 0.8, 0.3, 0.9, 0.2, 0.7, 0.4])
_TIMES = np.array([10, 20, 40, 80])
_DEGREES = np.array([[2, 3], [3, 5], [4, 8], [6, 13]])

SPECS = [
    Spec(
        F.bianconi_barabasi,
        {"key": 0, "fitness": _FIT, "m": 1},
        key=True,
        driver=True,
        domains={"m": Count(low=1)},
        bad=[
            ("fitness", -_FIT),
            ("fitness", np.zeros(8)),
            ("fitness", _FIT.reshape(2, 4)),
            ("fitness", np.where(_FIT > 0.6, np.nan, _FIT)),
            ("fitness", "abc"),
            ("n_core", 8),
            ("n_core", 1),
            ("track", [9]),
            ("track", [0.5]),
            ("record_every", 0),
            ("chunk", 0),
            ("build_graph", "yes"),
        ],
    ),
    Spec(
        F.uniform_fitness,
        {"key": 0, "n_nodes": 8, "eta_max": 1.0},
        key=True,
        sweep={"eta_max": (0.5, 2.0)},
        domains={"eta_max": Real(low=0.0, low_open=True), "n_nodes": Count(low=1)},
    ),
    Spec(
        F.theta_fitness,
        {"key": 0, "n_nodes": 8, "theta": 0.5},
        key=True,
        sweep={"theta": (0.0, 2.0)},
        domains={"theta": Real(low=-1.0, low_open=True), "n_nodes": Count(low=1)},
    ),
    Spec(
        F.theta_pdf,
        {"theta": 0.5},
        sweep={"theta": (0.0, 2.0)},
        domains={"theta": Real(low=-1.0, low_open=True)},
    ),
    Spec(
        F.datacenter_edge_fitness,
        {"key": 0, "n_nodes": 8, "learning": 0.5, "gap": 0.5, "theta_bulk": 0.0},
        key=True,
        sweep={"learning": (0.2, 0.8), "gap": (0.5, 0.3), "theta_bulk": (0.0, 1.0)},
        domains={
            "learning": Real(low=0.0, high=1.0),
            "gap": Real(low=0.0, high=1.0, low_open=True),
            "theta_bulk": Real(low=-1.0, low_open=True),
            "n_nodes": Count(low=2),
        },
        bad=[("n_datacenters", 8), ("n_datacenters", 0)],
    ),
    Spec(
        F.datacenter_edge_bulk_pdf,
        {"learning": 0.5, "gap": 0.5, "theta_bulk": 0.0},
        sweep={"learning": (0.2, 0.8), "gap": (0.5, 0.3), "theta_bulk": (0.0, 1.0)},
        domains={
            "learning": Real(low=0.0, high=1.0),
            "gap": Real(low=0.0, high=1.0, low_open=True),
            "theta_bulk": Real(low=-1.0, low_open=True),
        },
    ),
    Spec(
        F.condensation_constant,
        {"rho": _FIT * 0.9, "eta_max": 1.0},
        driver=True,
        domains={"eta_max": Real(low=0.0, low_open=True)},
        bad=[
            ("rho", np.array([0.5, 1.5])),
            ("rho", np.zeros(3)),
            ("rho", np.array([0.5, np.nan])),
            ("rho", np.zeros(0)),
            ("rho", lambda x: 2 * np.ones_like(x)),
        ],
    ),
    Spec(
        F.predicted_link_share,
        {"rho": F.theta_pdf(2.0), "eta_low": 0.5, "eta_max": 1.0},
        domains={
            "eta_low": Real(low=0.0, high=1.0, high_open=True),
            "eta_max": Real(low=0.0, low_open=True),
        },
    ),
    Spec(
        F.predicted_exponents,
        {"fitness": np.array([0.2, 0.5]), "C": 1.2},
        sweep={"C": (1.0, 2.0)},
        domains={"C": Real(low=0.0, low_open=True)},
        bad=[("fitness", np.array([-0.2, 0.5])), ("fitness", "x")],
    ),
    Spec(
        F.growth_exponents,
        {"times": _TIMES, "degrees": _DEGREES, "t_min": 10.0},
        bad=[
            ("times", _TIMES.reshape(2, 2)),
            ("times", -_TIMES),
            ("degrees", _DEGREES[:3]),
            ("degrees", -_DEGREES),
            ("degrees", np.zeros_like(_DEGREES)),
            ("t_min", 100.0),
            ("t_min", float("nan")),
        ],
    ),
    Spec(
        F.condensate_share,
        {"degrees": np.array([1, 2, 3])},
        bad=[
            ("degrees", np.array([-1, 2])),
            ("degrees", np.zeros(0)),
            ("degrees", "x"),
        ],
    ),
    Spec(
        F.degree_exponent_mle,
        {"degrees": np.array([1, 2, 3, 5, 8, 13]), "k_min": 2},
        domains={"k_min": Count(low=1)},
        bad=[("degrees", np.array([-1, 2, 3])), ("degrees", np.array([1, 1]))],
    ),
]

EXEMPT = {
    "meshjax.fitness.BBGrowth": "result container of bianconi_barabasi",
    "meshjax.fitness.Condensation": "result container of condensation_constant",
    "meshjax.fitness.ThetaDensity": (
        "density pytree returned by theta_pdf (specified through theta_pdf)"
    ),
    "meshjax.fitness.DatacenterBulkDensity": (
        "density pytree returned by datacenter_edge_bulk_pdf (specified through it)"
    ),
}
