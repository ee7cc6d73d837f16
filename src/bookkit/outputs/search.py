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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from bookkit import __version__
from bookkit.core.settings import read, register, setting
from bookkit.core.toc import toc_entries

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parents[1] / "static"
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


def _enabled(app: Sphinx) -> bool:
    return app.builder.name in ("html", "dirhtml") and read(app.config, SearchSettings).search_enabled


# ------------------------------------------------------------------ page markup ----

_DEFINING_CELL = re.compile(r'(<tr class="row-(?:odd|even)">\s*<td><p>)<code class="docutils literal')
_SIGNATURE = re.compile(r'<dt class="sig sig-object')
_TERM = re.compile(r'<dt>(?=<code)')


_TABLE = re.compile(r'<table class="[^"]*\bbookkit-config-reference\b.*?</table>', re.S)


def weight_definitions(body: str, weight: float, key_weight: float = 4.0) -> str:
    """Mark the places that define a name with a higher Pagefind weight.

    Those are the key column of ``{config-reference}`` tables, API signatures and
    definition-list terms that are code. The key column of any other table (a
    script list, a recipe's overrides) gets ``key_weight``: it names, not defines.
    """
    w = f'data-pagefind-weight="{weight:g}"'
    body = _TABLE.sub(lambda m: _DEFINING_CELL.sub(rf'\1<code {w} class="docutils literal', m.group(0)), body)
    body = _DEFINING_CELL.sub(rf'\1<code data-pagefind-weight="{key_weight:g}" class="docutils literal', body)
    body = _SIGNATURE.sub(f'<dt {w} class="sig sig-object', body)
    return _TERM.sub(f"<dt {w}>", body)


_CODE_TOKEN = re.compile(r'(<span class="pre">)([A-Za-z_][\w./-]*\w)(</span>)</code>')
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def identifier_words(token: str) -> str:
    """The words of an identifier, the form the index and the search box share.

    ``grpo.max_num_steps`` -> ``grpo max num steps``; ``ClippedPGLossFn`` -> ``Clipped PG Loss Fn``;
    ``examples/run_grpo.py`` -> ``run grpo py``. A plain word gives ``""``.
    (``bookkit-search.js`` splits identifiers in a query the same way.)
    """
    if not re.search(r"[._/-]|[a-z][A-Z]", token):
        return ""
    token = token.rstrip("/").rsplit("/", 1)[-1]
    return " ".join(w for p in re.split(r"[._-]+", token) for w in _CAMEL.split(p) if w)


_SUFFIXES = frozenset({"py", "yaml", "yml", "json", "sh", "md", "ipynb", "toml"})


def identifier_keys(token: str) -> list[str]:
    """Search keys of an identifier: the name and each dotted tail, lower-case letters and digits only.

    ``grpo.max_num_steps`` -> ``grpomaxnumsteps``, ``maxnumsteps``; ``examples/run_grpo.py`` ->
    ``rungrpopy``, ``rungrpo``. A key is one word to Pagefind, so a query for the whole name
    (which ``bookkit-search.js`` turns into its key) matches that name exactly, wherever it sits.
    """
    if not re.search(r"[._/-]|[a-z][A-Z]", token):
        return []
    parts = token.rstrip("/").rsplit("/", 1)[-1].split(".")
    tails = [".".join(parts[i:]) for i in range(len(parts)) if parts[i:] and parts[i] not in _SUFFIXES]
    if len(parts) > 1 and parts[-1] in _SUFFIXES:
        tails.append(".".join(parts[:-1]))
    keys = (re.sub(r"[^0-9a-z]", "", t.lower()) for t in tails)
    return list(dict.fromkeys(k for k in keys if len(k) > 2))


def add_identifier_forms(body: str) -> str:
    """Hidden text (indexed, never shown) for each identifier in a code span: its keys inside the
    code element (so a definition's weight applies to them), its words after it (normal weight)."""
    def alt(m: re.Match) -> str:
        token = html.unescape(m.group(2))
        keys, words = " ".join(identifier_keys(token)), identifier_words(token)
        inside = f'<span class="bk-search-alt"> {html.escape(keys, quote=False)} </span>' if keys else ""
        after = f'<span class="bk-search-alt"> {html.escape(words, quote=False)} </span>' if words else ""
        return m.group(1) + m.group(2) + m.group(3) + inside + "</code>" + after
    return _CODE_TOKEN.sub(alt, body)


_SECTION_HEADING = re.compile(r'<section id="([^"]+)">(\s*)<h([1-6])>')


def heading_ids(body: str) -> str:
    """Move each section's id onto its heading (``<section><h2 id="x">``).

    Pagefind makes a sub-result, with its ``#anchor``, for every heading that has an id;
    Sphinx puts the id on the ``<section>``. The anchor keeps working: the heading at the
    top of the section now holds it.
    """
    return _SECTION_HEADING.sub(r'<section>\2<h\3 id="\1">', body)


def _hidden(attr: str, value: str) -> str:
    return f'<span {attr} hidden>{html.escape(value, quote=False)}</span>'


def page_markup(body: str, *, title: str, breadcrumb: str, filters: list[tuple[str, str]],
                weight: float | None, definition_weight: float) -> str:
    """``body`` wrapped for Pagefind: meta and filters first, then the weighted content."""
    parts = ['<div data-pagefind-body class="bk-search-body">', _hidden('data-pagefind-meta="title"', title)]
    if breadcrumb:
        parts.append(_hidden('data-pagefind-meta="breadcrumb"', breadcrumb))
    parts += [_hidden(f'data-pagefind-filter="{name}"', value) for name, value in filters if value]
    content = weight_definitions(add_identifier_forms(heading_ids(body)), definition_weight)
    if weight is not None:
        content = f'<div data-pagefind-weight="{weight:g}">{content}</div>'
    parts += [content, "</div>"]
    return "".join(parts)


def _toc_info(app: Sphinx) -> dict[str, tuple[str, tuple[str, ...]]]:
    cache = getattr(app, "_bookkit_search_toc", None)
    if cache is None:
        cache = {e.docname: (e.part, e.ancestors) for e in toc_entries(app)}
        app._bookkit_search_toc = cache
    return cache


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
    front = dict(getattr(app.env, "bookkit_frontmatter", {}).get(pagename) or {})
    title = str(front.get("title") or (titles[pagename].astext() if pagename in titles else pagename))
    is_api = any(pagename.startswith(p) for p in cfg.search_api_prefixes)
    context["body"] = page_markup(
        context["body"], title=title, breadcrumb=BREADCRUMB_SEPARATOR.join(crumbs),
        filters=facets_of(front, part), weight=cfg.search_api_weight if is_api else None,
        definition_weight=cfg.search_definition_weight)


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
    app.connect("html-page-context", mark_page)
    app.connect("build-finished", build_index, priority=900)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
