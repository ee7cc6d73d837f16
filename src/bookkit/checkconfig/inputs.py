"""Reading what a reader gives :mod:`bookkit.checkconfig`: YAML with positions, command lines,
override values, and the small value helpers (types, display, similarity) the rules use.

Every function here has a twin of the same name in ``static/bookkit-checkconfig-core.js``;
keep them in step (the shared cases in ``tests/bookkit/checkconfig_cases.yml`` run both).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from bookkit.nemorl.manifest import _Loader

COMMAND_RE = re.compile(r"\.py\b|^\s*(uv|python3?|torchrun)\s")
YAML_KEY_RE = re.compile(r"""^\s*[\w.\-"']+\s*:(\s|$)""")
OVERRIDE_RE = re.compile(r"^(\+\+|\+|~)?([A-Za-z_][\w\-]*(?:\.[\w\-@]+)*)(?:=(.*))?$", re.S)
FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+|\.inf|\.nan)$", re.I)
STOP_TOKENS = ("|", "||", "&&", ";", "&")


class InputError(ValueError):
    """Input the checker cannot read; ``line``/``column`` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


# ------------------------------------------------------------- helpers ----


def known_key(key: str, keys) -> bool:
    """In ``keys``, or below a leaf of them (a list index, a section that is null here)."""
    if key in keys:
        return True
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in keys:
            return not any(k.startswith(prefix + ".") for k in keys)
    return False


def type_of(value: Any, source: str | None = None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "float" if source is not None and FLOAT_RE.match(source.strip()) else "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "list" if isinstance(value, list) else "mapping"


def _default_type(default: Any) -> str:
    if default == "<long string>":
        return "str"
    if default == "<list of mappings>":
        return "list"
    return type_of(default)


def show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    if isinstance(value, (bool, type(None))):
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


# ---------------------------------------------------------------- input ----

def tokens(text: str) -> list[tuple[str, int]]:
    """Shell-like words with the 1-based line each starts on (quotes removed, ``\\``-newline joins)."""
    out, word, line, start, quote, i = [], None, 1, 1, None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"' and i + 1 < len(text):
                i += 1
                word += text[i]
            else:
                word += ch
        elif ch == "\\" and i + 1 < len(text) and text[i + 1] == "\n":
            i += 1  # the newline itself is counted below
            if word is not None:
                out.append((word, start))
                word = None
        elif ch in " \t\n":
            if word is not None:
                out.append((word, start))
                word = None
        elif ch == "#" and word is None:
            while i + 1 < len(text) and text[i + 1] != "\n":
                i += 1
        else:
            if word is None:
                word, start = "", line
            if ch in "'\"":
                quote = ch
            else:
                word += ch
        if text[i] == "\n":
            line += 1
        i += 1
    if word is not None:
        out.append((word, start))
    return [(w, n) for tok, n in out for w in (tok.split() if " " in tok.strip() else [tok])]


def is_command(text: str) -> bool:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return bool(COMMAND_RE.search(line)) and not YAML_KEY_RE.match(line)
    return False


def parse_value(text: str) -> tuple[Any, str]:
    try:
        return yaml.load(text, Loader=_Loader), text
    except yaml.YAMLError:
        return text, text


def parse_yaml(text: str) -> tuple[list[dict], Any]:
    """``(entries, defaults value)``: one entry per key with dotted name, value, type and position."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(f"malformed YAML: {exc.problem or exc}", mark.line + 1 if mark else None,
                         mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}") from None
    finally:
        loader.dispose()
    if root is None:
        return [], None
    if not isinstance(root, yaml.MappingNode):
        raise InputError("the top level is not a mapping of config keys",
                         root.start_mark.line + 1, root.start_mark.column + 1)
    entries: list[dict] = []
    parents: Any = None

    def walk(node: yaml.MappingNode, prefix: str, inside: bool = False) -> None:
        nonlocal parents
        replace = inside or any(getattr(k, "value", None) == "_override_" for k, _ in node.value)
        for knode, vnode in node.value:
            key = str(knode.value)
            if key == "_override_":
                continue
            if not prefix and key == "defaults":
                parents = loader.construct_object(vnode, deep=True)
                parents_line[0] = knode.start_mark.line + 1
                continue
            entry = {"key": prefix + key, "line": knode.start_mark.line + 1, "column": knode.start_mark.column + 1}
            if isinstance(vnode, yaml.MappingNode):
                entries.append({**entry, "value": {}, "type": "mapping", "replaced": replace})
                walk(vnode, prefix + key + ".", replace)
            else:
                value = loader.construct_object(vnode, deep=True)
                source = vnode.value if isinstance(vnode, yaml.ScalarNode) and vnode.style is None else None
                entries.append({**entry, "value": value, "type": type_of(value, source), "replaced": replace})

    parents_line = [None]
    walk(root, "")
    return entries, (parents, parents_line[0])
