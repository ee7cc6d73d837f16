"""Losses on the log-likelihood of given replies: SFT's NLL and DPO.

NeMo RL counterparts: ``NLLLossFn`` and ``DPOLossFn`` in ``nemo_rl.algorithms.loss.loss_functions``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rl_lab.losses.reduce import Metrics, masked_mean, valid_samples


def nll_loss(
    logprobs: torch.Tensor,
    token_mask: torch.Tensor,
    global_normalization_factor: torch.Tensor | float | None = None,
    sample_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, Metrics]:
    """Supervised fine-tuning loss: mean negative log-likelihood of trained tokens (NeMo RL's ``NLLLossFn``).

    Args:
        logprobs: ``[B, T]`` token-aligned log-probabilities.
        token_mask: ``[B, T]``, 1 on tokens to train on (assistant replies).
        global_normalization_factor: Optional global token count (micro-batching).
        sample_mask: ``[B]`` 1 for samples that count (default: all).

    Returns:
        ``(loss, {"loss", "num_unmasked_tokens", "num_valid_samples"})``; token-level aggregation.

    Examples:
        >>> lp = torch.log(torch.tensor([[0.5, 0.25]]))
        >>> loss, m = nll_loss(lp, torch.tensor([[1, 1]]))
        >>> round(loss.item(), 4)  # -(ln 0.5 + ln 0.25) / 2 = 1.5 ln 2
        1.0397
    """
    samples = valid_samples(logprobs, sample_mask)
    mask = token_mask.to(logprobs.dtype) * samples[:, None]
    loss = -masked_mean(logprobs, mask, global_normalization_factor=global_normalization_factor)
    return loss, {"loss": loss.item(), "num_unmasked_tokens": mask.sum().item(), "num_valid_samples": samples.sum().item()}


def _sequence_logprob(logprobs: torch.Tensor, mask: torch.Tensor, average: bool) -> torch.Tensor:
    """Per-sequence sum (or mean when ``average``) of masked log-probs: ``[B, T] -> [B]``."""
    total = (logprobs * mask.to(logprobs.dtype)).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if average else total


def dpo_loss(
    chosen_logprobs: torch.Tensor,
    rejected_logprobs: torch.Tensor,
    reference_chosen_logprobs: torch.Tensor,
    reference_rejected_logprobs: torch.Tensor,
    chosen_mask: torch.Tensor,
    rejected_mask: torch.Tensor,
    reference_policy_kl_penalty: float = 0.05,
    preference_loss_weight: float = 1.0,
    sft_loss_weight: float = 0.0,
    preference_average_log_probs: bool = False,
    sft_average_log_probs: bool = False,
    *,
    sample_mask: torch.Tensor | None = None,
    global_valid_pairs: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, Metrics]:
    """Direct Preference Optimization loss with an optional SFT term on chosen replies.

    With ``r = sum_t mask * (logp_policy - logp_reference)`` per sequence (mean
    over tokens when ``preference_average_log_probs``), ``beta =
    reference_policy_kl_penalty`` and means taken over valid pairs (``sample_mask``)::

        preference_loss = mean_b( -log sigmoid(beta * (r_chosen - r_rejected)) )
        sft_loss        = mean_b( -sum_t mask * logp_policy(chosen) )   (mean_t if sft_average_log_probs)
        loss            = preference_loss_weight * preference_loss + sft_loss_weight * sft_loss

    As in NeMo RL's ``DPOLossFn``, the SFT term is only computed (and its metric is
    only non-zero) when ``sft_loss_weight > 0``, and the logged rewards are ``r``
    itself, not ``beta * r``.

    Args:
        chosen_logprobs: ``[B, T]`` policy log-probs of chosen sequences.
        rejected_logprobs: ``[B, T]`` policy log-probs of rejected sequences.
        reference_chosen_logprobs: ``[B, T]`` reference (frozen) log-probs, chosen.
        reference_rejected_logprobs: ``[B, T]`` reference log-probs, rejected.
        chosen_mask: ``[B, T]`` 1 on response tokens of chosen sequences.
        rejected_mask: ``[B, T]`` 1 on response tokens of rejected sequences.
        reference_policy_kl_penalty: DPO's beta (``dpo.reference_policy_kl_penalty``).
        preference_loss_weight: Weight of the preference term.
        sft_loss_weight: Weight of the SFT term (0 disables it).
        preference_average_log_probs: Average instead of sum over tokens in ``r``.
        sft_average_log_probs: Average instead of sum over tokens in the SFT term.
        sample_mask: ``[B]`` 1 for pairs that count (default: all).
        global_valid_pairs: Valid pairs of the whole global batch, when this is one
            micro-batch of it (default: ``sample_mask.sum()``).

    Returns:
        ``(loss, metrics)`` with ``loss``, ``preference_loss``, ``sft_loss``,
        ``accuracy`` (fraction with ``r_chosen > r_rejected``),
        ``rewards_chosen_mean`` and ``rewards_rejected_mean`` (mean ``r``),
        ``num_valid_samples`` (pairs) and, rl_lab only, ``reward_margin``
        (``rewards_chosen_mean - rewards_rejected_mean``).

    Examples:
        >>> z = torch.zeros(1, 2); m = torch.ones(1, 2)
        >>> loss, met = dpo_loss(z, z, z, z, m, m)
        >>> round(loss.item(), 4)  # -log sigmoid(0) = ln 2
        0.6931
    """
    beta = reference_policy_kl_penalty
    pairs = torch.ones(chosen_logprobs.shape[0], dtype=chosen_logprobs.dtype) if sample_mask is None \
        else sample_mask.to(chosen_logprobs.dtype)
    norm = pairs.sum() if global_valid_pairs is None else global_valid_pairs
    r_chosen = _sequence_logprob(chosen_logprobs - reference_chosen_logprobs, chosen_mask, preference_average_log_probs)
    r_rejected = _sequence_logprob(
        rejected_logprobs - reference_rejected_logprobs, rejected_mask, preference_average_log_probs
    )
    preference = masked_mean(-F.logsigmoid(beta * (r_chosen - r_rejected)), pairs, global_normalization_factor=norm)
    if sft_loss_weight > 0:
        sft_per_pair = -_sequence_logprob(chosen_logprobs, chosen_mask, sft_average_log_probs)
        sft = masked_mean(sft_per_pair, pairs, global_normalization_factor=norm)
    else:
        sft = torch.zeros((), dtype=chosen_logprobs.dtype)
    loss = preference_loss_weight * preference + sft_loss_weight * sft
    with torch.no_grad():
        chosen_mean = masked_mean(r_chosen, pairs, global_normalization_factor=norm).item()
        rejected_mean = masked_mean(r_rejected, pairs, global_normalization_factor=norm).item()
        metrics = {
            "loss": loss.item(),
            "preference_loss": preference.item(),
            "sft_loss": sft.item(),
            "accuracy": masked_mean((r_chosen > r_rejected).to(pairs.dtype), pairs, global_normalization_factor=norm).item(),
            "rewards_chosen_mean": chosen_mean,
            "rewards_rejected_mean": rejected_mean,
            "reward_margin": chosen_mean - rejected_mean,
            "num_valid_samples": pairs.sum().item(),
        }
    return loss, metrics
