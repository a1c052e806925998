"""meshjax: the mesh economy of distributed AI agents, simulated in JAX at scale."""

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
    percolation as percolation,
    potts as potts,
    raf as raf,
    replicator as replicator,
    specialization as specialization,
    sweep as sweep,
)
from .graph import Graph as Graph
from .sweep import Grid as Grid, Table as Table, device_mesh as device_mesh

__version__ = "0.1.0"
