"""The benchmark harness's bookkeeping: ratios group rows by case and size only."""

from benchmarks._harness import add_ratios, time_host


def test_ratios_ignore_per_row_values():
    """A per-row measurement (the SIS suite's prevalence) once split every row into its
    own group, so no ratio was ever computed."""
    size = {"n_nodes": 100}
    rows = [
        {"suite": "s", "case": "c", "impl": "meshjax", **size, "rate": 6.0,
         "prevalence": 0.31, "load1": 1.0},
        {"suite": "s", "case": "c", "impl": "peer a", **size, "rate": 2.0,
         "prevalence": 0.30, "load1": 1.1},
        {"suite": "s", "case": "c", "impl": "peer b", **size, "rate": 3.0,
         "prevalence": 0.29},
        {"suite": "s", "case": "c", "impl": "peer c", "n_nodes": 10, "rate": 50.0},
    ]  # fmt: skip
    add_ratios(rows)
    assert rows[0]["vs_best_peer"] == 2.0  # against peer b, not the smaller size's c


def test_timings_say_how_many_runs_the_median_has():
    t = time_host(lambda: None, repeat=3, warmup=0)
    assert t["runs"] == 3
    assert t["min_s"] <= t["median_s"]
