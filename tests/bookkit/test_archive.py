"""archive/mapping.yml and bookkit.site.redirects: every old page mapped, every redirect lands."""

from __future__ import annotations

import io
import json
import os
import posixpath
import re
from pathlib import Path

import pytest
import yaml
from sphinx.application import Sphinx
from sphinx.util.console import nocolor
from sphinx.util.docutils import docutils_namespace

from bookkit.site.redirects import GENERATOR, load_mapping

REPO = Path(__file__).resolve().parents[2]
MAPPING = REPO / "archive" / "mapping.yml"
GROUPS = REPO / "archive" / "review-groups.yml"
MANIFEST = REPO / "book" / "_data" / "nemo_rl" / "v0.7.0.json"
TOC = REPO / "book" / "_toc.yml"
# Set BOOKKIT_REQUIRE_TARGETS=1 once the book's pages exist: missing targets then fail.
REQUIRE_TARGETS = os.environ.get("BOOKKIT_REQUIRE_TARGETS") == "1"


def mapping() -> dict:
    return yaml.safe_load(MAPPING.read_text())


def toc_docnames(path: Path = TOC) -> set[str]:
    names: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    names.add(node[key].rsplit(".", 1)[0] if node[key].endswith((".md", ".ipynb")) else node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(path.read_text()))
    return names


def test_every_v070_docs_page_is_mapped():
    docs = json.loads(MANIFEST.read_text())["docs"]
    pages = mapping()["pages"]
    assert len(docs) == 76
    assert sorted(set(docs) - set(pages)) == []
    assert sorted(set(pages) - set(docs)) == []


def test_refactor_plan_paths_are_mapped():
    plan = Path("/work/shared/plan/docs-refactor-plan.md")
    if not plan.exists():
        pytest.skip("refactor plan not available")
    old = set(re.findall(r"^\| `archive/(docs/[^`]+)`", plan.read_text(), re.M))
    data = mapping()
    assert old and sorted(old - set(data["pages"]) - set(data["non_pages"])) == []


def test_no_duplicate_or_colliding_old_paths():
    keys = re.findall(r"^  (docs/\S+?):", MAPPING.read_text(), re.M)
    assert len(keys) == len(set(keys)), "a key appears twice (YAML keeps only the last)"
    urls = [k.removeprefix("docs/").rsplit(".", 1)[0] for k in mapping()["pages"]]
    assert len(urls) == len(set(urls))


def test_statuses_and_reasons():
    redirects, problems = load_mapping(MAPPING, "docs/")
    assert problems == []
    assert len(redirects) == 76  # the one removed page still sends readers somewhere
    for key, entry in mapping()["non_pages"].items():
        assert entry["status"] in {"moved", "merged", "removed"}
        assert entry["status"] != "removed" or entry.get("reason"), key


def _require(missing: list[str], what: str) -> None:
    if missing and not REQUIRE_TARGETS:
        pytest.xfail(f"{len(missing)} {what} not in book/_toc.yml yet (set BOOKKIT_REQUIRE_TARGETS=1 "
                     f"once the content exists): {missing[:5]}...")
    assert missing == []


def test_every_target_is_in_the_toc():
    toc = toc_docnames()
    missing = sorted({f"{k} -> {e['new']}" for k, e in mapping()["pages"].items()
                      if e.get("new") and e["new"] not in toc and e.get("fallback") not in toc})
    _require(missing, "mapping targets")


def test_old_urls_that_are_book_pages_map_to_themselves():
    toc = toc_docnames()
    for key, entry in mapping()["pages"].items():
        old = key.removeprefix("docs/").rsplit(".", 1)[0]
        if old in toc:
            assert entry.get("new") == old, f"{key}: its old URL is a book page, so no redirect can be written"


def test_review_groups_cover_book_pages():
    groups = yaml.safe_load(GROUPS.read_text())["groups"]
    assert [g["id"] for g in groups] == [1, 2, 3, 4, 5, 6]
    toc = toc_docnames()
    missing = sorted({p for g in groups for p in g["pages"] if p not in toc})
    _require(missing, "review-group pages")


# ---------------------------------------------------------- tiny book ----

TINY_MAPPING = """\
pages:
  docs/guides/grpo.md: {new: guides/training-algorithms/grpo, status: merged}
  docs/design-docs/uv.md: {new: core-design/uv, status: moved}
  docs/index.md: {new: index, status: moved}
  docs/documentation.md: {new: index, status: removed, reason: superseded}
  docs/testing.md: {status: removed, reason: gone}
  docs/guides/eagle.md: {new: guides/speculative, fallback: core-design/uv, status: moved}
  docs/guides/gated.md: {new: secret/page, status: moved}
  docs/guides/typo.md: {new: guides/nowhere, status: moved}
  docs/real.md: {new: index, status: moved}
"""

