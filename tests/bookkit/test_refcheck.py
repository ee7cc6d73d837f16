"""bookkit.refcheck: unknown NeMo RL names, paths and config keys become located warnings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sphinx.application import Sphinx
from sphinx.util.console import nocolor
from sphinx.util.docutils import docutils_namespace

from bookkit.refcheck.scan import Index, scan

REPO = Path(__file__).resolve().parents[2]
REAL_MANIFEST = REPO / "book" / "_data" / "nemo_rl" / "v0.7.0.json"

TINY_MANIFEST = {
    "tag": "v9.9.9",
    "modules": {
        "nemo_rl": {"classes": [], "functions": [], "attributes": [], "methods": {}, "fields": {},
                    "reexports": [], "is_package": True, "has_init": True},
        "nemo_rl.algorithms": {"classes": [], "functions": [], "attributes": [], "methods": {},
                               "fields": {}, "reexports": [], "is_package": True, "has_init": True},
        "nemo_rl.algorithms.grpo": {"classes": ["GRPOConfig"], "functions": ["grpo_train", "setup"],
                                    "attributes": [], "methods": {}, "fields": {"GRPOConfig": ["seed"]},
                                    "reexports": [], "is_package": False, "has_init": True},
        "nemo_rl.algorithms.loss_functions": {
            "classes": ["ClippedPGLossFn"], "functions": [], "attributes": [],
            "methods": {"ClippedPGLossFn": ["__call__"]}, "fields": {}, "reexports": [],
            "is_package": False, "has_init": True},
    },
    "packages_without_init": [],
    "examples": ["examples/run_grpo.py", "examples/run_sft.py",
                 "examples/configs/grpo_math_1B.yaml", "examples/configs/sft.yaml"],
    "scripts": ["ray.sub", "tools/config_cli.py"],
    "configs": {
        "examples/configs/grpo_math_1B.yaml": ["grpo", "grpo.num_prompts_per_step", "grpo.seed",
                                               "policy", "policy.model_name", "policy.generation",
                                               "policy.generation.stop_strings"],
        "examples/configs/sft.yaml": ["sft", "sft.max_num_epochs", "policy", "policy.model_name"],
    },
    "docs": [],
}


def build(tmp_path: Path, pages: dict[str, str], manifest: dict | None = TINY_MANIFEST,
          parallel: int = 0, parser: str = "myst_parser", **overrides) -> tuple[str, Path]:
    """Build a tiny MyST book with bookkit.refcheck; return (warnings, outdir)."""
    src = tmp_path / "book"
    src.mkdir(parents=True)
    if manifest is not None:
        (src / "_data" / "nemo_rl").mkdir(parents=True)
        (src / "_data" / "nemo_rl" / "v0.7.0.json").write_text(json.dumps(manifest))
    (src / "conf.py").write_text(
        f"extensions = [{parser!r}, 'bookkit.refcheck']\nnb_execution_mode = 'off'\n"
        "exclude_patterns = ['_data/**', '_build']\n"
        "show_warning_types = True\n"
        + "".join(f"{k} = {v!r}\n" for k, v in overrides.items())
    )
    for name, text in pages.items():
        (src / name).write_text(text)
    if "index.md" not in pages:
        toctree = "\n".join(n.rsplit(".", 1)[0] for n in pages)
        (src / "index.md").write_text(f"# Home\n\n```{{toctree}}\n{toctree}\n```\n")
    warnings = io.StringIO()
    nocolor()
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(src / "_build/html"), str(src / "_build/doctrees"),
                     "html", status=None, warning=warnings, freshenv=True, parallel=parallel)
        app.build()
    return warnings.getvalue(), src / "_build/html"


PAGE = """---
title: Example
---
# Example

Call `nemo_rl.algorithms.grpo.grpo_train` or `nemo_rl.algorithms.loss_functions.ClippedPGLossFn.__call__`.

