"""The book's site map: the one walker over ``_toc.yml`` every extension and tool shares.

``walk(site_map)`` visits the external site map (``_toc.yml``, after gating has pruned
it) depth first from the root and returns one :class:`TocEntry` per document: its name,
the caption of the part it sits in (``""`` for the root and for books without parts) and
the names of its ancestors below the root. ``toc_entries(app)`` does the same for the
pages a build publishes (pages Sphinx read that the toc does not list follow in
alphabetical order): the per-page JSON (breadcrumbs), the llms files (grouping by part)
and search (facets) use it. ``children`` lists one entry's documents (section cards,
gating), ``read_toc`` parses a book's ``_toc.yml`` without Sphinx (``bookkit report``,
tests), ``strip_suffix`` turns a toc or link name into a document name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sphinx.application import Sphinx

from bookkit.core.pages import SOURCE_SUFFIXES


@dataclass(frozen=True)
class TocEntry:
    docname: str
    part: str
    ancestors: tuple[str, ...]


def strip_suffix(name: str) -> str:
    """``guides/grpo.md`` -> ``guides/grpo``; a leading ``/`` (a root-relative name) is dropped."""
    for suffix in SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name.lstrip("/")


def site_map_of(app: Any) -> Any:
    """sphinx-external-toc's site map of this build, or None (no ``_toc.yml``).

    The config's map is parsed from ``_toc.yml`` by this build; ``env.external_site_map`` is the
    previous build's until sphinx-external-toc updates it, so on a warm rebuild it lacks the
    entries just added (and a page just listed would be called unlisted).
    """
    return getattr(app.config, "external_site_map", None) or getattr(getattr(app, "env", None), "external_site_map", None)


def read_toc(book: Path | str) -> Any:
    """The site map of ``<book>/_toc.yml``, parsed as sphinx-external-toc parses it."""
    from sphinx_external_toc.parsing import parse_toc_yaml
    return parse_toc_yaml(Path(book) / "_toc.yml")


def children(site_map: Any, docname: str) -> list[str]:
    """Document names listed under ``docname``, in toc order."""
    if site_map is None or docname not in site_map:
        return []
    return [strip_suffix(str(item)) for tree in site_map[docname].subtrees
            for item in tree.items if isinstance(item, str)]


def walk(site_map: Any, include: Callable[[str], bool] = lambda docname: True) -> list[TocEntry]:
    """Every document of ``site_map`` that ``include`` accepts, depth first from the root, once each
    (below a document ``include`` refuses, nothing is visited)."""
    out: list[TocEntry] = []
    seen: set[str] = set()
    root = strip_suffix(site_map.root.docname)

    def visit(docname: str, part: str, ancestors: tuple[str, ...]) -> None:
        if docname in seen or not include(docname):
            return
        seen.add(docname)
        out.append(TocEntry(docname, part, ancestors))
        for tree in (site_map[docname].subtrees if docname in site_map else []):
            child_part = tree.caption or part if not ancestors and docname == root else part
            below = ancestors + ((docname,) if docname != root else ())
            for item in tree.items:
                if isinstance(item, str):
                    visit(strip_suffix(str(item)), child_part, below)

    visit(root, "", ())
    return out


def toc_entries(app: Sphinx) -> list[TocEntry]:
    """Published pages in toc order (see the module docstring)."""
    found = set(app.env.found_docs)
    site_map = site_map_of(app)
    root = app.config.root_doc
    if site_map is not None:
        out = walk(site_map, lambda docname: docname in found)
    else:
        out = [TocEntry(root, "", ())] if root in found else []
    seen = {e.docname for e in out}
    return out + [TocEntry(d, "", ()) for d in sorted(found - seen)]


def book_title(app: Sphinx) -> str:
    """The book's title: Jupyter Book's ``title`` (html_title), else Sphinx's ``project``."""
    project = app.config.project or ""
    return project if project and project != "Project name not set" else (app.config.html_title or project)
