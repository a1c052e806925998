"""The model contract as data: one `Spec` per public callable, checked by test_contract.py.

A spec module `tests/specs/<module>.py` defines `SPECS: list[Spec]` (and may define
`EXEMPT: dict[str, str]`, qualified name -> why the contract does not apply, e.g. a class
or a host-side helper). test_contract.py walks `meshjax.__all__` and every subpackage's
`__all__` and requires each public callable to have a spec or an exemption, then checks
for every spec:

- key first (`key=True`): the first parameter is named `key`; an int seed, a
  `jax.random.key` and a legacy `jax.random.PRNGKey` of the same seed give the same result;
- a driver (`driver=True`) returns an `eqx.Module` with a `status` from `meshjax.RESULTS`;
  nothing returns a tuple or a dict;
- every numeric parameter in `sweep` is sweepable: `meshjax.sweep.sweep` over two values
  (all swept parameters zipped, one compilation) equals two direct calls;
- every bad value in `bad` (and the ones `Real`/`Count` domains generate: NaN, inf,
  negatives, out of range, wrong type) raises `ValueError`/`TypeError` naming the argument;
- every bad *numeric* value of a swept parameter, passed traced (under `jit`), is reported:
  an error (`eqx.error_if`), a driver status that is not successful, or NaN outputs.

Arguments are passed by keyword (`fn(**args)`), so a spec names every argument it sets.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Real:
    """Domain of a real scalar parameter; generates the bad values it must refuse."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False  # None is a valid value (an option that defaults to None)

    def bad_values(self) -> list[Any]:
        out: list[Any] = [math.nan, math.inf, -math.inf, "1.0", True]
        if not self.optional:
            out.append(None)
        if self.low is not None:
            out.append(self.low - 1.0 if not self.low_open else self.low)
        if self.high is not None:
            out.append(self.high + 1.0 if not self.high_open else self.high)
        return out

    def traced_bad(self) -> list[float]:
        out = [math.nan]
        if self.low is not None:
            out.append(self.low - 1.0 if not self.low_open else self.low)
        if self.high is not None:
            out.append(self.high + 1.0 if not self.high_open else self.high)
        if self.low is not None or self.high is not None:
            out.append(math.inf if self.high is not None else -math.inf)
        return out


@dataclasses.dataclass(frozen=True)
class Count:
    """Domain of a static int (size, count, q): bad values must be refused."""

    low: int = 1
    high: int | None = None

    def bad_values(self) -> list[Any]:
        out: list[Any] = [self.low - 1, 2.5, "3", None, True, math.nan]
        if self.high is not None:
            out.append(self.high + 1)
        return out

    def traced_bad(self) -> list[float]:
        return []


@dataclasses.dataclass
class Spec:
    """How to call one public callable, what it returns and what it must refuse.

    Attributes:
      fn: The callable.
      args: A valid call, by keyword, in signature order (`key` included when it takes one).
      key: Takes `key` first (checked: int seed / new key / legacy key agree).
      driver: Returns a result `eqx.Module` with a `status` (else an array, a number or
        an eqx.Module without status, e.g. a Graph or a params pytree).
      sweep: Numeric parameters -> two valid values; swept together (zipped) through
        `meshjax.sweep.sweep` and compared with direct calls. Leave empty only when the
        callable has no numeric parameter.
      domains: Parameter -> `Real`/`Count`; generates bad values (concrete and traced).
      bad: Extra bad inputs: (parameter, value) pairs that must raise naming the argument.
      outputs: Maps the result to a dict of arrays compared in the sweep test (default:
        every inexact/int array leaf of the result).
      rtol, atol: Sweep-vs-direct tolerance (vmap may reorder float reductions).
      id: Test id (default: module.qualname).
    """

    fn: Callable[..., Any]
    args: dict[str, Any]
    key: bool = False
    driver: bool = False
    sweep: dict[str, tuple[Any, Any]] = dataclasses.field(default_factory=dict)
    domains: dict[str, Real | Count] = dataclasses.field(default_factory=dict)
    bad: Sequence[tuple[str, Any]] = ()
    outputs: Callable[[Any], dict[str, Any]] | None = None
    rtol: float = 1e-5
    atol: float = 1e-6
    id: str | None = None

    @property
    def name(self) -> str:
        if self.id:
            return self.id
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    def bad_inputs(self) -> list[tuple[str, Any]]:
        out = [(p, v) for p, dom in self.domains.items() for v in dom.bad_values()]
        return out + list(self.bad)

    def traced_bad_inputs(self) -> list[tuple[str, float]]:
        return [
            (p, v)
            for p, dom in self.domains.items()
            if p in self.sweep
            for v in dom.traced_bad()
        ]


def leaves_as_dict(result: Any) -> dict[str, np.ndarray]:
    """Every array leaf of a result (a pytree), keyed by position: the default `outputs`."""
    import jax

    out = {}
    for i, leaf in enumerate(jax.tree_util.tree_leaves(result)):
        if hasattr(leaf, "dtype") and not jax.dtypes.issubdtype(
            leaf.dtype, jax.dtypes.prng_key
        ):
            out[f"m{i}"] = leaf
    return out
