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
