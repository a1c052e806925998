"""Contract specs for meshjax.epidemic (see tests/contract.py)."""

import jax.random as jr
import networkx as nx
import numpy as np
from contract import Count, Real, Spec

from meshjax import epidemic, graph as mg

_G = mg.from_networkx(nx.random_regular_graph(4, 20, seed=1))
_GRAPH_BAD = [("graph", "not a graph"), ("graph", None)]
# `tol` defaults to None: its bad values are listed, not generated from `domains`.
_TOL = Real(0.0, 1.0, low_open=True, high_open=True)


def _sis_outputs(res):
    return {
        "qs_prevalence": res.qs_prevalence,
        "prevalence_series": res.prevalence_series,
        "n_absorbed": res.n_absorbed,
        "final_state": res.final_state,
        "spreading_rate": res.spreading_rate,
        "status": res.status._value,
    }


SPECS = [
    Spec(
        epidemic.sis,
        dict(
            key=jr.key(0),
            graph=_G,
            infection_rate=0.8,
            recovery_rate=1.0,
            n_steps=20,
            dt=0.05,
            n_burn=10,
            replicas=2,
            qs="history",
            history_size=4,
            history_rate=1.0,
            initial_fraction=0.5,
            record_every=5,
        ),
        key=True,
        driver=True,
        sweep={
            "infection_rate": (0.8, 1.2),
            "recovery_rate": (1.0, 0.7),
            "dt": (0.05, 0.1),
            "history_rate": (1.0, 2.0),
            "initial_fraction": (0.5, 0.3),
        },
        domains={
            "infection_rate": Real(low=0.0),
            "recovery_rate": Real(low=0.0, low_open=True),
            "dt": Real(low=0.0, low_open=True),
            "history_rate": Real(low=0.0, low_open=True),
            "initial_fraction": Real(0.0, 1.0, low_open=True),
            "n_steps": Count(1),
            "replicas": Count(1),
            "history_size": Count(1),
            "record_every": Count(1, 20),
        },
        bad=[
            ("key", "seed"),
            ("key", 2.5),
            ("key", -1),
            ("n_burn", -1),
            ("n_burn", 20),
            ("n_burn", 2.5),
            ("n_burn", "3"),
            ("qs", "absorb"),
            ("qs", None),
            ("infection_rate", [[0.1]]),
            ("infection_rate", np.ones(0)),
            ("infection_rate", [0.1, -0.2]),
            ("infection_rate", np.ones(3, complex)),
            ("recovery_rate", np.ones((2, 2))),
            *_GRAPH_BAD,
        ],
        outputs=_sis_outputs,
    ),
    Spec(
        epidemic.threshold_hmf,
        dict(graph=_G),
        bad=[
            *_GRAPH_BAD,
            ("graph", np.full(5, 4)),
            ("graph", mg.from_edges(np.zeros((0, 2), np.int64), 5)),
        ],
    ),
    Spec(
        epidemic.threshold_hmf_from_degrees,
        dict(degrees=np.full(10, 4.0)),
        bad=[
            ("degrees", np.zeros(5)),
            ("degrees", np.array([1.0, np.nan])),
            ("degrees", np.array([1.0, -1.0])),
            ("degrees", np.ones((2, 2))),
            ("degrees", np.ones(0)),
            ("degrees", "abc"),
            ("degrees", np.ones(3, bool)),
            ("degrees", 4.0),
        ],
    ),
    Spec(
        epidemic.threshold_qmf,
        dict(graph=_G, tol=1e-9),
        sweep={"tol": (1e-9, 1e-7)},
        domains={"max_restarts": Count(1)},
        bad=[
            *[("tol", v) for v in _TOL.bad_values() if v is not None],
            *_GRAPH_BAD,
            ("graph", mg.from_edges(np.zeros((0, 2), np.int64), 5)),
        ],
    ),
    Spec(
        epidemic.pair_approximation_prevalence,
        dict(rate=0.5, degree=4.0),
        sweep={"rate": (0.5, 0.6), "degree": (4.0, 6.0)},
        domains={"rate": Real(low=0.0), "degree": Real(low=2.0)},
        bad=[("rate", np.array([0.5, -0.1]))],
    ),
    Spec(
        epidemic.susceptibility_peak,
        dict(rates=np.geomspace(0.01, 1.0, 7), chi=np.array([1, 2, 4, 8, 4, 2, 1.0])),
        bad=[
            ("rates", np.geomspace(1.0, 0.01, 7)),  # decreasing
            ("rates", np.linspace(-1.0, 1.0, 7)),
            ("rates", np.array([0.1, 0.2])),
            ("rates", np.full(7, np.nan)),
            ("rates", np.ones((7, 1))),
            ("rates", "abc"),
            ("chi", np.ones(6)),
            ("chi", np.full(7, np.inf)),
            ("chi", np.ones(7, complex)),
        ],
    ),
]

EXEMPT = {
    "meshjax.epidemic.SISResult": "result class (fields documented), returned by sis",
}
