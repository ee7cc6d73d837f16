"""The data both config checkers read: keys and defaults of every config of every release.

:func:`build` turns the manifests (``book/_data/nemo_rl/<release>.json``) into one
compact JSON document; the Python checker (:mod:`bookkit.checkconfig`) and the
browser's (``static/bookkit-checkconfig-core.js``) both decode exactly this
document, so they judge a config against the same facts. Layout (``version`` 1)::

    releases   release names, oldest first; current: the book's release
    scripts    {entry script file name: its default recipe}
    keys       every dotted key of every release, sorted (a string table)
    configs    {release: {config path: [key index, ...]
                          or {"base": config path, "add": [...], "drop": [...]}}}
    defaults   {release: {config path: {key index: default}}}  (configs outside recipes/;
               a float with an integral value is written {"f": value})
    renamed    {release: {old key: new key}}  keys renamed on the way into that release

A config is stored against the top-level config it differs least from when that
is shorter than its own key list (recipes mostly change a few keys of a parent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bookkit.nemorl.manifest_io import load, manifest_file
from bookkit.nemorl.releases import RELEASES, STEPS, diff

CURRENT = "v0.7.0"
#: Each entry script's recipe when no ``--config`` is given (NeMo RL v0.7.0's scripts).
SCRIPTS = {
    "run_sft.py": "examples/configs/sft.yaml", "run_vlm_sft.py": "examples/configs/sft.yaml",
    "run_dpo.py": "examples/configs/dpo.yaml", "run_rm.py": "examples/configs/rm.yaml",
    "run_grpo.py": "examples/configs/grpo_math_1B.yaml", "run_vlm_grpo.py": "examples/configs/vlm_grpo_3B.yaml",
    "run_grpo_sliding_puzzle.py": "examples/configs/grpo_sliding_puzzle.yaml",
    "run_ppo.py": "examples/configs/ppo_math_1B.yaml",
    "run_distillation.py": "examples/configs/distillation_math.yaml",
    "run_xtoken_off_policy_distillation.py": "examples/configs/xtoken_off_policy_distillation.yaml",
    "run_eval.py": "examples/configs/evals/eval.yaml",
}


def _mark(value: Any) -> Any:
    """A float with an integral value is written ``{"f": 1.0}``: JSON alone would read it back as an int."""
    return {"f": value} if isinstance(value, float) and value.is_integer() else value


def unmark(value: Any) -> Any:
    return float(value["f"]) if isinstance(value, dict) and set(value) == {"f"} else value


def _encode_configs(configs: dict[str, list[str]], index: dict[str, int]) -> dict[str, Any]:
    bases = {p: set(k) for p, k in configs.items() if "/recipes/" not in p}
    out: dict[str, Any] = {}
    for path, keys in sorted(configs.items()):
        own = set(keys)
        best = None
        if path not in bases:
            best = min(bases, key=lambda b: (len(own ^ bases[b]), b), default=None)
        if best is not None and len(own ^ bases[best]) < len(own):
            out[path] = {"base": best, "add": sorted(index[k] for k in own - bases[best]),
                         "drop": sorted(index[k] for k in bases[best] - own)}
        else:
            out[path] = sorted(index[k] for k in own)
    return out


def build(manifests: dict[str, dict], current: str = CURRENT) -> dict[str, Any]:
    """The checker data for ``{release: manifest}`` (releases in the order given)."""
    names = list(manifests)
    keys = sorted({k for m in manifests.values() for ks in m["configs"].values() for k in ks})
    index = {k: i for i, k in enumerate(keys)}
    renamed: dict[str, dict[str, str]] = {}
    for old, new in zip(names, names[1:]):
        pairs = diff(manifests[old], manifests[new])["keys"]["renamed"]
        renamed[new] = dict(sorted((r, a) for r, a, _ in pairs))
    return {
        "version": 1, "releases": names, "current": current, "scripts": SCRIPTS, "keys": keys,
        "configs": {r: _encode_configs(m["configs"], index) for r, m in manifests.items()},
        "defaults": {r: {p: {str(index[k]): _mark(v) for k, v in d.items() if k in index}
                         for p, d in sorted(m.get("config_defaults", {}).items())}
                     for r, m in manifests.items()},
        "renamed": renamed,
    }


def build_from(folder: Path, releases: tuple[str, ...] = RELEASES) -> dict[str, Any]:
    """:func:`build` over the manifests present in ``folder`` (a missing release is left out)."""
    files = {r: manifest_file(folder, r) for r in releases}
    found = {r: load(path) for r, path in files.items() if path.is_file()}
    return build(found, CURRENT if CURRENT in found else next(iter(found)))


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"


class Release:
    """One release's configs decoded: ``keys(path)`` and ``defaults(path)`` (dotted key -> default)."""

    def __init__(self, data: dict[str, Any], name: str):
        self.name = name
        self._table = data["keys"]
        self._configs = data["configs"].get(name, {})
        self._defaults = data["defaults"].get(name, {})
        self._cache: dict[str, frozenset[str]] = {}

    @property
    def paths(self) -> list[str]:
        return sorted(self._configs)

    def keys(self, path: str) -> frozenset[str]:
        if path not in self._cache:
            enc = self._configs[path]
            if isinstance(enc, dict):
                own = (set(self.keys(enc["base"])) | {self._table[i] for i in enc["add"]}) \
                    - {self._table[i] for i in enc["drop"]}
            else:
                own = {self._table[i] for i in enc}
            self._cache[path] = frozenset(own)
        return self._cache[path]

    def all_keys(self) -> frozenset[str]:
        return frozenset().union(*(self.keys(p) for p in self._configs))

    def defaults(self, path: str) -> dict[str, Any]:
        return {self._table[int(i)]: unmark(v) for i, v in self._defaults.get(path, {}).items()}
