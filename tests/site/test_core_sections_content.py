"""Content checks for the About, Get Started, Learning Resources, Core Design and References parts.

Source-level checks (no build): valid front matter, NeMo RL references that exist in the
pinned manifest, a real NeMo RL command on every guide and use case, a place in the table of
contents, links to real pages, learning paths that list real pages, and an environment-variable
page that covers every ``NRL_*`` variable of the NeMo RL source when that source is available
(``NEMO_RL_SRC``). Built-site checks (skipped without ``BOOK_HTML``) look at the rendered paths.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
from bs4 import BeautifulSoup

from bookhelpers import entries
from bookkit.core.pages import read_front_matter
from bookkit.refcheck.scan import Index, scan

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
PARTS = ("about", "get-started", "learning-resources", "core-design", "references")
PAGES = sorted(p for part in PARTS for p in (BOOK / part).rglob("*.md"))
SCHEMA = json.loads((ROOT / "src/bookkit/schemas/frontmatter.schema.json").read_text())
COMMAND = re.compile(r"(uv run|python)[^\n]*\b(examples|tools)/[\w./-]+\.(py|sh)|\bray\.sub\b")
DOC_ROLE = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`")
PATH_BLOCK = re.compile(r"```\{learning-path\}\n(.*?)```", re.S)
NOTEBOOKS = {"sft-quickstart", "dpo", "grpo-math", "evaluation", "custom-environments",
             "custom-loss-functions", "distributed-training-scaling", "sft-openmathinstruct2",
             "grpo-deepscaler", "grpo-sliding-puzzle"}
PATHS = sorted((BOOK / "learning-resources/learning-paths").glob("*.md"))


def _rel(page: Path) -> str:
    return page.relative_to(BOOK).with_suffix("").as_posix()


def _exists(docname: str) -> bool:
    return any((BOOK / (docname + suffix)).exists() for suffix in (".md", ".ipynb"))


def _toc_files() -> set[str]:
    return set(entries())


def test_parts_have_pages():
    assert len(PAGES) >= 40, f"expected the full five parts, found {len(PAGES)} pages"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_front_matter_is_valid(page):
    data = read_front_matter(page).data
    jsonschema.validate(data, SCHEMA)
    for prereq in data.get("prerequisites", []):
        assert _exists(prereq), f"{_rel(page)}: prerequisite {prereq!r} is not a page"
    if page.name == "index.md":
        assert data["content_type"] == "landing", f"{_rel(page)}: section index pages are landing pages"
        assert "{section-cards}" in page.read_text() or "{page-cards}" in page.read_text(), \
            f"{_rel(page)}: landing page without cards"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_page_is_in_toc(page):
    assert _rel(page) in _toc_files(), f"{_rel(page)} is not listed in book/_toc.yml"


def test_nemo_rl_references_exist_in_manifest():
    index = Index(json.loads((BOOK / "_data/nemo_rl/v0.7.0.json").read_text()))
    checked = [p for p in PAGES if read_front_matter(p).data.get("refcheck", True) is not False]  # as the build
    problems = [f"{_rel(p)}:{f.line}: {f.message(index.tag)}" for p in checked for f in scan(p.read_text(), index)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "page", [p for p in PAGES if read_front_matter(p).data.get("content_type") in ("guide", "tutorial", "use-case")],
    ids=_rel)
def test_guides_show_a_real_command(page):
    assert COMMAND.search(page.read_text()), f"{_rel(page)}: a guide must show at least one NeMo RL command"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_doc_links_point_at_pages(page):
    missing = []
    for target in DOC_ROLE.findall(page.read_text()):
        target = target.strip()
        path = target.lstrip("/") if target.startswith("/") else (page.parent.relative_to(BOOK) / target).as_posix()
        if path.startswith("notebooks/") and path.split("/", 1)[1] in NOTEBOOKS:
            continue  # notebooks are produced separately; the build reports any that are missing
        if not _exists(path):
            missing.append(target)
    assert not missing, f"{_rel(page)}: links to missing pages {missing}"


@pytest.mark.parametrize("page", [p for p in PATHS if p.name != "index.md"], ids=_rel)
def test_learning_paths_list_real_pages(page):
    blocks = PATH_BLOCK.findall(page.read_text())
    assert len(blocks) == 1, f"{_rel(page)}: expected exactly one {{learning-path}}"
    steps = [line.strip() for line in blocks[0].splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(steps) >= 4, f"{_rel(page)}: a path needs at least four steps"
    assert len(set(steps)) == len(steps), f"{_rel(page)}: a page appears twice"
    missing = [s for s in steps if not _exists(s)]
    assert not missing, f"{_rel(page)}: unknown pages {missing}"


def test_level_paths_follow_the_plan():
    def steps(name):
        block = PATH_BLOCK.findall((BOOK / f"learning-resources/learning-paths/{name}.md").read_text())[0]
        return [line.strip() for line in block.splitlines() if line.strip()]

    beginner = steps("beginner")
    assert beginner[:4] == ["get-started/installation", "get-started/quickstart",
                            "get-started/model-selection", "learning-resources/examples/index"]
    intermediate = steps("intermediate")
    assert intermediate[0] == "references/configuration-reference"
    assert any(s.startswith("guides/") for s in intermediate)
    assert intermediate[-1].startswith("learning-resources/use-cases/")
    advanced = steps("advanced")
    assert advanced[0] == "guides/troubleshooting"
    assert advanced.index("advanced/performance/profiling") < advanced.index(
        "core-design/design-principles/design-and-philosophy") < advanced.index("references/cli-reference")


def test_env_var_page_covers_every_nrl_variable():
    src = Path(os.environ.get("NEMO_RL_SRC", "/work/nemo-rl-v0.7.0"))
    if not (src / "nemo_rl").is_dir():
        pytest.skip(f"no NeMo RL source at {src} (set NEMO_RL_SRC)")
    found = set()
    for folder in ("nemo_rl", "examples", "tools"):
        for path in (src / folder).rglob("*"):
            if path.suffix in (".py", ".sh", ".sub") and path.is_file():
                found.update(re.findall(r"\bNRL_[A-Z0-9_]+", path.read_text(errors="ignore")))
    found.update(re.findall(r"\bNRL_[A-Z0-9_]+", (src / "ray.sub").read_text()))
    found -= {"NRL_PROFILE_STARTED", "NRL_PHASE"}  # an object attribute and a log tag, not variables
    page = (BOOK / "core-design/development-infrastructure/env-vars.md").read_text()
    missing = sorted(v for v in found if v not in page)
    assert not missing, f"env-vars page does not mention {missing}"


# ------------------------------------------------------------ built site ----

def test_rendered_learning_paths_have_steps_and_totals(site):
    for page in PATHS:
        if page.name == "index.md":
            continue
        html = site / (_rel(page) + ".html")
        soup = BeautifulSoup(html.read_text(), "html.parser")
        items = soup.select("ol.bookkit-path > li")
        assert len(items) >= 4, f"{html.name}: rendered path has {len(items)} steps"
        assert all(li.select_one(".bookkit-path-title a") for li in items), f"{html.name}: a step is not a link"
        total = soup.select_one(".bookkit-path-total")
        assert total is not None and re.search(r"\d+ (h|min)", total.get_text()), f"{html.name}: no total time"
