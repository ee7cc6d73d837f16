"""``bookkit check-config``: check a NeMo RL config (YAML, or a ``run_*.py`` command line).

    bookkit check-config my_grpo.yaml grpo.num_prompts_per_step=32 [--release v0.7.0] [--json]
    bookkit check-config uv run examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml k=v
    bookkit check-config -              # the YAML or command on standard input

The rules, shared with the browser's checker (``static/bookkit-checkconfig-core.js``,
which reads the same :mod:`bookkit.checkconfig.data` document and runs the same cases,
``tests/bookkit/checkconfig_cases.yml``):

* the recipe is the ``defaults:`` entry (or a ``# recipe:`` first line) of a YAML,
  the ``--config`` of a command, else the entry script's default recipe; a YAML
  with neither is compared with the config that has most of its keys;
* ``unknown``: a key the recipe does not have (the closest valid key is named);
* ``release``: a key not in this release but in another ("removed in v0.7.0",
  "new in main"; a renamed key names its new or old name);
* ``type``: a value whose type differs from the recipe default (an int where a
  float is expected is fine; ``null`` and ``${...}`` always are);
* ``recipe``: a ``defaults:`` / ``--config`` that is not a config of the release;
* ``add-existing``: ``+key=`` for a key the recipe already has (Hydra refuses it);
* notes ``inherits`` (the recipe the input was resolved against) and ``changed``
  (the recipe default beside each changed value).

Exit status: 0 clean (notes only), 1 findings, 2 input that cannot be read
(malformed YAML, with line and column; a top level that is not a mapping; an
unknown release; a missing file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bookkit.checkconfig.data import Release, build_from
from bookkit.checkconfig.inputs import (OVERRIDE_RE, STOP_TOKENS, InputError, _default_type,
                                       is_command, known_key, parse_value, parse_yaml, same, show, tokens, type_of)
from bookkit.core.suggest import closest

ERRORS = ("unknown", "release", "type", "recipe", "add-existing")
DATA = Path("book/_data/nemo_rl")


def find_config(name: str, paths: list[str]) -> str | None:
    """A config path for ``name`` as a user writes it (``grpo_math_1B.yaml``, ``../../sft.yaml``)."""
    bare = "/".join(p for p in str(name).split("/") if p not in ("", ".", ".."))
    for cand in (bare, "examples/configs/" + bare):
        if cand in paths:
            return cand
    ends = [p for p in paths if p.endswith("/" + bare)]
    return min(ends, key=lambda p: (len(p), p)) if ends else None


def _finding(kind: str, item: dict | None, message: str, **extra) -> dict[str, Any]:
    item = item or {}
    return {"kind": kind, "severity": "error" if kind in ERRORS else "note", "line": item.get("line"),
            "column": item.get("column"), "key": item.get("key"), "message": message, **extra}


def other_release(key: str, recipes: list[str], data: dict, release: str) -> tuple[str, str | None] | None:
    """("removed in v0.7.0" / "new in main" ..., suggestion) when another release has ``key``."""
    order = data["releases"]
    here = order.index(release)

    def has(name: str) -> bool:
        rel = Release(data, name)
        own = [p for p in recipes if p in rel.paths]
        keys = frozenset().union(*(rel.keys(p) for p in own)) if own else rel.all_keys()
        return known_key(key, keys)

    for i in range(here - 1, -1, -1):  # the newest older release that had it
        if has(order[i]):
            gone = order[i + 1]
            new = data["renamed"].get(gone, {}).get(key)
            text = f"renamed to {new!r} in {gone}" if new else f"removed in {gone}"
            return f"{text} (it is in {order[i]})", new
    for i in range(here + 1, len(order)):
        if has(order[i]):
            old = {v: k for k, v in data["renamed"].get(order[i], {}).items()}.get(key)
            return f"new in {order[i]}" + (f" (renamed from {old!r})" if old else ""), old
    return None


def _recipes(text_items: dict, rel: Release, findings: list) -> list[str]:
    found = []
    for name, item in text_items["parents"]:
        path = find_config(name, rel.paths)
        if path is None:
            base = [p.rsplit("/", 1)[-1] for p in rel.paths]
            hint = closest(str(name).rsplit("/", 1)[-1], base)
            findings.append(_finding("recipe", item, f"{name!r} is not a config of NeMo RL {rel.name}"
                                     + (f"; did you mean {hint!r}?" if hint else ""), suggestion=hint))
        else:
            found.append(path)
    return found


def _read(text: str) -> tuple[list[dict], list[tuple[str, dict]], str | None]:
    """``(items, [(recipe name, where)], entry script)`` of a YAML or a command line."""
    if not is_command(text):
        entries, (parents, line) = parse_yaml(text)
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        if parents is None and first.startswith("#") and "recipe:" in first:
            parents = first.split("recipe:", 1)[1].strip()
        names = parents if isinstance(parents, list) else [] if parents is None else [parents]
        return entries, [(str(n), {"line": line or 1, "key": "defaults"}) for n in names], None
    words = tokens(text)
    items, parents, script, started = [], [], None, False
    for i, (word, line) in enumerate(words):
        if word in STOP_TOKENS:
            break
        if word.endswith(".py") and script is None:
            script, started = word, True
        elif word == "--config" and i + 1 < len(words):
            parents.append((words[i + 1][0], {"line": words[i + 1][1], "key": "--config"}))
        elif word.startswith("--config="):
            parents.append((word.split("=", 1)[1], {"line": line, "key": "--config"}))
        elif started:
            items += _override(word, line)
    return items, parents, script


def _override(word: str, line: int | None) -> list[dict]:
    match = OVERRIDE_RE.match(word)
    if not match or (match.group(3) is None and match.group(1) != "~"):
        return []
    value, source = parse_value(match.group(3) or "")
    return [{"key": match.group(2), "op": match.group(1) or "", "value": value,
             "type": type_of(value, source), "line": line, "column": None, "replaced": False}]


def check(text: str, data: dict, release: str | None = None, overrides: list[str] = ()) -> dict[str, Any]:
    """Every finding for a YAML or command ``text`` (plus command-line ``overrides``) in ``release``."""
    release = release or data["current"]
    if release not in data["releases"]:
        raise InputError(f"unknown release {release!r}; choose one of {', '.join(data['releases'])}")
    rel = Release(data, release)
    findings: list[dict] = []
    items, parents, script = _read(text)
    for word in overrides:
        items += _override(word, None) or [{"key": word, "op": "?", "line": None}]
    recipes = _recipes({"parents": parents}, rel, findings)
    where = parents[0][1] if parents else {"line": 1}
    if not parents and script and script.rsplit("/", 1)[-1] in data["scripts"]:
        recipes = [data["scripts"][script.rsplit("/", 1)[-1]]]
        findings.append(_finding("inherits", where, f"no --config: {script} uses {recipes[0]}"))
    elif not parents and items:
        user = {i["key"] for i in items}
        best = max(rel.paths, key=lambda p: (len(user & rel.keys(p)), "/recipes/" not in p, -len(rel.keys(p))))
        if user & rel.keys(best):
            recipes = [best]
            findings.append(_finding("inherits", where, f"no defaults: compared with {best}, "
                                     "the config that has most of these keys"))
    elif recipes:
        findings.append(_finding("inherits", where, "resolved against " + " + ".join(recipes) + f" ({release})"))
    keys = frozenset().union(*(rel.keys(p) for p in recipes)) if recipes else rel.all_keys()
    defaults: dict[str, Any] = {}
    for path in recipes:
        defaults.update(rel.defaults(path))
    for item in items:
        findings += _check_item(item, keys, defaults, recipes, data, release)
    findings.sort(key=lambda f: (f["line"] is None, f["line"] or 0, f["key"] or "", f["kind"]))
    return {"release": release, "recipes": recipes, "input": "command" if script else "yaml",
            "findings": findings}


def _check_item(item: dict, keys, defaults: dict, recipes: list[str], data: dict, release: str) -> list[dict]:
    key, op = item["key"], item.get("op", "")
    if op == "?":
        return [_finding("unknown", item, f"{key!r} is not an override (write key=value)")]
    if op == "+":
        if known_key(key, keys):
            return [_finding("add-existing", item, f"+{key} adds a key, but the recipe already has {key!r}; "
                             f"write {key}=... to change it", suggestion=key)]
        return []
    if item.get("replaced") or (op == "++" and not known_key(key, keys)):
        return []
    if not known_key(key, keys):
        other = other_release(key, recipes, data, release)
        if other:
            text, hint = other
            return [_finding("release", item, f"{key!r} is not in NeMo RL {release}: {text}", suggestion=hint)]
        hint = closest(key, keys)
        return [_finding("unknown", item, f"unknown key {key!r}" + (f"; did you mean {hint!r}?" if hint else ""),
                         suggestion=hint)]
    if op == "~" or item["type"] == "null":
        return []
    if key not in defaults:
        below = sum(1 for k in keys if k.startswith(key + "."))
        if below and item["type"] != "mapping":
            return [_finding("type", item, f"{key!r} is a section of {below} keys in the recipe, "
                             f"not {_a(item['type'])} value")]
        return []
    default = defaults[key]
    want, got = _default_type(default), item["type"]
    fine = got == want or want == "null" or (got == "int" and want == "float") \
        or (got == "str" and str(item["value"]).startswith("${")) or (want == "mapping" and default == {})
    if not fine:
        return [_finding("type", item, f"{key!r} is {_a(got)} here, but the recipe default is {_a(want)} "
                         f"({show(default)})", default=default)]
    if got != "mapping" and not same(item["value"], default) and default not in ("<long string>",):
        return [_finding("changed", item, f"{key}: {show(item['value'])} (recipe default: {show(default)})",
                         default=default)]
    return []


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _split_args(argv: list[str]) -> tuple[dict, list[str]]:
    opts: dict[str, Any] = {"release": None, "json": False, "data": str(DATA)}
    rest, i = [], 0
    while i < len(argv):
        if argv[i] in ("--release", "--data") and i + 1 < len(argv):
            opts[argv[i][2:]] = argv[i + 1]
            i += 2
            continue
        if argv[i] == "--json":
            opts["json"] = True
        elif argv[i] in ("-h", "--help"):
            opts["help"] = True
        else:
            rest.append(argv[i])
        i += 1
    return opts, rest


def main(argv: list[str] | None = None) -> int:
    opts, rest = _split_args(list(sys.argv[1:] if argv is None else argv))
    if opts.get("help") or not rest:
        print(__doc__.split("\n\nThe rules")[0])
        return 0 if opts.get("help") else 2
    first = rest[0]
    if first == "-":
        name, text, overrides = "<stdin>", sys.stdin.read(), rest[1:]
    elif Path(first).is_file():
        name, text, overrides = first, Path(first).read_text(encoding="utf-8"), rest[1:]
    elif any(w.endswith(".py") for w in rest):
        import shlex
        name, text, overrides = "<command>", shlex.join(rest), []
    else:
        print(f"bookkit check-config: {first}: no such file (give a YAML file, `-` for standard input, "
              "or a `uv run examples/run_*.py ...` command)", file=sys.stderr)
        return 2
    try:
        result = check(text, build_from(Path(opts["data"])), opts["release"], overrides)
    except InputError as exc:
        where = f":{exc.line}" + (f":{exc.column}" if exc.column else "") if exc.line else ""
        print(f"{name}{where}: {exc}", file=sys.stderr)
        return 2
    if opts["json"]:
        print(json.dumps(result, indent=1, default=str))
    else:
        for f in result["findings"]:
            where = f":{f['line']}" if f["line"] else ""
            where += f":{f['column']}" if f["line"] and f["column"] else ""
            print(f"{name}{where}: {f['severity']} [{f['kind']}] {f['message']}")
        errors = sum(f["severity"] == "error" for f in result["findings"])
        notes = len(result["findings"]) - errors
        print(f"{errors} error(s), {notes} note(s) against NeMo RL {result['release']}")
    return 1 if any(f["severity"] == "error" for f in result["findings"]) else 0
