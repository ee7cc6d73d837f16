"""Loss functions as pure functions of tensors and masks.

Every loss returns ``(loss, metrics)`` where ``loss`` is a scalar tensor with a
gradient and ``metrics`` is a dict of Python floats. Log-probabilities are
*aligned with tokens*: ``logprobs[b, t]`` is ``log p(x[b, t] | x[b, :t])`` (as
returned by :func:`rl_lab.generation.compute_logprobs`), and masks select
which tokens count.

All averaging goes through ONE function, :func:`masked_mean`, so token-level
versus sequence-level aggregation is always visible at the call site:

* token level:    ``masked_mean(per_token, mask)`` -- every token weighs the same;
* sequence level: ``masked_mean(masked_mean(per_token, mask, dim=-1), seq_mask)``
  -- every sequence weighs the same, whatever its length.

NeMo RL counterparts: ``nemo_rl.algorithms.loss.loss_functions.NLLLossFn``,
``nemo_rl.algorithms.loss.loss_functions.DPOLossFn`` and
``nemo_rl.algorithms.loss.loss_functions.ClippedPGLossFn``; ``masked_mean``
mirrors ``nemo_rl.algorithms.utils.masked_mean``.

Examples:
    >>> masked_mean(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 1, 0]))
    tensor(1.5000)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from rl_lab.config import LossFnConfig

Metrics = dict[str, float]


def masked_mean(
    values: torch.Tensor,
    mask: torch.Tensor,
    dim: int | None = None,
    global_normalization_factor: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1.

    Args:
        values: Any shape, e.g. per-token losses ``[B, T]``.
        mask: Same shape as ``values`` (0/1, any dtype).
        dim: Reduce only this dimension (``-1`` gives one mean per sequence);
            None reduces everything.
        global_normalization_factor: Divide by this instead of ``mask.sum``.
            Used when a batch is split into micro-batches: dividing each
            micro-batch sum by the *global* count makes the micro-batch losses
            add up to the full-batch mean.

    Returns:
        A scalar (``dim=None``) or the reduced tensor. An all-zero mask gives 0.

    Examples:
        >>> v = torch.tensor([[1.0, 3.0], [5.0, 0.0]]); m = torch.tensor([[1, 1], [1, 0]])
        >>> masked_mean(v, m)  # (1 + 3 + 5) / 3
        tensor(3.)
        >>> masked_mean(v, m, dim=-1)  # [(1+3)/2, 5/1]
        tensor([2., 5.])
        >>> masked_mean(v, m, global_normalization_factor=6)  # 9 / 6
        tensor(1.5000)
    """
    mask = mask.to(values.dtype)
    total = (values * mask).sum() if dim is None else (values * mask).sum(dim=dim)
    if global_normalization_factor is None:
        count = mask.sum() if dim is None else mask.sum(dim=dim)
    else:
        count = torch.as_tensor(global_normalization_factor, dtype=values.dtype)
    return total / torch.clamp(count, min=1e-8)


def nll_loss(
    logprobs: torch.Tensor,
    token_mask: torch.Tensor,
    global_normalization_factor: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, Metrics]:
    """Supervised fine-tuning loss: mean negative log-likelihood of trained tokens.

    Args:
        logprobs: ``[B, T]`` token-aligned log-probabilities.
        token_mask: ``[B, T]``, 1 on tokens to train on (assistant replies).
        global_normalization_factor: Optional global token count (micro-batching).

    Returns:
        ``(loss, {"loss", "num_unmasked_tokens"})``; token-level aggregation.

    Examples:
        >>> lp = torch.log(torch.tensor([[0.5, 0.25]]))
        >>> loss, m = nll_loss(lp, torch.tensor([[1, 1]]))
        >>> round(loss.item(), 4)  # -(ln 0.5 + ln 0.25) / 2 = 1.5 ln 2
        1.0397
    """
    loss = -masked_mean(logprobs, token_mask, global_normalization_factor=global_normalization_factor)
    return loss, {"loss": loss.item(), "num_unmasked_tokens": float(token_mask.sum())}


