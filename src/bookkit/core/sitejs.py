"""Shared by bookkit.site.widgets and bookkit.site.mathjax: JavaScript the site serves itself.

Both copy files from the npm packages pinned in the repository's ``package.json``
(installed by ``npm ci`` into ``node_modules/``) into the built site's ``_static``
folder, so no page loads code from a CDN. This module is not an extension; it
holds their one shared setting and the copy step.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

from bookkit.core.settings import read, register, setting


@dataclass(frozen=True)
class SiteJsSettings:
    node_modules: str = setting(
        "../node_modules",
        "Folder where `npm ci` installed package.json's packages; relative to the book's source folder.")


def register_settings(app: Sphinx) -> None:
    register(app, SiteJsSettings)


def node_modules(app: Sphinx) -> Path:
    """Absolute path of the ``node_modules`` folder named by ``bookkit_node_modules``."""
    return (Path(app.confdir or app.srcdir) / read(app.config, SiteJsSettings).node_modules).resolve()


def copy_if_changed(source: Path, target: Path) -> bool:
    """Copy ``source`` to ``target`` unless it already holds the same bytes; True if written."""
    data = source.read_bytes()
    if target.is_file() and target.read_bytes() == data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    shutil.copystat(source, target)
    return True


def install(files: list[tuple[Path, str]], target: Path, needed_by: str) -> int:
    """Copy ``(source, relative name)`` pairs under ``target``; fail naming the fix if one is missing.

    Returns the number of files written (unchanged files are left alone).
    """
    missing = [src for src, _ in files if not src.is_file()]
    if missing:
        raise ExtensionError(
            f"{needed_by}, whose JavaScript the book serves itself, but {missing[0]} is missing. "
            "Run `npm ci` in the repository root (next to package.json) and build again; set "
            "sphinx.config.bookkit_node_modules in _config.yml if node_modules lives elsewhere.")
    return sum(copy_if_changed(src, target / name) for src, name in files)
