"""bookkit.gating: conditions, block filtering, and builds that must not leak gated content."""

from __future__ import annotations

import io
import re
import zlib
from pathlib import Path

import pytest
from sphinx.application import Sphinx
from sphinx.errors import ConfigError
from sphinx.util.docutils import docutils_namespace

from bookkit.cli.build import main as build_main
from bookkit.core.store import run_state
from bookkit.gating import Gating
from bookkit.gating.blocks import filter_markdown, filter_notebook
from bookkit.gating.conditions import ConditionError, allows, parse
from gating_fixture import HIDDEN_DOCS, MARKERS, VISIBLE, build, make_book, shared_build

AUDIENCES = ("ga", "ea", "internal")


# ------------------------------------------------------------------ conditions ----

@pytest.mark.parametrize("text, visible", [
    ("ga", {"ga"}),
    ("not ga", {"ea", "internal"}),
    ("ea or internal", {"ea", "internal"}),
    ("(ea or internal) and not ga", {"ea", "internal"}),
    ("ea or internal and not internal", {"ea"}),  # and binds tighter than or
    ("not (ea or ga)", {"internal"}),
    ("not not ea", {"ea"}),
    ("  internal  ", {"internal"}),
])
def test_conditions_evaluate(text, visible):
    assert {a for a in AUDIENCES if allows(text, a)} == visible


@pytest.mark.parametrize("text, column, words", [
    ("", 1, "empty"),
    ("ga or", 6, "ends where an audience was expected"),
    ("(ea or internal", 16, "missing ')'"),
    ("ea)", 3, "no '(' is open"),
    ("GA", 1, "did you mean 'ga'"),
    ("ea internal", 4, "join conditions with 'and' or 'or'"),
    ("or ea", 1, "needs an audience on its left"),
    ("__import__('os').system('x')", 1, "unknown audience '__import__'"),
    ("ea & ga", 4, "unexpected '&'"),
])
def test_conditions_reject_with_column_and_fix(text, column, words):
    with pytest.raises(ConditionError) as err:
        parse(text)
    assert err.value.column == column
    assert words in str(err.value)


# ------------------------------------------------------------ block filtering ----

BLOCKS = """\
# T

```{only-audience} internal
secret one
```

:::{note}
```{only-audience} ea or internal
secret two
```
kept note
:::

````{only-audience} not ga
outer kept for ea
```{only-audience} internal
secret three
```
````

```markdown
```{only-audience} internal
```
"""


def test_blocks_removed_for_ga_keep_line_numbers():
    out = filter_markdown(BLOCKS, "ga")
    assert "secret" not in out.text and "outer kept" not in out.text
    assert "kept note" in out.text
    assert out.text.count("\n") == BLOCKS.count("\n")  # blank lines replace removed blocks
    assert out.removed == 3 and not out.problems


def test_nested_blocks_for_ea():
    out = filter_markdown(BLOCKS, "ea", blank=False)
    assert "secret two" in out.text and "outer kept for ea" in out.text
    assert "secret one" not in out.text and "secret three" not in out.text


def test_code_fences_are_not_gated():
    # the last fence is an example of the syntax inside a code block: left as written
    assert "```markdown\n```{only-audience} internal\n```" in filter_markdown(BLOCKS, "ga").text


def test_bad_block_condition_is_reported_and_dropped():
    out = filter_markdown("a\n\n```{only-audience} ea nor ga\nhidden\n```\n", "internal")
    assert out.problems and out.problems[0][0] == 3 and out.problems[0][1] == "ea nor ga"
    assert "hidden" not in out.text


def test_notebook_cells_and_blocks():
    import json
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["x\n", "```{only-audience} internal\n",
                                                                       "gone\n", "```\n"]},
                    {"cell_type": "code", "metadata": {"only": "internal"}, "source": "gone_too()", "outputs": []},
                    {"cell_type": "code", "metadata": {"only": "bogus"}, "source": "bad()", "outputs": []}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = filter_notebook(json.dumps(nb), "ga")
    assert "gone" not in out.text and "bad()" not in out.text
    assert out.problems and out.problems[0][0] == 3 and "unknown audience 'bogus'" in out.problems[0][2]


