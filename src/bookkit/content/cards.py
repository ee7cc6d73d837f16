"""Grid cards generated from the front matter of the pages they point to.

``{section-cards}`` renders one card per child of the current page in the toc;
``{page-cards}`` renders one card per document named in its body, one per line.
Each card shows the page's title and description with its difficulty and
content type as badges, all read from the target page's front matter, so a
card can never drift from its page. The current page depends on every page it
shows, so editing a child's description rebuilds the landing page. Before a card is
rendered the ``bookkit-card-visible`` event is emitted (:mod:`bookkit.core.events`); a
listener that returns ``False`` leaves it out (``bookkit.gating`` does for gated-out pages).

Cards are sphinx-design ``grid-item-card`` directives, parsed as nested MyST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from bookkit import __version__
from bookkit.core import toc
from bookkit.core.events import CARD_VISIBLE, add_events
from bookkit.core.pagedeps import use_front_matter
from bookkit.core.pages import FrontMatterError, source_of
from bookkit.core.settings import read, register, setting

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class CardsSettings:
    cards_columns: str = setting("1 2 2 3", "sphinx-design grid columns for phone, tablet, laptop, desktop.")
    cards_badges: bool = setting(True, "Show difficulty and content type badges on each card.")


def card_markdown(docname: str, title: str, description: str, badges: list[str]) -> list[str]:
    """MyST lines for one sphinx-design card linking to ``docname``."""
    lines = [f"::::{{grid-item-card}} {title}", f":link: /{docname}", ":link-type: doc",
             ":class-card: bookkit-card", "", description or "", ""]
    if badges:
        lines += [":::{card-footer}", " ".join(badges), ":::"]
    return lines + ["::::", ""]


class _CardsDirective(SphinxDirective):
    option_spec = {"columns": directives.unchanged}

    def targets(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        settings = read(self.config, CardsSettings)
        columns = self.options.get("columns", settings.cards_columns)
        lines = [f":::::{{grid}} {columns}", ":gutter: 3", ""]
        for docname in self.targets():
            if self.env.app.emit_firstresult(CARD_VISIBLE, docname) is False:
                continue
            path = source_of(self.env.srcdir, docname)
            if path is None:
                logger.warning(f"card target '{docname}' has no source file; fix the name or create the page",
                               location=self.get_location(), type="bookkit", subtype="cards")
                continue
            try:
                fm = use_front_matter(self.env, path)
            except FrontMatterError:
                fm = None  # bookkit.content.frontmatter reports it on the page itself
            data = fm.data if fm else {}
            badges = []
            if settings.cards_badges:
                badges = [f"{{bdg-{style}}}`{data[key]}`" for key, style in
                          (("difficulty", "info"), ("content_type", "secondary")) if data.get(key)]
            title = fm.title if fm else docname
            lines += card_markdown(docname, title, str(data.get("description", "")), badges)
        lines.append(":::::")
        container = nodes.container(classes=["bookkit-cards"])
        if len(lines) == 4:  # every card was left out (bookkit-card-visible): no empty grid
            return [container]
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]), self.content_offset, container)
        return [container]


class SectionCardsDirective(_CardsDirective):
    """One card per toc child of the current page."""

    def targets(self) -> list[str]:
        children = toc.children(toc.site_map_of(self.env.app), self.env.docname)
        if not children:
            logger.warning("{section-cards} found no child pages of this page in _toc.yml; "
                           "add 'sections:' under it in _toc.yml", location=self.get_location(),
                           type="bookkit", subtype="cards")
        return children


class PageCardsDirective(_CardsDirective):
    """One card per document named in the body (one document name per line)."""

    has_content = True

    def targets(self) -> list[str]:
        return [line.strip().lstrip("/") for line in self.content if line.strip()]


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("bookkit.core.pagedeps")
    app.setup_extension("sphinx_design")
    register(app, CardsSettings)
    add_events(app)
    app.add_directive("section-cards", SectionCardsDirective)
    app.add_directive("page-cards", PageCardsDirective)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
