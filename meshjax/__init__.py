"""meshjax: the mesh economy of distributed AI agents, simulated in JAX at scale."""

from . import graph as graph, percolation as percolation, potts as potts
from .graph import Graph as Graph

__version__ = "0.1.0"
