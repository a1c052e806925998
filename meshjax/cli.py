"""The `meshjax` command: run a config, list experiments, show devices, run benchmarks.

    meshjax run CONFIG [--out DIR] [--set key=value ...] [--force]
    meshjax list
    meshjax info
    meshjax bench [--quick] [--only NAME[,NAME]] [--large] [--list]

`run` writes into `DIR.partial/` and renames it to `DIR` (default `runs/<config name>`)
only when everything is written, so a folder without `.partial` is always complete:

    config.toml     the resolved config (every parameter; `meshjax run` accepts it back)
    metrics.csv     the experiment's main tidy table; other tables as <name>.csv
    summary.json    status, seed, versions, devices, wall time, files
    report.md       findings claim by claim (verdict + numbers), figures, tables
    *.png           figures, with matplotlib (without it: a note; tables still written)

A run that fails or is interrupted leaves `DIR.partial/` with `summary.json` saying so
(`failed` with the reason, or `interrupted`); rerunning the same command resumes from it
(sweep checkpoints are kept). SIGINT, SIGTERM and a closed output pipe stop the run between
chunks and exit with 130, 143 and 141; a second signal stops it at once. Folders carry a
marker file (`.meshjax-run`): meshjax never replaces or deletes a folder without it. Bad configs
(unknown key, wrong type, out-of-range value, missing file) print one line on stderr and
exit with status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_EXIT_CONFIG = 2
_EXIT_FAILED = 1
_EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `meshjax` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [
        "bench"
    ]:  # everything after `bench` belongs to the benchmark runner
        return _cmd_bench(argparse.Namespace(bench_args=argv[1:]))
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message
        return int(exc.code or 0)
    args.argv = argv
    if args.command is None:
        parser.print_help(sys.stderr)
        return _EXIT_CONFIG
    try:
        return args.func(args)
    except KeyboardInterrupt:  # Ctrl-C before a command installed its handlers
        print("meshjax: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="meshjax", description="Simulations of the mesh economy in JAX."
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run an experiment config (TOML)",
        description="Run an experiment config and write its results.",
    )
    run.add_argument("config", help="TOML config file, e.g. configs/quickstart.toml")
    run.add_argument("--out", help="output folder (default: runs/<config name>)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, TOML literal (e.g. params.n_nodes=1000)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="replace a finished output folder of this name, or an unfinished one of "
        "another config (an unfinished run of the same config is resumed; its "
        "checkpoints are reused only where meshjax's code and JAX's settings are "
        "unchanged)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(func=_cmd_run)

    lst = sub.add_parser("list", help="list the experiments a config can name")
    lst.set_defaults(func=_cmd_list)

    info = sub.add_parser("info", help="devices, versions and optional packages")
    info.set_defaults(func=_cmd_info)

    sub.add_parser(
        "bench",
        help="run the benchmark suites from a source checkout (meshjax bench --help)",
    )
    return p


# --------------------------------------------------------------------------- run


def _eqx_on_error() -> str:
    """The `error_if` mode equinox runs with in this process (see `_cmd_run`)."""
    try:
        from equinox import _config

        return str(_config.EQX_ON_ERROR)
    except (ImportError, AttributeError):
        return os.environ.get("EQX_ON_ERROR", "raise")


def _cmd_run(args: argparse.Namespace) -> int:
    # Programs with host callbacks never enter JAX's persistent compilation cache (the
    # callback's address is part of the program), and equinox's `error_if` is a host
    # callback in its default mode. `run` validates every parameter before anything
    # runs, so the parameter-range `error_if`s inside the kernels cannot fire here; in
    # "nan" mode they are plain selects and the programs are cached. The checks on
    # data (RAF capacity, Chebyshev tail) keep raising whatever this says. Takes
    # effect only when equinox is not imported yet (a fresh `meshjax` process); the
    # environment is restored afterwards (equinox reads it once, at import).
    set_mode = "EQX_ON_ERROR" not in os.environ and "equinox" not in sys.modules
    if set_mode:
        os.environ["EQX_ON_ERROR"] = "nan"
    from . import _stop

    _stop.reset()
    previous = _stop.install()  # signals only set a flag; work stops between chunks
    try:
        return _run(args)
    finally:
        _stop.restore(previous)
        if set_mode:
            os.environ.pop("EQX_ON_ERROR", None)


def _run(args: argparse.Namespace) -> int:
    from . import _cache, _stop, config as config_mod, distributed, experiments, io
    from .experiments import Context, Result

    t_start = time.perf_counter()
    started = _now()
    cache = _cache.enable()
    try:
        dist = distributed.initialize()
    except (ValueError, RuntimeError) as err:
        return _error(f"distributed setup failed: {_one_line(err)}")
    try:
        cfg = config_mod.load(args.config, args.overrides)
    except config_mod.ConfigError as err:
        return _error(str(err))
    except Exception as err:  # e.g. an experiment module that fails to import
        return _error(f"{args.config}: {type(err).__name__}: {_one_line(err)}")
    exp = experiments.get(cfg.experiment)
    main_process = dist.process_index == 0
    if args.out is not None and not args.out.strip():
        return _error("--out is empty; name a folder for the run (e.g. runs/<name>)")
    out = (
        Path(args.out)
        if args.out is not None
        else Path("runs") / Path(args.config).stem
    )
    config_text = cfg.to_toml()

    log = _logger(t_start, quiet=args.quiet or not main_process)
    tmp = None
    if main_process:
        try:
            folder = io.RunFolder(out, force=args.force)
            resumed = folder.prepare(config_text)
        except (FileExistsError, OSError) as err:
            return _error(_one_line(err))
        work = folder.partial
        log(
            f"{'resuming' if resumed else 'running'} {cfg.experiment} "
            f"(seed {cfg.seed}) "
            f"into {work}"
        )
    else:  # other processes compute their shards; process 0 writes the results
        tmp = tempfile.TemporaryDirectory(prefix="meshjax-")
        work, resumed, folder = Path(tmp.name), False, None

    summary: dict[str, Any] = {
        "status": "running",
        "experiment": cfg.experiment,
        "seed": cfg.seed,
        "config": str(cfg.source) if cfg.source else None,
        "overrides": list(args.overrides),
        "command": " ".join(["meshjax", *args.argv]),
        "started_utc": started,
        "resumed": resumed,
        "versions": _versions(),
        "devices": _devices(),
        "compilation_cache": cache,
        "eqx_on_error": _eqx_on_error(),
        "notes": [],
    }

    def write_summary(status: str, **extra) -> None:
        if main_process:
            from .sweep import _programs

            summary.update(
                status=status,
                finished_utc=_now(),
                wall_s=time.perf_counter() - t_start,
                # compiled sweep programs loaded from / stored to the program store
                programs=dict(_programs.stats),
                **extra,
            )
            try:
                io.write_json(work / "summary.json", summary)
            except OSError as err:  # e.g. a full disk: say so, do not mask the cause
                print(
                    f"meshjax: could not write {work / 'summary.json'}: "
                    f"{_one_line(err)}",
                    file=sys.stderr,
                )

    def stopped(err: _stop.Interrupted) -> int:
        write_summary("interrupted", signal=signal_name(err.signum))
        _print_err(
            f"meshjax: interrupted ({signal_name(err.signum)}); rerun the same "
            f"command to resume from {work}"
        )
        return err.exit_code

    if main_process:
        earlier = work / "error.log"
        if resumed and earlier.exists():
            # the failed attempt's traceback stays, under a name that says what it is
            # (a complete folder holding `error.log` read as a failed run)
            earlier.replace(work / "error.earlier-attempt.log")
            summary["notes"].append(
                "an earlier attempt failed; its traceback: error.earlier-attempt.log"
            )
        write_summary("running")
    ctx = Context(seed=cfg.seed, out_dir=work, log=_checked(log))
    try:
        result = exp.run(cfg.params, ctx)
        _stop.check()
        if not isinstance(result, Result):
            raise TypeError(
                f"experiment {cfg.experiment!r} returned "
                f"{type(result).__name__}, not a Result"
            )
        bad = [n for n in result.tables if not _TABLE_NAME.fullmatch(str(n))]
        if bad:
            raise ValueError(f"table names {bad} are not valid file names")
    except _stop.Interrupted as err:
        return stopped(err)
    except KeyboardInterrupt:  # a handler other than ours (e.g. called as a library)
        return stopped(_stop.Interrupted(2))
    except Exception as err:
        _save_traceback(work)
        write_summary("failed", error=f"{type(err).__name__}: {_one_line(err)}")
        _print_err(
            f"meshjax: run failed: {type(err).__name__}: {_one_line(err)} "
            f"(traceback in {work / 'error.log'}; partial output in {work})"
        )
        return _EXIT_FAILED
    if not main_process:
        tmp.cleanup()
        return 0

    try:
        tables = _write_tables(result, work)
        if "metrics" not in result.tables:
            summary["notes"].append("the experiment returned no 'metrics' table")
        figures, note = _draw(exp, result, work, log)
        if note:
            summary["notes"].append(note)
            log(note)
        verdicts: dict[str, int] = {}
        for f in result.findings:
            verdicts[f.verdict] = verdicts.get(f.verdict, 0) + 1
        timings = {k: round(float(v), 3) for k, v in result.timings.items()}
        if timings:
            io.write_csv(
                work / "timings.csv",
                [{"part": k, "wall_s": v} for k, v in timings.items()],
            )
        summary.update(
            tables=tables,
            figures=[str(p) for p in figures],
            findings=verdicts,
            timings=timings,
            chunks=ctx.chunks,
        )
        wall = time.perf_counter() - t_start
        io.write_text(
            work / "report.md",
            _report(exp, cfg, result, tables, figures, summary, wall, config_text),
        )
        _stop.check()
    except _stop.Interrupted as err:
        return stopped(err)
    except Exception as err:  # a full disk, a permission error, ...
        write_summary(
            "failed", error=f"writing results: {type(err).__name__}: {_one_line(err)}"
        )
        _print_err(
            f"meshjax: could not write the results into {work}: "
            f"{type(err).__name__}: {_one_line(err)}"
        )
        return _EXIT_FAILED
    write_summary("complete")
    try:
        final = folder.commit()
    except (FileExistsError, OSError) as err:
        return _error(f"could not move {work} to {out}: {_one_line(err)}")
    counts = ", ".join(f"{n} {v}" for v, n in verdicts.items()) or "no findings"
    lines = [
        f"meshjax: wrote {final}/ ({len(tables)} tables, {len(figures)} figures, "
        f"{counts}) in {wall:.1f}s"
    ]
    lines += [f"  [{f.verdict}] {f.claim}: {f.detail}" for f in result.findings]
    try:
        print("\n".join(lines), flush=True)
    except BrokenPipeError:  # `| head`: the run is complete; the reader left early
        _quiet_stdout()
    return 0


def signal_name(signum: int) -> str:
    import signal

    return signal.Signals(signum).name


def _checked(log):
    """The progress channel, which is also where work checks for a stop request."""
    from . import _stop

    def checked_log(msg: str) -> None:
        _stop.check()
        log(msg)

    return checked_log


def _save_traceback(work: Path) -> None:
    try:
        (work / "error.log").write_text(traceback.format_exc())
    except OSError:
        pass


def _print_err(msg: str) -> None:
    try:
        print(msg, file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


def _quiet_stdout() -> None:
    import os

    try:  # point stdout at /dev/null so the interpreter's final flush does not fail
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _write_tables(result, work: Path) -> dict[str, dict[str, Any]]:
    from . import io

    out = {}
    for name, rows in result.tables.items():
        rows = list(rows)
        path = io.write_csv(work / f"{name}.csv", rows)
        cols = list(rows[0]) if rows else []
        out[name] = {"file": path.name, "rows": len(rows), "columns": cols}
    return out


def _draw(exp, result, work: Path, log) -> tuple[list[Path], str | None]:
    if exp.plot is None:
        return [], None
    try:
        import matplotlib
    except ImportError:
        return [], (
            "matplotlib is not installed: no figures (pip install "
            "'meshjax[plot]'); the tables are written"
        )
    matplotlib.use("Agg")
    try:
        paths = [Path(p) for p in exp.plot(result, work)]
    except Exception as err:  # a figure must not cost the results
        return [], f"figures failed: {type(err).__name__}: {_one_line(err)}"
    rel = []
    for p in paths:  # links relative to report.md, whatever form `plot` returned
        p = p if (p.is_absolute() or p.exists()) else work / p
        rel.append(Path(os.path.relpath(p.resolve(), work.resolve())))
    return rel, None


def _report(exp, cfg, result, tables, figures, summary, wall, config_text) -> str:
    dev = summary["devices"]
    lines = [
        f"# meshjax run: {cfg.experiment}",
        "",
        exp.description,
        "",
        *([cfg.description, ""] if cfg.description else []),
        f"- seed: {cfg.seed}",
        f"- config: {summary['config'] or '(none)'}"
        + (
            f" with --set {' '.join(summary['overrides'])}"
            if summary["overrides"]
            else ""
        ),
        f"- started: {summary['started_utc']} (UTC), wall time {wall:.1f} s",
        f"- devices: {dev['device_count']} x "
        f"{dev['kinds'][0] if dev['kinds'] else '?'} "
        f"({dev['backend']}), {dev['process_count']} process(es)",
        f"- versions: meshjax {summary['versions']['meshjax']}, jax "
        f"{summary['versions']['jax']}, Python {summary['versions']['python']}",
        "",
        "## Findings",
        "",
    ]
    if result.findings:
        lines += [
            "| claim | verdict | measured at | numbers |",
            "|---|---|---|---|",
        ]
        for f in result.findings:
            lines.append(
                f"| {_md(f.claim)} | **{f.verdict}** | {_md(f.size) or '—'} | "
                f"{_md(f.detail)} |"
            )
        lines += [
            "",
            "Equation, proposition and prediction numbers refer to the thesis chapter "
            '"The Mesh Economy"; `docs/chapter.md` in the meshjax source states each '
            "one in words, with what implements and tests it.",
        ]
    else:
        lines.append("This run states no findings.")
    lines += ["", "## Figures", ""]
    if figures:
        for p in figures:
            lines += [f"![{p.stem}]({p.as_posix()})", ""]
    else:
        notes = [n for n in summary["notes"] if "matplotlib" in n or "figures" in n]
        lines.append(notes[0] if notes else "No figures.")
    lines += ["", "## Tables", ""]
    for name, t in tables.items():
        cols = ", ".join(t["columns"][:12]) + (
            ", ..." if len(t["columns"]) > 12 else ""
        )
        lines.append(f"- [{t['file']}]({t['file']}): {t['rows']} rows; columns: {cols}")
    lines += ["", "## Resolved config", "", "```toml", config_text.rstrip(), "```", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- list, info


def _cmd_list(args: argparse.Namespace) -> int:
    from . import experiments

    try:
        names = experiments.names()
    except Exception as err:
        return _error(
            f"cannot load the experiments: {type(err).__name__}: {_one_line(err)}"
        )
    if not names:
        print("no experiments registered")
        return 0
    width = max(len(n) for n in names)
    for name in names:
        print(f"{name.ljust(width)}  {experiments.get(name).description}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from . import distributed

    try:
        distributed.initialize()
    except (ValueError, RuntimeError) as err:  # as `run` says it
        return _error(f"distributed setup failed: {_one_line(err)}")
    v = _versions()
    d = _devices()
    print(f"meshjax {v['meshjax']}  (Python {v['python']}, {platform.platform()})")
    print(f"jax {v['jax']}, jaxlib {v['jaxlib']}, numpy {v['numpy']}")
    print(
        f"backend: {d['backend']}; {d['device_count']} device(s) "
        f"({d['local_device_count']} local), process {d['process_index']} of "
        f"{d['process_count']}"
    )
    for line in d["list"]:
        print(f"  {line}")
    optional = [
        "matplotlib",
        "scipy",
        "networkx",
        "pandas",
        "igraph",
        "networkit",
        "EoN",
    ]
    have = {m: _version_of(m) for m in optional}
    print(
        "optional: "
        + ", ".join(f"{m} {ver or '(not installed)'}" for m, ver in have.items())
    )
    print(f"x64: {'on' if _jax().config.jax_enable_x64 else 'off'}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from . import _cache

    _cache.enable()
    # benchmarks/ is not installed with the package: find the checkout (the current
    # folder, or the one holding this meshjax/ for an editable install).
    for root in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (root / "benchmarks" / "__main__.py").exists():
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            break
    try:
        from benchmarks.__main__ import main as bench_main
    except ImportError:
        return _error(
            "meshjax bench needs the source checkout: run it from the "
            "repository root (the benchmarks/ folder)"
        )
    return int(bench_main(list(args.bench_args)) or 0)


# --------------------------------------------------------------------------- helpers


def _jax():
    import jax

    return jax


def _versions() -> dict[str, Any]:
    from . import __version__

    return {
        "meshjax": __version__,
        "python": platform.python_version(),
        "jax": _version_of("jax"),
        "jaxlib": _version_of("jaxlib"),
        "numpy": _version_of("numpy"),
        "equinox": _version_of("equinox"),
        "matplotlib": _version_of("matplotlib"),
    }


def _version_of(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def _devices() -> dict[str, Any]:
    jax = _jax()
    devs = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device_count": len(devs),
        "local_device_count": jax.local_device_count(),
        "process_count": jax.process_count(),
        "process_index": jax.process_index(),
        "kinds": sorted({getattr(d, "device_kind", d.platform) for d in devs}),
        "list": [
            f"{d.id}: {getattr(d, 'device_kind', d.platform)} "
            f"(process {d.process_index})"
            for d in devs[:16]
        ]
        + ([f"... {len(devs) - 16} more"] if len(devs) > 16 else []),
    }


def _logger(t0: float, quiet: bool):
    def log(msg: str) -> None:
        if quiet:
            return
        try:
            print(
                f"[{time.perf_counter() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True
            )
        except BrokenPipeError:  # the reader of our output is gone: stop like SIGPIPE
            import signal

            from . import _stop

            _stop.request(signal.SIGPIPE)

    return log


def _error(msg: str) -> int:
    print(f"meshjax: error: {msg}", file=sys.stderr)
    return _EXIT_CONFIG


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
