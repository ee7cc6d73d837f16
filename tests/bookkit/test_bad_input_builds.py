"""Bad input fails the strict build with a clear error naming the file and the key (tiny books)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

TOC = """
format: jb-book
root: index
parts:
  - caption: Part
    chapters:
      - file: sec/index
        sections:
          - file: sec/child
"""


def base(book):
    book.write("_toc.yml", TOC)
    book.page("index.md", "# Home\n\nWelcome.\n", content_type="landing")
    book.page("sec/index.md", "# Section\n\n```{section-cards}\n```\n", content_type="landing")
    book.page("sec/child.md", "# Child\n\nText.\n")
    return book


def output(result):
    return result.stdout + result.stderr


def test_clean_tiny_book_builds(tiny_book):
    result = base(tiny_book).build()
    assert result.returncode == 0, output(result)
    html = (tiny_book.root / "_build/html/sec/index.html").read_text()
    assert "A page used by the test suite to check the build." in html


@pytest.mark.parametrize("case, edit, expected", [
    ("missing key", lambda b: b.page("sec/child.md", "# Child\n", front="---\ndescription: Only a description here, nothing else.\n---\n"),
     ["sec/child.md", "missing required key 'categories'"]),
    ("unknown persona", lambda b: b.write("sec/child.md", (b.root / "sec/child.md").read_text().replace("contributor-focused", "admin")),
     ["sec/child.md:5", "'admin'", "did you mean 'admin-focused'"]),
    ("misspelled difficulty", lambda b: b.write("sec/child.md", (b.root / "sec/child.md").read_text().replace("beginner", "beginer")),
     ["sec/child.md:6", "did you mean 'beginner'"]),
    ("malformed yaml", lambda b: b.write("sec/child.md", (b.root / "sec/child.md").read_text().replace("tags: [fixture]", "tags: [fixture")),
     ["sec/child.md", "not valid YAML"]),
    ("toc entry to a missing file", lambda b: b.write("_toc.yml", TOC + "          - file: sec/ghost\n"),
     ["sec/ghost"]),
    ("broken internal link", lambda b: b.page("sec/child.md", "# Child\n\nSee [the ghost](ghost.md).\n"),
     ["sec/child.md", "ghost"]),
    ("orphan page", lambda b: b.page("sec/orphan.md", "# Orphan\n"),
     ["sec/orphan.md is not listed in _toc.yml", "Add 'sec/orphan'"]),
])
def test_bad_input_fails_with_clear_message(tiny_book, case, edit, expected):
    base(tiny_book)
    edit(tiny_book)
    result = tiny_book.build()
    log = output(result)
    assert result.returncode != 0, f"{case}: build passed\n{log}"
    for text in expected:
        assert text in log, f"{case}: {text!r} not in build log\n{log[-3000:]}"


def test_a_page_added_to_the_toc_on_a_warm_rebuild_is_not_called_unlisted(tiny_book):
    # Build once, then add a page and list it: the second (warm) build must accept it. The guard
    # once read the previous build's toc from the pickled environment and failed here.
    assert base(tiny_book).build().returncode == 0
    tiny_book.page("sec/new.md", "# New\n\nText.\n")
    tiny_book.write("_toc.yml", TOC + "          - file: sec/new\n")
    result = tiny_book.build()
    assert result.returncode == 0, output(result)
    assert "not listed in _toc.yml" not in output(result)
    assert (tiny_book.root / "_build/html/sec/new.html").is_file()
