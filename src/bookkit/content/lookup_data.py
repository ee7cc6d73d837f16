"""The book's lookup tables (metrics glossary, error lookup): load and validate (pure, no Sphinx).

``book/_data/metrics.yml`` lists the metrics NeMo RL logs and ``book/_data/errors.yml`` the
error messages it raises; :mod:`bookkit.content.lookup` renders them. Both files are checked here
with the line of every problem (:class:`LookupFileError`: file, line, key and the fix), and
:func:`source_problems` checks them against a NeMo RL checkout: a metric key, prefix or
error message that the source no longer contains is reported.

Examples:
    >>> data = parse_metrics("prefixes: {train: []}\\nsections:\\n- title: T\\n  algorithms: [sft]\\n"
    ...                      "  metrics:\\n  - {name: train/loss, sources: [a.py], unit: u, meaning: m, healthy: h}\\n")
    >>> m = data.metrics[0]
    >>> m.name, m.prefix, m.key, m.algorithms, m.anchor, m.line
    ('train/loss', 'train', 'loss', ('sft',), 'metric-train-loss', 6)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ALGORITHMS = ("sft", "dpo", "grpo")
METRIC_FIELDS = ("name", "sources", "unit", "meaning", "healthy")
ERROR_FIELDS = ("message", "sources", "when", "cause", "fix", "page")


class LookupFileError(ValueError):
    """A malformed lookup file; the message names file, line, key and the fix."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that records each mapping's line as ``__line__`` (1-based)."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    data = loader.construct_mapping(node, deep=True)
    data["__line__"] = node.start_mark.line + 1
    return data


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def anchor(prefix: str, name: str) -> str:
    return prefix + "-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass(frozen=True)
class Metric:
    name: str
    prefix: str
    key: str
    algorithms: tuple[str, ...]
    sources: tuple[str, ...]
    unit: str
    meaning: str
    healthy: str
    notebooks: tuple[tuple[str, str], ...]  # (docname, rl_lab metric)
    section: str
    line: int

    @property
    def anchor(self) -> str:
        return anchor("metric", self.name)


@dataclass(frozen=True)
class ErrorEntry:
    message: str
    sources: tuple[str, ...]
    when: str
    cause: str
    fix: str
    page: str
    line: int

    @property
    def anchor(self) -> str:
        return anchor("error", self.message)[:80].rstrip("-")


@dataclass
class MetricsData:
    prefixes: dict[str, list[dict[str, Any]]]
    sections: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)


def _load(text: str, path: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise LookupFileError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}); "
                              "fix the indentation or quoting there") from None


def _require(entry: dict, fields: tuple[str, ...], path: str, what: str) -> None:
    line = entry.get("__line__", "?")
    for key in fields:
        value = entry.get(key)
        if value in (None, "", []):
            raise LookupFileError(f"{path}:{line}: {what} has no {key!r}; add it")
        if key == "sources" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise LookupFileError(f"{path}:{line}: {what}: 'sources' must be a list of NeMo RL file paths")


def parse_metrics(text: str, path: str = "metrics.yml") -> MetricsData:
    data = _load(text, path)
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise LookupFileError(f"{path}:1: expected a mapping with 'prefixes' and a list 'sections'")
    prefixes = {k: v for k, v in (data.get("prefixes") or {}).items() if k != "__line__"}
    out = MetricsData(prefixes)
    seen: dict[str, int] = {}
    for section in data["sections"]:
        title = section.get("title")
        if not title:
            raise LookupFileError(f"{path}:{section.get('__line__', '?')}: section has no 'title'; add it")
        out.sections.append(section)
        for entry in section.get("metrics") or []:
            _require(entry, METRIC_FIELDS, path, f"metric {entry.get('name', '?')!r}")
            name, line = entry["name"], entry["__line__"]
            if name in seen:
                raise LookupFileError(f"{path}:{line}: metric {name!r} is listed twice (first on line {seen[name]}); "
                                      "keep one entry")
            seen[name] = line
            prefix = max((p for p in prefixes if name.startswith(p + "/")), key=len, default=None)
            if prefix is None:
                raise LookupFileError(f"{path}:{line}: metric {name!r} starts with no prefix of 'prefixes' "
                                      f"({', '.join(prefixes)}); add its prefix there")
            algorithms = tuple(entry.get("algorithms") or section.get("algorithms") or ())
            if not algorithms or not set(algorithms) <= set(ALGORITHMS):
                raise LookupFileError(f"{path}:{line}: metric {name!r}: 'algorithms' must be some of "
                                      f"{', '.join(ALGORITHMS)} (on the metric or its section)")
            notebooks = []
            for nb in entry.get("notebooks") or []:
                if not (isinstance(nb, dict) and nb.get("page") and nb.get("as")):
                    raise LookupFileError(f"{path}:{nb.get('__line__', line) if isinstance(nb, dict) else line}: "
                                          f"metric {name!r}: each notebook needs 'page' and 'as'")
                notebooks.append((nb["page"], nb["as"]))
            out.metrics.append(Metric(
                name, prefix, entry.get("key") or name[len(prefix) + 1:], algorithms, tuple(entry["sources"]),
                str(entry["unit"]), str(entry["meaning"]), str(entry["healthy"]), tuple(notebooks), title, line))
    return out


def parse_errors(text: str, path: str = "errors.yml") -> list[ErrorEntry]:
    data = _load(text, path)
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        raise LookupFileError(f"{path}:1: expected a mapping with a list 'errors'")
    out: list[ErrorEntry] = []
    for entry in data["errors"]:
        _require(entry, ERROR_FIELDS, path, f"error {entry.get('message', '?')!r}")
        out.append(ErrorEntry(str(entry["message"]), tuple(entry["sources"]), str(entry["when"]),
                              str(entry["cause"]), str(entry["fix"]), str(entry["page"]), entry["__line__"]))
    return out


def load_metrics(path: Path) -> MetricsData:
    return parse_metrics(path.read_text(encoding="utf-8"), str(path))


def load_errors(path: Path) -> list[ErrorEntry]:
    return parse_errors(path.read_text(encoding="utf-8"), str(path))


def _squash(text: str) -> str:
    """Source text with Python's implicit string concatenation undone (``"a " "b"`` -> ``"a b"``)."""
    return re.sub(r'"\s*\n\s*f?"', "", re.sub(r"'\s*\n\s*f?'", "", text))


def source_problems(src: Path, metrics: MetricsData | None = None,
                    errors: list[ErrorEntry] | None = None) -> list[str]:
    """What the NeMo RL checkout at ``src`` no longer contains, one line per problem."""
    cache: dict[str, str | None] = {}

    def read(rel: str) -> str | None:
        if rel not in cache:
            path = src / rel
            cache[rel] = _squash(path.read_text(encoding="utf-8")) if path.is_file() else None
        return cache[rel]

    problems = []
    if metrics is not None:
        for prefix, evidence in metrics.prefixes.items():
            for item in evidence or []:
                text = read(item["file"])
                if text is None or item["text"] not in text:
                    problems.append(f"prefix {prefix!r}: {item['file']} no longer contains {item['text']!r}")
        for m in metrics.metrics:
            for rel in m.sources:
                text = read(rel)
                if text is None or f'"{m.key}"' not in text:
                    problems.append(f"metrics.yml:{m.line}: {m.name!r}: {rel} no longer writes the key "
                                    f"\"{m.key}\" (renamed or removed: update or drop the entry)")
    for e in errors or []:
        if not any((read(rel) or "").count(e.message) for rel in e.sources):
            problems.append(f"errors.yml:{e.line}: message {e.message!r} is in none of {', '.join(e.sources)}")
    return problems
