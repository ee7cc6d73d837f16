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
  and ``{page-cards}`` (gating answers the ``bookkit-card-visible`` event).
* **block**: ``{only-audience} <condition>`` fences inside a page (see
  :mod:`bookkit.gating.blocks`); Sphinx's own ``only`` directive is untouched.

A gated-out page is never read: on ``config-inited`` it is removed from the
external site map and added to ``exclude_patterns``, so it is absent from HTML,
navigation, cards, search, JSON and llms files. Other extensions ask through bookkit's
events (:mod:`bookkit.core.events`): ``bookkit-page-hidden`` (tocguard, redirects, learning
paths), ``bookkit-card-visible`` (cards) and ``bookkit-audience`` (the JSON index). A link from a
visible page to a hidden one is a warning (an error under ``-W``) at the linking
page and line, and the link is reduced to its text. When the audience or the
hidden set changes, the HTML output folder is emptied first, so no page of an
earlier, wider build survives in it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
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
from bookkit.core.events import AUDIENCE, CARD_VISIBLE, PAGE_HIDDEN, add_events
from bookkit.core.pages import SOURCE_SUFFIXES, source_of
from bookkit.core.settings import read, register, setting
from bookkit.core.store import run_state
from bookkit.core.toc import strip_suffix
from bookkit.gating.blocks import DIRECTIVE, filter_source
from bookkit.gating.conditions import AUDIENCES, DEFAULT_AUDIENCE, ConditionError, parse
from bookkit.gating.decide import Decider

logger = logging.getLogger(__name__)
ENV_VAR = "BOOK_AUDIENCE"
STAMP = "bookkit-gating.json"


@dataclass(frozen=True)
class GatingSettings:
    gating_audience: str = setting("", f"Audience when {ENV_VAR} is unset: ga, ea or internal (empty: ga).")
    gating_toc: dict = setting({}, "Toc entry -> condition: a document name, 'caption:<part caption>' or a URL.")


@dataclass
class Gating:
    """This build's decision (run state, set on config-inited)."""

    audience: str = DEFAULT_AUDIENCE
    hidden: dict[str, str] = field(default_factory=dict)  # docname -> reason
    hidden_prerequisites: list = field(default_factory=list)


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
    state = run_state(app, Gating)
    state.audience, state.hidden = audience, dict(sorted(hidden.items()))
    state.hidden_prerequisites = decider.hidden_prerequisites()
    logger.info(f"[gating] audience {audience}: {len(hidden)} page(s) gated out")


def start(app: Sphinx) -> None:
    """builder-inited: report hidden prerequisites; empty stale output of another audience."""
    state = run_state(app, Gating)
    for docname, line, names in state.hidden_prerequisites:
        logger.warning(f"prerequisites name {', '.join(names)}, which the '{state.audience}' build "
                       "does not publish; remove them, or gate this page the same way",
                       location=(docname, line), type="bookkit", subtype="gating")
    stamp = Path(app.doctreedir) / STAMP
    current = json.dumps({"audience": state.audience, "hidden": sorted(state.hidden)})
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
    result = filter_source(suffix, source[0], run_state(app, Gating).audience)
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
            visible = parse(self.arguments[0]).allows(run_state(self.env.app, Gating).audience)
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
    env, state = app.env, run_state(app, Gating)
    hidden = state.hidden
    if not hidden:
        return
    for node in list(doctree.findall(lambda n: isinstance(n, (addnodes.pending_xref,
                                                              addnodes.download_reference)))):
        target = _target_of(node, env.docname, env)
        if target in hidden:
            logger.warning(f"{env.docname} links to '{target}', which the '{state.audience}' build "
                           f"does not publish ({hidden[target]}). Remove the link, or put it inside an "
                           f"{{{DIRECTIVE}}} block whose condition excludes '{state.audience}'",
                           location=node, type="bookkit", subtype="gating")
            node.replace_self(nodes.inline("", "", *node.children))


def rewrite_sources(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: published copies of sources carry no gated-out block or cell."""
    if exception is not None or app.builder.format != "html":
        return
    env, sources, state = app.env, Path(app.outdir) / "_sources", run_state(app, Gating)
    hidden = state.hidden
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        names = [h for h in hidden if h in text]
        if DIRECTIVE not in text and '"only"' not in text and not names:
            continue
        filtered = filter_source(path.suffix, text, state.audience, blank=False).text
        if names and path.suffix != ".ipynb":  # a hidden page named alone on a line ({page-cards} ...)
            filtered = "\n".join(line for line in filtered.split("\n")
                                 if strip_suffix(line.strip().lstrip("/")) not in hidden)
        if filtered == text:
            continue
        for copy in sources.parent.glob(f"_sources/{docname}{path.suffix}*"):
            if copy.read_text(encoding="utf-8") != filtered:
                copy.write_text(filtered, encoding="utf-8")


def page_hidden(app: Sphinx, docname: str) -> str | None:
    """bookkit-page-hidden: why this build does not publish ``docname`` (None: it does)."""
    return run_state(app, Gating).hidden.get(docname.lstrip("/"))


def card_visible(app: Sphinx, docname: str) -> bool | None:
    """bookkit-card-visible: no card for a page this build does not publish."""
    return False if page_hidden(app, docname) else None


def audience(app: Sphinx) -> str:
    """bookkit-audience: the audience this build publishes for."""
    return run_state(app, Gating).audience


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, GatingSettings)
    add_events(app)
    app.connect(PAGE_HIDDEN, page_hidden)
    app.connect(CARD_VISIBLE, card_visible)
    app.connect(AUDIENCE, audience)
    app.add_directive(DIRECTIVE, OnlyAudienceDirective, override=True)
    app.connect("config-inited", decide, priority=950)
    app.connect("builder-inited", start, priority=100)
    app.connect("source-read", filter_blocks, priority=100)
    app.connect("doctree-read", check_links)
    app.connect("build-finished", rewrite_sources)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
