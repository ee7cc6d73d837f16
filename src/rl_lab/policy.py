"""The pieces every trainer shares: seeding, building the policy, one optimizer step.

NeMo RL hides these behind a ``Policy`` worker group (``nemo_rl.models.policy``);
rl_lab keeps them as small functions so each trainer file reads top to bottom.

Examples:
    >>> from rl_lab.config import load_recipe
    >>> policy = build_policy(load_recipe("sft_addition"))
    >>> type(policy.optimizer).__name__
    'AdamW'
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rl_lab.config import ConfigError, OptimizerConfig, PolicyConfig
from rl_lab.models import build_model
from rl_lab.profiles import get_profile
from rl_lab.tokenizer import CharTokenizer

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "torch.optim.AdamW": torch.optim.AdamW,
    "torch.optim.Adam": torch.optim.Adam,
    "torch.optim.SGD": torch.optim.SGD,
}


@dataclass
class Policy:
    """A model with its tokenizer, optimizer and device.

    Attributes:
        model: The causal LM being trained.
        tokenizer: The rl_lab tokenizer.
        optimizer: Optimizer over ``model.parameters()``.
        device: Torch device string.

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> build_policy(load_recipe("sft_addition")).device
        'cpu'
    """

    model: torch.nn.Module
    tokenizer: CharTokenizer  # or rl_lab.tokenizer.HFTokenizer (same interface)
    optimizer: torch.optim.Optimizer
    device: str


def set_seed(seed: int) -> None:
    """Seeds Python, NumPy and torch.

    Args:
        seed: The seed.

    Examples:
        >>> set_seed(0); a = torch.rand(1); set_seed(0); bool(a == torch.rand(1))
        True
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(model: torch.nn.Module, cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """Builds ``policy.optimizer.name`` with ``policy.optimizer.kwargs``.

    Args:
        model: Model whose parameters are optimised.
        cfg: The optimizer section.

    Returns:
        The optimizer.

    Raises:
        ValueError: For an optimizer name rl_lab does not know.

    Examples:
        >>> make_optimizer(torch.nn.Linear(2, 2), OptimizerConfig()).defaults["lr"]
        0.001
    """
    if cfg.name not in OPTIMIZERS:
        raise ValueError(f"policy.optimizer.name={cfg.name!r}; choose one of {sorted(OPTIMIZERS)}")
    kwargs: dict[str, Any] = {"lr": cfg.kwargs.lr, "weight_decay": cfg.kwargs.weight_decay}
    if cfg.name != "torch.optim.SGD":
        kwargs.update(betas=tuple(cfg.kwargs.betas), eps=cfg.kwargs.eps)
    return OPTIMIZERS[cfg.name](model.parameters(), **kwargs)


def build_policy(recipe: Any, model: torch.nn.Module | None = None, profile: str | None = None) -> Policy:
    """Builds tokenizer, model (fresh, cached or given) and optimizer for a recipe.

    Args:
        recipe: A loaded SFT/DPO/GRPO recipe.
        model: Start from a copy of this model (e.g. a cached checkpoint; the model
            passed in is not changed); None builds a fresh random one.
        profile: Profile name (None: resolve automatically).

    Returns:
        A :class:`Policy`.

    Raises:
        ConfigError: ``rl_lab.init_checkpoint`` names a starting model but ``model``
            is None (building a policy never fetches or trains a checkpoint; see
            :func:`rl_lab.run.starting_model`).

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> p = build_policy(load_recipe("grpo_math", overrides=["rl_lab.init_checkpoint=null"]))
        >>> p.model.training
        True
    """
    prof = get_profile(profile)
    device = prof.device if (prof.device != "cuda" or torch.cuda.is_available()) else "cpu"
    if recipe.policy.model_name != "rl_lab/tiny":
        # full profile with a Hugging Face model id (needs internet; documented, untested)
        from rl_lab.models import load_pretrained
        from rl_lab.tokenizer import HFTokenizer

        hf_model = model or load_pretrained(recipe.policy.model_name, recipe.policy.precision, device)
        return Policy(hf_model, HFTokenizer(recipe.policy.model_name), make_optimizer(hf_model, recipe.policy.optimizer), device)
    tokenizer = CharTokenizer()
    if model is None and recipe.rl_lab.init_checkpoint:
        name = recipe.rl_lab.init_checkpoint
        raise ConfigError(
            f"rl_lab.init_checkpoint={name!r} names a starting model, but none was passed: pass it, e.g. "
            f"model=get_checkpoint({name!r}) (rl_lab.model_cache), train with rl_lab.run.train(...), which "
            f"does that, or set rl_lab.init_checkpoint=null to start from random weights"
        )
    if model is None:
        policy_cfg: PolicyConfig = recipe.policy
        model = build_model(recipe.rl_lab.model, tokenizer.vocab_size, seed=_seed_of(recipe), dtype=policy_cfg.precision, device=device)
    else:
        model = copy.deepcopy(model)  # train a copy: the caller's model (e.g. a cached start) stays as it was
    model = model.to(device).train()
    return Policy(model, tokenizer, make_optimizer(model, recipe.policy.optimizer), device)


def _seed_of(recipe: Any) -> int:
    """The algorithm section's seed (``sft.seed``, ``dpo.seed``, ``rm.seed``, ``grpo.seed``, ``distillation.seed`` or ``ppo.seed``)."""
    for section in ("sft", "dpo", "rm", "grpo", "distillation", "ppo"):
        if hasattr(recipe, section):
            return getattr(recipe, section).seed
    return 0


def optimizer_step(policy: Policy, max_grad_norm: float | None) -> float:
    """Clips gradients (if ``policy.max_grad_norm``), steps and zeroes them.

    Args:
        policy: The policy whose gradients are populated.
        max_grad_norm: Clip threshold or None.

    Returns:
        The gradient norm before clipping.

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> p = build_policy(load_recipe("sft_addition"))
        >>> optimizer_step(p, 1.0)
        0.0
    """
    params = [p for p in policy.model.parameters() if p.grad is not None]
    if max_grad_norm is not None and params:
        norm = float(torch.nn.utils.clip_grad_norm_(params, max_grad_norm))
    else:
        norm = float(torch.sqrt(sum((p.grad.float() ** 2).sum() for p in params))) if params else 0.0
    policy.optimizer.step()
    policy.optimizer.zero_grad(set_to_none=True)
    return norm
