"""The `specialization` experiment on the run layer: determinism across device counts,
resume, config validation."""

import exp_runs
import pytest

from meshjax.experiments import specialization

EXP = specialization.EXPERIMENT
SMALL = dict(n_agents=200, n_steps=100, record_every=50)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """The run on all 8 devices, shared by the device-count and resume tests."""
    out = tmp_path_factory.mktemp("spec") / "d8"
    res, ctx = exp_runs.run(EXP, exp_runs.params_of(EXP, **SMALL), out)
    return out, res, ctx


def test_same_tables_on_one_and_eight_devices(first, tmp_path, monkeypatch):
    import jax

    assert jax.device_count() == 8  # tests/conftest.py forces 8 CPU devices
    p = exp_runs.params_of(EXP, **SMALL)
    _, r8, _ = first
    r1, _ = exp_runs.run(EXP, p, tmp_path / "d1", monkeypatch=monkeypatch, n_devices=1)
    b8 = exp_runs.csv_bytes(r8, tmp_path / "csv8")
    b1 = exp_runs.csv_bytes(r1, tmp_path / "csv1")
    assert b8 == b1
    assert "t" in r8.tables["metrics"][0] and "runs" in r8.timings


def test_resume_loads_every_chunk_and_recomputes_deleted_ones(first, tmp_path):
    p = exp_runs.params_of(EXP, **SMALL)
    out, res, ctx1 = first
    n = len(exp_runs.chunks(out))
    assert exp_runs.totals(ctx1) == (n, 0) and n >= 2
    ref = exp_runs.csv_bytes(res, tmp_path / "a")
    # one rerun of a copy of the shared run with chunk 0 deleted: every other chunk is
    # loaded, exactly chunk 0 is computed, same tables
    third, ctx3, gone = exp_runs.rerun_copy(EXP, p, out, tmp_path / "run", [0])
    exp_runs.assert_only_deleted_recomputed(ctx3, gone, n)
    assert exp_runs.csv_bytes(third, tmp_path / "c") == ref


@pytest.mark.parametrize(
    "bad, words",
    [
        (dict(learning=-1.0), "learning"),
        (dict(quit_prob=0.0), "quit_prob"),
        (dict(theta_min=30.0), "theta_min"),
        (dict(n_steps=150, record_every=100), "record_every"),
        (dict(n_agents=10, graph_mean_degree=9.5), "graph_mean_degree"),
    ],
)
def test_validate_refuses_bad_values(bad, words):
    with pytest.raises(ValueError, match=words):
        EXP.validate(exp_runs.params_of(EXP, **bad))


def test_memory_estimate_refuses_huge_sizes(tmp_path):
    assert EXP.memory(exp_runs.params_of(EXP, n_agents=2**30)) > 2**39
    rc, _, err = exp_runs.cli(
        "run",
        "configs/specialization.toml",
        "--set",
        "params.n_agents=1073741824",
        "--out",
        str(tmp_path / "out"),
    )
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "GiB" in err


def test_cli_refuses_nan_learning_with_one_line(tmp_path):
    out = tmp_path / "out"
    rc, _, err = exp_runs.cli(
        "run",
        "configs/specialization.toml",
        "--set",
        "params.learning=nan",
        "--out",
        str(out),
    )
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "learning" in err
    assert not out.exists() and not out.with_name("out.partial").exists()


def test_graph_local_run_uses_a_cached_graph(tmp_path):
    p = exp_runs.params_of(EXP, graph_mean_degree=4.0, **SMALL)
    res, _ = exp_runs.run(EXP, p, tmp_path / "g")
    assert (tmp_path / "g" / "cache" / "graph.pkl").exists()
    assert all(r["dol"] == r["dol"] for r in res.tables["metrics"])  # no NaN
    again, ctx = exp_runs.run(EXP, p, tmp_path / "g")
    assert exp_runs.totals(ctx)[0] == 0
    assert exp_runs.csv_bytes(again, tmp_path / "b") == exp_runs.csv_bytes(
        res, tmp_path / "a"
    )
