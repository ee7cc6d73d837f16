"""``bookkit.checkconfig.page``: the ``{config-check}`` directive, "Check my config" in the browser.

A reader pastes a NeMo RL YAML or a ``run_*.py`` command line and sees the findings of
:mod:`bookkit.checkconfig` without any server:

* the directive renders a text box (its content is the starting example), a release
  picker and a findings list, and records the page (env collector, ``clear_doc``/merge);
* on ``env-updated``, when some page has the directive, ``_bookkit/checkconfig.json``
  (:mod:`bookkit.checkconfig.data`, built from the manifests under
  ``bookkit_checkconfig_manifests``; rebuilt only when a manifest changed) is written,
  and the ``yaml`` npm package's browser build is copied from ``node_modules`` into
  ``_static/_checkconfig/yaml/`` (the same copy step and ``npm ci`` message as
  bookkit.site.widgets);
* those pages get ``bookkit-checkconfig-core.js``, ``-rules.js`` (the rules, shared
  cases with the Python checker) and ``bookkit-checkconfig.js`` (the form), with the
  relative URLs of the data and the parser.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from bookkit import __version__
from bookkit.checkconfig.data import build_from, dumps
from bookkit.core.io import STATIC, book_path, write_if_changed
from bookkit.core.settings import read, register, setting
from bookkit.core.sitejs import install, node_modules, register_settings
from bookkit.core.store import ENV_VERSION, DocStore, enable

logger = logging.getLogger(__name__)
SITE_DIR = "_checkconfig"  # under the site's _static folder
YAML_DIST = "yaml/browser/dist"
#: docname -> True for every page with a {config-check} form.
CHECK_PAGES = DocStore("checkconfig")
SCRIPTS = ("bookkit-checkconfig-core.js", "bookkit-checkconfig-rules.js", "bookkit-checkconfig.js")


@dataclass(frozen=True)
class CheckConfigSettings:
    checkconfig_manifests: str = setting("_data/nemo_rl", "Folder of the release manifests (relative to the book root).")
    checkconfig_json: str = setting("_bookkit/checkconfig.json", "The checker's data file, relative to the HTML output.",
                                    rebuild="html")


class ConfigCheckDirective(SphinxDirective):
    """``{config-check}``: the form; its content is the example shown first."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        CHECK_PAGES.set(self.env, self.env.docname, True)
        example = html.escape("\n".join(self.content))
        markup = (
            '<form class="bookkit-checkconfig" data-bookkit-checkconfig="" novalidate="">'
            '<label for="bookkit-checkconfig-input">NeMo RL YAML or command line</label>'
            f'<textarea id="bookkit-checkconfig-input" rows="14" spellcheck="false">{example}</textarea>'
            '<div class="bookkit-checkconfig-controls">'
            '<label for="bookkit-checkconfig-release">Release</label>'
            '<select id="bookkit-checkconfig-release"></select>'
            '<button type="submit">Check</button></div>'
            '<p class="bookkit-checkconfig-summary" role="status">Loading the checker…</p>'
            '<ul class="bookkit-checkconfig-findings"></ul></form>')
        return [nodes.raw("", markup, format="html")]


def _pages(env: BuildEnvironment) -> list[str]:
    return [d for d, _ in CHECK_PAGES.items(env) if d in env.all_docs]


def write_data(folder: Path, target: Path) -> bool:
    """Write the checker data unless ``target`` was built from the same manifests; True if written."""
    files = sorted([*folder.glob("*.json"), *folder.glob("*.json.gz")])
    if not files:
        raise ExtensionError(f"bookkit.checkconfig.page: no manifests in {folder}; write them with `bookkit "
                             "manifest` or set sphinx.config.bookkit_checkconfig_manifests in _config.yml")
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files)).hexdigest()
    if target.is_file():
        try:
            if json.loads(target.read_text(encoding="utf-8")).get("source") == digest:
                return False
        except ValueError:
            pass
    data = build_from(folder)
    data["source"] = digest
    return write_if_changed(target, dumps(data))


def install_assets(app: Sphinx, env: BuildEnvironment) -> None:
    if app.builder is None or app.builder.format != "html" or not _pages(env):
        return
    cfg = read(app.config, CheckConfigSettings)
    modules = node_modules(app)
    dist = modules / YAML_DIST
    files = [(p, "yaml/" + p.relative_to(dist).as_posix()) for p in sorted(dist.rglob("*.js"))] if dist.is_dir() else []
    files = files or [(dist / "index.js", "yaml/index.js")]
    files.append((modules / "yaml" / "LICENSE", "yaml/LICENSE"))
    first = env.doc2path(_pages(env)[0], False)
    install(files, Path(app.outdir) / "_static" / SITE_DIR, f"bookkit.checkconfig.page: {first} checks configs")
    if write_data(book_path(app, cfg.checkconfig_manifests), Path(app.outdir) / cfg.checkconfig_json):
        logger.info(f"bookkit.checkconfig.page: wrote {cfg.checkconfig_json}")


def add_static(app: Sphinx) -> None:
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def add_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if app.builder is None or app.builder.format != "html" or pagename not in _pages(app.env):
        return
    cfg = read(app.config, CheckConfigSettings)
    urls = {"data": context["pathto"](cfg.checkconfig_json, 1),
            "yaml": context["pathto"](f"_static/{SITE_DIR}/yaml/index.js", 1)}
    app.add_js_file(None, body=f"window.BOOKKIT_CHECKCONFIG = {json.dumps(urls)};")
    for name in SCRIPTS:
        app.add_js_file(name, loading_method="defer")
    app.add_css_file("bookkit-checkconfig.css")


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, CheckConfigSettings)
    register_settings(app)
    app.add_directive("config-check", ConfigCheckDirective)
    enable(app)
    app.connect("builder-inited", add_static)
    app.connect("env-updated", install_assets)
    app.connect("html-page-context", add_scripts)
    return {"version": __version__, "env_version": ENV_VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
