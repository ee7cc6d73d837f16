"""Remove gated-out ``{only-audience}`` blocks (and notebook cells) from a page's source text.

Used twice by :mod:`bookkit.gating`, with the same rules each time, so what a
reader sees and what a reader downloads agree:

* on ``source-read``, before MyST parses the page, gated-out blocks become blank
  lines (so every later warning still points at the right line);
* on ``build-finished``, the copies of the sources that Sphinx publishes
  (``_sources/<page>.md.txt``, the ``.ipynb`` download) are rewritten with the
  gated-out blocks removed.

A block is a MyST directive fence, with backticks or colons::

    ```{only-audience} ea or internal
    Text only early-access and internal readers see.
    ```

Blocks nest inside other directives (notes, cards, tabs) and inside each other;
fences of code (``python``, ``{code-block}``...) are left alone, so pages can show
the syntax as an example. In a notebook, a markdown cell's text is filtered the
same way and any cell whose metadata has ``"only": "<condition>"`` is dropped as
a whole when its condition excludes the audience.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from bookkit.gating.conditions import ConditionError, parse

DIRECTIVE = "only-audience"
#: Directives whose body is code or raw text, never MyST: their fences are not searched.
CODE_DIRECTIVES = frozenset({"code", "code-block", "sourcecode", "code-cell", "literalinclude", "math",
                             "raw", "eval-rst", "mermaid", "csv-table", "jupyter-execute"})
_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
_NAME = re.compile(r"^\{([^}\s]+)\}")


@dataclass
class Filtered:
    """The filtered text, what was wrong (``(line, condition, problem)``) and how many blocks went."""

    text: str
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    removed: int = 0


def _closing(lines: list[str], start: int, fence: str, hi: int) -> int:
    """Index of the line closing the fence opened at ``start``; ``hi - 1`` when it is never closed."""
    close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
    for j in range(start + 1, hi):
        if close.match(lines[j]):
            return j
    return hi - 1


def _filter(lines: list[str], lo: int, hi: int, audience: str, out: Filtered, offset: int) -> None:
    i = lo
    while i < hi:
        m = _OPEN.match(lines[i])
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):
            i += 1
            continue
        end = _closing(lines, i, m["fence"], hi)
        name = _NAME.match(m["info"].strip())
        if name and name.group(1) == DIRECTIVE:
            condition = m["info"].strip()[name.end():].strip()
            keep = False
            try:
                keep = parse(condition).allows(audience)
            except ConditionError as exc:
                out.problems.append((i + 1 + offset, condition, exc.problem))
            if keep:
                _filter(lines, i + 1, end, audience, out, offset)
            else:
                out.removed += 1
                for j in range(i, end + 1):
                    lines[j] = None  # type: ignore[call-overload]
        elif name and name.group(1) not in CODE_DIRECTIVES:
            _filter(lines, i + 1, end, audience, out, offset)
        i = end + 1


def filter_markdown(text: str, audience: str, *, blank: bool = True, offset: int = 0) -> Filtered:
    """``text`` without the blocks ``audience`` may not see (blank lines instead when ``blank``)."""
    if DIRECTIVE not in text:
        return Filtered(text)
    lines: list = text.split("\n")
    out = Filtered("")
    _filter(lines, 0, len(lines), audience, out, offset)
    kept = [("" if line is None else line) for line in lines] if blank else [x for x in lines if x is not None]
    out.text = "\n".join(kept)
    return out


def filter_notebook(text: str, audience: str, *, blank: bool = True) -> Filtered:
    """A notebook's JSON without gated-out cells and markdown blocks.

    Problems name the cell as ``line`` = its 1-based cell number.
    """
    if DIRECTIVE not in text and '"only"' not in text:
        return Filtered(text)
    try:
        nb = json.loads(text)
    except json.JSONDecodeError:
        return Filtered(text)  # bookkit.content.frontmatter and myst-nb report broken notebooks
    out = Filtered("")
    cells = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        condition = (cell.get("metadata") or {}).get("only")
        if condition is not None:
            try:
                visible = parse(condition).allows(audience)
            except ConditionError as exc:
                out.problems.append((number, str(condition), exc.problem))
                visible = False
            if not visible:
                out.removed += 1
                continue
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            inner = filter_markdown(source, audience, blank=blank)
            out.removed += inner.removed
            out.problems += [(number, cond, f"markdown line {line}: {problem}")
                             for line, cond, problem in inner.problems]
            cell["source"] = inner.text.splitlines(keepends=True)
        cells.append(cell)
    if not out.removed and not out.problems:
        return Filtered(text)
    nb["cells"] = cells
    out.text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    return out


def filter_source(suffix: str, text: str, audience: str, *, blank: bool = True) -> Filtered:
    """Dispatch on the source suffix (``.ipynb`` or Markdown)."""
    if suffix == ".ipynb":
        return filter_notebook(text, audience, blank=blank)
    return filter_markdown(text, audience, blank=blank)