def _sequence_logprob(logprobs: torch.Tensor, mask: torch.Tensor, average: bool) -> torch.Tensor:
    """Per-sequence sum (or mean when ``average``) of masked log-probs: ``[B, T] -> [B]``."""
    if average:
        return masked_mean(logprobs, mask, dim=-1)
    return (logprobs * mask.to(logprobs.dtype)).sum(-1)


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
) -> tuple[torch.Tensor, Metrics]:
    """Direct Preference Optimization loss with an optional SFT term on chosen replies.

    With ``r = sum_t mask * (logp_policy - logp_reference)`` per sequence (mean
    over tokens when ``preference_average_log_probs``) and ``beta =
    reference_policy_kl_penalty``::

        preference_loss = mean_b( -log sigmoid(beta * (r_chosen - r_rejected)) )
        sft_loss        = mean_b( -sum_t mask * logp_policy(chosen) )   (mean_t if sft_average_log_probs)
        loss            = preference_loss_weight * preference_loss + sft_loss_weight * sft_loss

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

    Returns:
        ``(loss, metrics)`` with ``loss``, ``preference_loss``, ``sft_loss``,
        ``accuracy`` (fraction with ``r_chosen > r_rejected``),
        ``rewards_chosen_mean`` and ``rewards_rejected_mean`` (implicit rewards
        ``beta * r``) and ``reward_margin`` (their difference).

    Examples:
        >>> z = torch.zeros(1, 2); m = torch.ones(1, 2)
        >>> loss, met = dpo_loss(z, z, z, z, m, m)
        >>> round(loss.item(), 4)  # -log sigmoid(0) = ln 2
        0.6931
    """
    beta = reference_policy_kl_penalty
    r_chosen = _sequence_logprob(chosen_logprobs - reference_chosen_logprobs, chosen_mask, preference_average_log_probs)
    r_rejected = _sequence_logprob(
        rejected_logprobs - reference_rejected_logprobs, rejected_mask, preference_average_log_probs
    )
    preference = -F.logsigmoid(beta * (r_chosen - r_rejected)).mean()
    sft = -_sequence_logprob(chosen_logprobs, chosen_mask, sft_average_log_probs).mean()
    loss = preference_loss_weight * preference + sft_loss_weight * sft
    with torch.no_grad():
        metrics = {
            "loss": loss.item(),
            "preference_loss": preference.item(),
            "sft_loss": sft.item(),
            "accuracy": (r_chosen > r_rejected).float().mean().item(),
            "rewards_chosen_mean": (beta * r_chosen).mean().item(),
            "rewards_rejected_mean": (beta * r_rejected).mean().item(),
            "reward_margin": (beta * (r_chosen - r_rejected)).mean().item(),
        }
    return loss, metrics


def _kl_k1(log_ratio: torch.Tensor) -> torch.Tensor:
    return -log_ratio


def _kl_k2(log_ratio: torch.Tensor) -> torch.Tensor:
    return 0.5 * log_ratio.square()


def _kl_k3(log_ratio: torch.Tensor) -> torch.Tensor:
    return torch.exp(log_ratio) - 1 - log_ratio


# Per-token estimators of KL(pi || pi_ref) from samples of pi, with
# log_ratio = log pi_ref - log pi (Schulman, "Approximating KL divergence").
KL_ESTIMATORS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"k1": _kl_k1, "k2": _kl_k2, "k3": _kl_k3}


def kl_penalty(
    logprobs: torch.Tensor,
    reference_logprobs: torch.Tensor,
    kl_type: str = "k3",
    input_clamp: float | None = 20.0,
    output_clamp: float | None = 10.0,
) -> torch.Tensor:
    """Per-token KL estimate between the policy and the reference policy.

    Args:
        logprobs: ``[B, T]`` policy log-probs of the sampled tokens.
        reference_logprobs: ``[B, T]`` reference log-probs of the same tokens.
        kl_type: ``k1``, ``k2`` or ``k3`` (``loss_fn.reference_policy_kl_type``).
        input_clamp: Clamp ``log_ratio`` to ``[-v, v]`` first (None: no clamp).
        output_clamp: Clamp the estimate to ``[-v, v]`` (None: no clamp).

    Returns:
        ``[B, T]`` per-token KL estimates (k3 is always >= 0).

    Raises:
        ValueError: For an unknown ``kl_type``.

    Examples:
        >>> kl_penalty(torch.tensor([0.0]), torch.tensor([1.0]))  # e^1 - 1 - 1
        tensor([0.7183])
    """
    if kl_type not in KL_ESTIMATORS:
        raise ValueError(f"loss_fn.reference_policy_kl_type={kl_type!r}; choose one of {sorted(KL_ESTIMATORS)}")
    log_ratio = reference_logprobs - logprobs
    if input_clamp is not None:
        log_ratio = log_ratio.clamp(-input_clamp, input_clamp)
    kl = KL_ESTIMATORS[kl_type](log_ratio)
    if output_clamp is not None:
        kl = kl.clamp(-output_clamp, output_clamp)
    return kl


