"""Content gating: one source tree, three published audiences, nothing leaked between them.

A build publishes for one audience: ``ga`` (general availability), ``ea`` (early
access) or ``internal``, taken from the environment variable ``BOOK_AUDIENCE``
(``bookkit build --audience ea`` sets it), else ``bookkit_gating_audience`` in
``_config.yml``, else ``ga``: a build that names no audience publishes only what
every reader may see. Conditions use the grammar of :mod:`bookkit.gating.conditions`
(``ea or internal``, ``not ga``, ``(ea or internal) and not ga``).

Four levels of gating:

* **page**: front matter ``only: <condition>``. A folder's ``index.md`` passes its
  condition to every page below that folder.
* **toc entry**: ``bookkit_gating_toc`` in ``_config.yml`` maps a toc entry to a
  condition (sphinx-external-toc rejects unknown keys in ``_toc.yml``): a document
  name (the entry and everything under it), ``caption:<part caption>`` (a whole
  part) or a URL entry.
* **card**: a card pointing at a gated-out page is left out of ``{section-cards}``
  and ``{page-cards}`` (a ``bookkit.content.cards.CARD_FILTERS`` predicate).
* **block**: ``{only-audience} <condition>`` fences inside a page (see
  :mod:`bookkit.gating.blocks`); Sphinx's own ``only`` directive is untouched.

A gated-out page is never read: on ``config-inited`` it is removed from the
external site map and added to ``exclude_patterns``, so it is absent from HTML,
navigation, cards, search, JSON and llms files; ``env.bookkit_hidden_docs`` names
those pages for other extensions (redirects, learning paths). A link from a
visible page to a hidden one is a warning (an error under ``-W``) at the linking
page and line, and the link is reduced to its text. When the audience or the
hidden set changes, the HTML output folder is emptied first, so no page of an
earlier, wider build survives in it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from bookkit import __version__
from bookkit.content.cards import CARD_FILTERS
from bookkit.gating.conditions import AUDIENCES, DEFAULT_AUDIENCE, ConditionError, parse
from bookkit.gating.blocks import DIRECTIVE, filter_source
from bookkit.gating.decide import Decider, strip_suffix
from bookkit.core.pages import SOURCE_SUFFIXES, source_of
from bookkit.core.settings import read, register, setting

logger = logging.getLogger(__name__)
ENV_VAR = "BOOK_AUDIENCE"
STAMP = "bookkit-gating.json"


@dataclass(frozen=True)
class GatingSettings:
    gating_audience: str = setting("", f"Audience when {ENV_VAR} is unset: ga, ea or internal (empty: ga).")
    gating_toc: dict = setting({}, "Toc entry -> condition: a document name, 'caption:<part caption>' or a URL.")


def audience_of(config: Config) -> str:
    """The audience this build publishes for; a bad value is a configuration error."""
    value = os.environ.get(ENV_VAR, "").strip() or read(config, GatingSettings).gating_audience.strip()
    value = value or DEFAULT_AUDIENCE
    if value not in AUDIENCES:
        raise ConfigError(f"{ENV_VAR}={value!r} is not an audience; set it to one of: {', '.join(AUDIENCES)} "
                          f"(or leave it unset for '{DEFAULT_AUDIENCE}')")
    return value


def decide(app: Sphinx, config: Config) -> None:
    """config-inited (after sphinx-external-toc): compute hidden pages, prune the toc, exclude them."""
    audience = audience_of(config)
    config.bookkit_gating_audience = audience  # a changed audience makes Sphinx re-read every page
    decider = Decider(app.srcdir, config, audience, read(config, GatingSettings).gating_toc)
    hidden = decider.decide()
    if decider.errors:
        raise ConfigError("content gating found bad conditions:\n  " + "\n  ".join(decider.errors))
    decider.prune()
    patterns = []
    for docname in sorted(hidden):
        path = source_of(app.srcdir, docname)
        patterns.append(path.relative_to(app.srcdir).as_posix() if path else docname + ".md")
    config.exclude_patterns = list(config.exclude_patterns) + patterns
    if hasattr(app, "bookkit_own_excludes"):  # bookkit.site.tocguard: excluded on purpose, not orphans
        app.bookkit_own_excludes = list(app.bookkit_own_excludes) + patterns
    app.bookkit_audience, app.bookkit_hidden = audience, dict(sorted(hidden.items()))
    app.bookkit_hidden_prerequisites = decider.hidden_prerequisites()
    logger.info(f"[gating] audience {audience}: {len(hidden)} page(s) gated out")


def start(app: Sphinx) -> None:
    """builder-inited: expose the decision on the environment; empty stale output of another audience."""
    app.env.bookkit_audience = getattr(app, "bookkit_audience", DEFAULT_AUDIENCE)
    app.env.bookkit_hidden_docs = set(getattr(app, "bookkit_hidden", {}))
    for docname, line, names in getattr(app, "bookkit_hidden_prerequisites", []):
        logger.warning(f"prerequisites name {', '.join(names)}, which the '{app.env.bookkit_audience}' build "
                       "does not publish; remove them, or gate this page the same way",
                       location=(docname, line), type="bookkit", subtype="gating")
    stamp = Path(app.doctreedir) / STAMP
    current = json.dumps({"audience": app.env.bookkit_audience, "hidden": sorted(app.env.bookkit_hidden_docs)})
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == current:
        return
    outdir, srcdir = Path(app.outdir).resolve(), Path(app.srcdir).resolve()
    if outdir.is_dir() and outdir != srcdir and outdir not in srcdir.parents:
        for child in outdir.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current, encoding="utf-8")


def filter_blocks(app: Sphinx, docname: str, source: list[str]) -> None:
    """source-read: blank out gated-out ``{only-audience}`` blocks before the page is parsed."""
    suffix = Path(app.env.doc2path(docname)).suffix
    result = filter_source(suffix, source[0], app.env.bookkit_audience)
    for line, condition, problem in result.problems:
        where = f"cell {line}" if suffix == ".ipynb" else f"line {line}"
        logger.warning(f"bad audience condition {condition!r} ({where}): {problem}. The block is left out "
                       "of every build until the condition is fixed", location=(docname, line),
                       type="bookkit", subtype="gating")
    source[0] = result.text


class OnlyAudienceDirective(SphinxDirective):
    """``{only-audience} <condition>``: the body is published only for matching audiences."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {"class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        try:
            visible = parse(self.arguments[0]).allows(self.env.bookkit_audience)
        except ConditionError as exc:
            logger.warning(f"{{{DIRECTIVE}}} {exc}; fix: {exc.problem}", location=self.get_location(),
                           type="bookkit", subtype="gating")
            return []
        return self.parse_content_to_nodes(allow_section_headings=True) if visible else []


