"""The built site's search index, assistant corpus, versions1.json and project.json."""

from __future__ import annotations

import json
import re

import jsonschema

import pytest

from bookkit.site.versions import schema


@pytest.fixture
def site(site):
    """The built site, when it was built with bookkit.outputs.search, .assistant and .versions."""
    if not (site / "pagefind").is_dir() or not (site / "versions1.json").is_file():
        pytest.skip(f"{site} was built without bookkit.outputs.search/versions (no pagefind/ or versions1.json): "
                    "rebuild it (make book)")
    return site


def test_versions_and_project_json_validate(site):
    entries = json.loads((site / "versions1.json").read_text(encoding="utf-8"))
    jsonschema.validate(entries, schema("versions"))
    assert [e["version"] for e in entries if e["preferred"]] == ["0.7.0"]  # the pinned NeMo RL release
    assert all(not re.match(r"^[a-z]+:|^//", e["url"]) for e in entries)  # relative: any static host
    project = json.loads((site / "project.json").read_text(encoding="utf-8"))
    jsonschema.validate(project, schema("project"))
    assert project == {"name": "NeMo RL Book", "version": "0.7.0"}


def test_switcher_is_configured_with_a_relative_json_url(site):
    html = (site / "guides" / "index.html").read_text(encoding="utf-8")
    assert "DOCUMENTATION_OPTIONS.theme_switcher_json_url = 'versions1.json'" in html
    assert "version-switcher__button" in html and "_static/bookkit-versions.js" in html


def test_every_published_page_is_indexed_once_with_facets(site):
    index = json.loads((site / "index.json").read_text(encoding="utf-8"))
    assert (site / "pagefind" / "pagefind.js").is_file()
    for page in index["pages"]:
        html = (site / page["url"]).read_text(encoding="utf-8")
        assert html.count("data-pagefind-body") == 1, page["id"]
        for facet, key in (("difficulty", "difficulty"), ("type", "content_type"), ("modality", "modality"),
                           ("persona", "personas")):
            if key in page:  # generated API pages have no front matter
                assert f'data-pagefind-filter="{facet}"' in html, (page["id"], facet)
        if page["part"]:
            assert f'<span data-pagefind-filter="section" hidden>{page["part"]}</span>' in html, page["id"]
    assert "data-pagefind-body" not in (site / "genindex.html").read_text(encoding="utf-8")
    grpo = (site / "guides" / "training-algorithms" / "grpo.html").read_text(encoding="utf-8")
    assert re.search(r'<h2 id="[^"]+">', grpo)  # headings carry ids: Pagefind sub-results with anchors


def test_assistant_corpus_covers_every_published_page(site):
    corpus = json.loads((site / "_bookkit" / "assistant-corpus.json").read_text(encoding="utf-8"))
    index = json.loads((site / "index.json").read_text(encoding="utf-8"))
    urls = {p["u"] for p in corpus["passages"]}
    with_text = {p["url"] for p in index["pages"] if p["words"] > 40}
    assert with_text <= urls, sorted(with_text - urls)