```bash
uv run examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml \\
    grpo.num_prompts_per_step=8 policy.model_name=Qwen/Qwen2.5-1.5B ++policy.brand_new=1
```
"""


def test_correct_references_give_no_warning(tmp_path):
    warnings, out = build(tmp_path, {"page.md": PAGE})
    assert "refcheck" not in warnings, warnings
    report = json.loads((out / "_bookkit" / "refcheck.json").read_text())
    assert report["pages_checked"] == 2 and report["unknown"] == {}


def test_invented_module_wrong_script_and_misspelled_key(tmp_path):
    page = """# Wrong

Import `nemo_rl.algorithms.grpoo` first.

Then run:

```bash
uv run examples/run_grp.py --config examples/configs/grpo_math_1B.yaml \\
    grpo.num_prompt_per_step=8
```
"""
    warnings, _ = build(tmp_path, {"page.md": page})
    lines = [w for w in warnings.splitlines() if "[bookkit.refcheck]" in w]
    assert len(lines) == 3, warnings
    module, key, path = lines
    assert "page.md:3:" in module and "'nemo_rl.algorithms.grpoo'" in module
    assert "did you mean 'nemo_rl.algorithms.grpo'?" in module
    assert "page.md:8:" in path and "did you mean 'examples/run_grpo.py'?" in path
    assert "page.md:8:" in key and "'grpo.num_prompt_per_step'" in key
    assert "checked against examples/configs/grpo_math_1B.yaml" in key
    assert "did you mean 'grpo.num_prompts_per_step'?" in key


def test_key_without_config_checks_union_of_configs(tmp_path):
    page = "# K\n\n`uv run examples/run_sft.py sft.max_num_epochs=1 sft.max_epochs=2`\n"
    warnings, _ = build(tmp_path, {"page.md": page})
    lines = [w for w in warnings.splitlines() if "[bookkit.refcheck]" in w]
    assert len(lines) == 1 and "'sft.max_epochs'" in lines[0], warnings
    assert "checked against all configs" in lines[0]


def test_recipe_yaml_block(tmp_path):
    page = """# Recipe

```yaml
# recipe: examples/configs/grpo_math_1B.yaml
grpo:
  num_prompts_per_step: 16
  seeed: 3
policy:
  generation:
    stop_strings: ["</answer>"]
```

