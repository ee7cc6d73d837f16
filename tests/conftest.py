"""Shared fixtures: the built site and tiny Jupyter Books in tmp_path (helpers live in bookhelpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookhelpers import TinyBook, built_html


@pytest.fixture(scope="session")
def site() -> Path:
    html = built_html()
    if not (html / "index.html").exists():
        pytest.skip(f"no built site at {html}: run `make book` (or set BOOK_HTML)")
    return html


@pytest.fixture
def tiny_book(tmp_path: Path) -> TinyBook:
    return TinyBook(tmp_path / "book")
