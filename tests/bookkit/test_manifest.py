"""bookkit manifest: static, names-only, deterministic; YAML inheritance resolved."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bookkit import cli
from bookkit.nemorl import manifest, manifest_io

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "book" / "_data" / "nemo_rl" / "v0.7.0.json"
CHECKOUT = Path(os.environ.get("NEMO_RL_SRC", "/work/nemo-rl-v0.7.0"))


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    src = tmp_path / "rl"
    write(src, {
        "ray.sub": "#!/bin/bash\n",
        "tools/config_cli.py": "",
        "nemo_rl/__init__.py": "from nemo_rl.package_info import __version__\n",
        "nemo_rl/package_info.py": "__version__ = '0'\n",
        "nemo_rl/algorithms/__init__.py": "from nemo_rl.algorithms.grpo import grpo_train\n",
        "nemo_rl/algorithms/grpo.py": (
            "import torch  # never imported by the manifest\n"
            "from typing import TypedDict\n"
            "MAX_STEPS = 3\n_PRIVATE = 1\n"
            "class GRPOConfig(TypedDict):\n    seed: int\n"
            "class Trainer:\n    def __init__(self): pass\n    def step(self): pass\n    def _hidden(self): pass\n"
            "def grpo_train():\n    '''docstring text is never copied'''\n"
            "def _helper(): pass\n"
            "if True:\n    def maybe(): pass\n"
        ),
        "nemo_rl/environments/games/sliding_puzzle.py": "class SlidingPuzzleEnv: pass\n",
        "examples/run_grpo.py": "",
        "examples/configs/base.yaml": ("a:\n  b: 1\n  c: [1, 2]\nd:\n  e: x\n  f: y\ng: null\n"
                                       "lr: 1e-8\ntemplate: '" + "x" * 81 + "'\n"),
        "examples/configs/child.yaml": "defaults: base.yaml\na:\n  z: true\nd:\n  _override_: true\n  e: 2\n",
        "examples/configs/recipes/llm/r.yaml": "defaults:\n  - ../../child.yaml\nh:\n  - {k: 1}\n",
        "examples/configs/broken.yaml": "defaults: missing.yaml\n",
        "docs/index.md": "# x\n", "docs/guides/grpo.md": "# y\n", "docs/conf.py": "",
    })
    return src


def test_modules_are_names_only(checkout):
    m = manifest.build(checkout, "vX")
    grpo = m["modules"]["nemo_rl.algorithms.grpo"]
    assert grpo["classes"] == ["GRPOConfig", "Trainer"]
    assert grpo["functions"] == ["grpo_train", "maybe"]
    assert grpo["attributes"] == ["MAX_STEPS"]
    assert grpo["methods"] == {"Trainer": ["__init__", "step"]}
    assert grpo["fields"] == {"GRPOConfig": ["seed"]}
    assert m["modules"]["nemo_rl.algorithms"]["reexports"] == ["grpo_train"]
    assert m["modules"]["nemo_rl.algorithms"]["is_package"] and not grpo["is_package"]
    assert m["packages_without_init"] == [{"package": "nemo_rl.environments.games",
                                          "path": "nemo_rl/environments/games",
                                          "modules": ["nemo_rl.environments.games.sliding_puzzle"]}]
    assert m["modules"]["nemo_rl.environments.games.sliding_puzzle"]["has_init"] is False
    assert "docstring" not in manifest.dumps(m)
    assert m["docs"] == ["docs/guides/grpo.md", "docs/index.md"]
    assert "ray.sub" in m["scripts"] and "tools/config_cli.py" in m["scripts"]


def test_config_inheritance(checkout):
    m = manifest.build(checkout, "vX")
    child = m["configs"]["examples/configs/child.yaml"]
    assert child == sorted(["a", "a.b", "a.c", "a.z", "d", "d.e", "g", "lr", "template"])  # d.f: _override_
    recipe = m["configs"]["examples/configs/recipes/llm/r.yaml"]
    assert set(child) < set(recipe) and "h" in recipe
    assert m["config_defaults"]["examples/configs/child.yaml"] == {
        "a.b": 1, "a.c": [1, 2], "a.z": True, "d.e": 2, "g": None,
        "lr": 1e-8, "template": manifest.LONG_STRING}  # 1e-8 is a float, as in OmegaConf
    assert "examples/configs/recipes/llm/r.yaml" not in m["config_defaults"]
    assert "not found" in m["config_errors"]["examples/configs/broken.yaml"]


def test_cli_is_deterministic(checkout, tmp_path, capsys):
    out = tmp_path / "out" / "m.json"
    args = ["manifest", "--src", str(checkout), "--tag", "vX", "--out", str(out)]
    assert cli.main(args) == 0
    first = out.read_bytes()
    assert cli.main(args) == 0
    assert out.read_bytes() == first and "unchanged" in capsys.readouterr().out
    assert json.loads(first)["tag"] == "vX" and "commit" not in json.loads(first)


def test_cli_records_the_commit_of_a_branch(checkout, tmp_path):
    out = tmp_path / "main.json"
    assert cli.main(["manifest", "--src", str(checkout), "--tag", "main", "--commit", "abc123", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["commit"] == "abc123"


@pytest.mark.slow
@pytest.mark.skipif(not (CHECKOUT / "nemo_rl").is_dir() or not COMMITTED.exists(),
                    reason="needs the NeMo RL v0.7.0 checkout")
def test_committed_manifest_is_current():
    assert manifest.dumps(manifest.build(CHECKOUT, "v0.7.0")) == COMMITTED.read_text()


def test_a_compressed_manifest_reads_like_the_json_and_is_reproducible(tmp_path):
    data = {"tag": "main", "modules": {"nemo_rl": {"classes": []}}}
    plain, packed = tmp_path / "main.json", tmp_path / "main.json.gz"
    packed.write_bytes(manifest_io.encode(manifest_io.dumps(data), packed))
    assert manifest_io.load(packed) == data
    assert manifest_io.encode(manifest_io.dumps(data), packed) == packed.read_bytes()  # no timestamp: the same bytes every time
    assert manifest_io.manifest_file(tmp_path, "main") == packed  # only the compressed copy exists
    plain.write_text(manifest_io.dumps(data), encoding="utf-8")
    assert manifest_io.manifest_file(tmp_path, "main") == plain  # the plain JSON wins where both exist
    assert manifest_io.manifest_file(tmp_path, "v0.7.0") == tmp_path / "v0.7.0.json"  # neither: the plain name, for the error
