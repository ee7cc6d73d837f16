"""Accessibility in a real browser: axe-core (pinned in package.json, installed by ``npm ci``) on the built site.

Pages checked: the home page, every section landing page (the chapters of _toc.yml), a
notebook page, an API page and the 404 page, in light mode, and the home and notebook
pages again in dark mode. No serious or critical violation is allowed; moderate and
minor ones are printed for review.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sitepages import section_landings, widget_notebook  # tests/browser/sitepages.py

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.skip(f"{AXE} is missing: run `npm ci` in the repository root (axe-core is pinned in package.json)")
    return AXE.read_text(encoding="utf-8")


def api_page(site_html: Path) -> str:
    pages = sorted(p for p in (site_html / "api").rglob("*.html") if p.parent != site_html / "api")
    if not pages:
        pytest.skip(f"no generated API page under {site_html / 'api'}")
    return pages[0].relative_to(site_html).as_posix()


def run_axe(page, axe_source: str, rules: list[str] | None = None) -> list[dict]:
    page.add_script_tag(content=axe_source)
    options = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    return page.evaluate("""async (options) => {
        const r = await axe.run(document, options);
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
    }""", options)


def audit(page, base: str, paths: list[str], axe_source: str, rules: list[str] | None = None) -> dict:
    blocking, other = {}, {}
    for path in paths:
        page.goto(base + path, wait_until="load")
        page.wait_for_timeout(300)  # widgets, MathJax and the theme's scripts settle
        for v in run_axe(page, axe_source, rules):
            (blocking if v["impact"] in BLOCKING else other).setdefault(path, []).append(v)
    summary = {p: sorted(f"{v['id']} ({v['impact']})" for v in vs) for p, vs in other.items()}
    print(f"axe: {len(paths)} pages, {sum(map(len, blocking.values()))} serious/critical, "
          f"{sum(map(len, other.values()))} moderate/minor rule violations: {json.dumps(summary)}")
    return blocking


def test_no_serious_or_critical_axe_violations(page, site_server, site_html, axe_source):
    paths = ["index.html", *section_landings(), widget_notebook(site_html), api_page(site_html), "404.html"]
    blocking = audit(page, site_server, paths, axe_source)
    assert not blocking, json.dumps(blocking, indent=1)


def test_dark_mode_has_no_contrast_violations(page, site_server, site_html, axe_source):
    page.goto(site_server + "index.html", wait_until="load")
    page.evaluate("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark')")
    paths = ["index.html", widget_notebook(site_html), "guides/index.html"]
    blocking = audit(page, site_server, paths, axe_source, rules=["color-contrast", "link-in-text-block"])
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert not blocking, json.dumps(blocking, indent=1)
