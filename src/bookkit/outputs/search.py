"""Faceted full-text search with Pagefind, built inside the documented build command.

What it does:

* **Marks what is indexed.** On ``html-page-context`` every page's article body is
  wrapped in ``<div data-pagefind-body>``, so Pagefind indexes page content only
  (no sidebars, navbar or footer; pages without a body such as ``genindex`` are
  not indexed at all). Hidden elements inside the wrapper carry the page's
  title, its breadcrumb (``data-pagefind-meta``) and its facets from front matter
  (``data-pagefind-filter``): ``section`` (the toc part), ``persona``,
  ``difficulty``, ``type`` (content type) and ``modality``.
* **Finds identifiers whole and in parts.** After every identifier in a code span
  (``grpo.max_num_steps``, ``ClippedPGLossFn``, ``run_grpo.py``) ``display:none``
  spans hold its keys (``grpomaxnumsteps maxnumsteps``) and its words (``grpo max num
  steps``); the search box turns an identifier in a query into its key, so the whole
  name, a dotted tail of it, or its words all match.
* **Ranks definitions first.** The first cell of a table row that holds only a code
  span (configuration keys), API signatures and definition-list terms get
  ``data-pagefind-weight`` ``search_definition_weight``, so ``grpo.max_num_steps``
  finds the row that defines it. Pages under ``search_api_prefixes`` are wrapped in
  ``search_api_weight`` so guides rank above API pages for questions in words.
* **Opens results at their heading.** Each section's id moves onto its heading, where
  Pagefind looks for it, so every heading becomes a sub-result with its anchor.
* **Indexes on build-finished.** With the html or dirhtml builder and no build
  error, the Pagefind binary from the ``pagefind-bin`` wheel (no network) indexes
  the output folder into ``<html>/pagefind/``. A failing indexer fails the build.
* **Opens from the theme.** ``_static/bookkit-search.js`` turns the theme's search
  button and Ctrl+K / Cmd+K into a dialog that loads Pagefind lazily from the
  site's own ``pagefind/`` folder (relative to the page, so any sub-path works).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from bookkit import __version__
from bookkit.content.frontmatter import FRONT_MATTER
from bookkit.core.io import STATIC
from bookkit.core.settings import read, register, setting
from bookkit.core.store import run_state
from bookkit.core.toc import toc_entries
from bookkit.outputs.search_markup import PagefindMarkup

logger = logging.getLogger(__name__)
#: Facet name in the index -> front-matter key.
FACETS = {"persona": "personas", "difficulty": "difficulty", "type": "content_type", "modality": "modality"}
BREADCRUMB_SEPARATOR = " › "


@dataclass(frozen=True)
class SearchSettings:
    search_enabled: bool = setting(True, "Index the built site with Pagefind on build-finished.", rebuild="html")
    search_api_prefixes: list = setting(["api/"], "Document-name prefixes of API pages (ranked below guides).",
                                        rebuild="html")
    search_api_weight: float = setting(0.4, "Pagefind weight of API page text (1 is normal).", rebuild="html")
    search_definition_weight: float = setting(
        10.0, "Pagefind weight of defining occurrences: config-key cells, API signatures, glossary terms.",
        rebuild="html")
    search_output_subdir: str = setting("pagefind", "Folder of the search index, relative to the HTML output.",
                                        rebuild="html")


@dataclass
class SearchRun:
    """Run state: each published page's toc part and ancestors (computed on the first page written)."""

    toc: dict[str, tuple[str, tuple[str, ...]]] | None = None


def _enabled(app: Sphinx) -> bool:
    return app.builder.name in ("html", "dirhtml") and read(app.config, SearchSettings).search_enabled


# ------------------------------------------------------------------ page markup ----

def _hidden(attr: str, value: str) -> str:
    return f'<span {attr} hidden>{html.escape(value, quote=False)}</span>'


def page_markup(body: str, *, title: str, breadcrumb: str, filters: list[tuple[str, str]],
                weight: float | None) -> str:
    """``body`` wrapped for Pagefind: meta and filters first, then the weighted content."""
    parts = ['<div data-pagefind-body class="bk-search-body">', _hidden('data-pagefind-meta="title"', title)]
    if breadcrumb:
        parts.append(_hidden('data-pagefind-meta="breadcrumb"', breadcrumb))
    parts += [_hidden(f'data-pagefind-filter="{name}"', value) for name, value in filters if value]
    content = body  # its definitions and identifiers were marked while it was written (PagefindMarkup)
    if weight is not None:
        content = f'<div data-pagefind-weight="{weight:g}">{content}</div>'
    parts += [content, "</div>"]
    return "".join(parts)


