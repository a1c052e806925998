"""Every config shipped in configs/ names a registered experiment and validates."""

from pathlib import Path

import pytest

from meshjax import config, experiments

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.toml"))


def test_every_experiment_has_a_config():
    names = {config.load(p).experiment for p in CONFIGS}
    missing = set(experiments.names()) - names - {"suite"}
    assert not missing, f"experiments without a config in configs/: {missing}"


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_config_validates(path):
    cfg = config.load(path)
    assert cfg.experiment in experiments.names()
    if cfg.experiment == "suite":
        assert len(cfg.params["parts"]) >= 5  # the quickstart touches several models
