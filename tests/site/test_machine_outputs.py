"""The built site's machine-readable outputs: per-page JSON, index.json, <page>.md and llms files.

Reads the site that `make book` built (or BOOK_HTML); skipped when there is none.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bookkit.outputs.json_output import schema_validator

HTML_TAG = re.compile(r"<(/?[A-Za-z][A-Za-z0-9-]*)(\s[^<>\n]*)?/?>")
DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\{[\w-]+\}|^\.\. [\w:-]+::|\{(doc|ref|py:\w+|bdg-[\w-]+)\}`", re.M)


def _without_code(markdown: str) -> str:
    markdown = re.sub(r"^(\s*)(`{3,}|~{3,}).*?^\s*\2\s*$", "", markdown, flags=re.S | re.M)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", markdown)


@pytest.fixture(scope="module")
def index(site: Path) -> dict:
    path = site / "index.json"
    if not path.is_file():
        pytest.skip(f"{site} was built without bookkit.outputs.json_output")
    return json.loads(path.read_text(encoding="utf-8"))


def test_index_and_every_page_record_validate(site, index):
    page_v, index_v = schema_validator("page"), schema_validator("index")
    assert not [e.message for e in index_v.iter_errors(index)]
    for summary in index["pages"]:
        if summary["json"] == "index.json":
            continue
        record = json.loads((site / summary["json"]).read_text(encoding="utf-8"))
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in page_v.iter_errors(record)]
        assert not errors, (summary["json"], errors[:5])
        assert record["id"] == summary["id"] and (site / record["url"]).is_file()


def test_every_html_page_has_a_record(site, index):
    ids = {p["id"] for p in index["pages"]}
    assert len(ids) == len(index["pages"]) == index["page_count"]
    for summary in index["pages"]:
        assert (site / summary["url"]).is_file() and (site / summary["markdown"]).is_file(), summary["id"]


def test_no_absolute_paths(site, index):
    from bookhelpers import ROOT
    machine = [str(ROOT), str(site.resolve().parent.parent)]  # the checkout and the build folder
    for name in ["index.json", "llms.txt", "llms-full.txt"] + [p["json"] for p in index["pages"]]:
        text = (site / name).read_text(encoding="utf-8")
        assert not [m for m in machine if m in text], name


def test_llms_txt_lists_every_page_once(site, index):
    text = (site / "llms.txt").read_text(encoding="utf-8")
    assert text.startswith(f"# {index['title']}\n")
    links = re.findall(r"^- \[[^\]]+\]\(([^)\s]+)\.md\)", text, re.M)
    assert sorted(links) == sorted(p["id"] for p in index["pages"])
    assert not HTML_TAG.search(_without_code(text)) and not DIRECTIVE.search(_without_code(text))


def test_llms_full_and_page_markdown_are_clean(site, index):
    full = (site / "llms-full.txt").read_text(encoding="utf-8")
    assert sorted(re.findall(r"^Source: (\S+)$", full, re.M)) == sorted(p["url"] for p in index["pages"])
    for text, name in [(full, "llms-full.txt")] + [((site / p["markdown"]).read_text(encoding="utf-8"),
                                                    p["markdown"]) for p in index["pages"]]:
        body = _without_code(text)
        tag, directive = HTML_TAG.search(body), DIRECTIVE.search(body)
        assert tag is None, (name, tag and tag.group(0))
        assert directive is None, (name, directive and directive.group(0))


def test_gated_pages_are_absent(site, index):
    """Whatever the audience of the built site, pages it gates out have no output at all."""
    audience = index["audience"]
    from bookkit.gating.conditions import allows
    from bookkit.core.pages import read_front_matter, source_of
    from bookhelpers import BOOK
    for summary in index["pages"]:
        path = source_of(BOOK, summary["id"])
        condition = read_front_matter(path).data.get("only") if path else None
        assert condition is None or allows(condition, audience), summary["id"]
