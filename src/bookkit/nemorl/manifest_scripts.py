"""Command-line facts of a NeMo RL checkout for :mod:`bookkit.nemorl.manifest`, read with :mod:`ast`.

``script_args``
    ``{script path: {"flags": [...], "positionals": N, "extra_args": bool}}`` for every
    Python file under ``examples/`` and ``tools/`` that builds an :mod:`argparse` parser:
    the option strings of its ``add_argument`` calls (``--help`` always included), how
    many positional arguments it declares, and whether it accepts arguments it does not
    declare (``parse_known_args``, ``argparse.REMAINDER`` or a ``*``/``+`` positional:
    ``run_grpo.py`` passes them on as ``key=value`` config overrides). Abbreviations are
    left to the checker (argparse accepts a unique prefix unless ``allow_abbrev=False``,
    recorded as ``"abbrev": false``).
``workers``
    every worker name NeMo RL's Nsight profiling matches ``NRL_NSYS_WORKER_PATTERNS``
    against: the string given to ``get_nsight_config_if_pattern_matches`` or
    ``get_runtime_env_for_policy_worker`` anywhere in ``nemo_rl/``.

Examples:
    >>> facts = script_args('import argparse\\np = argparse.ArgumentParser()\\n'
    ...                     'p.add_argument("--config", "-c")\\np.add_argument("path")\\np.parse_args()\\n')
    >>> facts["flags"], facts["positionals"], facts["extra_args"]
    (['--config', '--help', '-c', '-h'], 1, False)
    >>> worker_names('x = get_runtime_env_for_policy_worker("megatron_policy_worker")')
    ['megatron_policy_worker']
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

WORKER_FUNCTIONS = ("get_nsight_config_if_pattern_matches", "get_runtime_env_for_policy_worker")
SCRIPT_DIRS = ("examples", "tools")


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _strings(args: list[ast.expr]) -> list[str]:
    return [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def script_args(source: str) -> dict[str, Any] | None:
    """The argparse facts of one script, or None when it builds no parser."""
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    adds = [c for c in calls if _call_name(c) == "add_argument"]
    if not adds:
        return None
    flags, positionals, extra = {"-h", "--help"}, 0, False
    for call in adds:
        names = _strings(call.args)
        options = [n for n in names if n.startswith("-")]
        flags.update(options)
        if names and not options:
            positionals += 1
            nargs = next((k.value for k in call.keywords if k.arg == "nargs"), None)
            if isinstance(nargs, ast.Constant) and nargs.value in ("*", "+", "..."):
                extra = True
            if isinstance(nargs, ast.Attribute) and nargs.attr == "REMAINDER":
                extra = True
    if any(_call_name(c) == "parse_known_args" for c in calls):
        extra = True
    facts: dict[str, Any] = {"flags": sorted(flags), "positionals": positionals, "extra_args": extra}
    for call in calls:
        if _call_name(call) == "ArgumentParser":
            for kw in call.keywords:
                if kw.arg == "allow_abbrev" and isinstance(kw.value, ast.Constant) and kw.value.value is False:
                    facts["abbrev"] = False
    return facts


def worker_names(source: str) -> list[str]:
    """Worker names given to NeMo RL's Nsight helpers in one module."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _call_name(node) in WORKER_FUNCTIONS:
            out.update(_strings(node.args[:1]))
    return sorted(out)


def scan(src: Path) -> dict[str, Any]:
    """``{"script_args": ..., "workers": ...}`` for a checkout (files that do not parse are skipped)."""
    scripts: dict[str, Any] = {}
    for folder in SCRIPT_DIRS:
        for path in sorted((src / folder).rglob("*.py")) if (src / folder).is_dir() else []:
            try:
                facts = script_args(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError):
                continue
            if facts is not None:
                scripts[path.relative_to(src).as_posix()] = facts
    workers: set[str] = set()
    for path in sorted((src / "nemo_rl").rglob("*.py")):
        try:
            workers.update(worker_names(path.read_text(encoding="utf-8")))
        except (SyntaxError, UnicodeDecodeError):
            continue
    return {"script_args": scripts, "workers": sorted(workers)}
