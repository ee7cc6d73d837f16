"""Named starting checkpoints, defined by a measured target and cached on disk.

Notebooks often need a model that is "already half good" -- for example GRPO
starts from an SFT model whose sampled answers are right about half the time.
Such a model is defined by what it must be, not by how many steps it took: the
floating-point kernels a CPU uses (AVX-512, AVX2, ARM NEON ...) change a training
trajectory, so a fixed number of steps lands at different accuracies on different
machines. Each entry of :data:`CHECKPOINTS` therefore names an SFT recipe and a
:class:`rl_lab.config.rl_lab_only.TargetConfig`: :func:`get_checkpoint` trains until the
held-out measurement enters the target band (with the recipe's
``sft.max_num_steps`` as the cap, an error when hit), saves the weights with
``safetensors`` and reloads them afterwards.

The cache lives in ``$RL_LAB_CACHE`` (default ``~/.cache/rl_lab``). An entry's
key contains its name, the profile and a hash of the full recipe including the
target, so changing either (or rl_lab's cache version) trains a new entry instead
of reusing a stale one. ``info.json`` beside the weights records the measured
value, the steps taken and the machine's numerics (torch version, CPU kernel
level, threads); an entry whose recorded value is outside its band is retrained.

Examples:
    >>> sorted(CHECKPOINTS)
    ['sft-addition', 'sft-addition-50pct', 'sft-addition-teacher', 'sft-puzzle-moves']
    >>> CHECKPOINTS["sft-addition-50pct"].target.metric
    'sampled_accuracy'
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from rl_lab.config import SFTRecipe, TargetConfig, config_hash, load_recipe
from rl_lab.models import build_model
from rl_lab.profiles import get_profile
from rl_lab.tokenizer import CharTokenizer

CACHE_ENV = "RL_LAB_CACHE"
CACHE_VERSION = "2"


@dataclass(frozen=True)
class CacheEntry:
    """How to produce a named checkpoint: an SFT recipe, overrides and the target it must reach.

    Attributes:
        recipe: Recipe name.
        overrides: ``key=value`` overrides applied to it (``sft.max_num_steps`` is the cap).
        target: What the checkpoint must measure on held-out problems.
        description: One line for humans.
        profile_overrides: Further overrides per profile name, applied after ``overrides``
            (a teacher must stay larger than the student in every profile).

    Examples:
        >>> CHECKPOINTS["sft-addition-50pct"].recipe
        'sft_addition'
        >>> CHECKPOINTS["sft-addition-50pct"].target.contains(0.45)
        True
    """

    recipe: str
    overrides: tuple[str, ...]
    target: TargetConfig
    description: str
    profile_overrides: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


_QUIET = ("logger.log_dir=null", "checkpointing.enabled=false", "rl_lab.progress=false", "sft.val_period=0",
          "sft.val_at_end=false")

CHECKPOINTS: dict[str, CacheEntry] = {
    "sft-addition": CacheEntry(
        "sft_addition",
        (*_QUIET, "sft.max_num_steps=3000"),
        TargetConfig("greedy_accuracy", low=0.9, high=1.0, check_period=50),
        "SFT on 2-digit addition until greedy answers to held-out problems are >= 90% right",
    ),
    "sft-addition-50pct": CacheEntry(
        "sft_addition",
        (*_QUIET, "rl_lab.task.label_noise=0.5", "sft.max_num_steps=3000"),
        TargetConfig("sampled_accuracy", low=0.40, high=0.50, check_period=25),
        "SFT on addition data whose answers are wrong half the time, until answers sampled at "
        "temperature 1 are right 40-50% of the time on held-out problems (GRPO/DPO/evaluation start)",
    ),
    "sft-addition-teacher": CacheEntry(
        "sft_addition",
        (*_QUIET, "sft.max_num_steps=2000"),
        TargetConfig("sampled_accuracy", low=0.85, high=1.0, check_period=25),
        "SFT of a model twice as wide as the student (four times its weights) on clean addition until "
        "answers sampled at temperature 1 are >= 85% right on held-out problems (the distillation teacher)",
        {"smoke": ("rl_lab.model.hidden_size=128", "rl_lab.model.intermediate_size=512", "policy.optimizer.kwargs.lr=2e-3"),
         "full": ("rl_lab.model.hidden_size=1024", "rl_lab.model.num_heads=16", "rl_lab.model.intermediate_size=4096",
                  "policy.optimizer.kwargs.lr=1e-3")},
    ),
    "sft-puzzle-moves": CacheEntry(
        "sft_puzzle_moves",
        (*_QUIET, "sft.max_num_steps=1500"),
        TargetConfig("legal_move_rate", low=0.95, high=1.0, check_period=25),
        "SFT on random legal sliding-puzzle moves until >= 95% of sampled moves are legal "
        "(format only; sliding-puzzle GRPO start)",
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
    extra = entry.profile_overrides.get(get_profile(profile).name, ())
    cfg = load_recipe(entry.recipe, (*entry.overrides, *extra), profile)
    return dataclasses.replace(cfg, rl_lab=dataclasses.replace(cfg.rl_lab, target=entry.target))


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
    """Returns a named starting model, training it to its target and caching it on first use.

    Args:
        name: Key of :data:`CHECKPOINTS`, e.g. ``"sft-addition-50pct"``.
        profile: Profile name (None: auto).
        retrain: Ignore an existing cache entry.
        progress: Show a progress bar while training.

    Returns:
        The model (train mode) on the profile's device.

    Raises:
        KeyError: For an unknown checkpoint name.
        rl_lab.sft.TargetNotReachedError: The target was not reached within the
            step cap; the message names the checkpoint, its band and the measurements.
    """
    from rl_lab.sft import TargetNotReachedError, train_sft

    prof = get_profile(profile)
    cfg = checkpoint_recipe(name, prof.name)
    path = checkpoint_path(name, prof.name)
    weights = path / "model.safetensors"
    device = prof.device if (prof.device != "cuda" or torch.cuda.is_available()) else "cpu"
    info = checkpoint_info(name, prof.name)
    if weights.exists() and not retrain and _meets_target(info, cfg.rl_lab.target):
        model = build_model(cfg.rl_lab.model, CharTokenizer().vocab_size, dtype=cfg.policy.precision, device=device)
        load_model(model, str(weights), device=device)
        return model.train()
    try:
        result = train_sft(cfg, progress=progress, live_plot=False, profile=prof.name)
    except TargetNotReachedError as err:
        err.add_note(f"while training the cached checkpoint {name!r} ({CHECKPOINTS[name].description}); "
                     f"its cap and target are set in rl_lab.model_cache.CHECKPOINTS")
        raise
    path.mkdir(parents=True, exist_ok=True)
    save_model(result.model, str(weights))
    target = cfg.rl_lab.target
    info = {
        "name": name,
        "target": dataclasses.asdict(target),
        "measured": result.final_metrics[target.metric],
        "steps": int(result.final_metrics["steps"]),
        "final_metrics": result.final_metrics,
        "wall_time_s": result.wall_time_s,
        "numerics": numerics(),
    }
    (path / "info.json").write_text(json.dumps(info, indent=1))
    return result.model.train()


def numerics() -> dict[str, str | int]:
    """What decides this machine's floating-point results: torch version, CPU kernel level, threads.

    Returns:
        ``{"torch", "cpu_capability", "threads"}``; ``cpu_capability`` is what torch
        dispatches to (``AVX512``, ``AVX2``, ``DEFAULT``, ...; ``ATEN_CPU_CAPABILITY``
        lowers it).

    Examples:
        >>> sorted(numerics())
        ['cpu_capability', 'threads', 'torch']
    """
    return {
        "torch": torch.__version__.split("+")[0],
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
    }


def _meets_target(info: dict | None, target: TargetConfig) -> bool:
    """Whether a cache entry's ``info.json`` records a value inside its target band."""
    return bool(info) and isinstance(info.get("measured"), (int, float)) and target.contains(info["measured"])


def checkpoint_info(name: str, profile: str | None = None) -> dict | None:
    """What was recorded when a cached checkpoint was trained (None if not cached).

    Args:
        name: Key of :data:`CHECKPOINTS`.
        profile: Profile name (None: auto).

    Returns:
        The ``info.json`` contents: ``target``, ``measured`` (the target metric's
        value when training stopped), ``steps``, ``final_metrics``,
        ``wall_time_s`` and ``numerics``; or None.

    Examples:
        >>> import os, tempfile, unittest.mock
        >>> with unittest.mock.patch.dict(os.environ, {"RL_LAB_CACHE": tempfile.mkdtemp()}):
        ...     checkpoint_info("sft-addition", "smoke") is None  # an empty cache holds nothing
        True
    """
    info = checkpoint_path(name, profile) / "info.json"
    return json.loads(info.read_text()) if info.exists() else None
