r"""The whole mesh in one simulation: combined dynamics (§5.4), routing and settlement
(§14, Prop. 14.1), recombinant variety (App. D).

One agent-based model on a growing graph of fixed capacity (static shapes, an edge-slot
mask), stepped under `lax.scan`:

1. **Arrivals** (Bianconi–Barabási, eq. 5): each step $\lfloor gN + U \rfloor$ agents
   arrive (at most `max_arrivals`); each links to $m$ present agents drawn with
   probability $\propto \eta_i k_i$ (a uniform point of the cumulative weights $\eta_i k_i$
   over the present agents; the $m$ targets distinct, drawn without replacement).
2. **Specialisation** (eqs. 9–10, the global-stimulus rule of `meshjax.specialization`):
   a worker quits with probability $p$; an idle agent draws a type and takes it with
   probability $s_j^n/(s_j^n + \theta_{ij}^n)$; thresholds move by $-\xi$/$+\varphi$.
   The stimulus of type $j$ rises with the queries of type $j$ issued ($Q_j/N$) and falls
   with the work done ($\alpha W_j/N$).
3. **Learning by doing**: $c_{ij} \leftarrow c_{ij} + \gamma(\eta_i x_{ij} - c_{ij})$: the
   capability ceiling of an agent is its fitness.
4. **Diffusion** (eq. 11): one explicit step $c \leftarrow c - \kappa L_w c$; with
   `diffusion="laplacian"` $L_w = L = D - A$ (stable for $\kappa k_{\max} < 1$), with
   `"metropolis"` (default) edge weights $1/(1 + \max(k_u, k_v))$ (stable for any
   $\kappa \le 1$ on every graph, hubs included). Both conserve $\sum_i c_{ij}$.
5. **Routing and settlement** (§14): each present agent issues a query with probability
   `query_rate`, of a uniform active type $j$. Greedy routing by capability: at agent
   $u$, if $c_{uj} \ge c_{\min}$ the query is served by $u$; otherwise it moves to the
   neighbour $v$ with the largest $c_{vj}$ if $c_{vj} > c_{uj}$ (strict ascent, so no
   cycles), else it stops (dead end); after `max_hops` moves it stops (hop limit). The
   hop count is the latency. A query served by another agent is one transaction: the
   issuer pays one unit to the server (`earned`, `paid`). A query served by its issuer
   (0 hops) is no transaction.
6. **Autocatalytic operations** (Prop. 14.1's $O(|\mathcal R| f N)$ term, a simple model):
   with `raf_ops` $= |\mathcal R| > 0$, each agent performs each operation with
   probability $f$ (`raf_f`) per step; operation $r$ needs a catalyst of its type $b_r$,
   found by the same routing; a served operation is one payment.
7. **Recombinant variety** (App. D): a pair of active types is viable when an edge joins
   a worker on one with a worker on the other; new types appear at the mean rate
   $\nu P (1 - J/J_{\max})$ per step ($P$ viable pairs, $J_{\max}$ = `type_capacity`),
   drawn by stochastic rounding ($\lfloor \text{rate} + U \rfloor$).

`simulate` records $N$, the giant fraction, $C_{\rm mesh}$ (15) over the giant component,
$\lambda_2$ (a Lanczos Ritz bound), the degree tail exponent, transactions and hops.
"""

from ._dynamics import step as step
from ._params import MeshParams as MeshParams
from ._route import Routing as Routing, route as route
from ._simulate import MeshResult as MeshResult, simulate as simulate
from ._state import (
    MeshState as MeshState,
    Tally as Tally,
    as_graph as as_graph,
    init_state as init_state,
)

__all__ = [
    "MeshParams",
    "MeshResult",
    "MeshState",
    "Routing",
    "Tally",
    "as_graph",
    "init_state",
    "route",
    "simulate",
    "step",
]
