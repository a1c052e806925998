"""Parameters of the whole-mesh simulation (every field may be traced)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Array
from .._validate import check_real, in_domain, is_traced, nan_outside

#: name -> (low, high, low_open, high_open) of each parameter's domain.
DOMAINS: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "growth": (0.0, None, False, False),
    "link_prob": (0.0, 1.0, False, False),
    "fitness_theta": (-1.0, None, True, False),
    "query_rate": (0.0, 1.0, False, False),
    "efficiency": (0.0, None, True, False),
    "steepness": (1.0, None, False, False),
    "learning": (0.0, None, False, False),
    "forgetting": (0.0, None, False, False),
    "quit_prob": (0.0, 1.0, True, False),
    "theta_min": (0.0, None, False, False),
    "theta_max": (0.0, None, True, False),
    "skill_rate": (0.0, 1.0, False, False),
    "diffusion_rate": (0.0, 1.0, False, False),
    "serve_threshold": (0.0, None, False, False),
    "rho": (None, 1.0, False, True),
    "raf_f": (0.0, 1.0, False, False),
    "variety_rate": (0.0, None, False, False),
}


class MeshParams(eqx.Module):
    r"""Numeric parameters of `meshjax.mesh` (all scalars; any may be traced).

    Attributes:
      growth: Arrivals per step per present agent ($\ge 0$): a step brings
        $\lfloor g N + U\rfloor$ new agents ($U$ uniform), at most `max_arrivals`.
      link_prob: Probability $p \in [0, 1]$ that each attachment link forms (bond
        percolation of the arrivals: §3.1's coordination probability); an arrival whose
        links all fail is isolated.
      fitness_theta: $\theta > -1$ of the fitness density $\rho(\eta) = (1 + \theta)
        (1 - \eta)^\theta$ on $(0, 1]$ ($\theta = 0$: uniform). An agent's fitness is
        both its Bianconi–Barabási attractiveness and its capability ceiling $\bar c_i$.
      query_rate: Probability that a present agent issues a query in a step, $[0, 1]$.
      efficiency: $\alpha > 0$: stimulus removed per unit of work per agent (the global
        stimulus rule of `specialization`).
      steepness: $n \ge 1$ of the response (9).
      learning: $\xi \ge 0$ of (10).
      forgetting: $\varphi \ge 0$ of (10).
      quit_prob: Probability per step that a worker stops, $(0, 1]$.
      theta_min, theta_max: Threshold bounds, $0 \le \theta_{\min} < \theta_{\max}$.
      skill_rate: $\gamma \in [0, 1]$: learning by doing,
        $c_{ij} \leftarrow c_{ij} + \gamma(\bar c_i x_{ij} - c_{ij})$.
      diffusion_rate: $\kappa \in [0, 1]$: the explicit Laplacian step of (11),
        $c \leftarrow c - \kappa L_w c$.
      serve_threshold: $c_{\min} \ge 0$: agent $i$ can serve type $j$ iff
        $c_{ij} \ge c_{\min}$ (and $c_{ij} > 0$).
      rho: CES exponent of (15), $\rho < 1$, $\rho \ne 0$.
      raf_f: $f \in [0, 1]$: probability per step and per autocatalytic operation that an
        agent performs it (only with `raf_ops > 0`).
      variety_rate: $\nu \ge 0$: new types per step per viable pair (App. D).
    """

    growth: Array
    link_prob: Array
    fitness_theta: Array
    query_rate: Array
    efficiency: Array
    steepness: Array
    learning: Array
    forgetting: Array
    quit_prob: Array
    theta_min: Array
    theta_max: Array
    skill_rate: Array
    diffusion_rate: Array
    serve_threshold: Array
    rho: Array
    raf_f: Array
    variety_rate: Array

    def __init__(
        self,
        growth=0.05,
        link_prob=1.0,
        fitness_theta=0.0,
        query_rate=1.0,
        efficiency=2.0,
        steepness=2.0,
        learning=0.5,
        forgetting=0.05,
        quit_prob=0.1,
        theta_min=0.01,
        theta_max=20.0,
        skill_rate=0.05,
        diffusion_rate=0.1,
        serve_threshold=0.2,
        rho=0.5,
        raf_f=0.0,
        variety_rate=0.0,
    ):
        values = dict(locals())
        values.pop("self")
        ok_all = None
        for name, (lo, hi, lo_open, hi_open) in DOMAINS.items():
            v = values[name]
            if is_traced(v):
                ok = in_domain(v, low=lo, high=hi, low_open=lo_open, high_open=hi_open)
                if name == "rho":
                    ok &= v != 0
                ok_all = ok if ok_all is None else ok_all & ok
            else:
                check_real(
                    name, v, low=lo, high=hi, low_open=lo_open, high_open=hi_open
                )
            values[name] = jnp.asarray(v)
        lo, hi = values["theta_min"], values["theta_max"]
        if is_traced(lo) or is_traced(hi):  # the pair's order, checked inside too
            ok_all = lo < hi if ok_all is None else ok_all & (lo < hi)
        for name in DOMAINS:
            v = values[name]
            if ok_all is not None:
                # a traced value out of its domain makes the whole parameter set NaN
                # (the driver then reports RESULTS.invalid_parameter)
                v = nan_outside(ok_all, v.astype(jnp.result_type(v, float)))
            setattr(self, name, v)
        if not is_traced(self.rho) and float(self.rho) == 0.0:
            raise ValueError("`rho`=0.0 is out of range; allowed: rho < 1, rho != 0")
        lo, hi = self.theta_min, self.theta_max
        if not (is_traced(lo) or is_traced(hi)) and not float(lo) < float(hi):
            raise ValueError(
                f"`theta_min`={float(lo)} must be < `theta_max`={float(hi)}"
            )


def params_ok(params: MeshParams) -> Array:
    """Boolean scalar: every (possibly traced) parameter is inside its domain."""
    ok = jnp.asarray(True)
    for name, (lo, hi, lo_open, hi_open) in DOMAINS.items():
        ok &= in_domain(
            getattr(params, name), low=lo, high=hi, low_open=lo_open, high_open=hi_open
        )
    ok &= params.rho != 0
    ok &= params.theta_min < params.theta_max
    return ok


def cast(params: MeshParams, dtype) -> MeshParams:
    """Every field as a `dtype` scalar (strict promotion: no mixed float widths)."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x).astype(dtype), params)
