"""The API Reference part of the built site (BOOK_HTML, default book/_build/html).

rl_lab's generated pages are part of every build; NeMo RL's only when the site was built
with NEMO_RL_SRC, which these checks detect from the site itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

AREAS = ["algorithms", "data", "distributed", "environments", "models-and-generation", "converters", "utils"]


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def field_labels(page: BeautifulSoup) -> set[str]:
    return {dt.get_text(strip=True).rstrip(":") for dl in page.select("dl.field-list") for dt in dl.find_all("dt")}


def test_overview_pages_are_built_and_in_the_sidebar(site: Path):
    index = soup(site / "api" / "index.html")
    links = {a.get("href", "") for a in index.select("nav a")}
    for area in AREAS + ["nemo-rl", "rl_lab"]:
        assert (site / "api" / f"{area}.html").is_file(), area
        assert any(href.endswith(f"{area}.html") for href in links), f"{area} missing from the sidebar"


def test_rl_lab_reference_renders_google_sections_as_fields(site: Path):
    pages = sorted((site / "api" / "rl_lab").glob("rl_lab*.html"))
    assert pages, "no generated rl_lab pages: bookkit.apidocs did not run"
    labels = set().union(*(field_labels(soup(p)) for p in pages))
    assert {"Parameters", "Returns", "Raises"} <= labels, labels
    # no raw Google section headings left in the text of a documented object
    for path in pages:
        for dd in soup(path).select("dl.py > dd"):
            text = dd.get_text("\n")
            assert not re.search(r"^\s*(Args|Returns|Raises):\s*$", text, re.M), path.name


def test_generated_pages_hang_under_api_reference(site: Path):
    page = soup(site / "api" / "rl_lab" / "rl_lab.html")
    nav = " ".join(a.get("href", "") for a in page.select("nav.bd-docs-nav a"))
    assert "rl_lab.html" in nav and "nemo-rl.html" in nav


def test_nemo_rl_reference_or_instructions(site: Path):
    root = site / "api" / "nemo_rl" / "nemo_rl.html"
    text = soup(site / "api" / "nemo-rl.html").get_text(" ")
    if not root.is_file():
        assert "NEMO_RL_SRC" in text and "git clone --branch v0.7.0" in text
        return
    modules = list((site / "api" / "nemo_rl").glob("nemo_rl*.html"))
    assert len(modules) >= 235, len(modules)
    for folder in ("environments.games", "environments.tools", "models.generation.sglang",
                   "models.generation.sglang.utils", "models.generation.vllm.quantization",
                   "models.generation.vllm.reasoning_parsers"):
        assert (site / "api" / "nemo_rl" / f"nemo_rl.{folder}.html").is_file(), folder
        assert f"nemo_rl.{folder}" in text
    loss = soup(site / "api" / "nemo_rl" / "nemo_rl.algorithms.loss.loss_functions.html")
    assert loss.find(id="nemo_rl.algorithms.loss.loss_functions.ClippedPGLossFn")
