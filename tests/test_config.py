"""Configs: TOML, overrides, validation against defaults, the TOML writer, suite."""

import math
import re
import tomllib

import numpy as np
import pytest
import toy_experiment
from hypothesis import given, settings, strategies as st

import meshjax.experiments as registry
from meshjax import config
from meshjax.config import ConfigError
from meshjax.experiments import suite


@pytest.fixture(autouse=True)
def toy_registry(monkeypatch):
    exps = {"toy": toy_experiment.EXPERIMENT, "suite": suite.EXPERIMENT}
    monkeypatch.setattr(registry, "_discover", lambda: dict(exps))


def write(tmp_path, text, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_fills_defaults_and_converts_ints_to_floats(tmp_path):
    p = write(
        tmp_path,
        'experiment = "toy"\nseed = 3\n[params]\nscale = 2\n'
        "[params.flags]\ndouble = true\n",
    )
    cfg = config.load(p)
    assert cfg.experiment == "toy" and cfg.seed == 3 and cfg.source == p
    assert cfg.params == {
        "n_points": 5,
        "scale": 2.0,
        "label": "x",
        "flags": {"double": True},
        "levels": [1, 2],
    }
    assert isinstance(cfg.params["scale"], float)


def test_seed_and_params_are_optional(tmp_path):
    cfg = config.load(write(tmp_path, 'experiment = "toy"\n'))
    assert cfg.seed == 0 and cfg.params["n_points"] == 5


@pytest.mark.parametrize(
    "text, message",
    [
        (
            'experiment = "toy"\n[params]\nn_pionts = 3\n',
            "unknown key 'params.n_pionts' (did you mean 'n_points'?)",
        ),
        (
            'experiment = "toy"\n[params.flags]\ndoubel = true\n',
            "unknown key 'params.flags.doubel'",
        ),
        ('experiment = "toy"\nsed = 1\n', "unknown key 'sed' (did you mean 'seed'?)"),
        (
            'experiment = "toy"\n[params]\nn_points = "many"\n',
            "params.n_points: expected an integer, got 'many' (string)",
        ),
        (
            'experiment = "toy"\n[params]\nn_points = 2.5\n',
            "params.n_points: expected an integer",
        ),
        (
            'experiment = "toy"\n[params]\nscale = true\n',
            "params.scale: expected a number",
        ),
        (
            'experiment = "toy"\n[params]\nlabel = 1\n',
            "params.label: expected a string",
        ),
        ('experiment = "toy"\n[params]\nflags = 1\n', "params.flags: expected a table"),
        (
            'experiment = "toy"\n[params]\nlevels = 1\n',
            "params.levels: expected a list",
        ),
        (
            'experiment = "toy"\n[params]\nlevels = [1, "a"]\n',
            "params.levels[1]: expected an integer",
        ),
        (
            'experiment = "toy"\n[params]\nlevels = [4, 5, 4]\n',
            "params.levels=[4, 5, 4] lists 4 twice",
        ),
        (
            'experiment = "toy"\n[params.flags]\ndouble = 1\n',
            "params.flags.double: expected true or false",
        ),
        (
            'experiment = "toy"\n[params]\nscale = -1.0\n',
            "params: scale=-1.0 is out of range; allowed: > 0",
        ),
        (
            'experiment = "nope"\n',
            "experiment: unknown experiment 'nope'; known: suite, toy",
        ),
        ("seed = 1\n", "missing key 'experiment'"),
        ("experiment = 3\n", "experiment: expected a string"),
        ('experiment = "toy"\nseed = -1\n', "seed=-1 is out of range"),
        ('experiment = "toy"\nseed = 1.5\n', "seed: expected an integer"),
        ('experiment = "toy"\nparams = 3\n', "params: expected a table"),
        ('experiment = "toy"\n[params\n', "invalid TOML"),
    ],
)
def test_bad_configs_give_one_line_naming_the_key(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(p)
    msg = str(err.value)
    assert message in msg
    assert "\n" not in msg and msg.startswith(str(p))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "none.toml")


@pytest.mark.parametrize(
    "item, keys, value",
    [
        ("params.n_points=1000", ["params", "n_points"], 1000),
        ("params.scale=2.5", ["params", "scale"], 2.5),
        ("params.levels=[3, 4]", ["params", "levels"], [3, 4]),
        ("params.flags.double=true", ["params", "flags", "double"], True),
        ("params.label=ring", ["params", "label"], "ring"),
        ('params.label="a b"', ["params", "label"], "a b"),
        ("seed = 7", ["seed"], 7),
        ("params.label=", ["params", "label"], ""),
    ],
)
def test_parse_override(item, keys, value):
    assert config.parse_override(item) == (keys, value)


@pytest.mark.parametrize("item", ["params.n_points", "params..x=1", "=3"])
def test_parse_override_rejects_malformed(item):
    with pytest.raises(ConfigError, match="--set"):
        config.parse_override(item)


def test_overrides_apply_in_order_and_are_validated(tmp_path):
    p = write(tmp_path, 'experiment = "toy"\n[params]\nn_points = 3\n')
    cfg = config.load(p, ["params.n_points=10", "params.flags.double=true", "seed=9"])
    assert (
        cfg.params["n_points"] == 10 and cfg.params["flags"]["double"] and cfg.seed == 9
    )
    with pytest.raises(ConfigError, match="unknown key 'params.nope'"):
        config.load(p, ["params.nope=1"])
    with pytest.raises(ConfigError, match="params.n_points: expected an integer"):
        config.load(p, ["params.n_points=lots"])
    with pytest.raises(ConfigError, match="'params.n_points' is not a table"):
        config.load(p, ["params.n_points.x=1"])


def test_resolved_config_round_trips(tmp_path):
    cfg = config.load(
        write(tmp_path, 'experiment = "toy"\nseed = 4\n[params]\nscale = 3\n')
    )
    again = config.load(write(tmp_path, cfg.to_toml(), "resolved.toml"))
    assert again.to_dict() == cfg.to_dict()


def test_to_toml_writes_the_subset_configs_use():
    data = {
        "a": 1,
        "b": -2.5e-7,
        "c": 'q"uote\\ and\nnewline',
        "d": True,
        "e": [1, 2, 3],
        "f": [{"x": 1}, {"y": "z"}],
        "weird key": 1.0,
        "t": {"inner": {"deep": [0.5, 1.5], "empty": {}}, "s": "é"},
        "inf": math.inf,
        "ninf": -math.inf,
        "tup": (1, 2),
    }
    back = tomllib.loads(config.to_toml(data))
    expected = dict(data, tup=[1, 2])
    assert back == expected
    assert math.isnan(tomllib.loads(config.to_toml({"n": math.nan}))["n"])
    assert tomllib.loads(config.to_toml({"x": None, "y": {"z": None}})) == {"y": {}}
    with pytest.raises(TypeError, match="x"):
        config.to_toml({"x": [None]})
    with pytest.raises(TypeError, match="x"):
        config.to_toml({"x": object()})
    assert tomllib.loads(config.to_toml({"a": np.arange(3), "b": np.float32(0.5)})) == {
        "a": [0, 1, 2],
        "b": 0.5,
    }


_scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
)
_keys = st.text(min_size=1, max_size=6)
_values = st.recursive(
    _scalars | st.lists(_scalars, max_size=3),
    lambda inner: st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=4))
