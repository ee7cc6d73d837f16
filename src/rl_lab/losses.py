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
        A scalar (``dim=None``) or the reduced tensor: ``sum(values * mask) /
        (count + 1e-8)``, as in NeMo RL, so an all-zero mask gives 0.

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
    return total / (count + 1e-8)  # NeMo RL's guard: an empty mask gives 0, not NaN


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
    samples = _samples(logprobs, sample_mask)
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
    importance_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-token KL estimate between the policy and the reference policy.

    ``importance_weights`` multiply the estimate before the output clamp. Where the
    input clamp cuts ``log_ratio``, the weight is detached, so the clamp stops the
    sampling-weight gradient as well as the estimate's (NeMo RL's ``calculate_kl``).

    Args:
        logprobs: ``[B, T]`` policy log-probs of the sampled tokens.
        reference_logprobs: ``[B, T]`` reference log-probs of the same tokens.
        kl_type: ``k1``, ``k2`` or ``k3`` (``loss_fn.reference_policy_kl_type``).
        input_clamp: Clamp ``log_ratio`` to ``[-v, v]`` first (None: no clamp).
        output_clamp: Clamp the estimate to ``[-v, v]`` (None: no clamp).
        importance_weights: ``[B, T]`` per-token weights, or None.

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
        clamped = log_ratio.clamp(-input_clamp, input_clamp)
        if importance_weights is not None:
            importance_weights = torch.where(log_ratio == clamped, importance_weights, importance_weights.detach())
        log_ratio = clamped
    kl = KL_ESTIMATORS[kl_type](log_ratio)
    if importance_weights is not None:
        kl = importance_weights * kl
    if output_clamp is not None:
        kl = kl.clamp(-output_clamp, output_clamp)
    return kl


