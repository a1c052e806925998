"""Experiment registry: every module here that defines `EXPERIMENT` is an experiment."""

from __future__ import annotations

import importlib
import pkgutil

from ._base import (
    Context as Context,
    Experiment as Experiment,
    Finding as Finding,
    Result as Result,
)


def names() -> list[str]:
    """Names of all experiments, sorted."""
    return sorted(_discover())


def get(name: str) -> Experiment:
    """The experiment called `name`; `ValueError` listing the known names otherwise."""
    found = _discover()
    if name not in found:
        raise ValueError(
            f"unknown experiment {name!r}; known: {', '.join(sorted(found))}"
        )
    return found[name]


def _discover() -> dict[str, Experiment]:
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        exp = getattr(module, "EXPERIMENT", None)
        if isinstance(exp, Experiment):
            out[exp.name] = exp
    return out
