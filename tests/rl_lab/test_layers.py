"""rl_lab's modules form layers: each imports only its own layer and the ones below, never one above.

Reading order for a learner is bottom-up, and nothing low can reach something high
(building a policy cannot train a checkpoint; evaluation cannot fetch a model).
Every import counts, also those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rl_lab

SRC = Path(rl_lab.__file__).parent
LAYERS: list[tuple[str, set[str]]] = [
    ("foundations", {"profiles", "config", "outcomes", "tokenizer", "environments", "checkpoint"}),
    ("building blocks", {"data", "models", "generation", "losses", "advantages", "dapo", "logger"}),
    ("model and measurement", {"policy", "evaluation", "rollouts"}),
    ("the shared loop", {"loop"}),
    ("algorithms", {"sft", "dpo", "grpo", "grpo_batch", "distillation", "rm", "ppo", "opd"}),
    ("orchestration", {"model_cache", "run", "train", "widgets", "__init__"}),
]
RANK = {module: i for i, (_, modules) in enumerate(LAYERS) for module in modules}


def imported_rl_lab_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rl_lab"):
            parts = node.module.split(".")
            names.add(parts[1] if len(parts) > 1 else None)
            if len(parts) == 1:
                names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("rl_lab."))
    return {n for n in names if n in RANK}


def top_level(path: Path) -> str:
    """The module or subpackage of rl_lab a file belongs to (``config`` for ``config/loader.py``)."""
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def test_every_module_has_a_layer():
    modules = {top_level(p) for p in SRC.rglob("*.py")}
    assert modules == set(RANK), f"place these modules in a layer: {sorted(modules - set(RANK))}; " \
                                 f"remove these: {sorted(set(RANK) - modules)}"


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        here = top_level(path)
        for name in sorted(imported_rl_lab_modules(path)):
            if RANK[name] > RANK[here]:
                upward.append(f"rl_lab.{here} ({LAYERS[RANK[here]][0]}) imports rl_lab.{name} "
                              f"({LAYERS[RANK[name]][0]})")
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_the_check_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "policy.py"
    probe.write_text("def f():\n    from rl_lab.model_cache import get_checkpoint\n")
    assert imported_rl_lab_modules(probe) == {"model_cache"}
