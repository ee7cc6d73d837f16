"""NeMo RL's dotted ``key=value`` overrides, parsed as YAML scalars."""

from __future__ import annotations

from typing import Any

import yaml

from rl_lab.config.errors import ConfigError

def parse_override(text: str) -> tuple[str, Any]:
    """Parses one NeMo RL style ``key=value`` override.

    Args:
        text: For example ``"grpo.num_prompts_per_step=8"``; leading ``+``
            characters (Hydra's add markers) are ignored.

    Returns:
        The dotted key and the value parsed as a YAML scalar.

    Raises:
        ConfigError: If the text has no ``=``.

    Examples:
        >>> parse_override("loss_fn.ratio_clip_c=null")
        ('loss_fn.ratio_clip_c', None)
        >>> parse_override("policy.optimizer.kwargs.lr=3e-4")
        ('policy.optimizer.kwargs.lr', 0.0003)
    """
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (source: override)")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else ""
    if isinstance(value, str):
        # YAML 1.1 reads "3e-4" as a string; accept it as a float.
        try:
            value = float(value) if any(c in value for c in "eE.") and not value.isalpha() else value
        except ValueError:
            pass
    return key.lstrip("+").strip(), value


def set_dotted(tree: dict, key: str, value: Any) -> None:
    """Sets ``tree[a][b][c] = value`` for ``key == "a.b.c"``, creating dicts."""
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value
