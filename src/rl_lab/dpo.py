"""Direct Preference Optimization on (prompt, chosen, rejected) triples.

The loop mirrors ``nemo_rl.algorithms.dpo`` in miniature: a frozen copy of the
starting policy is the reference; its log-probs are computed once up front;
each step pushes the policy's log-probability ratio ``logp - logp_ref`` of the
chosen reply above that of the rejected reply, scaled by ``beta =
dpo.reference_policy_kl_penalty`` inside the loss (:func:`rl_lab.losses.dpo_loss`).
The logged rewards are the unscaled ratios, as NeMo RL logs them.

Examples:
    >>> r = train_dpo(overrides=["dpo.max_num_steps=1", "dpo.val_at_start=false", "dpo.val_at_end=false",
    ...                          "rl_lab.init_checkpoint=null", "logger.log_dir=null"], progress=False)
    >>> "train/preference_loss" in r.history[0]
    True
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from rl_lab.config import DPORecipe, DPOSection, load_recipe
from rl_lab.data import BatchedDataDict, build_message_log, load_task, message_logs_to_batch, preference_pairs
from rl_lab.data.messages import Datum  # the defining module: the API pages link the alias
from rl_lab.evaluation import evaluate_accuracy
from rl_lab.grpo import batched_logprobs
from rl_lab.logger import MetricLogger, TrainResult
from rl_lab.loop import Loop, MetricAccumulator, run
from rl_lab.losses import dpo_loss
from rl_lab.policy import Policy, build_policy, optimizer_step, set_seed
from rl_lab.profiles import configure_threads
from rl_lab.sft import batch_indices
from rl_lab.tokenizer import CharTokenizer


def preference_batch(pairs: Sequence[Datum], tokenizer: CharTokenizer) -> BatchedDataDict:
    """Tokenises preference pairs into chosen and rejected tensors of one width.

    Args:
        pairs: Datums from :func:`rl_lab.data.tasks.preference_pairs`.
        tokenizer: The rl_lab tokenizer.

    Returns:
        ``chosen_input_ids``, ``chosen_mask``, ``rejected_input_ids``,
        ``rejected_mask``, all ``[B, T]`` (masks are 1 on reply tokens).

    Examples:
        >>> from rl_lab.data import addition_datum
        >>> b = preference_batch(preference_pairs([addition_datum(1, 2)]), CharTokenizer())
        >>> b["chosen_input_ids"].shape == b["rejected_input_ids"].shape
        True
    """
    both = []
    for key in ("chosen", "rejected"):
        logs = [build_message_log([*p["prompt"], {"role": "assistant", "content": p[key]}], tokenizer) for p in pairs]
        both.append(message_logs_to_batch(logs, tokenizer.pad_token_id))
    width = max(b["input_ids"].shape[1] for b in both)
    pad = lambda t: torch.nn.functional.pad(t, (0, width - t.shape[1]))  # noqa: E731
    return BatchedDataDict(
        chosen_input_ids=pad(both[0]["input_ids"]),
        chosen_mask=pad(both[0]["token_mask"]),
        rejected_input_ids=pad(both[1]["input_ids"]),
        rejected_mask=pad(both[1]["token_mask"]),
    )


def add_reference_logprobs(batch: BatchedDataDict, reference: torch.nn.Module, micro_batch_size: int) -> BatchedDataDict:
    """Adds frozen reference log-probs for chosen and rejected sequences.

    Args:
        batch: Output of :func:`preference_batch`.
        reference: The frozen reference model.
        micro_batch_size: Rows per forward pass.

    Returns:
        The same batch with ``reference_chosen_logprobs`` and ``reference_rejected_logprobs``.

    Examples:
        >>> from rl_lab.data import addition_datum
        >>> from rl_lab.models import build_model
        >>> from rl_lab.config import ModelSizeConfig
        >>> tok = CharTokenizer()
        >>> pairs = preference_batch(preference_pairs([addition_datum(1, 2)]), tok)
        >>> out = add_reference_logprobs(pairs, build_model(ModelSizeConfig(), tok.vocab_size), micro_batch_size=1)
        >>> out["reference_chosen_logprobs"].shape == out["chosen_input_ids"].shape
        True
    """
    for key in ("chosen", "rejected"):
        batch[f"reference_{key}_logprobs"] = batched_logprobs(reference, batch[f"{key}_input_ids"], micro_batch_size)
    return batch


def pair_loss(policy: Policy, batch: BatchedDataDict, dpo: DPOSection,
              global_valid_pairs: float | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """DPO loss of one micro-batch (chosen and rejected in one forward pass).

    Args:
        policy: The policy.
        batch: Pairs with reference log-probs.
        dpo: ``dpo`` section (beta and loss weights).
        global_valid_pairs: Pairs in the whole global batch (None: this batch's).

    Returns:
        ``(loss, metrics)`` from :func:`rl_lab.losses.dpo_loss`.

    Examples:
        >>> from rl_lab.data import addition_datum
        >>> policy = build_policy(load_recipe("dpo_addition", ["rl_lab.init_checkpoint=null"], profile="smoke"))
        >>> pairs = preference_batch(preference_pairs([addition_datum(1, 2)]), policy.tokenizer)
        >>> pairs = add_reference_logprobs(pairs, policy.model, micro_batch_size=1)
        >>> loss, metrics = pair_loss(policy, pairs, load_recipe("dpo_addition", profile="smoke").dpo)
        >>> round(metrics["preference_loss"], 4), abs(metrics["reward_margin"]) < 1e-5  # policy == reference: -log sigmoid(0) = ln 2, margin 0 up to rounding
        (0.6931, True)
    """
    from rl_lab.generation import compute_logprobs

    n = batch["chosen_input_ids"].shape[0]
    logprobs = compute_logprobs(policy.model, torch.cat([batch["chosen_input_ids"], batch["rejected_input_ids"]]))
    return dpo_loss(
        logprobs[:n],
        logprobs[n:],
        batch["reference_chosen_logprobs"],
        batch["reference_rejected_logprobs"],
        batch["chosen_mask"],
        batch["rejected_mask"],
        reference_policy_kl_penalty=dpo.reference_policy_kl_penalty,
        preference_loss_weight=dpo.preference_loss_weight,
        sft_loss_weight=dpo.sft_loss_weight,
        preference_average_log_probs=dpo.preference_average_log_probs,
        sft_average_log_probs=dpo.sft_average_log_probs,
        global_valid_pairs=global_valid_pairs,
    )


def dpo_step(policy: Policy, batch: BatchedDataDict, cfg: DPORecipe) -> dict[str, float]:
    """One optimizer step over a global batch of pairs.

    Each micro-batch's loss and metrics are divided by the global number of
    pairs, so they add up to the global-batch mean.

    Args:
        policy: The policy.
        batch: ``policy.train_global_batch_size`` pairs.
        cfg: The recipe.

    Returns:
        The metrics of :func:`rl_lab.losses.dpo_loss` for the global batch, plus ``grad_norm``.

    Examples:
        >>> from rl_lab.data import addition_datum
        >>> cfg = load_recipe("dpo_addition", overrides=["rl_lab.init_checkpoint=null", "policy.train_micro_batch_size=1"],
        ...                   profile="smoke")
        >>> policy = build_policy(cfg)
        >>> pairs = preference_batch(preference_pairs([addition_datum(1, 2), addition_datum(3, 4)]), policy.tokenizer)
        >>> pairs = add_reference_logprobs(pairs, policy.model, micro_batch_size=2)
        >>> metrics = dpo_step(policy, pairs, cfg)
        >>> metrics["num_valid_samples"], round(metrics["preference_loss"], 4)  # policy == reference: ln 2
        (2.0, 0.6931)
    """
    totals = MetricAccumulator()
    for micro in batch.shard_by_batch_size(cfg.policy.train_micro_batch_size):
        loss, metrics = pair_loss(policy, micro.to(policy.device), cfg.dpo, global_valid_pairs=float(batch.size))
        loss.backward()
        totals.add(metrics)
    return {**totals.result(), "grad_norm": optimizer_step(policy, cfg.policy.max_grad_norm)}


@torch.no_grad()
def validate_dpo(policy: Policy, val_pairs: BatchedDataDict, val: list[Datum], cfg: DPORecipe) -> dict[str, float]:
    """Held-out preference accuracy, implicit reward margin and answer accuracy.

    Args:
        policy: The policy.
        val_pairs: Held-out pairs with reference log-probs.
        val: Held-out problems (for greedy exact-match accuracy).
        cfg: The recipe.

    Returns:
        ``loss``, ``accuracy`` (preference), ``reward_margin``,
        ``rewards_chosen_mean``, ``rewards_rejected_mean``, ``answer_accuracy``.
    """
    _, metrics = pair_loss(policy, val_pairs.to(policy.device), cfg.dpo)
    metrics["answer_accuracy"] = evaluate_accuracy(policy.model, policy.tokenizer, val, cfg.rl_lab.eval_max_new_tokens)["accuracy"]
    return {k: metrics[k] for k in ("loss", "accuracy", "reward_margin", "rewards_chosen_mean", "rewards_rejected_mean", "answer_accuracy")}


def train_dpo(
    recipe: DPORecipe | str = "dpo_addition",
    overrides: list[str] | tuple[str, ...] = (),
    model: torch.nn.Module | None = None,
    progress: bool | None = None,
    live_plot: bool | None = None,
    profile: str | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Runs DPO for a recipe (resuming from ``checkpointing.checkpoint_dir`` if enabled).

    Args:
        recipe: A loaded :class:`rl_lab.config.recipes.DPORecipe` or a recipe name.
        overrides: ``key=value`` overrides (with a recipe name).
        model: The model to start from (a recipe with ``rl_lab.init_checkpoint`` needs
            one: :func:`rl_lab.run.train` passes it); None builds a fresh one.
        progress: As for :func:`rl_lab.sft.train_sft` (and ``live_plot``, ``profile``, ``callback``).

    Returns:
        A :class:`rl_lab.logger.TrainResult`; ``final_metrics`` as in :func:`validate_dpo`.
    """
    cfg = load_recipe(recipe, overrides, profile) if isinstance(recipe, str) else recipe
    configure_threads()
    started = time.perf_counter()
    policy = build_policy(cfg, model, profile)
    set_seed(cfg.dpo.seed)  # after build_policy: a cold model cache (training) must not shift the RNG
    reference = copy.deepcopy(policy.model).eval().requires_grad_(False)
    train, val = load_task(cfg.rl_lab.task)
    mb = cfg.policy.train_micro_batch_size
    train_pairs = add_reference_logprobs(preference_batch(preference_pairs(train, cfg.dpo.seed), policy.tokenizer), reference, mb)
    val_pairs = add_reference_logprobs(preference_batch(preference_pairs(val, cfg.dpo.seed + 1), policy.tokenizer), reference, mb)
    logger = MetricLogger(cfg.logger.log_dir, live=live_plot, live_keys=["train/loss", "val/accuracy", "val/reward_margin"], callback=callback)

    def train_step(step: int) -> dict[str, float]:
        idx = batch_indices(step, cfg.policy.train_global_batch_size, train_pairs.size, cfg.dpo.seed, cfg.data.shuffle)
        return dpo_step(policy, train_pairs.select_indices(idx), cfg)

    # The reference is not saved: a resumed run rebuilds it from rl_lab.init_checkpoint.
    loop = Loop("dpo", cfg.dpo, cfg.dpo.max_num_steps, train_step, lambda: validate_dpo(policy, val_pairs, val, cfg), "loss")
    return run(cfg, policy, loop, logger, progress, started)
