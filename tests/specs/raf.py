"""Contract specs for meshjax.raf."""

import jax.numpy as jnp
import numpy as np
from contract import Count, Real, Spec

from meshjax import raf

_REA = np.zeros((3, 5), bool)
_CAT = np.zeros((3, 5), bool)
_PRO = np.zeros((3, 5), bool)
for _i, (_a, _c, _b) in enumerate(
    [([0, 1], [0], [2]), ([2], [1], [3]), ([3], [4], [4])]
):
    _REA[_i, _a] = True
    _CAT[_i, _c] = True
    _PRO[_i, _b] = True
_FOOD = np.array([True, True, False, False, False])
SYSTEM = raf.ReactionSystem.from_dense(_REA, _CAT, _PRO, _FOOD)
FIELDS = {
    "reactants": SYSTEM.reactants,
    "products": SYSTEM.products,
    "catalyst_types": SYSTEM.catalyst_types,
    "catalyst_reactions": SYSTEM.catalyst_reactions,
    "food": SYSTEM.food,
}
_MESH = raf.mesh_operations_levels(0, 6, 8, 0.5, n_food=2, max_catalysed=9)
MESH, LEVELS = _MESH.system, _MESH.levels
MASK = jnp.ones(3, bool)
N3_REACTIONS = raf.binary_polymer_size(3).n_reactions  # 40


def _levels_outputs(res):
    return {"levels": res.levels, "cr": res.system.catalyst_reactions}


def _system_outputs(system):
    return {"ct": system.catalyst_types, "cr": system.catalyst_reactions}


SPECS = [
    Spec(
        raf.ReactionSystem,
        FIELDS,
        bad=[
            ("food", jnp.zeros(5, bool)),
            ("catalyst_types", jnp.array([7, 0, 0], jnp.int32)),
            ("catalyst_reactions", jnp.array([9, 0, 0], jnp.int32)),
            ("reactants", jnp.full((3, 2), 9, jnp.int32)),
        ],
    ),
    Spec(raf.max_raf, {"system": SYSTEM}, bad=[("system", np.zeros(3))]),
    Spec(
        raf.closure,
        {"system": SYSTEM, "reaction_mask": MASK},
        bad=[("reaction_mask", np.ones(2, bool)), ("reaction_mask", np.ones(3))],
    ),
    Spec(
        raf.is_raf,
        {"system": SYSTEM, "reaction_mask": MASK},
        bad=[("reaction_mask", np.ones(4, bool)), ("system", None)],
    ),
    Spec(
        raf.thin_catalysis,
        {"system": MESH, "levels": LEVELS, "level": 0.3},
        sweep={"level": (0.2, 0.4)},
        domains={"level": Real(low=0.0)},
        bad=[("levels", LEVELS[:3]), ("levels", -LEVELS)],
        outputs=_system_outputs,
    ),
    Spec(
        raf.raf_threshold,
        {"system": MESH, "levels": LEVELS},
        domains={"batch_size": Count(low=1)},
        bad=[("levels", LEVELS[:3]), ("system", "x")],
    ),
    Spec(raf.binary_polymer_size, {"n": 3}, domains={"n": Count(low=2, high=16)}),
    Spec(
        raf.binary_polymer_levels,
        {"key": 0, "n": 3, "f_max": 2.0, "max_catalysed": 30},
        key=True,
        driver=True,
        sweep={"f_max": (1.0, 3.0)},
        domains={
            "f_max": Real(low=0.0, high=float(N3_REACTIONS)),
            "n": Count(low=2, high=16),
        },
        bad=[("food_length", 3), ("food_length", 0), ("max_catalysed", 0)],
        outputs=_levels_outputs,
    ),
    Spec(
        raf.binary_polymer,
        {"key": 0, "n": 3, "f": 2.0, "max_catalysed": 30},
        key=True,
        sweep={"f": (1.0, 3.0)},
        domains={"f": Real(low=0.0, high=float(N3_REACTIONS)), "n": Count(low=2)},
        bad=[("f", 500.0), ("reversible", 1)],
        outputs=_system_outputs,
    ),
    Spec(
        raf.mesh_operations_levels,
        {
            "key": 0,
            "n_types": 6,
            "n_ops": 8,
            "p_max": 0.5,
            "n_food": 2,
            "max_catalysed": 9,
        },
        key=True,
        driver=True,
        sweep={"p_max": (0.3, 0.6)},
        domains={
            "p_max": Real(low=0.0, high=1.0),
            "n_types": Count(low=2),
            "n_ops": Count(low=1),
        },
        bad=[("n_food", 0), ("n_food", 6), ("n_inputs", 0)],
        outputs=_levels_outputs,
    ),
    Spec(
        raf.mesh_operations,
        {"key": 0, "n_types": 6, "n_ops": 8, "p": 0.5, "n_food": 2, "max_catalysed": 9},
        key=True,
        sweep={"p": (0.3, 0.6)},
        domains={"p": Real(low=0.0, high=1.0), "n_outputs": Count(low=1)},
        outputs=_system_outputs,
    ),
    Spec(
        raf.catalysis_probability,
        {"n_agents": 10.0, "beta_t": 0.1},
        sweep={"n_agents": (10.0, 20.0), "beta_t": (0.1, 0.01)},
        domains={"n_agents": Real(low=0.0), "beta_t": Real(low=0.0, high=1.0)},
    ),
    Spec(
        raf.agents_for_probability,
        {"p": 0.5, "beta_t": 0.1},
        sweep={"p": (0.5, 0.9), "beta_t": (0.1, 0.01)},
        domains={
            "p": Real(low=0.0, high=1.0),
            "beta_t": Real(low=0.0, high=1.0, low_open=True, high_open=True),
        },
    ),
]

EXEMPT = {
    "meshjax.raf.CatalysisLevels": (
        "result container of binary_polymer_levels / mesh_operations_levels"
    ),
    "meshjax.raf.PolymerSize": "result container of binary_polymer_size (two ints)",
}
