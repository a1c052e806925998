"""Contract specs for meshjax.mesh (tiny sizes: a 30-agent mesh, a few steps)."""

import functools

import numpy as np
from contract import Count, Real, Spec

from meshjax import mesh as mm
from meshjax.mesh._params import DOMAINS


@functools.cache
def _state():
    """One small state shared by the specs that take one (states are immutable)."""
    return mm.init_state(0, n_agents=30, n_types=2, max_hops=3)


_PARAM_DOMAINS = {
    name: Real(low=lo, high=hi, low_open=lo_open, high_open=hi_open)
    for name, (lo, hi, lo_open, hi_open) in DOMAINS.items()
}

SPECS = [
    Spec(
        fn=mm.MeshParams,
        args={"growth": 0.05, "query_rate": 1.0, "rho": 0.5},
        sweep={"growth": (0.05, 0.1), "query_rate": (0.5, 1.0), "rho": (0.5, -0.5)},
        domains=_PARAM_DOMAINS,
        bad=[("rho", 0.0), ("theta_min", 30.0)],
    ),
    Spec(
        fn=mm.simulate,
        args={
            "key": 0,
            "params": mm.MeshParams(),
            "n_agents": 30,
            "n_steps": 4,
            "record_every": 2,
            "n_types": 2,
            "max_hops": 3,
        },
        key=True,
        driver=True,
        # every numeric parameter lives in `params` (a MeshParams pytree: sweep it with
        # jax.vmap over stacked MeshParams, as the `mesh` experiment does)
        sweep={},
        domains={
            "n_agents": Count(low=3),
            "n_steps": Count(low=1),
            "record_every": Count(low=1),
            "max_hops": Count(low=1),
        },
        bad=[
            ("params", "fast"),
            ("record_every", 3),
            ("diffusion", "exact"),
            ("lambda2_every", 3),
            ("n_types", 1),
        ],
    ),
    Spec(
        fn=mm.init_state,
        args={"key": 0, "params": mm.MeshParams(), "n_agents": 30, "n_types": 2},
        key=True,
        domains={"n_agents": Count(low=3), "n_types": Count(low=2)},
        bad=[("diffusion", "exact"), ("n_init", 40), ("type_capacity", 1)],
    ),
    Spec(
        fn=mm.step,
        args={"key": 0, "state": _state(), "params": mm.MeshParams()},
        key=True,
        bad=[("state", None), ("params", 1.0)],
    ),
    Spec(
        fn=mm.route,
        args={
            "state": _state(),
            "sources": np.arange(4),
            "types": np.zeros(4, np.int32),
            "serve_threshold": 0.2,
        },
        driver=True,
        sweep={"serve_threshold": (0.0, 0.3)},
        domains={"serve_threshold": Real(low=0.0)},
        bad=[("sources", np.array([30])), ("types", np.array([0, 0, 0, 2]))],
    ),
    Spec(fn=mm.as_graph, args={"state": _state()}),
]

EXEMPT = {
    "meshjax.mesh._state.MeshState": "state pytree built by init_state and step; its "
    "fields are arrays produced there, not user input",
    "meshjax.mesh._state.Tally": "counters inside MeshState, built by the model only",
    "meshjax.mesh._simulate.MeshResult": "result class returned by simulate (built by "
    "keyword there)",
    "meshjax.mesh._route.Routing": "result class returned by route (built by keyword)",
}
