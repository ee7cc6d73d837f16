"""bookkit.text.pagetext: the shared page-text extraction, on a tiny Sphinx + MyST-NB project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sphinx.application import Sphinx
from sphinx.util.docutils import docutils_namespace

from bookkit.text import pagetext
from bookkit.text.markdown import to_markdown

PAGE = """\
# Page Title

Intro with *emphasis*, `inline code` and a [link to other](other.md) and
[an external site](https://example.org/x).

<div class="raw-html-marker">RAWHTMLMARKER</div>

## First Part

- item one
- item two with [same-page](#second-part)

1. first
2. second

```python
print("hello")
```

| Key | Value |
|---|---|
| a | 1 |
| b \\| c | 2 |

:::{note}
Mind the gap.
:::

## Second Part

```{py:function} train(steps: int) -> float
Train for a while.
```

```{toctree}
:hidden:
other
nb
```
"""

OTHER = "# Other Page\n\nSome text.\n"

NB = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Notebook Page\n\nText."},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "print(6*7)",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "OUTPUTMARKER 42\n"}]},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "language_info": {"name": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict:
    src = tmp_path_factory.mktemp("pagetext")
    (src / "conf.py").write_text(
        "extensions = ['myst_nb']\nnb_execution_mode = 'off'\nmyst_heading_anchors = 3\n"
        "source_suffix = {'.rst': 'restructuredtext'}\n"
        "myst_enable_extensions = ['colon_fence']\n", encoding="utf-8")
    (src / "index.md").write_text(PAGE, encoding="utf-8")
    (src / "other.md").write_text(OTHER, encoding="utf-8")
    (src / "nb.ipynb").write_text(json.dumps(NB), encoding="utf-8")
    out: dict = {}

    def grab(app, doctree, docname):
        out[docname] = (pagetext.extract(doctree, docname), to_markdown(doctree, docname))

    with docutils_namespace():  # directives registered by this app do not outlive it
        app = Sphinx(str(src), str(src), str(src / "_build"), str(src / "_build/.doctrees"), "html",
                     status=None, warning=None, freshenv=True)
        app.connect("doctree-resolved", grab)
        app.build()
    return out


def test_structure(pages):
    page, _ = pages["index"]
    assert page.title == "Page Title"
    assert [(h.level, h.text) for h in page.headings] == [(1, "Page Title"), (2, "First Part"), (2, "Second Part")]
    assert page.headings[1].anchor == "first-part"
    assert [s.heading for s in page.sections] == ["Page Title", "First Part", "Second Part"]
    assert "Intro with emphasis" in page.sections[0].text
    assert "item one" in page.sections[1].text and "item one" not in page.sections[2].text


def test_chrome_and_raw_left_out(pages):
    page, md = pages["index"]
    assert "RAWHTMLMARKER" not in page.text and "RAWHTMLMARKER" not in md
    # the hidden toctree lists other pages; its entries are navigation, not text
    assert "Notebook Page" not in page.text


def test_links(pages):
    page, _ = pages["index"]
    internal = {(link.target, link.anchor) for link in page.internal_links}
    assert ("other", "") in internal
    assert ("index", "second-part") in internal
    assert [link.target for link in page.external_links] == ["https://example.org/x"]


def test_code_and_signatures(pages):
    page, _ = pages["index"]
    assert pagetext.CodeBlock("python", 'print("hello")') in page.code_blocks
    assert len(page.signatures) == 1 and page.signatures[0].startswith("train(steps: int)")


def test_notebook_outputs(pages):
    page, md = pages["nb"]
    assert page.outputs == ("OUTPUTMARKER 42\n",)
    assert pagetext.CodeBlock("python", "print(6*7)") in page.code_blocks
    assert "```text\nOUTPUTMARKER 42\n```" in md


def test_markdown(pages):
    _, md = pages["index"]
    assert md.startswith("# Page Title\n")
    assert "## First Part" in md
    assert "*emphasis*" in md and "`inline code`" in md
    assert "[link to other](other.html)" in md
    assert "[an external site](https://example.org/x)" in md
    assert "- item one" in md and "1. first\n2. second" in md
    assert '```python\nprint("hello")\n```' in md
    assert "| Key | Value |\n|---|---|\n| a | 1 |\n| b \\| c | 2 |" in md
    assert "> **Note:** Mind the gap." in md
    assert "```\ntrain(steps: int)" in md
    for bad in ("<div", "</", ":::", "```{", "{note}", ".. "):
        assert bad not in md, bad


def test_url_for(pages, tmp_path):
    # url_for rewrites internal links, for outputs that live elsewhere (llms-full.txt)
    src = Path(tmp_path)
    (src / "conf.py").write_text("extensions = ['myst_nb']\nnb_execution_mode = 'off'\n"
                                 "source_suffix = {'.rst': 'restructuredtext'}\n", encoding="utf-8")
    (src / "index.md").write_text("# T\n\n[o](sub/other.md)\n\n```{toctree}\nsub/other\n```\n", encoding="utf-8")
    (src / "sub").mkdir()
    (src / "sub/other.md").write_text("# O\n\n[back](../index.md)\n", encoding="utf-8")
    got = {}
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(src / "_b"), str(src / "_b/.d"), "html", status=None, warning=None)
        app.connect("doctree-resolved", lambda a, d, n: got.__setitem__(
            n, (pagetext.extract(d, n), to_markdown(d, n, url_for=lambda l: f"/{l.target}.md"))))
        app.build()
    assert got["sub/other"][0].internal_links[0].target == "index"
    assert "[back](/index.md)" in got["sub/other"][1]
    assert "[o](/sub/other.md)" in got["index"][1]


def test_markdown_keeps_spaces_outside_emphasis():
    from docutils import nodes
    para = nodes.paragraph("", "", nodes.strong("Total time: ", "Total time: "), nodes.Text("about 1 h."))
    doc = nodes.document(None, None)
    doc += para
    assert to_markdown(doc) == "**Total time:** about 1 h.\n"


def test_markdown_field_lists_keep_code_blocks():
    from docutils.core import publish_doctree
    doc = publish_doctree("Intro.\n\n:Examples: first\n\n   ::\n\n      >>> x = 1\n\n   more\n:Returns: a value\n")
    assert to_markdown(doc) == ("Intro.\n\n- **Examples**: first\n\n  ```\n  >>> x = 1\n  ```\n\n"
                                         "  more\n- **Returns**: a value\n")
