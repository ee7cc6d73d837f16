"""Read a page's front matter from its source file: the one reader every extension shares.

A Markdown page starts with a ``---`` YAML block; a notebook keeps the same keys at
the top level of its notebook metadata (MyST-NB turns those into the page's front
matter). Keys owned by Jupyter tools (``kernelspec``, ``language_info`` ...) are
not front matter and are left out.

Results are cached per (path, mtime), so cards, learning paths, JSON and search
all read a page's front matter once per build.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

#: Notebook metadata keys written by Jupyter tools, not by authors.
TOOL_KEYS = frozenset(
    {"kernelspec", "language_info", "widgets", "jupytext", "mystnb", "vscode", "colab",
     "accelerator", "execution", "toc", "nbsphinx", "celltoolbar", "varInspector", "myst"}
)
SOURCE_SUFFIXES = (".md", ".ipynb")
_FENCE = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(\n|\Z)", re.S)


class FrontMatterError(ValueError):
    """Front matter that cannot be read at all (bad YAML, not a mapping, bad JSON)."""

    def __init__(self, path: Path, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass(frozen=True)
class FrontMatter:
    """A page's front matter with the source line of each top-level key."""

    path: Path
    data: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)
    first_heading: str = ""

    @property
    def title(self) -> str:
        """The page title: ``title`` from front matter, else the first heading, else the file stem."""
        return str(self.data.get("title") or self.first_heading or self.path.stem)

    def line_of(self, key: str) -> int:
        """Source line of ``key`` (1-based), or the first line when the key is absent."""
        return self.lines.get(key, 1)


def _key_lines(block: str, offset: int) -> dict[str, int]:
    lines = {}
    for i, text in enumerate(block.splitlines()):
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:", text)
        if m:
            lines.setdefault(m.group(1), i + offset)
    return lines


def _first_heading(markdown: str) -> str:
    in_fence = False
    for text in markdown.splitlines():
        if text.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        m = None if in_fence else re.match(r"^#\s+(.+?)\s*#*\s*$", text)
        if m:
            return m.group(1).strip()
    return ""


def parse_markdown(path: Path, text: str) -> FrontMatter:
    """Front matter of a Markdown page's text."""
    m = _FENCE.match(text)
    if not m:
        return FrontMatter(path, {}, {}, _first_heading(text))
    block = m.group(1) or ""
    try:
        data = yaml.safe_load(block) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise FrontMatterError(path, line, f"front matter is not valid YAML: {problem}. "
                               "Fix the YAML between the two '---' lines (quote values containing ': ').") from None
    if not isinstance(data, dict):
        raise FrontMatterError(path, 2, "front matter must be a mapping of keys to values (key: value).")
    return FrontMatter(path, data, _key_lines(block, 2), _first_heading(text[m.end():]))


def parse_notebook(path: Path, text: str) -> FrontMatter:
    """Front matter of a notebook: its top-level metadata minus Jupyter's own keys."""
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FrontMatterError(path, exc.lineno, f"notebook is not valid JSON: {exc.msg}") from None
    meta = nb.get("metadata", {}) if isinstance(nb, dict) else {}
    data = {k: v for k, v in meta.items() if k not in TOOL_KEYS}
    heading = ""
    for kind, src in notebook_cells(nb):
        if kind == "markdown":
            heading = _first_heading(src)
            if heading:
                break
    lines = {}
    for key in data:
        m = re.search(r'^\s*"%s"\s*:' % re.escape(key), text, re.M)
        if m:
            lines[key] = text.count("\n", 0, m.start()) + 1
    return FrontMatter(path, data, lines, heading)


def notebook_cells(notebook: str | dict) -> list[tuple[str, str]]:
    """``(cell_type, source)`` of every cell of a notebook (its JSON text, or the parsed notebook),
    each source as one string: the one reading of cells that front matter, refcheck, the word
    counts and the own-words check share."""
    nb = json.loads(notebook) if isinstance(notebook, str) else notebook
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    return [(str(c.get("cell_type", "")), "".join(c.get("source", "")) if isinstance(c.get("source"), list)
             else c.get("source", "")) for c in cells]


@lru_cache(maxsize=4096)
def _read_cached(path: str, mtime_ns: int) -> FrontMatter:
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    return parse_notebook(p, text) if p.suffix == ".ipynb" else parse_markdown(p, text)


def read_front_matter(path: Path | str) -> FrontMatter:
    """Front matter of the page at ``path`` (``.md`` or ``.ipynb``), cached by mtime."""
    p = Path(path)
    return _read_cached(str(p), p.stat().st_mtime_ns)


def source_of(srcdir: Path | str, docname: str) -> Path | None:
    """The source file of ``docname`` under ``srcdir``, or None."""
    for suffix in SOURCE_SUFFIXES:
        candidate = Path(srcdir) / f"{docname}{suffix}"
        if candidate.is_file():
            return candidate
    return None
