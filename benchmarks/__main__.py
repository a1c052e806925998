"""Runs the benchmark suites: every `benchmarks/bench_*.py` with a `main(argv)`.

    python -m benchmarks [--quick] [--large] [--only NAME[,NAME]] [--list]
    meshjax bench ...            (the same, from a source checkout)

`--quick` and `--large` are passed on to each suite's `main` (a suite that does not know
a flag fails alone; the others still run). `--only sweep,potts` runs `bench_sweep.py`
and `bench_potts.py`. Each suite prints its table and writes
`benchmarks/out/<name>.json`; this runner then prints one line per suite (rows, wall
time, status). Exit status 1 if any suite failed.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def suites() -> list[str]:
    """Names of the suites (`bench_<name>.py` -> `<name>`), sorted."""
    folder = Path(__file__).resolve().parent
    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(folder)])
        if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--quick", action="store_true", help="small sizes (seconds per suite)"
    )
    p.add_argument("--large", action="store_true", help="large sizes (GPU-scale)")
    p.add_argument("--only", default=None, help="comma-separated suite names")
    p.add_argument("--list", action="store_true", help="list the suites and exit")
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    names = suites()
    if args.list:
        print("\n".join(names) if names else "(no suites)")
        return 0
    if args.quick and args.large:
        print("benchmarks: --quick and --large exclude each other", file=sys.stderr)
        return 2
    chosen = names
    if args.only:
        chosen = [
            n.strip().removeprefix("bench_") for n in args.only.split(",") if n.strip()
        ]
        unknown = [n for n in chosen if n not in names]
        if unknown:
            print(
                f"benchmarks: unknown suite(s) {', '.join(unknown)}; known: "
                f"{', '.join(names)}",
                file=sys.stderr,
            )
            return 2
    flags = (["--quick"] if args.quick else []) + (["--large"] if args.large else [])
    summary = []
    for name in chosen:
        print(f"\n=== bench_{name} {' '.join(flags)}", flush=True)
        t0 = time.perf_counter()
        status, n_rows = "ok", 0
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            rows = module.main(list(flags))
            n_rows = len(rows or [])
        except SystemExit as exc:  # argparse rejected a flag, or the suite exited
            status = f"exit {exc.code}" if exc.code else "ok"
        except Exception as err:
            traceback.print_exc()
            status = f"failed: {type(err).__name__}: {err}"
        summary.append((name, n_rows, time.perf_counter() - t0, status))
    print("\n=== summary")
    for name, n_rows, wall, status in summary:
        print(f"{name:<16} {n_rows:>4} rows {wall:8.1f} s  {status}")
    return 0 if all(s == "ok" for *_, s in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
