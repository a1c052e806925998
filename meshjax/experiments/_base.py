"""The contract between an experiment module and the `meshjax` command.

An experiment is a module in `meshjax/experiments/` (name not starting with `_`) that
defines a module-level `EXPERIMENT = Experiment(...)`. The registry discovers it; nothing
else needs editing. The CLI:

1. reads a TOML config `{experiment = NAME, seed = INT, [params] ...}`;
2. validates `[params]` against `EXPERIMENT.defaults` (unknown key -> error naming it; the
   type of each default is the allowed type; ints are accepted where floats are expected)
   and then calls `EXPERIMENT.validate(params)` for ranges;
3. calls `EXPERIMENT.run(params, ctx)` and writes `Result.tables` as CSV (the table named
   "metrics" becomes `metrics.csv`), `Result.findings` into `report.md`, and, when
   matplotlib is installed, calls `EXPERIMENT.plot(result, out_dir)` for PNG figures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

VERDICTS = ("supported", "not supported", "inconclusive", "info")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One statement of what a run shows about one claim of the chapter.

    Attributes:
      claim: The claim tested, with its chapter reference, e.g. "Prop. 3.2: first-order
        transition for q > 2".
      verdict: One of `VERDICTS`.
      detail: The numbers behind the verdict, in one or two sentences.
    """

    claim: str
    verdict: str
    detail: str

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r}; allowed: {VERDICTS}")


@dataclasses.dataclass
class Result:
    """What an experiment returns.

    Attributes:
      tables: Tidy tables, name -> list of row dicts (same keys in every row; values are
        Python scalars or strings). "metrics" is the main one.
      findings: What the run shows, claim by claim (goes into report.md).
      extras: Anything the experiment's `plot` needs that is not a table (arrays etc.).
    """

    tables: dict[str, list[dict[str, Any]]]
    findings: list[Finding] = dataclasses.field(default_factory=list)
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Context:
    """What the CLI hands an experiment.

    Attributes:
      seed: The config's seed; make keys with `jax.random.key(seed)`.
      out_dir: The run's output folder (already created). Experiments may write
        checkpoints under `out_dir / "checkpoints"`.
      log: Prints a progress line (the CLI's progress channel).
    """

    seed: int
    out_dir: Path
    log: Callable[[str], None] = print


@dataclasses.dataclass(frozen=True)
class Experiment:
    """An experiment the `meshjax` command can run.

    Attributes:
      name: The name a config uses (`experiment = "name"`).
      description: One line for `meshjax list`.
      defaults: Every allowed `[params]` key with its default; nested dicts allowed.
      run: `run(params, ctx) -> Result`.
      validate: Optional range checks, `validate(params)`, raising `ValueError` that names
        the key, its value and the allowed range.
      plot: Optional `plot(result, out_dir) -> list[Path]`, called only when matplotlib is
        available; imports matplotlib itself.
    """

    name: str
    description: str
    defaults: Mapping[str, Any]
    run: Callable[[Mapping[str, Any], Context], Result]
    validate: Callable[[Mapping[str, Any]], None] | None = None
    plot: Callable[[Result, Path], list[Path]] | None = None
