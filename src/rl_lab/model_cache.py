"""Named starting checkpoints, trained once (seeded) and cached on disk.

Notebooks often need a model that is "already half good" -- for example GRPO
starts from an SFT model that solves about half of the held-out additions.
:func:`get_checkpoint` trains such a model the first time (deterministically,
from a fixed recipe and seed) and reloads it from ``safetensors`` afterwards.

The cache lives in ``$RL_LAB_CACHE`` (default ``~/.cache/rl_lab``). An entry's
key contains its name, the profile and a hash of the full recipe, so changing
the recipe (or rl_lab's cache version) makes stale entries retrain instead of
being reused.

Examples:
    >>> sorted(CHECKPOINTS)[:2]
    ['sft-addition', 'sft-addition-50pct']
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from rl_lab.config import SFTRecipe, config_hash, load_recipe
from rl_lab.models import build_model
from rl_lab.profiles import get_profile
from rl_lab.tokenizer import CharTokenizer

CACHE_ENV = "RL_LAB_CACHE"
CACHE_VERSION = "1"


@dataclass(frozen=True)
class CacheEntry:
    """How to produce a named checkpoint: an SFT recipe plus overrides.

    Attributes:
        recipe: Recipe name.
        overrides: ``key=value`` overrides applied to it.
        description: One line for humans.

    Examples:
        >>> CHECKPOINTS["sft-addition-50pct"].recipe
        'sft_addition'
    """

    recipe: str
    overrides: tuple[str, ...]
    description: str


_QUIET = ("logger.log_dir=null", "checkpointing.enabled=false", "rl_lab.progress=false")

CHECKPOINTS: dict[str, CacheEntry] = {
    "sft-addition": CacheEntry("sft_addition", _QUIET, "SFT on 2-digit addition to >= 90% held-out accuracy"),
    "sft-addition-50pct": CacheEntry(
        "sft_addition",
        (*_QUIET, "rl_lab.task.label_noise=0.5", "sft.val_period=0"),
        "SFT on addition data whose answers are wrong half the time: samples are right ~50% of the time (GRPO/DPO start)",
    ),
    "sft-puzzle-moves": CacheEntry(
        "sft_puzzle_moves", _QUIET, "SFT on random legal sliding-puzzle moves (format only; sliding-puzzle GRPO start)"
    ),
}


def cache_dir() -> Path:
    """The cache directory (``$RL_LAB_CACHE`` or ``~/.cache/rl_lab``).

    Returns:
        The directory path (not created).

    Examples:
        >>> isinstance(cache_dir(), Path)
        True
    """
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rl_lab")


def checkpoint_recipe(name: str, profile: str | None = None) -> SFTRecipe:
    """The recipe that produces a named checkpoint.

    Args:
        name: Key of :data:`CHECKPOINTS`.
        profile: Profile name (None: auto).

    Returns:
        The loaded recipe.

    Raises:
        KeyError: For an unknown checkpoint name.

    Examples:
        >>> checkpoint_recipe("sft-addition").rl_lab.algorithm
        'sft'
    """
    if name not in CHECKPOINTS:
        raise KeyError(f"unknown checkpoint {name!r}; available: {sorted(CHECKPOINTS)}")
    entry = CHECKPOINTS[name]
    return load_recipe(entry.recipe, entry.overrides, profile)


def checkpoint_path(name: str, profile: str | None = None) -> Path:
    """Where a named checkpoint is (or will be) cached.

    Args:
        name: Key of :data:`CHECKPOINTS`.
        profile: Profile name (None: auto).

    Returns:
        ``<cache>/<name>-<profile>-<hash>/``.

    Examples:
        >>> checkpoint_path("sft-addition", "smoke").name.startswith("sft-addition-smoke-")
        True
    """
    prof = get_profile(profile).name
    cfg = checkpoint_recipe(name, prof)
    return cache_dir() / f"{name}-{prof}-{CACHE_VERSION + config_hash(cfg)}"


def get_checkpoint(name: str, profile: str | None = None, retrain: bool = False, progress: bool = False) -> torch.nn.Module:
    """Returns a named starting model, training and caching it on first use.

    Args:
        name: Key of :data:`CHECKPOINTS`, e.g. ``"sft-addition-50pct"``.
        profile: Profile name (None: auto).
        retrain: Ignore an existing cache entry.
        progress: Show a progress bar while training.

    Returns:
        The model (train mode) on the profile's device.

    Raises:
        KeyError: For an unknown checkpoint name.

    Examples:
        >>> callable(get_checkpoint)
        True
    """
    from rl_lab.sft import train_sft

    prof = get_profile(profile)
    cfg = checkpoint_recipe(name, prof.name)
    path = checkpoint_path(name, prof.name)
    weights = path / "model.safetensors"
    device = prof.device if (prof.device != "cuda" or torch.cuda.is_available()) else "cpu"
    if weights.exists() and not retrain:
        model = build_model(cfg.rl_lab.model, CharTokenizer().vocab_size, dtype=cfg.policy.precision, device=device)
        load_model(model, str(weights), device=device)
        return model.train()
    result = train_sft(cfg, progress=progress, live_plot=False, profile=prof.name)
    path.mkdir(parents=True, exist_ok=True)
    save_model(result.model, str(weights))
    info = {"name": name, "final_metrics": result.final_metrics, "wall_time_s": result.wall_time_s}
    (path / "info.json").write_text(json.dumps(info, indent=1))
    return result.model.train()


def checkpoint_info(name: str, profile: str | None = None) -> dict | None:
    """Metrics recorded when a cached checkpoint was trained (None if not cached).

    Args:
        name: Key of :data:`CHECKPOINTS`.
        profile: Profile name (None: auto).

    Returns:
        The ``info.json`` contents or None.

    Examples:
        >>> checkpoint_info("sft-addition", "smoke") is None or True
        True
    """
    info = checkpoint_path(name, profile) / "info.json"
    return json.loads(info.read_text()) if info.exists() else None
