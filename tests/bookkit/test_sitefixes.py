"""bookkit.site.sitefixes: accessible theme controls, scripts written once, and a 404 page that works at any depth."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from sphinx.application import Sphinx

from bookkit.site import sitefixes

SIDEBAR = ('<li class="toctree-l1 has-children"><a class="reference internal" href="guides/index.html">'
           'Guides &amp; <em>How-tos</em></a><details><summary><span class="toctree-toggle" role="presentation">'
           '<i class="fa-solid fa-chevron-down"></i></span></summary><ul></ul></details></li>')


def test_icon_only_sidebar_toggles_are_named_after_their_section():
    from bs4 import BeautifulSoup

    def labelled(markup: str) -> str:
        return str(sitefixes.label_toggles(BeautifulSoup(markup, "html.parser")))

    out = labelled(SIDEBAR)
    assert '<summary aria-label="Show pages under Guides &amp; How-tos">' in out
    assert labelled(out) == out  # idempotent: already-labelled summaries are left alone
    current = ('<li class="toctree-l1"><a class="reference internal" href="a.html">Leaf</a></li>'
               + SIDEBAR.replace('class="reference internal"', 'class="current reference internal"'))
    out = labelled(current)
    assert '<summary aria-label="Show pages under Guides &amp; How-tos">' in out and "Leaf" not in out.split("<summary")[1]


def test_repeated_inline_scripts_are_written_once():
    from sphinx.builders.html._assets import _JavaScript
    body = 'const THEBE_JS_URL = "x"'
    scripts = [_JavaScript("a.js"), _JavaScript("", body=body), _JavaScript("a.js"), _JavaScript("", body=body),
               _JavaScript("", body="var other = 1")]
    out = sitefixes.unique_scripts(scripts)
    assert [s.filename for s in out] == ["a.js", "", ""]
    assert [s.attributes.get("body") for s in out] == [None, body, "var other = 1"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("sitefixes")
    (src / "conf.py").write_text(textwrap.dedent("""\
        project = "Tiny"
        extensions = ["bookkit.site.sitefixes"]
        html_theme = "sphinx_book_theme"
        bookkit_versions = [{"version": "0.7.0", "name": "v0.7.0", "url": "../0.7.0/", "preferred": True}]
        """))
    (src / "index.md").write_text("# Home\n\n```{toctree}\nguides/index\n```\n")
    (src / "guides").mkdir()
    (src / "guides" / "index.md").write_text("# Guides\n\n```{toctree}\nsft\n```\n")
    (src / "guides" / "sft.md").write_text("# SFT\n\nText.\n")
    (src / "conf.py").write_text((src / "conf.py").read_text().replace(
        'extensions = ["bookkit.site.sitefixes"]', 'extensions = ["myst_parser", "bookkit.site.versions", "bookkit.site.sitefixes"]'))
    out = src / "_build"
    app = Sphinx(str(src), str(src), str(out), str(out / ".doctrees"), "html", warningiserror=True,
                 freshenv=True, status=None)
    app.build()
    return out


def test_theme_buttons_have_names_that_match_what_they_show(site):
    page = (site / "guides" / "sft.html").read_text()
    button = re.search(r'<button class="btn search-button-field[^>]*>', page).group(0)
    assert "aria-label" not in button  # named by its visible text "Search Ctrl+K"
    switch = page[page.index("theme-switch-button"):page.index("</button>", page.index("theme-switch-button"))]
    assert 'aria-label="Color mode"' in switch and "title=" not in switch.split(">", 1)[1]
    assert switch.count('aria-hidden="true"') == 3
    assert '<summary aria-label="Show pages under Guides">' in page
    assert "_static/bookkit-sitefixes.css" in page
    assert (site / "_static" / "bookkit-sitefixes.css").is_file()
    assert '<link rel="icon" href="../_static/bookkit-favicon.svg"' in page  # no request for a missing /favicon.ico
    assert '<html lang="en" data-content_root="../" data-theme="auto">' in page.replace("  ", " ")


def test_404_page_is_a_shell_that_writes_the_styled_page_behind_a_base(site):
    page = (site / "404.html").read_text()
    assert sitefixes.SHELL_MARK in page and "<title>Page not found" in page
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert "<link" not in markup and " src=" not in markup  # nothing for the preload scanner to fetch early
    written = json.loads(re.search(r"\+(\".*\")\.split\(", page).group(1))  # "<\/" is "</"
    assert f"theme_switcher_json_url = '{sitefixes.ROOT_TOKEN}versions1.json'" in written
    assert "<h1>Page not found</h1>" in written and "pydata-sphinx-theme.css" in written
    urls = re.findall(r'(?:href|src)="([^"]+)"', written)
    local = [u for u in urls if not u.startswith(("http:", "https:", "#", "data:", "mailto:"))]
    assert local and all(not u.startswith(("/", "..")) for u in local), local
    data = json.loads(re.search(r"var d=(\{.*?\});", page).group(1))
    assert "guides" in data["top"] and "_static" in data["top"] and data["versions"] == ["0.7.0"]
    assert '<noscript><h1>Page not found</h1>' in page and 'href="index.html"' in page.split("</script>")[-1]


def test_myst_nb_hidden_cell_toggles_keep_their_visible_name():
    # bookkit's visitor writes MyST-NB's markup to the letter, less the mismatched label
    from myst_nb.sphinx_ import depart_HideCellInput, visit_HideCellInput

    class Writer:
        def __init__(self):
            self.body: list[str] = []

    node = {"classes": ["above-input"], "prompt_show": "Show code cell <source>", "prompt_hide": "Hide code cell source"}
    theirs, ours = Writer(), Writer()
    visit_HideCellInput(theirs, node)
    depart_HideCellInput(theirs, node)
    sitefixes.visit_hidden_cell(ours, node)
    sitefixes.depart_hidden_cell(ours, node)
    assert "".join(ours.body) == "".join(theirs.body).replace(' aria-label="Toggle hidden content"', "")
    assert "aria-label" not in "".join(ours.body) and "Show code cell &lt;source&gt;" in "".join(ours.body)


def test_a_notebook_page_has_no_mismatched_toggle_label(tmp_path):
    # the visitor is the one Sphinx uses: a MyST-NB page with a hidden input cell, built
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {"tags": ["hide-input"]},
                     "outputs": [], "source": ["1 + 1"]}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "conf.py").write_text('extensions = ["myst_nb", "bookkit.site.sitefixes"]\nnb_execution_mode = "off"\n')
    (tmp_path / "index.ipynb").write_text(json.dumps({**nb, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Page"]}, *nb["cells"]]}))
    out = tmp_path / "_build"
    Sphinx(str(tmp_path), str(tmp_path), str(out), str(out / ".doctrees"), "html", freshenv=True, status=None).build()
    page = (out / "index.html").read_text()
    assert '<details class="admonition hide above-input">' in page and "Toggle hidden content" not in page


@pytest.mark.parametrize("path, root", [
    ("/missing.html", "/"),
    ("/guides/old/gone.html", "/"),
    ("/0.7.0/guides/old/gone.html", "/0.7.0/"),
    ("/0.7.0/no/such/page.html", "/0.7.0/"),
    ("/0.7.0/", "/0.7.0/"),
    ("/site/missing.html", "/site/"),
])
def test_base_script_finds_the_site_root_in_the_requested_path(site, path, root):
    node = subprocess.run(["which", "node"], capture_output=True, text=True).stdout.strip()
    if not node:
        pytest.skip("node is not installed (needed to run the 404 page's script)")
    script = re.search(r"<script>(\(function\(\)\{var d=.*?)</script>", (site / "404.html").read_text(), re.S).group(1)
    harness = ("let written = ''; global.location = {pathname: %s, origin: 'http://h', href: 'http://h' + %s};"
               "global.document = {write: s => { written += s; }, addEventListener: () => {},"
               "documentElement: {setAttribute: (k, v) => { written += k + '=' + v; }}};"
               % (json.dumps(path), json.dumps(path)) + script + "\nconsole.log(written.match(/^data-content_root=([^<]*)<base href=\"http:\\/\\/h([^\"]*)\">/).slice(1).join(' '));")
    out = subprocess.run([node, "-e", harness], capture_output=True, text=True, check=True).stdout.strip()
    assert out == f"{root} {root}"  # the content root and the <base>


@pytest.mark.parametrize("override, numbered", [({}, True), ({"bookkit_figure_numbers": "0"}, False)])
def test_figure_numbers_follow_the_setting_even_when_another_extension_turns_numfig_on(tmp_path, override, numbered):
    # sphinx-jupyterbook-latex switches numfig on at config-inited (as here); make live passes
    # -D bookkit_figure_numbers=0 and the captions then carry no number
    (tmp_path / "conf.py").write_text(
        'extensions = ["myst_parser", "bookkit.site.sitefixes"]\n'
        "def setup(app):\n"
        "    app.connect('config-inited', lambda app, config: setattr(config, 'numfig', True))\n")
    (tmp_path / "index.md").write_text("# Home\n\n```{figure} pic.png\n:name: pic\n\nA caption.\n```\n")
    (tmp_path / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = tmp_path / "_build"
    app = Sphinx(str(tmp_path), str(tmp_path), str(out), str(out / ".doctrees"), "html", freshenv=True,
                 status=None, confoverrides=override)
    app.build()
    assert app.config.numfig is numbered
    assert ('<span class="caption-number">Fig. 1 </span>' in (out / "index.html").read_text()) is numbered
