"""The meshjax command: run folders, reports, bad configs, resume, list/info/bench."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import toy_experiment

import meshjax.experiments as registry
from meshjax import cli, io
from meshjax.experiments import suite

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def toy_registry(monkeypatch):
    exps = {"toy": toy_experiment.EXPERIMENT, "suite": suite.EXPERIMENT}
    monkeypatch.setattr(registry, "_discover", lambda: dict(exps))
    toy_experiment.STATE.update(computed=0, fail_after=None)


def write(tmp_path, text, name="toy.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


TOY = 'experiment = "toy"\nseed = 1\n[params]\nn_points = 6\nlevels = [4, 5, 6]\n'


def test_run_writes_a_complete_folder(tmp_path, capsys):
    cfg = write(tmp_path, TOY)
    out = tmp_path / "run"
    assert (
        cli.main(["run", str(cfg), "--out", str(out), "--set", "params.scale=2"]) == 0
    )
    captured = capsys.readouterr()
    assert (
        f"wrote {out}/" in captured.out and "[supported] Toy claim (1)" in captured.out
    )
    assert "running toy (seed 1)" in captured.err and "sweep model" in captured.err
    assert not out.with_name("run.partial").exists()

    resolved = tomllib.loads((out / "config.toml").read_text())
    assert resolved == {
        "experiment": "toy",
        "seed": 1,
        "params": {
            "n_points": 6,
            "scale": 2.0,
            "label": "x",
            "flags": {"double": False},
            "levels": [4, 5, 6],
        },
    }
    rows = io.read_csv(out / "metrics.csv")
    assert len(rows) == 12 and set(rows[0]) == {"a", "scale", "replica", "y", "a2"}
    assert [r["level"] for r in io.read_csv(out / "levels.csv")] == [4, 5, 6]

    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["seed"] == 1
    assert summary["devices"]["device_count"] == 8 and summary["versions"]["jax"]
    assert summary["wall_s"] > 0 and summary["findings"] == {"supported": 1}
    assert summary["tables"]["metrics"]["rows"] == 12
    assert summary["overrides"] == ["params.scale=2"]

    report = (out / "report.md").read_text()
    assert "| Toy claim (1): y tracks scale*a | **supported** | — | mean y" in report
    assert "\\|" in report  # a '|' inside a cell is escaped
    assert "![toy_y](toy_y.png)" in report and (out / "toy_y.png").stat().st_size > 0
    assert "[metrics.csv](metrics.csv): 12 rows" in report

    # the resolved config runs again and gives the same table
    out2 = tmp_path / "again"
    assert (
        cli.main(["run", str(out / "config.toml"), "--out", str(out2), "--quiet"]) == 0
    )
    assert (out2 / "metrics.csv").read_text() == (out / "metrics.csv").read_text()


def test_without_matplotlib_tables_are_still_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(
        sys.modules, "matplotlib", None
    )  # import matplotlib -> ImportError
    out = tmp_path / "run"
    assert cli.main(["run", str(write(tmp_path, TOY)), "--out", str(out)]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert (out / "metrics.csv").exists() and not list(out.glob("*.png"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["figures"] == [] and "matplotlib" in summary["notes"][0]
    assert "matplotlib is not installed" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    "text, overrides, message",
    [
        (TOY + "bogus = 1\n", [], "unknown key 'params.bogus'"),
        (TOY, ["params.n_points=many"], "params.n_points: expected an integer"),
        (TOY, ["params.scale=-3"], "scale=-3.0 is out of range"),
        (TOY.replace('"toy"', '"nope"'), [], "unknown experiment 'nope'"),
        (None, [], "not found"),
        (TOY, ["params.scale"], "--set expects key=value"),
    ],
)
def test_bad_config_one_line_nonzero_exit_nothing_written(
    tmp_path, capsys, text, overrides, message
):
    cfg = write(tmp_path, text) if text is not None else tmp_path / "missing.toml"
    out = tmp_path / "run"
    args = ["run", str(cfg), "--out", str(out)]
    for o in overrides:
        args += ["--set", o]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and err.startswith("meshjax: error: ") and message in err
    )
    assert "Traceback" not in err
    assert not out.exists() and not out.with_name("run.partial").exists()


def test_failed_run_never_looks_complete(tmp_path, monkeypatch, capsys):
    def boom(params, ctx):
        raise RuntimeError("model blew up")

    exp = toy_experiment.EXPERIMENT
    broken = type(exp)(name="toy", description="", defaults=exp.defaults, run=boom)
    monkeypatch.setattr(registry, "_discover", lambda: {"toy": broken})
    out = tmp_path / "run"
    assert cli.main(["run", str(write(tmp_path, TOY)), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "run failed: RuntimeError: model blew up" in err
    assert not out.exists()
    summary = json.loads((out.with_name("run.partial") / "summary.json").read_text())
    assert summary["status"] == "failed" and "model blew up" in summary["error"]


def test_existing_output_needs_force(tmp_path, capsys):
    cfg, out = write(tmp_path, TOY), tmp_path / "run"
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet", "--force"]) == 0


def test_killed_run_resumes_with_only_missing_chunks(tmp_path, capsys):
    cfg = write(tmp_path, TOY)
    ref = tmp_path / "ref"
    assert cli.main(["run", str(cfg), "--out", str(ref), "--quiet"]) == 0
    n_chunks = toy_experiment.STATE["computed"]
    assert n_chunks == 3  # 12 rows in chunks of 4

    out = tmp_path / "run"
    toy_experiment.STATE.update(computed=0, fail_after=2)  # "killed" after two chunks
    assert cli.main(["run", str(cfg), "--out", str(out)]) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
    partial = out.with_name("run.partial")
    assert json.loads((partial / "summary.json").read_text())["status"] == "interrupted"
    assert not out.exists()

    toy_experiment.STATE.update(computed=0)
    assert cli.main(["run", str(cfg), "--out", str(out)]) == 0
    assert "resuming toy" in capsys.readouterr().err
    assert toy_experiment.STATE["computed"] == n_chunks - 2
    assert (out / "metrics.csv").read_text() == (ref / "metrics.csv").read_text()
    assert json.loads((out / "summary.json").read_text())["resumed"] is True


def test_a_changed_config_does_not_resume_stale_partial_output(tmp_path, capsys):
    cfg = write(tmp_path, TOY)
    out = tmp_path / "run"
    toy_experiment.STATE.update(fail_after=1)
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 130
    partial = out.with_name("run.partial")
    before = sorted(p.name for p in partial.iterdir())
    toy_experiment.STATE.update(computed=0)
    # Another config: the unfinished run is kept (never deleted silently), exit 2 ...
    changed = ["run", str(cfg), "--out", str(out), "--set", "params.scale=5"]
    assert cli.main(changed) == 2
    assert "another config" in capsys.readouterr().err
    assert sorted(p.name for p in partial.iterdir()) == before
    # ... and --force replaces it with a fresh run.
    assert cli.main([*changed, "--force"]) == 0
    assert "running toy" in capsys.readouterr().err
    assert toy_experiment.STATE["computed"] == 3


def test_a_second_run_of_the_same_out_is_refused_while_the_first_writes(
    tmp_path, capsys
):
    import filelock

    cfg, out = write(tmp_path, TOY), tmp_path / "run"
    toy_experiment.STATE.update(fail_after=1)
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 130
    partial = out.with_name("run.partial")
    before = sorted(p.name for p in partial.iterdir())
    # another process (a resubmitted batch job) is writing into it
    with filelock.FileLock(str(partial / io.LOCK), timeout=0):
        for extra in ([], ["--force"]):
            assert cli.main(["run", str(cfg), "--out", str(out), *extra]) == 2
            assert "being written by another meshjax run" in capsys.readouterr().err
        assert sorted(p.name for p in partial.iterdir()) == before
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert not (out / io.LOCK).exists() and not partial.exists()


def test_a_resumed_run_keeps_the_failed_attempts_traceback_aside(
    tmp_path, monkeypatch, capsys
):
    exp = toy_experiment.EXPERIMENT

    def boom(params, ctx):
        raise RuntimeError("model blew up")

    broken = type(exp)(name="toy", description="", defaults=exp.defaults, run=boom)
    monkeypatch.setattr(registry, "_discover", lambda: {"toy": broken})
    cfg, out = write(tmp_path, TOY), tmp_path / "run"
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 1
    assert (out.with_name("run.partial") / "error.log").exists()
    monkeypatch.setattr(registry, "_discover", lambda: {"toy": exp})
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert not (out / "error.log").exists()
    assert "model blew up" in (out / "error.earlier-attempt.log").read_text()
    notes = json.loads((out / "summary.json").read_text())["notes"]
    assert any("earlier attempt failed" in n for n in notes)


def test_an_empty_out_and_a_bad_launcher_are_one_line_errors(
    tmp_path, monkeypatch, capsys
):
    cfg = write(tmp_path, TOY)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", str(cfg), "--out", "", "--quiet"]) == 2
    assert "--out is empty" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
    assert cli.main(["run", str(cfg), "--out", "sub/..", "--quiet"]) == 2
    assert "does not end in a folder name" in capsys.readouterr().err
    monkeypatch.setenv("JAX_NUM_PROCESSES", "x")
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err
    assert "distributed setup failed" in err and "Traceback" not in err


def test_cached_host_work_is_rebuilt_for_other_meshjax_code(tmp_path, monkeypatch):
    import numpy as np

    from meshjax.experiments import Context
    from meshjax.sweep import _store

    said, built = [], []
    ctx = Context(seed=0, out_dir=tmp_path, log=said.append)

    def build():
        built.append(1)
        return {"graph": np.arange(3.0) * len(built)}

    first = ctx.cached("g", build)
    np.testing.assert_array_equal(ctx.cached("g", build)["graph"], first["graph"])
    assert len(built) == 1  # a resume loads it
    monkeypatch.setattr(_store, "source_digest", lambda: "a fixed kernel")
    again = ctx.cached("g", build)  # a resume after a `git pull`
    assert len(built) == 2 and float(again["graph"][1]) == 2.0
    assert any("rebuilt" in m for m in said)


def test_never_deletes_a_folder_meshjax_did_not_make(tmp_path, capsys):
    cfg = write(tmp_path, TOY)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    assert cli.main(["run", str(cfg), "--out", str(mine), "--force", "--quiet"]) == 2
    assert "not made by `meshjax run`" in capsys.readouterr().err
    assert (mine / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    # a foreign <out>.partial is not resumed or replaced either
    other = tmp_path / "other.partial"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    out = tmp_path / "other"
    assert cli.main(["run", str(cfg), "--out", str(out), "--force", "--quiet"]) == 2
    assert (other / "notes.txt").read_text() == "keep"


def test_out_must_be_a_new_folder(tmp_path, capsys, monkeypatch):
    cfg = write(tmp_path, TOY)
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert cli.main(["run", str(cfg), "--out", str(afile), "--force"]) == 2
    assert afile.read_text() == "x"
    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path), ".."):
        assert cli.main(["run", str(cfg), "--out", out, "--force", "--quiet"]) == 2
    assert "current folder" in capsys.readouterr().err
    assert afile.read_text() == "x"


def test_force_replaces_a_meshjax_run(tmp_path):
    cfg = write(tmp_path, TOY)
    out = tmp_path / "run"
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert (out / ".meshjax-run").is_file()
    (out / "stale.csv").write_text("old")
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet", "--force"]) == 0
    assert not (out / "stale.csv").exists()


def test_suite_merges_parts(tmp_path):
    cfg = write(
        tmp_path,
        'experiment = "suite"\nseed = 2\n[params]\nparts = ["toy"]\n'
        "[params.toy]\nn_points = 3\n",
        "suite.toml",
    )
    out = tmp_path / "run"
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.glob("*.csv")) == [
        "metrics.csv",
        "timings.csv",
        "toy_levels.csv",
        "toy_metrics.csv",
    ]
    m = io.read_csv(out / "metrics.csv")
    assert (
        m[0]["experiment"] == "toy" and m[0]["supported"] == 1 and "wall_s" not in m[0]
    )
    assert json.loads((out / "summary.json").read_text())["timings"]["toy"] > 0
    assert len(io.read_csv(out / "toy_metrics.csv")) == 6
    report = (out / "report.md").read_text()
    assert "| [toy] Toy claim (1)" in report and "![toy_y](toy/toy_y.png)" in report
    assert (out / "toy" / "toy_y.png").exists()
    assert (out / "toy" / "checkpoints" / "toy" / "manifest.json").exists()


def test_list_and_info(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "toy    A toy sweep for the tests." in out and "suite  Runs several" in out
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "8 device(s)" in out and "jax " in out and "backend: cpu" in out


def test_bench_lists_and_rejects_unknown_suites(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli.main(["bench", "--list"]) == 0
    assert "sweep" in capsys.readouterr().out.split()
    assert cli.main(["bench", "--only", "nope"]) == 2
    assert "unknown suite(s) nope" in capsys.readouterr().err


def test_usage_errors():
    assert cli.main([]) == 2
    assert cli.main(["frobnicate"]) == 2


def test_python_dash_m_meshjax_runs_a_config(tmp_path):
    """A real subprocess and the real registry: the suite with no parts."""
    cfg = write(tmp_path, 'experiment = "suite"\n[params]\nparts = []\n', "empty.toml")
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "meshjax", "run", str(cfg), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} >= {
        "config.toml",
        "metrics.csv",
        "summary.json",
        "report.md",
    }
    assert json.loads((out / "summary.json").read_text())["status"] == "complete"


def test_a_finding_below_its_decisive_size_is_inconclusive():
    from meshjax.experiments import Finding

    f = Finding(
        "Prop. 3.2",
        "supported",
        "jump 0.6",
        size="n = 2000",
        decisive=False,
        decided_by="configs/potts_crystallization.toml",
    )
    assert f.verdict == "inconclusive"
    assert f.detail.startswith("inconclusive at this size (leans supported")
    assert "configs/potts_crystallization.toml" in f.detail
    assert Finding("c", "supported", "d", size="n = 10^6").verdict == "supported"


def test_timings_go_to_summary_and_timings_csv_not_to_tables(tmp_path):
    cfg = write(
        tmp_path,
        'experiment = "suite"\nseed = 2\ndescription = "a tour"\n[params]\n'
        'parts = ["toy"]\n[params.toy]\nn_points = 3\n',
        "suite.toml",
    )
    outs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
        outs.append(out)
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert "toy" in summary["timings"]
    assert (outs[0] / "timings.csv").exists()
    assert "a tour" in (outs[0] / "report.md").read_text()
    for table in outs[0].glob("*.csv"):
        if table.name != "timings.csv":
            assert "wall" not in table.read_text().splitlines()[0]
            assert table.read_bytes() == (outs[1] / table.name).read_bytes()


@pytest.mark.parametrize("signame,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_real_signal_stops_between_chunks(tmp_path, signame, code):
    """Issue 13: Ctrl-C used to segfault in 2 of 8 tries; SIGTERM left "running"."""
    import signal
    import time

    cfg = write(tmp_path, TOY.replace("n_points = 6", "n_points = 400"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "signal_driver.py"), str(cfg), str(out)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    for line in proc.stderr:  # wait until chunks are being computed
        if "chunk" in line:
            break
    time.sleep(0.2)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Segmentation" not in err
    summary = json.loads((out.with_name("run.partial") / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert not out.exists()