HIDE_EXT = """\
# Answers bookkit's bookkit-page-hidden event the way bookkit.gating does.
from bookkit.core.events import PAGE_HIDDEN, add_events


def setup(app):
    add_events(app)
    app.connect(PAGE_HIDDEN, lambda app, docname: "gated out" if docname == "secret/page" else None)
    return {"parallel_read_safe": True}
"""


def build_tiny(tmp_path: Path, extra_conf: str = "", builder: str = "html") -> tuple[str, Path]:
    book = tmp_path / "book"
    pages = {"index": "Home", "guides/training-algorithms/grpo": "GRPO", "core-design/uv": "uv",
             "real": "A real page"}
    for name, title in pages.items():
        (book / name).parent.mkdir(parents=True, exist_ok=True)
        (book / f"{name}.md").write_text(f"# {title}\n")
    toctree = "\n".join(n for n in pages if n != "index")
    (book / "index.md").write_text(f"# Home\n\n```{{toctree}}\n{toctree}\n```\n")
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "mapping.yml").write_text(TINY_MAPPING)
    (book / "hide_ext.py").write_text(HIDE_EXT)
    (book / "conf.py").write_text(
        "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n"
        "extensions = ['myst_parser', 'bookkit.site.redirects', 'hide_ext']\n"
        "exclude_patterns = ['_build']\nshow_warning_types = True\n" + extra_conf)
    warnings = io.StringIO()
    nocolor()
    with docutils_namespace():
        app = Sphinx(str(book), str(book), str(book / "_build" / builder), str(book / "_build/doctrees"),
                     builder, status=None, warning=warnings, freshenv=True)
        app.build()
    return warnings.getvalue(), book / "_build" / builder


def redirect_url(page: Path) -> str:
    return re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', page.read_text()).group(1)


def test_tiny_book_redirects_land_on_built_pages(tmp_path):
    warnings, out = build_tiny(tmp_path)
    generated = sorted(p for p in out.rglob("*.html") if GENERATOR in p.read_text())
    rel = [p.relative_to(out).as_posix() for p in generated]
    assert rel == ["design-docs/uv.html", "documentation.html", "guides/eagle.html", "guides/grpo.html"]
    for page in generated:
        url = redirect_url(page)
        assert not url.startswith(("/", "http")), url
        text = page.read_text()
        assert f'<link rel="canonical" href="{url}">' in text and f'<a href="{url}">' in text
        landed = out / posixpath.normpath(posixpath.join(page.parent.relative_to(out).as_posix(), url))
        assert landed.is_file() and GENERATOR not in landed.read_text(), (page, url)
    assert redirect_url(out / "guides/grpo.html") == "training-algorithms/grpo.html"
    assert redirect_url(out / "guides/eagle.html") == "../core-design/uv.html"  # fallback
    # warnings: only the typo target; the gated target is skipped silently
    lines = [w for w in warnings.splitlines() if "[bookkit.redirects]" in w]
    assert len(lines) == 1 and "guides/nowhere" in lines[0] and "mapping.yml:9" in lines[0], warnings
    # the real page at an old URL is untouched
    assert GENERATOR not in (out / "real.html").read_text()


def test_tiny_book_rebuild_does_not_rewrite(tmp_path):
    _, out = build_tiny(tmp_path)
    page = out / "guides/grpo.html"
    stamp = page.stat().st_mtime_ns
    from bookkit.site.redirects import render
    assert page.read_text() == render("GRPO", "training-algorithms/grpo.html")
    with docutils_namespace():
        app = Sphinx(str(tmp_path / "book"), str(tmp_path / "book"), str(out),
                     str(tmp_path / "book/_build/doctrees"), "html", status=None, warning=io.StringIO())
        app.build()
    assert page.stat().st_mtime_ns == stamp


def test_missing_targets_can_be_reported_as_info(tmp_path):
    warnings, out = build_tiny(tmp_path, "bookkit_redirects_missing_target = 'info'\n")
    assert "bookkit.site.redirects" not in warnings
    assert (out / "guides/grpo.html").is_file()


def test_dirhtml_keeps_old_html_urls(tmp_path):
    _, out = build_tiny(tmp_path, builder="dirhtml")
    page = out / "guides/grpo.html"
    assert redirect_url(page) == "training-algorithms/grpo/"
    assert (out / "guides/training-algorithms/grpo/index.html").is_file()
