"""Build the names-only manifest of a NeMo RL checkout.

``bookkit manifest --src ../nemo-rl --tag v0.7.0 --out book/_data/nemo_rl/v0.7.0.json``

The checkout is read statically: Python files are parsed with :mod:`ast` (no
``nemo_rl`` import, no torch), YAML configs with ``yaml.safe_load``. The output
holds names, paths and scalar config defaults only -- never code or docstrings --
and is byte-for-byte deterministic (sorted keys and lists), so regenerating it
for an unchanged checkout gives an empty diff.

Layout::

    tag                    the release tag given on the command line
    commit                 the checkout's commit, when ``--commit`` is given (a branch)
    modules                {dotted module: {classes, functions, attributes,
                            methods: {Class: [...]}, fields: {Class: [class-body
                            attributes: TypedDict keys, enum members]}, reexports
                            (names an __init__ imports), is_package, has_init}}
    packages_without_init  [{package, path, modules}] folders with .py files but
                            no __init__.py (namespace packages)
    examples               every file under examples/
    scripts                top-level files plus everything under tools/ and docker/
    configs                {yaml path: [dotted keys]} for every YAML under
                            examples/ (configs/, recipes/, evals/, ...), with
                            ``defaults:`` inheritance resolved and ``_override_`` honoured
    config_defaults        {yaml path: {leaf key: scalar, list of scalars, {},
                            "<list of mappings>" or "<long string>" (over 80
                            characters, e.g. chat templates: not recorded)}}
                            for every YAML outside recipes/
    config_errors          {yaml path: short reason} for files that could not be resolved
    docs                   every docs/**/*.md path
    script_args            {script: {flags, positionals, extra_args}} of every argparse
                           script under examples/ and tools/ (bookkit.nemorl.manifest_scripts)
    workers                worker names NRL_NSYS_WORKER_PATTERNS is matched against
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from pathlib import Path
from typing import Any

import yaml

from bookkit.nemorl import manifest_scripts
from bookkit.nemorl.manifest_io import dumps, encode

LIST_OF_MAPPINGS = "<list of mappings>"
LONG_STRING = "<long string>"  # chat templates and the like: not recorded
MAX_STRING = 80


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads 1e-8 as a float, as OmegaConf does (YAML 1.1 wants 1.0e-8)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)
SCRIPT_DIRS = ("tools", "docker")


# ---------------------------------------------------------------- python ----

def _public(name: str) -> bool:
    return not name.startswith("_")


def _top_level(body: list[ast.stmt]):
    """Statements at module level, looking inside if/try blocks (TYPE_CHECKING, optional imports)."""
    for node in body:
        if isinstance(node, ast.If):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]):
                yield from _top_level(block)
        else:
            yield node


def _targets(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):
        out = []
        for t in node.targets:
            elts = t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]
            out += [e.id for e in elts if isinstance(e, ast.Name)]
        return out
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if hasattr(ast, "TypeAlias") and isinstance(node, getattr(ast, "TypeAlias")):
        return [node.name.id]
    return []


def scan_module(source: str, is_init: bool) -> dict[str, Any]:
    tree = ast.parse(source)
    classes, functions, attributes, reexports = set(), set(), set(), set()
    methods: dict[str, list[str]] = {}
    fields: dict[str, list[str]] = {}
    for node in _top_level(tree.body):
        if isinstance(node, ast.ClassDef) and _public(node.name):
            classes.add(node.name)
            names = {
                n.name for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                and (_public(n.name) or n.name in ("__init__", "__call__"))
            }
            if names:
                methods[node.name] = sorted(names)
            attrs = {t for n in node.body for t in _targets(n) if _public(t)} - names
            if attrs:
                fields[node.name] = sorted(attrs)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public(node.name):
            functions.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and is_init:
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                if alias.name != "*" and _public(name):
                    reexports.add(name)
        else:
            attributes.update(n for n in _targets(node) if _public(n))
    attributes -= classes | functions
    return {
        "classes": sorted(classes),
        "functions": sorted(functions),
        "attributes": sorted(attributes),
        "methods": dict(sorted(methods.items())),
        "fields": dict(sorted(fields.items())),
        "reexports": sorted(reexports - classes - functions - attributes),
    }


def scan_package(src: Path, package: str = "nemo_rl") -> tuple[dict, list]:
    root = src / package
    modules: dict[str, dict] = {}
    without_init: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(src)
        parts = list(rel.with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        if is_init:
            parts = parts[:-1]
        name = ".".join(parts)
        has_init = (path.parent / "__init__.py").exists()
        try:
            info = scan_module(path.read_text(encoding="utf-8"), is_init)
        except SyntaxError as exc:  # recorded, never fatal
            info = {"classes": [], "functions": [], "attributes": [], "methods": {},
                    "reexports": [], "error": f"syntax error line {exc.lineno}"}
        info["is_package"] = is_init
        info["has_init"] = has_init
        modules[name] = info
        if not has_init:
            without_init.setdefault(".".join(rel.parent.parts), []).append(name)
    folders = [
        {"package": pkg, "path": pkg.replace(".", "/"), "modules": sorted(mods)}
        for pkg, mods in sorted(without_init.items())
    ]
    return dict(sorted(modules.items())), folders


# ---------------------------------------------------------------- configs ---

def merge(base: Any, over: Any) -> Any:
    """OmegaConf-like merge: mappings merge recursively unless ``_override_: true``."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and value.get("_override_"):
            out[key] = {k: v for k, v in value.items() if k != "_override_"}
        else:
            out[key] = merge(base.get(key), value) if key in base else value
    return out


