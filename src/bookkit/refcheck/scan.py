"""Reference scanning for :mod:`bookkit.refcheck` (pure functions, no Sphinx).

:class:`Index` answers "is this name in the manifest, and if not, what is the
closest known one"; :func:`scan` walks a page's text line by line and returns
one :class:`Finding` per unknown reference.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator

import yaml

from bookkit.core.suggest import closest

IGNORE_MARK = "refcheck: ignore"
OFF_MARK, ON_MARK = "refcheck: off", "refcheck: on"
RECIPE_RE = re.compile(r"^\s*#\s*recipe:\s*(\S+)")
DOTTED_RE = re.compile(r"(?<![\w/.\-])nemo_rl(?:\.[A-Za-z_]\w*)+")
FROM_IMPORT_RE = re.compile(r"^\s*from\s+(nemo_rl(?:\.\w+)*)\s+import\s+([\w\s,]+?)\s*(?:#.*)?$")
PATH_RE = re.compile(r"(?<![\w/.\-])(?:\./)?((?:examples|tools|nemo_rl)/[\w./\-]*)")
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(\{[\w-]+\})?\s*([\w+-]*)")
INLINE_OVERRIDE_RE = re.compile(r"`\+{0,2}([A-Za-z_][\w\-]*(?:\.[\w\-]+)+)=[^`]*`")
OVERRIDE_RE = re.compile(r"^(\+{0,2}|~)([A-Za-z_][\w\-]*(?:\.[\w\-]+)+)=")


@dataclass(frozen=True)
class Finding:
    line: int       # 1-based line in the page source
    kind: str       # "name", "path", "config", "key"; bookkit.refcheck.facts adds more
    name: str       # the unknown reference as written
    suggestion: str | None
    context: str = ""  # e.g. the config a key was checked against

    def message(self, tag: str) -> str:
        if self.kind not in ("name", "path", "config", "key"):
            from bookkit.refcheck.facts import message  # worker, flag, override, reexport
            return message(self, tag)
        what = {"name": "NeMo RL name", "path": "NeMo RL path",
                "config": "NeMo RL config file", "key": "config key"}[self.kind]
        text = f"unknown {what} {self.name!r} (not in the {tag} manifest{self.context})"
        return text + (f"; did you mean {self.suggestion!r}?" if self.suggestion else "")


class Index:
    """Lookup tables built once from the manifest JSON."""

    def __init__(self, manifest: dict[str, Any]):
        self.tag = manifest.get("tag", "?")
        self.modules: dict[str, dict] = manifest.get("modules", {})
        self.configs: dict[str, list[str]] = manifest.get("configs", {})
        self.config_defaults: dict[str, dict[str, Any]] = manifest.get("config_defaults", {})
        self.script_args: dict[str, dict[str, Any]] = manifest.get("script_args", {})
        self.workers: list[str] = manifest.get("workers", [])
        self.namespaces = {p["package"] for p in manifest.get("packages_without_init", [])}
        self.files = set(manifest.get("examples", [])) | set(manifest.get("scripts", []))
        for mod, info in self.modules.items():
            path = mod.replace(".", "/")
            self.files.add(path + ("/__init__.py" if info.get("is_package") else ".py"))

    @cached_property
    def folders(self) -> set[str]:
        out = set()
        for path in self.files:
            parts = path.split("/")
            out.update("/".join(parts[:i]) for i in range(1, len(parts)))
        return out

    @cached_property
    def dotted(self) -> set[str]:
        out = set(self.modules) | self.namespaces
        for mod, info in self.modules.items():
            for kind in ("classes", "functions", "attributes", "reexports"):
                out.update(f"{mod}.{n}" for n in info.get(kind, []))
            for kind in ("methods", "fields"):
                for cls, names in info.get(kind, {}).items():
                    out.update(f"{mod}.{cls}.{n}" for n in names)
        return out

    @cached_property
    def all_keys(self) -> set[str]:
        return {k for keys in self.configs.values() for k in keys}

    def known_name(self, name: str) -> bool:
        return name in self.dotted

    def suggest_name(self, name: str) -> str | None:
        parts = name.split(".")
        # Moved objects: a known name ending with the same trailing components.
        for k in range(len(parts) - 1, 0, -1):
            suffix = "." + ".".join(parts[-k:])
            pool = [d for d in self.dotted if d.endswith(suffix)]
            if pool:
                return closest(name, pool) or sorted(pool)[0]
        # Compare against names at the same depth below the deepest known prefix.
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in self.dotted or cut == 1:
                pool = [d for d in self.dotted if d.startswith(prefix + ".")
                        and d.count(".") == name.count(".")]
                return closest(name, pool) or closest(name, self.dotted)
        return None

    def known_path(self, path: str) -> bool:
        path = path.rstrip("/")
        return path in self.files or path in self.folders

    def suggest_path(self, path: str) -> str | None:
        return closest(path.rstrip("/"), self.files | self.folders)

    def keys_for(self, config: str | None) -> tuple[set[str], str]:
        if config and config in self.configs:
            return set(self.configs[config]), f"; checked against {config}"
        return self.all_keys, "; checked against all configs"

    @cached_property
    def sections(self) -> set[str]:
        return {k for k in self.all_keys if "." not in k}

    @staticmethod
    def known_key(key: str, keys: set[str]) -> bool:
        if key in keys:
            return True
        # Below a leaf (list index, or a section that is null in this config).
        parts = key.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in keys:
                return not any(k.startswith(prefix + ".") for k in keys)
        return False


def _logical_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """Join shell continuation lines (trailing backslash); yield (first line no, text)."""
    buf, start = [], 0
    for no, line in enumerate(lines, 1):
        if not buf:
            start = no
        if line.rstrip().endswith("\\"):
            buf.append(line.rstrip()[:-1])
            continue
        buf.append(line)
        yield start, " ".join(buf)
        buf = []
    if buf:
        yield start, " ".join(buf)


def _config_of(tokens: list[str]) -> str | None:
    for i, tok in enumerate(tokens):
        if tok == "--config" and i + 1 < len(tokens):
            return tokens[i + 1].removeprefix("./")
        if tok.startswith("--config="):
            return tok.split("=", 1)[1].removeprefix("./")
    return None


def tokens_of(text: str) -> list[str]:
    """Shell words of a command line; quoted commands (``COMMAND="uv run ..."``, ray.sub) split too."""
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError:
        tokens = text.split()
    return [t for tok in tokens for t in ([tok] if " " not in tok else tok.split())]


def command_words(text: str) -> list[str] | None:
    """Shell words of one logical line that runs a ``.py`` script or passes ``--config``, else None."""
    if ".py" not in text and "--config" not in text:
        return None
    return tokens_of(text)


def commands(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, words) of every command line the scan checks, minus ignored lines and off regions."""
    lines = text.splitlines()
    for no, logical in _logical_lines(lines):
        words = command_words(logical)
        if words and IGNORE_MARK not in logical and not _in_off(lines, no):
            yield no, words