def aggregate(
    per_token: torch.Tensor,
    token_mask: torch.Tensor,
    token_level_loss: bool,
    global_normalization_factor: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """Token-level or sequence-level mean of a per-token quantity.

    Args:
        per_token: ``[B, T]`` values.
        token_mask: ``[B, T]`` 1 on counted tokens.
        token_level_loss: True: mean over all tokens of the batch. False: mean
            over tokens inside each sequence, then mean over sequences.
        global_normalization_factor: Global token count (token level) or
            sequence count (sequence level) for micro-batching.

    Returns:
        A scalar tensor.

    Examples:
        >>> v = torch.tensor([[1.0, 1.0, 1.0], [4.0, 0.0, 0.0]]); m = torch.tensor([[1, 1, 1], [1, 0, 0]])
        >>> aggregate(v, m, True)   # (1+1+1+4)/4
        tensor(1.7500)
        >>> aggregate(v, m, False)  # (1 + 4)/2
        tensor(2.5000)
    """
    if token_level_loss:
        return masked_mean(per_token, token_mask, global_normalization_factor=global_normalization_factor)
    per_sequence = masked_mean(per_token, token_mask, dim=-1)
    has_tokens = (token_mask.sum(-1) > 0).to(per_token.dtype)
    return masked_mean(per_sequence, has_tokens, global_normalization_factor=global_normalization_factor)


def clipped_pg_loss(
    logprobs: torch.Tensor,
    prev_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    token_mask: torch.Tensor,
    reference_logprobs: torch.Tensor | None = None,
    cfg: LossFnConfig = LossFnConfig(),
    global_normalization_factor: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, Metrics]:
    """PPO/GRPO clipped policy-gradient loss with dual clip and a k3 KL penalty.

    Per token, with ``ratio = exp(logprobs - prev_logprobs)`` and ``A`` the advantage::

        unclipped = -A * ratio
        clipped   = -A * clamp(ratio, 1 - ratio_clip_min, 1 + ratio_clip_max)
        pg        = max(unclipped, clipped)
        if ratio_clip_c is set and A < 0:  pg = min(pg, -A * ratio_clip_c)   (dual clip)
        loss      = aggregate(pg) + reference_policy_kl_penalty * aggregate(kl)

    ``aggregate`` is token-level or sequence-level by ``cfg.token_level_loss``.

    Args:
        logprobs: ``[B, T]`` current policy log-probs (with gradient).
        prev_logprobs: ``[B, T]`` log-probs of the policy that sampled the data.
        advantages: ``[B, T]`` (or ``[B, 1]``, broadcast) advantages.
        token_mask: ``[B, T]`` 1 on generated tokens.
        reference_logprobs: ``[B, T]`` reference policy log-probs; None skips KL.
        cfg: The ``loss_fn`` section (clip range, dual clip, KL, aggregation).
        global_normalization_factor: Global token/sequence count (micro-batching).

    Returns:
        ``(loss, metrics)`` with ``loss``, ``actor_loss``, ``kl_penalty``,
        ``probs_ratio_mean``, ``clip_fraction`` and ``num_valid_tokens``.

    Raises:
        ValueError: If ``ratio_clip_c`` is set but not greater than 1.

    Examples:
        >>> lp = torch.zeros(1, 2); m = torch.ones(1, 2); a = torch.ones(1, 2)
        >>> loss, met = clipped_pg_loss(lp, lp, a, m)  # ratio 1, loss -A = -1
        >>> loss.item()
        -1.0
    """
    advantages = advantages.expand_as(logprobs)
    ratio = torch.exp(logprobs - prev_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - cfg.ratio_clip_min, 1.0 + cfg.ratio_clip_max)
    per_token = torch.maximum(unclipped, clipped)
    if cfg.ratio_clip_c is not None:
        if cfg.ratio_clip_c <= 1:
            raise ValueError(f"loss_fn.ratio_clip_c must be > 1, got {cfg.ratio_clip_c}")
        dual = torch.minimum(per_token, -advantages * cfg.ratio_clip_c)
        per_token = torch.where(advantages < 0, dual, per_token)
    actor_loss = aggregate(per_token, token_mask, cfg.token_level_loss, global_normalization_factor)

    if reference_logprobs is not None and cfg.reference_policy_kl_penalty != 0:
        kl = kl_penalty(
            logprobs,
            reference_logprobs,
            cfg.reference_policy_kl_type,
            cfg.kl_input_clamp_value,
            cfg.kl_output_clamp_value,
        )
        kl_term = cfg.reference_policy_kl_penalty * aggregate(
            kl, token_mask, cfg.token_level_loss, global_normalization_factor
        )
    else:
        kl_term = torch.zeros((), dtype=logprobs.dtype)
    loss = actor_loss + kl_term
    with torch.no_grad():
        outside = (ratio < 1.0 - cfg.ratio_clip_min) | (ratio > 1.0 + cfg.ratio_clip_max)
        metrics = {
            "loss": loss.item(),
            "actor_loss": actor_loss.item(),
            "kl_penalty": kl_term.item(),
            "probs_ratio_mean": masked_mean(ratio, token_mask).item(),
            "clip_fraction": masked_mean(outside.to(ratio.dtype), token_mask).item(),
            "num_valid_tokens": float(token_mask.sum()),
        }
    return loss, metrics
