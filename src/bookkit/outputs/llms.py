"""``llms.txt``, ``llms-full.txt`` and a Markdown copy of every page, for language-model readers.

* ``<page>.md`` beside every page's HTML: the page as clean Markdown (from
  :func:`bookkit.text.markdown.to_markdown`), its links pointing at the other pages'
  ``.md`` copies.
* ``llms.txt`` (the llmstxt.org layout): the book's title as ``#``, the home
  page's description as a ``>`` summary, then one ``##`` group per part of the
  toc, each listing its pages in toc order as ``- [Title](page.md): description``.
* ``llms-full.txt``: every page's Markdown, in toc order, each introduced by its
  URL, links relative to the site root.

Only published pages appear: a gated-out page is never read (bookkit.gating),
and gated-out blocks never reach the doctree. Files are written on
``build-finished`` only when changed. Set ``html_baseurl`` to make the links in
``llms.txt`` absolute.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from bookkit import __version__
from bookkit.core.io import write_if_changed
from bookkit.core.settings import read, register, setting
from bookkit.core.store import run_state
from bookkit.core.toc import book_title, toc_entries
from bookkit.outputs.json_output import front_matter
from bookkit.text import pagetext
from bookkit.text.markdown import to_markdown

logger = logging.getLogger(__name__)
CACHE = "bookkit-llms"


@dataclass(frozen=True)
class LlmsSettings:
    llms_enabled: bool = setting(True, "Write llms.txt, llms-full.txt and <page>.md copies.")
    llms_page_markdown: bool = setting(True, "Write a Markdown copy <page>.md beside every page's HTML.")


def _enabled(app: Sphinx) -> bool:
    return app.builder.name in ("html", "dirhtml") and read(app.config, LlmsSettings).llms_enabled


_LINK = re.compile("\x00([^\x01]*)\x01")


def markdown_pair(app: Sphinx, doctree: nodes.document, docname: str) -> tuple[str, str]:
    """The page's Markdown with links relative to the page, and relative to the site root.

    Rendered once: internal links carry a placeholder that is then filled in both ways.
    """
    def url_for(link: pagetext.Link) -> str:
        target = link.target + ".md" if link.target in app.env.found_docs else link.target
        return f"\x00{target}\x01" + (f"#{link.anchor}" if link.anchor else "")

    def image_url(uri: str) -> str:  # where the HTML builder publishes the image
        known = app.env.images.get(uri)
        return f"\x00_images/{known[1]}\x01" if known else uri

    markdown = to_markdown(doctree, docname, url_for, image_url)
    folder = posixpath.dirname(docname) or "."
    return (_LINK.sub(lambda m: posixpath.relpath(m.group(1), folder), markdown),
            _LINK.sub(lambda m: m.group(1), markdown))


@dataclass
class LlmsRun:
    """Run state: ``(page copy, llms-full copy)`` of the pages written in this build."""

    fresh: dict[str, tuple[str, str]] = field(default_factory=dict)


def collect(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """doctree-resolved: the page as Markdown, kept for build-finished."""
    if _enabled(app):
        run_state(app, LlmsRun).fresh[docname] = markdown_pair(app, doctree, docname)


def _pair(app: Sphinx, docname: str) -> tuple[str, str]:
    fresh = run_state(app, LlmsRun).fresh
    if docname in fresh:
        return fresh[docname]
    page = Path(app.outdir) / f"{docname}.md"
    full = Path(app.doctreedir) / CACHE / f"{docname}.md"
    if page.is_file() and full.is_file():
        return page.read_text(encoding="utf-8"), full.read_text(encoding="utf-8")
    return markdown_pair(app, app.env.get_and_resolve_doctree(docname, app.builder), docname)


def _base(app: Sphinx) -> str:
    base = app.config.html_baseurl or ""
    return base if not base or base.endswith("/") else base + "/"


def llms_txt(app: Sphinx, pages: list[tuple[Any, dict]]) -> str:
    """The llms.txt index: title, summary, one group per part with a link per page."""
    root = app.config.root_doc
    home = next((fm for entry, fm in pages if entry.docname == root), {})
    lines = [f"# {book_title(app)}", ""]
    if home.get("description"):
        lines += [f"> {home['description']}", ""]
    lines += ["Every page is linked as Markdown; llms-full.txt holds all pages in one file.", ""]
    group = None
    for entry, fm in pages:
        heading = entry.part or ("Home" if entry.docname == root else "Pages")
        if heading != group:
            lines += ([""] if group is not None else []) + [f"## {heading}", ""]
            group = heading
        title = fm.get("title") or (app.env.titles[entry.docname].astext() if entry.docname in app.env.titles
                                    else entry.docname)
        desc = f": {fm['description']}" if fm.get("description") else ""
        lines.append(f"- [{title}]({_base(app)}{entry.docname}.md){desc}")
    return "\n".join(lines) + "\n"


def write(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: per-page Markdown, llms.txt and llms-full.txt, each only when changed."""
    if exception is not None or not _enabled(app):
        return
    outdir, cache = Path(app.outdir), Path(app.doctreedir) / CACHE
    settings = read(app.config, LlmsSettings)
    entries = toc_entries(app)
    pages, full = [], [f"# {book_title(app)}", ""]
    written = 0
    for entry in entries:
        page_md, full_md = _pair(app, entry.docname)
        if settings.llms_page_markdown:
            written += write_if_changed(outdir / f"{entry.docname}.md", page_md)
        write_if_changed(cache / f"{entry.docname}.md", full_md)
        pages.append((entry, front_matter(app, entry.docname)))
        url = app.builder.get_target_uri(entry.docname)
        full += ["---", "", f"Source: {_base(app)}{url}", "", full_md.rstrip(), ""]
    written += write_if_changed(outdir / "llms.txt", llms_txt(app, pages))
    written += write_if_changed(outdir / "llms-full.txt", "\n".join(full).rstrip() + "\n")
    logger.info(f"[llms] {len(entries)} pages, {written} file(s) changed")


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, LlmsSettings)
    app.connect("doctree-resolved", collect)
    app.connect("build-finished", write)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
