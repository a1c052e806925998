"""Contract specs for meshjax.replicator."""

import jax.numpy as jnp
import numpy as np
from contract import Count, Real, Spec

from meshjax import replicator as R

_ADJ = np.zeros((6, 6), bool)
for _j, _i in [(0, 1), (1, 2), (2, 0), (2, 3), (4, 5)]:
    _ADJ[_i, _j] = True
ADJ = jnp.asarray(_ADJ)


def _run_outputs(run):
    return {
        "adjacency": run.adjacency.astype(jnp.int32),
        "lambda1": run.record.lambda1,
        "acs_size": run.record.acs_size,
        "n_links": run.record.n_links,
        "removed": run.record.removed,
    }


_BAD_ADJ = [
    ("adjacency", np.zeros((3, 4), bool)),
    ("adjacency", np.ones((3, 3))),
    ("adjacency", np.zeros((1, 1), bool)),
]

SPECS = [
    Spec(
        R.random_catalytic_matrix,
        {"key": 0, "n_types": 6, "p": 0.3},
        key=True,
        sweep={"p": (0.2, 0.6)},
        domains={"p": Real(low=0.0, high=1.0), "n_types": Count(low=2)},
        outputs=lambda c: {"c": c.astype(jnp.int32)},
    ),
    Spec(
        R.attractor,
        {"adjacency": ADJ},
        domains={"n_squarings": Count(low=1)},
        bad=_BAD_ADJ,
    ),
    Spec(
        R.jk_rhs,
        {"x": jnp.full(6, 1 / 6), "adjacency": ADJ},
        bad=[("x", np.ones(5)), ("x", np.ones((6, 1))), *_BAD_ADJ],
    ),
    Spec(
        R.replicator_rhs_19,
        {"c": jnp.full(6, 1 / 6), "adjacency": ADJ},
        bad=[("c", np.ones(5)), ("c", "abc"), *_BAD_ADJ],
    ),
    Spec(
        R.jain_krishna_step,
        {"key": 0, "adjacency": ADJ, "p": 0.3},
        key=True,
        driver=True,
        sweep={"p": (0.2, 0.5)},
        domains={"p": Real(low=0.0, high=1.0)},
        bad=_BAD_ADJ,
        outputs=_run_outputs,
    ),
    Spec(
        R.jain_krishna,
        {"key": 0, "n_types": 6, "p": 0.3, "n_steps": 3},
        key=True,
        driver=True,
        sweep={"p": (0.2, 0.5)},
        domains={
            "p": Real(low=0.0, high=1.0),
            "n_types": Count(low=2),
            "n_steps": Count(low=1),
        },
        bad=[("initial", np.zeros((4, 4), bool))],
        outputs=_run_outputs,
    ),
]

EXEMPT = {
    "meshjax.replicator.Attractor": "result container of attractor (x, lambda1)",
    "meshjax.replicator.JKRecord": "record container of one Jain–Krishna update",
    "meshjax.replicator.JKRun": "result container of jain_krishna / jain_krishna_step",
}
