"""The training loop every algorithm shares: resume, steps, validation, checkpoints, metrics.

NeMo RL's ``sft_train``, ``dpo_train`` and ``grpo_train`` each run the same
skeleton around their own step; rl_lab writes it once. An algorithm file
(:mod:`rl_lab.sft`, :mod:`rl_lab.dpo`, :mod:`rl_lab.grpo`) builds its data and
its step function, describes itself in a :class:`Loop`, and calls :func:`run`,
which

1. resumes from the newest checkpoint in ``checkpointing.checkpoint_dir`` when
   ``checkpointing.enabled`` (weights, optimizer, RNG state and metric history,
   plus any extra models such as GRPO's frozen reference);
2. validates at step 0 (``<algo>.val_at_start``), every ``<algo>.val_period``
   steps and at the end (``<algo>.val_at_end``), never twice at one step;
3. saves a checkpoint every ``checkpointing.save_period`` steps and at the end;
4. logs every row through :class:`rl_lab.logger.MetricLogger`.

Micro-batch metrics are combined by :class:`MetricAccumulator`: losses divide
their means by the *global* token or sample count (NeMo RL's
``global_valid_toks`` / ``global_valid_seqs``), so the metrics of the
micro-batches of one optimizer step add up to the global-batch value.

Examples:
    >>> acc = MetricAccumulator()
    >>> acc.add({"loss": 0.25, "probs_ratio_min": 0.9}); acc.add({"loss": 0.5, "probs_ratio_min": 0.8})
    >>> acc.result()  # sums of pre-normalised means; the minimum of minima
    {'loss': 0.75, 'probs_ratio_min': 0.8}
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model
from tqdm.auto import tqdm

from rl_lab.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from rl_lab.config import to_dict
from rl_lab.logger import MetricLogger, TrainResult
from rl_lab.policy import Policy

Metrics = dict[str, float]


class MetricAccumulator:
    """Combines the metrics of the micro-batches of one optimizer step.

    Keys ending in ``_min`` keep the minimum and keys ending in ``_max`` the
    maximum; every other metric is added, because each micro-batch reports it
    already divided by the global count (its *share* of the global-batch mean).
    """

    def __init__(self) -> None:
        self._values: Metrics = {}

    def add(self, metrics: Metrics) -> None:
        """Adds one micro-batch's metrics."""
        for key, value in metrics.items():
            if key not in self._values:
                self._values[key] = value
            elif key.endswith("_min"):
                self._values[key] = min(self._values[key], value)
            elif key.endswith("_max"):
                self._values[key] = max(self._values[key], value)
            else:
                self._values[key] += value

    def result(self) -> Metrics:
        """The combined metrics (a copy)."""
        return dict(self._values)


def mean_over_steps(per_step: list[Metrics]) -> Metrics:
    """Averages metrics over several optimizer steps (extremes: min of ``_min``, max of ``_max``).

    Examples:
        >>> mean_over_steps([{"loss": 1.0, "x_max": 2.0}, {"loss": 3.0, "x_max": 5.0}])
        {'loss': 2.0, 'x_max': 5.0}
    """
    out: Metrics = {}
    for key in per_step[0]:
        values = [m[key] for m in per_step]
        pick = min if key.endswith("_min") else max if key.endswith("_max") else None
        out[key] = pick(values) if pick else sum(values) / len(values)
    return out


@dataclass
class Loop:
    """What an algorithm hands to :func:`run`.

    Attributes:
        name: ``sft``, ``dpo`` or ``grpo`` (progress bar label).
        section: The algorithm's config section (``max_num_steps``, ``val_period``,
            ``val_at_start``, ``val_at_end``).
        max_steps: Steps to run (at most ``section.max_num_steps``).
        train_step: ``step -> metrics`` for 0-based ``step``; takes one step.
        validate: ``() -> metrics`` on held-out data.
        postfix: Metric shown on the progress bar.
        extra_models: Models saved once beside the checkpoints and restored on
            resume (GRPO's and DPO's frozen reference).
        after_step: Optional ``step -> bool``, called after each step's
            validation and checkpoint; True stops training (SFT's target).
    """

    name: str
    section: Any
    max_steps: int
    train_step: Callable[[int], Metrics]
    validate: Callable[[], Metrics]
    postfix: str
    extra_models: dict[str, torch.nn.Module] = field(default_factory=dict)
    after_step: Callable[[int], bool] | None = None