# ------------------------------------------------------------- small Sphinx ----

def _sphinx(src: Path, monkeypatch, audience: str, pages: dict[str, str], conf: str = "") -> tuple[Sphinx, str]:
    monkeypatch.setenv("BOOK_AUDIENCE", audience)
    # a fresh source_suffix dict: Sphinx's default one is shared by every app in this process
    (src / "conf.py").write_text("extensions = ['myst_parser', 'bookkit.gating']\n"
                                 "source_suffix = {'.rst': 'restructuredtext'}\n" + conf, encoding="utf-8")
    for name, text in pages.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    warnings = io.StringIO()
    with docutils_namespace():  # directives registered by this app do not outlive it
        app = Sphinx(str(src), str(src), str(src / "_build"), str(src / "_build/.doctrees"), "html",
                     status=None, warning=warnings, freshenv=True)
        app.build()
    return app, warnings.getvalue()


INDEX = """\
# Home

Read [the secret](secret.md) and {doc}`secret`.

```{toctree}
secret
public
```
"""


def test_link_to_gated_page_is_an_error_at_the_link(tmp_path, monkeypatch):
    app, warnings = _sphinx(tmp_path, monkeypatch, "ga", {
        "index.md": INDEX, "public.md": "# Public\n",
        "secret.md": "---\nonly: internal\n---\n# Secret\n"})
    assert set(run_state(app, Gating).hidden) == {"secret"}
    assert app.emit_firstresult("bookkit-page-hidden", "secret") and app.emit_firstresult("bookkit-page-hidden", "public") is None
    hits = [line for line in warnings.splitlines() if "links to 'secret'" in line]
    assert len(hits) == 2 and all("index.md:3" in h for h in hits), warnings
    assert "does not publish" in hits[0] and "only-audience" in hits[0]
    html = (tmp_path / "_build/index.html").read_text(encoding="utf-8")
    assert "the secret" in html and 'href="secret.html"' not in html
    assert not (tmp_path / "_build/secret.html").exists()


def test_visible_audience_links_fine(tmp_path, monkeypatch):
    app, warnings = _sphinx(tmp_path, monkeypatch, "internal", {
        "index.md": INDEX, "public.md": "# Public\n",
        "secret.md": "---\nonly: internal\n---\n# Secret\n"})
    assert "links to" not in warnings and "bookkit.gating" not in warnings.replace("registered", ""), warnings
    assert (tmp_path / "_build/secret.html").exists()


