"""meshjax: the mesh economy of distributed AI agents, simulated in JAX at scale."""

__version__ = "0.1.0"
