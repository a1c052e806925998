"""Argument checks at the Python boundary: each error names the argument, its value and
what is allowed. Used by every public function before anything is traced."""

from __future__ import annotations

import math
import numbers

import numpy as np


def _is_concrete_number(x) -> bool:
    return isinstance(x, numbers.Number) or (
        isinstance(x, np.ndarray | np.generic) and np.ndim(x) == 0
    )


def check_int(
    name: str, value, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """`value` must be an integer (not bool) within [min_value, max_value]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral | np.integer):
        raise TypeError(
            f"`{name}` must be an integer, got {value!r} of type {type(value).__name__}"
        )
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"`{name}`={value} is out of range; allowed: >= {min_value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"`{name}`={value} is out of range; allowed: <= {max_value}")
    return value


def check_real(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number in the interval; open/closed ends as given."""
    if isinstance(value, bool) or not _is_concrete_number(value):
        raise TypeError(f"`{name}` must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"`{name}`={v} must be finite")
    lo_bad = low is not None and (v <= low if low_open else v < low)
    hi_bad = high is not None and (v >= high if high_open else v > high)
    if lo_bad or hi_bad:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(
            f"`{name}`={v} is out of range; allowed: {lo}"
            f"{'-inf' if low is None else low}, "
            f"{'inf' if high is None else high}{hi}"
        )
    return v


def check_array_range(
    name: str, value, *, low: float | None = None, high: float | None = None
) -> None:
    """All entries of a concrete array are finite and within [low, high].

    Traced values (inside jit) cannot be checked here and pass through.
    """
    try:
        arr = np.asarray(value)
    except Exception:  # a tracer: checked by the caller's jit-side status instead
        return
    if arr.dtype == object:
        return
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; got NaN or inf")
    if low is not None and arr.size and arr.min() < low:
        raise ValueError(
            f"`{name}` has a value {arr.min()} below the allowed minimum {low}"
        )
    if high is not None and arr.size and arr.max() > high:
        raise ValueError(
            f"`{name}` has a value {arr.max()} above the allowed maximum {high}"
        )
