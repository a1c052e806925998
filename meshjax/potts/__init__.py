r"""q-state Potts model and its Fortuin–Kasteleyn random-cluster representation, eq. (4).

$$H(s) = -\sum_{\langle ij \rangle} J_{ij}\, \delta(s_i, s_j) - \sum_i h_i(s_i),
\qquad P(s) \propto e^{-\beta H(s)},$$
with $J_{ij} = J\,w_{ij}$: $J = 1$ by default or per-edge `couplings` $J_e$ (indexed by
`graph.edge_ids`), times the graph's edge weights $w_{ij}$ (`Graph.weights`, e.g. from
`from_networkx(G, weight="weight")`), and optional random fields $h_i(s)$ (the
random-field Potts model of §15).

Files (one idea each):

* `_kernels`: spins, the class-by-class layout (`PottsModel`), the heat-bath kernel
  (and its batched form for `vmap`), the energy (written once) and the observables;
* `_classes`: the per-class gather layout (jagged diagonals + hub tail) and the
  neighbour-state counting kernel (int8 gathers, packed 8-bit counters, no scatter);
* `_cluster`: Fortuin–Kasteleyn bonds, Swendsen–Wang (written once) and the
  random-cluster measure;
* `_drivers`: `run` and `anneal` (results `PottsRun`, `AnnealResult`);
* `_bethe`: the Bethe–Peierls solution on random $d$-regular graphs (log space);
* `_statistics`: jackknife estimators and energy histograms.

Two exact Markov chains, both written for $n = 10^6$, $\langle k \rangle = 10$:
`heat_bath_sweep` (one colour class of a proper colouring at a time; a sweep costs
O(n + E)) and `swendsen_wang_sweep` (FK bonds, components, new cluster states).

Every numeric parameter (β, couplings, fields, `p`, `strength`) may be traced: `run`
works under `jax.jit` and inside `meshjax.sweep.sweep` over β. Sizes, `q` and step
counts are static.
"""

from ._bethe import (
    BetheSolution as BetheSolution,
    BetheTransitions as BetheTransitions,
    bethe_first_order_closed_form as bethe_first_order_closed_form,
    bethe_regular as bethe_regular,
    bethe_transitions as bethe_transitions,
)
from ._cluster import (
    fk_bonds as fk_bonds,
    random_cluster as random_cluster,
    swendsen_wang_sweep as swendsen_wang_sweep,
)
from ._drivers import (
    AnnealResult as AnnealResult,
    PottsRun as PottsRun,
    anneal as anneal,
    run as run,
)
from ._kernels import (
    ALGORITHMS as ALGORITHMS,
    PottsModel as PottsModel,
    PottsState as PottsState,
    energy as energy,
    heat_bath_sweep as heat_bath_sweep,
    init as init,
    order_parameter as order_parameter,
    random_field as random_field,
    spin_dtype as spin_dtype,
)
from ._statistics import (
    EnergyHistogram as EnergyHistogram,
    Estimate as Estimate,
    ThermoEstimates as ThermoEstimates,
    energy_histogram as energy_histogram,
    estimate as estimate,
)

__all__ = [
    "AnnealResult",
    "BetheSolution",
    "BetheTransitions",
    "EnergyHistogram",
    "Estimate",
    "PottsModel",
    "PottsRun",
    "PottsState",
    "ThermoEstimates",
    "anneal",
    "bethe_first_order_closed_form",
    "bethe_regular",
    "bethe_transitions",
    "energy",
    "energy_histogram",
    "estimate",
    "fk_bonds",
    "heat_bath_sweep",
    "init",
    "order_parameter",
    "random_cluster",
    "random_field",
    "run",
    "spin_dtype",
    "swendsen_wang_sweep",
]