def aggregate(
    per_token: torch.Tensor,
    token_mask: torch.Tensor,
    token_level_loss: bool,
    sample_mask: torch.Tensor | None = None,
    global_valid_seqs: torch.Tensor | float | None = None,
    global_valid_toks: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """Token-level or sequence-level mean of a per-token quantity, as NeMo RL reduces losses.

    Token level divides the sum over valid tokens (``token_mask`` of valid samples)
    by the global token count; sequence level averages inside each sequence first,
    then divides the sum over valid samples by the global *sample* count, so a valid
    sample whose tokens are all masked still counts (it contributes 0).

    Args:
        per_token: ``[B, T]`` values.
        token_mask: ``[B, T]`` 1 on counted tokens.
        token_level_loss: True: mean over all tokens of the batch. False: mean
            over tokens inside each sequence, then mean over sequences.
        sample_mask: ``[B]`` 1 for samples that count (default: all).
        global_valid_seqs: Valid samples of the global batch (sequence level).
        global_valid_toks: Valid tokens of the global batch (token level).

    Returns:
        A scalar tensor.

    Examples:
        >>> v = torch.tensor([[1.0, 1.0, 1.0], [4.0, 0.0, 0.0]]); m = torch.tensor([[1, 1, 1], [1, 0, 0]])
        >>> aggregate(v, m, True)   # (1+1+1+4)/4
        tensor(1.7500)
        >>> aggregate(v, m, False)  # (1 + 4)/2
        tensor(2.5000)
    """
    samples = _samples(per_token, sample_mask)
    if token_level_loss:
        return masked_mean(per_token, token_mask * samples[:, None], global_normalization_factor=global_valid_toks)
    per_sequence = masked_mean(per_token, token_mask, dim=-1)
    return masked_mean(per_sequence, samples, global_normalization_factor=global_valid_seqs)


def _samples(like: torch.Tensor, sample_mask: torch.Tensor | None) -> torch.Tensor:
    """``sample_mask`` as a float vector, all ones when None."""
    return torch.ones(like.shape[0], dtype=like.dtype) if sample_mask is None else sample_mask.to(like.dtype)


def clipped_pg_loss(
    logprobs: torch.Tensor,
    prev_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    token_mask: torch.Tensor,
    reference_logprobs: torch.Tensor | None = None,
    cfg: LossFnConfig = LossFnConfig(),
    *,
    sample_mask: torch.Tensor | None = None,
    global_valid_seqs: torch.Tensor | float | None = None,
    global_valid_toks: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, Metrics]:
    """PPO/GRPO clipped policy-gradient loss with dual clip and a KL penalty (NeMo RL's ``ClippedPGLossFn``).

    Per token, with ``ratio = exp(logprobs - prev_logprobs)`` and ``A`` the advantage::

        unclipped = -A * ratio
        clipped   = -A * clamp(ratio, 1 - ratio_clip_min, 1 + ratio_clip_max)
        pg        = max(unclipped, clipped)
        if ratio_clip_c is set and A < 0:  pg = min(pg, -A * ratio_clip_c)   (dual clip)
        kl        = w * estimator(log pi_ref - log pi),  w = exp(logprobs - logprobs.detach())
        loss      = aggregate(pg) + reference_policy_kl_penalty * aggregate(kl)

    ``w`` is 1 in value, so the loss is unchanged, but its gradient adds the
    score-function term of the KL (the tokens were sampled from the policy being
    optimised): NeMo RL v0.7.0's KL backward. ``aggregate`` is token-level or
    sequence-level by ``cfg.token_level_loss``, normalised by the global token or
    sample counts when this is one micro-batch of a larger batch.

    Args:
        logprobs: ``[B, T]`` current policy log-probs (with gradient).
        prev_logprobs: ``[B, T]`` log-probs of the policy that sampled the data.
        advantages: ``[B, T]`` (or ``[B, 1]``, broadcast) advantages.
        token_mask: ``[B, T]`` 1 on generated tokens.
        reference_logprobs: ``[B, T]`` reference policy log-probs; None skips KL.
        cfg: The ``loss_fn`` section (clip range, dual clip, KL, aggregation).
        sample_mask: ``[B]`` 1 for samples that count (default: all).
        global_valid_seqs: Valid samples of the global batch (default: this batch's).
        global_valid_toks: Valid tokens of the global batch (default: this batch's).

    Returns:
        ``(loss, metrics)``. NeMo RL's names and meanings: ``loss``, ``probs_ratio``,
        ``probs_ratio_clamped`` (token means), ``probs_ratio_min``/``_max``,
        ``probs_ratio_clamped_min``/``_max``, ``kl_penalty`` (the KL itself, not
        times beta) and ``num_valid_samples``; rl_lab adds ``actor_loss``,
        ``clip_fraction`` and ``num_valid_tokens``. Means are divided by the
        global counts, so a trainer *adds* the metrics of its micro-batches
        (extremes: min and max).

    Raises:
        ValueError: If ``ratio_clip_c`` is set but not greater than 1.

    Examples:
        >>> lp = torch.zeros(1, 2); m = torch.ones(1, 2); a = torch.ones(1, 2)
        >>> loss, met = clipped_pg_loss(lp, lp, a, m)  # ratio 1, loss -A = -1
        >>> loss.item(), met["probs_ratio"]
        (-1.0, 1.0)
    """
    samples = _samples(logprobs, sample_mask)
    mask = token_mask.to(logprobs.dtype) * samples[:, None]
    toks = mask.sum() if global_valid_toks is None else global_valid_toks
    seqs = samples.sum() if global_valid_seqs is None else global_valid_seqs
    reduce = lambda per_token: aggregate(per_token, token_mask, cfg.token_level_loss, samples, seqs, toks)  # noqa: E731

    advantages = advantages.expand_as(logprobs)
    ratio = torch.exp(logprobs - prev_logprobs)
    clamped_ratio = ratio.clamp(1.0 - cfg.ratio_clip_min, 1.0 + cfg.ratio_clip_max)
    per_token = torch.maximum(-advantages * ratio, -advantages * clamped_ratio)
    if cfg.ratio_clip_c is not None:
        if cfg.ratio_clip_c <= 1:
            raise ValueError(f"loss_fn.ratio_clip_c must be > 1, got {cfg.ratio_clip_c}")
        dual = torch.minimum(per_token, -advantages * cfg.ratio_clip_c)
        per_token = torch.where(advantages < 0, dual, per_token)
    actor_loss = reduce(per_token)

    if reference_logprobs is not None and cfg.reference_policy_kl_penalty != 0:
        score = torch.exp(logprobs - logprobs.detach())  # 1 in value; carries the sampling gradient
        kl = reduce(kl_penalty(logprobs, reference_logprobs, cfg.reference_policy_kl_type,
                               cfg.kl_input_clamp_value, cfg.kl_output_clamp_value, importance_weights=score))
    else:
        kl = torch.zeros((), dtype=logprobs.dtype)
    loss = actor_loss + cfg.reference_policy_kl_penalty * kl
    with torch.no_grad():
        token_mean = lambda t: masked_mean(t, mask, global_normalization_factor=toks).item()  # noqa: E731
        picked, picked_clamped = ratio[mask.bool()], clamped_ratio[mask.bool()]
        outside = (ratio < 1.0 - cfg.ratio_clip_min) | (ratio > 1.0 + cfg.ratio_clip_max)
        metrics = {
            "loss": loss.item(),
            "actor_loss": actor_loss.item(),
            "kl_penalty": kl.item(),
            "probs_ratio": token_mean(ratio),
            "probs_ratio_clamped": token_mean(clamped_ratio),
            "probs_ratio_min": picked.min().item() if picked.numel() else float("inf"),
            "probs_ratio_max": picked.max().item() if picked.numel() else float("-inf"),
            "probs_ratio_clamped_min": picked_clamped.min().item() if picked.numel() else float("inf"),
            "probs_ratio_clamped_max": picked_clamped.max().item() if picked.numel() else float("-inf"),
            "clip_fraction": token_mean(outside.to(ratio.dtype)),
            "num_valid_samples": samples.sum().item(),
            "num_valid_tokens": mask.sum().item(),
        }
    return loss, metrics
