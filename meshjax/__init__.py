"""meshjax: the mesh economy of distributed AI agents, simulated in JAX at scale.

The public API is what `__all__` lists: one module per model (re-exported here), the
graph substrate, the sweep engine and the result vocabulary (`RESULTS`, `is_successful`).
See docs/contract.md for the conventions every model follows.
"""

from . import (
    calibration as calibration,
    ces as ces,
    collapse as collapse,
    config as config,
    diffusion as diffusion,
    distributed as distributed,
    epidemic as epidemic,
    equilibrium as equilibrium,
    fitness as fitness,
    graph as graph,
    growth as growth,
    io as io,
    mesh as mesh,
    percolation as percolation,
    potts as potts,
    raf as raf,
    replicator as replicator,
    specialization as specialization,
    sweep as sweep,
)
from ._results import (
    RESULTS as RESULTS,
    AbstractResult as AbstractResult,
    is_successful as is_successful,
    messages as messages,
    status_code as status_code,
)
from .graph import Graph as Graph
from .sweep import Grid as Grid, Table as Table, device_mesh as device_mesh

__version__ = "0.1.0"

__all__ = [
    "AbstractResult",
    "Graph",
    "Grid",
    "RESULTS",
    "Table",
    "calibration",
    "ces",
    "collapse",
    "config",
    "device_mesh",
    "diffusion",
    "distributed",
    "epidemic",
    "equilibrium",
    "fitness",
    "graph",
    "growth",
    "io",
    "is_successful",
    "mesh",
    "messages",
    "percolation",
    "potts",
    "raf",
    "replicator",
    "specialization",
    "status_code",
    "sweep",
]
