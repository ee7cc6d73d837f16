"""``bookkit report``: pages per section, front-matter completeness and words per page.

Reads ``_toc.yml`` and each listed page's source (no build needed) and prints two
tables: one row per toc part (pages, curated pages, words, front-matter completeness)
and, with ``--pages``, one row per page. Completeness counts the schema's required
keys plus the optional keys every page should also carry (``time_minutes``; and
``prerequisites``, possibly an empty list, on pages read in order: concepts, guides,
tutorials, examples and use cases). Notebook word counts include their
Markdown cells only; generated API pages are not listed in the toc and not counted.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from bookkit.content.frontmatter import schema
from bookkit.core.pages import FrontMatterError, notebook_cells, read_front_matter, source_of
from bookkit.core.toc import read_toc, walk

LEARNING_TYPES = ("concept", "guide", "tutorial", "example", "use-case")
_FENCE = re.compile(r"\A---\n.*?\n---\n", re.S)
_CODE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


@dataclass(frozen=True)
class PageRow:
    """One page's figures."""

    docname: str
    part: str
    content_type: str
    words: int
    keys_present: int
    keys_expected: int

    @property
    def complete(self) -> bool:
        """True when the page carries every key it should."""
        return self.keys_present == self.keys_expected


def toc_pages(book: Path) -> list[tuple[str, str]]:
    """``(docname, part caption)`` for every toc entry, in toc order."""
    entries = walk(read_toc(book))
    return [(e.docname, e.part if e is not entries[0] else "(home)") for e in entries]


def words_of(path: Path) -> int:
    """Prose words of a page: front matter and code blocks left out."""
    if path.suffix == ".ipynb":
        text = "\n".join(src for kind, src in notebook_cells(path.read_text("utf-8")) if kind == "markdown")
    else:
        text = _FENCE.sub("", path.read_text("utf-8"), count=1)
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", _CODE.sub("", text)))


def page_row(book: Path, docname: str, part: str) -> PageRow:
    """Figures for one toc entry."""
    path = source_of(book, docname)
    if path is None:
        raise SystemExit(f"{book / '_toc.yml'}: entry '{docname}' has no source file; fix the toc")
    try:
        data = read_front_matter(path).data
    except FrontMatterError as exc:
        raise SystemExit(str(exc)) from None
    expected = list(schema()["required"]) + ["time_minutes"]
    if data.get("content_type") in LEARNING_TYPES:
        expected.append("prerequisites")
    present = sum(1 for key in expected if key in data and data[key] is not None)
    return PageRow(docname, part, str(data.get("content_type", "?")), words_of(path), present, len(expected))


def rows(book: Path) -> list[PageRow]:
    """A row for every page in the toc, in toc order."""
    return [page_row(book, docname, part) for docname, part in toc_pages(book)]


def render(all_rows: list[PageRow], per_page: bool = False) -> str:
    """The report as plain-text tables."""
    parts: dict[str, list[PageRow]] = {}
    for row in all_rows:
        parts.setdefault(row.part, []).append(row)
    out = [f"{'section':<20} {'pages':>5} {'curated':>7} {'words':>7} {'words/page':>10} {'front matter complete':>22}"]
    for part, items in parts.items():
        curated = [r for r in items if r.content_type != "landing" and not r.docname.startswith("notebooks/")]
        words = sum(r.words for r in items)
        done = sum(r.complete for r in items)
        out.append(f"{part:<20} {len(items):>5} {len(curated):>7} {words:>7} {words // max(len(items), 1):>10} "
                   f"{done:>12}/{len(items)} ({100 * done // max(len(items), 1)}%)")
    total = len(all_rows)
    curated = sum(1 for r in all_rows if r.content_type != "landing" and not r.docname.startswith("notebooks/"))
    notebooks = sum(1 for r in all_rows if r.docname.startswith("notebooks/"))
    words = sum(r.words for r in all_rows)
    done = sum(r.complete for r in all_rows)
    out.append(f"{'total':<20} {total:>5} {curated:>7} {words:>7} {words // max(total, 1):>10} "
               f"{done:>12}/{total} ({100 * done // max(total, 1)}%)")
    out.append(f"\n{total} pages in the toc: {curated} curated pages, {notebooks} notebooks, "
               f"{total - curated - notebooks} landing pages (generated API pages not counted).")
    if per_page:
        out.append(f"\n{'page':<62} {'type':<10} {'words':>6} {'front matter':>12}")
        out += [f"{r.docname:<62} {r.content_type:<10} {r.words:>6} {r.keys_present:>9}/{r.keys_expected}"
                for r in all_rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bookkit report", description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=Path("book"), help="book root (default: book)")
    parser.add_argument("--pages", action="store_true", help="also list every page")
    args = parser.parse_args(argv)
    print(render(rows(args.book), per_page=args.pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
