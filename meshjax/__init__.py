"""meshjax: the mesh economy of distributed AI agents, simulated in JAX at scale.

The public API is what `__all__` lists: one module per model, the graph substrate, the sweep
engine and the result vocabulary (`RESULTS`, `is_successful`). See docs/contract.md for the
conventions every model follows.

Submodules load on first use (PEP 562 `__getattr__`), so `import meshjax` and the
`meshjax` command's `--help` do not pay for JAX, equinox and diffrax until a model is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_MODULES = (
    "calibration",
    "ces",
    "collapse",
    "config",
    "diffusion",
    "distributed",
    "epidemic",
    "equilibrium",
    "fitness",
    "graph",
    "growth",
    "io",
    "mesh",
    "percolation",
    "potts",
    "raf",
    "replicator",
    "specialization",
    "sweep",
)
_ATTRS = {
    "AbstractResult": "._results",
    "RESULTS": "._results",
    "is_successful": "._results",
    "messages": "._results",
    "status_code": "._results",
    "Graph": ".graph",
    "Grid": ".sweep",
    "Table": ".sweep",
    "device_mesh": "._devices",
}

__all__ = sorted((*_MODULES, *_ATTRS))


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _ATTRS:
        value = getattr(importlib.import_module(_ATTRS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'meshjax' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # the re-exports, for type checkers and IDEs
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
    from ._devices import device_mesh as device_mesh
    from ._results import (
        RESULTS as RESULTS,
        AbstractResult as AbstractResult,
        is_successful as is_successful,
        messages as messages,
        status_code as status_code,
    )
    from .graph import Graph as Graph
    from .sweep import Grid as Grid, Table as Table
