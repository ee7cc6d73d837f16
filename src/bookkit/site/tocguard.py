"""Fail loudly on pages that exist under the book but are missing from ``_toc.yml``.

With ``only_build_toc_files: true`` sphinx-external-toc skips every page that the
toc does not list, without a word. This extension lists those pages as warnings
(type ``bookkit``, subtype ``orphan``) so the strict build fails instead of
silently dropping content. Files the book excludes on purpose (its own
``exclude_patterns``) are not reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging
from sphinx.util.matching import Matcher

from bookkit import __version__
from bookkit.core.pages import SOURCE_SUFFIXES
from bookkit.core.settings import read, register, setting

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TocGuardSettings:
    tocguard_enabled: bool = setting(True, "Warn about pages under the book root that _toc.yml does not list.")


def remember_exclusions(app: Sphinx, config: Config) -> None:
    # Runs before sphinx-external-toc adds every non-toc page to exclude_patterns.
    app.bookkit_own_excludes = list(config.exclude_patterns)


def toc_docnames(config: Config) -> set[str] | None:
    """Document names listed in the external toc, or None when no external toc is used."""
    site_map = getattr(config, "external_site_map", None)
    if site_map is None:
        return None
    return set(site_map)


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
    listed = toc_docnames(app.config)
    if listed is None:
        return
    srcdir = Path(app.srcdir)
    for path in unlisted_pages(srcdir, listed, getattr(app, "bookkit_own_excludes", [])):
        rel = path.relative_to(srcdir).as_posix()
        logger.warning(
            f"{rel} is not listed in _toc.yml, so it would not be built. "
            f"Add '{rel.rsplit('.', 1)[0]}' under its section in _toc.yml, or delete the file.",
            location=str(path), type="bookkit", subtype="orphan",
        )


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, TocGuardSettings)
    app.connect("config-inited", remember_exclusions, priority=100)
    app.connect("builder-inited", check_orphans)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
