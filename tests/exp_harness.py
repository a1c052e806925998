"""Helpers for the experiment tests (tests/test_exp_*.py): run an experiment's `run` on
a folder like `meshjax run` does, on all devices or on one, and compare its tables as the
CSV bytes `meshjax run` writes."""

from __future__ import annotations

import contextlib
import shutil
from collections import Counter
from collections.abc import Mapping
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from meshjax import config, experiments, io
from meshjax.experiments._base import Context, Result

ROOT = Path(__file__).resolve().parent.parent


def params(name: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment's defaults overridden and validated as a config would be."""
    exp = experiments.get(name)
    p = config.validate_params(dict(overrides), exp.defaults, prefix="params")
    if exp.validate is not None:
        exp.validate(p)
    return p


def run(
    name: str,
    p: Mapping[str, Any],
    out_dir: Path,
    *,
    one_device: bool = False,
    monkeypatch: pytest.MonkeyPatch | None = None,
    seed: int = 0,
) -> tuple[Result, Context]:
    """`EXPERIMENT.run(p, ctx)` with a Context on `out_dir`.

    `one_device=True` runs every sweep on a one-device mesh (the first CPU device) by
    replacing the default mesh of `meshjax.sweep.sweep` (Context offers no mesh option).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(seed=seed, out_dir=out_dir, log=lambda msg: None)
    if one_device:
        assert monkeypatch is not None
        from meshjax._devices import device_mesh
        from meshjax.sweep import _sweep

        monkeypatch.setattr(_sweep, "device_mesh", lambda: device_mesh(1))
    try:
        res = experiments.get(name).run(p, ctx)
    finally:
        if one_device:
            monkeypatch.undo()
    return res, ctx


def table_bytes(res: Result, tmp: Path) -> dict[str, bytes]:
    """Each table as the bytes of the CSV `meshjax run` writes for it."""
    tmp.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, rows in res.tables.items():
        out[name] = io.write_csv(tmp / f"{name}.csv", rows).read_bytes()
    return out


def chunk_files(out_dir: Path) -> list[Path]:
    return sorted((out_dir / "checkpoints").glob("*/chunk-*.npz"))


def assert_no_timing_columns(res: Result) -> None:
    for name, rows in res.tables.items():
        assert rows, f"table {name} has no rows (leave it out instead)"
        for col in rows[0]:
            low = col.lower()
            assert not any(w in low for w in ("second", "wall", "time_s", "elapsed")), (
                f"table {name} has a timing column {col!r}"
            )


def cli_run(config_path: str, sets: list[str], out: Path) -> tuple[int, str]:
    """`meshjax run CONFIG --set ... --out OUT --quiet` through `meshjax.cli.main` in this
    process, as tests/test_cli.py calls it: (exit status, stderr). A refused config
    compiles nothing; a subprocess only added ~2 s of interpreter and JAX start-up per
    call (`python -m meshjax` itself is checked in tests/test_cli.py)."""
    from meshjax import cli

    args = ["run", str(ROOT / config_path)]
    for s in sets:
        args += ["--set", s]
    args += ["--out", str(out), "--quiet"]
    err = StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(StringIO()):
        rc = cli.main(args)
    return rc, err.getvalue()


def assert_refused(config_path: str, sets: list[str], out: Path, *words: str) -> None:
    """The CLI refuses the config: exit 2, one line on stderr naming `words`, nothing
    written."""
    rc, stderr = cli_run(config_path, sets, out)
    assert rc == 2, (rc, stderr[-2000:])
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not out.exists() and not Path(f"{out}.partial").exists()


def rerun_copy(
    name: str, p: Mapping[str, Any], out_dir: Path, dest: Path, drop: list[int]
) -> tuple[Result, Context, list[Path]]:
    """Copies the finished run folder `out_dir` to `dest`, deletes its chunk files at the
    indices `drop` (of the sorted `chunk_files`) and reruns there once:
    (result, ctx, deleted). A shared finished run then proves both resume properties in
    one rerun: every chunk still on disk loads, exactly the deleted ones are computed."""
    shutil.copytree(out_dir, dest)
    files = chunk_files(dest)
    gone = [files[i] for i in drop]
    for f in gone:
        f.unlink()
    res, ctx = run(name, p, dest)
    return res, ctx, gone


def assert_only_deleted_recomputed(ctx: Context, gone: list[Path], n: int) -> None:
    """Per stage of the rerun `ctx`: exactly its deleted chunks were computed, every
    other one of the `n` chunks was loaded."""
    lost = Counter(f.parent.name for f in gone)
    assert set(lost) <= set(ctx.chunks), (lost, ctx.chunks)
    for stage, c in ctx.chunks.items():
        assert c["computed"] == lost.get(stage, 0), (stage, c)
    assert sum(c["computed"] for c in ctx.chunks.values()) == len(gone)
    assert sum(c["loaded"] for c in ctx.chunks.values()) == n - len(gone)