def test_to_toml_round_trips_any_config_like_dict(data):
    assert tomllib.loads(config.to_toml(data)) == data


# --------------------------------------------------------------------------- suite


def test_suite_validates_each_part_against_its_own_defaults(tmp_path):
    p = write(
        tmp_path,
        'experiment = "suite"\n[params]\nparts = ["toy"]\n[params.toy]\nn_points = 3\n',
    )
    cfg = config.load(p)
    assert set(cfg.params) == {"parts", "workers", "toy"}
    assert cfg.params["parts"] == ["toy"] and cfg.params["workers"] == 1
    empty = config.load(write(tmp_path, 'experiment = "suite"\n'))
    # unused parts' defaults are not written back
    assert empty.params == {"parts": [], "workers": 1}
    assert config.load(write(tmp_path, cfg.to_toml(), "r.toml")).params == cfg.params
    assert cfg.params["toy"]["n_points"] == 3 and cfg.params["toy"]["scale"] == 1.0
    cases = [
        (
            '[params]\nparts = ["toy"]\n[params.toy]\nn_pionts = 3\n',
            "unknown key 'params.toy.n_pionts'",
        ),
        (
            '[params]\nparts = ["toy"]\n[params.toy]\nscale = 0.0\n',
            "params: toy: scale=0.0 is out of range",
        ),
        (
            '[params]\nparts = ["nope"]\n',
            "parts: unknown experiment 'nope'; known: toy",
        ),
        ('[params]\nparts = ["toy", "toy"]\n', "twice"),
        (
            "[params]\nparts = []\n[params.toy]\nscale = 2.0\n",
            "params.toy is set but 'toy' is not in parts",
        ),
        ("[params.potts]\nq = 3\n", "unknown key 'params.potts'"),
    ]
    for text, message in cases:
        with pytest.raises(
            ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")
        ):
            config.load(write(tmp_path, 'experiment = "suite"\n' + text))


