r"""One result vocabulary: every driver returns an `eqx.Module` with a `status` from `RESULTS`.

`RESULTS` is an `equinox.Enumeration` (diffrax's `RESULTS` is the same idea): each member
carries the message a user reads. A status is a pytree (one int32 array leaf), so it goes
through `jit`, `vmap` and `sweep` like any other field, one value per batch element. Compare
it with members (`res.status == RESULTS.successful`), read its message on the host with
`RESULTS[res.status]` (a single status) or `messages(res.status)` (any shape), and turn it
into plain int codes for tables with `status_code`.

Outcomes that are answers, not failures — a finite-time blow-up that ends a growth
trajectory, a disconnected graph whose λ2 is exactly 0 — count as successful for
`is_successful`; the status still says which outcome it was.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "RESULTS",
    "AbstractResult",
    "is_successful",
    "messages",
    "status_code",
]


class RESULTS(eqx.Enumeration):
    """Status of a driver's result, one member per way a computation can end.

    Members (message in brackets): `successful` (""), `blowup` (finite-time blow-up
    reached), `disconnected` (graph disconnected, λ2 = 0), `invalid_parameter` (a traced
    parameter outside its domain), `nonfinite` (NaN or inf appeared), `overflow` (a state
    variable left the floating-point range), `max_steps_reached`, `solver_failed`,
    `not_converged`, `stalled` (a growth arrival found no distinct targets),
    `capacity_exceeded` (sampled data larger than a fixed-size buffer).
    """

    successful = ""
    blowup = (
        "the trajectory reached its finite-time blow-up (an outcome, not a failure: the "
        "trajectory ends at the singularity)"
    )
    disconnected = "the graph is disconnected, so its Fiedler value is exactly 0"
    invalid_parameter = (
        "a parameter was outside its domain (a traced value, checked inside the "
        "computation); numeric outputs are NaN"
    )
    nonfinite = "NaN or inf appeared in the computation"
    overflow = "a state variable overflowed the floating-point range"
    max_steps_reached = "the step limit was reached before the end time"
    solver_failed = "the ODE solver failed (step size collapsed or nonfinite state)"
    not_converged = "the iteration did not converge within its limits"
    stalled = (
        "an arrival could not find its distinct targets within the redraw limit; the "
        "graph is invalid"
    )
    capacity_exceeded = (
        "the sampled data did not fit a fixed-size buffer (e.g. `max_catalysed`); "
        "outputs are NaN: rerun with a larger capacity"
    )


#: Statuses that mean the result is an answer (not a failure).
_OK = ("successful", "blowup", "disconnected")


def where_status(pred: Any, on_true: RESULTS, on_false: RESULTS) -> RESULTS:
    """Element-wise `RESULTS.where` for a predicate of any shape (equinox's needs a scalar).

    The result has the broadcast shape of `pred` and both statuses; every model builds its
    per-element statuses with it.
    """
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def _status_of(x: Any):
    s = x.status if hasattr(x, "status") else x
    if getattr(s, "_enumeration", None) is not RESULTS:
        raise TypeError(
            f"`x` must be a meshjax.RESULTS status or a result with a `status`, got "
            f"{type(x).__name__}"
        )
    return s


def status_code(x: Any) -> jax.Array:
    """The int32 code of a status (or of a result's `status`), any batch shape.

    Codes are the members' positions in `RESULTS` (successful = 0); tables store them.
    """
    s = _status_of(x)
    return jnp.asarray(s._value, dtype=jnp.int32)


def is_successful(x: Any) -> jax.Array:
    """Boolean array: the status (or a result's status) is an answer, not a failure.

    True for `successful`, `blowup` and `disconnected`; works under `jit` and on batches.
    """
    s = _status_of(x)
    ok = jnp.zeros(jnp.shape(s._value), dtype=bool)
    for name in _OK:
        ok = ok | (s == getattr(RESULTS, name))
    return ok


def status_name(code: Any) -> str:
    """The `RESULTS` member name of an integer status code (as tables store it)."""
    return list(RESULTS._name_to_item)[int(code)]  # member order = codes


def messages(x: Any) -> np.ndarray:
    """The message of every status in `x` (host side), as a NumPy array of strings."""
    codes = np.asarray(status_code(x))
    names = np.asarray(list(RESULTS._name_to_item.keys()))  # member order = codes
    table = np.asarray([RESULTS[getattr(RESULTS, n)] for n in names], dtype=object)
    return np.asarray(table[codes], dtype=object)


class AbstractResult(eqx.Module):
    """Base of every driver's result: an `eqx.Module` with a `status` (`RESULTS`).

    Concrete results are final classes that declare `status: RESULTS` among their
    documented fields (equinox's abstract/final pattern).
    """

    status: eqx.AbstractVar[RESULTS]

    def is_successful(self) -> jax.Array:
        """Boolean array of `is_successful(self.status)`."""
        return is_successful(self.status)

    def raise_for_status(self) -> None:
        """Raises `RuntimeError` with the first failure's message, if any (host side)."""
        ok = np.asarray(is_successful(self.status))
        if not ok.all():
            msgs = messages(self.status)
            first = np.asarray(msgs).ravel()[np.flatnonzero(~ok.ravel())[0]]
            raise RuntimeError(
                f"{type(self).__name__}: {int((~ok).sum())} of {ok.size} failed: {first}"
            )
