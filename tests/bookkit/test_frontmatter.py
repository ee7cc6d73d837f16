"""Front matter: every real page validates, and each kind of bad input gives a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookkit.content.frontmatter import problems
from bookkit.core.pages import FrontMatterError, parse_markdown, parse_notebook, read_front_matter
from bookhelpers import BOOK, entries, toc


def real_pages() -> list[Path]:
    docs = [toc()["root"], *entries()]
    return [next(BOOK.glob(f"{d}.*")) for d in docs]


@pytest.mark.parametrize("path", real_pages(), ids=lambda p: str(p.relative_to(BOOK)))
def test_real_page_front_matter_validates(path):
    assert problems(read_front_matter(path)) == []


GOOD = """---
description: A complete page with every required key.
categories: [testing]
tags: [fixture]
personas: [mle-focused]
difficulty: beginner
content_type: guide
modality: universal
---
# Title
"""


def test_good_front_matter_has_no_problems():
    fm = parse_markdown(Path("x.md"), GOOD)
    assert problems(fm) == [] and fm.title == "Title"


def test_missing_key_names_the_key():
    fm = parse_markdown(Path("x.md"), GOOD.replace("difficulty: beginner\n", ""))
    [(line, msg)] = problems(fm)
    assert "missing required key 'difficulty'" in msg and line == 1


def test_unknown_persona_suggests_closest():
    fm = parse_markdown(Path("x.md"), GOOD.replace("mle-focused", "ml-focused"))
    [(line, msg)] = problems(fm)
    # personas is on line 5 of the file: '---' is line 1, description line 2 ...
    assert line == 5
    assert "'ml-focused'" in msg and "did you mean 'mle-focused'" in msg


def test_misspelled_difficulty_suggests_closest():
    fm = parse_markdown(Path("x.md"), GOOD.replace("difficulty: beginner", "difficulty: intermedate"))
    [(line, msg)] = problems(fm)
    assert line == 6 and "did you mean 'intermediate'" in msg


def test_unknown_key_suggests_closest():
    fm = parse_markdown(Path("x.md"), GOOD.replace("tags:", "tag:"))
    msgs = [m for _, m in problems(fm)]
    assert any("unknown key 'tag'" in m and "did you mean 'tags'" in m for m in msgs)


def test_malformed_yaml_reports_line():
    with pytest.raises(FrontMatterError) as err:
        parse_markdown(Path("x.md"), GOOD.replace("tags: [fixture]", "tags: [fixture"))
    assert err.value.line >= 4 and "not valid YAML" in str(err.value)


def test_notebook_front_matter_comes_from_metadata():
    nb = '{"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# NB title"]}], "metadata": {"kernelspec": {"name": "python3"}, "description": "A notebook page used by the tests here.", "categories": ["testing"], "tags": [], "personas": ["researcher-focused"], "difficulty": "advanced", "content_type": "tutorial", "modality": "text-only"}, "nbformat": 4, "nbformat_minor": 5}'
    fm = parse_notebook(Path("n.ipynb"), nb)
    assert problems(fm) == [] and fm.title == "NB title" and "kernelspec" not in fm.data
