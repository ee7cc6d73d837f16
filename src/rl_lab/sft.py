"""Supervised fine-tuning: maximise the likelihood of reference answers.

The loop mirrors ``nemo_rl.algorithms.sft`` in miniature: sample a global batch
(``policy.train_global_batch_size``), split it into micro-batches
(``policy.train_micro_batch_size``), compute :func:`rl_lab.losses.nll_loss` with
a *global* token count so micro-batch gradients add up to the full-batch mean,
clip (``policy.max_grad_norm``), step, and validate every ``sft.val_period``.

Examples:
    >>> result = train_sft("sft_addition", overrides=["sft.max_num_steps=2", "sft.val_at_end=false",
    ...                    "logger.log_dir=null"], progress=False)
    >>> len(result.metric("train/loss"))
    2
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import torch

from rl_lab.config import SFTRecipe, load_recipe
from rl_lab.data import BatchedDataDict, load_task, sft_batch
from rl_lab.data.messages import Datum  # the defining module: the API pages link the alias
from rl_lab.evaluation import evaluate_accuracy, measure_target
from rl_lab.generation import compute_logprobs
from rl_lab.logger import MetricLogger, TrainResult
from rl_lab.loop import Loop, MetricAccumulator, run
from rl_lab.losses import nll_loss
from rl_lab.policy import Policy, build_policy, optimizer_step, set_seed
from rl_lab.profiles import configure_threads


class TargetNotReachedError(RuntimeError):
    """SFT with ``rl_lab.target`` hit its step cap before the measurement entered the band.

    The message names the metric, the band, the cap and the measurements taken,
    and says which keys to change.

    Attributes:
        measurements: ``(step, value)`` pairs, in order.
    """

    def __init__(self, cfg: SFTRecipe, history: list[dict[str, Any]], step: int) -> None:
        target = cfg.rl_lab.target
        key = f"target/{target.metric}"
        self.measurements = [(int(row["step"]), float(row[key])) for row in history if key in row]
        shown = ", ".join(f"step {s}: {v:.3f}" for s, v in self.measurements[-6:]) or "none"
        super().__init__(
            f"rl_lab.target: {target.metric} never entered [{target.low}, {target.high}] within {step} steps "
            f"(cap sft.max_num_steps={cfg.sft.max_num_steps}); last measurements: {shown}. "
            f"Raise sft.max_num_steps, widen rl_lab.target.low/high, or change the learning rate "
            f"(policy.optimizer.kwargs.lr)."
        )


def batch_indices(step: int, batch_size: int, num_items: int, seed: int, shuffle: bool) -> torch.Tensor:
    """Indices of the samples used at ``step`` (a pure function of its inputs).

    Epoch ``e`` walks a permutation seeded by ``seed + e``, so resuming at any
    step needs no saved sampler state.

    Args:
        step: Training step (0-based).
        batch_size: Global batch size.
        num_items: Dataset size.
        seed: Base seed.
        shuffle: ``data.shuffle``; False walks the data in order.

    Returns:
        ``[batch_size]`` long tensor of dataset indices.

    Examples:
        >>> batch_indices(0, 3, 10, seed=0, shuffle=False).tolist()
        [0, 1, 2]
    """
    positions = torch.arange(step * batch_size, (step + 1) * batch_size)
    epochs, offsets = positions // num_items, positions % num_items
    if not shuffle:
        return offsets
    out = torch.empty_like(positions)
    for epoch in epochs.unique().tolist():
        chosen = epochs == epoch
        out[chosen] = _epoch_permutation(num_items, seed + epoch)[offsets[chosen]]
    return out


@functools.lru_cache(maxsize=4)
def _epoch_permutation(num_items: int, seed: int) -> torch.Tensor:
    """The shuffled order of one epoch (cached: it is reused for many steps)."""
    return torch.randperm(num_items, generator=torch.Generator().manual_seed(seed))


def sft_step(policy: Policy, batch: BatchedDataDict, micro_batch_size: int, max_grad_norm: float | None) -> dict[str, float]:
    """One optimizer step of SFT over a global batch.

    Each micro-batch's loss is divided by the global token count, so the
    micro-batch gradients and metrics add up to the global-batch mean.

    Args:
        policy: Model, tokenizer and optimizer.
        batch: ``input_ids`` [B, T] and ``token_mask`` [B, T] (right-padded).
        micro_batch_size: Samples per forward/backward pass.
        max_grad_norm: Gradient clipping threshold.

    Returns:
        ``loss``, ``num_unmasked_tokens``, ``num_valid_samples`` and ``grad_norm``.

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> from rl_lab.data import addition_datum
        >>> policy = build_policy(load_recipe("sft_addition", profile="smoke"))
        >>> batch = sft_batch([addition_datum(1, 2), addition_datum(30, 4)], policy.tokenizer)
        >>> metrics = sft_step(policy, batch, micro_batch_size=1, max_grad_norm=1.0)
        >>> metrics["num_valid_samples"], metrics["num_unmasked_tokens"]  # answers "3<eos>" and "34<eos>"
        (2.0, 5.0)
    """
    total_tokens = batch["token_mask"].sum()
    totals = MetricAccumulator()
    for micro in batch.shard_by_batch_size(micro_batch_size):
        micro = micro.to(policy.device)
        logprobs = compute_logprobs(policy.model, micro["input_ids"])
        loss, metrics = nll_loss(logprobs, micro["token_mask"], global_normalization_factor=total_tokens)
        loss.backward()
        totals.add(metrics)
    return {**totals.result(), "grad_norm": optimizer_step(policy, max_grad_norm)}


@torch.no_grad()
def validate_sft(policy: Policy, val: list[Datum], max_new_tokens: int) -> dict[str, float]:
    """Held-out loss and greedy exact-match accuracy.

    Args:
        policy: The policy.
        val: Held-out datums.
        max_new_tokens: Generation budget.

    Returns:
        ``{"loss", "accuracy"}``.

    Examples:
        >>> from rl_lab.data import addition_datum
        >>> policy = build_policy(load_recipe("sft_addition", profile="smoke"))
        >>> scores = validate_sft(policy, [addition_datum(1, 2), addition_datum(40, 2)], max_new_tokens=3)
        >>> sorted(scores), scores["loss"] > 0
        (['accuracy', 'loss'], True)
    """
    batch = sft_batch(val, policy.tokenizer).to(policy.device)
    loss, _ = nll_loss(compute_logprobs(policy.model, batch["input_ids"]), batch["token_mask"])
    acc = evaluate_accuracy(policy.model, policy.tokenizer, val, max_new_tokens=max_new_tokens)["accuracy"]
    return {"loss": loss.item(), "accuracy": acc}


def train_sft(
    recipe: SFTRecipe | str = "sft_addition",
    overrides: list[str] | tuple[str, ...] = (),
    model: torch.nn.Module | None = None,
    progress: bool | None = None,
    live_plot: bool | None = None,
    profile: str | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Runs SFT for a recipe and returns the trained model and its metric history.

    If ``checkpointing.enabled`` and a checkpoint exists in
    ``checkpointing.checkpoint_dir``, training resumes from it exactly.

    Args:
        recipe: A loaded :class:`rl_lab.config.recipes.SFTRecipe` or a recipe name.
        overrides: ``key=value`` overrides (only used with a recipe name).
        model: Start from this model instead of a fresh one.
        progress: Show a tqdm bar (None: ``rl_lab.progress``).
        live_plot: Live plot in notebooks (None: auto).
        profile: ``smoke``/``full`` (None: auto).
        callback: Called with every logged metric row (e.g. a
            :func:`rl_lab.widgets.training_dashboard` callback).

    With ``rl_lab.target`` set, the model is measured every
    ``rl_lab.target.check_period`` steps (logged as ``target/<metric>``) and
    training stops at the first value inside the band; ``sft.max_num_steps`` is
    then a cap.

    Returns:
        A :class:`rl_lab.logger.TrainResult`; ``final_metrics`` holds the last
        validation ``loss`` and ``accuracy`` (and, with a target, the reached
        ``<metric>`` value and the ``steps`` taken).

    Raises:
        TargetNotReachedError: ``rl_lab.target`` is set and ``sft.max_num_steps``
            (or the epoch limit) came first.

    Examples:
        >>> r = train_sft(overrides=["sft.max_num_steps=1", "sft.val_at_end=false", "logger.log_dir=null"], progress=False)
        >>> r.history[0]["step"]
        1
    """
    cfg = load_recipe(recipe, overrides, profile) if isinstance(recipe, str) else recipe
    configure_threads()
    started = time.perf_counter()
    policy = build_policy(cfg, model, profile)
    set_seed(cfg.sft.seed)  # after build_policy: a cold model cache (training) must not shift the RNG
    train, val = load_task(cfg.rl_lab.task)
    data = sft_batch(train, policy.tokenizer)
    logger = MetricLogger(cfg.logger.log_dir, live=live_plot, live_keys=["train/loss", "val/accuracy"], callback=callback)
    target, reached = cfg.rl_lab.target, {}

    def train_step(step: int) -> dict[str, float]:
        t0 = time.perf_counter()
        idx = batch_indices(step, cfg.policy.train_global_batch_size, data.size, cfg.sft.seed, cfg.data.shuffle)
        batch = data.select_indices(idx)
        width = int(batch["input_lengths"].max())
        batch["input_ids"], batch["token_mask"] = batch["input_ids"][:, :width], batch["token_mask"][:, :width]
        metrics = sft_step(policy, batch, cfg.policy.train_micro_batch_size, cfg.policy.max_grad_norm)
        metrics["tokens_per_sec"] = float(batch["input_lengths"].sum()) / (time.perf_counter() - t0)
        return metrics

    def target_reached(step: int) -> bool:
        if target is None or step % target.check_period:
            return False
        value = measure_target(policy.model, policy.tokenizer, val, target, cfg.rl_lab.eval_max_new_tokens)
        logger.log({target.metric: value}, step, "target")
        if target.contains(value):
            reached.update({target.metric: value, "steps": float(step)})
        return bool(reached)

    max_steps = min(cfg.sft.max_num_steps, cfg.sft.max_num_epochs * data.size // cfg.policy.train_global_batch_size)
    loop = Loop("sft", cfg.sft, max_steps, train_step,
                lambda: validate_sft(policy, val, cfg.rl_lab.eval_max_new_tokens), "loss", after_step=target_reached)
    result = run(cfg, policy, loop, logger, progress, started)
    if target is not None and not reached:
        raise TargetNotReachedError(cfg, logger.history, int(logger.history[-1]["step"]) if logger.history else 0)
    result.final_metrics.update(reached)
    return result
