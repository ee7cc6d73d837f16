"""bookkit's own Sphinx events: how its extensions ask each other, instead of sharing globals.

An extension that emits or answers one of them calls :func:`add_events` in ``setup()``.
Each event is emitted with ``app.emit_firstresult``: the first listener that returns
something other than ``None`` answers, and with no listener the default applies.

``bookkit-card-visible(app, docname) -> bool | None``
    Emitted by ``bookkit.content.cards`` for every card it would render; ``False`` leaves
    the card out (``bookkit.gating``: no card for a page this build does not publish).
``bookkit-page-hidden(app, docname) -> str | None``
    Why this build does not publish ``docname`` (``None``: it is not hidden). Asked by
    ``bookkit.site.tocguard`` (a hidden page is excluded on purpose, not an orphan),
    ``bookkit.content.paths`` (hidden steps are left out) and ``bookkit.site.redirects``
    (no redirect to a hidden page); answered by ``bookkit.gating``.
``bookkit-generated-page(app, docname) -> bool | None``
    ``True`` when an extension writes ``docname`` itself (``bookkit.apidocs``' API pages), so
    ``bookkit.content.frontmatter`` expects no front matter on it.
``bookkit-audience(app) -> str | None``
    The audience the build publishes for (``ga``, ``ea``, ``internal``); answered by
    ``bookkit.gating``, recorded by ``bookkit.outputs.json_output`` in ``index.json``.
"""

from __future__ import annotations

from sphinx.application import Sphinx

CARD_VISIBLE = "bookkit-card-visible"
PAGE_HIDDEN = "bookkit-page-hidden"
GENERATED_PAGE = "bookkit-generated-page"
AUDIENCE = "bookkit-audience"
EVENTS = (CARD_VISIBLE, PAGE_HIDDEN, GENERATED_PAGE, AUDIENCE)


def add_events(app: Sphinx) -> None:
    """Declare bookkit's events once per application."""
    for name in EVENTS:
        if name not in app.events.events:
            app.add_event(name)


def page_hidden(app: Sphinx, docname: str) -> str | None:
    """The reason ``docname`` is not published by this build, or None."""
    return app.emit_firstresult(PAGE_HIDDEN, docname)
