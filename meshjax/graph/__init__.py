"""The graph substrate: the `Graph` pytree, generators, sparse ops, components,
colourings and conversions."""

from ._graph import Graph as Graph
from .colouring import (
    ColourClasses as ColourClasses,
    check_colouring as check_colouring,
    colour_classes as colour_classes,
    colouring as colouring,
)
from .components import (
    GiantComponent as GiantComponent,
    component_sizes as component_sizes,
    connected_components as connected_components,
    giant_component as giant_component,
    giant_component_fraction as giant_component_fraction,
)
from .generators import (
    barabasi_albert as barabasi_albert,
    erdos_renyi as erdos_renyi,
    lattice as lattice,
    power_law as power_law,
    random_regular as random_regular,
)
from .interop import (
    LabelledGraph as LabelledGraph,
    from_edges as from_edges,
    from_networkx as from_networkx,
    from_pairs as from_pairs,
    from_scipy as from_scipy,
    to_edges as to_edges,
    to_networkx as to_networkx,
    to_scipy as to_scipy,
)
from .ops import (
    count_neighbor_states as count_neighbor_states,
    laplacian_matvec as laplacian_matvec,
    neighbor_sum as neighbor_sum,
    with_layout as with_layout,
)
from .sharding import (
    padded_slot_count as padded_slot_count,
    replicate as replicate,
    shard_edges as shard_edges,
    shard_graph as shard_graph,
    shard_slots as shard_slots,
)

__all__ = [
    "ColourClasses",
    "GiantComponent",
    "Graph",
    "LabelledGraph",
    "barabasi_albert",
    "check_colouring",
    "colour_classes",
    "colouring",
    "component_sizes",
    "connected_components",
    "count_neighbor_states",
    "erdos_renyi",
    "from_edges",
    "from_networkx",
    "from_pairs",
    "from_scipy",
    "giant_component",
    "giant_component_fraction",
    "lattice",
    "laplacian_matvec",
    "neighbor_sum",
    "padded_slot_count",
    "power_law",
    "random_regular",
    "replicate",
    "shard_edges",
    "shard_graph",
    "shard_slots",
    "to_edges",
    "to_networkx",
    "to_scipy",
    "with_layout",
]