def test_bad_front_matter_condition_names_file_line_and_condition(tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as err:
        _sphinx(tmp_path, monkeypatch, "ga", {
            "index.md": "# Home\n\n```{toctree}\nsecret\n```\n",
            "secret.md": "---\ntitle: Secret\nonly: ea nor internal\n---\n# Secret\n"})
    message = str(err.value)
    assert "secret.md:3" in message and "'ea nor internal'" in message and "front matter 'only'" in message


def test_bad_block_condition_warns_at_line(tmp_path, monkeypatch):
    _, warnings = _sphinx(tmp_path, monkeypatch, "ga", {
        "index.md": "# Home\n\ntext\n\n```{only-audience} internl\nx\n```\n"})
    assert "index.md:5" in warnings and "'internl'" in warnings and "audiences are: ga, ea, internal" in warnings


def test_bad_audience_value(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="BOOK_AUDIENCE='public' is not an audience"):
        _sphinx(tmp_path, monkeypatch, "public", {"index.md": "# Home\n"})


def test_toc_mapping_errors_name_config_key(tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as err:
        _sphinx(tmp_path, monkeypatch, "ga", {"index.md": "# Home\n"},
                conf="bookkit_gating_toc = {'no/such-page': 'internal'}\n")
    assert "bookkit_gating_toc['no/such-page']" in str(err.value) and "not an entry of _toc.yml" in str(err.value)


def test_cli_dry_run(capsys):
    assert build_main(["book", "--audience", "ea", "--path-output", "/tmp/x", "--dry-run"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("BOOK_AUDIENCE=ea ")
    assert line.endswith("build book -W -n --keep-going --path-output /tmp/x")


# ------------------------------------------------------------------ leak test ----

def _blobs(html: Path):
    """``(relative path, bytes)`` of every output file; compressed inventories are inflated."""
    for path in sorted(p for p in html.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".inv":
            head, _, body = data.partition(b"zlib.\n")
            data = head + zlib.decompress(body)
        yield path.relative_to(html).as_posix(), data


def _found(html: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for rel, data in _blobs(html):
        for marker in MARKERS:
            if marker.encode() in data or marker in rel:
                found.setdefault(marker, []).append(rel)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("audience", AUDIENCES)
def test_builds_are_strict_clean(audience, tmp_path_factory):
    status, log, html = shared_build(audience, tmp_path_factory)
    assert status == 0, log[-4000:]
    assert (html / "index.html").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_leaks(audience, tmp_path_factory):
    status, log, html = shared_build(audience, tmp_path_factory)
    assert status == 0, log[-4000:]
    found = _found(html)
    assert set(found) == VISIBLE[audience], {m: found.get(m, ["(missing)"])[:3] for m in
                                             set(found) ^ VISIBLE[audience]}


@pytest.mark.slow
@pytest.mark.parametrize("audience", AUDIENCES)
def test_hidden_pages_have_no_output_file(audience, tmp_path_factory):
    _, _, html = shared_build(audience, tmp_path_factory)
    names = {p.relative_to(html).as_posix() for p in html.rglob("*") if p.is_file()}
    for docname in HIDDEN_DOCS[audience]:
        assert not [n for n in names if n.startswith(docname + ".") or f"/{docname}." in n], docname
        tail = docname.split("/")[-1]
        for rel, data in _blobs(html):
            assert f"{docname}.html".encode() not in data, (docname, rel)
            assert f"{docname}.md".encode() not in data, (docname, rel)
            if "-" in tail:  # distinctive file names (ea-page, toc-gated ...) appear nowhere
                assert tail.encode() not in data, (docname, rel)


@pytest.mark.slow
def test_narrower_build_over_wider_output_leaves_nothing(tmp_path):
    """An internal build followed by a ga build into the same folder: the ga output is clean."""
    book, _ = make_book(tmp_path / "src")
    status, log, html = build("internal", tmp_path / "out", book)
    assert status == 0, log[-4000:]
    assert set(_found(html)) == VISIBLE["internal"]
    status, log, html = build("ga", tmp_path / "out", book)
    assert status == 0, log[-4000:]
    assert _found(html) == {}


@pytest.mark.slow
def test_sources_copy_has_no_gated_block(tmp_path_factory):
    _, _, html = shared_build("ea", tmp_path_factory)
    source = (html / "_sources/public/open.md").read_text(encoding="utf-8")
    assert "QXEABLOCKQX" in source and "QXINTBLOCKQX" not in source
    nb = (html / "_sources/public/nb.ipynb").read_text(encoding="utf-8")
    assert "QXNBCELLQX" not in nb and "QXNBBLOCKQX" not in nb and "print(1 + 1)" in nb


@pytest.mark.slow
def test_cards_and_navigation(tmp_path_factory):
    _, _, html = shared_build("ea", tmp_path_factory)
    landing = (html / "public/index.html").read_text(encoding="utf-8")
    assert re.search(r'href="ea-page.html"', landing)  # section card and navigation
    assert "internal-page" not in landing


def test_prerequisite_on_gated_page_warns(tmp_path, monkeypatch):
    _, warnings = _sphinx(tmp_path, monkeypatch, "ga", {
        "index.md": "# Home\n\n```{toctree}\nsecret\npublic\n```\n",
        "public.md": "---\ntitle: Public\nprerequisites: [secret]\n---\n# Public\n",
        "secret.md": "---\nonly: internal\n---\n# Secret\n"})
    assert "public.md:3" in warnings and "prerequisites name secret" in warnings


def test_learning_path_skips_gated_pages(tmp_path_factory):
    status, log, html = shared_build("ga", tmp_path_factory)
    assert status == 0, log[-4000:]
    path_page = (html / "public/path.html").read_text(encoding="utf-8")
    assert "Open Page" in path_page and "QXEAPAGEQX" not in path_page and "QXINTPAGEQX" not in path_page
