"""Shared timing harness for the benchmark suites.

Rules (README "Benchmarks"): compile/warm-up timed apart, `block_until_ready` on every
result, the median of several repeats, throughput in natural units, peers in the same run.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax


def machine_info() -> dict[str, Any]:
    """Device, versions and CPU count, stored with every result file."""
    import os

    dev = jax.devices()[0]
    return {
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device": getattr(dev, "device_kind", str(dev)),
        "device_count": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def time_call(
    fn: Callable[[], Any], *, repeat: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Times `fn()` (which must return something `block_until_ready` accepts).

    The first call (compile + run) is reported as `first_s`; after `warmup` further calls,
    `repeat` timed calls give `median_s` and `min_s`.
    """
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    for _ in range(warmup):
        jax.block_until_ready(fn())
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return {
        "first_s": first,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "runs": len(times),  # a median over 1 run is a single timing: shown, not hidden
    }


def time_host(
    fn: Callable[[], Any], *, repeat: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Times a host (NumPy/peer library) call the same way, without JAX."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {
        "first_s": first,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "runs": len(times),  # a median over 1 run is a single timing: shown, not hidden
    }


def row(
    suite: str,
    case: str,
    impl: str,
    size: dict[str, Any],
    timing: dict[str, float],
    work: float,
    unit: str,
) -> dict[str, Any]:
    """One result row: `work` units done per call, rate = work / median time."""
    return {
        "suite": suite,
        "case": case,
        "impl": impl,
        **size,
        **timing,
        "rate": work / timing["median_s"] if timing["median_s"] > 0 else float("inf"),
        "unit": unit,
    }


#: Row fields that are measurements or labels of one row, not part of the case and
#: size that groups rows for `add_ratios` (a per-row value there would leave every row
#: alone in its group, with no ratio: the SIS suite's `prevalence` once did).
PER_ROW = (
    "impl", "first_s", "median_s", "min_s", "runs", "rate", "note", "load1",
    "prevalence", "per_ns", "agree", "vs_unsharded", "vs_best_peer",
)  # fmt: skip


def add_ratios(rows: list[dict[str, Any]], ours: str = "meshjax") -> None:
    """Adds `vs_best_peer` = our rate / best peer rate, per (suite, case, size)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        key = tuple((k, v) for k, v in r.items() if k not in PER_ROW)
        groups.setdefault(key, []).append(r)
    for group in groups.values():
        peers = [r["rate"] for r in group if r["impl"] != ours]
        for r in group:
            if r["impl"] == ours and peers:
                r["vs_best_peer"] = r["rate"] / max(peers)


def print_table(rows: list[dict[str, Any]]) -> None:
    """Prints rows as an aligned text table."""
    if not rows:
        print("(no results)")
        return
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for x in cells:
        print("  ".join(v.ljust(w) for v, w in zip(x, widths)))


def write_json(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Writes `{"machine": ..., "rows": rows}` to `path` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine_info(), "rows": rows}, indent=1))
    return path


def peer_available(module: str) -> bool:
    """Whether a peer library imports here."""
    import importlib

    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


SYSTEM_PYTHON = "/usr/bin/python3"  # where Debian's python3-graph-tool installs


def graph_tool_available() -> bool:
    """Whether the system python has graph-tool (Debian's python3-graph-tool)."""
    import os
    import subprocess

    if not os.path.exists(SYSTEM_PYTHON):
        return False
    r = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import graph_tool"], capture_output=True, timeout=120
    )
    return r.returncode == 0


def run_graph_tool(script: str, arrays: dict[str, Any], **args: Any) -> dict | None:
    """Runs `script` with the system python (graph-tool is not installable in a venv).

    `arrays` are saved as .npy files whose paths the script finds in its JSON argument
    (with `args`); the script prints one JSON line last, with `first_s` and `times`, to
    which `timing` (first, median, min, as `time_call` gives them) is added. None when it
    fails.
    """
    import os
    import subprocess
    import tempfile

    import numpy as np

    with tempfile.TemporaryDirectory() as d:
        for name, value in arrays.items():
            args[name] = os.path.join(d, f"{name}.npy")
            np.save(args[name], value)
        out = subprocess.run(
            [SYSTEM_PYTHON, "-c", script, json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    if out.returncode != 0:
        print("graph-tool run failed:", out.stderr[-2000:])
        return None
    res = json.loads(out.stdout.strip().splitlines()[-1])
    times = res["times"]  # the script's timed repeats after its warm-up ("first_s")
    res["timing"] = {
        "first_s": res["first_s"],
        "median_s": statistics.median(times),
        "min_s": min(times),
        "runs": len(times),
    }
    return res
