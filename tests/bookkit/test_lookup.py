"""bookkit.content.lookup: the metrics glossary and the error lookup, checked against rl_lab, the book
and (with NEMO_RL_SRC) NeMo RL's source."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from sphinx.application import Sphinx
from sphinx.util.console import nocolor
from sphinx.util.docutils import docutils_namespace

from bookkit.content.lookup_data import LookupFileError, load_errors, load_metrics, parse_errors, parse_metrics, source_problems

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "book" / "_data"
sys.path.insert(0, str(REPO / "tests"))
from nemo_rl_import import checkout  # noqa: E402

METRIC = "{name: train/loss, sources: [nemo_rl/algorithms/sft.py], unit: u, meaning: m, healthy: h}"


def rl_lab_strings() -> set[str]:
    """Metric names rl_lab can write: dictionary keys as strings, or keywords of dict(...)."""
    text = "\n".join(p.read_text() for p in (REPO / "src" / "rl_lab").rglob("*.py"))
    return set(re.findall(r'"([\w/]+)"', text)) | set(re.findall(r"^\s+(\w+)=", text, re.M))


def notebook_code(page: str) -> str:
    nb = json.loads((REPO / "book" / f"{page}.ipynb").read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_metrics_file_is_complete_and_unique():
    data = load_metrics(DATA / "metrics.yml")
    names = [m.name for m in data.metrics]
    assert len(names) == len(set(names)) and len(names) >= 60
    for algorithm in ("sft", "dpo", "grpo"):
        mine = {m.name for m in data.metrics if algorithm in m.algorithms}
        assert {"train/loss", "train/grad_norm", "timing/train/total_step_time"} <= mine
    assert {"validation/val_loss", "validation-default/accuracy", "validation/accuracy"} <= set(names)


def test_notebook_links_show_a_metric_rl_lab_logs():
    """A metric links a notebook only if that notebook's code names the rl_lab metric and rl_lab logs it."""
    logged = rl_lab_strings()
    links = [(m.name, page, as_) for m in load_metrics(DATA / "metrics.yml").metrics for page, as_ in m.notebooks]
    assert len(links) >= 10
    for name, page, as_ in links:
        prefix, leaf = as_.split("/", 1)
        assert prefix in ("train", "val"), (name, as_)
        assert leaf in logged, f"{name}: rl_lab never writes {leaf!r}"
        assert f'"{as_}"' in notebook_code(page), f"{name}: {page} does not show {as_}"


def test_error_entries_link_existing_book_pages():
    toc = (REPO / "book" / "_toc.yml").read_text()
    errors = load_errors(DATA / "errors.yml")
    assert len(errors) >= 12
    for e in errors:
        assert (REPO / "book" / f"{e.page}.md").is_file(), e.page
        assert f"file: {e.page}\n" in toc, e.page


def test_search_relevance_set_has_pasted_error_messages():
    queries = yaml.safe_load((REPO / "tests" / "search" / "relevance.yml").read_text())["queries"]
    messages = {e.message for e in load_errors(DATA / "errors.yml")}
    pasted = [q for q in queries if q["page"] == "references/error-lookup"]
    assert len(pasted) >= 3 and all(any(q["query"] in m for m in messages) for q in pasted)
    assert any(q["page"] == "references/metrics-glossary" for q in queries)


@pytest.mark.parametrize("text, where, says", [
    ("prefixes: {train: []}\nsections:\n- title: T\n  metrics:\n  - {name: train/loss\n", ":6:1:", "not valid YAML"),
    ("prefixes: {train: []}\nsections:\n- title: T\n  algorithms: [sft]\n  metrics:\n  - {name: train/x, unit: u}\n",
     ":6:", "has no 'sources'"),
    ("prefixes: {train: []}\nsections:\n- title: T\n  algorithms: [sft]\n  metrics:\n  - " + METRIC
     + "\n  - " + METRIC + "\n", ":7:", "listed twice (first on line 6)"),
    ("prefixes: {train: []}\nsections:\n- title: T\n  algorithms: [ppo]\n  metrics:\n  - " + METRIC + "\n",
     ":6:", "'algorithms' must be some of sft, dpo, grpo"),
    ("prefixes: {val: []}\nsections:\n- title: T\n  algorithms: [sft]\n  metrics:\n  - " + METRIC + "\n",
     ":6:", "starts with no prefix"),
])
def test_malformed_metrics_file_names_line_and_key(text, where, says):
    with pytest.raises(LookupFileError) as info:
        parse_metrics(text, "m.yml")
    assert f"m.yml{where}" in str(info.value) and says in str(info.value)


