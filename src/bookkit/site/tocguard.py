"""Fail loudly on pages that exist under the book but are missing from ``_toc.yml``.

With ``only_build_toc_files: true`` sphinx-external-toc skips every page that the
toc does not list, without a word. This extension lists those pages as warnings
(type ``bookkit``, subtype ``orphan``) so the strict build fails instead of
silently dropping content. Files the book excludes on purpose (its own
``exclude_patterns``) and pages another extension does not publish on purpose (a listener
of ``bookkit-page-hidden``: gating) are not reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging
from sphinx.util.matching import Matcher

from bookkit import __version__
from bookkit.core.events import add_events, page_hidden
from bookkit.core.pages import SOURCE_SUFFIXES
from bookkit.core.settings import read, register, setting
from bookkit.core.store import run_state
from bookkit.core.toc import site_map_of, strip_suffix

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TocGuardSettings:
    tocguard_enabled: bool = setting(True, "Warn about pages under the book root that _toc.yml does not list.")


@dataclass
class TocGuard:
    """Run state: the book's own exclude_patterns, before sphinx-external-toc adds the unlisted pages."""

    excludes: list[str] = field(default_factory=list)


def remember_exclusions(app: Sphinx, config: Config) -> None:
    # Runs before sphinx-external-toc (900) adds every non-toc page to exclude_patterns.
    run_state(app, TocGuard).excludes = list(config.exclude_patterns)


def unlisted_pages(srcdir: Path, listed: set[str], excludes: list[str]) -> list[Path]:
    """Source files under ``srcdir`` that are neither listed nor excluded on purpose."""
    matcher = Matcher(excludes + ["**/.*", ".*", "**/.*/**"])
    found = []
    for path in sorted(srcdir.rglob("*")):
        if path.suffix not in SOURCE_SUFFIXES or not path.is_file():
            continue
        rel = path.relative_to(srcdir).as_posix()
        parents = ["/".join(rel.split("/")[:i]) for i in range(1, rel.count("/") + 1)]
        if any(matcher(p) for p in [rel, *parents]) or rel.rsplit(".", 1)[0] in listed:
            continue
        found.append(path)
    return found


def check_orphans(app: Sphinx) -> None:
    if not read(app.config, TocGuardSettings).tocguard_enabled:
        return
    site_map = site_map_of(app)
    if site_map is None:
        return
    srcdir = Path(app.srcdir)
    for path in unlisted_pages(srcdir, set(site_map), run_state(app, TocGuard).excludes):
        rel = path.relative_to(srcdir).as_posix()
        if page_hidden(app, strip_suffix(rel)):
            continue  # not published by this build on purpose (gating)
        logger.warning(
            f"{rel} is not listed in _toc.yml, so it would not be built. "
            f"Add '{rel.rsplit('.', 1)[0]}' under its section in _toc.yml, or delete the file.",
            location=str(path), type="bookkit", subtype="orphan",
        )


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, TocGuardSettings)
    add_events(app)
    app.connect("config-inited", remember_exclusions, priority=460)
    app.connect("builder-inited", check_orphans)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
