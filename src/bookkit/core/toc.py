"""The book's pages in table-of-contents order, with their part and ancestors.

``toc_entries(app)`` walks the external site map (``_toc.yml`` after gating has
pruned it) depth first from the root and returns one :class:`TocEntry` per
published page: its document name, the caption of the part it sits in (``""``
for the root and for books without parts) and the document names of its
ancestors below the root. Pages Sphinx read that the toc does not list (a book
without an external toc) follow in alphabetical order. Used by the per-page
JSON (breadcrumbs) and the llms files (grouping by part).
"""

from __future__ import annotations

from dataclasses import dataclass

from sphinx.application import Sphinx

from bookkit.core.pages import SOURCE_SUFFIXES


@dataclass(frozen=True)
class TocEntry:
    docname: str
    part: str
    ancestors: tuple[str, ...]


def _name(item: str) -> str:
    for suffix in SOURCE_SUFFIXES:
        if item.endswith(suffix):
            return item[: -len(suffix)]
    return item


def toc_entries(app: Sphinx) -> list[TocEntry]:
    """Published pages in toc order (see the module docstring)."""
    found = set(app.env.found_docs)
    site_map = getattr(app.env, "external_site_map", None) or getattr(app.config, "external_site_map", None)
    out: list[TocEntry] = []
    seen: set[str] = set()

    def visit(docname: str, part: str, ancestors: tuple[str, ...]) -> None:
        if docname in seen or docname not in found:
            return
        seen.add(docname)
        out.append(TocEntry(docname, part, ancestors))
        doc = site_map[docname] if docname in site_map else None
        for tree in (doc.subtrees if doc is not None else []):
            child_part = tree.caption or part if not ancestors and docname == root else part
            below = ancestors + ((docname,) if docname != root else ())
            for item in tree.items:
                if isinstance(item, str):
                    visit(_name(str(item)), child_part, below)

    root = app.config.root_doc
    if site_map is not None:
        root = _name(site_map.root.docname)
        visit(root, "", ())
    elif root in found:
        seen.add(root)
        out.append(TocEntry(root, "", ()))
    out += [TocEntry(d, "", ()) for d in sorted(found - seen)]
    return out
