"""meshjax: the mesh economy of distributed AI agents, simulated in JAX at scale."""

from . import (
    calibration as calibration,
    ces as ces,
    collapse as collapse,
    equilibrium as equilibrium,
    fitness as fitness,
    graph as graph,
    growth as growth,
    percolation as percolation,
    potts as potts,
    raf as raf,
    replicator as replicator,
    specialization as specialization,
)
from .graph import Graph as Graph

__version__ = "0.1.0"
