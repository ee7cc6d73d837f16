"""Every key rl_lab presents as a NeMo RL key exists in the recipe's NeMo RL counterpart.

Source of truth, in order: the names-only manifest ``book/_data/nemo_rl/v0.7.0.json``
(its ``configs`` maps a config path to its flattened dotted keys, ``defaults:``
resolved); otherwise the YAML files under ``$NEMO_RL_SRC``. Skips only if neither exists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from rl_lab.config import list_recipes, load_recipe, nemo_rl_keys

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "book" / "_data" / "nemo_rl" / "v0.7.0.json"


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _load_with_defaults(root: Path, rel: str) -> dict:
    data = yaml.safe_load((root / rel).read_text()) or {}
    parents = data.pop("defaults", None)
    merged: dict = {}
    for parent in [parents] if isinstance(parents, str) else (parents or []):
        merged = _merge(merged, _load_with_defaults(root, str(Path(rel).parent / parent)))
    return _merge(merged, data)


def _flatten(tree: dict, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            keys |= _flatten(v, f"{prefix}{k}.")
        else:
            keys.add(f"{prefix}{k}")
    return keys


def _counterpart_keys(config_path: str) -> set[str]:
    if MANIFEST.exists():
        configs = json.loads(MANIFEST.read_text())["configs"]
        assert config_path in configs, f"{config_path} missing from {MANIFEST}"
        return set(configs[config_path])
    src = os.environ.get("NEMO_RL_SRC")
    if src and (Path(src) / config_path).exists():
        return _flatten(_load_with_defaults(Path(src), config_path))
    pytest.skip(f"neither {MANIFEST} nor $NEMO_RL_SRC/{config_path} exists (set NEMO_RL_SRC to a NeMo RL v0.7.0 checkout)")


@pytest.mark.parametrize("recipe", list_recipes())
def test_recipe_keys_exist_in_counterpart(recipe: str) -> None:
    cfg = load_recipe(recipe, profile="smoke")
    counterpart = cfg.rl_lab.nemo_rl_counterpart
    assert counterpart.startswith("examples/configs/"), counterpart
    known = _counterpart_keys(counterpart)
    missing = [k for k in nemo_rl_keys(cfg) if k not in known]
    assert not missing, f"{recipe}: keys not in {counterpart}: {missing}"


def test_recipe_files_name_their_counterpart() -> None:
    from rl_lab.config import RECIPE_DIR

    for path in RECIPE_DIR.glob("*.yaml"):
        text = path.read_text()
        assert "NeMo RL counterpart: examples/configs/" in text, path.name
