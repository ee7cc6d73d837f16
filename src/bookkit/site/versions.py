"""The version switcher and ``project.json``, working on any static host with relative URLs.

* ``versions1.json`` at the site root lists the published versions
  (``bookkit_versions``: ``version``, ``name``, ``url``, one marked ``preferred``),
  the format of pydata-sphinx-theme's version switcher, which this extension turns on
  (``switcher.json_url`` relative, ``version_match`` = this build's version) and puts
  in the primary sidebar. Entry URLs are relative to a version's root
  (``../0.7.0/``), so the same file works wherever the versions are published.
* ``project.json`` at the site root: the book's name and this build's version.
* ``_static/bookkit-versions.js`` resolves the switcher's links against the site
  root (the theme resolves them against the page) and, on a version that is not the
  preferred one, shows a banner linking to the same page in the preferred version.

This build's version: ``BOOK_VERSION`` in the environment, else ``bookkit_version_match``.
Both files are validated against ``schemas/versions.schema.json`` and
``schemas/project.schema.json`` and written on build-finished only when changed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.util import logging

from bookkit import __version__
from bookkit.core.io import STATIC, TEMPLATES, dumps, write_if_changed
from bookkit.core.settings import read, register, setting
from bookkit.core.toc import book_title

logger = logging.getLogger(__name__)
VERSION_ENV = "BOOK_VERSION"
SIDEBAR_AFTER = "navbar-logo.html"


@dataclass(frozen=True)
class VersionSettings:
    versions: list = setting([{"version": "0.7.0", "name": "v0.7.0", "url": "../0.7.0/", "preferred": True}],
                             "Published versions for versions1.json: version, name, url (relative), preferred.",
                             rebuild="html")
    version_match: str = setting("0.7.0", f"This build's version ({VERSION_ENV} overrides).", rebuild="html")
    versions_file: str = setting("versions1.json", "Switcher file at the site root.", rebuild="html")


def schema(name: str) -> dict:
    return json.loads(resources.files("bookkit").joinpath(f"schemas/{name}.schema.json").read_text("utf-8"))


def current_version(config: Config) -> str:
    return os.environ.get(VERSION_ENV) or read(config, VersionSettings).version_match


def check_versions(entries: Any, match: str) -> list[dict]:
    """The validated entries, or a ConfigError naming the key, the entry and the fix."""
    import jsonschema

    key = "_config.yml: sphinx.config.bookkit_versions"
    errors = sorted(jsonschema.Draft202012Validator(schema("versions")).iter_errors(entries), key=str)
    if errors:
        e = errors[0]
        where = "/".join(map(str, e.absolute_path)) or "(list)"
        raise ConfigError(f"{key}[{where}]: {e.message}. Each entry needs version, url (relative, ending in /) "
                          "and optionally name and preferred: true.")
    preferred = [e["version"] for e in entries if e.get("preferred")]
    if len(preferred) != 1:
        raise ConfigError(f"{key}: {len(preferred)} entries are marked preferred ({preferred}); mark exactly one "
                          "(the pinned NeMo RL release) with preferred: true.")
    if match not in [e["version"] for e in entries]:
        raise ConfigError(f"{key}: this build's version {match!r} ({VERSION_ENV} or bookkit_version_match) is not "
                          "listed; add an entry for it or set BOOK_VERSION to a listed version.")
    return [{"name": e.get("name", e["version"]), **e, "preferred": bool(e.get("preferred"))} for e in entries]


def configure_theme(app: Sphinx, config: Config) -> None:
    """config-inited: turn on the theme's switcher with a relative json_url; put it in the sidebar."""
    cfg = read(config, VersionSettings)
    check_versions(cfg.versions, current_version(config))
    options = dict(config.html_theme_options or {})
    options["switcher"] = {"json_url": cfg.versions_file, "version_match": current_version(config)}
    options["check_switcher"] = False  # validated above; the file is written into the output, not the source
    options["show_version_warning_banner"] = False  # bookkit-versions.js shows one that works with relative URLs
    config.html_theme_options = options
    templates = str(TEMPLATES)  # version-switcher.html: its name is what it shows
    if templates not in config.templates_path:
        config.templates_path = [templates, *config.templates_path]
    if not config.html_sidebars:
        config.html_sidebars = {"**": [SIDEBAR_AFTER, "version-switcher.html", "icon-links.html",
                                       "search-button-field.html", "sbt-sidebar-nav.html"]}


def add_static(app: Sphinx) -> None:
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))
    cfg = read(app.config, VersionSettings)
    settings = {"file": cfg.versions_file, "match": current_version(app.config)}
    app.add_js_file(None, body=f"window.BOOKKIT_VERSIONS = {json.dumps(settings)};")
    app.add_js_file("bookkit-versions.js", loading_method="defer")
    app.add_css_file("bookkit-versions.css")


def write_files(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: versions1.json and project.json at the site root."""
    if exception is not None or app.builder.name not in ("html", "dirhtml"):
        return
    cfg = read(app.config, VersionSettings)
    out = Path(app.outdir)
    entries = check_versions(cfg.versions, current_version(app.config))
    write_if_changed(out / cfg.versions_file, dumps(entries))
    write_if_changed(out / "project.json", dumps({"name": book_title(app), "version": current_version(app.config)}))


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, VersionSettings)
    app.connect("config-inited", configure_theme, priority=800)
    app.connect("builder-inited", add_static)
    app.connect("build-finished", write_files)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
