"""Contract specs for meshjax.graph (see tests/contract.py).

Graph construction fixes array shapes, so sizes, degrees and `mean_degree` (it fixes the
number of edge slots) are static; the only traceable generator parameter is
`power_law`'s `gamma`.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp
from contract import Count, Real, Spec

from meshjax import graph as G

_G = G.random_regular(0, 12, 3)
_X = np.linspace(0.0, 1.0, 12)
_E = np.array([[0, 1], [1, 2], [2, 3]])
_S = np.arange(12, dtype=np.int32) % 3
_COL = np.asarray(G.colouring(0, _G))
_NX = nx.path_graph(5)
_A = sp.csr_array(np.array([[0, 1.0, 0], [1.0, 0, 2.0], [0, 2.0, 0]]))


def _graph_arrays(g):
    return {"s": g.senders, "r": g.receivers, "m": g.edge_mask}


SPECS = [
    Spec(
        G.erdos_renyi,
        dict(key=0, n_nodes=20, mean_degree=3.0),
        key=True,
        domains={"n_nodes": Count(2), "mean_degree": Real(low=0.0)},
        bad=[("mean_degree", 50.0)],
        outputs=_graph_arrays,
    ),
    Spec(
        G.power_law,
        dict(key=0, n_nodes=20, gamma=2.5, mean_degree=3.0),
        key=True,
        sweep={"gamma": (2.5, 3.0)},
        domains={
            "gamma": Real(low=2.0, low_open=True),
            "n_nodes": Count(2),
            "mean_degree": Real(low=0.0, low_open=True),
        },
        outputs=_graph_arrays,
    ),
    Spec(
        G.barabasi_albert,
        dict(key=0, n_nodes=12, m=2),
        key=True,
        domains={"n_nodes": Count(2), "m": Count(1)},
        bad=[("m", 11)],
        outputs=_graph_arrays,
    ),
    Spec(
        G.random_regular,
        dict(key=0, n_nodes=12, degree=3),
        key=True,
        domains={"n_nodes": Count(1), "degree": Count(0)},
        bad=[("degree", 12), ("n_nodes", 11)],
        outputs=_graph_arrays,
    ),
    Spec(
        G.lattice,
        dict(shape=(3, 4)),
        bad=[("shape", (2, 5)), ("shape", ()), ("shape", (3, 0)), ("shape", (3, 2.5))],
    ),
    Spec(G.colouring, dict(key=0, graph=_G), key=True, bad=[("graph", "g")]),
    Spec(
        G.check_colouring,
        dict(graph=_G, colouring=_COL),
        bad=[
            ("colouring", np.zeros(12, np.int32)),
            ("colouring", _COL[:3]),
            ("colouring", -np.ones(12, np.int32)),
            ("colouring", _COL.astype(float)),
        ],
    ),
    Spec(
        G.colour_classes,
        dict(colours=_COL, num_colours=int(_COL.max()) + 1),
        domains={"num_colours": Count(1)},
        bad=[("colours", _COL + 10), ("colours", _COL.astype(float))],
    ),
    Spec(G.connected_components, dict(graph=_G), bad=[("edge_mask", np.ones(3, bool))]),
    Spec(
        G.component_sizes,
        dict(labels=np.zeros(4, np.int32)),
        bad=[("labels", np.zeros((2, 2), np.int32))],
    ),
    Spec(G.giant_component_fraction, dict(graph=_G)),
    Spec(G.giant_component, dict(graph=_G), bad=[("graph", 3)]),
    Spec(G.neighbor_sum, dict(graph=_G, x=_X), bad=[("x", _X[:3])]),
    Spec(G.laplacian_matvec, dict(graph=_G, x=_X), bad=[("x", np.ones(3))]),
    Spec(
        G.count_neighbor_states,
        dict(graph=_G, states=_S, q=3),
        domains={"q": Count(1)},
        bad=[
            ("states", _S + 3),
            ("states", -_S - 1),
            ("states", _S.astype(float)),
            ("weights", np.ones(3)),
        ],
    ),
    Spec(
        G.with_layout,
        dict(graph=_G, policy="always", max_columns=4),
        domains={"max_columns": Count(1)},
        bad=[("policy", "sometimes"), ("graph", np.zeros(3))],
        outputs=_graph_arrays,
    ),
    Spec(
        G.from_pairs,
        dict(src=_E[:, 0], dst=_E[:, 1], n_nodes=4),
        domains={"n_nodes": Count(1, high=2**31 - 1)},
        bad=[("dst", np.array([1, 2])), ("src", np.zeros((3, 1), np.int32))],
        outputs=_graph_arrays,
    ),
    Spec(
        G.from_edges,
        dict(edges=_E, n_nodes=4),
        domains={"n_nodes": Count(1, high=2**31 - 1)},
        bad=[
            ("edges", np.array([[0, 0]])),
            ("edges", np.array([[0, 1], [1, 0]])),
            ("edges", np.array([[0, 9]])),
            ("edges", np.array([0.5, 1.0])),
            ("weights", np.ones(2)),
            ("weights", np.array([1.0, np.inf, 1.0])),
            ("capacity", 1),
            ("dedupe", "yes"),
        ],
    ),
    Spec(
        G.from_networkx,
        dict(nx_graph=_NX),
        bad=[
            ("nx_graph", nx.DiGraph([(0, 1)])),
            ("nx_graph", nx.Graph([(0, 0)])),
            ("nx_graph", nx.Graph()),
            ("weight", 3),
            ("symmetrize", "yes"),
            ("return_labels", 1),
        ],
    ),
    Spec(
        G.from_scipy,
        dict(matrix=_A),
        bad=[
            ("matrix", np.array([[0, 1.0], [0, 0]])),
            ("matrix", np.eye(3)),
            ("matrix", np.ones((2, 3))),
            ("weighted", "yes"),
        ],
    ),
    Spec(G.to_edges, dict(graph=_G)),
    Spec(G.to_scipy, dict(graph=_G)),
    Spec(G.to_networkx, dict(graph=_G)),
    Spec(
        G.padded_slot_count,
        dict(n_slots=10, n_devices=4),
        domains={"n_slots": Count(0), "n_devices": Count(1)},
        bad=[("n_slots", 3)],
    ),
    Spec(G.shard_graph, dict(graph=_G), bad=[("graph", 3), ("mesh", "m")]),
    Spec(
        G.shard_edges,
        dict(edges=_E, n_nodes=4),
        domains={"n_nodes": Count(1, high=2**31 - 1)},
        bad=[("edges", np.array([[0, 0]])), ("axis", "")],
    ),
    Spec(
        G.shard_slots,
        dict(values=np.ones(_G.n_slots), graph=G.shard_graph(_G)),
        bad=[("values", np.ones(1000)), ("graph", _G)],
    ),
    Spec(G.replicate, dict(x=_X), bad=[("mesh", "m")]),
]

_CLASS = "a pytree container built by the functions above, no parameters to check"
EXEMPT = {
    "meshjax.graph._graph.Graph": (
        "the graph pytree; validated by __check_init__, built by generators/interop"
    ),
    "meshjax.graph.components.GiantComponent": _CLASS,
    "meshjax.graph.interop.LabelledGraph": _CLASS,
    "meshjax.graph.colouring.ColourClasses": _CLASS,
}
