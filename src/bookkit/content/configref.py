"""``bookkit.content.configref``: a table of a NeMo RL recipe's config keys.

::

    ```{config-reference} examples/configs/grpo_math_1B.yaml
    :sections: grpo, loss_fn
    ```

Keys come from the manifest (``bookkit manifest``: inheritance resolved), the
default of each key from the manifest's ``config_defaults`` for that file, and
the meaning and type from ``book/_data/config_descriptions.yml``, which is
curated by hand. A key with no curated entry is still listed (its type is read
from its default). Curated entries are looked up by exact key, then through
``aliases`` (``teacher.`` reads ``policy.``), then through patterns whose ``*``
stands for one key segment. Options: ``:sections:`` limits the table to some
top-level sections; ``:undocumented: hide`` leaves out keys with no entry.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from bookkit import __version__
from bookkit.core.io import book_path
from bookkit.core.settings import read, register, setting
from bookkit.core.suggest import closest

logger = logging.getLogger(__name__)
MARKERS = {"<list of mappings>": "list", "<long string>": "str"}


@dataclass(frozen=True)
class ConfigRefSettings:
    configref_manifest: str = setting("_data/nemo_rl/v0.7.0.json", "Manifest with `configs` and `config_defaults`; relative to the book root.")
    configref_descriptions: str = setting("_data/config_descriptions.yml", "Curated key descriptions; relative to the book root.")


# ------------------------------------------------------------- data ----

@lru_cache(maxsize=8)
def _load_json(path: str, mtime: int) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@lru_cache(maxsize=8)
def _load_yaml(path: str, mtime: int) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def _cached(loader, path: Path) -> dict:
    return loader(str(path), path.stat().st_mtime_ns) if path.is_file() else {}


class Descriptions:
    """Lookup of curated entries: exact key, then aliases, then ``*`` patterns."""

    def __init__(self, data: dict[str, Any]):
        self.keys: dict[str, dict] = {k: (v or {}) for k, v in (data.get("keys") or {}).items()}
        self.aliases: dict[str, str] = data.get("aliases") or {}
        self.patterns = [k for k in self.keys if "*" in k]

    def _match(self, key: str) -> dict | None:
        if key in self.keys:
            return self.keys[key]
        depth = key.count(".")
        for pattern in self.patterns:
            if pattern.count(".") == depth and fnmatch.fnmatchcase(key, pattern.replace("*", "[!.]*")):
                return self.keys[pattern]
        return None

    def lookup(self, key: str) -> dict | None:
        found = self._match(key)
        if found is None:
            for prefix, target in sorted(self.aliases.items(), key=lambda kv: -len(kv[0])):
                if key == prefix or key.startswith(prefix + "."):
                    found = self._match(target + key[len(prefix):])
                    break
        return found


def type_of(default: Any, has_children: bool = False) -> str:
    if has_children or isinstance(default, dict):
        return "mapping"
    if isinstance(default, str) and default in MARKERS:
        return MARKERS[default]
    if isinstance(default, str) and default.startswith("${"):
        return "interpolation"
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list",
            type(None): "null"}.get(type(default), "")


def show_default(default: Any) -> str:
    if default is None:
        return "null"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, str):
        return "(see the YAML)" if default in MARKERS else default
    return json.dumps(default)


def rows_for(config: str, manifest: dict, desc: Descriptions, sections: list[str] | None = None,
             undocumented: bool = True) -> list[tuple[str, str, str, str]]:
    """(key, type, default, meaning) for every key of ``config``, in key order."""
    keys = manifest["configs"][config]
    defaults = manifest.get("config_defaults", {}).get(config, {})
    parents = {k.rsplit(".", 1)[0] for k in keys if "." in k}
    rows = []
    for key in keys:
        if sections and key.split(".", 1)[0] not in sections:
            continue
        entry = desc.lookup(key)
        if entry is None and not undocumented:
            continue
        entry = entry or {}
        if key in parents:
            rows.append((key, entry.get("type", "mapping"), "", entry.get("meaning", "")))
            continue
        has_default = key in defaults or "default" in entry
        default = defaults[key] if key in defaults else entry.get("default")
        type_ = entry.get("type") or (type_of(default, False) if has_default else "")
        rows.append((key, type_, show_default(default) if has_default else "", entry.get("meaning", "")))
    return rows


# -------------------------------------------------------- rendering ----

def _inline(text: str) -> list[nodes.Node]:
    """Plain text with ``backtick`` spans as literals (the only markup descriptions use)."""
    out: list[nodes.Node] = []
    for i, part in enumerate(re.split(r"`([^`]*)`", text)):
        if part:
            out.append(nodes.literal(part, part) if i % 2 else nodes.Text(part))
    return out


def _table(rows: list[tuple[str, str, str, str]]) -> nodes.table:
    table = nodes.table(classes=["bookkit-config-reference"])
    group = nodes.tgroup(cols=4)
    table += group
    for width in (30, 10, 20, 40):
        group += nodes.colspec(colwidth=width)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body

    def row(cells: list[list[nodes.Node]], target: nodes.Node) -> None:
        tr = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph("", "", *cell)
            tr += entry
        target += tr

    row([[nodes.Text(t)] for t in ("Key", "Type", "Default", "Meaning")], head)
    for key, type_, default, meaning in rows:
        default_cell = [nodes.literal(default, default)] if default else []
        row([[nodes.literal(key, key)], [nodes.Text(type_)], default_cell, _inline(meaning)], body)
    return table


class ConfigReference(SphinxDirective):
    required_arguments = 1
    option_spec = {
        "sections": directives.unchanged,
        "undocumented": lambda arg: directives.choice(arg, ("show", "hide")),
    }

    def run(self) -> list[nodes.Node]:
        cfg = read(self.config, ConfigRefSettings)
        manifest_path = book_path(self.env.app, cfg.configref_manifest)
        desc_path = book_path(self.env.app, cfg.configref_descriptions)
        for path in (manifest_path, desc_path):
            self.env.note_dependency(str(path))
        manifest = _cached(_load_json, manifest_path)
        config = self.arguments[0].removeprefix("./")
        if config not in manifest.get("configs", {}):
            close = closest(config, manifest.get("configs", {}))
            hint = f"; did you mean {close!r}?" if close else ""
            logger.warning(f"config-reference: {config!r} is not a config of the manifest "
                           f"{manifest_path.name}{hint}", location=self.get_location(),
                           type="bookkit", subtype="configref")
            return []
        sections = [s.strip() for s in self.options.get("sections", "").split(",") if s.strip()]
        rows = rows_for(config, manifest, Descriptions(_cached(_load_yaml, desc_path)),
                        sections or None, self.options.get("undocumented", "show") == "show")
        return [_table(rows)]


def check_descriptions(app: Sphinx) -> None:
    """Warn about curated keys that no config has (renamed or removed upstream)."""
    cfg = read(app.config, ConfigRefSettings)
    manifest = _cached(_load_json, book_path(app, cfg.configref_manifest))
    desc_path = book_path(app, cfg.configref_descriptions)
    data = _cached(_load_yaml, desc_path)
    for key in stale_keys(manifest, data):
        logger.warning(f"config-reference: described key {key!r} is in no config of the manifest",
                       location=str(desc_path), type="bookkit", subtype="configref")


def stale_keys(manifest: dict, data: dict) -> list[str]:
    if not manifest or not data:
        return []
    known = {k for keys in manifest.get("configs", {}).values() for k in keys}
    return sorted(k for k in (data.get("keys") or {}) if "*" not in k and k not in known)


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, ConfigRefSettings)
    app.add_directive("config-reference", ConfigReference)
    app.connect("builder-inited", check_descriptions)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": __version__}
