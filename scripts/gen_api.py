"""Writes docs/api.md: every public function and class of meshjax, from its docstrings.

The page is generated, never edited by hand. It walks `meshjax.__all__` and, recursively,
the `__all__` of every public subpackage (as tests/test_contract.py does), and for each
public object writes its signature, the summary of its docstring, its `Returns:` section,
the fields of its result (for a result class: the `Attributes:` of its docstring, or its
bare fields marked undocumented) and the `RESULTS` members its docstrings name.

Usage:
  python scripts/gen_api.py           # writes docs/api.md
  python scripts/gen_api.py --check   # exit 1 if docs/api.md is out of date

tests/test_api_doc.py regenerates the page in memory and compares.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import importlib
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "api.md"

_SECTION = re.compile(
    r"^(Args|Arguments|Attributes|Cost|Example|Examples|Members|Note|Notes|Raises|"
    r"References|Returns|See also|Warning|Warnings|Yields):\s*$"
)
_ITEM = re.compile(r"^(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)(\s*\([^)]*\))?\s*:\s?(.*)$")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


# ----------------------------------------------------------------------------- walk
@dataclasses.dataclass
class _Entry:
    path: str  # canonical public path, e.g. "meshjax.sweep.Grid"
    obj: Any
    aliases: list[str]


def _public_names(module: types.ModuleType) -> tuple[list[str], bool]:
    """`__all__`, or (when missing) the public names defined under the module's package."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names), True
    out = []
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_"):
            continue
        home = getattr(obj, "__module__", None) or getattr(obj, "__name__", "")
        if isinstance(home, str) and home.startswith(module.__name__):
            out.append(name)
    return out, False


def walk(root: str = "meshjax"):
    """Public modules (name -> (module, has __all__)) and entries by canonical path."""
    top = importlib.import_module(root)
    modules: dict[str, tuple[types.ModuleType, bool]] = {}
    found: dict[int, list[str]] = {}  # id(obj) -> public paths, in walk order
    objects: dict[int, Any] = {}

    def visit(module: types.ModuleType) -> None:
        if module.__name__ in modules:
            return
        names, has_all = _public_names(module)
        modules[module.__name__] = (module, has_all)
        subs = []
        for name in names:
            obj = getattr(module, name, None)
            if isinstance(obj, types.ModuleType):
                if obj.__name__.startswith(root):
                    subs.append(obj)
                continue
            found.setdefault(id(obj), []).append(f"{module.__name__}.{name}")
            objects[id(obj)] = obj
        for sub in sorted(subs, key=lambda m: m.__name__):
            visit(sub)

    visit(top)
    entries: dict[str, _Entry] = {}
    for key, paths in found.items():
        obj = objects[key]
        canonical = _canonical(obj, paths)
        aliases = sorted(p for p in paths if p != canonical)
        entries[canonical] = _Entry(canonical, obj, aliases)
    return modules, entries


def _canonical(obj: Any, paths: list[str]) -> str:
    """The public path nearest to where `obj` is defined (private parts dropped)."""
    home = getattr(obj, "__module__", None)
    if isinstance(home, str):
        public = []
        for part in home.split("."):
            if part.startswith("_"):
                break
            public.append(part)
        prefix = ".".join(public)
        mine = [p for p in paths if p.rsplit(".", 1)[0] == prefix]
        if mine:
            return mine[0]
        # the deepest public module that lists it
        by_depth = sorted(paths, key=lambda p: (-p.count("."), p))
        inside = [p for p in by_depth if prefix.startswith(p.rsplit(".", 1)[0])]
        if inside:
            return inside[0]
    return sorted(paths, key=lambda p: (p.count("."), p))[0]


# ----------------------------------------------------------------------------- docstrings
def _doc(obj: Any) -> str:
    doc = obj.__doc__ if isinstance(obj, type) else inspect.getdoc(obj)
    if isinstance(obj, type):
        doc = obj.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def _sections(doc: str) -> tuple[str, dict[str, list[str]]]:
    """(summary paragraph, section name -> dedented body lines) of a Google docstring."""
    lines = doc.splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line):
            break
        summary.append(line.strip())
    sections: dict[str, list[str]] = {}
    current = None
    for line in lines:
        m = _SECTION.match(line)
        if m:
            current = m.group(1)
            sections[current] = []
        elif current is not None:
            if line.strip() and not line.startswith((" ", "\t")):
                current = None  # prose after a section
            else:
                sections[current].append(line)
    for name, body in sections.items():
        while body and not body[-1].strip():
            body.pop()
        indent = min((len(x) - len(x.lstrip()) for x in body if x.strip()), default=0)
        sections[name] = [x[indent:] for x in body]
    return " ".join(summary), sections


