"""The `suite` experiment: several registered experiments in one run.

Config:

```toml
experiment = "suite"
seed = 0
[params]
parts = ["potts_crystallization", "percolation"]  # run in this order

# Overrides of potts_crystallization's own defaults, validated against them:
[params.potts_crystallization]
n_nodes = 2000
```

Each part runs with the suite's seed and its own parameters (its defaults overridden by
`[params.<name>]`, checked like a standalone config: unknown key, type, then the part's
own `validate`). The suite's result merges the parts: every table `t` of part `p`
becomes `p_t` (`p_t.csv`), findings are prefixed `[p]`, figures go to `<out>/<p>/`, and
the suite's own `metrics` table has one row per part (tables, findings by verdict;
wall times go to `timings.csv`). A section for an experiment not listed in `parts` must
equal that experiment's defaults (anything else would be silently ignored, so it is an
error).

`workers = k` (default 1) runs up to k parts at once, in threads of this process. The
parts are independent (each has its own keys, folder and checkpoints), so the tables are
the same bytes for any k. On the 2-core CPU the quick start's first run took 48 s with 2
workers against 54-56 s with 1 (one part compiles while the other computes), and a rerun
11 s against 13 s, so it uses 2. Each part's memory
estimate is checked on its own, and the k largest together. With several processes
(`meshjax.distributed`) parts always run one at a time: every process must issue the same
collectives in the same order.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ._base import Context, Experiment, Finding, Result

_NAME = "suite"


class _SuiteDefaults(Mapping):
    """`{"parts": [], <experiment>: <its defaults>, ...}` over the registry.

    Computed when read: the registry imports this module, so it cannot be read at import
    time.
    """

    def _table(self) -> dict[str, Any]:
        from . import get, names

        # names of experiments to run, in order; how many at once
        out: dict[str, Any] = {"parts": [], "workers": 1}
        for name in names():
            if name != _NAME:
                out[name] = dict(get(name).defaults)
        return out

    def __getitem__(self, key: str) -> Any:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def prune(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The resolved params without the sections of experiments not in `parts`.

        Called by `meshjax.config.resolve` after validation; keeps config.toml short.
        """
        return {
            k: v
            for k, v in params.items()
            if k in ("parts", "workers") or k in params["parts"]
        }


def _validate(params: Mapping[str, Any]) -> None:
    from ..config import check_bytes, check_memory
    from . import get, names

    known = [n for n in names() if n != _NAME]
    parts = list(params.get("parts", []))
    for p in parts:
        if not isinstance(p, str) or p not in known:
            raise ValueError(
                f"parts: unknown experiment {p!r}; known: {', '.join(known)}"
            )
    if len(set(parts)) != len(parts):
        raise ValueError(f"parts={parts} lists an experiment twice")
    workers = params.get("workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r}: expected an integer >= 1")
    for name in known:
        exp = get(name)
        if name not in parts:
            if dict(params.get(name, {})) != _normalised(exp.defaults):
                raise ValueError(f"params.{name} is set but {name!r} is not in parts")
            continue
        try:
            if exp.validate is not None:
                exp.validate(params[name])
            check_memory(exp, params[name])  # each part on its own
        except (ValueError, TypeError) as err:
            raise ValueError(f"{name}: {err}") from None
    if workers > 1 and len(parts) > 1:  # the `workers` largest parts at once
        sizes = sorted(
            (int(get(n).memory(params[n])) for n in parts if get(n).memory),
            reverse=True,
        )
        check_bytes(
            sum(sizes[:workers]),
            f"workers={workers}: the {workers} largest parts at once need",
            "use fewer workers or smaller sizes",
        )


def _normalised(defaults: Mapping[str, Any]) -> dict[str, Any]:
    from ..config import validate_params

    return validate_params({}, defaults, prefix="")


class _Aborted(Exception):
    """Stops a part running beside one that failed (raised at its next progress line)."""


def _run(params: Mapping[str, Any], ctx: Context) -> Result:
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    import jax

    from . import get

    names = list(params["parts"])
    if not names:
        ctx.log("suite: no parts listed in params.parts; nothing to run")
    workers = min(int(params.get("workers", 1)), max(1, len(names)))
    if jax.process_count() > 1:
        workers = 1  # every process must issue the same collectives in the same order
    abort = threading.Event()

    def run_part(name: str):
        def log(msg: str, _n: str = name) -> None:
            if abort.is_set():
                raise _Aborted
            ctx.log(f"[{_n}] {msg}")

        ctx.log(f"suite: running {name} ...")
        sub_dir = ctx.out_dir / name
        sub_dir.mkdir(parents=True, exist_ok=True)
        sub_ctx = Context(
            seed=ctx.seed, out_dir=sub_dir, log=log, microbatch=ctx.microbatch
        )
        t0 = time.perf_counter()
        result = get(name).run(params[name], sub_ctx)
        wall = time.perf_counter() - t0
        ctx.log(f"suite: {name} finished in {wall:.1f}s")
        return result, wall, sub_ctx.chunks

    if workers == 1:
        outs = [run_part(name) for name in names]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="meshjax-part") as pool:
            futures = [pool.submit(run_part, name) for name in names]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            except BaseException:  # e.g. a KeyboardInterrupt when called as a library
                abort.set()
                for f in futures:
                    f.cancel()
                raise
            failed = [f for f in futures if f in done and f.exception() is not None]
            if failed:  # stop the others at their next progress line, report this one
                abort.set()
                for f in futures:
                    f.cancel()
                wait(futures)
                errors = [
                    f.exception() for f in futures if f.done() and not f.cancelled()
                ]
                real = [
                    e for e in errors if e is not None and not isinstance(e, _Aborted)
                ]
                raise real[0]
            outs = [f.result() for f in futures]

    tables: dict[str, list[dict[str, Any]]] = {}
    findings: list[Finding] = []
    metrics = []
    timings: dict[str, float] = {}
    parts: dict[str, Result] = {}
    for name, (result, wall, chunks) in zip(names, outs):  # merged in `parts` order
        timings[name] = wall
        timings.update({f"{name}/{k}": v for k, v in result.timings.items()})
        ctx.chunks.update({f"{name}/{k}": v for k, v in chunks.items()})
        parts[name] = result
        for tname, rows in result.tables.items():
            tables[f"{name}_{tname}"] = rows
        findings += [
            dataclasses.replace(f, claim=f"[{name}] {f.claim}") for f in result.findings
        ]
        verdicts = [f.verdict for f in result.findings]
        metrics.append(
            {
                "experiment": name,
                "n_tables": len(result.tables),
                "n_findings": len(verdicts),
                "supported": verdicts.count("supported"),
                "not_supported": verdicts.count("not supported"),
                "inconclusive": verdicts.count("inconclusive"),
                "info": verdicts.count("info"),
            }
        )
    tables["metrics"] = metrics
    return Result(
        tables=tables, findings=findings, extras={"parts": parts}, timings=timings
    )


def _plot(result: Result, out_dir: Path) -> list[Path]:
    from . import get

    paths: list[Path] = []
    for name, sub in result.extras.get("parts", {}).items():
        exp = get(name)
        if exp.plot is None:
            continue
        sub_dir = Path(out_dir) / name
        sub_dir.mkdir(parents=True, exist_ok=True)
        paths += list(exp.plot(sub, sub_dir))
    return paths


EXPERIMENT = Experiment(
    name=_NAME,
    description="Runs several experiments in one go (params.parts), each with its own "
    "[params.<name>] overrides; merges tables, findings and figures.",
    defaults=_SuiteDefaults(),
    run=_run,
    validate=_validate,
    plot=_plot,
)