def test_suite_defaults_follow_the_registry():
    d = suite.EXPERIMENT.defaults
    assert set(d) == {"parts", "workers", "toy"} and d["parts"] == []
    assert d["workers"] == 1
    assert d["toy"] == dict(toy_experiment.EXPERIMENT.defaults)
    assert "suite" not in d


def _toml_examples(doc: str) -> list[str]:
    parts = doc.split("```toml\n")[1:]
    return [p.split("```")[0] for p in parts]


@pytest.mark.parametrize("module", [suite, config], ids=["suite", "config"])
def test_docstring_toml_examples_parse_and_resolve(module, monkeypatch):
    """Issue 12: the reflowed TOML example in experiments/suite.py was not TOML."""
    monkeypatch.undo()  # the real registry: the example names real experiments
    examples = _toml_examples(module.__doc__)
    assert examples, f"{module.__name__} has no TOML example"
    for text in examples:
        raw = tomllib.loads(text)
        if raw.get("experiment") == "suite":
            cfg = config.resolve(raw)
            assert cfg.params["parts"] == raw["params"]["parts"]


def test_non_finite_and_out_of_range_values_are_refused_before_anything_runs():
    from meshjax.config import ConfigError, resolve

    base = {"experiment": "toy", "seed": 0}
    for key, value, words in [
        ("scale", math.inf, "finite"),
        ("scale", math.nan, "finite"),
        ("levels", [2**40], "2**31"),
        ("n_points", -(2**40), "2**31"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(words)) as err:
            resolve({**base, "params": {key: value}})
        assert f"params.{key}" in str(err.value)


def test_a_set_key_without_the_params_prefix_gets_a_suggestion():
    from meshjax.config import ConfigError, resolve

    with pytest.raises(ConfigError, match=r"did you mean 'params\.scale'"):
        resolve({"experiment": "toy"}, ["scale=3.0"])


def test_a_run_larger_than_the_machine_is_refused_with_its_estimate(monkeypatch):
    from meshjax import config
    from meshjax.experiments import _base, get

    exp = get("toy")
    fake = _base.Experiment(
        name=exp.name,
        description=exp.description,
        defaults=exp.defaults,
        run=exp.run,
        memory=lambda params: 10 * 2**40,
    )
    monkeypatch.setattr("meshjax.experiments.get", lambda name: fake)
    with pytest.raises(config.ConfigError, match=r"10240\.0 GiB \(estimate\)"):
        config.resolve({"experiment": "toy"})
