"""What a loaded recipe is made of: plain dicts, a stable hash, and the NeMo RL keys it presents."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from typing import Any


def dataclass_in(tp: Any) -> type | None:
    """The dataclass inside a field type (``X`` or ``X | None``), else None.

    Examples:
        >>> from rl_lab.config.sections import EnvConfig, MathEnvConfig
        >>> import typing
        >>> dataclass_in(typing.get_type_hints(EnvConfig)["math"]) is MathEnvConfig
        True
    """
    if dataclasses.is_dataclass(tp):
        return tp
    for arg in typing.get_args(tp):
        if dataclasses.is_dataclass(arg):
            return arg
    return None

def to_dict(cfg: Any) -> dict[str, Any]:
    """Converts a recipe (or any section) to plain nested dicts.

    Args:
        cfg: A config dataclass instance.

    Returns:
        A JSON-serialisable nested dict.

    Examples:
        >>> from rl_lab.config.sections import LoggerConfig
        >>> to_dict(LoggerConfig())
        {'log_dir': 'logs'}
    """
    return dataclasses.asdict(cfg)


def config_hash(cfg: Any, length: int = 12) -> str:
    """A short stable hash of a config, used to key cached checkpoints.

    Args:
        cfg: A config dataclass instance.
        length: Number of hex characters to keep.

    Returns:
        Hex digest prefix.

    Examples:
        >>> from rl_lab.config.sections import LoggerConfig
        >>> config_hash(LoggerConfig()) == config_hash(LoggerConfig())
        True
    """
    blob = json.dumps(to_dict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def _leaf_keys(obj: Any, prefix: str) -> list[str]:
    out: list[str] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = prefix + f.name
        if dataclasses.is_dataclass(value):
            out.extend(_leaf_keys(value, path + "."))
        elif value is None and dataclass_in(f.type if not isinstance(f.type, str) else typing.get_type_hints(type(obj))[f.name]):
            continue  # an absent optional sub-section (e.g. env.math in the puzzle recipe)
        else:
            out.append(path)
    return out


def nemo_rl_keys(cfg: Any) -> list[str]:
    """Every dotted key rl_lab presents as a NeMo RL key (all but ``rl_lab.*``).

    Args:
        cfg: A loaded recipe.

    Returns:
        Sorted dotted key paths, e.g. ``"loss_fn.ratio_clip_min"``.

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> keys = nemo_rl_keys(load_recipe("grpo_math"))
        >>> "loss_fn.ratio_clip_min" in keys and not any(k.startswith("rl_lab.") for k in keys)
        True
    """
    return sorted(k for k in _leaf_keys(cfg, "") if not k.startswith("rl_lab."))