def _check_command(no: int, text: str, index: Index) -> Iterator[Finding]:
    tokens = command_words(text)
    if tokens is None:
        return
    script = next((t.removeprefix("./") for t in tokens if t.endswith(".py")), None)
    if script in index.script_args and not index.script_args[script]["extra_args"]:
        return  # a script without overrides: bookkit.refcheck.facts reports any key=value
    started = False
    keys, context = index.keys_for(_config_of(tokens))
    for tok in tokens:
        if tok.endswith(".py") or tok.startswith("--config"):
            started = True
            continue
        match = OVERRIDE_RE.match(tok) if started else None
        if not match or match.group(1) in ("+", "++"):
            continue  # "+key=" adds a new key: nothing to check
        key = match.group(2)
        if not Index.known_key(key, keys):
            yield Finding(no, "key", key, closest(key, keys), context)


def _yaml_keys(text: str) -> Iterator[tuple[int, str]]:
    """(line offset, dotted key) for each mapping key in a YAML snippet."""
    def walk(node, prefix):
        if not isinstance(node, yaml.MappingNode):
            return
        pairs = [(k.value, k.start_mark.line, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
        replace = any(k == "_override_" for k, _, _ in pairs)
        for key, line, value in pairs:
            if key in ("defaults", "_override_"):
                continue
            yield line, prefix + key
            if not replace:
                yield from walk(value, prefix + key + ".")
    yield from walk(yaml.compose(text), "")


def _check_recipe_block(start: int, block: list[str], index: Index) -> Iterator[Finding]:
    match = RECIPE_RE.match(block[0]) if block else None
    if not match:
        return
    recipe = match.group(1).removeprefix("./")
    if recipe not in index.configs:
        if not PATH_RE.match(recipe):  # otherwise the line check reports the path
            yield Finding(start, "config", recipe, closest(recipe, index.configs))
        return
    keys, context = index.keys_for(recipe)
    try:
        found = list(_yaml_keys("\n".join(block)))
    except yaml.YAMLError:
        return
    for offset, key in found:
        if IGNORE_MARK not in block[offset] and not Index.known_key(key, keys):
            yield Finding(start + offset, "key", key, closest(key, keys), context)


def _check_line(no: int, line: str, index: Index) -> Iterator[Finding]:
    names = {m.group(0) for m in DOTTED_RE.finditer(line)}
    imp = FROM_IMPORT_RE.match(line)
    if imp:
        names |= {f"{imp.group(1)}.{n.strip()}" for n in imp.group(2).split(",") if n.strip()}
    for name in sorted(names):
        if not index.known_name(name):
            yield Finding(no, "name", name, index.suggest_name(name))
    if ".py" not in line and "--config" not in line:  # commands are checked as a whole
        for m in INLINE_OVERRIDE_RE.finditer(line):
            key = m.group(1)
            if m.group(0).startswith("`+") or key.split(".", 1)[0] not in index.sections:
                continue  # an added key, or not a NeMo RL config key (e.g. a Python attribute)
            if not Index.known_key(key, index.all_keys):
                yield Finding(no, "key", key, closest(key, index.all_keys), "; checked against all configs")
    for m in PATH_RE.finditer(line):
        path = m.group(1).rstrip(".,:;")
        if path.startswith("nemo_rl/") and not (path.endswith(".py") or path.endswith("/")):
            continue  # data files inside the package are not in the manifest
        if not index.known_path(path):
            kind = "config" if path.endswith((".yaml", ".yml")) else "path"
            yield Finding(no, kind, path, index.suggest_path(path))


def scan(text: str, index: Index) -> list[Finding]:
    """Every unknown reference in a page's text (Markdown, or notebook cells joined)."""
    lines = text.splitlines()
    findings: list[Finding] = []
    skip = {no for no, line in enumerate(lines, 1) if IGNORE_MARK in line}
    off = False
    fence: tuple[str, str, int, list[str]] | None = None  # (marker, lang, start, body)
    for no, line in enumerate(lines, 1):
        if OFF_MARK in line:
            off = True
        elif ON_MARK in line:
            off = False
        match = FENCE_RE.match(line)
        if fence is None and match:
            fence = (match.group(2), match.group(4).lower(), no + 1, [])
        elif fence is not None and line.strip().startswith(fence[0]) and not line.strip().strip(fence[0][0]):
            marker, lang, start, body = fence
            while body and body[0].lstrip().startswith(":"):  # directive options
                body, start = body[1:], start + 1
            if lang in ("yaml", "yml") and not off:
                findings += _check_recipe_block(start, body, index)
            fence = None
            continue
        elif fence is not None:
            fence[3].append(line)
        if not off and no not in skip:
            findings += _check_line(no, line, index)
    from bookkit.refcheck.facts import check_command, check_listings

    for no, text_ in _logical_lines(lines):
        findings += [f for f in _check_command(no, text_, index) if f.line not in skip]
        findings += [f for f in check_command(no, text_, index) if f.line not in skip]
    findings += check_listings(lines, index)
    findings = [f for f in findings if f.line not in skip and not _in_off(lines, f.line)]
    return sorted(set(findings), key=lambda f: (f.line, f.kind, f.name))


def _in_off(lines: list[str], line_no: int) -> bool:
    state = False
    for line in lines[:line_no]:
        if OFF_MARK in line:
            state = True
        elif ON_MARK in line:
            state = False
    return state