def _items(body: list[str]) -> list[tuple[str, str]]:
    """`name: text` items of an Args/Attributes section (continuations joined)."""
    out: list[tuple[str, str]] = []
    for line in body:
        if not line.strip():
            continue
        m = _ITEM.match(line) if not line.startswith((" ", "\t")) else None
        if m:
            out.append((m.group(1), m.group(3).strip()))
        elif out:
            out[-1] = (out[-1][0], f"{out[-1][1]} {line.strip()}".strip())
        else:
            out.append(("", line.strip()))
    return out


def _text(body: list[str]) -> str:
    return " ".join(x.strip() for x in body if x.strip())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip() or " "


# ----------------------------------------------------------------------------- signatures
def _annotation(a: Any) -> str:
    if a is inspect.Parameter.empty:
        return ""
    text = a if isinstance(a, str) else inspect.formatannotation(a)
    return _ADDRESS.sub("", text)


def _signature(name: str, obj: Any) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return f"{name}(...)"
    parts = []
    seen_kwonly = False
    prev_kind = None
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not seen_kwonly:
            if prev_kind is not p.VAR_POSITIONAL:
                parts.append("*")
            seen_kwonly = True
        if prev_kind is p.POSITIONAL_ONLY and p.kind is not p.POSITIONAL_ONLY:
            parts.append("/")
        star = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        text = star + p.name
        ann = _annotation(p.annotation)
        if ann:
            text += f": {ann}"
        if p.default is not p.empty:
            default = _ADDRESS.sub("", repr(p.default))
            text += f" = {default}" if ann else f"={default}"
        parts.append(text)
        prev_kind = p.kind
    if prev_kind is inspect.Parameter.POSITIONAL_ONLY:
        parts.append("/")
    ret = _annotation(sig.return_annotation)
    if isinstance(obj, type) or ret in ("None", ""):
        ret = "" if isinstance(obj, type) or not ret else f" -> {ret}"
    else:
        ret = f" -> {ret}"
    return f"{name}({', '.join(parts)}){ret}"


def _resolve(text: str, fn: Any) -> list[type]:
    """Classes named by a return annotation (a string under postponed annotations)."""
    target = inspect.unwrap(fn)
    namespace = dict(getattr(target, "__globals__", {}))
    try:
        value = eval(text, namespace) if isinstance(text, str) else text  # noqa: S307
    except Exception:
        return []
    args = typing.get_args(value) if typing.get_origin(value) else ()
    if isinstance(value, types.UnionType) or typing.get_origin(value) is typing.Union:
        candidates = list(typing.get_args(value))
    elif args and typing.get_origin(value) in (list, tuple):
        candidates = []
    else:
        candidates = [value]
    return [c for c in candidates if isinstance(c, type) and _is_record(c)]


def _is_record(cls: type) -> bool:
    import equinox as eqx

    named_tuple = issubclass(cls, tuple) and hasattr(cls, "_fields")
    return issubclass(cls, eqx.Module) or dataclasses.is_dataclass(cls) or named_tuple


# ----------------------------------------------------------------------------- render
def _fields(cls: type) -> list[tuple[str, str]]:
    """(field, meaning) from the class's Attributes section, else its bare fields."""
    _, sections = _sections(_doc(cls))
    documented = _items(sections.get("Attributes", []))
    if _is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls)]
    else:
        names = list(getattr(cls, "_fields", ()))
    if documented:
        have = {n for n, _ in documented}
        missing = [(n, "(undocumented)") for n in names if n not in have]
        return documented + missing
    return [(n, "(undocumented)") for n in names]


def _is_dataclass(cls: type) -> bool:
    return dataclasses.is_dataclass(cls)


def _status_values(*docs: str) -> list[str]:
    from meshjax import RESULTS

    members = list(RESULTS._name_to_item)
    named = []
    for doc in docs:
        # `RESULTS.name` anywhere, or a member named in backticks (a status field's
        # description lists them so: "`disconnected` (...); `invalid_parameter` (...)")
        for m in re.findall(r"RESULTS\.([A-Za-z_]+)|`([a-z_]+)`", doc):
            m = m[0] or m[1]
            if m in members and m not in named:
                named.append(m)
    return sorted(named, key=members.index)


def _is_result(cls: type) -> bool:
    from meshjax import AbstractResult

    return isinstance(cls, type) and issubclass(cls, AbstractResult)


def _render_fields(lines: list[str], cls: type, title: str) -> None:
    fields = _fields(cls)
    if not fields:
        return
    lines += [title, "", "| field | meaning |", "|---|---|"]
    lines += [f"| `{_cell(n)}` | {_cell(t)} |" for n, t in fields]
    lines.append("")


