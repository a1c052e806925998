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
      size: The size the verdict was measured at, e.g. "n = 2000, 3 replicas".
      decisive: False when that size is below what the claim needs (a tour at small
        sizes): a "supported"/"not supported" verdict is then reported as
        "inconclusive at this size", with the leaning kept in the detail.
      decided_by: The config that decides the claim at full size, e.g.
        "configs/potts_crystallization.toml" (shown when not decisive).
    """

    claim: str
    verdict: str
    detail: str
    size: str = ""
    decisive: bool = True
    decided_by: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r}; allowed: {VERDICTS}")
        if not self.decisive and self.verdict in ("supported", "not supported"):
            where = f"; decided by {self.decided_by}" if self.decided_by else ""
            object.__setattr__(
                self,
                "detail",
                f"inconclusive at this size (leans {self.verdict}{where}): "
                f"{self.detail}",
            )
            object.__setattr__(self, "verdict", "inconclusive")


@dataclasses.dataclass
class Result:
    """What an experiment returns.

    Attributes:
      tables: Tidy tables, name -> list of row dicts (same keys in every row; values are
        Python scalars or strings). "metrics" is the main one.
      findings: What the run shows, claim by claim (goes into report.md).
      extras: Anything the experiment's `plot` needs that is not a table (arrays etc.).
      timings: Wall-clock seconds of named parts of the run. They go to `timings.csv`
        and `summary.json`, never into the tables, so a rerun's tables are
        byte-identical.
    """

    tables: dict[str, list[dict[str, Any]]]
    findings: list[Finding] = dataclasses.field(default_factory=list)
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


class _Inherit:
    """The type of `_INHERIT`: "use the context's own value"."""

    def __repr__(self) -> str:
        return "<the context's value>"


_INHERIT = _Inherit()


@dataclasses.dataclass
class Context:
    """What the CLI hands an experiment, and the run layer every experiment uses.

    An experiment states its work as per-point functions over a `Grid` and runs each
    through `ctx.sweep`: the sweep shards the points over every device (and host), keys
    come only from the sweep (`fold_in(stage_key, i)`), and finished chunks are
    checkpointed inside the run folder, so a rerun after any interruption recomputes only
    what is missing. Host-side work that is not a sweep point (building a graph,
    colouring it) goes through `ctx.cached`, which keeps its result in the run folder too.

    Attributes:
      seed: The config's seed.
      out_dir: The run's output folder (already created); checkpoints go to
        `out_dir / "checkpoints" / <stage>`, cached host work to `out_dir / "cache"`.
      log: Prints a progress line (the CLI's progress channel; it is also where a run
        stops on a signal, between chunks).
      microbatch: Passed to every sweep: a fixed per-device batch, so tables are
        bitwise identical whatever the device count or chunk size.
    """

    seed: int
    out_dir: Path
    log: Callable[[str], None] = print
    microbatch: int | None = 8
    chunks: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)

    def stage_key(self, stage: str):
        """The root key of one stage: the seed's key folded with a hash of the name."""
        import hashlib

        import jax.random as jr

        tag = int.from_bytes(hashlib.sha256(stage.encode()).digest()[:4], "little")
        return jr.fold_in(jr.key(self.seed), tag & 0x7FFFFFFF)

    def sweep(
        self,
        stage: str,
        fn: Callable[..., Any],
        grid: Any,
        *,
        shared: Any = None,
        replicas: int = 1,
        version: str | None = None,
        chunk_size: int | None = None,
        microbatch: int | None | _Inherit = _INHERIT,
    ):
        """Runs one stage of the experiment through `meshjax.sweep.sweep`.

        Args:
          stage: A name unique within the experiment (file-name characters): it names
            the checkpoint folder and seeds the stage's key.
          fn: `fn(key, [shared,] **params) -> {metric: array}`, pure and vmappable.
          grid: A `Grid` or a dict of value lists (cartesian product).
          shared: A pytree the same for every point (a graph), see `sweep`.
          replicas: Independent replicas per point.
          version: Bump when `fn`'s meaning changes without a code change visible to
            the checkpoint identity (see `sweep`).
          chunk_size: Points per chunk; default from the memory estimate.
          microbatch: The sweep's per-device block (see `sweep`); default the
            context's `microbatch`. Stages of a few heavy points pass 1, so nothing is
            padded to a block of 8.

        Returns:
          The sweep's `Table`; `ctx.chunks[stage]` records chunks computed and loaded.
        """
        from .. import sweep as sweep_mod

        kwargs = {}
        if version is not None:
            kwargs["version"] = version
        folder = self.out_dir / "checkpoints" / stage

        def run():
            return sweep_mod.sweep(
                fn,
                grid,
                key=self.stage_key(stage),
                replicas=replicas,
                shared=shared,
                chunk_size=chunk_size,
                checkpoint_dir=folder,
                progress=self.log,
                microbatch=self.microbatch if microbatch is _INHERIT else microbatch,
                **kwargs,
            )

        try:
            table = run()
        except sweep_mod.CheckpointMismatch as err:
            # Checkpoints of another version of this stage: keep them, start afresh.
            aside = folder.with_name(f"{stage}.stale")
            n = 1
            while aside.exists():
                n += 1
                aside = folder.with_name(f"{stage}.stale{n}")
            folder.rename(aside)
            self.log(
                f"{stage}: checkpoints differ in {', '.join(err.differs)}; moved to "
                f"{aside.name} and recomputing"
            )
            table = run()
        meta = table.meta
        self.chunks[stage] = {
            "computed": int(meta.get("chunks_computed", 0)),
            "loaded": int(meta.get("chunks_loaded", 0)),
        }
        if meta.get("chunks_loaded"):
            self.log(
                f"{stage}: loaded {meta['chunks_loaded']} finished chunk(s), "
                f"computed {meta.get('chunks_computed', 0)}"
            )
        return table

    def cached(self, name: str, build: Callable[[], Any]) -> Any:
        """Host-side work done once per run: `build()` on the first call, then loaded.

        The result (a pytree whose array leaves may be JAX or NumPy arrays, e.g. a
        `Graph` or a colouring) is pickled with its arrays as NumPy to
        `out_dir / "cache" / <name>.pkl` (atomically) and loaded back with JAX arrays;
        the first call returns that same round-tripped value, so a resumed run sees
        exactly what the first one saw. The file lives in the run's own folder and is
        only read by the run that wrote it, and only while meshjax's source, JAX's
        version and its result settings are those that wrote it (the sweep checkpoints'
        rule): a resumed run after a kernel fix rebuilds the graph it would otherwise
        have mixed with recomputed stages.
        """
        import pickle

        import jax
        import jax.numpy as jnp
        import numpy as np

        from .. import io

        def to_jax(host):
            return jax.tree.map(
                lambda x: jnp.asarray(x) if isinstance(x, np.ndarray) else x, host
            )

        from ..sweep._store import result_settings, source_digest

        identity = {"meshjax": source_digest(), **result_settings()}
        path = self.out_dir / "cache" / f"{name}.pkl"
        if path.exists():
            try:
                saved = pickle.loads(path.read_bytes())
                if saved["identity"] == identity:
                    return to_jax(saved["value"])
            except Exception:  # unreadable (e.g. written by another version): rebuild
                pass
            self.log(f"{name}: cached host work from other code or settings; rebuilt")
        host = jax.tree.map(
            lambda x: np.asarray(x) if isinstance(x, jax.Array) else x, build()
        )
        io.write_bytes(path, pickle.dumps({"identity": identity, "value": host}))
        # The first run gets exactly what a resumed run loads (pytree maps sort dict
        # keys, so returning `build()`'s own value could order a dict differently).
        return to_jax(host)


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
      memory: Optional `memory(params) -> bytes`, an estimate of the run's peak host
        memory; a config whose estimate exceeds the machine's memory is refused before
        anything runs, with the estimate in the message.
    """

    name: str
    description: str
    defaults: Mapping[str, Any]
    run: Callable[[Mapping[str, Any], Context], Result]
    validate: Callable[[Mapping[str, Any]], None] | None = None
    plot: Callable[[Result, Path], list[Path]] | None = None
    memory: Callable[[Mapping[str, Any]], int] | None = None