```yaml
# a block without a recipe line is not checked
anything: 1
```
"""
    warnings, _ = build(tmp_path, {"page.md": page})
    lines = [w for w in warnings.splitlines() if "[bookkit.refcheck]" in w]
    assert len(lines) == 1, warnings
    assert "page.md:7:" in lines[0] and "'grpo.seeed'" in lines[0]
    assert "did you mean 'grpo.seed'?" in lines[0]


def test_opt_outs(tmp_path):
    pages = {
        "fictitious.md": "---\nrefcheck: false\n---\n# F\n\n`nemo_rl.my_algorithm.train`\n",
        "inline.md": ("# I\n\nSay `nemo_rl.my_algorithm` <!-- refcheck: ignore -->\n\n"
                      "<!-- refcheck: off -->\n`examples/run_mine.py`\n<!-- refcheck: on -->\n"
                      "`nemo_rl.still_checked`\n"),
    }
    warnings, out = build(tmp_path, pages)
    lines = [w for w in warnings.splitlines() if "[bookkit.refcheck]" in w]
    assert len(lines) == 1 and "'nemo_rl.still_checked'" in lines[0], warnings
    report = json.loads((out / "_bookkit" / "refcheck.json").read_text())
    assert report["pages_opted_out"] == ["fictitious"]


def test_disabled_and_missing_manifest(tmp_path):
    page = {"page.md": "# P\n\n`nemo_rl.nope`\n"}
    warnings, _ = build(tmp_path / "a", page, bookkit_refcheck_enabled=False)
    assert "refcheck" not in warnings
    warnings, _ = build(tmp_path / "b", page, manifest=None)
    assert "manifest" in warnings and "nemo_rl.nope" not in warnings


def test_notebook_cells_are_checked(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# NB\n"]},
                    {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": ["import os\n", "from nemo_rl.algorithms.grpo import grpo_trian\n"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    from bookkit.refcheck.pages import page_text
    text, enabled, labels = page_text(Path("x.ipynb"), json.dumps(nb))
    findings = scan(text, Index(TINY_MANIFEST))
    assert enabled and [f.name for f in findings] == ["nemo_rl.algorithms.grpo.grpo_trian"]
    assert labels[findings[0].line - 1] == "cell 2, line 2"
    assert findings[0].suggestion == "nemo_rl.algorithms.grpo.grpo_train"


@pytest.mark.skipif(not REAL_MANIFEST.exists(), reason="manifest not generated")
def test_real_manifest_suggestions():
    index = Index(json.loads(REAL_MANIFEST.read_text()))
    text = ("`nemo_rl.algorithms.grpo.grpo_train` and `nemo_rl.algorithms.grpo.GRPOConfig`\n"
            "`nemo_rl.models.policy.megatron_policy_worker.MegatronPolicyWorker`\n"
            "uv run examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml "
            "grpo.num_prompts_per_step=8 loss_fn.ratio_clip_maxx=0.3\n"
            "`examples/configs/recipes/llm/` and `examples/configs/evals/eval.yaml`\n")
    found = {f.name: f.suggestion for f in scan(text, index)}
    assert found == {
        "nemo_rl.models.policy.megatron_policy_worker.MegatronPolicyWorker":
            "nemo_rl.models.policy.workers.megatron_policy_worker.MegatronPolicyWorker",
        "loss_fn.ratio_clip_maxx": "loss_fn.ratio_clip_max",
    }


def test_cli_without_build(tmp_path, capsys):
    from bookkit import cli

    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(TINY_MANIFEST))
    (tmp_path / "ok.md").write_text(PAGE)
    (tmp_path / "bad.md").write_text("# B\n\n`examples/run_grp.py`\n")
    assert cli.main(["refcheck", "--manifest", str(manifest), str(tmp_path / "ok.md")]) == 0
    assert cli.main(["refcheck", "--manifest", str(manifest), str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "bad.md:3: unknown NeMo RL path 'examples/run_grp.py'" in out and "1 unknown reference(s) in 2 page(s)" in out


def test_inline_override_code_span_and_directive_options():
    text = ("Set `grpo.num_prompts_per_step=64` or `grpo.num_prompt_per_step=64`; "
            "`torch.backends.cudnn.enabled=False` is not a NeMo RL key.\n"
            "\n"
            "```{code-block} yaml\n"
            ":caption: A caption\n"
            "# recipe: examples/configs/sft.yaml\n"
            "sft:\n"
            "  max_num_epoch: 2\n"
            "```\n")
    found = [(f.line, f.name, f.suggestion) for f in scan(text, Index(TINY_MANIFEST))]
    assert found == [(1, "grpo.num_prompt_per_step", "grpo.num_prompts_per_step"),
                     (7, "sft.max_num_epoch", "sft.max_num_epochs")]


def test_parallel_read_merges_page_data(tmp_path):
    pages = {f"p{i}.md": f"# P{i}\n\n`nemo_rl.bad{i}`\n" for i in range(4)}
    warnings, out = build(tmp_path, pages, parallel=2)
    report = json.loads((out / "_bookkit" / "refcheck.json").read_text())
    assert sorted(report["unknown"]) == ["p0", "p1", "p2", "p3"]
    assert warnings.count("[bookkit.refcheck]") == 4


def test_notebook_page_in_a_myst_nb_build(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# NB\n", "\n", "Uses `nemo_rl.algorithms.grpoo`.\n"]},
                    {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": ["!uv run examples/run_grpo.py grpo.num_prompts_per_step=2 grpo.seeds=1"]}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    warnings, _ = build(tmp_path, {"nb.ipynb": json.dumps(nb)}, parser="myst_nb",
                        source_suffix={".md": "myst-nb", ".ipynb": "myst-nb"})
    lines = sorted(w for w in warnings.splitlines() if "[bookkit.refcheck]" in w)
    assert len(lines) == 2, warnings
    assert "[cell 1, line 3]" in lines[0] + lines[1] and "[cell 2, line 1]" in lines[0] + lines[1]


# ------------------------------------------------------- facts beyond names ----

FACTS_MANIFEST = {
    **TINY_MANIFEST,
    "modules": {
        **TINY_MANIFEST["modules"],
        "nemo_rl.algorithms.loss": {"classes": [], "functions": [], "attributes": [], "methods": {},
                                    "fields": {}, "reexports": ["NLLLossFn"], "is_package": True,
                                    "has_init": True},
        "nemo_rl.algorithms.loss.loss_functions": {
            "classes": ["NLLLossFn", "CrossTokenizerDistillationLossFn"], "functions": [], "attributes": [],
            "methods": {}, "fields": {}, "reexports": [], "is_package": False, "has_init": True},
    },
    "examples": [*TINY_MANIFEST["examples"], "examples/converters/convert_dcp_to_hf.py",
                 "examples/configs/grpo_math_1B_megatron.yaml"],
    "configs": {
        **TINY_MANIFEST["configs"],
        "examples/configs/grpo_math_1B.yaml": [
            *TINY_MANIFEST["configs"]["examples/configs/grpo_math_1B.yaml"], "grpo.max_num_steps",
            "policy.dtensor_cfg", "policy.dtensor_cfg._v2", "policy.dtensor_cfg.enabled"],
        "examples/configs/grpo_math_1B_megatron.yaml": ["policy", "policy.megatron_cfg",
                                                        "policy.megatron_cfg.enabled"],
    },
    "config_defaults": {
        "examples/configs/grpo_math_1B.yaml": {"policy.dtensor_cfg.enabled": True, "policy.dtensor_cfg._v2": True,
                                               "policy.megatron_cfg.enabled": False},
        "examples/configs/grpo_math_1B_megatron.yaml": {"policy.dtensor_cfg.enabled": False,
                                                        "policy.megatron_cfg.enabled": True},
    },
    "script_args": {
        "examples/converters/convert_dcp_to_hf.py": {
            "flags": ["--config", "--dcp-ckpt-path", "--help", "--hf-ckpt-path", "-h"],
            "positionals": 0, "extra_args": False},
        "examples/run_grpo.py": {"flags": ["--config", "--help", "-h"], "positionals": 0, "extra_args": True},
    },
    "workers": ["dtensor_policy_worker", "dtensor_policy_worker_v2", "megatron_policy_worker",
                "vllm_generation_worker"],
}


def refcheck_lines(warnings: str) -> list[str]:
    return [w for w in warnings.splitlines() if "[bookkit.refcheck]" in w]


def test_worker_pattern_that_matches_nothing_or_not_the_selected_worker(tmp_path):
    page = """# Profiling