def _toc_info(app: Sphinx) -> dict[str, tuple[str, tuple[str, ...]]]:
    state = run_state(app, SearchRun)
    if state.toc is None:
        state.toc = {e.docname: (e.part, e.ancestors) for e in toc_entries(app)}
    return state.toc


def facets_of(front_matter: dict[str, Any], part: str) -> list[tuple[str, str]]:
    """``(facet, value)`` pairs of a page: its part, then the front-matter facets."""
    out = [("section", part)] if part else []
    for facet, key in FACETS.items():
        value = front_matter.get(key)
        for item in (value if isinstance(value, list) else [value]):
            if isinstance(item, str) and item:
                out.append((facet, item))
    return out


def mark_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """html-page-context: wrap a page's body for Pagefind."""
    if not _enabled(app) or doctree is None or "body" not in context or pagename not in app.env.found_docs:
        return
    cfg = read(app.config, SearchSettings)
    part, ancestors = _toc_info(app).get(pagename, ("", ()))
    titles = app.env.titles
    crumbs = [titles[a].astext() for a in ancestors if a in titles]
    if part and (not crumbs or crumbs[0] != part):
        crumbs.insert(0, part)
    front = dict(FRONT_MATTER.get(app.env, pagename) or {})
    title = str(front.get("title") or (titles[pagename].astext() if pagename in titles else pagename))
    is_api = any(pagename.startswith(p) for p in cfg.search_api_prefixes)
    context["body"] = page_markup(
        context["body"], title=title, breadcrumb=BREADCRUMB_SEPARATOR.join(crumbs),
        filters=facets_of(front, part), weight=cfg.search_api_weight if is_api else None)


def translator_with_markup(app: Sphinx) -> None:
    """builder-inited (after the theme's own): put :class:`PagefindMarkup` before the HTML translator."""
    if not _enabled(app) or app.builder.format != "html":
        return
    base = app.registry.get_translator_class(app.builder) or app.builder.default_translator_class
    if not issubclass(base, PagefindMarkup):
        translator = types.new_class("PagefindTranslator", (PagefindMarkup, base), {})
        translator.definition_weight = read(app.config, SearchSettings).search_definition_weight
        app.set_translator(app.builder.name, translator, override=True)


# ------------------------------------------------------------------ indexing ----

def pagefind_binary() -> Path:
    """The Pagefind executable shipped in the ``pagefind-bin`` wheel."""
    try:
        import pagefind_bin
    except ImportError:
        raise ExtensionError("bookkit.outputs.search: the pagefind-bin package is missing; install the book's pinned "
                             "dependencies (pip install -e .), or set bookkit_search_enabled: false "
                             "in _config.yml to build without search.") from None
    binary = Path(pagefind_bin.__file__).with_name("pagefind")
    if not binary.is_file():
        raise ExtensionError(f"bookkit.outputs.search: no Pagefind executable at {binary}; reinstall pagefind-bin "
                             "for this platform (pip install --force-reinstall pagefind-bin).")
    return binary


def run_pagefind(outdir: Path, subdir: str = "pagefind") -> str:
    """Index ``outdir`` into ``outdir/subdir``; returns Pagefind's summary line."""
    cmd = [str(pagefind_binary()), "--site", str(outdir), "--output-subdir", subdir, "--force-language", "en"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise ExtensionError(f"bookkit.outputs.search: Pagefind failed (exit {proc.returncode}) indexing {outdir}:\n"
                             f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    found = re.search(r"Indexed (\d+) pages?", proc.stdout)
    return f"{found.group(1)} pages" if found else "done"


def build_index(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: run Pagefind over the finished site."""
    if exception is not None or not _enabled(app):
        return
    cfg = read(app.config, SearchSettings)
    summary = run_pagefind(Path(app.outdir), cfg.search_output_subdir)
    logger.info(f"[search] Pagefind index in {cfg.search_output_subdir}/: {summary}")


def add_static(app: Sphinx) -> None:
    """builder-inited: serve bookkit's JavaScript and CSS from the site's _static/."""
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))
    if _enabled(app):
        bundle = read(app.config, SearchSettings).search_output_subdir.strip("/") + "/"
        app.add_js_file(None, body=f"window.BOOKKIT_SEARCH = {{bundle: {json.dumps(bundle)}}};")
        app.add_js_file("bookkit-search.js", loading_method="defer")
        app.add_css_file("bookkit-search.css")


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, SearchSettings)
    app.connect("builder-inited", add_static)
    app.connect("builder-inited", translator_with_markup, priority=600)  # pydata-sphinx-theme: 500
    app.connect("html-page-context", mark_page)
    app.connect("build-finished", build_index, priority=900)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
