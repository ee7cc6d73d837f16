"""bookkit.outputs.search: page markup for Pagefind (body, meta, facets, weights) and the index built on build-finished."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bookkit.outputs.search import facets_of, page_markup

FRONT = """---
description: {desc}
categories: [testing]
tags: [fixture]
personas: [{persona}]
difficulty: {difficulty}
content_type: {ctype}
modality: universal
---
"""


def test_page_markup_wraps_body_with_meta_and_filters():
    out = page_markup("<p>Hello</p>", title="GRPO <guide>", breadcrumb="Guides › Training",
                      filters=[("section", "Guides"), ("persona", "mle-focused"), ("type", "")],
                      weight=None)
    assert out.startswith('<div data-pagefind-body class="bk-search-body">')
    assert '<span data-pagefind-meta="title" hidden>GRPO &lt;guide&gt;</span>' in out
    assert '<span data-pagefind-meta="breadcrumb" hidden>Guides › Training</span>' in out
    assert '<span data-pagefind-filter="section" hidden>Guides</span>' in out
    assert '<span data-pagefind-filter="persona" hidden>mle-focused</span>' in out
    assert 'data-pagefind-filter="type"' not in out  # empty values are not facets
    assert out.endswith("<p>Hello</p></div>")


def test_api_pages_get_a_lower_weight():
    out = page_markup("<p>x</p>", title="t", breadcrumb="", filters=[], weight=0.4)
    assert '<div data-pagefind-weight="0.4"><p>x</p></div>' in out
    assert "breadcrumb" not in out


def test_facets_come_from_front_matter_and_part():
    fm = {"personas": ["mle-focused", "researcher-focused"], "difficulty": "beginner",
          "content_type": "guide", "modality": "universal"}
    assert facets_of(fm, "Guides") == [("section", "Guides"), ("persona", "mle-focused"),
                                       ("persona", "researcher-focused"), ("difficulty", "beginner"),
                                       ("type", "guide"), ("modality", "universal")]
    assert facets_of({}, "") == []


@pytest.fixture(scope="module")
def search_book(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("searchbook") / "book"

    def write(rel, text):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")

    write("_config.yml", """
        title: Tiny search
        only_build_toc_files: true
        exclude_patterns: [_build]
        execute:
          execute_notebooks: "off"
        sphinx:
          extra_extensions: [bookkit.content.frontmatter, bookkit.outputs.json_output, bookkit.outputs.search, bookkit.outputs.assistant, bookkit.site.versions]
          config:
            html_theme_options:
              repository_provider: github
        """)
    write("_toc.yml", """
        format: jb-book
        root: index
        parts:
          - caption: Guides
            chapters:
              - file: guides/train
          - caption: API Reference
            chapters:
              - file: api/mod
        """)
    write("index.md", FRONT.format(desc="The home page of the tiny book.", persona="mle-focused",
                                   difficulty="beginner", ctype="landing") + "\n# Home\n\nWelcome.\n")
    write("guides/train.md", FRONT.format(desc="How to train with the tiny book.", persona="researcher-focused",
                                          difficulty="advanced", ctype="guide") + textwrap.dedent("""
        # Training guide

        Intro text about rollouts.

        ## Generations per prompt

        Set `num_generations_per_prompt` to sample several answers per prompt.

        | Key | Meaning |
        |---|---|
        | `grpo.max_num_steps` | how many steps |

        ## The `loss_fn` section

        Text.
        """))
    write("api/mod.md", FRONT.format(desc="API page of the tiny book module.", persona="contributor-focused",
                                     difficulty="advanced", ctype="reference") + "\n# mod API\n\nText.\n")
    exe = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(exe), "build", str(root), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root / "_build" / "html"


@pytest.mark.slow
def test_build_writes_pagefind_index_and_marks_pages(search_book):
    html = search_book
    assert (html / "pagefind" / "pagefind.js").is_file()
    assert (html / "pagefind" / "pagefind-entry.json").is_file()
    assert list((html / "pagefind" / "fragment").iterdir())
    guide = (html / "guides" / "train.html").read_text(encoding="utf-8")
    assert guide.count("data-pagefind-body") == 1
    assert '<span data-pagefind-filter="section" hidden>Guides</span>' in guide
    assert '<span data-pagefind-filter="difficulty" hidden>advanced</span>' in guide
    assert '<span data-pagefind-meta="title" hidden>Training guide</span>' in guide
    assert "_static/bookkit-search.js" in guide and (html / "_static" / "bookkit-search.js").is_file()
    api = (html / "api" / "mod.html").read_text(encoding="utf-8")
    assert 'data-pagefind-weight="0.4"' in api
    # the sidebar and footer stay outside the indexed body
    body = guide[guide.index("data-pagefind-body"):]
    assert 'class="bd-sidebar-primary' not in body.split("</article>")[0]
    assert "data-pagefind-body" not in (html / "genindex.html").read_text(encoding="utf-8")
    # bookkit.site.versions: the switcher's accessible name is the version it shows (no aria-label)
    button = guide[guide.index('class="version-switcher__button'):].split(">", 1)[0]
    assert "aria-label" not in button and (html / "versions1.json").is_file()


def test_identifier_keys_and_words():
    from bookkit.outputs.search_markup import identifier_forms, identifier_keys, identifier_words
    assert identifier_keys("grpo.max_num_steps") == ["grpomaxnumsteps", "maxnumsteps"]
    assert identifier_keys("examples/run_grpo.py") == ["rungrpopy", "rungrpo"]
    assert identifier_keys("ClippedPGLossFn") == ["clippedpglossfn"]
    assert identifier_keys("grpo") == [] and identifier_words("grpo") == ""
    assert identifier_words("ClippedPGLossFn") == "Clipped PG Loss Fn"
    assert identifier_words("grpo.num_generations_per_prompt") == "grpo num generations per prompt"
    assert identifier_forms("grpo.max_num_steps") == ('<span class="bk-search-alt"> grpomaxnumsteps maxnumsteps </span>',
                                                      '<span class="bk-search-alt"> grpo max num steps </span>')


@pytest.mark.slow
def test_translator_marks_headings_definitions_and_identifiers(search_book):
    """PagefindMarkup writes the anchors, weights and identifier forms into the page body only."""
    guide = (search_book / "guides" / "train.html").read_text(encoding="utf-8")
    start, end = guide.index("data-pagefind-body"), guide.index("</article>")
    body, outside = guide[start:end], guide[:start] + guide[end:]
    assert '<section>\n<h2 id="generations-per-prompt">Generations per prompt' in body
    assert '<section id="generations-per-prompt">' not in body
    assert ('<span class="pre">num_generations_per_prompt</span><span class="bk-search-alt"> numgenerationsperprompt '
            '</span></code><span class="bk-search-alt"> num generations per prompt </span>') in body
    # the key column of a table that is not a {config-reference} table names, not defines
    assert ('<td><p><code data-pagefind-weight="4" class="docutils literal notranslate"><span class="pre">grpo.max_num_steps'
            in body)
    # navigation and the page's table of contents are written without the search markup
    assert "bk-search-alt" not in outside and "data-pagefind-weight" not in outside
