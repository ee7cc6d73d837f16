"""Helpers shared by the test suite: repository paths, the toc, tiny Jupyter Books in tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def built_html() -> Path:
    """The built site that `make book` produced (or BOOK_HTML)."""
    return Path(os.environ.get("BOOK_HTML", BOOK / "_build" / "html"))



FRONT = """---
description: A page used by the test suite to check the build.
categories: [testing]
tags: [fixture]
personas: [contributor-focused]
difficulty: beginner
content_type: {content_type}
modality: universal
---
"""


class TinyBook:
    """A throw-away Jupyter Book in tmp_path built with the documented strict command."""

    def __init__(self, root: Path):
        self.root = root
        self.write("_config.yml", f"""
            title: Tiny
            only_build_toc_files: true
            exclude_patterns: [_build]
            execute:
              execute_notebooks: "off"
            sphinx:
              extra_extensions: [bookkit.content.frontmatter, bookkit.site.tocguard, bookkit.content.cards]
              config:
                nitpicky: true
                html_theme_options:
                  repository_provider: github
            """)

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def page(self, rel: str, body: str, content_type: str = "guide", front: str | None = None) -> Path:
        head = FRONT.format(content_type=content_type) if front is None else front
        return self.write(rel, head + "\n" + textwrap.dedent(body).lstrip("\n"))

    def build(self) -> subprocess.CompletedProcess:
        exe = Path(sys.executable).with_name("jupyter-book")
        return subprocess.run([str(exe), "build", str(self.root), "-W", "-n", "--keep-going"],
                              capture_output=True, text=True, timeout=300)



PARTS = [("About", "about"), ("Get Started", "get-started"), ("Learning Resources", "learning-resources"),
         ("Guides", "guides"), ("Advanced", "advanced"), ("Core Design", "core-design"),
         ("API Reference", "api"), ("References", "references")]


def toc() -> dict:
    """The book's _toc.yml as data."""
    return yaml.safe_load((BOOK / "_toc.yml").read_text())


def entries(part: str | None = None) -> list[str]:
    """Every toc entry below the root, depth first (bookkit's toc walker); only part ``part``'s when given."""
    from bookkit.core.toc import read_toc, walk
    return [e.docname for e in walk(read_toc(BOOK))[1:] if part is None or e.part == part]
