"""`bookkit report`: pages per section, front-matter completeness and words per page."""

from __future__ import annotations

from bookhelpers import BOOK
from bookkit.cli.report import render, rows, words_of


def test_word_count_leaves_out_front_matter_and_code(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("---\ndescription: x y z.\n---\n# Two words\n\n```bash\nnot counted here\n```\nthree more words\n")
    # "Two words" (2) + "three more words" (3) = 5
    assert words_of(page) == 5


def test_real_book_report_covers_every_part_and_is_complete():
    all_rows = rows(BOOK)
    text = render(all_rows, per_page=True)
    for part in ("About", "Get Started", "Learning Resources", "Guides", "Advanced", "Core Design",
                 "API Reference", "References"):
        assert f"\n{part} " in text
    curated = [r for r in all_rows if r.content_type != "landing" and not r.docname.startswith("notebooks/")]
    assert len(curated) >= 80, f"only {len(curated)} curated pages"
    incomplete = [r.docname for r in all_rows if not r.complete]
    assert not incomplete, f"pages with incomplete front matter: {incomplete}"