def save(cfg: Any, policy: Policy, step: int, logger: MetricLogger, extra_models: dict[str, torch.nn.Module]) -> Path:
    """Saves a resumable checkpoint; extra models are written once beside the step folders.

    Returns:
        The step folder.
    """
    optimizer = policy.optimizer if cfg.checkpointing.save_optimizer else None
    path = save_checkpoint(cfg.checkpointing.checkpoint_dir, step, policy.model, optimizer, to_dict(cfg),
                           {"history": logger.history})
    for name, model in extra_models.items():
        if not (path.parent / f"{name}.safetensors").exists():
            save_model(model, str(path.parent / f"{name}.safetensors"))
    return path


def resume(cfg: Any, policy: Policy, logger: MetricLogger, extra_models: dict[str, torch.nn.Module]) -> int:
    """Loads the newest checkpoint when checkpointing is enabled; returns the step to continue from."""
    ckpt = cfg.checkpointing
    last = latest_checkpoint(ckpt.checkpoint_dir) if ckpt.enabled else None
    if last is None:
        return 0
    for name, model in extra_models.items():
        if (last.parent / f"{name}.safetensors").exists():
            load_model(model, str(last.parent / f"{name}.safetensors"))
    state = load_checkpoint(last, policy.model, policy.optimizer)
    logger.history = state["history"]
    return int(state["step"])


def run(cfg: Any, policy: Policy, loop: Loop, logger: MetricLogger, progress: bool | None,
        started: float) -> TrainResult:
    """Runs ``loop`` to its end and returns the model, its history and the last validation.

    Args:
        cfg: The recipe (``checkpointing``, ``rl_lab.progress``).
        policy: The policy being trained.
        loop: The algorithm's description.
        logger: Where rows go (its history is replaced on resume).
        progress: Show a tqdm bar (None: ``rl_lab.progress``).
        started: ``time.perf_counter()`` when the trainer started (for ``wall_time_s``).

    Returns:
        A :class:`rl_lab.logger.TrainResult`.
    """
    ckpt = cfg.checkpointing
    step = resume(cfg, policy, logger, loop.extra_models)
    final: Metrics = {}
    validated_at = None

    def validation() -> Metrics:
        nonlocal validated_at
        validated_at = step
        metrics = loop.validate()
        logger.log(metrics, step, "val")
        return metrics

    if loop.section.val_at_start and step == 0:
        final = validation()
    show = cfg.rl_lab.progress if progress is None else progress
    bar = tqdm(total=loop.section.max_num_steps, initial=step, desc=loop.name, disable=not show)
    while step < loop.max_steps:
        metrics = loop.train_step(step)
        step += 1
        logger.log(metrics, step, "train")
        bar.update(1)
        bar.set_postfix({loop.postfix: f"{metrics[loop.postfix]:.3f}"})
        if loop.section.val_period > 0 and step % loop.section.val_period == 0 and step < loop.max_steps:
            final = validation()
        if ckpt.enabled and step % ckpt.save_period == 0:
            save(cfg, policy, step, logger, loop.extra_models)
        if loop.after_step is not None and loop.after_step(step):
            break
    bar.close()
    if loop.section.val_at_end and validated_at != step:
        final = validation()
    if ckpt.enabled:
        save(cfg, policy, step, logger, loop.extra_models)
    logger.refresh()
    return TrainResult(policy.model, logger.history, final, ckpt.checkpoint_dir if ckpt.enabled else None,
                       time.perf_counter() - started)
