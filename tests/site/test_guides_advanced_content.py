"""Content checks for the Guides and Advanced parts of the book (source level, no build).

Each test fails if a page of those parts loses something the book promises its readers:
valid front matter, NeMo RL references that exist in the pinned manifest, a real NeMo RL
command on every guide, a place in the table of contents, links that point at real pages,
and accessible diagrams.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from bookhelpers import entries
from bookkit.core.pages import read_front_matter
from bookkit.refcheck.scan import Index, scan

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
PARTS = ("guides", "advanced")
PAGES = sorted(p for part in PARTS for p in (BOOK / part).rglob("*.md"))
SCHEMA = json.loads((ROOT / "src/bookkit/schemas/frontmatter.schema.json").read_text())
COMMAND = re.compile(r"(uv run|python)[^\n]*\b(examples|tools)/[\w./-]+\.(py|sh)|\bray\.sub\b|ft_launcher")
DOC_ROLE = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`")
NOTEBOOKS = {"sft-quickstart", "dpo", "grpo-math", "evaluation", "custom-environments",
             "custom-loss-functions", "distributed-training-scaling", "sft-openmathinstruct2",
             "grpo-deepscaler", "grpo-sliding-puzzle"}


def _rel(page: Path) -> str:
    return page.relative_to(BOOK).with_suffix("").as_posix()


def _toc_files() -> set[str]:
    return set(entries())


def test_parts_have_pages():
    assert len(PAGES) >= 40, f"expected the full Guides and Advanced parts, found {len(PAGES)} pages"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_front_matter_is_valid(page):
    data = read_front_matter(page).data
    jsonschema.validate(data, SCHEMA)
    if page.name == "index.md":
        assert data["content_type"] == "landing", f"{_rel(page)}: section index pages are landing pages"
        assert "{section-cards}" in page.read_text(), f"{_rel(page)}: landing page without section cards"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_page_is_in_toc(page):
    assert _rel(page) in _toc_files(), f"{_rel(page)} is not listed in book/_toc.yml"


def test_nemo_rl_references_exist_in_manifest():
    index = Index(json.loads((BOOK / "_data/nemo_rl/v0.7.0.json").read_text()))
    problems = [f"{_rel(p)}:{f.line}: {f.message(index.tag)}" for p in PAGES for f in scan(p.read_text(), index)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", [p for p in PAGES if read_front_matter(p).data.get("content_type") in ("guide", "example")], ids=_rel)
def test_guides_show_a_real_command(page):
    assert COMMAND.search(page.read_text()), f"{_rel(page)}: a guide must show at least one NeMo RL command"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_doc_links_point_at_pages(page):
    missing = []
    for target in DOC_ROLE.findall(page.read_text()):
        target = target.strip()
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = (page.parent.relative_to(BOOK) / target).as_posix()
        if path.startswith("notebooks/") and path.split("/", 1)[1] in NOTEBOOKS:
            continue  # notebooks are produced separately; the build reports any that are missing
        if not any((BOOK / (path + suffix)).exists() for suffix in (".md", ".ipynb")):
            missing.append(target)
    assert not missing, f"{_rel(page)}: links to missing pages {missing}"


DIAGRAMS = sorted((BOOK / "_static/diagrams").glob("*.svg"))


@pytest.mark.parametrize("svg", DIAGRAMS, ids=lambda p: p.name)
def test_diagrams_are_accessible(svg):
    root = ET.parse(svg).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    title, desc = root.find("s:title", ns), root.find("s:desc", ns)
    assert title is not None and title.text and title.text.strip(), f"{svg.name}: needs a <title>"
    assert desc is not None and desc.text and len(desc.text.strip()) > 40, f"{svg.name}: needs a <desc>"
    assert root.get("role") == "img", f"{svg.name}: root needs role=img"
    first_rect = root.find("s:rect", ns)
    assert first_rect is not None and first_rect.get("fill", "").startswith("#f"), \
        f"{svg.name}: needs a light background rectangle so it reads in dark mode"


def test_every_diagram_is_used():
    sources = "\n".join(p.read_text() for p in BOOK.rglob("*.md"))
    unused = [svg.name for svg in DIAGRAMS if f"/_static/diagrams/{svg.name}" not in sources]
    assert not unused, f"diagrams not included by any page: {unused}"
