"""Loading a recipe: YAML with line numbers, profile and user overrides, type-checked into dataclasses."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Union

import yaml

from rl_lab.config.errors import ConfigError
from rl_lab.config.keys import dataclass_in
from rl_lab.config.overrides import parse_override, set_dotted
from rl_lab.config.recipes import RECIPE_TYPES, Recipe

RECIPE_DIR = Path(__file__).resolve().parent.parent / "recipes"


def list_recipes() -> list[str]:
    """Names of the recipes shipped in ``rl_lab/recipes``.

    Returns:
        Sorted recipe names (file stems).

    Examples:
        >>> "grpo_math" in list_recipes()
        True
    """
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def _yaml_lines(text: str) -> dict[str, int]:
    """Maps each dotted key of a YAML document to its 1-based line number."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = f"{prefix}{key_node.value}"
                lines[path] = key_node.start_mark.line + 1
                walk(value_node, path + ".")

    root = yaml.compose(text)
    if root is not None:
        walk(root, "")
    return lines


def _valid_paths(cls: type, prefix: str = "") -> list[str]:
    """All dotted key paths accepted by a recipe dataclass."""
    out: list[str] = []
    for name, tp in typing.get_type_hints(cls).items():
        sub = dataclass_in(tp)
        out.append(prefix + name)
        if sub is not None:
            out.extend(_valid_paths(sub, f"{prefix}{name}."))
    return out


class _Builder:
    """Turns a nested dict into a recipe dataclass, checking keys and types."""

    def __init__(self, recipe_cls: type, sources: dict[str, str]) -> None:
        self.valid = _valid_paths(recipe_cls)
        self.sources = sources

    def where(self, path: str) -> str:
        if path in self.sources:
            return self.sources[path]
        # An unknown section created by an override (``policy.dtensor_cfg.x=1``): name that override.
        below = [source for key, source in self.sources.items() if key.startswith(path + ".")]
        return below[-1] if below else "default"

    def build(self, cls: type, data: Any, prefix: str) -> Any:
        if not isinstance(data, dict):
            raise ConfigError(
                f"{prefix.rstrip('.') or '<root>'}: expected a mapping (section {cls.__name__}), "
                f"got {data!r} (source: {self.where(prefix.rstrip('.'))})"
            )
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for key, value in data.items():
            path = prefix + str(key)
            if key not in hints:
                close = difflib.get_close_matches(path, self.valid, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise ConfigError(f"unknown config key {path} (source: {self.where(path)}){hint}")
            kwargs[key] = self.value(hints[key], value, path)
        try:
            return cls(**kwargs)
        except ConfigError as err:  # a section that checks its own values (e.g. TargetConfig)
            raise ConfigError(f"{err} (source: {self.where(prefix.rstrip('.'))})") from None

    def value(self, tp: Any, value: Any, path: str) -> Any:
        sub = dataclass_in(tp)
        optional = type(None) in typing.get_args(tp)
        if value is None and optional:
            return None
        if sub is not None:
            return self.build(sub, value, path + ".")
        return self.scalar(tp, value, path)

    def scalar(self, tp: Any, value: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (Union, types.UnionType):
            if value is None and type(None) in args:
                return None
            inner = [a for a in args if a is not type(None)]
            return self.scalar(inner[0], value, path)
        if origin is tuple:
            if not isinstance(value, (list, tuple)):
                self.fail(path, "a list", value)
            return tuple(self.scalar(args[0], v, path) for v in value)
        if tp is bool:
            if not isinstance(value, bool):
                self.fail(path, "bool (true/false)", value)
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(path, "int", value)
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(path, "float", value)
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                self.fail(path, "str", value)
            return value
        return value

    def fail(self, path: str, expected: str, value: Any) -> None:
        raise ConfigError(
            f"config key {path} expects {expected}, got {value!r} "
            f"({type(value).__name__}) (source: {self.where(path)})"
        )


def _recipe_path(name_or_path: str | Path) -> Path:
    """Resolves a recipe name (``grpo_math``) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    candidate = RECIPE_DIR / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    close = difflib.get_close_matches(str(name_or_path), list_recipes(), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ConfigError(f"unknown recipe {name_or_path!r}; available: {list_recipes()}{hint}")


def load_recipe(
    name_or_path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    profile: str | None = None,
) -> Recipe:
    """Loads a recipe, applies profile and user overrides, returns a frozen config.

    Args:
        name_or_path: A shipped recipe name (see :func:`list_recipes`) or a path
            to a YAML file.
        overrides: NeMo RL style ``key=value`` strings, applied last.
        profile: ``smoke`` or ``full``; None picks one with
            :func:`rl_lab.profiles.resolve_profile`. The profile's own
            overrides (model size, precision) are applied before ``overrides``.

    Returns:
        A :class:`~rl_lab.config.recipes.SFTRecipe`, :class:`~rl_lab.config.recipes.DPORecipe`,
        :class:`~rl_lab.config.recipes.GRPORecipe` or :class:`~rl_lab.config.recipes.EvalRecipe`,
        chosen by ``rl_lab.algorithm``.

    Raises:
        ConfigError: Unknown recipe, unknown key or wrongly typed value.

    Examples:
        >>> cfg = load_recipe("sft_addition", overrides=["sft.max_num_steps=3"])
        >>> cfg.sft.max_num_steps
        3
    """
    from rl_lab.profiles import get_profile

    path = _recipe_path(name_or_path)
    text = path.read_text()
    tree = yaml.safe_load(text) or {}
    sources = {k: f"{path.name}:{line}" for k, line in _yaml_lines(text).items()}
    algorithm = tree.get("rl_lab", {}).get("algorithm", "sft")
    if algorithm not in RECIPE_TYPES:
        raise ConfigError(
            f"rl_lab.algorithm={algorithm!r} is not one of {sorted(RECIPE_TYPES)} "
            f"(source: {sources.get('rl_lab.algorithm', path.name)})"
        )
    recipe_cls = RECIPE_TYPES[algorithm]
    prof = get_profile(profile)
    tagged = [(o, f"profile {prof.name}") for o in prof.overrides_for(recipe_cls)]
    tagged += [(o, f"override {o!r}") for o in overrides]
    for text_override, source in tagged:
        key, value = parse_override(text_override)
        set_dotted(tree, key, value)
        sources[key] = source
    cfg = _Builder(recipe_cls, sources).build(recipe_cls, tree, "")
    return _offset_seed(cfg, algorithm, explicit=f"{algorithm}.seed" in {parse_override(o)[0] for o in overrides})


def _offset_seed(cfg: Any, section: str, explicit: bool) -> Any:
    """Adds ``$RL_LAB_SEED_OFFSET`` to the algorithm section's seed (not to a seed given as an override).

    The offset exists to measure how much a tutorial's result depends on its random
    draw (``benchmarks/bench_outcome_spread.py`` runs every notebook under two seeds);
    the task's data seed is left alone, so the held-out problems stay the same.
    """
    from rl_lab.profiles import seed_offset

    offset = seed_offset()
    if not offset or explicit:
        return cfg
    algo = getattr(cfg, section)
    return dataclasses.replace(cfg, **{section: dataclasses.replace(algo, seed=algo.seed + offset)})
