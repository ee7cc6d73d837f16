"""Running a recipe end to end: resolve its starting model, then train or evaluate.

This is the one module above the algorithms. The trainers
(:func:`rl_lab.sft.train_sft`, :func:`rl_lab.dpo.train_dpo`,
:func:`rl_lab.grpo.train_grpo`) take the model to start from as an argument and
never fetch one themselves; :func:`rl_lab.evaluation.evaluate_accuracy` scores a
model it is given. Here, ``rl_lab.init_checkpoint`` is turned into that model
(:func:`starting_model`, which trains a cached checkpoint on first use through
:mod:`rl_lab.model_cache`), and :func:`train` and :func:`evaluate_recipe` are
the one-call versions of NeMo RL's ``examples/run_*.py`` scripts. The command
line ``python -m rl_lab.train`` calls them.

Examples:
    >>> cfg = load_recipe("sft_addition", profile="smoke")
    >>> starting_model(cfg) is None  # SFT starts from random weights
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from rl_lab.config import GRPORecipe, load_recipe
from rl_lab.data import load_task
from rl_lab.distillation import train_distillation
from rl_lab.dpo import train_dpo
from rl_lab.rm import train_rm
from rl_lab.evaluation import evaluate_accuracy
from rl_lab.grpo import train_grpo
from rl_lab.logger import TrainResult
from rl_lab.model_cache import get_checkpoint
from rl_lab.ppo import train_ppo
from rl_lab.sft import train_sft
from rl_lab.tokenizer import CharTokenizer

TRAINERS: dict[str, Callable[..., TrainResult]] = {"sft": train_sft, "dpo": train_dpo, "grpo": train_grpo,
                                                   "distillation": train_distillation, "rm": train_rm, "ppo": train_ppo}


def starting_model(cfg: Any, profile: str | None = None) -> torch.nn.Module | None:
    """The model a recipe starts from: the cached checkpoint named by ``rl_lab.init_checkpoint``.

    Args:
        cfg: A loaded recipe.
        profile: ``smoke``/``full`` (None: auto).

    Returns:
        The model (trained and cached on first use), or None when the recipe
        names no checkpoint (start from random weights).
    """
    name = cfg.rl_lab.init_checkpoint
    return get_checkpoint(name, profile=profile) if name else None


def train(
    recipe: Any,
    overrides: Sequence[str] = (),
    profile: str | None = None,
    **kwargs: Any,
) -> TrainResult:
    """Trains a recipe with its algorithm (``rl_lab.algorithm``), from its starting model.

    Distillation recipes also get their teacher, the checkpoint ``rl_lab.teacher_checkpoint`` names,
    and GRPO recipes with ``on_policy_distillation.enabled`` the teachers of
    ``on_policy_distillation.teacher_model_by_agent_name`` (cached checkpoints by name).

    Args:
        recipe: A loaded SFT/DPO/GRPO recipe or a recipe name.
        overrides: ``key=value`` overrides (with a recipe name).
        profile: ``smoke``/``full`` (None: auto).
        **kwargs: Passed to the trainer (``progress``, ``live_plot``, ``callback``, ``loss_fn`` ...).

    Returns:
        The trainer's :class:`rl_lab.logger.TrainResult`.

    Raises:
        ValueError: For an evaluation recipe (use :func:`evaluate_recipe`).
    """
    cfg = load_recipe(recipe, overrides, profile) if isinstance(recipe, str) else recipe
    if cfg.rl_lab.algorithm not in TRAINERS:
        raise ValueError(f"{cfg.rl_lab.algorithm!r} recipes are not trained; use rl_lab.run.evaluate_recipe")
    if cfg.rl_lab.algorithm == "distillation" and "teacher" not in kwargs and cfg.rl_lab.teacher_checkpoint:
        kwargs["teacher"] = get_checkpoint(cfg.rl_lab.teacher_checkpoint, profile=profile)
    opd = cfg.on_policy_distillation if isinstance(cfg, GRPORecipe) else None
    if opd is not None and opd.enabled:
        given = dict(kwargs.get("teachers") or {})
        kwargs["teachers"] = {name: given[name] if name in given else get_checkpoint(name, profile=profile)
                              for name in dict.fromkeys(opd.teacher_model_by_agent_name.values())}
    return TRAINERS[cfg.rl_lab.algorithm](cfg, model=starting_model(cfg, profile), profile=profile, **kwargs)


def evaluate_recipe(
    recipe: Any = "eval_addition",
    overrides: Sequence[str] = (),
    model: torch.nn.Module | None = None,
    profile: str | None = None,
) -> dict[str, float]:
    """Runs an evaluation recipe: pass@k on held-out problems (NeMo RL's ``run_eval.py``).

    Args:
        recipe: A loaded :class:`rl_lab.config.recipes.EvalRecipe` or a recipe name.
        overrides: ``key=value`` overrides (with a recipe name).
        model: Model to evaluate (default: the one ``rl_lab.init_checkpoint`` names).
        profile: ``smoke``/``full`` (None: auto).

    Returns:
        ``{"accuracy", "pass@<k>"}`` as in :func:`rl_lab.evaluation.evaluate_accuracy`.

    Raises:
        ValueError: If neither ``model`` nor ``rl_lab.init_checkpoint`` is given,
            or ``eval.k_value`` exceeds ``eval.num_tests_per_prompt``.
    """
    cfg = load_recipe(recipe, overrides, profile) if isinstance(recipe, str) else recipe
    if cfg.eval.k_value > cfg.eval.num_tests_per_prompt:
        raise ValueError("eval.k_value must be <= eval.num_tests_per_prompt")
    model = model if model is not None else starting_model(cfg, profile)
    if model is None:
        raise ValueError("pass a model or set rl_lab.init_checkpoint")
    _, val = load_task(cfg.rl_lab.task)
    return evaluate_accuracy(
        model,
        CharTokenizer(),
        val,
        max_new_tokens=cfg.generation.max_new_tokens,
        num_samples=cfg.eval.num_tests_per_prompt,
        k=cfg.eval.k_value,
        temperature=cfg.generation.temperature,
        seed=cfg.eval.seed,
    )
