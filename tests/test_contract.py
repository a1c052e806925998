"""The model contract, checked for every public callable (see tests/contract.py).

Specs live in tests/specs/<module>.py; this file walks the public API and runs every spec.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import re
import types
from pathlib import Path

import chex
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from contract import Spec, leaves_as_dict

import meshjax
from meshjax import RESULTS, is_successful
from meshjax._devices import device_mesh
from meshjax.sweep import Grid, sweep

_SPEC_DIR = Path(__file__).parent / "specs"


def _load_specs() -> tuple[list[Spec], dict[str, str]]:
    specs: list[Spec] = []
    exempt: dict[str, str] = {}
    for path in sorted(_SPEC_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        mod_spec = importlib.util.spec_from_file_location(f"specs_{path.stem}", path)
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
        specs.extend(getattr(module, "SPECS", []))
        exempt.update(getattr(module, "EXEMPT", {}))
    return specs, exempt


SPECS, EXEMPT = _load_specs()
_BY_ID = {s.name: s for s in SPECS}


def _public_callables() -> dict[str, object]:
    """Qualified name -> object for every callable in meshjax's public API (recursive)."""
    found: dict[str, object] = {}
    seen: set[int] = set()

    def walk(module: types.ModuleType, prefix: str) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        names = getattr(module, "__all__", None)
        assert names is not None, f"{prefix} has no __all__"
        for name in names:
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                if obj.__name__.startswith("meshjax"):
                    walk(obj, obj.__name__)
            elif callable(obj) and not isinstance(obj, eqx.Enumeration.__class__):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)

    walk(meshjax, "meshjax")
    return found


def test_every_public_callable_has_a_spec_or_an_exemption():
    public = _public_callables()
    covered = {f"{s.fn.__module__}.{s.fn.__qualname__}" for s in SPECS}
    missing = sorted(set(public) - covered - set(EXEMPT))
    assert not missing, f"public callables without a contract spec: {missing}"
    stale = sorted(set(EXEMPT) - set(public))
    assert not stale, f"exemptions for names that are not public: {stale}"
    assert all(len(why) > 10 for why in EXEMPT.values())


def _call(spec: Spec, **changes):
    return spec.fn(**{**spec.args, **changes})


def _outputs(spec: Spec, result) -> dict[str, np.ndarray]:
    out = spec.outputs(result) if spec.outputs else leaves_as_dict(result)
    return {k: np.asarray(v) for k, v in out.items()}


def _ids(specs):
    return [s.name for s in specs]


@pytest.mark.parametrize("spec", SPECS, ids=_ids(SPECS))
def test_result_type(spec: Spec):
    result = _call(spec)
    assert not isinstance(result, tuple | list | dict), (
        f"{spec.name} returns a {type(result).__name__}"
    )
    if spec.driver:
        assert isinstance(result, eqx.Module)
        assert getattr(result.status, "_enumeration", None) is RESULTS, (
            f"{spec.name}: `status` is not a meshjax.RESULTS member"
        )
        assert bool(np.all(is_successful(result))), "valid sample call failed"


_KEYED = [s for s in SPECS if s.key]


@pytest.mark.parametrize("spec", _KEYED, ids=_ids(_KEYED))
def test_key_first_and_seed_accepted(spec: Spec):
    params = list(inspect.signature(spec.fn).parameters)
    assert params[0] == "key", f"{spec.name}: key is not the first parameter: {params}"
    by_seed = _outputs(spec, _call(spec, key=7))
    by_key = _outputs(spec, _call(spec, key=jr.key(7)))
    by_legacy = _outputs(spec, _call(spec, key=jr.PRNGKey(7)))
    for name in by_key:
        np.testing.assert_array_equal(by_seed[name], by_key[name])
        np.testing.assert_array_equal(by_legacy[name], by_key[name])


_UNKEYED = [s for s in SPECS if not s.key and not inspect.isclass(s.fn)]


@pytest.mark.parametrize("spec", _UNKEYED, ids=_ids(_UNKEYED))
def test_no_hidden_key(spec: Spec):
    """A callable that is not declared keyed takes no key argument at all."""
    try:
        params = inspect.signature(spec.fn).parameters
    except (TypeError, ValueError):
        return
    assert "key" not in params, f"{spec.name} takes `key`: declare key=True"


_SWEPT = [s for s in SPECS if s.sweep]


