"""Contract specs for meshjax.potts (see tests/contract.py)."""

from __future__ import annotations

import numpy as np
from contract import Count, Real, Spec

from meshjax import potts
from meshjax.graph import random_regular

_G = random_regular(0, 12, 3)
_SPINS = np.arange(12, dtype=np.int32) % 3
_BAD_SPINS = np.full(12, 3, np.int32)
_SERIES = np.linspace(-1.0, -0.5, 20)
_M = np.linspace(0.1, 0.6, 20)


def _series(r):
    return {"energy": r.energy, "m": r.m}


SPECS = [
    Spec(
        potts.init,
        dict(key=0, graph=_G, q=3),
        key=True,
        domains={"q": Count(2)},
        bad=[("ordered", "yes"), ("graph", "g")],
    ),
    Spec(potts.spin_dtype, dict(q=3), domains={"q": Count(1)}),
    Spec(
        potts.heat_bath_sweep,
        dict(key=0, graph=_G, spins=_SPINS, beta=0.5, q=3),
        key=True,
        sweep={"beta": (0.3, 0.9)},
        domains={"beta": Real(low=0.0), "q": Count(2)},
        bad=[
            ("spins", _BAD_SPINS),
            ("spins", _SPINS[:5]),
            ("spins", _SPINS.astype(float)),
            ("colouring", np.zeros(12, np.int32)),
            ("field", np.zeros((12, 4))),
            ("couplings", np.ones(3)),
            ("couplings", np.nan),
        ],
    ),
    Spec(
        potts.swendsen_wang_sweep,
        dict(key=0, graph=_G, spins=_SPINS, beta=0.5, q=3),
        key=True,
        sweep={"beta": (0.3, 0.9)},
        domains={"beta": Real(low=0.0), "q": Count(2)},
        bad=[("spins", _BAD_SPINS), ("couplings", -1.0), ("field", np.ones(12))],
    ),
    Spec(
        potts.fk_bonds,
        dict(key=0, graph=_G, spins=_SPINS, beta=0.5),
        key=True,
        sweep={"beta": (0.3, 0.9)},
        domains={"beta": Real(low=0.0)},
        bad=[("spins", -_SPINS - 1), ("couplings", -1.0)],
    ),
    Spec(
        potts.random_cluster,
        dict(key=0, graph=_G, q=2, p=0.3, n_steps=2),
        key=True,
        sweep={"p": (0.2, 0.6)},
        domains={
            "p": Real(0.0, 1.0, high_open=True),
            "q": Count(1),
            "n_steps": Count(1),
        },
    ),
    Spec(
        potts.energy,
        dict(graph=_G, spins=_SPINS),
        bad=[
            ("spins", -_SPINS - 1),
            ("spins", _SPINS[:3]),
            ("couplings", np.nan),
            ("couplings", np.ones(2)),
            ("field", np.full((12, 3), np.inf)),
        ],
    ),
    Spec(
        potts.order_parameter,
        dict(spins=_SPINS, q=3),
        domains={"q": Count(2)},
        bad=[("spins", _BAD_SPINS), ("spins", np.zeros((2, 2), np.int32))],
    ),
    Spec(
        potts.random_field,
        dict(key=0, n_nodes=12, q=3, strength=0.5),
        key=True,
        sweep={"strength": (0.2, 1.0)},
        domains={"strength": Real(low=0.0), "n_nodes": Count(1), "q": Count(2)},
        bad=[("kind", "cauchy")],
    ),
    Spec(
        potts.run,
        dict(key=0, graph=_G, q=3, beta=0.5, n_steps=3, n_burn=1, couplings=1.0),
        key=True,
        driver=True,
        sweep={"beta": (0.3, 0.9), "couplings": (0.5, 1.5)},
        domains={
            "beta": Real(low=0.0),
            "q": Count(2),
            "n_steps": Count(1),
            "n_burn": Count(0),
            "record_every": Count(1, high=3),
            "replicas": Count(1),
        },
        bad=[
            ("algorithm", "metropolis"),
            ("couplings", np.ones(2)),
            ("spins", _BAD_SPINS),
            ("ordered", 1),
        ],
        outputs=_series,
    ),
    Spec(
        potts.anneal,
        dict(key=0, graph=_G, q=3, betas=0.5, n_steps=2),
        key=True,
        driver=True,
        sweep={"betas": (0.3, 0.9)},
        domains={"betas": Real(low=0.0), "q": Count(2), "n_steps": Count(1)},
        bad=[("betas", np.zeros((2, 2))), ("betas", []), ("algorithm", "x")],
        outputs=lambda r: {"m": r.m_cool, "e": r.energy_heat},
    ),
    Spec(
        potts.bethe_regular,
        dict(beta=0.8, d=4, q=3, coupling=1.0),
        driver=True,
        sweep={"beta": (0.5, 1.2), "coupling": (1.0, 0.7)},
        domains={
            "beta": Real(low=0.0),
            "coupling": Real(low=0.0, low_open=True),
            "d": Count(3),
            "q": Count(2),
        },
    ),
    Spec(
        potts.bethe_transitions,
        dict(d=4, q=3, coupling=1.0),
        driver=True,
        sweep={"coupling": (1.0, 2.0)},
        domains={
            "coupling": Real(low=0.0, low_open=True),
            "d": Count(3),
            "q": Count(2),
        },
    ),
    Spec(
        potts.bethe_first_order_closed_form,
        dict(d=4, q=3),
        domains={"d": Count(3), "q": Count(2)},
    ),
    Spec(
        potts.estimate,
        dict(energy=_SERIES, m=_M, n_nodes=10, beta=0.5, n_blocks=4),
        driver=True,
        sweep={"beta": (0.5, 1.0)},
        domains={"beta": Real(low=0.0), "n_nodes": Count(1), "n_blocks": Count(2)},
        bad=[
            ("m", _M[:5]),
            ("energy", np.full(20, np.nan)),
            ("energy", np.zeros((2, 2, 2))),
            ("n_blocks", 50),
        ],
    ),
    Spec(
        potts.energy_histogram,
        dict(energy=_SERIES, bins=5),
        domains={"bins": Count(1)},
        bad=[("energy", []), ("energy", [np.nan]), ("range", (1.0, 0.0))],
    ),
]

_RESULT = "a result/state class (an eqx.Module built by its function), no parameters"
EXEMPT = {
    "meshjax.potts._drivers.PottsRun": _RESULT,
    "meshjax.potts._drivers.AnnealResult": _RESULT,
    "meshjax.potts._bethe.BetheSolution": _RESULT,
    "meshjax.potts._bethe.BetheTransitions": _RESULT,
    "meshjax.potts._statistics.Estimate": _RESULT,
    "meshjax.potts._statistics.ThermoEstimates": _RESULT,
    "meshjax.potts._statistics.EnergyHistogram": _RESULT,
    "meshjax.potts._kernels.PottsState": _RESULT,
    "meshjax.potts._kernels.PottsModel": (
        "a prepared layout; built and validated by PottsModel.build (covered through "
        "run/heat_bath_sweep specs)"
    ),
}
