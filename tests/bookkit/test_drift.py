"""bookkit drift: references of the book that another release's manifest would break."""

from __future__ import annotations

from pathlib import Path

from bookkit.refcheck import drift as drift_mod
from bookkit.refcheck.drift import drift, table_defaults, unique_defaults
from bookkit.refcheck.scan import Index

ROOT = Path(__file__).resolve().parents[2]
CFG = "examples/configs/grpo.yaml"


def _manifest(tag, keys, defaults, names, paths):
    return {"tag": tag, "modules": {"nemo_rl.algorithms.grpo": {"classes": names, "is_package": False}},
            "configs": {CFG: keys}, "config_defaults": {CFG: defaults}, "examples": paths + ["examples/run_grpo.py"]}


OLD = _manifest("v1", ["grpo", "grpo.num_prompts_per_step", "grpo.old_key"], {"grpo.num_prompts_per_step": 32,
                "grpo.old_key": 1}, ["GRPOLoss"], [CFG, "examples/converters/a.py"])
NEW = _manifest("v2", ["grpo", "grpo.num_prompts_per_step", "grpo.new_key"], {"grpo.num_prompts_per_step": 64,
                "grpo.new_key": 1}, ["GRPOLossFn"], [CFG])
PAGE = """# A page

`nemo_rl.algorithms.grpo.GRPOLoss` computes it; see examples/converters/a.py.

```bash
uv run examples/run_grpo.py --config examples/configs/grpo.yaml grpo.old_key=2 grpo.num_prompts_per_step=8
```

| Key | Default |
|---|---|
| `grpo.num_prompts_per_step` | `32` |
| `grpo.num_prompts_per_step` | prompts per step |
"""


def test_drift_lists_each_kind_of_reference_the_new_release_breaks():
    found = drift(PAGE, Index(OLD), Index(NEW), unique_defaults(OLD), unique_defaults(NEW),
                  {"grpo.old_key": "grpo.new_key"})
    by_line = {line: msg for line, msg in found if "converters" not in msg}
    assert sorted(by_line) == [3, 6, 11] and len(found) == 4
    assert "nemo_rl.algorithms.grpo.GRPOLoss" in by_line[3] and "did you mean 'nemo_rl.algorithms.grpo.GRPOLossFn'" in by_line[3]
    assert [m for line, m in found if line == 3 and "unknown NeMo RL path 'examples/converters/a.py'" in m]
    assert "grpo.old_key" in by_line[6] and "renamed to 'grpo.new_key' in v2" in by_line[6]
    assert by_line[11] == "default of 'grpo.num_prompts_per_step' is 32 here and 64 in the target"


def test_references_already_wrong_in_the_book_release_are_not_drift():
    page = "`nemo_rl.algorithms.grpo.NoSuchThing` and `grpo.typo_key=3`\n"
    assert drift(page, Index(OLD), Index(OLD), {}, {}) == []
    assert drift(page, Index(OLD), Index(NEW), {}, {}) == []


def test_ambiguous_defaults_are_not_compared():
    two = {"config_defaults": {"a.yaml": {"k.x": 1}, "b.yaml": {"k.x": 2}}}
    assert unique_defaults(two) == {}
    assert list(table_defaults("| `k.x` | 1 |\n", unique_defaults(two), {"k.x": 3})) == []


def test_cli_against_main_lists_page_and_line(capsys):
    code = drift_mod.main([str(ROOT / "book"), "--to", str(ROOT / "book/_data/nemo_rl/main.json.gz"),
                           "--from", str(ROOT / "book/_data/nemo_rl/v0.7.0.json")])
    out = capsys.readouterr().out.splitlines()
    assert code == 1 and out[-1].endswith("would be wrong against main")
    assert all(line.split(":")[1].isdigit() for line in out[:-1]) and len(out) > 1
    assert any("renamed to 'policy.megatron_cfg.fused_linear_logprobs_chunk_size' in main" in line for line in out)


def test_cli_unreadable_manifest_is_status_2(tmp_path, capsys):
    assert drift_mod.main([str(tmp_path), "--to", str(tmp_path / "none.json")]) == 2
    assert "write one with `bookkit manifest`" in capsys.readouterr().out