def _render_status(lines: list[str], cls: type, *docs: str) -> None:
    if not _is_result(cls):
        return
    values = _status_values(_doc(cls), *docs)
    if values:
        text = ", ".join(f"`{v}`" for v in values)
    else:
        text = "not documented (any `RESULTS` member)"
    lines += [f"**Status values:** {text}", ""]


def _render_entry(lines: list[str], entry: _Entry) -> None:
    obj, path = entry.obj, entry.path
    name = path.rsplit(".", 1)[1]
    lines += [f"### `{path}`", ""]
    if entry.aliases:
        lines += ["Also: " + ", ".join(f"`{a}`" for a in entry.aliases), ""]
    if not callable(obj):
        lines += [f"Constant: `{_ADDRESS.sub('', repr(obj))}`", ""]
        return
    from meshjax import RESULTS

    plain = obj is RESULTS or (isinstance(obj, type) and issubclass(obj, BaseException))
    if not plain:
        lines += ["```python", _signature(name, obj), "```", ""]
    doc = _doc(obj)
    summary, sections = _sections(doc)
    if summary:
        lines += [summary, ""]
    if obj is RESULTS:
        lines += ["| member | code | message |", "|---|---|---|"]
        for i, member in enumerate(RESULTS._name_to_item):
            msg = RESULTS[getattr(RESULTS, member)]
            lines.append(f"| `{member}` | {i} | {_cell(msg)} |")
        lines.append("")
        return
    if isinstance(obj, type):
        kind = "Exception" if issubclass(obj, BaseException) else None
        if kind:
            lines += [f"*{kind}* (subclass of `{obj.__mro__[1].__name__}`).", ""]
        elif _is_record(obj):
            _render_fields(lines, obj, "**Fields:**")
            _render_status(lines, obj)
        methods = _methods(obj)
        if methods:
            lines += ["**Methods:**", ""]
            for mname, member, is_property in methods:
                msummary, _ = _sections(_doc(member))
                if is_property:
                    ret = _annotation(inspect.signature(member).return_annotation)
                    text = f"- `{mname}: {ret}` (property)" if ret else f"- `{mname}`"
                else:
                    sig = _signature(mname, member)
                    sig = sig.replace("(self, ", "(").replace("(self)", "()")
                    sig = sig.replace("(cls, ", "(").replace("(cls)", "()")
                    text = f"- `{sig}`"
                lines.append(text + (f": {msummary}" if msummary else ""))
            lines.append("")
        return
    returns = _text(sections.get("Returns", []))
    if returns:
        lines += [f"**Returns:** {returns}", ""]
    try:
        ret = inspect.signature(obj).return_annotation
    except (TypeError, ValueError):
        ret = inspect.Parameter.empty
    if ret is not inspect.Parameter.empty:
        for cls in _resolve(ret, obj):
            _render_fields(lines, cls, f"**Result `{cls.__name__}`:**")
            _render_status(lines, cls, doc)


def _methods(cls: type) -> list[tuple[str, Any, bool]]:
    """Public methods and properties defined by the class itself (name, fn, property?)."""
    out = []
    for mname, member in cls.__dict__.items():
        if mname.startswith("_"):
            continue
        is_property = isinstance(member, property)
        if isinstance(member, staticmethod | classmethod):
            member = getattr(cls, mname)
        if is_property:
            member = member.fget
        if callable(member) and not isinstance(member, type | enum.Enum):
            out.append((mname, member, is_property))
    return out


def render(root: str = "meshjax") -> str:
    """The whole page, as a string."""
    modules, entries = walk(root)
    by_module: dict[str, list[_Entry]] = {m: [] for m in modules}
    for path, entry in entries.items():
        by_module.setdefault(path.rsplit(".", 1)[0], []).append(entry)
    order = sorted(modules, key=lambda m: (m != root, m))
    lines = [
        "# API reference",
        "",
        "<!-- Generated by scripts/gen_api.py from the docstrings; do not edit. -->",
        "",
        "Every public function and class of meshjax (`meshjax.__all__` and each "
        "subpackage's `__all__`), with its signature, its result's fields and the "
        "`RESULTS` status values its docstrings name. The conventions they follow are "
        "in [contract.md](contract.md).",
        "",
        "Modules: " + ", ".join(f"[`{m}`](#{_anchor(m)})" for m in order),
        "",
    ]
    for m in order:
        module, has_all = modules[m]
        lines += [f"## {m}", ""]
        summary, _ = _sections(inspect.cleandoc(module.__doc__ or ""))
        if summary:
            lines += [summary, ""]
        if not has_all:
            lines += ["*(no `__all__`: public names defined in the module listed)*", ""]
        for entry in sorted(by_module.get(m, []), key=lambda e: e.path.lower()):
            _render_entry(lines, entry)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9_ -]", "", title.lower()).replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run python scripts/gen_api.py")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
