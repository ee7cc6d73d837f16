"""bookkit.core.pagedeps: a page listing another page's front matter is re-read when that front
matter (or the title) changes, and not when only the other page's body changes."""

from __future__ import annotations

import io
import os
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util.console import nocolor
from sphinx.util.docutils import docutils_namespace

from bookkit.core.pagedeps import SEEN


def page(title: str, minutes: int, body: str = "Body.") -> str:
    return f"---\ndescription: All about {title.lower()}.\ntime_minutes: {minutes}\n---\n\n# {title}\n\n{body}\n"


def project(tmp_path: Path) -> Path:
    src = tmp_path / "book"
    src.mkdir()
    (src / "install.md").write_text(page("Installation", 15))
    (src / "path.md").write_text("# My path\n\n```{learning-path}\ninstall\n```\n")
    (src / "index.md").write_text("# Home\n\n```{toctree}\ninstall\npath\n```\n")
    (src / "conf.py").write_text("extensions = ['myst_parser', 'bookkit.content.paths']\n"
                                 "exclude_patterns = ['_build']\n")
    return src


def build(src: Path, fresh: bool = False) -> tuple[set[str], str]:
    """Build ``src``; returns the pages read and the warnings."""
    read: set[str] = set()
    warnings = io.StringIO()
    nocolor()
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(src / "_build/html"), str(src / "_build/doctrees"), "html",
                     status=None, warning=warnings, freshenv=fresh)
        app.connect("source-read", lambda app, docname, source: read.add(docname))
        app.build()
    return read, warnings.getvalue()


def save(path: Path, text: str) -> None:
    """Write ``text`` with a modification time Sphinx sees as newer than its last read."""
    path.write_text(text)
    later = path.stat().st_mtime_ns + 2_000_000_000
    os.utime(path, ns=(later, later))


def total_shown(src: Path) -> str:
    html = (src / "_build/html/path.html").read_text()
    return html[html.index("bookkit-path-total"):][:200]


def test_body_edit_of_a_listed_page_does_not_re_read_the_listing(tmp_path):
    src = project(tmp_path)
    read, warnings = build(src, fresh=True)
    assert {"index", "install", "path"} <= read and not warnings.strip(), warnings
    save(src / "install.md", page("Installation", 15, body="Body, with a typo fixed."))
    read, _ = build(src)
    # only the edited page is read again: the learning path shows nothing of its body
    assert read == {"install"}


def test_front_matter_or_title_change_re_reads_the_listing(tmp_path):
    src = project(tmp_path)
    build(src, fresh=True)
    assert "15 min" in total_shown(src)
    save(src / "install.md", page("Installation", 25))
    read, _ = build(src)
    assert read == {"install", "path"}
    assert "25 min" in total_shown(src)  # the path's total follows the new time_minutes
    save(src / "install.md", page("Installing", 25))  # the title is the first heading
    read, _ = build(src)
    assert read == {"install", "path"}
    assert "Installing" in (src / "_build/html/path.html").read_text()


def test_removed_listed_page_re_reads_the_listing(tmp_path):
    src = project(tmp_path)
    build(src, fresh=True)
    (src / "install.md").unlink()
    (src / "index.md").write_text("# Home\n\n```{toctree}\npath\n```\n")
    read, warnings = build(src)
    assert "path" in read
    assert "install" in warnings  # the path now names a page that does not exist


def test_the_view_is_kept_per_page_and_dropped_when_the_page_is_re_read(tmp_path):
    src = project(tmp_path)
    nocolor()
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(src / "_build/html"), str(src / "_build/doctrees"), "html",
                     status=None, warning=io.StringIO(), freshenv=True)
        app.build()
        seen = SEEN.of(app.env)
        assert list(seen) == ["path"]
        (path, view), = seen["path"].items()
        assert Path(path).name == "install.md"
        # (front matter, title) as the learning path saw them
        assert view == ({"description": "All about installation.", "time_minutes": 15}, "Installation")
        app.env.get_domain("bookkit").clear_doc("path")
        assert "path" not in SEEN.of(app.env)
