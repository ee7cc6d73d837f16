"""Guides and notebooks point at each other: a guide (a page under guides/ or advanced/) links to the notebook that runs what it
describes, and that notebook links back to the guide.

Reads the sources (no build needed). A link is a ``{doc}`` role (``{doc}`/notebooks/dpo``` or
``{doc}`text <../notebooks/dpo>```) or a Markdown link to a ``.md``/``.ipynb`` page.
"""

from __future__ import annotations

import json
import posixpath
import re

import pytest

from bookhelpers import BOOK, entries

DOC_ROLE = re.compile(r"\{doc\}`(?:[^`<]*<([^`>]+)>|([^`<]+))`")
MD_LINK = re.compile(r"\]\(([^)#\s]+?)(?:\.md|\.ipynb)(?:#[^)]*)?\)")

#: The pairs the book promises by name (one guide at least per notebook).
PAIRS = {
    "notebooks/sft-quickstart": "guides/training-algorithms/sft",
    "notebooks/dpo": "guides/training-algorithms/dpo",
    "notebooks/grpo-math": "guides/training-algorithms/grpo",
    "notebooks/distillation": "guides/training-algorithms/on-policy-distillation",
    "notebooks/grpo-variants": "guides/training-algorithms/dapo",
    "notebooks/off-policy-correction": "guides/training-optimization/async-grpo",
    "notebooks/reward-models": "guides/training-algorithms/reward-models",
    "notebooks/ppo": "guides/training-algorithms/ppo",
}


def text_of(doc: str) -> str:
    md, nb = BOOK / f"{doc}.md", BOOK / f"{doc}.ipynb"
    if md.is_file():
        return md.read_text(encoding="utf-8")
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def links(doc: str) -> set[str]:
    """The documents ``doc`` links to, as paths relative to book/ without suffix."""
    found = set()
    text = text_of(doc)
    targets = [a or b for a, b in DOC_ROLE.findall(text)] + MD_LINK.findall(text)
    for target in targets:
        target = target.strip()
        if "://" in target:
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(posixpath.dirname(doc), target)
        found.add(posixpath.normpath(path))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    docs = [d for d in entries() if d.startswith(("guides/", "advanced/", "notebooks/"))]
    return {d: links(d) for d in docs}


def test_link_parser_reads_both_role_forms_and_markdown_links(tmp_path):
    # a made-up guide text: absolute role, titled relative role, Markdown link, external URL
    text = ("{doc}`/notebooks/dpo` and {doc}`the loop <../notebooks/grpo-math>` "
            "and [SFT](../../notebooks/sft-quickstart.ipynb) and [x](https://example.com/a.md)")
    targets = [a or b for a, b in DOC_ROLE.findall(text)] + MD_LINK.findall(text)
    assert targets == ["/notebooks/dpo", "../notebooks/grpo-math", "../../notebooks/sft-quickstart",
                       "https://example.com/a"]


def test_every_notebook_is_linked_from_a_guide_and_links_back(graph):
    notebooks = [d for d in graph if d.startswith("notebooks/")]
    assert notebooks, "no notebooks in the toc"
    for nb in notebooks:
        guides = sorted(g for g, out in graph.items() if not g.startswith("notebooks/") and nb in out)
        assert guides, f"book/{nb}.ipynb: no guide links to it; add a tip linking {{doc}}`/{nb}` to the guide it runs"
        missing = [g for g in guides if g not in graph[nb]]
        assert not missing, (f"book/{nb}.ipynb: {missing} link to this notebook but it does not link back; "
                             f"add them to its What's next")


@pytest.mark.parametrize("nb,guide", sorted(PAIRS.items()))
def test_named_pairs_link_both_ways(graph, nb, guide):
    assert nb in graph.get(guide, set()), f"book/{guide}.md does not link to {{doc}}`/{nb}`"
    assert guide in graph.get(nb, set()), f"book/{nb}.ipynb does not link to {{doc}}`/{guide}`"
