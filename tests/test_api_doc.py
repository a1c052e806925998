"""docs/api.md is generated from the docstrings (scripts/gen_api.py) and up to date."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_api", ROOT / "scripts/gen_api.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_api_doc_is_up_to_date():
    text = _generator().render()
    current = (ROOT / "docs" / "api.md").read_text()
    assert current == text, (
        "docs/api.md is out of date: run `python scripts/gen_api.py` and commit it"
    )


def test_api_doc_lists_every_public_callable_with_its_signature():
    gen = _generator()
    modules, entries = gen.walk()
    text = gen.render()
    assert "meshjax" in modules and "meshjax.sweep" in modules
    for path, entry in entries.items():
        assert f"### `{path}`" in text
        for alias in entry.aliases:
            assert f"`{alias}`" in text
    assert "sweep(fn: " in text and "| `invalid_parameter` | 3 |" in text
