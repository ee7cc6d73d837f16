"""Every notebook in book/notebooks follows the book's notebook skeleton.

Fast checks on the committed sources (nothing is executed): headings in order,
valid front matter in the top-level notebook metadata, no committed outputs,
a Prerequisites section that names hardware and time for both profiles, a
``python3`` kernelspec, the reader-experience cell tags, and a toc entry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from bookkit.content.frontmatter import problems
from bookkit.core.pages import read_front_matter

REPO = Path(__file__).resolve().parents[2]
NB_DIR = REPO / "book" / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
TUTORIALS = ["sft-quickstart", "dpo", "grpo-math", "evaluation", "custom-environments",
             "custom-loss-functions", "distributed-training-scaling", "distillation", "off-policy-correction",
             "grpo-variants", "reward-models", "ppo"]
EXAMPLES = ["sft-openmathinstruct2", "grpo-deepscaler", "grpo-sliding-puzzle"]
FIRST = ["Overview", "Prerequisites", "Imports"]
LAST = ["Summary", "What's next"]
ids = [p.stem for p in NOTEBOOKS]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def headings(nb: dict) -> list[tuple[int, str]]:
    """(level, text) of every # and ## heading in markdown cells, in order."""
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        fenced = False
        for line in src(cell).splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            m = None if fenced else re.match(r"^(#{1,2})\s+(.+?)\s*$", line)
            if m:
                out.append((len(m.group(1)), m.group(2)))
    return out


def section(nb: dict, title: str) -> str:
    """Markdown text of the ``## title`` section (up to the next ## heading)."""
    text = "\n".join(src(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


def test_every_assigned_notebook_exists():
    missing = [n for n in TUTORIALS + EXAMPLES if not (NB_DIR / f"{n}.ipynb").is_file()]
    assert not missing, f"notebooks missing from book/notebooks: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_headings_in_order(path):
    found = headings(load(path))
    h1 = [t for lvl, t in found if lvl == 1]
    assert len(h1) == 1 and found[0][0] == 1, f"{path.name}: needs exactly one '# Title', first: {found[:2]}"
    h2 = [t for lvl, t in found if lvl == 2]
    assert h2[:3] == FIRST, f"{path.name}: first sections must be {FIRST}, got {h2[:3]}"
    assert h2[-2:] == LAST, f"{path.name}: last sections must be {LAST}, got {h2[-2:]}"
    assert len(h2) > len(FIRST) + len(LAST), f"{path.name}: no topic section between Imports and Summary"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_front_matter_valid_and_complete(path):
    fm = read_front_matter(path)
    assert not problems(fm), f"{path.name}: {problems(fm)}"
    for key in ("time_minutes", "prerequisites"):
        assert key in fm.data, f"{path.name}: notebook metadata lacks '{key}'"
    expected = "tutorial" if path.stem in TUTORIALS else "example"
    assert fm.data["content_type"] == expected
    for doc in fm.data["prerequisites"]:
        assert any((REPO / "book" / f"{doc}{s}").is_file() for s in (".md", ".ipynb")), \
            f"{path.name}: prerequisite '{doc}' is not a page under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_outputs_committed(path):
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, \
                f"{path.name}: code cell {i} carries outputs; strip them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_prerequisites_name_hardware_and_time(path):
    text = section(load(path), "Prerequisites")
    assert "smoke" in text and "full" in text, f"{path.name}: Prerequisites must name both profiles"
    assert re.search(r"\bCPU\b", text) and re.search(r"\b(CUDA|GPU)\b", text), \
        f"{path.name}: Prerequisites must name the hardware (CPU for smoke, CUDA GPU for full)"
    assert re.search(r"\d+\s*(s|seconds?|min|minutes?)\b", text), \
        f"{path.name}: Prerequisites must say how long each profile takes"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_kernelspec_is_python3(path):
    ks = load(path)["metadata"].get("kernelspec", {})
    assert ks.get("name") == "python3" and ks.get("language") == "python", \
        f"{path.name}: kernelspec must be python3 so a fresh clone runs it unchanged, got {ks}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_reader_experience(path):
    nb = load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    text = "\n".join(src(c) for c in code)
    assert "describe_run(" in text, f"{path.name}: print which profile runs on which hardware"
    assert "matplotlib" in text or "plot_" in text, f"{path.name}: needs a learning-curve plot"
    assert "ipywidgets" in text or "widgets." in text, f"{path.name}: needs an ipywidgets demo"
    raising = [c for c in code if "raises-exception" in c.get("metadata", {}).get("tags", [])]
    assert len(raising) == 1 and "overrides=" in src(raising[0]), \
        f"{path.name}: exactly one raises-exception cell, demonstrating a bad config override"
    assert any("hide-input" in c.get("metadata", {}).get("tags", []) for c in code), \
        f"{path.name}: plotting boilerplate should carry the hide-input tag"
    md = "\n".join(src(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"uv run python examples/run_\w+\.py --config examples/configs/\S+\.yaml", md), \
        f"{path.name}: show the NeMo RL command that does the same at scale"


def _toc_files(node) -> list[str]:
    if isinstance(node, dict):
        return ([node["file"]] if "file" in node else []) + [f for v in node.values() for f in _toc_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in _toc_files(v)]
    return []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_listed_in_toc(path):
    toc = yaml.safe_load((REPO / "book" / "_toc.yml").read_text())
    assert f"notebooks/{path.stem}" in _toc_files(toc), f"{path.name}: add notebooks/{path.stem} to book/_toc.yml"
