"""The built site's notebook pages: stamp, launch and download buttons, local widget JavaScript.

Reads the site that `make book` built (or $BOOK_HTML); skips when there is none.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def notebook_pages(site: Path) -> list[Path]:
    """HTML pages built from a .ipynb source."""
    return sorted(p for p in site.rglob("*.html")
                  if (site / "_sources" / p.relative_to(site).with_suffix(".ipynb")).is_file())


def script_tags(html: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>", html)


@pytest.fixture(scope="module")
def pages(site):
    found = notebook_pages(site)
    if not found:
        pytest.skip(f"{site} has no notebook pages")
    return {p.relative_to(site).with_suffix("").as_posix(): p.read_text(encoding="utf-8") for p in found}


def test_every_notebook_in_the_toc_became_a_page(site):
    toc = (REPO / "book" / "_toc.yml").read_text()
    listed = re.findall(r"file:\s*(notebooks/[\w./-]+)", toc)
    for doc in listed:
        if (REPO / "book" / f"{doc}.ipynb").is_file():
            assert (site / f"{doc}.html").is_file(), f"{doc} is in _toc.yml but was not built"


def test_notebook_pages_carry_an_execution_stamp(pages):
    for doc, html in pages.items():
        m = re.search(r'<div class="[^"]*bookkit-execstamp[^"]*">(.*?)</div>', html, re.S)
        assert m, f"{doc}: no 'Last execution' box"
        text = " ".join(re.sub(r"<[^>]+>", " ", m.group(1)).split())
        for label in ("executed", "wall time", "profile", "hardware", "torch", "transformers", "rl_lab"):
            assert label in text, f"{doc}: stamp lacks {label!r}: {text}"


def test_notebook_pages_offer_download_and_launch_buttons(pages):
    for doc, html in pages.items():
        depth = "../" * doc.count("/")
        assert f'href="{depth}_sources/{doc}.ipynb"' in html, f"{doc}: no .ipynb download"
        assert "colab.research.google.com/github/" in html, f"{doc}: no Colab launch button"
        assert "mybinder.org/v2/gh/" in html and "urlpath=lab/tree/" in html, f"{doc}: no Binder (JupyterLab) button"
        assert f"book/{doc}.ipynb" in html, f"{doc}: launch links must open book/{doc}.ipynb"


def test_widget_pages_load_widget_code_from_the_site_only(site, pages):
    widget_pages = {d: h for d, h in pages.items() if "application/vnd.jupyter.widget-state+json" in h}
    if not widget_pages:
        pytest.skip("no notebook page shows widgets")
    assert (site / "_static" / "_widgets" / "embed-amd.js").is_file()
    assert (site / "_static" / "_widgets" / "require.js").is_file()
    for doc, html in widget_pages.items():
        tags = script_tags(html)
        remote = [t for t in tags if re.search(r'\b(src|data-jupyter-widgets-cdn)="(https?:)?//', t)]
        assert not remote, f"{doc} loads scripts from the network: {remote}"
        assert any("_static/_widgets/embed-amd.js" in t for t in tags), f"{doc}: no local embed-amd.js"


def test_pages_without_widgets_do_not_load_widget_code(site):
    for path in [site / "index.html", site / "references" / "execution-status.html"]:
        if path.is_file():
            assert "_widgets/" not in path.read_text(encoding="utf-8"), path


def test_execution_status_lists_every_notebook_page(site, pages):
    status = site / "references" / "execution-status.html"
    assert status.is_file(), "references/execution-status is missing from the site"
    html = status.read_text(encoding="utf-8")
    table = re.search(r'<table class="[^"]*bookkit-execution-status.*?</table>', html, re.S)
    assert table, "the status page has no execution table"
    for doc in pages:
        assert re.search(rf'href="\.\./{re.escape(doc)}\.html"', table.group(0)), f"{doc} missing from the table"
    statuses = re.findall(r'bookkit-status-([\w-]+)', table.group(0))
    assert len(statuses) == len(pages) and set(statuses) <= {"ok", "cached", "failed", "not-executed"}
    assert "failed" not in statuses, "a notebook failed to execute"


def test_no_page_loads_scripts_from_a_cdn(site):
    offenders = {}
    for path in sorted(site.rglob("*.html")):
        remote = [t for t in script_tags(path.read_text(encoding="utf-8")) if re.search(r'\bsrc="(https?:)?//', t)]
        if remote:
            offenders[path.relative_to(site).as_posix()] = remote[0]
    assert not offenders, f"{len(offenders)} page(s) load scripts from the network, e.g. {next(iter(offenders.items()))}"


def test_math_pages_load_mathjax_from_the_site(site):
    with_math = [p for p in site.rglob("*.html") if "tex-mml-chtml.js" in p.read_text(encoding="utf-8")]
    if not with_math:
        pytest.skip("no page has math")
    assert (site / "_static" / "_mathjax" / "tex-mml-chtml.js").is_file()
    assert (site / "_static" / "_mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
