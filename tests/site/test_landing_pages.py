"""The built site: eight section landing pages, one card per child page, card text = child's description."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from bookkit.core.pages import read_front_matter, source_of
from bookhelpers import BOOK, PARTS, toc


def children(docname: str) -> list[str]:
    def find(node):
        if isinstance(node, dict):
            if node.get("file") == docname:
                return [s["file"] for s in node.get("sections", []) if "file" in s]
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []):
                    hit = find(child)
                    if hit is not None:
                        return hit
        return None
    return find(toc()) or []


@pytest.mark.parametrize("folder", [f for _, f in PARTS])
def test_section_landing_page_has_a_card_per_child(site, folder):
    page = site / folder / "index.html"
    assert page.exists(), f"missing landing page {page}"
    soup = BeautifulSoup(page.read_text(), "html.parser")
    cards = soup.select(".bookkit-cards .sd-card")
    kids = children(f"{folder}/index")
    assert kids and len(cards) == len(kids)
    for card, kid in zip(cards, kids):
        fm = read_front_matter(source_of(BOOK, kid))
        assert " ".join(fm.data["description"].split()) in " ".join(card.get_text(" ").split())
        link = card.find("a")["href"]
        assert link.split("#")[0].endswith(kid.split("/")[-1] + ".html"), (kid, link)


def test_home_page_has_persona_and_path_cards(site):
    soup = BeautifulSoup((site / "index.html").read_text(), "html.parser")
    text = soup.get_text(" ")
    for word in ("machine-learning engineer", "researcher", "DevOps", "cluster administrator",
                 "Beginner path", "Intermediate path", "Advanced path"):
        assert word.lower() in text.lower(), word
