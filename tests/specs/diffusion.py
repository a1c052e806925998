"""Contract specs for meshjax.diffusion (see tests/contract.py)."""

import jax.numpy as jnp
import networkx as nx
import numpy as np
from contract import Count, Real, Spec

from meshjax import diffusion, graph as mg

_G = mg.from_networkx(nx.cycle_graph(12))
_U0 = np.linspace(0.0, 1.0, 12)
_LANCZOS = dict(basis_size=Count(2), keep=Count(1), max_restarts=Count(1))
_GRAPH_BAD = [("graph", "not a graph"), ("graph", None)]


def _not_none(name, domain):
    """The bad values of a domain for a parameter whose default is None (valid)."""
    return [(name, v) for v in domain.bad_values() if v is not None]


# `tol`, `spectral_bound` and `n_terms` default to None, so their bad values are listed
# here rather than generated from `domains` (which counts None as bad); their traced
# bad values are tested in tests/test_diffusion.py (test_traced_bad_options_*).
TOL = Real(0.0, 1.0, low_open=True, high_open=True)
BOUND = Real(low=0.0, low_open=True)
_TOL_BAD = _not_none("tol", TOL)
_TERMS_BAD = _not_none("n_terms", Count(2))


def _value(res):
    return {"value": res.value, "residual": res.residual, "status": res.status._value}


SPECS = [
    Spec(
        diffusion.diffuse,
        dict(
            graph=_G,
            u0=_U0,
            times=0.5,
            tol=1e-10,
            spectral_bound=8.0,
            n_terms=32,
        ),
        sweep={
            "times": (0.5, 1.5),
            "tol": (1e-10, 1e-8),
            "spectral_bound": (8.0, 10.0),
        },
        domains={"times": Real(low=0.0)},
        bad=[
            *_TOL_BAD,
            *_TERMS_BAD,
            *_not_none("spectral_bound", BOUND),
            ("u0", np.ones(11)),
            ("u0", np.ones((12, 2, 2))),
            ("u0", np.full(12, np.nan)),
            ("u0", np.ones(12, bool)),
            ("u0", "abc"),
            ("u0", np.ones(12, complex)),
            ("times", [[1.0]]),
            ("times", [-1.0, 1.0]),
            ("times", ["a"]),
            ("spectral_bound", 1.0),  # below the largest degree: below lambda_max(L)
            *_GRAPH_BAD,
        ],
        atol=1e-9,
    ),
    Spec(
        diffusion.consensus_distance,
        dict(u=np.arange(12.0)),
        bad=[
            ("u", np.full(3, np.nan)),
            ("u", np.ones((2, 2, 2, 2))),
            ("u", np.ones(0)),
            ("u", "abc"),
            ("u", np.ones(3, bool)),
        ],
    ),
    Spec(
        diffusion.consensus_decay,
        dict(graph=_G, u0=_U0, times=np.array([0.0, 1.0]), lambda2=0.2, tol=1e-10),
        driver=True,
        sweep={"lambda2": (0.2, 0.3), "tol": (1e-10, 1e-8)},
        bad=[
            *_TOL_BAD,
            *_TERMS_BAD,
            ("lambda2", -1.0),
            ("lambda2", np.nan),
            ("lambda2", np.inf),
            ("lambda2", "0.2"),
            ("lambda2", True),
            ("times", [-1.0]),
            ("u0", np.ones(3)),
            *_GRAPH_BAD,
        ],
        atol=1e-9,
    ),
    Spec(
        diffusion.fiedler,
        dict(graph=_G, tol=1e-9),
        driver=True,
        sweep={"tol": (1e-9, 1e-7)},
        domains=_LANCZOS,
        bad=[*_TOL_BAD, ("method", "qr"), ("dtype", "int32"), *_GRAPH_BAD],
        outputs=_value,
    ),
    Spec(
        diffusion.fiedler,
        dict(graph=_G, tol=1e-9, method="lanczos", basis_size=8, keep=3),
        driver=True,
        sweep={"tol": (1e-9, 1e-7)},
        bad=_TOL_BAD,
        outputs=_value,
        atol=1e-8,
        id="meshjax.diffusion.fiedler[lanczos]",
    ),
    Spec(
        diffusion.fiedler_value,
        dict(graph=_G, tol=1e-9),
        sweep={"tol": (1e-9, 1e-7)},
        domains=_LANCZOS,
        bad=[*_TOL_BAD, ("method", "qr"), ("dtype", np.int32), *_GRAPH_BAD],
    ),
    Spec(
        diffusion.fiedler_vector,
        dict(graph=_G, tol=1e-9),
        sweep={"tol": (1e-9, 1e-7)},
        bad=[*_TOL_BAD, ("method", 3), *_GRAPH_BAD],
        outputs=lambda v: {"abs": jnp.abs(v)},
    ),
    Spec(
        diffusion.leading_adjacency,
        dict(graph=_G, tol=1e-9),
        driver=True,
        sweep={"tol": (1e-9, 1e-7)},
        domains=_LANCZOS,
        bad=[*_TOL_BAD, ("dtype", "complex64"), *_GRAPH_BAD],
        outputs=_value,
    ),
    Spec(
        diffusion.spectral_radius,
        dict(graph=_G, tol=1e-9),
        sweep={"tol": (1e-9, 1e-7)},
        bad=[*_TOL_BAD, *_GRAPH_BAD],
    ),
    Spec(
        diffusion.mesh_bandwidth,
        dict(n_nodes=100.0, mean_degree=4.0, link_capacity=1.0),
        sweep={
            "n_nodes": (100.0, 200.0),
            "mean_degree": (4.0, 6.0),
            "link_capacity": (1.0, 2.0),
        },
        domains={
            "n_nodes": Real(low=0.0),
            "mean_degree": Real(low=0.0),
            "link_capacity": Real(low=0.0),
        },
        bad=[("n_nodes", np.array([1.0, -1.0]))],
    ),
    Spec(
        diffusion.bandwidth_crossing,
        dict(hub_bandwidth=1e6, mean_degree=4.0, link_capacity=1.0),
        sweep={
            "hub_bandwidth": (1e6, 2e6),
            "mean_degree": (4.0, 6.0),
            "link_capacity": (1.0, 2.0),
        },
        domains={
            "hub_bandwidth": Real(low=0.0),
            "mean_degree": Real(low=0.0, low_open=True),
            "link_capacity": Real(low=0.0, low_open=True),
        },
    ),
]

EXEMPT = {
    "meshjax.diffusion.DecayCurve": "result class (fields documented), returned by "
    "consensus_decay",
    "meshjax.diffusion.SpectralResult": "result class (fields documented), returned by "
    "fiedler and leading_adjacency",
}
