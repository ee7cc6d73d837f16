"""The site's navigation as readers meet it: a primary sidebar that shows every part's pages
without a click, and exactly one search entry point on every page, on a laptop and on a phone.

Runs against ``BOOK_HTML`` (default ``book/_build/html``) on a local static server.
"""

from __future__ import annotations

import pytest
import yaml

from sitepages import REPO  # tests/browser/sitepages.py

pytestmark = pytest.mark.browser
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
# A landing page, a deep guide, a notebook, an API page and the home page.
PAGES = ["index.html", "get-started/index.html", "guides/training-algorithms/grpo.html",
         "notebooks/sft-quickstart.html", "api/rl_lab.html", "references/glossary.html"]
# Every element the theme or bookkit renders that opens the search (buttons, fields, forms).
SEARCH_ENTRIES = ".search-button__button, .search-button-field, .search-button, form.bd-search input, #searchbox input"


def parts() -> list[tuple[str, str, list[str]]]:
    """(caption, landing page, the landing page's children) for every part of _toc.yml, as site paths."""
    toc = yaml.safe_load((REPO / "book" / "_toc.yml").read_text(encoding="utf-8"))
    out = []
    for part in toc["parts"]:
        (chapter,) = part["chapters"]  # one landing page per part
        kids = [f"{s['file']}.html" for s in chapter.get("sections", []) if "file" in s]
        out.append((part["caption"], f"{chapter['file']}.html", kids))
    return out


def sidebar_links(page, base: str) -> list[dict]:
    """Visible links of the primary sidebar in document order: path, text, left edge, caption above."""
    return page.evaluate("""base => {
        const nav = document.querySelector('.bd-sidebar-primary nav.bd-docs-nav');
        const out = []; let caption = '';
        for (const el of nav.querySelectorAll('p.caption, a.reference')) {
            if (el.matches('p.caption')) { caption = el.innerText.trim(); continue; }
            // checkVisibility: links inside a closed <details> keep a box in Chromium but are not rendered
            const r = el.getBoundingClientRect();
            if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) || r.width === 0) continue;
            out.push({path: el.href.split('#')[0].replace(base, ''), text: el.innerText.trim(),
                      left: Math.round(r.left), caption});
        }
        return out;
    }""", base)


@pytest.mark.parametrize("path", ["index.html", "guides/training-algorithms/grpo.html", "api/rl_lab.html"])
def test_sidebar_shows_every_parts_pages_under_its_caption_without_a_click(browser, site_server, site_html, path):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(site_server + path, wait_until="load")
    links = sidebar_links(page, site_server)
    for caption, landing, kids in parts():
        assert (site_html / landing).is_file(), landing
        under = [link for link in links if link["caption"] == caption]
        paths = [link["path"] for link in under]
        # landing page first, then each of its pages, in toc order, with nothing clicked
        assert paths[:1] == [landing], f"{path}: {caption!r} does not start with its landing page: {paths[:3]}"
        assert [p for p in paths if p in kids] == kids, f"{path}: pages of {caption!r} not all shown: {paths}"
        top = [link for link in under if link["path"] in (landing, *kids)]
        assert all(link["text"] for link in top), f"{path}: a link under {caption!r} has no title"
        # one level: the landing page and its pages share a left edge (no second caption-like entry above them)
        assert len({link["left"] for link in top}) == 1, f"{path}: {caption!r} is nested: {top}"
        assert under[0]["text"].casefold() != caption.casefold(), f"{path}: the first entry repeats {caption!r}"
    context.close()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_exactly_one_search_entry_point_is_visible_and_it_opens_the_search(browser, site_server, site_html, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    for path in PAGES:
        if not (site_html / path).is_file():
            continue
        page.goto(site_server + path, wait_until="load")
        page.wait_for_timeout(300)  # the theme scrolls the sidebar to the current page after load
        visible = page.evaluate("""sel => [...new Set(document.querySelectorAll(sel))].filter(e => {
            const r = e.getBoundingClientRect();
            return e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) && r.width > 0 && r.height > 0
                && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
        }).map(e => e.className || e.tagName)""", SEARCH_ENTRIES)
        assert len(visible) == 1, f"{path} at {viewport['width']}px: {len(visible)} search entry points in view: {visible}"
        entry = page.locator(".search-button__button:visible").first
        entry.click()
        page.wait_for_selector("#bk-search[open]")
        page.keyboard.press("Escape")
    context.close()
