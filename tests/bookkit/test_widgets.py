"""bookkit.site.widgets: executed widget state reaches the page and its JavaScript comes from the site.

The slow tests build a tiny Jupyter Book in tmp_path with the documented strict
command: one widget notebook (with math, so MathJax is on the page too) under
notebooks/ and one plain page. They need the
npm packages (``npm ci`` at the repository root); without them they skip and say so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from sphinx.errors import ConfigError

from bookkit.site import widgets

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"
needs_npm = pytest.mark.skipif(
    not (NODE_MODULES / widgets.EMBED_JS[0]).is_file(),
    reason=f"{NODE_MODULES} is missing: run `npm ci` in the repository root to test widget pages")


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(sources[0])]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in sources[1:]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def make_book(root: Path, node_modules: Path) -> Path:
    root.mkdir(parents=True)
    (root / "_config.yml").write_text(textwrap.dedent(f"""\
        title: Tiny
        only_build_toc_files: true
        execute:
          execute_notebooks: cache
          cache: {root / "_build" / ".jupyter_cache"}
        sphinx:
          extra_extensions: [bookkit.site.widgets, bookkit.site.mathjax]
          config:
            bookkit_node_modules: {node_modules}
            html_theme_options:
              repository_provider: github
        """))
    (root / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: plain\n"
                                   "  - file: notebooks/slider\n")
    (root / "index.md").write_text("# Home\n\nA tiny book.\n")
    (root / "plain.md").write_text("# Plain\n\nNo widgets here.\n")
    write_notebook(root / "notebooks" / "slider.ipynb", "# Slider\n\nThe step size is $\\eta^2$.",
                   "import ipywidgets as w\nw.IntSlider(value=7, description='steps')")
    return root


def build(root: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run([str(exe), "build", str(root), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=600)


def script_tags(html: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>", html)


# -- fast checks --------------------------------------------------------------------------------

def test_mystnb_cdn_default_is_replaced_by_site_paths():
    config = SimpleNamespace(values={"nb_ipywidgets_js": None}, nb_ipywidgets_js=widgets._mystnb_default())
    assert any("://" in uri for uri in config.nb_ipywidgets_js), "MyST-NB's default loads from a CDN"
    widgets.configure_scripts(None, config)
    assert list(config.nb_ipywidgets_js) == ["_widgets/require.js", "_widgets/embed-amd.js"]
    flat = repr(config.nb_ipywidgets_js)
    assert "://" not in flat and "cdn.jsdelivr" not in flat


def test_configured_cdn_script_is_refused_with_the_fix():
    config = SimpleNamespace(values={"nb_ipywidgets_js": None},
                             nb_ipywidgets_js={"https://cdn.example.org/embed-amd.js": {}})
    with pytest.raises(ConfigError) as err:
        widgets.configure_scripts(None, config)
    assert "nb_ipywidgets_js" in str(err.value) and "https://cdn.example.org/embed-amd.js" in str(err.value)
    assert "Remove nb_ipywidgets_js" in str(err.value)


def test_package_lock_pins_what_package_json_names():
    import json
    pkg = json.loads((REPO / "package.json").read_text())
    lock = json.loads((REPO / "package-lock.json").read_text())
    for name, version in pkg["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} must be pinned exactly, not {version!r}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert "node_modules" in (REPO / ".gitignore").read_text().split()  # also ignores a link, not only a folder


@needs_npm
def test_assets_include_the_bundle_fonts():
    found = dict((name, src) for src, name in widgets.assets(NODE_MODULES))
    assert {"require.js", "embed-amd.js", "fontawesome-LICENSE.txt"} <= set(found)
    fonts = [n for n in found if n.endswith(".woff2")]
    assert fonts and all(found[n].is_file() for n in found)


# -- a real build -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def widget_site(tmp_path_factory):
    if not (NODE_MODULES / widgets.EMBED_JS[0]).is_file():
        pytest.skip(f"{NODE_MODULES} is missing: run `npm ci` in the repository root")
    root = make_book(tmp_path_factory.mktemp("widgets") / "book", NODE_MODULES)
    result = build(root)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


@pytest.mark.slow
def test_widget_page_carries_state_and_local_scripts_only(widget_site):
    html_dir = widget_site / "_build" / "html"
    page = (html_dir / "notebooks" / "slider.html").read_text()
    assert 'type="application/vnd.jupyter.widget-state+json"' in page, "executed widget state is missing"
    assert '"value": 7' in page and "IntSliderModel" in page
    tags = script_tags(page)
    remote = [t for t in tags if re.search(r'\bsrc="(https?:)?//', t)]
    assert not remote, f"widget page loads scripts from the network: {remote}"
    assert not [t for t in tags if re.search(r'data-jupyter-widgets-cdn="(https?:)?//', t)]
    assert any('src="../_static/_widgets/require.js' in t for t in tags)
    assert any('src="../_static/_widgets/embed-amd.js' in t for t in tags)
    assert "var base = new URL('../_static/_widgets/', document.baseURI)" in page
    for name in ("require.js", "embed-amd.js"):
        source = dict((n, s) for s, n in widgets.assets(NODE_MODULES))[name]
        assert (html_dir / "_static" / "_widgets" / name).read_bytes() == source.read_bytes()


@pytest.mark.slow
def test_pages_without_widgets_load_no_widget_code(widget_site):
    plain = (widget_site / "_build" / "html" / "plain.html").read_text()
    assert "_widgets/" not in plain and "require.js" not in plain
    assert not (widget_site / "_static").exists(), "nothing may be written into the book's own _static"


@pytest.mark.slow
def test_widget_state_survives_a_rebuild_from_the_cache(widget_site):
    build_dir = widget_site / "_build"
    shutil.rmtree(build_dir / "html")
    shutil.rmtree(build_dir / ".doctrees")
    result = build(widget_site)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Using cached notebook" in result.stdout + result.stderr
    page = (build_dir / "html" / "notebooks" / "slider.html").read_text()
    assert "IntSliderModel" in page and 'src="../_static/_widgets/embed-amd.js' in page


@pytest.mark.slow
def test_missing_node_modules_fails_the_build_with_the_command_to_run(tmp_path):
    root = make_book(tmp_path / "book", tmp_path / "no_node_modules")
    result = build(root)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Run `npm ci` in the repository root" in out and "notebooks/slider.ipynb shows ipywidgets" in out
    assert str(tmp_path / "no_node_modules" / "requirejs" / "require.js") + " is missing" in out
    assert not (root / "_build" / "html" / "notebooks" / "slider.html").exists(), "no page without its scripts"


@pytest.mark.slow
@pytest.mark.browser
def test_widget_renders_in_a_browser_with_the_network_blocked(widget_site):
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("Debian's chromium is not installed")
    page_url = (widget_site / "_build" / "html" / "notebooks" / "slider.html").as_uri()
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
        page.goto(page_url)
        page.wait_for_selector(".widget-slider .widget-readout", timeout=20000)
        page.wait_for_selector("mjx-container mjx-math", timeout=20000)  # MathJax and RequireJS coexist
        readout = page.locator(".widget-slider .widget-readout").first.inner_text()
        browser.close()
    assert readout.strip() == "7"
    assert remote == [], f"the page tried to reach the network: {remote}"
    assert failed == [], f"local files failed to load: {failed}"