```bash
NRL_NSYS_PROFILE_STEP_RANGE=2:3 NRL_NSYS_WORKER_PATTERNS="dtensor_policy_worker,vllm_generation_worker" \\
  uv run examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml
NRL_NSYS_PROFILE_STEP_RANGE=2:3 NRL_NSYS_WORKER_PATTERNS="dtensor_worker" \\
  uv run examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml
NRL_NSYS_PROFILE_STEP_RANGE=2:3 NRL_NSYS_WORKER_PATTERNS="dtensor_policy_worker" \\
  uv run examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml policy.dtensor_cfg._v2=false
NRL_NSYS_PROFILE_STEP_RANGE=2:3 NRL_NSYS_WORKER_PATTERNS="*policy*,megatron_policy_worker" \\
  uv run examples/run_grpo.py --config examples/configs/grpo_math_1B_megatron.yaml
```
"""
    warnings, _ = build(tmp_path, {"prof.md": page}, manifest=FACTS_MANIFEST)
    lines = refcheck_lines(warnings)
    assert len(lines) == 2, warnings
    selected, unknown = lines
    assert "prof.md:4:" in selected and "profiles no policy worker" in selected
    assert ("examples/configs/grpo_math_1B.yaml starts dtensor_policy_worker_v2 "
            "(policy.dtensor_cfg._v2 is true)") in selected
    assert "did you mean 'dtensor_policy_worker_v2'?" in selected
    assert "prof.md:6:" in unknown and "'dtensor_worker' matches no NeMo RL worker" in unknown
    assert "did you mean 'dtensor_policy_worker'?" in unknown


def test_converter_flags_and_overrides_its_argparse_rejects(tmp_path):
    page = """# Convert

