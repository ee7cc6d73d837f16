"""A tiny Jupyter Book that exercises every gating level, with one unique marker per gated item.

``make_book(root)`` writes it under ``root`` and returns ``(book_dir, markers)``:
``markers`` maps each marker string to what it stands for. None of them may
appear anywhere in a ``ga`` build's output; all of them must appear in an
``internal`` build's.
"""

from __future__ import annotations

import json
from pathlib import Path

MARKERS = {
    "QXEAPAGEQX": "ea page (front matter only: ea or internal)",
    "QXINTPAGEQX": "internal page (front matter only: internal)",
    "QXFOLDERQX": "page under a folder whose index.md is gated",
    "QXFOLDERINDEXQX": "the gated folder's index page",
    "QXTOCENTRYQX": "page gated by bookkit_gating_toc",
    "QXTOCCHILDQX": "toc child of a page gated by bookkit_gating_toc",
    "QXPARTQX": "page in a part gated by caption",
    "QXCAPTIONQX": "caption of a part gated by caption",
    "QXURLQX": "url toc entry gated by bookkit_gating_toc",
    "QXEABLOCKQX": "{only-audience} block (ea or internal)",
    "QXINTBLOCKQX": "{only-audience} block nested in a note (internal)",
    "QXCOLONBLOCKQX": "::: colon-fenced {only-audience} block",
    "QXNBBLOCKQX": "{only-audience} block in a notebook markdown cell",
    "QXNBCELLQX": "notebook cell with metadata only: internal",
    "QXCARDQX": "card of a gated page in {page-cards}",
    "QXNBPAGEQX": "notebook page gated by its metadata only: internal",
}

FM = """---
description: {desc}
categories: [testing]
tags: [gating]
personas: [mle-focused]
difficulty: beginner
content_type: {ctype}
modality: universal
{extra}---
"""


def page(title: str, body: str = "", *, desc: str = "A page of the gating fixture book.", only: str = "",
         ctype: str = "concept") -> str:
    extra = f"only: \"{only}\"\n" if only else ""
    return FM.format(desc=desc, ctype=ctype, extra=extra) + f"\n# {title}\n\n{body}\n"


CONFIG = """\
title: Gating Fixture
author: bookkit tests
only_build_toc_files: true
exclude_patterns: [_build]
execute:
  execute_notebooks: "off"
html:
  use_repository_button: false
repository:
  url: https://example.com/book
sphinx:
  extra_extensions:
    - bookkit.content.frontmatter
    - bookkit.site.tocguard
    - bookkit.content.cards
    - bookkit.content.paths
    - bookkit.gating
    - bookkit.outputs.json_output
    - bookkit.outputs.llms
  config:
    nitpicky: true
    html_last_updated_fmt: ""
    html_theme_options:
      use_download_button: true
    bookkit_gating_toc:
      extras/toc-gated: internal
      "caption:Secret QXCAPTIONQX Part": internal
      "https://example.com/QXURLQX": "not ga"
parse:
  myst_enable_extensions: [colon_fence]
"""

TOC = """\
format: jb-book
root: index
parts:
  - caption: Public
    chapters:
      - file: public/index
        sections:
          - file: public/open
          - file: public/ea-page
          - file: public/internal-page
          - file: public/nb
          - file: public/path
          - file: public/secret-nb
  - caption: Early
    chapters:
      - file: early/index
        sections:
          - file: early/child
  - caption: Extras
    chapters:
      - file: extras/index
        sections:
          - file: extras/more
          - file: extras/toc-gated
            sections:
              - file: extras/toc-child
          - url: https://example.com/QXURLQX
            title: Link QXURLQX
  - caption: Secret QXCAPTIONQX Part
    chapters:
      - file: secret/tools
"""

OPEN_BODY = """\
Plain text everyone reads.

```{only-audience} ea or internal
Early access note QXEABLOCKQX.
```

:::{note}
A note for everyone.

```{only-audience} internal
Internal detail QXINTBLOCKQX.
```
:::

::::{only-audience} not ga
Colon block QXCOLONBLOCKQX.
::::

An example of the syntax is shown, not gated, inside a code fence:

````markdown
```{only-audience} internal
Shown as code.
```
````
"""


