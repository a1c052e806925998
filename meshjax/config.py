"""TOML experiment configs: load, override, validate against the experiment, write back.

A config is

```toml
experiment = "potts"   # a name from `meshjax list`
seed = 0               # optional, default 0; jax.random.key(seed)
[params]               # optional; overrides of the experiment's defaults
n_nodes = 1000
```

Validation (`resolve`): an unknown key anywhere is an error naming its dotted path
(`params.n_nodse`, with the closest allowed key suggested); each value must have the
type of its default (bool, int, float — ints accepted, str, list, table); missing keys
take their defaults; then the experiment's own `validate(params)` checks ranges. Every
problem is a `ConfigError` with a one-line message, which the CLI prints without a
traceback. `--set key=value` overrides parse the value as a TOML literal
(`--set params.n=1000`, `--set params.qs=[2,3]`, `--set params.name=ring` — a bare
word is a string).

The resolved config is written back with `to_toml`, a small writer for the TOML subset
configs use (scalars, arrays, inline tables, nested tables), so no extra dependency.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "Config",
    "ConfigError",
    "load",
    "parse_override",
    "resolve",
    "to_toml",
    "validate_params",
]

_TOP = ("experiment", "seed", "description", "params")
_SEED_MAX = 2**32 - 1
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class ConfigError(ValueError):
    """A problem with a config; its message is one line that names the key."""


@dataclasses.dataclass(frozen=True)
class Config:
    """A resolved config: every parameter present, typed and validated.

    Attributes:
      experiment: The experiment's name.
      seed: Non-negative integer seed.
      params: The full parameter tree (defaults filled in).
      source: The file it came from, if any.
      description: Optional text from the config's top-level `description`, shown at
        the top of the run's report (e.g. "a tour at small sizes").
    """

    experiment: str
    seed: int
    params: dict[str, Any]
    source: Path | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"experiment": self.experiment, "seed": self.seed}
        if self.description:
            out["description"] = self.description
        out["params"] = self.params
        return out

    def to_toml(self) -> str:
        """The resolved config as TOML; loading it gives the same `Config`."""
        return to_toml(self.to_dict())


def load(path: str | os.PathLike, overrides: Sequence[str] = ()) -> Config:
    """Reads a TOML config, applies `key=value` overrides, and resolves it.

    Raises:
      ConfigError: missing/unreadable file, invalid TOML, or any validation problem.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} not found") from None
    except OSError as err:
        raise ConfigError(
            f"cannot read config file {str(path)!r}: {err.strerror}"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    return resolve(raw, overrides, source=path)


def resolve(
    raw: Mapping[str, Any],
    overrides: Sequence[str] = (),
    *,
    source: str | os.PathLike | None = None,
) -> Config:
    """Validates a config dict (after `key=value` overrides) against its experiment.

    Args:
      raw: The parsed TOML (not modified).
      overrides: `"dotted.key=value"` strings, applied in order.
      source: The file name, used in messages.

    Returns:
      The resolved `Config`.

    Raises:
      ConfigError: one line naming the problem and the key.
    """
    from . import experiments

    where = f"{source}: " if source is not None else ""
    raw = _copy(raw)
    for item in overrides:
        keys, value = parse_override(item)
        _set_path(raw, keys, value)
    unknown = [k for k in raw if k not in _TOP]
    if unknown:
        msg = _unknown_message(unknown[0], "", _TOP)
        try:  # a parameter given without its `params.` prefix: say so
            defaults = experiments.get(raw.get("experiment")).defaults
        except Exception:
            defaults = {}
        if unknown[0] in defaults:
            msg = (
                f"unknown key {unknown[0]!r}; parameters live under [params]: did you "
                f"mean 'params.{unknown[0]}' (e.g. --set params.{unknown[0]}=...)?"
            )
        raise ConfigError(f"{where}{msg}")
    if "experiment" not in raw:
        raise ConfigError(
            f"{where}missing key 'experiment' (one of: "
            f"{', '.join(experiments.names())})"
        )
    name = raw["experiment"]
    if not isinstance(name, str):
        raise ConfigError(f"{where}experiment: expected a string, got {_show(name)}")
    try:
        exp = experiments.get(name)
    except ValueError as err:
        raise ConfigError(f"{where}experiment: {err}") from None
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{where}seed: expected an integer, got {_show(seed)}")
    if not 0 <= seed <= _SEED_MAX:
        raise ConfigError(
            f"{where}seed={seed} is out of range; allowed: 0..{_SEED_MAX}"
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(
            f"{where}description: expected a string, got {_show(description)}"
        )
    params = raw.get("params", {})
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"{where}params: expected a table ([params]), got {_show(params)}"
        )
    try:
        params = validate_params(params, exp.defaults, prefix="params")
    except ConfigError as err:
        raise ConfigError(f"{where}{err}") from None
    if exp.validate is not None:
        try:
            exp.validate(params)
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{where}params: {_one_line(err)}") from None
    try:
        check_memory(exp, params)
    except ValueError as err:
        raise ConfigError(f"{where}params: {err}") from None
    prune = getattr(exp.defaults, "prune", None)  # e.g. the suite drops unused parts
    if callable(prune):
        params = prune(params)
    return Config(
        experiment=name,
        seed=seed,
        params=params,
        description=description,
        source=Path(source) if source is not None else None,
    )


def validate_params(
    params: Mapping[str, Any], defaults: Mapping[str, Any], *, prefix: str = "params"
) -> dict[str, Any]:
    """Checks `params` against `defaults` (keys and types) and fills in missing keys.

    Rules: every key of `params` must be a key of `defaults` (nested tables
    recursively); a value must have its default's type: bool for bool, int (not bool)
    for int, int or float for float (converted to float), str for str, a list for a
    list/tuple (elements typed like the default's first element, if any; no value
    twice), a table for a dict; a default of None accepts anything.

    Returns:
      A new dict: `defaults` deep-copied, overridden by `params`.

    Raises:
      ConfigError: naming the dotted key (`prefix.key`).
    """
    out: dict[str, Any] = {}
    for k in params:
        if k not in defaults:
            raise ConfigError(_unknown_message(k, prefix, list(defaults)))
    for k, default in defaults.items():
        path = f"{prefix}.{k}" if prefix else k
        if k in params:
            out[k] = _check_value(params[k], default, path)
        else:
            out[k] = _copy(default)
    return out


def parse_override(item: str) -> tuple[list[str], Any]:
    """Splits `"a.b.c=value"` into `(["a", "b", "c"], value)`, value a TOML literal.

    A value that is not a TOML literal (e.g. `ring`) is taken as a string.

    Raises:
      ConfigError: no `=`, or an empty key part.
    """
    if not isinstance(item, str) or "=" not in item:
        raise ConfigError(f"--set expects key=value, got {item!r}")
    key, text = item.split("=", 1)
    keys = [k.strip() for k in key.strip().split(".")]
    if not all(keys):
        raise ConfigError(f"--set: bad key {key!r} in {item!r}")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    return keys, value


def to_toml(data: Mapping[str, Any]) -> str:
    """Writes a dict as TOML: scalars first, then `[tables]`, recursively.

    Supports bool, int, float (inf/nan included), str, lists (of scalars or dicts,
    written inline) and nested dicts. `tomllib.loads(to_toml(d)) == d` for such dicts
    (tuples and NumPy arrays come back as lists, NumPy scalars as Python ones). A key
    whose value is None is left out (TOML has no null; reloading a config fills it from
    the default again).

    Raises:
      TypeError: a value of another type, or None inside a list.
    """
    lines: list[str] = []
    _write_table(lines, data, [])
    return "\n".join(lines).strip("\n") + "\n"


# --------------------------------------------------------------------------- internals


def _check_value(value: Any, default: Any, path: str) -> Any:
    if default is None:
        return _copy(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {_show(value)}")
        return value
    if isinstance(default, numbers.Integral):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {_show(value)}")
        if not -_INT_MAX - 1 <= value <= _INT_MAX:
            raise ConfigError(
                f"{path}={value} is out of range; allowed: |value| < 2**31 (sizes, "
                "counts and ids are int32 in meshjax)"
            )
        return value
    if isinstance(default, numbers.Real):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number, got {_show(value)}")
        if not math.isfinite(float(value)):
            raise ConfigError(f"{path}={value} must be a finite number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {_show(value)}")
        return value
    if isinstance(default, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a table, got {_show(value)}")
        return validate_params(value, default, prefix=path)
    if isinstance(default, list | tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: expected a list, got {_show(value)}")
        if not default:
            return _copy(list(value))
        out = [_check_value(v, default[0], f"{path}[{i}]") for i, v in enumerate(value)]
        _check_distinct(out, path)
        return out
    if not isinstance(value, type(default)):
        raise ConfigError(
            f"{path}: expected {type(default).__name__}, got {_show(value)}"
        )
    return value


_INT_MAX = 2**31 - 1


def _check_distinct(values: list, path: str) -> None:
    """A list of sizes, exponents, models ... names each run once: a repeated value
    would be one computation reported as two (its stage, cache and checkpoints are
    named by the value)."""
    seen: list = []
    for v in values:
        if isinstance(v, Mapping | list):
            return  # tables and nested lists: no identity to compare
        if v in seen:
            raise ConfigError(
                f"{path}={values!r} lists {v!r} twice; each value is one run"
            )
        seen.append(v)


def check_memory(exp: Any, params: Mapping[str, Any]) -> None:
    """Raises ValueError when `exp.memory(params)` exceeds this machine's memory."""
    memory = getattr(exp, "memory", None)
    if memory is None:
        return
    check_bytes(int(memory(params)), "this run needs", "reduce the sizes")


def check_bytes(need: int, what: str, advice: str) -> None:
    """Raises ValueError "<what> about X GiB (estimate), more than this machine's Y GiB;
    <advice>" when `need` bytes exceed this host's physical memory."""
    have = _machine_memory()
    if have is not None and need > have:
        raise ValueError(
            f"{what} about {need / 2**30:.1f} GiB (estimate), more than this "
            f"machine's {have / 2**30:.1f} GiB; {advice}"
        )


def _machine_memory() -> int | None:
    """Physical memory of this host in bytes (None where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _unknown_message(key: str, prefix: str, allowed: Sequence[str]) -> str:
    path = f"{prefix}.{key}" if prefix else key
    msg = f"unknown key {path!r}"
    close = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1)
    if close:
        msg += f" (did you mean {close[0]!r}?)"
    where = f"under {prefix!r}" if prefix else "at the top level"
    names = ", ".join(str(a) for a in allowed) or "none"
    return f"{msg}; allowed {where}: {names}"


def _set_path(tree: dict, keys: list[str], value: Any) -> None:
    node = tree
    for i, k in enumerate(keys[:-1]):
        nxt = node.setdefault(k, {})
        if not isinstance(nxt, dict):
            raise ConfigError(
                f"--set {'.'.join(keys)}: {'.'.join(keys[: i + 1])!r} is not a table"
            )
        node = nxt
    node[keys[-1]] = value


def _copy(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {k: _copy(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_copy(v) for v in x]
    return x


def _show(value: Any) -> str:
    kind = {
        bool: "boolean",
        int: "integer",
        float: "float",
        str: "string",
        list: "list",
        dict: "table",
    }.get(type(value), type(value).__name__)
    text = repr(value) if not isinstance(value, dict) else "{...}"
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({kind})"


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _string(s: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k: Any) -> str:
    k = str(k)
    return k if _BARE_KEY.fullmatch(k) else _string(k)


def _scalar(v: Any, path: str) -> str:
    if hasattr(v, "tolist") and not isinstance(v, str | bytes | list | dict):
        v = v.tolist()  # NumPy scalar or array
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_scalar(x, f"{path}[]") for x in v) + "]"
    if isinstance(v, Mapping):
        return (
            "{"
            + ", ".join(
                f"{_key(k)} = {_scalar(x, f'{path}.{k}')}" for k, x in v.items()
            )
            + "}"
        )
    raise TypeError(f"cannot write {path}={v!r} ({type(v).__name__}) as TOML")


def _write_table(lines: list[str], table: Mapping[str, Any], path: list[str]) -> None:
    subtables = []
    for k, v in table.items():
        if v is None:  # TOML has no null: an omitted key takes its default again
            continue
        if isinstance(v, Mapping):
            subtables.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_scalar(v, '.'.join([*path, str(k)]))}")
    for k, v in subtables:
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in [*path, k]) + "]")
        _write_table(lines, v, [*path, k])
