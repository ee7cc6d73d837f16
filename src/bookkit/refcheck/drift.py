"""``bookkit drift --to <manifest>``: what in the book another NeMo RL release would make wrong.

    bookkit drift --to book/_data/nemo_rl/main.json.gz [--from book/_data/nemo_rl/v0.7.0.json] [PATH ...]

Every page is scanned with refcheck's scanner (:func:`bookkit.refcheck.scan.scan`:
``nemo_rl`` names, ``examples/`` paths, ``--config`` files, override keys on
command lines, keys of ``# recipe:`` YAML blocks) against both manifests; a
reference that is fine against ``--from`` (the book's release) and unknown in
``--to`` is drift. Table rows that quote a config key's default are checked too:
a row with the key in a code span and the default the key has in every ``--from``
config that records it, where ``--to`` records one other default. Pages that opt
out of refcheck are skipped; a key that the release diff shows renamed names its
new name. Exit status 1 when anything drifts.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from bookkit.nemorl.manifest_io import load
from bookkit.nemorl.releases import diff
from bookkit.refcheck.pages import page_text
from bookkit.refcheck.scan import Index, scan

KEY_CELL_RE = re.compile(r"`([A-Za-z_][\w\-]*(?:\.[\w\-]+)+)`")


def unique_defaults(manifest: dict[str, Any]) -> dict[str, Any]:
    """``{key: default}`` for keys whose recorded default is the same in every config that has one."""
    seen: dict[str, set[str]] = {}
    for defaults in manifest.get("config_defaults", {}).values():
        for key, value in defaults.items():
            seen.setdefault(key, set()).add(json.dumps(value))
    return {k: json.loads(next(iter(v))) for k, v in seen.items() if len(v) == 1}


def _shown(value: Any) -> set[str]:
    """How a page may write a default in a table cell."""
    if isinstance(value, bool):
        return {str(value).lower(), str(value)}
    if value is None:
        return {"null", "None"}
    if isinstance(value, (list, dict)):
        return {json.dumps(value), json.dumps(value, separators=(",", ":"))}
    return {str(value), json.dumps(value)} if isinstance(value, str) else {str(value), repr(value)}


def table_defaults(text: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[tuple[int, str]]:
    """(line, message) for table rows quoting a default that ``new`` changes."""
    for no, line in enumerate(text.splitlines(), 1):
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for key in {m.group(1) for m in KEY_CELL_RE.finditer(line)}:
            if key not in old or key not in new or json.dumps(old[key]) == json.dumps(new[key]):
                continue
            shown = _shown(old[key])
            if any(c.strip("`") in shown for c in cells if KEY_CELL_RE.fullmatch(c) is None):
                yield no, f"default of {key!r} is {json.dumps(old[key])} here and {json.dumps(new[key])} in the target"


def drift(text: str, old: Index, new: Index, old_defaults: dict, new_defaults: dict,
          renamed: dict[str, str] | None = None) -> list[tuple[int, str]]:
    """(line, message) for every reference of one page's text that ``new`` breaks and ``old`` does not;
    ``renamed`` (old key -> new key, from :func:`bookkit.nemorl.releases.diff`) names a renamed key's new name."""
    before = {(f.line, f.kind, f.name) for f in scan(text, old)}
    out = []
    for f in scan(text, new):
        if (f.line, f.kind, f.name) in before:
            continue
        if f.kind == "key" and f.name in (renamed or {}):
            text_ = replace(f, suggestion=None).message(new.tag)
            out.append((f.line, f"{text_}; renamed to {renamed[f.name]!r} in {new.tag}"))
        else:
            out.append((f.line, f.message(new.tag)))
    out += list(table_defaults(text, old_defaults, new_defaults))
    return sorted(set(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bookkit drift", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["book"], help="pages or folders (default: book)")
    parser.add_argument("--to", required=True, help="manifest of the other release")
    parser.add_argument("--from", dest="from_", default="book/_data/nemo_rl/v0.7.0.json",
                        help="manifest of the book's release")
    args = parser.parse_args(argv)

    manifests = []
    for path in (args.from_, args.to):
        try:
            manifests.append(load(path))
        except (OSError, ValueError) as exc:
            print(f"bookkit drift: {path}: cannot read the manifest ({exc}); write one with `bookkit manifest`")
            return 2
    old, new = (Index(m) for m in manifests)
    old_d, new_d = (unique_defaults(m) for m in manifests)
    renamed = {r: a for r, a, _ in diff(*manifests)["keys"]["renamed"]}
    files: list[Path] = []
    for given in map(Path, args.paths):
        found = given.rglob("*") if given.is_dir() else [given]
        files += sorted(p for p in found if p.suffix in (".md", ".ipynb") and "_build" not in p.parts)
    count, pages = 0, 0
    for path in files:
        text, enabled, labels = page_text(path, path.read_text(encoding="utf-8"))
        found = drift(text, old, new, old_d, new_d, renamed) if enabled else []
        pages += bool(found)
        for line, message in found:
            where = f" [{labels[line - 1]}]" if line <= len(labels) else ""
            print(f"{path}:{line}: {message}{where}")
        count += len(found)
    print(f"{count} reference(s) on {pages} of {len(files)} page(s) would be wrong against {new.tag}")
    return 1 if count else 0
