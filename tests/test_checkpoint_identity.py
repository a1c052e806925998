"""Checkpoint identity of sweep functions that close over opaque callables."""

import jax.numpy as jnp
import numpy as np

from meshjax.sweep._store import fn_identity


def _closing_over(g):
    def f(key, a):
        return {"y": g(a)}

    return f


def test_closures_over_different_ufuncs_or_jitted_functions_differ():
    # ufuncs have no attributes and no pytree leaves: they once hashed by type alone
    assert fn_identity(_closing_over(np.sin)) != fn_identity(_closing_over(np.cos))
    assert fn_identity(_closing_over(jnp.sin)) != fn_identity(_closing_over(jnp.cos))
    # and the identity is still stable for equal closures
    assert fn_identity(_closing_over(np.sin)) == fn_identity(_closing_over(np.sin))
    assert fn_identity(_closing_over(jnp.sin)) == fn_identity(_closing_over(jnp.sin))