def notebook(only: str = "", marker: str = "") -> str:
    meta = {"description": "A notebook page of the gating fixture book.", "categories": ["testing"],
            "tags": ["gating"], "personas": ["mle-focused"], "difficulty": "beginner", "content_type": "tutorial",
            "modality": "universal", **({"only": only} if only else {}),
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}}
    cells = [
        {"cell_type": "markdown", "id": "c1", "metadata": {},
         "source": [f"# Notebook {marker}\n", "\n", "Public text.\n", "\n", "```{only-audience} internal\n",
                    "Notebook block QXNBBLOCKQX.\n", "```\n"]},
        {"cell_type": "markdown", "id": "c2", "metadata": {"only": "internal"}, "source": "Cell QXNBCELLQX."},
        {"cell_type": "code", "id": "c3", "metadata": {}, "execution_count": 1, "source": "print(1 + 1)",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "2\n"}]},
    ]
    return json.dumps({"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def make_book(root: Path) -> tuple[Path, dict[str, str]]:
    book = root / "book"
    files = {
        "_config.yml": CONFIG,
        "_toc.yml": TOC,
        "index.md": page("Fixture Home", "Welcome.\n\n```{section-cards}\n```", ctype="landing",
                         desc="The home page of the gating fixture book."),
        "public/index.md": page("Public", "```{section-cards}\n```\n\n```{page-cards}\npublic/open\n"
                                "public/internal-page\n```", ctype="landing"),
        "public/open.md": page("Open Page", OPEN_BODY),
        "public/ea-page.md": page("Early QXEAPAGEQX", "Body QXEAPAGEQX.", only="ea or internal",
                                  desc="Early access page QXCARDQX."),
        "public/internal-page.md": page("Internal QXINTPAGEQX", "Body QXINTPAGEQX.", only="internal",
                                        desc="Internal page QXCARDQX."),
        "public/nb.ipynb": notebook(),
        "public/secret-nb.ipynb": notebook("internal", "QXNBPAGEQX"),
        "public/path.md": page("Reading Path", "```{learning-path}\npublic/open\npublic/ea-page\n"
                               "public/internal-page\npublic/nb\n```"),
        "early/index.md": page("Early Folder QXFOLDERINDEXQX", "```{section-cards}\n```", only="ea or internal",
                               ctype="landing"),
        "early/child.md": page("Folder Child QXFOLDERQX", "Body QXFOLDERQX."),
        "extras/index.md": page("Extras", "```{section-cards}\n```\n\nFor the team only:\n\n"
                                "```{page-cards}\nextras/toc-gated\n```", ctype="landing"),
        "extras/more.md": page("More", "Links to [the open page](../public/open.md) and [the notebook]"
                               "(../public/nb.ipynb).\n\n```{py:function} train(steps: int) -> float\n\n"
                               "Train for a while.\n```\n\n| Key | Value |\n|---|---|\n| a | 1 |\n\n![A picture](pic.svg)\n"),
        "extras/pic.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>\n',
        "extras/toc-gated.md": page("Toc Gated QXTOCENTRYQX", "Body QXTOCENTRYQX.\n\n```{section-cards}\n```"),
        "extras/toc-child.md": page("Toc Child QXTOCCHILDQX", "Body QXTOCCHILDQX."),
        "secret/tools.md": page("Secret QXPARTQX", "Body QXPARTQX."),
    }
    for rel, text in files.items():
        path = book / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return book, dict(MARKERS)


#: What each audience may see: the markers expected in its build.
VISIBLE = {
    "ga": set(),
    "ea": {"QXEAPAGEQX", "QXFOLDERQX", "QXFOLDERINDEXQX", "QXURLQX", "QXEABLOCKQX", "QXCOLONBLOCKQX", "QXCARDQX"},
    "internal": set(MARKERS),
}
#: Document names of the pages each audience may not see.
HIDDEN_DOCS = {
    "ga": {"public/ea-page", "public/internal-page", "public/secret-nb", "early/index", "early/child",
           "extras/toc-gated", "extras/toc-child", "secret/tools"},
    "ea": {"public/internal-page", "public/secret-nb", "extras/toc-gated", "extras/toc-child", "secret/tools"},
    "internal": set(),
}

_BUILDS: dict = {}


def build(audience: str, out: Path, book: Path | None = None) -> tuple[int, str, Path]:
    """Run ``bookkit build --audience <audience>`` into ``out``; ``(status, log, html dir)``."""
    import os
    import subprocess
    import sys

    if book is None:
        book, _ = make_book(out / "src")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    env.pop("BOOK_AUDIENCE", None)
    proc = subprocess.run([sys.executable, "-m", "bookkit.cli", "build", str(book), "--audience", audience,
                           "--path-output", str(out)], env=env, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr, out / "_build" / "html"


def shared_build(audience: str, tmp_path_factory) -> tuple[int, str, Path]:
    """One build per audience per test session (the builds take seconds each)."""
    if audience not in _BUILDS:
        _BUILDS[audience] = build(audience, tmp_path_factory.mktemp(f"gating-{audience}"))
    return _BUILDS[audience]
