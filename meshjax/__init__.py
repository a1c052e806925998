"""meshjax: the mesh economy of distributed AI agents, simulated in JAX at scale."""

from . import (
    ces as ces,
    equilibrium as equilibrium,
    graph as graph,
    percolation as percolation,
    potts as potts,
    specialization as specialization,
)
from .graph import Graph as Graph

__version__ = "0.1.0"
