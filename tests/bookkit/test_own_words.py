"""The book's prose is its own: no run of 8 or more words shared with NeMo RL's docs.

The comparison needs NeMo RL's ``docs/`` at v0.7.0 (``NEMO_RL_SRC``); the extraction
rules (code, math, markup and table-cell boundaries) are tested without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bookkit.nemorl.ownwords import Corpus, notebook_text, prose_words

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from nemo_rl_import import checkout  # noqa: E402

RUN = 8
SENTENCE = "the policy learns to prefer answers that the reward function scores higher than the rest"


def book_pages() -> list[Path]:
    return sorted(p for p in (REPO / "book").rglob("*")
                  if p.suffix in (".md", ".ipynb") and "_build" not in p.parts)


def page_prose(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return notebook_text(text) if path.suffix == ".ipynb" else text


def test_code_math_and_markup_are_not_prose():
    page = "\n".join([
        "Intro words here.",
        "```bash",
        SENTENCE,
        "```",
        "A `" + SENTENCE + "` span and $x + y$ math.",
        "$$",
        SENTENCE,
        "$$",
        "<!-- " + SENTENCE + " -->",
        "```{note}",
        ":class: dropdown",
        "Admonition body is prose.",
        "```",
        "See [the guide](https://example.com/" + SENTENCE.replace(" ", "-") + ").",
    ])
    words = [w for w, _ in prose_words(page)]
    assert "reward" not in words
    assert words[:3] == ["intro", "words", "here"]
    assert ["admonition", "body", "is", "prose"] == words[words.index("admonition"):words.index("admonition") + 4]
    assert "class" not in words and "dropdown" not in words


def test_runs_are_found_with_their_line_and_source():
    corpus = Corpus.from_texts({"docs/guide.md": "Intro.\n\n" + SENTENCE + ".\n"}, n=RUN)
    runs = corpus.shared_runs("First line.\nIn short, " + SENTENCE.replace("reward", "Reward") + "!\n")
    assert [(r.line, r.source, r.source_line, r.length) for r in runs] == [(2, "docs/guide.md", 3, 15)]
    seven = " ".join(SENTENCE.split()[:7])
    assert corpus.shared_runs(seven + " differently worded") == []


def test_no_run_crosses_a_table_cell():
    corpus = Corpus.from_texts({"docs/t.md": "| alpha beta gamma delta | epsilon zeta eta theta |\n"}, n=RUN)
    assert corpus.shared_runs("| alpha beta gamma delta | epsilon zeta eta theta |\n") == []
    assert corpus.shared_runs("alpha beta gamma delta epsilon zeta eta theta\n") == []


def test_notebook_prose_is_its_markdown_cells_on_their_lines():
    nb = {"cells": [{"cell_type": "markdown", "source": ["# Title\n", "Some words"]},
                    {"cell_type": "code", "source": ["x = 'code words'\n", "y = 2"]},
                    {"cell_type": "markdown", "source": "More words"}]}
    text = notebook_text(json.dumps(nb))
    assert "code" not in text
    assert text.splitlines()[4] == "More words"


def test_book_prose_shares_no_long_run_with_nemo_rl_docs():
    src = checkout("compares the book's prose with NeMo RL's docs")
    corpus = Corpus.from_folder(src, "docs/**/*.md", n=RUN)
    assert corpus.words, f"no docs/**/*.md under {src}"
    problems = []
    for path in book_pages():
        for run in corpus.shared_runs(page_prose(path)):
            problems.append(f"{path.relative_to(REPO)}:{run.line}: {run.length} words shared with NeMo RL "
                            f"{run.source}:{run.source_line}: \"{run.text}\" -- say it in the book's own words")
    assert not problems, f"{len(problems)} shared run(s):\n" + "\n".join(problems)
