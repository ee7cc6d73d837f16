"""Google-style docstrings for autodoc2: sections become Sphinx field lists.

autodoc2 parses a docstring with the parser named in ``autodoc2_docstring_parser_regexes``
(docutils looks up ``<module>.Parser``), so ``bookkit.apidocs.docstrings`` is such a module.
:func:`google_to_myst` rewrites the Google sections of a docstring into MyST field
lists, and :class:`Parser` hands the result to MyST with the ``fieldlist`` extension on.
Inside a ``py:function`` or ``py:class`` body Sphinx then groups the fields into
*Parameters*, *Returns*, *Return type* and *Raises*; the other sections keep their
own name as the field label.

* Args, Parameters: ``:param name:`` and ``:type name:``;
* Keyword Args: ``:keyword name:`` and ``:kwtype name:``;
* Returns: ``:returns:``, plus ``:rtype:`` when it reads ``type: text``;
* Raises: ``:raises Type:`` per exception;
* Attributes: one field holding a list item per attribute;
* Yields, Examples, Note, Warning, See Also, ...: a field named after the section.

Doctest lines (``>>>``) and ``{doctest}`` fences become ``pycon`` code blocks, RST roles (``:func:`x```)
become MyST roles, so docstrings written for either markup render. Nothing is
dropped: an entry that does not look like ``name (type): text`` is kept as text.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import textwrap

from myst_parser.mdit_to_docutils.sphinx_ import SphinxRenderer
from myst_parser.parsers.mdit import create_md_parser
from myst_parser.parsers.sphinx_ import MystParser

#: Section heading (lower case) -> kind of section.
SECTIONS = {
    "args": "params", "arguments": "params", "parameters": "params", "params": "params",
    "other parameters": "params",
    "keyword args": "keywords", "keyword arguments": "keywords", "kwargs": "keywords",
    "returns": "returns", "return": "returns",
    "raises": "raises", "raise": "raises",
    "yields": "yields", "yield": "yields",
    "examples": "generic", "example": "generic",
    "attributes": "attributes", "note": "generic", "notes": "generic",
    "warning": "generic", "warnings": "generic", "see also": "generic",
    "references": "generic", "todo": "generic", "methods": "generic",
}
_HEADING = re.compile(r"^(?P<name>[A-Za-z][A-Za-z ]*?)\s*:\s*$")
_NAME = r"\*{0,2}[A-Za-z_][\w.]*"
_ENTRY = re.compile(rf"^(?P<name>{_NAME}(?:\s*,\s*{_NAME})*)\s*(?:\((?P<type>.+?)\))?\s*:(?:\s+(?P<desc>.*))?$")
_TYPED_TEXT = re.compile(r"^(?P<type>[\w.]+(?:\[[^\]]*(?:\[[^\]]*\][^\]]*)*\])?(?: \| [\w.\[\], ]+)*):\s+(?P<desc>.+)$")
_RST_ROLE = re.compile(r"(?<![\w`{]):(?:py:)?(?P<role>func|class|meth|mod|obj|attr|exc|data|const)"
                       r":`(?P<target>[^`]+)`")
_OTHER_RST_ROLE = re.compile(r"(?<![\w`{]):(?P<role>[a-z]+(?::[a-z]+)?):`(?P<target>[^`]+)`")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_BLOCK_START = re.compile(r"^\s*(`{3,}|~{3,}|[-*+] |\d+[.)] |>>>|\|)")
#: Sphinx doctest-extension fences; the book does not run a library's doctests, it shows them.
_DOCTEST_FENCE = re.compile(r"^(\s*(?:`{3,}|~{3,}))\{(doctest|testcode|testoutput|testsetup|testcleanup)\}.*$", re.M)
_FENCE_LANGUAGE = {"doctest": "pycon", "testcode": "python", "testoutput": "text", "testsetup": "python",
                   "testcleanup": "python"}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _escape_name(name: str) -> str:
    return name.replace("*", r"\*")


def _field(label: str, body: list[str]) -> list[str]:
    """One MyST field; body lines after the first are indented under the field."""
    body = list(body)
    while body and not body[-1].strip():
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    indented = ["  " + b if b.strip() else "" for b in body]
    if body and _BLOCK_START.match(body[0]):  # a code fence or list cannot share the label's line
        return [f":{label}:", *indented]
    return [f":{label}: {body[0].strip() if body else ''}".rstrip(), *indented[1:]]


def _doctests(lines: list[str]) -> list[str]:
    """Wrap runs of ``>>>`` lines (with their output) in ``pycon`` fences."""
    out, i, in_fence = [], 0, False
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and line.lstrip().startswith(">>>"):
            indent = " " * _indent(line)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].strip())
                i += 1
            out += [f"{indent}```pycon", *[indent + b for b in block], f"{indent}```"]
            continue
        out.append(line)
        i += 1
    return out


def _entries(body: list[str]) -> list[list[str]] | None:
    """Split a section body into entries (first line at the shallowest indent)."""
    lines = textwrap.dedent("\n".join(body)).splitlines()
    entries: list[list[str]] = []
    for line in lines:
        if line.strip() and _indent(line) == 0:
            entries.append([line])
        elif entries:
            entries[-1].append(line)
        elif line.strip():
            return None
    return entries


def _entry_parts(entry: list[str]) -> tuple[str, str | None, list[str]] | None:
    m = _ENTRY.match(entry[0].strip())
    if not m:
        return None
    desc = [m.group("desc") or ""] + textwrap.dedent("\n".join(entry[1:])).splitlines()
    return m.group("name"), m.group("type"), desc


def _convert_section(kind: str, title: str, body: list[str]) -> list[str]:
    entries = _entries(body)
    text = textwrap.dedent("\n".join(body)).splitlines()
    if kind in ("params", "keywords") and entries and _entry_parts(entries[0]):
        parsed: list[tuple[str, str | None, list[str]]] = []
        for entry in entries:
            parts = _entry_parts(entry)
            if parts:
                parsed.append(parts)
            else:  # a note between or after the entries stays with the entry above it
                parsed[-1][2].extend(["", *textwrap.dedent("\n".join(entry)).splitlines()])
        out: list[str] = []
        key, typekey = ("param", "type") if kind == "params" else ("keyword", "kwtype")
        for names, type_, desc in parsed:
            for name in re.split(r"\s*,\s*", names):  # "*args, **kwargs: text" documents both
                out += _field(f"{key} {_escape_name(name)}", desc)
                if type_:
                    out.append(f":{typekey} {_escape_name(name)}: {type_.strip()}")
        return out
    if kind == "raises" and entries:
        out = []
        for entry in entries:
            m = re.match(r"^(?P<exc>[A-Za-z_][\w.]*)\s*:(?:\s+(?P<desc>.*))?$", entry[0].strip())
            if not m:
                return _field(title, text)
            desc = [m.group("desc") or ""] + textwrap.dedent("\n".join(entry[1:])).splitlines()
            out += _field(f"raises {m.group('exc')}", desc)
        return out
    if kind == "attributes" and entries and all(_entry_parts(e) for e in entries):
        out = [f":{title}:"]
        for name, type_, desc in map(_entry_parts, entries):  # type: ignore[misc]
            head = f"- **{_escape_name(name)}**" + (f" (*{type_.strip()}*)" if type_ else "")
            body = [desc[0], *desc[1:]]
            out += [f"  {head} – {body[0]}".rstrip()] + ["    " + b if b.strip() else "" for b in body[1:]]
        return out
    if kind == "yields" and text:
        m = _TYPED_TEXT.match(text[0].strip())
        if m:
            return _field(title, [f"*{m.group('type')}* – {m.group('desc')}", *text[1:]])
    if kind == "returns" and text:
        m = _TYPED_TEXT.match(text[0].strip())
        if m:
            return _field("returns", [m.group("desc"), *text[1:]]) + [f":rtype: {m.group('type')}"]
        return _field("returns", text)
    return _field(title, text)


def convert_roles(text: str) -> str:
    """RST cross-reference roles (``:func:`x```) written as MyST roles (``{py:func}`x```)."""
    text = _RST_ROLE.sub(lambda m: "{py:%s}`%s`" % (m.group("role"), m.group("target")), text)
    return _OTHER_RST_ROLE.sub(lambda m: "{%s}`%s`" % (m.group("role"), m.group("target")), text)


def google_to_myst(docstring: str) -> str:
    """The docstring with its Google sections rewritten as MyST field lists."""
    text = textwrap.dedent(docstring.expandtabs(4)).strip("\n")
    text = _DOCTEST_FENCE.sub(lambda m: m.group(1) + _FENCE_LANGUAGE[m.group(2)], text)
    head = _HEADING.match(text.split("\n", 1)[0])
    if not (head and head.group("name").lower() in SECTIONS):
        text = inspect.cleandoc(text)  # the summary line may sit right after the opening quotes
    lines = text.splitlines()
    out: list[str] = []
    i, in_fence = 0, False
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        kind = SECTIONS.get(m.group("name").lower()) if m else None
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if kind and nxt.strip() and _indent(nxt) > _indent(line):
            base = _indent(line)
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
                j += 1
            body = lines[i + 1:j]
            title = m.group("name").strip().title().replace("Also", "also")  # type: ignore[union-attr]
            section = _convert_section(kind, title, _doctests(body))
            if out and out[-1].strip() and not out[-1].lstrip().startswith(":"):
                out.append("")
            out += [" " * base + s if s else "" for s in section]
            i = j
            continue
        out.append(line)
        i += 1
    return convert_roles("\n".join(_doctests(out)))


_PARSERS: dict[int, tuple[object, object]] = {}


def _md_parser(config):  # noqa: ANN001, ANN202
    """The book's MyST parser with ``fieldlist`` on, built once per build configuration.

    Building a markdown-it parser costs milliseconds; NeMo RL has ten thousand docstrings.
    """
    cached = _PARSERS.get(id(config))
    if cached is None or cached[0] is not config:
        extensions = set(config.enable_extensions) | {"fieldlist"}
        parser = create_md_parser(dataclasses.replace(config, enable_extensions=extensions), SphinxRenderer)
        _PARSERS.clear()
        _PARSERS[id(config)] = cached = (config, parser)
    return cached[1]


class Parser(MystParser):
    """MyST parser for Google-style docstrings (``:parser: bookkit.apidocs.docstrings``)."""

    supported = ("google-myst",)

    def parse(self, inputstring: str, document) -> None:  # noqa: ANN001
        parser = _md_parser(document.settings.env.myst_config)
        parser.options["document"] = document
        parser.render(google_to_myst(inputstring))
        # autodoc2 parses each docstring into a throw-away document and moves its nodes into
        # the page; nodes keeping a reference to it would pickle that whole document (settings,
        # reporter, ids) into the page's doctree -- about 20 kB per docstring. Without the
        # reference a node finds its document through its parent, the page.
        for node in document.findall(include_self=False):
            node.document = None
