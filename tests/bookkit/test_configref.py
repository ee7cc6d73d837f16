"""bookkit.content.configref: the {config-reference} table, and coverage of the curated descriptions."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from sphinx.application import Sphinx
from sphinx.util.console import nocolor
from sphinx.util.docutils import docutils_namespace

from bookkit.content.configref import Descriptions, rows_for, stale_keys

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "book" / "_data" / "nemo_rl" / "v0.7.0.json"
DESCRIPTIONS = REPO / "book" / "_data" / "config_descriptions.yml"
MAIN_RECIPES = ["sft.yaml", "dpo.yaml", "grpo_math_1B.yaml", "evals/eval.yaml",
                "distillation_math.yaml", "rm.yaml"]

TINY_MANIFEST = {
    "tag": "v9", "configs": {
        "examples/configs/grpo_math_1B.yaml": ["grpo", "grpo.num_prompts_per_step", "grpo.seed",
                                               "policy", "policy.model_name", "teacher",
                                               "teacher.model_name", "data", "data.train",
                                               "data.train.split", "loss_fn", "loss_fn.ratio_clip_c"],
    },
    "config_defaults": {
        "examples/configs/grpo_math_1B.yaml": {"grpo.num_prompts_per_step": 32, "grpo.seed": 42,
                                               "policy.model_name": "Qwen/Qwen2.5-1.5B",
                                               "teacher.model_name": "Qwen/Qwen3-32B",
                                               "data.train.split": "train", "loss_fn.ratio_clip_c": None},
    },
}
TINY_DESCRIPTIONS = """\
aliases: {teacher: policy}
keys:
  grpo: {meaning: "The GRPO loop."}
  grpo.num_prompts_per_step: {meaning: "Prompts per step, see `the guide`."}
  policy.model_name: {meaning: "Starting weights."}
  data.*.split: {meaning: "Split to read."}
  loss_fn.ratio_clip_c: {type: "float | null", meaning: "Dual clip."}
  gone.key: {meaning: "Renamed upstream."}
"""


def build(tmp_path: Path, page: str) -> tuple[str, str]:
    book = tmp_path / "book"
    (book / "_data" / "nemo_rl").mkdir(parents=True)
    (book / "_data" / "nemo_rl" / "v0.7.0.json").write_text(json.dumps(TINY_MANIFEST))
    (book / "_data" / "config_descriptions.yml").write_text(TINY_DESCRIPTIONS)
    (book / "conf.py").write_text("extensions = ['myst_parser', 'bookkit.content.configref']\n"
                                  "exclude_patterns = ['_data/**', '_build']\nshow_warning_types = True\n")
    (book / "index.md").write_text(page)
    warnings = io.StringIO()
    nocolor()
    with docutils_namespace():
        app = Sphinx(str(book), str(book), str(book / "_build/html"), str(book / "_build/doctrees"),
                     "html", status=None, warning=warnings, freshenv=True)
        app.build()
    return warnings.getvalue(), (book / "_build/html/index.html").read_text()


def test_table_rows_defaults_and_descriptions(tmp_path):
    page = "# Ref\n\n```{config-reference} examples/configs/grpo_math_1B.yaml\n```\n"
    warnings, html = build(tmp_path, page)
    assert "bookkit-config-reference" in html
    assert "Prompts per step, see <code" in html and ">32<" in html.replace("</span>", "")
    assert "Qwen/Qwen3-32B" in html and html.count("Starting weights.") == 2  # teacher via alias
    assert "Split to read." in html  # pattern
    assert "float | null" in html
    assert "grpo.seed" in html  # undocumented keys are listed too
    # the stale curated key is reported once, at builder-inited
    stale = [w for w in warnings.splitlines() if "gone.key" in w]
    assert len(stale) == 1 and "[bookkit.configref]" in stale[0]


def test_sections_and_hidden_undocumented(tmp_path):
    page = ("# Ref\n\n```{config-reference} examples/configs/grpo_math_1B.yaml\n"
            ":sections: grpo\n:undocumented: hide\n```\n")
    _, html = build(tmp_path, page)
    assert "grpo.num_prompts_per_step" in html
    assert "grpo.seed" not in html and "policy.model_name" not in html


def test_unknown_recipe_warns_with_suggestion(tmp_path):
    warnings, _ = build(tmp_path, "# Ref\n\n```{config-reference} examples/configs/grpo_math_1b.yaml\n```\n")
    line = [w for w in warnings.splitlines() if "config-reference:" in w and "grpo_math_1b" in w]
    assert len(line) == 1 and "index.md:3" in line[0]
    assert "did you mean 'examples/configs/grpo_math_1B.yaml'?" in line[0]


@pytest.mark.skipif(not MANIFEST.exists(), reason="manifest not generated")
def test_curated_descriptions_cover_main_recipes():
    manifest = json.loads(MANIFEST.read_text())
    data = yaml.safe_load(DESCRIPTIONS.read_text())
    desc = Descriptions(data)
    assert stale_keys(manifest, data) == []
    for name in MAIN_RECIPES:
        config = f"examples/configs/{name}"
        missing = [k for k in manifest["configs"][config] if desc.lookup(k) is None]
        assert missing == [], (config, missing)
        rows = rows_for(config, manifest, desc)
        assert len(rows) == len(manifest["configs"][config]) and all(r[3] for r in rows)
    sections = {k for keys in manifest["configs"].values() for k in keys if "." not in k}
    assert sorted(s for s in sections if desc.lookup(s) is None) == []
