"""bookkit.outputs.json_output and bookkit.outputs.llms on the gating fixture book (ga and internal builds)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bookkit.outputs.json_output import schema_validator
from gating_fixture import HIDDEN_DOCS, build, shared_build

pytestmark = pytest.mark.slow

VISIBLE_DOCS = {
    "ga": ["index", "public/index", "public/open", "public/nb", "public/path", "extras/index", "extras/more"],
    "internal": ["index", "public/index", "public/open", "public/ea-page", "public/internal-page", "public/nb",
                 "public/path", "public/secret-nb", "early/index", "early/child", "extras/index", "extras/more", "extras/toc-gated",
                 "extras/toc-child", "secret/tools"],
}
HTML_TAG = re.compile(r"<(/?[A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?/?>")
DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\{[\w-]+\}|^\.\. [\w:-]+::|\{(doc|ref|py:\w+|bdg-\w+)\}`", re.M)


def _html(audience, tmp_path_factory) -> Path:
    status, log, html = shared_build(audience, tmp_path_factory)
    assert status == 0, log[-4000:]
    return html


def _page_json(html: Path, docname: str) -> dict:
    if docname == "index":
        return json.loads((html / "index.json").read_text(encoding="utf-8"))["home"]
    return json.loads((html / f"{docname}.json").read_text(encoding="utf-8"))


def _without_code(markdown: str) -> str:
    markdown = re.sub(r"^(`{3,}).*?^\1\s*$", "", markdown, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", markdown)


@pytest.mark.parametrize("audience", ["ga", "internal"])
def test_every_json_output_validates(audience, tmp_path_factory):
    html = _html(audience, tmp_path_factory)
    page_v, index_v = schema_validator("page"), schema_validator("index")
    files = sorted(p for p in html.rglob("*.json") if not p.relative_to(html).as_posix().startswith("_"))
    assert len(files) == len(VISIBLE_DOCS[audience])  # one per page; the home page's is index.json
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        validator = index_v if path == html / "index.json" else page_v
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, (path, errors)


@pytest.mark.parametrize("audience", ["ga", "internal"])
def test_index_lists_visible_pages_in_toc_order(audience, tmp_path_factory):
    index = json.loads((_html(audience, tmp_path_factory) / "index.json").read_text(encoding="utf-8"))
    assert [p["id"] for p in index["pages"]] == VISIBLE_DOCS[audience]
    assert index["page_count"] == len(VISIBLE_DOCS[audience]) and index["audience"] == audience
    assert index["title"] == "Gating Fixture" and index["description"] == "The home page of the gating fixture book."
    more = next(p for p in index["pages"] if p["id"] == "extras/more")
    assert more["part"] == "Extras" and more["section_path"] == ["Extras"] and more["json"] == "extras/more.json"


def test_page_record_content(tmp_path_factory):
    html = _html("ga", tmp_path_factory)
    more = _page_json(html, "extras/more")
    assert more["url"] == "extras/more.html" and more["title"] == "More"
    assert more["front_matter"]["content_type"] == "concept" and more["description"]
    assert more["section_path"] == [{"id": "extras/index", "title": "Extras"}]
    assert {(link["target"], link["url"]) for link in more["internal_links"]} == {
        ("public/open", "public/open.html"), ("public/nb", "public/nb.html")}
    assert more["signatures"] == ["train(steps: int) -> float"]
    assert more["headings"] == [{"level": 1, "text": "More", "anchor": "more"}]
    nb = _page_json(html, "public/nb")
    assert nb["kind"] == "notebook" and nb["outputs"] == ["2\n"]
    assert {"language": "python", "code": "print(1 + 1)"} in nb["code_blocks"]
    assert nb["source"] == "_sources/public/nb.ipynb"
    assert "Public text." in nb["text"]


def test_deterministic_and_written_only_when_changed(tmp_path_factory, tmp_path):
    html = _html("ga", tmp_path_factory)
    status, log, other = build("ga", tmp_path / "again")  # a fresh build elsewhere: byte-identical outputs
    assert status == 0, log[-4000:]
    produced = sorted(p.relative_to(html).as_posix() for p in html.rglob("*")
                      if p.suffix in (".json", ".md", ".txt") and not p.relative_to(html).as_posix().startswith("_"))
    assert "llms.txt" in produced and "llms-full.txt" in produced and "public/open.md" in produced
    for rel in produced:
        text = (html / rel).read_text(encoding="utf-8")
        assert text == (other / rel).read_text(encoding="utf-8"), rel
        assert "/tmp/" not in text and str(tmp_path) not in text, rel
    mtimes = {rel: (other / rel).stat().st_mtime_ns for rel in produced}
    status, log, _ = build("ga", tmp_path / "again", tmp_path / "again" / "src" / "book")
    assert status == 0, log[-4000:]
    assert {rel: (other / rel).stat().st_mtime_ns for rel in produced} == mtimes


@pytest.mark.parametrize("audience", ["ga", "internal"])
def test_llms_txt_lists_every_visible_page_once(audience, tmp_path_factory):
    html = _html(audience, tmp_path_factory)
    text = (html / "llms.txt").read_text(encoding="utf-8")
    assert text.startswith("# Gating Fixture\n\n> The home page of the gating fixture book.\n")
    links = re.findall(r"^- \[[^\]]+\]\(([^)]+)\.md\)", text, re.M)
    assert sorted(links) == sorted(VISIBLE_DOCS[audience]) and len(links) == len(set(links))
    groups = re.findall(r"^## (.+)$", text, re.M)
    expected = ["Home", "Public", "Extras"] if audience == "ga" else ["Home", "Public", "Early", "Extras",
                                                                     "Secret QXCAPTIONQX Part"]
    assert groups == expected
    for docname in HIDDEN_DOCS[audience]:
        assert docname not in text
    assert not HTML_TAG.search(text) and not DIRECTIVE.search(text)


@pytest.mark.parametrize("audience", ["ga", "internal"])
def test_llms_full_and_page_markdown_are_clean(audience, tmp_path_factory):
    html = _html(audience, tmp_path_factory)
    full = (html / "llms-full.txt").read_text(encoding="utf-8")
    sources = re.findall(r"^Source: (\S+)$", full, re.M)
    assert sorted(sources) == sorted(f"{d}.html" for d in VISIBLE_DOCS[audience])
    for docname in VISIBLE_DOCS[audience]:
        page = (html / f"{docname}.md").read_text(encoding="utf-8")
        assert page.startswith("# "), docname
        for text in (page, full):
            assert not HTML_TAG.search(_without_code(text)), (docname, HTML_TAG.search(_without_code(text)))
            assert not DIRECTIVE.search(_without_code(text)), docname
    more = (html / "extras/more.md").read_text(encoding="utf-8")
    assert "[the open page](../public/open.md)" in more and "| Key | Value |\n|---|---|\n| a | 1 |" in more
    assert "[the open page](public/open.md)" in full
    assert "![A picture](../_images/pic.svg)" in more and (html / "_images/pic.svg").is_file()
    assert "![A picture](_images/pic.svg)" in full
    assert "```\ntrain(steps: int) -> float\n```" in more
    assert "```text\n2\n```" in (html / "public/nb.md").read_text(encoding="utf-8")


def test_cards_become_list_items(tmp_path_factory):
    html = _html("ga", tmp_path_factory)
    landing = (html / "public/index.md").read_text(encoding="utf-8")
    assert "- [Open Page](open.md): A page of the gating fixture book. (beginner concept)" in landing
    record = _page_json(html, "public/index")
    assert record["text"].count("Open Page") == 2  # one section card and one page card, no repeated link text