@pytest.mark.parametrize("spec", _SWEPT, ids=_ids(_SWEPT))
def test_numeric_parameters_are_sweepable(spec: Spec):
    names = list(spec.sweep)
    grid = Grid.zip(**{n: [spec.sweep[n][0], spec.sweep[n][1]] for n in names})
    key = jr.key(11)

    def point(k, **values):
        changes = dict(values)
        if spec.key:
            changes["key"] = k
        return _outputs_traced(spec, _call(spec, **changes))

    table = sweep(point, grid, key=key, progress=False, mesh=device_mesh(2))
    for i in range(2):
        changes = {n: spec.sweep[n][i] for n in names}
        if spec.key:
            changes["key"] = jr.fold_in(key, i)
        direct = _outputs(spec, _call(spec, **changes))
        swept = {name: np.asarray(table[name][i]) for name in direct}
        direct = {name: np.asarray(v) for name, v in direct.items()}
        chex.assert_trees_all_equal_shapes(swept, direct)
        chex.assert_trees_all_close(swept, direct, rtol=spec.rtol, atol=spec.atol)


def _outputs_traced(spec: Spec, result):
    return spec.outputs(result) if spec.outputs else leaves_as_dict(result)


_BAD = [(s, p, v) for s in SPECS for p, v in s.bad_inputs()]


@pytest.mark.parametrize(
    "spec,param,value",
    _BAD,
    # no memory addresses in the ids: every pytest-xdist worker must collect the same
    ids=[
        re.sub(r" at 0x[0-9a-f]+", "", f"{s.name}-{p}={v!r}")[:120] for s, p, v in _BAD
    ],
)
def test_bad_concrete_input_names_the_argument(spec: Spec, param, value):
    with pytest.raises((ValueError, TypeError)) as err:
        _call(spec, **{param: value})
    assert param in str(err.value), (
        f"{spec.name}({param}={value!r}) raised without naming `{param}`: {err.value}"
    )


_TRACED = [
    (s, p) for s in SPECS for p in dict.fromkeys(p for p, _ in s.traced_bad_inputs())
]


def _traced_dtype(spec: Spec, param: str):
    """The dtype a traced `param` is passed in: its sample's if float or int, else f64."""
    sample = np.asarray(spec.sweep[param][0])
    if np.issubdtype(sample.dtype, np.floating) or np.issubdtype(
        sample.dtype, np.integer
    ):
        return sample.dtype
    return np.float64


# One jitted call per spec with *every* swept parameter traced (the others at their value
# in the spec's valid call, or their first sweep value), shared by all of the spec's
# traced-bad-input cases: the same shapes and dtypes for every (parameter, bad value), so
# one compilation per spec serves them all (it was one per (spec, parameter)).
_TRACED_RUN: dict[str, object] = {}


def _traced_run(spec: Spec):
    if spec.name not in _TRACED_RUN:

        @jax.jit
        def run(values):
            return _call(spec, **values)

        _TRACED_RUN[spec.name] = run
    return _TRACED_RUN[spec.name]


@pytest.mark.parametrize(
    "spec,param", _TRACED, ids=[f"{s.name}-{p}" for s, p in _TRACED]
)
def test_bad_traced_input_is_reported(spec: Spec, param):
    integer = np.issubdtype(_traced_dtype(spec, param), np.integer)
    values = [v for p, v in spec.traced_bad_inputs() if p == param]
    if integer:
        values = [v for v in values if math.isfinite(v)]
    valid = {
        p: jnp.asarray(spec.args.get(p, spec.sweep[p][0]), dtype=_traced_dtype(spec, p))
        for p in spec.sweep
    }
    run = _traced_run(spec)

    for v in values:
        bad = jnp.asarray(v, dtype=_traced_dtype(spec, param))
        try:
            result = run({**valid, param: bad})
            jax.block_until_ready(result)
        except RuntimeError:
            continue  # eqx.error_if: reported, with its message
        if spec.driver:
            assert not bool(np.any(is_successful(result))), (
                f"{spec.name}: traced {param}={v} reported as successful"
            )
        else:
            floats = [
                np.asarray(x)
                for x in jax.tree_util.tree_leaves(result)
                if hasattr(x, "dtype") and np.issubdtype(x.dtype, np.inexact)
            ]
            assert floats, f"{spec.name}: traced {param}={v}: no float output to check"
            assert all(np.isnan(x).all() for x in floats), (
                f"{spec.name}: traced {param}={v} gave a number, not NaN"
            )


def test_bad_input_count():
    """The contract covers at least 500 bad inputs across modules (issue: ~500 tried)."""
    n = len(_BAD) + sum(len(s.traced_bad_inputs()) for s in SPECS)
    assert n >= 500, n
