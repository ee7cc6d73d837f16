"""HTML validity of the built site with the Nu HTML Checker (vnu.jar from the pinned ``vnu-jar`` npm package).

Every page of the site (not the third-party files under ``_static/``) is checked in one
``java -jar vnu.jar`` run. The total error count is printed with the most common
messages. Errors attributable to the project's own output (bookkit extensions and
templates: the markers below, the 404 page and bookkit.site.redirects' pages) must be zero;
errors in markup that Sphinx, MyST-NB or the theme write are reported, not asserted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
SKIP_DIRS = {"_static", "_sources", "_downloads", "pagefind", "_images"}
# Markup that only bookkit writes: class and id prefixes, data attributes and texts of its templates.
OWN_MARKERS = ("bookkit", "bk-", "data-pagefind", "Show pages under", "search-button-field",
               "theme-switch", "bd-version", "execution-status", "bookkit-card")
OWN_PAGES = ("404.html",)
REDIRECT_GENERATOR = '<meta name="generator" content="bookkit.redirects">'


def own(message: dict, site: Path) -> bool:
    """Is this vnu message about markup the project itself writes?"""
    extract = message.get("extract") or ""
    if any(marker in extract for marker in OWN_MARKERS):
        return True
    page = Path(message.get("url", "").removeprefix("file:"))
    if page.name in OWN_PAGES and page.parent == site:
        return True
    try:
        return REDIRECT_GENERATOR in page.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return False


def pages(site: Path) -> list[Path]:
    return [p for p in sorted(site.rglob("*.html")) if not (SKIP_DIRS & set(p.relative_to(site).parts[:-1]))]


def run_vnu(files: list[Path]) -> list[dict]:
    if shutil.which("java") is None:
        pytest.skip("java is missing: install a Java 17 runtime (apt-get install -y openjdk-17-jre-headless)")
    if not VNU.is_file():
        pytest.skip(f"{VNU} is missing: run `npm ci` in the repository root (vnu-jar is pinned in package.json)")
    out = subprocess.run(["java", "-Xss8m", "-jar", str(VNU), "--format", "json", "--exit-zero-always",
                          *map(str, files)], capture_output=True, text=True, timeout=1800)
    return json.loads(out.stderr or out.stdout)["messages"]


def test_own_markup_classifier(tmp_path):
    (tmp_path / "404.html").write_text("<p>x</p>")
    (tmp_path / "old.html").write_text(REDIRECT_GENERATOR)
    (tmp_path / "page.html").write_text("<p>x</p>")
    url = f"file:{tmp_path}/"
    assert own({"url": url + "page.html", "extract": '<div class="bk-search__result">'}, tmp_path)
    assert own({"url": url + "404.html", "extract": "<p>"}, tmp_path)
    assert own({"url": url + "old.html", "extract": "<p>"}, tmp_path)
    assert not own({"url": url + "page.html", "extract": '<summary><p class="admonition-title">'}, tmp_path)


@pytest.mark.slow
def test_no_html_errors_from_the_projects_own_output(site):
    site = site.resolve()
    files = pages(site)
    messages = run_vnu(files)
    errors = [m for m in messages if m.get("type") == "error"]
    mine = [m for m in errors if own(m, site)]
    common = Counter(m["message"][:110] for m in errors).most_common(8)
    print(f"vnu: {len(files)} pages, {len(errors)} errors ({len(mine)} from the project's own output), "
          f"{sum(m.get('subType') == 'warning' for m in messages)} warnings; most common: {common}")
    assert len(files) > 50
    assert not mine, "\n".join(f"{m['url'].removeprefix('file:').removeprefix(str(site) + '/')}:{m.get('lastLine')}: "
                               f"{m['message']} :: {m.get('extract', '')!r}" for m in mine[:40])
