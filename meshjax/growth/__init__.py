r"""Capability growth: the growth ODEs of §10–11, saturation, variety, the Baumol bottleneck.

The chapter's central model (22) with the saturation of (26) folded in, written for
$y = \ln C$ so that trajectories near a finite-time singularity stay representable:

$$\dot C = \frac{G}{1 + hG} - \delta C,\qquad
  G = \delta_g f^\lambda C^{\lambda+\varphi-1} J^{\gamma_J}\,\mathbf 1[\alpha>\alpha_{crit}],$$
$$\dot J = g_J J + \eta_J f_J C^{\varphi_J} (J_{max} - J)\,\mathbf 1[\alpha>\alpha_{crit}]. \quad (28)$$

With $h = 0$ the first line is (22); with $g_J = \eta_J = 0$, $J$ is constant. Solutions run
through diffrax (Tsit5, adaptive steps) with an event that stops a trajectory at a
finite-time singularity, vmap over any parameter grid (one compiled solve), and are
differentiable (used by `fit`).

What the simulation shows against the chapter (details in docs/growth.md):

- (33) drops the $-\delta C$ term of (22). With $\delta > 0$ the Bernoulli equation still
  solves exactly (`closed_form`, `blowup_time`): blow-up happens only above the unstable
  point $C_u = (\delta/a)^{1/(\Phi-1)}$, and later than $T_s$; below $C_u$, $C \to 0$.
- (32) is not a solution of (22) with growing $J$; `closed_form_exp_variety` is.
- (29) is garbled; `dceff_dJ` differentiates the CES aggregate directly for the three
  normalisations the chapter mixes ((1), (27), (31)). Whether variety raises $C_{eff}$
  depends on the normalisation and on the sign of $\rho$.
- Lemma 10.3's positive equilibrium exists only if the Perron root of $A$ exceeds $\delta$;
  otherwise every trajectory of (26) decays to 0.
- Prop. 13.1: under the Cobb–Douglas composite (40) the growth rate tends to $g_C$, not
  $g_Z$, as $\beta \to 1$ ((41) at $\beta = 1$ is $g_C$). The Baumol limit $g_Z$ needs the
  sectors to be complements (CES with $\rho_s < 0$) and $1 - \beta$ to decay slower than
  exponentially; `baumol_solve` implements both.

The package holds one idea per private file: `_params` (parameters, (24), Def. 11.1),
`_solve` (the batched diffrax solve), `_closed_forms`, `_regimes`, `_saturation` (26),
`_variety` (CES normalisations, (28)–(31)), `_baumol` (40)–(42). Every driver returns an
`eqx.Module` result with a `status` from `meshjax.RESULTS`.
"""

from ._baumol import BaumolParams, BaumolSolution, baumol_solve
from ._closed_forms import (
    blowup_time,
    closed_form,
    closed_form_exp_variety,
    singularity_time,
    steady_state,
    unstable_point,
)
from ._params import GrowthParams, beta_threshold, composite_elasticity, phi_eff
from ._regimes import (
    REGIME_A,
    REGIME_B,
    REGIME_C,
    REGIME_DECAY,
    REGIMES,
    regime_from_params,
    regime_from_trajectory,
)
from ._saturation import (
    SaturationSolution,
    perron_root,
    saturation_ceiling,
    saturation_solve,
    saturation_vector_field,
)
from ._solve import GrowthSolution, solve, vector_field
from ._variety import (
    VarietySolution,
    c_max,
    c_max_bound,
    ces_aggregate,
    dceff_dJ,
    variety_solve,
)

__all__ = [
    "REGIMES",
    "REGIME_A",
    "REGIME_B",
    "REGIME_C",
    "REGIME_DECAY",
    "GrowthParams",
    "GrowthSolution",
    "phi_eff",
    "beta_threshold",
    "composite_elasticity",
    "regime_from_params",
    "regime_from_trajectory",
    "vector_field",
    "solve",
    "closed_form",
    "closed_form_exp_variety",
    "singularity_time",
    "blowup_time",
    "unstable_point",
    "steady_state",
    "saturation_vector_field",
    "SaturationSolution",
    "saturation_solve",
    "saturation_ceiling",
    "perron_root",
    "ces_aggregate",
    "c_max_bound",
    "c_max",
    "dceff_dJ",
    "VarietySolution",
    "variety_solve",
    "BaumolParams",
    "BaumolSolution",
    "baumol_solve",
]
