"""Contract specs for meshjax.percolation."""

import jax.numpy as jnp
import numpy as np
from contract import Count, Real, Spec

from meshjax import graph as G, percolation as P

_RING = np.stack([np.arange(20), (np.arange(20) + 1) % 20], axis=1)
_CHORDS = np.stack([np.arange(0, 20, 2), (np.arange(0, 20, 2) + 7) % 20], axis=1)
GRAPH = G.from_edges(np.concatenate([_RING, _CHORDS]), 20)

SPECS = [
    Spec(
        P.r0_mesh,
        {"n_nodes": 100.0, "beta": 0.1, "value": 0.5, "attrition": 2.0},
        sweep={
            "n_nodes": (100.0, 200.0),
            "beta": (0.1, 0.2),
            "value": (0.5, 1.0),
            "attrition": (2.0, 1.0),
        },
        domains={
            "n_nodes": Real(low=0.0, low_open=True),
            "beta": Real(low=0.0, high=1.0),
            "value": Real(low=0.0),
            "attrition": Real(low=0.0, low_open=True),
        },
    ),
    Spec(
        P.giant_component_fraction_theory,
        {"r0": 2.0},
        sweep={"r0": (1.5, 3.0)},
        domains={"r0": Real(low=0.0)},
        bad=[("r0", np.array(["a"]))],
    ),
    Spec(
        P.bond_percolation,
        {"key": 0, "graph": GRAPH, "p": 0.5},
        key=True,
        sweep={"p": (0.3, 0.7)},
        domains={"p": Real(low=0.0, high=1.0)},
        bad=[("graph", np.zeros((3, 2))), ("p", np.full(3, 0.5))],
        outputs=lambda m: {"kept": m.astype(jnp.int32)},
    ),
    Spec(
        P.giant_fraction_sweep,
        {"key": 0, "graph": GRAPH, "ps": 0.5, "replicas": 2},
        key=True,
        driver=True,
        sweep={"ps": (0.3, 0.8)},
        domains={"ps": Real(low=0.0, high=1.0), "replicas": Count(low=1)},
        bad=[("ps", np.zeros((2, 2))), ("ps", np.zeros(0))],
    ),
]

EXEMPT = {
    "meshjax.percolation.PercolationSweep": (
        "result container of giant_fraction_sweep, built by keyword inside the driver"
    ),
}
