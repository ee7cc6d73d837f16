"""bookkit.site.mathjax: pages with math load MathJax from the site, never from a CDN.

The slow tests build a tiny Jupyter Book with the documented strict command; they
need ``npm ci`` at the repository root and skip with that message otherwise.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from sphinx.errors import ConfigError

from bookkit.site import mathjax

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"
ENTRY_SRC = NODE_MODULES / "mathjax" / "es5" / mathjax.ENTRY


def test_sphinx_cdn_default_is_replaced_by_the_site_copy():
    from sphinx.ext.mathjax import MATHJAX_URL
    config = SimpleNamespace(mathjax_path=MATHJAX_URL)
    mathjax.configure_path(None, config)
    assert config.mathjax_path == "_mathjax/tex-mml-chtml.js"


def test_a_network_mathjax_path_is_refused_with_the_fix():
    config = SimpleNamespace(mathjax_path="https://example.org/mathjax/tex-chtml.js")
    with pytest.raises(ConfigError, match="Remove mathjax_path from _config.yml"):
        mathjax.configure_path(None, config)


@pytest.mark.skipif(not ENTRY_SRC.is_file(), reason="node_modules/mathjax missing: run `npm ci`")
def test_assets_include_fonts_and_on_demand_tex_extensions():
    names = {name for _, name in mathjax.assets(NODE_MODULES)}
    assert {"tex-mml-chtml.js", "LICENSE"} <= names
    assert any(n.startswith("output/chtml/fonts/woff-v2/") and n.endswith(".woff") for n in names)
    assert any(n.startswith("input/tex/extensions/") for n in names)
    assert not any(n.startswith("output/svg") for n in names), "only the CHTML output is used"


@pytest.fixture(scope="module")
def math_site(tmp_path_factory):
    if not ENTRY_SRC.is_file():
        pytest.skip(f"{ENTRY_SRC} is missing: run `npm ci` in the repository root")
    root = tmp_path_factory.mktemp("mathjax") / "book"
    root.mkdir()
    (root / "_config.yml").write_text(textwrap.dedent(f"""\
        title: Tiny
        only_build_toc_files: true
        execute:
          execute_notebooks: "off"
        parse:
          myst_enable_extensions: [dollarmath]
        sphinx:
          extra_extensions: [bookkit.site.mathjax]
          config:
            bookkit_node_modules: {NODE_MODULES}
            html_theme_options:
              repository_provider: github
        """))
    (root / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: plain\n"
                                   "  - file: deep/math\n")
    (root / "index.md").write_text("# Home\n\nThe root page lists the math page, so Sphinx gives it MathJax.\n")
    (root / "plain.md").write_text("# Plain\n\nNo math on this page.\n")
    (root / "deep").mkdir()
    (root / "deep" / "math.md").write_text("# Math\n\nThe DPO loss is $-\\log \\sigma(\\beta x)$.\n")
    exe = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(exe), "build", str(root), "-W", "-n", "--keep-going"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root / "_build" / "html"


@pytest.mark.slow
def test_math_page_loads_mathjax_from_the_site(math_site):
    page = (math_site / "deep" / "math.html").read_text()
    tags = re.findall(r"<script\b[^>]*>", page)
    assert not [t for t in tags if re.search(r'src="(https?:)?//', t)], tags
    assert any('src="../_static/_mathjax/tex-mml-chtml.js' in t for t in tags), tags
    copied = math_site / "_static" / "_mathjax" / "tex-mml-chtml.js"
    assert copied.read_bytes() == ENTRY_SRC.read_bytes()
    assert "_mathjax" not in (math_site / "plain.html").read_text(), "pages without math load no MathJax"


@pytest.mark.slow
@pytest.mark.browser
def test_math_renders_in_a_browser_with_the_network_blocked(math_site):
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("Debian's chromium is not installed")
    remote, failed = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()

        def route(r):
            if r.request.url.startswith(("http://", "https://")):
                remote.append(r.request.url)
                r.abort()
            else:
                r.continue_()

        page.route("**/*", route)
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto((math_site / "deep" / "math.html").as_uri())
        page.wait_for_selector("mjx-container mjx-math", timeout=20000)
        page.wait_for_timeout(500)
        browser.close()
    assert remote == [], f"the page tried to reach the network: {remote}"
    assert failed == [], f"local files failed to load: {failed}"
