"""Zero broken internal links and anchors over the whole built site, redirect pages included.

A crawler over the files (no server): every ``href``/``src``/``srcset`` that points
inside the site must name a file that exists (a folder means its ``index.html``), and
every ``#anchor`` must be an ``id`` (or ``name``) in the target page. Redirect pages
written by bookkit.site.redirects (``<meta http-equiv="refresh">`` from archive/mapping.yml)
are followed the same way. Pages under ``_static/`` (third-party assets) are not crawled,
but links into them are checked.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

LINK_ATTRS = {"href", "src", "srcset", "poster", "data"}
SKIP_SCHEMES = ("http:", "https:", "mailto:", "data:", "javascript:", "tel:", "ftp:", "blob:")
SKIP_DIRS = {"_static", "_sources", "_downloads", "pagefind", "_images"}
REFRESH = re.compile(r"url=(.+)$", re.I)


class PageLinks(HTMLParser):
    """The links and anchor targets of one HTML page (line numbers kept for messages)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, str, str]] = []  # (line, tag.attr, url)
        self.ids: set[str] = set()
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and values.get("name"):
            self.ids.add(values["name"])
        if tag == "base" and values.get("href"):
            self.base = values["href"]
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            m = REFRESH.search(values.get("content") or "")
            if m:
                self.links.append((line, "meta.refresh", m.group(1).strip().strip("'\"")))
        for attr in LINK_ATTRS & values.keys():
            if tag == "object" and attr != "data" or tag != "object" and attr == "data":
                continue
            value = values[attr] or ""
            urls = [part.strip().split(" ")[0] for part in value.split(",")] if attr == "srcset" else [value]
            self.links.extend((line, f"{tag}.{attr}", u) for u in urls if u)


@lru_cache(maxsize=None)
def parse(path: Path) -> PageLinks:
    parser = PageLinks()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def target_of(site: Path, page: Path, url: str) -> tuple[Path | None, str]:
    """The local file a link points at (None for external links) and its fragment."""
    if url.startswith(SKIP_SCHEMES) or url.startswith("//"):
        return None, ""
    parts = urlsplit(url)
    if parts.scheme:
        return None, ""
    fragment = unquote(parts.fragment)
    if not parts.path:
        return page, fragment
    path = unquote(parts.path)
    target = (site / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
    target = Path(*[p for p in target.parts]).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, fragment


def broken_links(site: Path) -> tuple[list[str], Counter]:
    site = site.resolve()
    problems: list[str] = []
    counts: Counter = Counter()
    pages = [p for p in sorted(site.rglob("*.html")) if not (SKIP_DIRS & set(p.relative_to(site).parts[:-1]))]
    for page in pages:
        counts["pages"] += 1
        rel = page.relative_to(site)
        for line, where, url in parse(page).links:
            target, fragment = target_of(site, page, url)
            if target is None:
                counts["external"] += 1
                continue
            counts["internal"] += 1
            if site not in target.parents and target != site:
                problems.append(f"{rel}:{line}: {where}={url!r} points outside the site")
            elif not target.is_file():
                problems.append(f"{rel}:{line}: {where}={url!r}: {target.relative_to(site)} does not exist")
            elif fragment and target.suffix == ".html":
                counts["anchors"] += 1
                if fragment not in parse(target).ids:
                    problems.append(f"{rel}:{line}: {where}={url!r}: no id {fragment!r} in {target.relative_to(site)}")
    return problems, counts


def test_no_broken_internal_links_or_anchors(site):
    problems, counts = broken_links(site)
    print(f"links: {counts['pages']} pages, {counts['internal']} internal links "
          f"({counts['anchors']} with anchors), {counts['external']} external (not fetched), "
          f"{len(problems)} broken")
    assert counts["pages"] > 50
    assert not problems, "\n".join(problems[:60]) + (f"\n... {len(problems) - 60} more" if len(problems) > 60 else "")


def test_redirect_pages_are_crawled_and_lead_to_built_pages(site):
    mapping = yaml.safe_load((ROOT / "archive" / "mapping.yml").read_text(encoding="utf-8"))
    redirects = [p for p in site.rglob("*.html") if any(w == "meta.refresh" for _, w, _ in parse(p).links)]
    listed = len((mapping or {}).get("pages") or {})
    assert redirects, f"no redirect pages in {site} although archive/mapping.yml lists {listed} pages"
    for page in redirects:
        for _, where, url in parse(page).links:
            if where == "meta.refresh":
                target, _ = target_of(site.resolve(), page.resolve(), url)
                assert target is not None and target.is_file(), f"{page.relative_to(site)} -> {url}"


def test_the_checker_reports_a_missing_file_and_a_missing_anchor(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="a/">ok</a><a href="a/index.html#here">ok</a><a href="#top">ok</a><h1 id="top">T</h1>'
        '<a href="a/gone.html">x</a>\n<a href="a/index.html#nowhere">y</a>'
        '<img srcset="a/i.png 1x, a/j.png 2x"><a href="https://example.org/x">ext</a>')
    (tmp_path / "a" / "index.html").write_text(
        '<meta http-equiv="refresh" content="0; url=../missing.html"><p id="here">h</p>')
    (tmp_path / "a" / "i.png").write_bytes(b"")
    problems, counts = broken_links(tmp_path)
    assert len(problems) == 4, problems
    assert any("index.html:1: a.href='a/gone.html'" in p for p in problems)
    assert any("index.html:2:" in p and "'nowhere'" in p for p in problems)
    assert any("a/j.png does not exist" in p for p in problems)
    assert any("meta.refresh" in p and "missing.html" in p for p in problems)
    assert counts["external"] == 1
