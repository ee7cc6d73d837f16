"""What changed between two NeMo RL releases, from their names-only manifests.

``bookkit releases`` writes one page per step of ``STEPS`` (v0.6.0 -> v0.7.0,
v0.7.0 -> main) under ``book/references/releases/``; ``--check`` exits 1 when a
committed page differs from what the manifests give. :func:`diff` is also used by
:mod:`bookkit.checkconfig` (renamed keys) and is pure: two manifest dicts in, one
JSON-able dict out.

A rename is reported only when it is clear: in a config present in both
releases, a key disappears and exactly one new key appears with the same default
and in the same position: the same last name under another parent, or the same
parent section and a similar name (difflib ratio of at least ``SIMILAR``); the
pairing must hold both ways. A whole section is renamed when its
children, relative to it, are the same set.
"""

from __future__ import annotations

import json
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

DATA = Path("book/_data/nemo_rl")
OUT = Path("book/references/releases")
#: (from, to) manifest names under DATA, oldest first; also the release order the checker uses.
STEPS = (("v0.6.0", "v0.7.0"), ("v0.7.0", "main"))
RELEASES = ("v0.6.0", "v0.7.0", "main")
#: Least name similarity (difflib ratio) of a renamed key in the same section.
SIMILAR = 0.5


def entry_scripts(manifest: dict) -> set[str]:
    """Scripts a reader runs: ``examples/**/run_*.py`` and the checkpoint converters."""
    return {p for p in manifest.get("examples", []) if p.endswith(".py")
            and (p.rsplit("/", 1)[-1].startswith("run_") or p.startswith("examples/converters/"))}


def public_names(manifest: dict) -> set[str]:
    """Modules and their module-level public names (classes, functions, constants)."""
    out = set()
    for mod, info in manifest.get("modules", {}).items():
        out.add(mod)
        for kind in ("classes", "functions", "attributes"):
            out.update(f"{mod}.{n}" for n in info.get(kind, []))
    return out


def grouped(keys: set[str]) -> list[list]:
    """``[key, keys below it]`` for each key whose parent is not itself in ``keys``."""
    tops = sorted(k for k in keys if k.rpartition(".")[0] not in keys)
    return [[k, sum(1 for o in keys if o.startswith(k + "."))] for k in tops]


def _parent(key: str) -> str:
    return key.rpartition(".")[0]


def _leaf(key: str) -> str:
    return key.rpartition(".")[2]


def _section_renames(removed: set[str], added: set[str]) -> dict[str, str]:
    def children(top: str, pool: set[str]) -> frozenset[str]:
        return frozenset(k[len(top):] for k in pool if k.startswith(top + "."))
    olds = {k: children(k, removed) for k, n in grouped(removed) if n}
    news = {k: children(k, added) for k, n in grouped(added) if n}
    out = {}
    for old, kids in olds.items():
        match = [new for new, nk in news.items() if nk == kids
                 and (_parent(new) == _parent(old) or _leaf(new) == _leaf(old))]
        back = [o for o, ok in olds.items() if match and ok == news[match[0]]
                and (_parent(match[0]) == _parent(o) or _leaf(match[0]) == _leaf(o))]
        if len(match) == 1 and back == [old]:
            out[old] = match[0]
    return out


def _leaf_renames(removed: set[str], added: set[str], old_d: dict, new_d: dict) -> dict[str, str]:
    def near(r: str, a: str) -> bool:
        similar = _leaf(r) == _leaf(a) or (
            _parent(r) == _parent(a) and SequenceMatcher(None, _leaf(r), _leaf(a)).ratio() >= SIMILAR)
        return similar and r in old_d and a in new_d and json.dumps(old_d[r]) == json.dumps(new_d[a])
    pairs = {r: [a for a in added if near(r, a)] for r in removed}
    out = {}
    for r, cands in pairs.items():
        if len(cands) == 1 and [o for o, c in pairs.items() if cands[0] in c] == [r]:
            out[r] = cands[0]
    return out


def renames(removed: set[str], added: set[str], old_d: dict, new_d: dict) -> dict[str, str]:
    """``{old key: new key}`` for the clear renames among one config's removed and added keys."""
    out = _section_renames(removed, added)
    for old, new in list(out.items()):
        out.update({k: new + k[len(old):] for k in removed if k.startswith(old + ".")})
    rest_r = {k for k in removed if k not in out}
    rest_a = added - set(out.values())
    out.update(_leaf_renames(rest_r, rest_a, old_d, new_d))
    return out


def _keys(manifest: dict) -> set[str]:
    return {k for keys in manifest.get("configs", {}).values() for k in keys}


def diff(old: dict, new: dict) -> dict[str, Any]:
    """Everything the release page shows, as plain data."""
    old_keys, new_keys = _keys(old), _keys(new)
    renamed: dict[tuple[str, str], list[str]] = defaultdict(list)
    per_config: dict[str, dict] = {}
    changed: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for cfg in sorted(set(old["configs"]) & set(new["configs"])):
        o, n = set(old["configs"][cfg]), set(new["configs"][cfg])
        od, nd = old.get("config_defaults", {}).get(cfg, {}), new.get("config_defaults", {}).get(cfg, {})
        for r, a in renames(o - n, n - o, od, nd).items():
            renamed[(r, a)].append(cfg)
        if "/recipes/" not in cfg and (o - n or n - o):
            per_config[cfg] = {"added": grouped(n - o), "removed": grouped(o - n)}
        for key in sorted(set(od) & set(nd)):
            if json.dumps(od[key]) != json.dumps(nd[key]):
                changed[(key, json.dumps(od[key]), json.dumps(nd[key]))].append(cfg)
    old_names, new_names = public_names(old), public_names(new)
    return {
        "from": old.get("tag", "?"), "to": new.get("tag", "?"), "to_commit": new.get("commit"),
        "recipes": {"added": sorted(set(new["configs"]) - set(old["configs"])),
                    "removed": sorted(set(old["configs"]) - set(new["configs"]))},
        "keys": {"added": grouped(new_keys - old_keys), "removed": grouped(old_keys - new_keys),
                 "renamed": [[r, a, cfgs] for (r, a), cfgs in sorted(renamed.items())]},
        "per_config": per_config,
        "defaults": [[k, json.loads(a), json.loads(b), cfgs] for (k, a, b), cfgs in sorted(changed.items())],
        "scripts": {"added": sorted(entry_scripts(new) - entry_scripts(old)),
                    "removed": sorted(entry_scripts(old) - entry_scripts(new))},
        "names": {"added": grouped(new_names - old_names), "removed": grouped(old_names - new_names)},
    }


def counts(d: dict) -> dict[str, int]:
    def total(groups: list[list]) -> int:
        return sum(1 + n for _, n in groups)
    return {
        "recipes added": len(d["recipes"]["added"]), "recipes removed": len(d["recipes"]["removed"]),
        "config keys added": total(d["keys"]["added"]), "config keys removed": total(d["keys"]["removed"]),
        "config keys renamed": len(d["keys"]["renamed"]), "defaults changed": len(d["defaults"]),
        "entry scripts added": len(d["scripts"]["added"]), "entry scripts removed": len(d["scripts"]["removed"]),
        "public names added": total(d["names"]["added"]), "public names removed": total(d["names"]["removed"]),
    }
