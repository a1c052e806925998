"""Helpers for the experiment tests: run an experiment's `run` on a Context, compare
tables byte for byte, count and delete checkpoint chunks (not a test module)."""

from __future__ import annotations

import contextlib
import shutil
from collections import Counter
from io import StringIO
from pathlib import Path

from meshjax import io
from meshjax._devices import device_mesh
from meshjax.experiments import Context

ROOT = Path(__file__).parent.parent


def params_of(exp, **overrides):
    """The experiment's defaults with `overrides` (nested dicts merged one level)."""
    p = {k: (dict(v) if isinstance(v, dict) else v) for k, v in exp.defaults.items()}
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(p.get(k), dict):
            p[k].update(v)
        else:
            p[k] = v
    return p


def run(exp, params, out_dir, *, monkeypatch=None, n_devices=None, seed=0):
    """`exp.run(params, ctx)` into `out_dir`; `n_devices=1` restricts every sweep to
    the first device (it patches `meshjax.sweep._sweep.device_mesh`, the default mesh of
    `sweep`). Returns (result, ctx)."""
    if n_devices is not None:
        monkeypatch.setattr(
            "meshjax.sweep._sweep.device_mesh",
            lambda *a, **k: device_mesh(n_devices),
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(seed=seed, out_dir=out_dir, log=lambda msg: None)
    if exp.validate is not None:
        exp.validate(params)
    result = exp.run(params, ctx)
    if n_devices is not None:
        monkeypatch.undo()
    return result, ctx


def csv_bytes(result, folder):
    """Every table of `result` written as CSV into `folder`: name -> bytes."""
    folder = Path(folder)
    out = {}
    for name, rows in result.tables.items():
        path = io.write_csv(folder / f"{name}.csv", rows)
        out[name] = path.read_bytes()
    return out


def chunks(out_dir):
    """Checkpoint chunk files under `out_dir/checkpoints`, sorted."""
    return sorted((Path(out_dir) / "checkpoints").glob("*/chunk-*.npz"))


def totals(ctx):
    """(chunks computed, chunks loaded) over every stage of a run."""
    c = sum(v["computed"] for v in ctx.chunks.values())
    l_ = sum(v["loaded"] for v in ctx.chunks.values())
    return c, l_


def cli(*args):
    """`meshjax ARGS` through `meshjax.cli.main` in this process (as tests/test_cli.py
    calls it), config paths relative to the repository root: (returncode, stdout,
    stderr). A refused config compiles nothing; a subprocess only added ~2 s of
    interpreter and JAX start-up per call (`python -m meshjax` itself is checked in
    tests/test_cli.py)."""
    from meshjax import cli as cli_mod

    args = [str(ROOT / a) if str(a).startswith("configs/") else str(a) for a in args]
    out, err = StringIO(), StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_mod.main(args)
    return rc, out.getvalue(), err.getvalue()


def figures(exp, result, out_dir, monkeypatch):
    """`exp.plot(result, out_dir)` with the figures kept: (paths, figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = []
    close = plt.close

    def keep(fig=None):
        if fig is not None and not isinstance(fig, str):
            kept.append(fig)
        close(fig)

    monkeypatch.setattr(plt, "close", keep)
    paths = exp.plot(result, Path(out_dir))
    monkeypatch.setattr(plt, "close", close)
    return paths, kept


def legend_problems(figs):
    """Axes with more than one line and no legend; vertical lines without a label."""
    bad = []
    for fig in figs:
        for ax in fig.axes:
            lines = ax.get_lines()
            has_legend = ax.get_legend() is not None or bool(fig.legends)
            if len(lines) > 1 and not has_legend:
                bad.append(f"{ax.get_title()!r}: {len(lines)} lines, no legend")
            for ln in lines:
                x = ln.get_xdata()
                vertical = (
                    len(x) == 2 and x[0] == x[1] and ln.get_transform() != ax.transData
                )
                if vertical and ln.get_label().startswith("_"):
                    bad.append(f"{ax.get_title()!r}: unlabelled vertical line")
    return bad


def rerun_copy(exp, params, out_dir, dest, drop):
    """Copies the finished run folder `out_dir` to `dest`, deletes its chunk files at the
    indices `drop` (of the sorted `chunks`), reruns there once: (result, ctx, deleted).

    One rerun proves both resume properties of a shared finished run without running the
    experiment from scratch again: every chunk still on disk is loaded, exactly the
    deleted ones are computed (see `assert_only_deleted_recomputed`)."""
    shutil.copytree(out_dir, dest)
    files = chunks(dest)
    gone = [files[i] for i in drop]
    for f in gone:
        f.unlink()
    result, ctx = run(exp, params, dest)
    return result, ctx, gone


def chunk_in_a_split_stage(out_dir, stage=None):
    """The index (in `chunks`) of the last chunk of `stage` (default: the first stage
    with several chunks): deleting it makes a rerun compile one stage only, and resume
    it from its other chunks."""
    files = chunks(out_dir)
    names = [f.parent.name for f in files]
    if stage is None:
        stage = next(s for s in names if names.count(s) >= 2)
    assert names.count(stage) >= 2, (stage, names)
    return max(i for i, s in enumerate(names) if s == stage)


def assert_only_deleted_recomputed(ctx, gone, n):
    """`ctx` is a rerun of a finished run of `n` chunks after deleting `gone`: per
    stage, exactly its deleted chunks were computed and every other one was loaded."""
    lost = Counter(f.parent.name for f in gone)
    assert set(lost) <= set(ctx.chunks), (lost, ctx.chunks)
    assert totals(ctx) == (len(gone), n - len(gone)), ctx.chunks
    for stage, c in ctx.chunks.items():
        assert c["computed"] == lost.get(stage, 0), (stage, c)