def test_malformed_errors_file_names_line_and_key():
    with pytest.raises(LookupFileError, match=r"e.yml:3: error 'boom' has no 'fix'"):
        parse_errors("errors:\n- {message: x, sources: [a.py], when: w, cause: c, fix: f, page: p}\n"
                     "- {message: boom, sources: [a.py], when: w, cause: c, page: p}\n", "e.yml")


def test_source_problems_report_a_renamed_key_and_a_reworded_message(tmp_path):
    (tmp_path / "nemo_rl").mkdir()
    (tmp_path / "nemo_rl" / "sft.py").write_text('log(m, prefix="train")\nm = {"losss": 1}\n'
                                                 'raise ValueError("Set a "\n    "backend")\n')
    metrics = parse_metrics("prefixes:\n  train: [{file: nemo_rl/sft.py, text: 'prefix=\"train\"'}]\n"
                            "sections:\n- title: T\n  algorithms: [sft]\n  metrics:\n"
                            "  - {name: train/loss, sources: [nemo_rl/sft.py], unit: u, meaning: m, healthy: h}\n")
    errors = parse_errors("errors:\n- {message: Set a backend, sources: [nemo_rl/sft.py], when: w, cause: c, fix: f, page: p}\n"
                          "- {message: Set two backends, sources: [nemo_rl/sft.py], when: w, cause: c, fix: f, page: p}\n")
    problems = source_problems(tmp_path, metrics, errors)
    assert len(problems) == 2, problems
    assert "'train/loss': nemo_rl/sft.py no longer writes the key \"loss\"" in problems[0]
    assert "errors.yml:3: message 'Set two backends'" in problems[1]


def test_every_metric_and_message_is_still_in_nemo_rl_source():
    src = checkout("checks the metrics glossary and error lookup against NeMo RL's source")
    problems = source_problems(src, load_metrics(DATA / "metrics.yml"), load_errors(DATA / "errors.yml"))
    assert not problems, "\n".join(problems)


def build(tmp_path: Path, metrics: str, errors: str) -> tuple[str, Path]:
    src = tmp_path / "book"
    (src / "_data").mkdir(parents=True)
    (src / "_data" / "metrics.yml").write_text(metrics)
    (src / "_data" / "errors.yml").write_text(errors)
    (src / "conf.py").write_text("extensions = ['myst_parser', 'bookkit.content.lookup']\nexclude_patterns = ['_data/**', '_build']\n"
                                 "show_warning_types = True\n")
    (src / "index.md").write_text("# Home\n\n```{toctree}\nmetrics\nerrors\nguide\n```\n")
    (src / "metrics.md").write_text("# Metrics\n\n```{metrics-glossary}\n```\n")
    (src / "errors.md").write_text("# Errors\n\nIntro.\n\n```{error-lookup}\n```\n")
    (src / "guide.md").write_text("# The guide\n")
    warnings = io.StringIO()
    nocolor()
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(src / "_build/html"), str(src / "_build/doctrees"), "html",
                     status=None, warning=warnings, freshenv=True)
        app.build()
    return warnings.getvalue(), src / "_build/html"


GOOD_METRICS = ("prefixes: {train: []}\nsections:\n- title: Training\n  algorithms: [sft, grpo]\n  metrics:\n"
                "  - {name: train/grad_norm, sources: [a.py], unit: L2 norm, meaning: 'Size of the `grad`.',"
                " healthy: Flat., notebooks: [{page: guide, as: train/grad_norm}]}\n")
GOOD_ERRORS = "errors:\n- {message: 'Set one backend.', sources: [a.py], when: w, cause: c, fix: f, page: guide}\n"


def test_directives_render_anchored_code_terms_with_links(tmp_path):
    warnings, out = build(tmp_path, GOOD_METRICS, GOOD_ERRORS)
    assert "WARNING" not in warnings, warnings
    html = (out / "metrics.html").read_text()
    assert re.search(r'<dt><code[^>]*><span class="pre">train/grad_norm</span></code><span id="metric-train-grad-norm">', html)
    assert "Logged by:</strong> SFT, GRPO" in html and 'href="guide.html"' in html and "The guide" in html
    errors = (out / "errors.html").read_text()
    assert 'id="error-set-one-backend"' in errors and '<span class="pre">backend.</span>' in errors


def test_bad_data_and_missing_page_are_located_warnings(tmp_path):
    warnings, out = build(tmp_path, GOOD_METRICS.replace("unit: L2 norm, ", ""),
                          GOOD_ERRORS.replace("page: guide", "page: gone"))
    lines = [w for w in warnings.splitlines() if "WARNING" in w]
    assert any("metrics.md:3:" in w and "metrics.yml:6: metric 'train/grad_norm' has no 'unit'" in w
               and "[bookkit.lookup]" in w for w in lines), warnings
    assert any("errors.md" in w and "gone" in w for w in lines), warnings
