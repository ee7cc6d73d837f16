"""Check my config: the Python checker and the browser's, on the same cases and the same data."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bookkit import checkconfig
from bookkit.checkconfig import check
from bookkit.checkconfig.data import Release, build_from, dumps
from bookkit.checkconfig.inputs import InputError
from bookkit.nemorl.manifest_io import load, manifest_file

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "book" / "_data" / "nemo_rl"
CASES = yaml.safe_load((Path(__file__).with_name("checkconfig_cases.yml")).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data() -> dict:
    return build_from(DATA)


def _summary(findings: list[dict]) -> list[list]:
    return [[f["kind"], f["key"], f["line"], f.get("suggestion")] for f in findings]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_checker_case(case, data):
    if "error" in case:
        with pytest.raises(InputError) as exc:
            check(case["input"], data, case.get("release"))
        assert [exc.value.line, exc.value.column] == case["error"]
        return
    result = check(case["input"], data, case.get("release"))
    assert _summary(result["findings"]) == case["expect"]
    for f in result["findings"]:
        assert f["severity"] == ("error" if f["kind"] in checkconfig.ERRORS else "note")


def test_browser_checker_agrees_on_every_case(data, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install -y nodejs): it runs the browser's checker")
    if not (ROOT / "node_modules" / "yaml").is_dir():
        pytest.skip("node_modules/yaml is missing: run `npm ci`")
    (tmp_path / "data.json").write_text(dumps(data), encoding="utf-8")
    (tmp_path / "cases.json").write_text(json.dumps(CASES), encoding="utf-8")
    proc = subprocess.run([node, str(Path(__file__).with_name("checkconfig_cases.cjs")), str(tmp_path / "data.json"),
                           str(tmp_path / "cases.json")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for case, got in zip(CASES, json.loads(proc.stdout), strict=True):
        if "error" in case:  # the same line; each parser names its own column and wording
            assert "error" in got and got["error"][0] == case["error"][0], (case["name"], got)
            assert isinstance(got["error"][1], int) and got["error"][2].startswith(("malformed YAML", "the top level"))
        else:
            assert _summary(got["findings"]) == case["expect"], case["name"]


def test_messages_name_default_suggestion_and_release(data):
    text = "defaults: grpo_math_1B.yaml\ngrpo:\n  num_prompt_per_step: 8\n  num_prompts_per_step: 64\n"
    msgs = [f["message"] for f in check(text, data)["findings"]]
    assert "resolved against examples/configs/grpo_math_1B.yaml (v0.7.0)" in msgs[0]
    assert any("did you mean 'grpo.num_prompts_per_step'" in m for m in msgs)
    assert any(m == "grpo.num_prompts_per_step: 64 (recipe default: 32)" for m in msgs)
    main_only = "defaults: sft.yaml\npolicy:\n  megatron_cfg:\n    fused_linear_logprobs_chunk_size: 8\n"
    (f,) = [f for f in check(main_only, data)["findings"] if f["kind"] == "release"]
    assert "new in main (renamed from 'policy.megatron_cfg.linear_ce_fusion_chunk_size')" in f["message"]
    gone = "defaults: grpo_math_1B_sglang.yaml\npolicy:\n  generation:\n    sglang_cfg:\n      gpus_per_server: 2\n"
    (f,) = [f for f in check(gone, data)["findings"] if f["kind"] == "release"]
    assert f["message"].endswith("removed in v0.7.0 (it is in v0.6.0)")


def test_decoded_keys_equal_every_manifest(data):
    for name in data["releases"]:
        manifest = load(manifest_file(DATA, name))
        rel = Release(data, name)
        assert rel.paths == sorted(manifest["configs"])
        for path, keys in manifest["configs"].items():
            assert rel.keys(path) == set(keys), (name, path)
        for path, defaults in manifest.get("config_defaults", {}).items():
            got = rel.defaults(path)
            assert got == defaults and all(type(got[k]) is type(v) for k, v in defaults.items()), (name, path)


# ------------------------------------------------------------------ CLI ----

def _cli(args: list[str], capsys, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = checkconfig.main(args + ["--data", str(DATA)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_exit_status_clean_findings_and_overrides(tmp_path, capsys):
    clean = tmp_path / "ok.yaml"
    clean.write_text("defaults: grpo_math_1B.yaml\ngrpo:\n  num_prompts_per_step: 64\n", encoding="utf-8")
    code, out, _ = _cli([str(clean)], capsys)
    assert code == 0 and "0 error(s), 2 note(s) against NeMo RL v0.7.0" in out
    assert f"{clean}:3:3: note [changed] grpo.num_prompts_per_step: 64 (recipe default: 32)" in out
    code, out, _ = _cli([str(clean), "grpo.num_prompt_per_step=3", "+grpo.seed=1"], capsys)
    assert code == 1 and "error [unknown] unknown key 'grpo.num_prompt_per_step'" in out
    assert "error [add-existing] +grpo.seed adds a key" in out
    code, out, _ = _cli([str(clean), "--release", "v0.6.0"], capsys)
    assert code == 0 and "against NeMo RL v0.6.0" in out


def test_cli_command_line_and_stdin(capsys, monkeypatch):
    cmd = ["uv", "run", "examples/run_grpo.py", "--config", "examples/configs/grpo_math_1B.yaml",
           "grpo.num_prompts_per_step=32", "grpo.max_num_step=3"]
    code, out, _ = _cli(cmd, capsys)
    assert code == 1 and "<command>:1: error [unknown] unknown key 'grpo.max_num_step'" in out
    code, out, _ = _cli(["-", "--json"], capsys, stdin="uv run examples/run_sft.py sft.max_num_steps=5\n",
                        monkeypatch=monkeypatch)
    result = json.loads(out)
    assert code == 0 and result["recipes"] == ["examples/configs/sft.yaml"] and result["input"] == "command"


@pytest.mark.parametrize("text, where, message", [
    ("sft:\n  max_num_steps: [1, 2\npolicy: {}\n", ":3:7:", "malformed YAML"),
    ("grpo:\n\tnum_prompts_per_step: 3\n", ":2:1:", "malformed YAML"),
    ("- a\n- b\n", ":1:1:", "the top level is not a mapping"),
])
def test_cli_malformed_input_is_status_2_with_line_and_column(tmp_path, capsys, text, where, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = _cli([str(path)], capsys)
    assert code == 2 and err.startswith(f"{path}{where} {message}") and "Traceback" not in out + err


def test_cli_bad_arguments_are_status_2(tmp_path, capsys):
    code, _, err = _cli([str(tmp_path / "missing.yaml")], capsys)
    assert code == 2 and "no such file" in err
    ok = tmp_path / "ok.yaml"
    ok.write_text("sft:\n  max_num_steps: 3\n", encoding="utf-8")
    code, _, err = _cli([str(ok), "--release", "v9"], capsys)
    assert code == 2 and "unknown release 'v9'; choose one of v0.6.0, v0.7.0, main" in err
