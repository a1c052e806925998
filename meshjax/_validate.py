r"""One validation policy for every public function (the model contract, docs/contract.md).

Concrete values (Python numbers, NumPy arrays, concrete JAX arrays) are checked at the
Python boundary: a bad one raises `ValueError` or `TypeError` whose message names the
argument, shows its value and says what is allowed::

    `beta`=-1.0 is out of range; allowed: [0, inf)

Traced values (inside `jit`, `vmap`, `sweep`) cannot be inspected on the host. They pass the
boundary check unchanged, and the model checks them *inside* the computation with
`in_domain`:

- a driver (a function returning a result `eqx.Module`) reports them through the result's
  `status` (`RESULTS.invalid_parameter`, see `meshjax._results`) and fills its numeric
  outputs with NaN where they would be meaningless;
- a formula (a function returning an array) returns NaN where its input is outside the
  domain (`nan_outside`);
- where going on is meaningless and there is nothing to return, `eqx.error_if`.

Nothing out of its domain is silently let through. Structural arguments (sizes, `q`, step
counts, option names) are static Python values and are always checked here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from . import _threefry

_threefry.install()  # every meshjax module that draws imports this one

__all__ = [
    "as_key",
    "check_array",
    "check_bool",
    "check_choice",
    "check_float_dtype",
    "check_int",
    "check_real",
    "in_domain",
    "is_traced",
    "nan_outside",
]

_INT32_MAX = int(np.iinfo(np.int32).max)


# ------------------------------------------------------------------------------ basics
def is_traced(x: Any) -> bool:
    """True when `x` (or any leaf of it) is a JAX tracer: its value is not known here."""
    return any(
        isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x)
    )


def _show(v: Any) -> str:
    """A short rendering of a value for an error message."""
    if isinstance(v, np.ndarray | jax.Array) and np.ndim(v) > 0:
        a = np.asarray(v)
        if a.size and np.issubdtype(a.dtype, np.number):
            with np.errstate(all="ignore"):
                return (
                    f"array(shape={a.shape}, dtype={a.dtype}, "
                    f"min={np.nanmin(a) if np.isfinite(a).any() else np.min(a):.4g}, "
                    f"max={np.nanmax(a) if np.isfinite(a).any() else np.max(a):.4g})"
                )
        return f"array(shape={a.shape}, dtype={a.dtype})"
    if isinstance(v, np.ndarray | np.generic | jax.Array):
        return repr(np.asarray(v).item())
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def _interval(low, high, low_open, high_open) -> str:
    lo = "(" if (low_open or low is None) else "["
    hi = ")" if (high_open or high is None) else "]"
    return (
        f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    )


def _out_of_range(name, shown, low, high, low_open, high_open, extra=""):
    return ValueError(
        f"`{name}`={shown} is out of range; allowed: "
        f"{_interval(low, high, low_open, high_open)}{extra}"
    )


# ------------------------------------------------------------------------------ keys
def as_key(key: Any, name: str = "key") -> jax.Array:
    """A typed PRNG key from a `jax.random.key`, a legacy `jax.random.PRNGKey` or an int seed.

    Every public function that uses randomness calls this once on its `key` argument, so a
    seed, a new-style key and a legacy key of the same seed give the same result. A batch
    of keys (shape `(b,)` typed, or `(b, 2)` uint32) is accepted where the caller allows it
    by passing the result on; a single key is what every model expects.
    """
    if isinstance(key, bool):
        raise TypeError(f"`{name}` must be a PRNG key or an int seed, got {key!r}")
    if isinstance(key, numbers.Integral | np.integer):
        seed = int(key)
        if not 0 <= seed < 2**63:
            raise ValueError(f"`{name}`={seed} is out of range; allowed: [0, 2**63)")
        if seed >= 2**32 and str(jax.config.jax_default_prng_impl) == "threefry2x32":
            # jr.key drops the high word when x64 is off (2**32 and 0 gave the same
            # key); threefry's seeding is the words (hi, lo), so the key is the same as
            # jr.key(seed) with x64 on, whatever the setting
            words = np.array([seed >> 32, seed & 0xFFFFFFFF], np.uint32)
            return jr.wrap_key_data(words, impl="threefry2x32")
        if seed >= 2**32 and not jax.config.jax_enable_x64:
            raise ValueError(
                f"`{name}`={seed} needs jax_enable_x64 with the "
                f"{jax.config.jax_default_prng_impl} PRNG (JAX drops the high word); "
                "allowed without it: [0, 2**32)"
            )
        return jr.key(seed)
    try:
        arr = key if isinstance(key, jax.Array) else jnp.asarray(key)
    except TypeError as err:
        raise TypeError(
            f"`{name}` must be a PRNG key (jax.random.key(seed)) or an int seed, "
            f"got {_show(key)}"
        ) from err
    if jnp.issubdtype(arr.dtype, jax.dtypes.prng_key):
        return arr
    if arr.dtype == jnp.uint32 and arr.ndim >= 1 and arr.shape[-1] == 2:
        return jr.wrap_key_data(arr)
    if arr.ndim == 0 and jnp.issubdtype(arr.dtype, jnp.integer) and not is_traced(arr):
        return as_key(int(arr), name)
    raise TypeError(
        f"`{name}` must be a PRNG key (jax.random.key(seed)), a legacy "
        f"jax.random.PRNGKey or an int seed, got dtype {arr.dtype} and shape {arr.shape}"
    )


# ------------------------------------------------------------------------------ static
def check_int(
    name: str, value: Any, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """A static integer (not bool) within [min_value, max_value]; returns a Python int.

    Sizes, `q`, step counts and the like fix shapes, so they are never traced: a tracer
    here is a `TypeError` that says so.
    """
    if is_traced(value):
        raise TypeError(
            f"`{name}` is a size or count and must be a concrete Python int (it fixes "
            f"array shapes); got a traced value. Pass it as a static argument."
        )
    if isinstance(value, np.ndarray | jax.Array) and np.ndim(value) == 0:
        value = np.asarray(value).item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral | np.integer):
        raise TypeError(
            f"`{name}` must be an integer, got {_show(value)} of type "
            f"{type(value).__name__}"
        )
    v = int(value)
    if (min_value is not None and v < min_value) or (
        max_value is not None and v > max_value
    ):
        raise _out_of_range(name, v, min_value, max_value, False, False)
    return v


def check_bool(name: str, value: Any) -> bool:
    """A static Python bool (or NumPy bool)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False, got {_show(value)}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """One of a fixed set of static options (algorithm names, conventions)."""
    if value not in tuple(choices):
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}`={_show(value)} is not allowed; allowed: {allowed}")
    return value


def check_float_dtype(name: str, value: Any) -> np.dtype:
    """float32 or float64 (any spelling: a string, a NumPy or JAX type, a dtype); `None`
    is JAX's default float (float64 with x64, else float32). A value that is no dtype
    is a `TypeError`; another dtype (float16, bfloat16, an integer), or float64 while
    `jax_enable_x64` is off (JAX would silently compute in float32), a `ValueError`."""
    if value is None:
        return np.dtype(jnp.result_type(float))
    try:
        dt = np.dtype(value)
    except TypeError:
        raise TypeError(
            f"`{name}`={_show(value)} is not a dtype; allowed: float32, float64"
        ) from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            f"`{name}`={_show(value)} is not allowed; allowed: float32, float64"
        )
    if dt == np.float64 and not jax.config.jax_enable_x64:
        # JAX would compute in float32 and only warn (once) at the first array it truncates
        raise ValueError(
            f"`{name}`=float64 needs 64-bit JAX: call "
            "jax.config.update('jax_enable_x64', True) first (or set JAX_ENABLE_X64=1); "
            "without it, use float32"
        )
    return dt


# ------------------------------------------------------------------------------ numbers
def check_real(
    name: str,
    value: Any,
    *,
    low: float | int | None = None,
    high: float | int | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> Any:
    """A real scalar parameter in an interval: concrete values checked, traced passed on.

    Returns a Python float (an int with `integer=True`) for a concrete value, the tracer
    unchanged for a traced one: the caller then checks it with `in_domain` inside the
    computation and reports it (status or NaN). Booleans, strings, complex numbers and
    arrays of more than one element are `TypeError`s; NaN, inf and values outside the
    interval are `ValueError`s.
    """
    if is_traced(value):
        if not hasattr(value, "dtype") or not (
            jnp.issubdtype(value.dtype, jnp.floating)
            or jnp.issubdtype(value.dtype, jnp.integer)
        ):
            raise TypeError(f"`{name}` must be a real number, got a traced {value!r}")
        if np.ndim(value) != 0:
            raise TypeError(
                f"`{name}` must be a scalar, got a traced array of shape "
                f"{np.shape(value)}"
            )
        return value
    if isinstance(value, np.ndarray | jax.Array | np.generic):
        if np.ndim(value) != 0:
            raise TypeError(
                f"`{name}` must be a real scalar, got an array of shape {np.shape(value)}"
            )
        dt = np.asarray(value).dtype
        if not (np.issubdtype(dt, np.floating) or np.issubdtype(dt, np.integer)):
            raise TypeError(f"`{name}` must be a real number, got dtype {dt}")
        value = np.asarray(value).item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a real number, got {_show(value)} of type "
            f"{type(value).__name__}"
        )
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"`{name}`={v} must be finite")
    if integer and v != int(v):
        raise ValueError(f"`{name}`={v} must be a whole number")
    lo_bad = low is not None and (v <= low if low_open else v < low)
    hi_bad = high is not None and (v >= high if high_open else v > high)
    if lo_bad or hi_bad:
        raise _out_of_range(name, v, low, high, low_open, high_open)
    return int(v) if integer else v


def check_array(
    name: str,
    value: Any,
    *,
    kind: str = "real",
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    low: float | int | None = None,
    high: float | int | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
    nonempty: bool = False,
) -> Any:
    """An array argument: dtype kind, rank, shape (None = any length) and range.

    `kind` is "real" (floats or ints, converted to float), "float", "int" or "bool".
    Shape and dtype are checked for traced values too (they are known at trace time);
    values only when concrete. Returns a `jax.Array` (traced values unchanged).
    Integer arrays are refused when an entry does not fit int32.
    """
    if isinstance(value, str | bytes) or value is None:
        raise TypeError(f"`{name}` must be an array, got {_show(value)}")
    traced = is_traced(value)
    if traced:
        arr = value
        dt = value.dtype
    else:
        try:
            host = np.asarray(value)
        except Exception as err:
            raise TypeError(f"`{name}` must be an array, got {_show(value)}") from err
        dt = host.dtype
        arr = host
    if dt.kind in "USVOc" or jnp.issubdtype(dt, jax.dtypes.prng_key):
        raise TypeError(f"`{name}` must be a {kind} array, got dtype {dt}")
    is_bool = np.issubdtype(dt, np.bool_)
    is_int = np.issubdtype(dt, np.integer)
    is_float = np.issubdtype(dt, np.floating)
    ok = {
        "real": is_int or is_float,
        "float": is_float or is_int,
        "int": is_int,
        "bool": is_bool,
    }[kind]
    if not ok:
        raise TypeError(f"`{name}` must be a {kind} array, got dtype {dt}")
    nd = np.ndim(arr)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if nd not in allowed:
            raise ValueError(
                f"`{name}` must have {' or '.join(map(str, allowed))} dimension(s), "
                f"got shape {np.shape(arr)}"
            )
    if shape is not None:
        s = np.shape(arr)
        if len(s) != len(shape) or any(
            want is not None and got != want for got, want in zip(s, shape)
        ):
            want = "(" + ", ".join("any" if w is None else str(w) for w in shape) + ")"
            raise ValueError(f"`{name}` must have shape {want}, got shape {s}")
    if nonempty and np.size(arr) == 0:
        raise ValueError(f"`{name}` must not be empty")
    if traced:
        return arr
    if kind == "int" and arr.size:
        if arr.min() < -_INT32_MAX - 1 or arr.max() > _INT32_MAX:
            raise ValueError(
                f"`{name}` has entries outside the int32 range; got {_show(arr)}"
            )
    if (is_float or is_int) and arr.size:
        if finite and is_float and not np.all(np.isfinite(arr)):
            raise ValueError(f"`{name}` must be finite; got NaN or inf in {_show(arr)}")
        with np.errstate(invalid="ignore"):
            lo_bad = low is not None and np.any(arr <= low if low_open else arr < low)
            hi_bad = high is not None and np.any(
                arr >= high if high_open else arr > high
            )
        if lo_bad or hi_bad:
            raise _out_of_range(name, _show(arr), low, high, low_open, high_open)
    if kind == "real" and is_int:
        return jnp.asarray(arr, dtype=jnp.result_type(float))
    return jnp.asarray(arr)


# ------------------------------------------------------------------------------ traced
def in_domain(
    x: Any,
    *,
    low: float | int | None = None,
    high: float | int | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> jax.Array:
    """Boolean array, inside `jit`: `x` is finite and inside the interval (elementwise)."""
    x = jnp.asarray(x)
    ok = (
        jnp.isfinite(x)
        if jnp.issubdtype(x.dtype, jnp.inexact)
        else jnp.ones_like(x, dtype=bool)
    )
    if low is not None:
        ok &= (x > low) if low_open else (x >= low)
    if high is not None:
        ok &= (x < high) if high_open else (x <= high)
    return ok


def nan_outside(ok: Any, y: Any) -> Any:
    """`y` where `ok`, NaN elsewhere (the formula policy for traced out-of-domain input).

    Integer outputs become -1 where not `ok` (there is no integer NaN).
    """
    ok = jnp.asarray(ok)

    def fill(leaf):
        leaf = jnp.asarray(leaf)
        bad = jnp.array(-1 if not jnp.issubdtype(leaf.dtype, jnp.inexact) else jnp.nan)
        return jnp.where(ok, leaf, bad.astype(leaf.dtype))

    return jax.tree_util.tree_map(fill, y)
