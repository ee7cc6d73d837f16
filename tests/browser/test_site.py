"""The built site as readers meet it, in a real browser: navigation, notebooks, widgets, dark mode, phones, 404.

Runs against ``BOOK_HTML`` (default ``book/_build/html``; ``make book`` builds it) on a
local static server. Screenshots of the home page and a notebook page are written to
``test-artifacts/screenshots/`` (gitignored) for review.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import nbformat
import pytest

from sitepages import NOTEBOOKS, section_landings, widget_notebook  # tests/browser/sitepages.py

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
GUIDE = "guides/training-algorithms/grpo.html"
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def notebook_page(site_html: Path) -> str:
    return widget_notebook(site_html)


def contrast(fg: list[float], bg: list[float]) -> float:
    def lum(rgb: list[float]) -> float:
        c = [v / 255 for v in rgb[:3]]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted([lum(fg), lum(bg)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def same_origin_failures(page, base: str) -> list[str]:
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"failed {r.url}") if r.url.startswith(base) else None)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
            if r.url.startswith(base) and r.status >= 400 else None)
    return failed


# -- navigation -----------------------------------------------------------------------------------

def test_landing_cards_navigate_to_their_pages(page, site_server):
    page.goto(site_server + "index.html", wait_until="load")
    targets = page.eval_on_selector_all(".bookkit-card a.sd-stretched-link", "els => els.map(a => a.href)")
    assert len(targets) >= 4, "the home page shows the book's landing cards"
    for i, target in enumerate(targets):
        page.goto(site_server + "index.html", wait_until="load")
        card = page.locator(".bookkit-card").nth(i)
        card.scroll_into_view_if_needed()
        with page.expect_navigation(wait_until="load"):
            card.click()  # anywhere on the card, not just its title
        assert page.url.split("#")[0] == target.split("#")[0]
        assert page.locator("article h1").count() >= 1, f"{target} has no heading"
    assert not page.bookkit_errors


def test_every_section_landing_page_is_reachable_from_home(page, site_server, site_html):
    page.goto(site_server + "index.html", wait_until="load")
    links = set(page.eval_on_selector_all("a[href]", "els => els.map(a => a.href.split('#')[0])"))
    for landing in section_landings():
        assert (site_html / landing).is_file(), f"{landing} (a part of _toc.yml) was not built"
        assert site_server + landing in links, f"no link from the home page to {landing}"
        response = page.goto(site_server + landing, wait_until="load")
        assert response.status == 200 and page.locator("article h1").count() >= 1


# -- notebooks ------------------------------------------------------------------------------------

def test_notebook_page_shows_outputs_a_plot_and_a_live_widget(page, site_server, notebook_page):
    page.goto(site_server + notebook_page, wait_until="load")
    assert page.locator(".cell_output").count() >= 3, "executed outputs are published"
    plots = page.locator(".cell_output img")
    assert plots.count() >= 1, "at least one plot image"
    plots.first.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=plots.first.element_handle())
    slider = page.locator(".widget-slider, .widget-hslider").first
    slider.wait_for(state="visible", timeout=20_000)  # rendered by the site's own widget manager
    box = page.locator(".widget-hbox:has(.widget-hslider) input[type=number]").first
    before = box.input_value()
    handle = slider.locator(".noUi-handle, [role=slider]").first
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("([el, v]) => el.value !== v", arg=[box.element_handle(), before])
    assert box.input_value() != before, "moving the slider updates the linked box"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "notebook.png"), full_page=False)
    assert not page.bookkit_errors


def test_ipynb_download_is_a_valid_notebook(page, site_server, notebook_page):
    page.goto(site_server + notebook_page, wait_until="load")
    hrefs = page.eval_on_selector_all(".dropdown-download-buttons a[href$='.ipynb']", "els => els.map(a => a.href)")
    assert hrefs, "the download menu offers the .ipynb"
    response = page.request.get(hrefs[0])
    assert response.status == 200
    nb = nbformat.reads(response.text(), as_version=4)
    nbformat.validate(nb)
    assert any(c.cell_type == "code" for c in nb.cells)


# -- appearance -----------------------------------------------------------------------------------

def test_dark_mode_toggles_and_keeps_text_readable(page, site_server, notebook_page):
    page.goto(site_server + "index.html", wait_until="load")
    for _ in range(3):
        if page.evaluate("document.documentElement.dataset.theme") == "dark":
            break
        page.locator(".theme-switch-button").first.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    for path in ("index.html", notebook_page):
        page.goto(site_server + path, wait_until="load")  # the choice persists across pages
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        fg, bg = page.evaluate("""() => {
            const rgb = s => s.match(/[\\d.]+/g).map(Number);
            const p = document.querySelector('article p');
            return [rgb(getComputedStyle(p).color), rgb(getComputedStyle(document.body).backgroundColor)];
        }""")
        assert sum(bg[:3]) < 150, f"{path}: dark background, got {bg}"
        assert contrast(fg, bg) >= 7, f"{path}: body text contrast {contrast(fg, bg):.1f}:1"
    assert not page.bookkit_errors


@pytest.mark.parametrize("path", ["index.html", GUIDE, "NOTEBOOK"])
def test_phone_viewport_has_no_horizontal_scrolling(browser, site_server, site_html, path):
    path = widget_notebook(site_html) if path == "NOTEBOOK" else path
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(site_server + path, wait_until="load")
        page.wait_for_timeout(300)
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{path} scrolls sideways at 375 px: {widths[0]} > {widths[1]}"
        wide = page.evaluate("""() => [...document.querySelectorAll('article *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(e => !e.closest('pre, .highlight, table, .table-wrapper, .MathJax, mjx-container, .cell_output'))
            .slice(0, 5).map(e => e.tagName + '.' + e.className)""")
        assert not wide, f"{path}: elements wider than the screen: {wide}"
        if path == "index.html":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "home-phone.png"))
    finally:
        context.close()


def test_home_page_screenshot(page, site_server):
    page.goto(site_server + "index.html", wait_until="load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)
    assert (SCREENSHOTS / "home.png").stat().st_size > 10_000


# -- 404 ------------------------------------------------------------------------------------------

class _PagesHandler(SimpleHTTPRequestHandler):
    """Static hosting like GitHub Pages: a missing path gets the root 404.html with status 404."""

    def log_message(self, *args) -> None:
        pass

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.fixture(scope="module")
def pages_host(site_html: Path, tmp_path_factory):
    """The site published at /0.7.0/ with the root 404.html copied from it, as main.yml deploys it."""
    if not (site_html / "404.html").is_file():
        pytest.fail(f"{site_html / '404.html'} is missing: bookkit.site.sitefixes writes it")
    root = tmp_path_factory.mktemp("pages")
    (root / "0.7.0").symlink_to(site_html, target_is_directory=True)
    shutil.copy(site_html / "404.html", root / "404.html")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_PagesHandler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("missing, home", [
    ("0.7.0/no/such/deep/page.html", "0.7.0/index.html"),
    ("0.7.0/guides/gone.html", "0.7.0/index.html"),
    ("0.7.0/missing.html", "0.7.0/index.html"),
])
def test_404_page_is_styled_and_links_home_from_any_depth(page, pages_host, missing, home):
    failed = same_origin_failures(page, pages_host)
    # Chromium logs the document's own 404 status as a console error: expected here, anything else is not.
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text} ({m.location.get('url')})")
            if m.type == "error" and m.location.get("url") != pages_host + missing else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(pages_host + missing, wait_until="load")
    assert response.status == 404
    assert page.locator("article h1").inner_text() == "Page not found"
    styled = page.evaluate("[...document.styleSheets].some(s => (s.href || '').includes('pydata-sphinx-theme'))"
                           " && getComputedStyle(document.querySelector('.bd-header')).display !== 'inline'")
    assert styled, "the theme's stylesheet loads"
    link = page.locator("article a", has_text="home page").get_attribute("href")
    assert urljoin(page.evaluate("document.baseURI"), link) == pages_host + home
    assert page.request.get(pages_host + home).status == 200
    assert not [f for f in failed if urlsplit(f.split(" ", 1)[1]).path != urlsplit(pages_host + missing).path]
    assert not errors


# -- console --------------------------------------------------------------------------------------

def test_no_console_errors_or_missing_assets_on_representative_pages(page, site_server, site_html):
    paths = ["index.html", *section_landings(), GUIDE]
    nb = next((f"notebooks/{p.stem}.html" for p in sorted(NOTEBOOKS.glob("*.ipynb"))
               if (site_html / "notebooks" / f"{p.stem}.html").is_file()), None)
    paths += [nb] if nb else []
    failed = same_origin_failures(page, site_server)
    report = {}
    for path in paths:
        page.goto(site_server + path, wait_until="load")
        page.wait_for_timeout(200)
        if page.bookkit_errors or failed:
            report[path] = page.bookkit_errors + failed
        page.bookkit_errors.clear()
        failed.clear()
    assert not report, json.dumps(report, indent=1)