```bash
uv run python examples/converters/convert_dcp_to_hf.py \\
    --config=$CKPT/config.yaml --dcp-ckpt-path $CKPT/policy/weights \\
    --hf-ckpt-path=out --hf-model-name=x policy.model_name=Qwen/Qwen3-8B
uv run python examples/converters/convert_dcp_to_hf.py --config c.yaml --dcp-ckpt-path w --hf-ckpt-path o
uv run examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml --cfg x grpo.seed=1
COMMAND="uv run examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml" sbatch --nodes=1 ray.sub
```
"""
    warnings, _ = build(tmp_path, {"conv.md": page}, manifest=FACTS_MANIFEST)
    lines = refcheck_lines(warnings)
    assert len(lines) == 3, warnings
    flag, override, grpo_flag = lines
    assert "conv.md:4:" in flag and "'--hf-model-name' is not an option of examples/converters/convert_dcp_to_hf.py" in flag
    assert "which accepts --config, --dcp-ckpt-path, --hf-ckpt-path" in flag
    assert "conv.md:4:" in override and "'policy.model_name': examples/converters/convert_dcp_to_hf.py accepts no key=value overrides" in override
    assert "conv.md:8:" in grpo_flag and "'--cfg'" in grpo_flag and "did you mean '--config'?" in grpo_flag


def test_name_listed_under_a_package_that_does_not_reexport_it(tmp_path):
    page = """# Losses

All in `nemo_rl.algorithms.loss` (defined in `nemo_rl.algorithms.loss.loss_functions`):

| Class | Used by |
|---|---|
| `NLLLossFn` | SFT |
| `CrossTokenizerDistillationLossFn` | cross-tokenizer distillation |

Importable from `nemo_rl.algorithms.loss.loss_functions`:

- `CrossTokenizerDistillationLossFn` is defined there.

A table after an ordinary sentence is not a claim:

| `Anything` | here |
|---|---|
"""
    warnings, _ = build(tmp_path, {"loss.md": page}, manifest=FACTS_MANIFEST)
    lines = refcheck_lines(warnings)
    assert len(lines) == 1, warnings
    assert "loss.md:8:" in lines[0]
    assert "'CrossTokenizerDistillationLossFn' is not importable from `nemo_rl.algorithms.loss`" in lines[0]


def test_real_manifest_records_argparse_flags_and_worker_names():
    index = Index(json.loads(REAL_MANIFEST.read_text()))
    assert index.script_args["examples/converters/convert_dcp_to_hf.py"] == {
        "flags": ["--config", "--dcp-ckpt-path", "--help", "--hf-ckpt-path", "-h"],
        "positionals": 0, "extra_args": False}
    assert index.script_args["examples/run_grpo.py"]["extra_args"] is True
    assert {"dtensor_policy_worker", "dtensor_policy_worker_v2", "megatron_policy_worker",
            "vllm_generation_worker"} <= set(index.workers)
    old = ('NRL_NSYS_PROFILE_STEP_RANGE=3:10 NRL_NSYS_WORKER_PATTERNS="dtensor_policy_worker,vllm_generation_worker" '
           "uv run examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml grpo.max_num_steps=10\n")
    assert [f.kind for f in scan(old, index)] == ["worker-selected"]
