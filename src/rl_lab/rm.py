"""Bradley-Terry reward-model training on (prompt, chosen, rejected) pairs.

The loop mirrors ``nemo_rl.algorithms.rm`` (``examples/run_rm.py``) in miniature:
the starting causal LM becomes a sequence classifier with one output
(``policy.reward_model_cfg.enabled``, :func:`rl_lab.models.reward_model_from_lm`);
each step scores the chosen and the rejected conversation of every pair and
minimises :func:`rl_lab.losses.bradley_terry_loss`, the negative log-likelihood
that the chosen one wins. The pairs come from :func:`rl_lab.data.reward_model_pairs`:
the exact sum is chosen; the rejected answer is a near miss (DPO's pairs), another
number or a malformed reply, so the model learns to tell right answers from wrong
ones without ever being shown the rule.

Training runs ``min(rm.max_num_epochs * steps_per_epoch, rm.max_num_steps)`` steps
(``max_num_steps: -1``: no step limit), an epoch being the training pairs divided
by ``policy.train_global_batch_size`` (rounded down), as NeMo RL counts them.

Examples:
    >>> r = train_rm(overrides=["rm.max_num_steps=1", "rm.val_at_start=false", "rm.val_at_end=false",
    ...                         "rl_lab.init_checkpoint=null",
    ...                         "logger.log_dir=null"], progress=False)
    >>> "train/accuracy" in r.history[0], type(r.model).__name__
    (True, 'LlamaForSequenceClassification')
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import torch

from rl_lab.config import ConfigError, RMRecipe, load_recipe
from rl_lab.data import BatchedDataDict, load_task, reward_model_pairs
from rl_lab.data.messages import Datum  # the defining module: the API pages link the alias
from rl_lab.dpo import preference_batch
from rl_lab.environments import sequence_scores
from rl_lab.logger import MetricLogger, TrainResult
from rl_lab.loop import Loop, MetricAccumulator, run
from rl_lab.losses import bradley_terry_loss
from rl_lab.models import reward_model_from_lm
from rl_lab.policy import Policy, build_policy, optimizer_step, set_seed
from rl_lab.profiles import configure_threads
from rl_lab.sft import batch_indices

VAL_METRICS = ("loss", "accuracy", "rewards_chosen_mean", "rewards_rejected_mean", "num_valid_samples")


def rm_steps(cfg: RMRecipe, num_pairs: int) -> int:
    """Steps a run takes: ``min(max_num_epochs * (num_pairs // train_global_batch_size), max_num_steps)``.

    Raises:
        ConfigError: If one global batch needs more pairs than there are.

    Examples:
        >>> cfg = load_recipe("rm_addition")
        >>> rm_steps(cfg, 640), rm_steps(cfg, 9_500)  # one epoch (max_num_steps: -1): 640 // 64 = 10, 9500 // 64 = 148
        (10, 148)
    """
    per_epoch = num_pairs // cfg.policy.train_global_batch_size
    if per_epoch == 0:
        raise ConfigError(f"policy.train_global_batch_size={cfg.policy.train_global_batch_size} is larger than the "
                          f"{num_pairs} training pairs: lower it or enlarge the task")
    epochs = cfg.rm.max_num_epochs * per_epoch
    return epochs if cfg.rm.max_num_steps < 0 else min(epochs, cfg.rm.max_num_steps)


def pair_scores(model: torch.nn.Module, batch: BatchedDataDict, pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores the chosen and the rejected conversation of each pair in one forward pass.

    Args:
        model: The reward model.
        batch: Output of :func:`rl_lab.dpo.preference_batch` (``[B, T]`` ids each).
        pad_token_id: The padding id.

    Returns:
        ``([B] chosen scores, [B] rejected scores)``.
    """
    n = batch["chosen_input_ids"].shape[0]
    scores = sequence_scores(model, torch.cat([batch["chosen_input_ids"], batch["rejected_input_ids"]]), pad_token_id)
    return scores[:n], scores[n:]


def rm_step(policy: Policy, batch: BatchedDataDict, cfg: RMRecipe) -> dict[str, float]:
    """One optimizer step over a global batch of pairs (micro-batches divided by the global pair count).

    Returns:
        The metrics of :func:`rl_lab.losses.bradley_terry_loss` for the global batch, plus ``grad_norm``.
    """
    totals = MetricAccumulator()
    for micro in batch.shard_by_batch_size(cfg.policy.train_micro_batch_size):
        chosen, rejected = pair_scores(policy.model, micro.to(policy.device), policy.tokenizer.pad_token_id)
        loss, metrics = bradley_terry_loss(chosen, rejected, global_valid_pairs=float(batch.size))
        loss.backward()
        totals.add(metrics)
    return {**totals.result(), "grad_norm": optimizer_step(policy, cfg.policy.max_grad_norm)}


@torch.no_grad()
def validate_rm(model: torch.nn.Module, val_pairs: BatchedDataDict, cfg: RMRecipe, pad_token_id: int) -> dict[str, float]:
    """Held-out loss, preference accuracy and mean scores (NeMo RL's RM validation metrics).

    Scores ``rm.val_batches`` batches (-1: all) of ``rm.val_global_batch_size`` pairs,
    ``rm.val_micro_batch_size`` pairs per forward pass; the metrics are means over all
    scored pairs, ``num_valid_samples`` their number.
    """
    was_training = model.training
    model.eval()
    gbs = cfg.rm.val_global_batch_size
    batches = -(-val_pairs.size // gbs) if cfg.rm.val_batches < 0 else cfg.rm.val_batches
    count = min(val_pairs.size, batches * gbs)
    totals = MetricAccumulator()
    for micro in val_pairs.select_indices(list(range(count))).shard_by_batch_size(cfg.rm.val_micro_batch_size):
        chosen, rejected = pair_scores(model, micro.to(next(model.parameters()).device), pad_token_id)
        totals.add(bradley_terry_loss(chosen, rejected, global_valid_pairs=float(count))[1])
    model.train(was_training)
    metrics = totals.result()
    metrics["num_valid_samples"] = float(count)
    return {k: metrics[k] for k in VAL_METRICS}


def rm_val_pairs(cfg: RMRecipe) -> list[Datum]:
    """The held-out pairs :func:`train_rm` validates on (the task's held-out problems, seed ``rm.seed + 1``).

    Examples:
        >>> pairs = rm_val_pairs(load_recipe("rm_addition"))
        >>> len(pairs), sorted(pairs[0])
        (500, ['chosen', 'kind', 'prompt', 'rejected', 'task'])
    """
    return reward_model_pairs(load_task(cfg.rl_lab.task)[1], cfg.rm.seed + 1)


@torch.no_grad()
def pair_accuracy(model: torch.nn.Module, pairs: list[Datum], tokenizer: Any, key: str = "kind") -> dict[str, float]:
    """Share of pairs whose chosen reply the reward model scores higher, per value of ``pair[key]`` and overall.

    Args:
        model: The reward model.
        pairs: Datums with ``prompt``, ``chosen``, ``rejected`` and ``key``.
        tokenizer: The reward model's tokenizer.
        key: The field to group by.

    Returns:
        ``{group: accuracy, ..., "all": accuracy}`` (a tie is not a win).
    """
    was_training = model.training
    model.eval()
    chosen, rejected = pair_scores(model, preference_batch(pairs, tokenizer), tokenizer.pad_token_id)
    model.train(was_training)
    wins: dict[str, list[bool]] = {}
    for pair, win in zip(pairs, (chosen > rejected).tolist()):
        wins.setdefault(str(pair[key]), []).append(win)
    out = {group: sum(w) / len(w) for group, w in sorted(wins.items())}
    out["all"] = float((chosen > rejected).float().mean()) if pairs else 0.0
    return out


def train_rm(
    recipe: RMRecipe | str = "rm_addition",
    overrides: list[str] | tuple[str, ...] = (),
    model: torch.nn.Module | None = None,
    progress: bool | None = None,
    live_plot: bool | None = None,
    profile: str | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Trains a Bradley-Terry reward model for a recipe (resuming from ``checkpointing.checkpoint_dir`` if enabled).

    Args:
        recipe: A loaded :class:`rl_lab.config.recipes.RMRecipe` or a recipe name (with
            ``overrides``, as for :func:`rl_lab.sft.train_sft`).
        model: The causal LM (or reward model) to start from (a recipe with
            ``rl_lab.init_checkpoint`` needs one: :func:`rl_lab.run.train` passes it);
            None builds a fresh one. It is not changed.
        progress: As for :func:`rl_lab.sft.train_sft` (and ``live_plot``, ``profile``, ``callback``).

    Returns:
        A :class:`rl_lab.logger.TrainResult` whose ``model`` is the reward model;
        ``final_metrics`` as in :func:`validate_rm`.

    Raises:
        ConfigError: If ``policy.reward_model_cfg.enabled`` is false (this trainer only trains reward models).
    """
    cfg = load_recipe(recipe, overrides, profile) if isinstance(recipe, str) else recipe
    if not cfg.policy.reward_model_cfg.enabled:
        raise ConfigError("policy.reward_model_cfg.enabled=false: RM training needs the scalar head; set it to true "
                          "(NeMo RL: 'loads model as a Reward Model (do not change)')")
    configure_threads()
    started = time.perf_counter()
    if model is None and not cfg.rl_lab.init_checkpoint:
        model = build_policy(cfg, None, profile).model  # a fresh LM with the recipe's size and seed
    policy = build_policy(cfg, reward_model_from_lm(model, 0, cfg.rm.seed) if model is not None else None, profile)
    set_seed(cfg.rm.seed)  # after build_policy: a cold model cache (training) must not shift the RNG
    pad = policy.tokenizer.pad_token_id
    if policy.model.config.pad_token_id != pad:
        policy.model.config.pad_token_id = pad
    train = load_task(cfg.rl_lab.task)[0]
    train_pairs = preference_batch(reward_model_pairs(train, cfg.rm.seed), policy.tokenizer)
    val_pairs = preference_batch(rm_val_pairs(cfg), policy.tokenizer)
    max_steps = rm_steps(cfg, train_pairs.size)
    logger = MetricLogger(cfg.logger.log_dir, live=live_plot, live_keys=["train/loss", "val/accuracy"], callback=callback)

    def train_step(step: int) -> dict[str, float]:
        idx = batch_indices(step, cfg.policy.train_global_batch_size, train_pairs.size, cfg.rm.seed, cfg.data.shuffle)
        return rm_step(policy, train_pairs.select_indices(idx), cfg)

    section = dataclasses.replace(cfg.rm, max_num_steps=max_steps)  # the step count the loop and its bar show
    loop = Loop("rm", section, max_steps, train_step, lambda: validate_rm(policy.model, val_pairs, cfg, pad), "accuracy")
    return run(cfg, policy, loop, logger, progress, started)
