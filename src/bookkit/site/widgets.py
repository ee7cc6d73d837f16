"""Serve the ipywidgets JavaScript from the built site itself, never from a CDN.

A notebook executed at build time keeps its widgets' state (nbclient stores it in
the notebook metadata, jupyter-cache keeps it with the cached outputs), and
MyST-NB writes that state into the page. To draw the widgets, the page needs two
scripts: RequireJS and the ``@jupyter-widgets/html-manager`` embed bundle. MyST-NB
loads both from public CDNs by default; this extension instead

* points MyST-NB's ``nb_ipywidgets_js`` at copies under ``_widgets/`` in the site
  (MyST-NB adds them only to pages that have widget state),
* copies those files, and the icon fonts the bundle loads next to itself, from
  the npm packages pinned in the repository's ``package.json`` and installed by
  ``npm ci`` (``node_modules/``), into ``<html>/_static/_widgets/`` before pages
  are written (so Sphinx can add a checksum to each script link),
* fails the build with the command to run when a page has widgets but
  ``node_modules`` is missing: there is no silent fallback to a CDN.

The files are copied into the *built* site only, never into ``book/_static/``:
Jupyter Book adds every ``.js`` file under the book's own ``_static`` folder to
every page, while these belong on widget pages only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment
from sphinx.errors import ConfigError
from sphinx.util import logging

from bookkit import __version__
from bookkit.core.sitejs import install, node_modules, register_settings

logger = logging.getLogger(__name__)

#: Files taken from node_modules: package-relative source -> name in the site folder.
REQUIRE_JS = ("requirejs/require.js", "require.js")
EMBED_JS = ("@jupyter-widgets/html-manager/dist/embed-amd.js", "embed-amd.js")
LICENSES = (("@fortawesome/fontawesome-free/LICENSE.txt", "fontawesome-LICENSE.txt"),)
#: Fonts and images the embed bundle loads from its own folder (webpack asset names).
_BUNDLE_ASSET = re.compile(r'"([0-9a-f]{20}\.(?:woff2|woff|ttf|eot|svg))"')
WIDGET_STATE_KEY = "ipywidgets_state"
#: Where the files go, relative to the site's ``_static`` folder (Sphinx resolves
#: script paths against ``_static``).
SITE_DIR = "_widgets"


def local_scripts() -> dict[str, dict[str, str]]:
    """The ``nb_ipywidgets_js`` value: site-relative script paths and their attributes.

    ``data-jupyter-widgets-cdn`` is where the embed bundle looks for widget
    libraries it does not contain (not the core ``@jupyter-widgets/*`` ones);
    pointing it into the site means such a library fails visibly instead of
    being fetched from jsDelivr.
    """
    return {
        f"{SITE_DIR}/{REQUIRE_JS[1]}": {},
        f"{SITE_DIR}/{EMBED_JS[1]}": {"data-jupyter-widgets-cdn": f"_static/{SITE_DIR}/modules/"},
    }


def _mystnb_default() -> dict[str, Any] | None:
    try:
        from myst_nb.core.config import ipywidgets_js_factory
    except ImportError:  # pragma: no cover - myst-nb is a dependency of the book
        return None
    return ipywidgets_js_factory()


def configure_scripts(app: Sphinx, config: Config) -> None:
    """Replace MyST-NB's CDN default; refuse a user value that still loads from the network."""
    if "nb_ipywidgets_js" not in config.values:
        return
    current = config.nb_ipywidgets_js
    if current == _mystnb_default():
        config.nb_ipywidgets_js = local_scripts()
        return
    for uri, attrs in (current or {}).items():
        remote = [v for v in [uri, *map(str, (attrs or {}).values())] if "://" in v or v.startswith("//")]
        if remote:
            raise ConfigError(
                f"_config.yml: sphinx.config.nb_ipywidgets_js loads {remote[0]!r} from the network; the book "
                "serves widget JavaScript itself. Remove nb_ipywidgets_js from _config.yml so bookkit.site.widgets "
                "points it at the copies under _static/_widgets/.")


def assets(modules: Path) -> list[tuple[Path, str]]:
    """``(source, name in the site folder)`` for every file widget pages need."""
    embed = modules / EMBED_JS[0]
    found = [(modules / REQUIRE_JS[0], REQUIRE_JS[1]), (embed, EMBED_JS[1])]
    found += [(modules / src, name) for src, name in LICENSES]
    if embed.is_file():
        names = sorted(set(_BUNDLE_ASSET.findall(embed.read_text(encoding="utf-8", errors="replace"))))
        found += [(embed.parent / name, name) for name in names]
    return found


def widget_pages(env: BuildEnvironment) -> list[str]:
    """Documents whose rendered notebook carries ipywidgets state."""
    data = getattr(env, "nb_metadata", {}) or {}
    return sorted(doc for doc, meta in data.items() if WIDGET_STATE_KEY in (meta.get("js_files") or {}))


def install_assets(app: Sphinx, env: BuildEnvironment) -> None:
    """Copy the widget JavaScript into the site before pages are written (so links get checksums)."""
    if app.builder is None or app.builder.format != "html":
        return
    pages = [d for d in widget_pages(env) if d in env.all_docs]
    if not pages:
        return
    written = install(assets(node_modules(app)), Path(app.outdir) / "_static" / SITE_DIR,
                      f"bookkit.site.widgets: {env.doc2path(pages[0], False)} shows ipywidgets")
    if written:
        logger.info(f"bookkit.site.widgets: copied {written} file(s) to _static/{SITE_DIR}/ "
                    f"for {len(pages)} widget page(s)")


#: Modules the embed bundle defines itself. Each one computes "where am I" from its
#: RequireJS URL and loads its icon fonts from there, so they are mapped into the site folder.
BUNDLED_MODULES = ("@jupyter-widgets/base", "@jupyter-widgets/base7", "@jupyter-widgets/controls",
                   "@jupyter-widgets/controls7", "@jupyter-widgets/output", "@jupyter-widgets/html-manager",
                   "@jupyter-widgets/html-manager/dist/libembed-amd")


def loader_config(folder: str) -> str:
    """Inline script run before RequireJS loads: its configuration, and the bundle's asset folder."""
    paths = ", ".join(f'"{m}": base + "{m.rsplit("/", 1)[-1]}"' for m in BUNDLED_MODULES)
    return (f"(function () {{ var base = new URL({folder!r}, document.baseURI).href; "
            f"window.__jupyter_widgets_assets_path__ = base; "
            f"window.require = {{paths: {{{paths}}}}}; }})();")


def point_bundle_at_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Tell RequireJS and the embed bundle where the site's copies live (they would guess from the page URL)."""
    if app.builder is None or app.builder.format != "html" or pagename not in widget_pages(app.env):
        return
    app.add_js_file(None, priority=450, body=loader_config(context["pathto"](f"_static/{SITE_DIR}/", 1)))


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("myst_nb")
    register_settings(app)
    app.connect("config-inited", configure_scripts, priority=600)
    app.connect("env-updated", install_assets)
    app.connect("html-page-context", point_bundle_at_assets)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
