"""The suite experiment's config checks, on the real registry."""

import pytest


def test_a_suite_part_larger_than_the_machine_is_refused_naming_the_part():
    from meshjax import config

    with pytest.raises(
        config.ConfigError,
        match=r"percolation: this run needs about .* GiB \(estimate\)",
    ):
        config.resolve(
            {
                "experiment": "suite",
                "params": {
                    "parts": ["specialization", "percolation"],
                    "percolation": {"n_nodes": [2**30]},
                },
            }
        )
    # each part is estimated on its own: two parts that fit one by one are accepted
    cfg = config.resolve(
        {"experiment": "suite", "params": {"parts": ["specialization", "percolation"]}}
    )
    assert cfg.params["parts"] == ["specialization", "percolation"]


def _tiny_suite(tmp_path, workers):
    from meshjax import cli

    cfg = tmp_path / f"suite{workers}.toml"
    cfg.write_text(
        'experiment = "suite"\nseed = 3\n[params]\n'
        f'parts = ["percolation", "specialization"]\nworkers = {workers}\n'
        "[params.percolation]\nn_nodes = [300]\nn_points = 4\nreplicas = 1\n"
        "[params.specialization]\nn_agents = 200\nn_steps = 100\nrecord_every = 50\n"
    )
    out = tmp_path / f"run{workers}"
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    return out


def test_parts_in_parallel_write_the_same_tables_as_one_at_a_time(tmp_path):
    one, two = _tiny_suite(tmp_path, 1), _tiny_suite(tmp_path, 2)
    csvs = sorted(p.name for p in one.glob("*.csv") if p.name != "timings.csv")
    assert csvs == sorted(p.name for p in two.glob("*.csv") if p.name != "timings.csv")
    assert len(csvs) == 3
    for name in csvs:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    # findings in `parts` order whatever finished first
    rep1, rep2 = (one / "report.md").read_text(), (two / "report.md").read_text()
    assert rep1.index("[percolation]") < rep1.index("[specialization]")
    assert rep2.index("[percolation]") < rep2.index("[specialization]")


def test_a_failing_part_stops_its_neighbour_and_is_the_error_reported(
    tmp_path, monkeypatch
):
    import threading
    import time

    from meshjax import experiments
    from meshjax.experiments import Experiment, Result, suite
    from meshjax.experiments._base import Context

    steps = []
    started = threading.Event()

    def slow(params, ctx):
        started.set()
        for i in range(400):
            steps.append(i)
            ctx.log(f"step {i}")  # where a sibling's failure stops this part
            time.sleep(0.01)
        return Result(tables={"metrics": []})

    def broken(params, ctx):
        started.wait(5)
        raise RuntimeError("part b broke")

    fakes = {
        "a": Experiment(name="a", description="", defaults={}, run=slow),
        "b": Experiment(name="b", description="", defaults={}, run=broken),
    }
    monkeypatch.setattr(experiments, "get", fakes.__getitem__)
    ctx = Context(seed=0, out_dir=tmp_path, log=lambda msg: None)
    with pytest.raises(RuntimeError, match="part b broke"):
        suite._run({"parts": ["a", "b"], "workers": 2, "a": {}, "b": {}}, ctx)
    assert 0 < len(steps) < 400  # a stopped at a progress line, long before its end


def test_workers_must_be_a_positive_integer():
    from meshjax import config

    for bad in (0, -1, 1.5, True):
        with pytest.raises(config.ConfigError, match="workers"):
            config.resolve(
                {"experiment": "suite", "params": {"parts": [], "workers": bad}}
            )


@pytest.mark.parametrize("user_mode", [None, "raise"])
def test_run_sets_eqx_on_error_nan_unless_the_user_chose(tmp_path, user_mode):
    """`meshjax run` in a fresh process: error_if as selects (cacheable programs)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    cfg = tmp_path / "spec.toml"
    cfg.write_text(
        'experiment = "specialization"\nseed = 1\n[params]\n'
        "n_agents = 100\nn_steps = 40\nrecord_every = 20\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "EQX_ON_ERROR"}
    env.update(PYTHONPATH=str(root), JAX_PLATFORMS="cpu")
    if user_mode is not None:
        env["EQX_ON_ERROR"] = user_mode
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshjax",
            "run",
            str(cfg),
            "--out",
            str(out),
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["eqx_on_error"] == (user_mode or "nan")