def _target_of(node: nodes.Element, docname: str, env: Any) -> str | None:
    if isinstance(node, addnodes.download_reference):
        rel, _ = env.relfn2path(node.get("reftarget", ""), docname)
        return strip_suffix(rel) if rel.endswith(SOURCE_SUFFIXES) else None
    target = node.get("reftarget", "")
    if node.get("refdomain") == "doc" and node.get("reftype") == "myst":
        return target
    if node.get("refdomain") == "std" and node.get("reftype") == "doc":
        from sphinx.util import docname_join
        return target.lstrip("/") if target.startswith("/") else docname_join(docname, target)
    return None


def check_links(app: Sphinx, doctree: nodes.document) -> None:
    """doctree-read: a link to a gated-out page is an error at the link, never a dangling link."""
    env = app.env
    hidden = env.bookkit_hidden_docs
    if not hidden:
        return
    for node in list(doctree.findall(lambda n: isinstance(n, (addnodes.pending_xref,
                                                              addnodes.download_reference)))):
        target = _target_of(node, env.docname, env)
        if target in hidden:
            reason = getattr(app, "bookkit_hidden", {}).get(target, "gated out")
            logger.warning(f"{env.docname} links to '{target}', which the '{env.bookkit_audience}' build "
                           f"does not publish ({reason}). Remove the link, or put it inside an "
                           f"{{{DIRECTIVE}}} block whose condition excludes '{env.bookkit_audience}'",
                           location=node, type="bookkit", subtype="gating")
            node.replace_self(nodes.inline("", "", *node.children))


def rewrite_sources(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: published copies of sources carry no gated-out block or cell."""
    if exception is not None or app.builder.format != "html":
        return
    env, sources = app.env, Path(app.outdir) / "_sources"
    hidden = env.bookkit_hidden_docs
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        names = [h for h in hidden if h in text]
        if DIRECTIVE not in text and '"only"' not in text and not names:
            continue
        filtered = filter_source(path.suffix, text, env.bookkit_audience, blank=False).text
        if names and path.suffix != ".ipynb":  # a hidden page named alone on a line ({page-cards} ...)
            filtered = "\n".join(line for line in filtered.split("\n")
                                 if strip_suffix(line.strip().lstrip("/")) not in hidden)
        if filtered == text:
            continue
        for copy in sources.parent.glob(f"_sources/{docname}{path.suffix}*"):
            if copy.read_text(encoding="utf-8") != filtered:
                copy.write_text(filtered, encoding="utf-8")


def card_visible(env: Any, docname: str) -> bool:
    """bookkit.content.cards predicate: no card for a page this build does not publish."""
    return docname.lstrip("/") not in getattr(env, "bookkit_hidden_docs", ())


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, GatingSettings)
    app.setup_extension("bookkit.content.cards")
    if card_visible not in CARD_FILTERS:
        CARD_FILTERS.append(card_visible)
    app.add_directive(DIRECTIVE, OnlyAudienceDirective, override=True)
    app.connect("config-inited", decide, priority=950)
    app.connect("builder-inited", start, priority=100)
    app.connect("source-read", filter_blocks, priority=100)
    app.connect("doctree-read", check_links)
    app.connect("build-finished", rewrite_sources)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