def _strip_markers(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_markers(v) for k, v in node.items() if k != "_override_"}
    return node


def load_resolved(path: Path, _seen: tuple = ()) -> dict:
    """Load one YAML file with its ``defaults:`` parents merged in (paths relative to the file)."""
    if path in _seen:
        raise ValueError(f"inheritance cycle through {path.name}")
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    if not isinstance(data, dict):
        raise ValueError("top level is not a mapping")
    parents = data.pop("defaults", None)
    if parents is None:
        return _strip_markers(data)
    if isinstance(parents, str):
        parents = [parents]
    base: dict = {}
    for parent in parents:
        parent_path = Path(parent) if str(parent).startswith("/") else path.parent / str(parent)
        if not parent_path.is_file():
            raise ValueError(f"defaults entry {parent!r} not found")
        base = merge(base, load_resolved(parent_path.resolve(), _seen + (path,)))
    return _strip_markers(merge(base, data))


def flatten(node: dict, prefix: str = "") -> tuple[list[str], dict[str, Any]]:
    """Dotted keys (inner mappings and leaves) and the scalar defaults of the leaves."""
    keys: list[str] = []
    defaults: dict[str, Any] = {}
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        keys.append(dotted)
        if isinstance(value, dict) and value:
            sub_keys, sub_defaults = flatten(value, dotted + ".")
            keys += sub_keys
            defaults.update(sub_defaults)
        elif isinstance(value, dict):
            defaults[dotted] = {}
        elif isinstance(value, list):
            scalar = all(not isinstance(v, (dict, list)) for v in value)
            defaults[dotted] = [_jsonable(v) for v in value] if scalar else LIST_OF_MAPPINGS
        else:
            defaults[dotted] = _jsonable(value)
    return keys, defaults


def _jsonable(value: Any) -> Any:
    if isinstance(value, str) and (len(value) > MAX_STRING or "\n" in value):
        return LONG_STRING
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # dates and other YAML-native scalars


def scan_configs(src: Path) -> tuple[dict, dict, dict]:
    configs, defaults, errors = {}, {}, {}
    for path in sorted((src / "examples").rglob("*.y*ml")):
        rel = path.relative_to(src).as_posix()
        try:
            keys, leaf_defaults = flatten(load_resolved(path.resolve()))
        except (ValueError, yaml.YAMLError) as exc:
            errors[rel] = str(exc).splitlines()[0]
            continue
        configs[rel] = sorted(set(keys))
        if "/recipes/" not in rel:  # recipes: keys only, to keep the manifest small
            defaults[rel] = dict(sorted(leaf_defaults.items()))
    return configs, defaults, errors


# ---------------------------------------------------------------- files -----

def _files(src: Path, folder: str) -> list[str]:
    base = src / folder
    if not base.is_dir():
        return []
    return sorted(p.relative_to(src).as_posix() for p in base.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def build(src: Path, tag: str) -> dict[str, Any]:
    modules, without_init = scan_package(src)
    configs, config_defaults, config_errors = scan_configs(src)
    scripts = sorted(p.name for p in src.iterdir() if p.is_file() and not p.name.startswith("."))
    for folder in SCRIPT_DIRS:
        scripts += _files(src, folder)
    return {
        "tag": tag,
        "modules": modules,
        "packages_without_init": without_init,
        "examples": _files(src, "examples"),
        "scripts": sorted(scripts),
        "configs": configs,
        "config_defaults": config_defaults,
        "config_errors": config_errors,
        "docs": [p for p in _files(src, "docs") if p.endswith(".md")],
        **manifest_scripts.scan(src),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bookkit manifest", description=__doc__.splitlines()[0])
    parser.add_argument("--src", required=True, help="NeMo RL checkout (read only)")
    parser.add_argument("--tag", required=True, help="release tag recorded in the manifest")
    parser.add_argument("--out", required=True, help="JSON file to write (gzip-compressed when it ends in .gz)")
    parser.add_argument("--commit", help="commit of the checkout, recorded for a branch such as main")
    args = parser.parse_args(argv)
    manifest = build(Path(args.src), args.tag)
    if args.commit:
        manifest["commit"] = args.commit
    text = dumps(manifest)
    out = Path(args.out)
    if out.exists() and out.read_bytes() == encode(text, out):
        print(f"{out}: unchanged")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(encode(text, out))
    m = json.loads(text)
    print(f"{out}: {len(m['modules'])} modules, {len(m['configs'])} configs, "
          f"{len(m['docs'])} docs pages, {len(m['examples'])} example files")
    return 0
