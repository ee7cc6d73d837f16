"""Serve MathJax from the built site itself instead of Sphinx's default CDN URL.

Sphinx loads ``tex-mml-chtml.js`` from jsDelivr on every page with math. This
extension points ``mathjax_path`` at a copy under ``_static/_mathjax/``, taken
from the ``mathjax`` npm package pinned in the repository's ``package.json``
(installed by ``npm ci``), together with the files MathJax loads next to itself
on demand: its fonts, TeX extensions, the context menu and the accessibility
tools. Sphinx still adds the script only to pages that have math.

A build with math and no ``node_modules`` fails with the command to run; a
``mathjax_path`` in ``_config.yml`` that points at the network is refused.
The ``node_modules`` folder is the one bookkit.site.widgets uses (``bookkit_node_modules``).
"""

from __future__ import annotations

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

SITE_DIR = "_mathjax"  # under the site's _static folder
ENTRY = "tex-mml-chtml.js"  # Sphinx's default MathJax 3 component
#: Folders of ``mathjax/es5`` that the entry script loads from its own location when needed.
ON_DEMAND = ("input", "output/chtml", "ui", "a11y", "sre", "adaptors")
SPHINX_DEFAULT_PREFIX = "https://cdn.jsdelivr.net/npm/mathjax@3/"


def local_path() -> str:
    """``mathjax_path`` value: relative to ``_static``, as Sphinx expects."""
    return f"{SITE_DIR}/{ENTRY}"


def configure_path(app: Sphinx, config: Config) -> None:
    current = getattr(config, "mathjax_path", "") or ""
    if current.startswith(SPHINX_DEFAULT_PREFIX) and current.endswith(ENTRY):
        config.mathjax_path = local_path()
    elif "://" in current or current.startswith("//"):
        raise ConfigError(
            f"_config.yml: sphinx.config.mathjax_path = {current!r} loads MathJax from the network; the book "
            "serves MathJax itself. Remove mathjax_path from _config.yml so bookkit.site.mathjax points it at "
            f"_static/{SITE_DIR}/{ENTRY}.")


def assets(modules: Path) -> list[tuple[Path, str]]:
    """``(source, name under _static/_mathjax)`` for the entry script and everything it may load."""
    es5 = modules / "mathjax" / "es5"
    found = [(es5 / ENTRY, ENTRY), (modules / "mathjax" / "LICENSE", "LICENSE")]
    for folder in ON_DEMAND:
        base = es5 / folder
        if base.is_dir():
            found += [(p, p.relative_to(es5).as_posix()) for p in sorted(base.rglob("*")) if p.is_file()]
    return found


def pages_with_math(env: BuildEnvironment) -> list[str]:
    data = env.get_domain("math").data.get("has_equations", {})
    return sorted(doc for doc, has in data.items() if has and doc in env.all_docs)


def install_assets(app: Sphinx, env: BuildEnvironment) -> None:
    """Copy MathJax into the site before pages are written, when some page has math."""
    builder = app.builder
    if builder is None or builder.format != "html" or getattr(builder, "math_renderer_name", "") != "mathjax":
        return
    if app.config.mathjax_path != local_path():
        return  # a local path of the book's own choosing
    pages = pages_with_math(env)
    if not pages:
        return
    written = install(assets(node_modules(app)), Path(app.outdir) / "_static" / SITE_DIR,
                      f"bookkit.site.mathjax: {env.doc2path(pages[0], False)} shows math")
    if written:
        logger.info(f"bookkit.site.mathjax: copied {written} file(s) to _static/{SITE_DIR}/ "
                    f"for {len(pages)} page(s) with math")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.mathjax")
    register_settings(app)
    app.connect("config-inited", configure_path, priority=600)
    app.connect("env-updated", install_assets)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
