"""The clipped policy-gradient loss of PPO and GRPO, with the variants NeMo RL selects by ``loss_fn`` key.

Two choices are looked up in dicts keyed by NeMo RL's key names:

* the probability ratio (:data:`RATIOS`): ``token`` (PPO/GRPO, the default),
  ``sequence_level_importance_ratios`` (GSPO), ``disable_ppo_ratio`` (REINFORCE) or
  ``force_on_policy_ratio``; NeMo RL's precedence picks the first that is set in
  the order force, disable, sequence;
* the surrogate (:data:`SURROGATES`): ``clipped`` (PPO's pessimistic max) or
  ``use_cispo`` (CISPO).

Importance-sampling correction and its truncations live in
:mod:`rl_lab.losses.importance`.

NeMo RL counterpart: ``nemo_rl.algorithms.loss.loss_functions.ClippedPGLossFn``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rl_lab.config import LossFnConfig
from rl_lab.losses.importance import WeightContext, importance_weights, truncate
from rl_lab.losses.kl import kl_penalty
from rl_lab.losses.reduce import Metrics, aggregate, masked_mean, valid_samples

Ratios = tuple[torch.Tensor, torch.Tensor]


def _token_ratio(logprobs: torch.Tensor, prev: torch.Tensor, token_mask: torch.Tensor, cfg: LossFnConfig) -> Ratios:
    ratio = torch.exp(logprobs - prev)
    return ratio, ratio.clamp(1.0 - cfg.ratio_clip_min, 1.0 + cfg.ratio_clip_max)


def _sequence_ratio(logprobs: torch.Tensor, prev: torch.Tensor, token_mask: torch.Tensor, cfg: LossFnConfig) -> Ratios:
    ratio = torch.exp(masked_mean(logprobs - prev, token_mask, dim=-1)).unsqueeze(-1).repeat(1, logprobs.shape[1])
    return ratio, ratio.clamp(1.0 - cfg.ratio_clip_min, 1.0 + cfg.ratio_clip_max)


def _no_ratio(logprobs: torch.Tensor, prev: torch.Tensor, token_mask: torch.Tensor, cfg: LossFnConfig) -> Ratios:
    return logprobs, logprobs  # the surrogate becomes -A * logprob, NeMo RL's REINFORCE form


def _on_policy_ratio(logprobs: torch.Tensor, prev: torch.Tensor, token_mask: torch.Tensor, cfg: LossFnConfig) -> Ratios:
    ratio = torch.exp(logprobs - logprobs.detach())  # 1 in value, gradient of logprob
    return ratio, ratio


# (ratio, clamped ratio) by the loss_fn key that selects it; "token" is the default.
RATIOS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor, LossFnConfig], Ratios]] = {
    "force_on_policy_ratio": _on_policy_ratio,
    "disable_ppo_ratio": _no_ratio,
    "sequence_level_importance_ratios": _sequence_ratio,
    "token": _token_ratio,
}


def ratio_kind(cfg: LossFnConfig) -> str:
    """The :data:`RATIOS` key a config selects.

    Examples:
        >>> ratio_kind(LossFnConfig()), ratio_kind(LossFnConfig(sequence_level_importance_ratios=True, token_level_loss=False))
        ('token', 'sequence_level_importance_ratios')
    """
    return next((k for k in ("force_on_policy_ratio", "disable_ppo_ratio", "sequence_level_importance_ratios")
                 if getattr(cfg, k)), "token")


def _clipped(advantages: torch.Tensor, ratio: torch.Tensor, clamped: torch.Tensor, logprobs: torch.Tensor) -> torch.Tensor:
    return torch.maximum(-advantages * ratio, -advantages * clamped)


def _cispo(advantages: torch.Tensor, ratio: torch.Tensor, clamped: torch.Tensor, logprobs: torch.Tensor) -> torch.Tensor:
    return -advantages * clamped.detach() * logprobs


# Per-token surrogate by the loss_fn key that selects it; "clipped" is the default.
SURROGATES: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "use_cispo": _cispo,
    "clipped": _clipped,
}


def _generation_mismatch(prev: torch.Tensor, gen: torch.Tensor, mask: torch.Tensor, toks, kl_type: str) -> Metrics:
    """NeMo RL's metrics of the gap between the trained and the generating policy."""
    mean = lambda t: masked_mean(t, mask, global_normalization_factor=toks).item()  # noqa: E731
    log_mixture = torch.log(0.5 * torch.exp(prev) + 0.5 * torch.exp(gen))
    to_mixture = lambda lp: torch.exp(lp - log_mixture) - (lp - log_mixture) - 1  # noqa: E731
    return {
        "token_mult_prob_error": mean(torch.exp(torch.abs(gen - prev) * mask)),
        "gen_kl_error": mean(kl_penalty(gen, prev, kl_type, None, None)),
        "policy_kl_error": mean(kl_penalty(prev, gen, kl_type, None, None)),
        "js_divergence_error": mean(0.5 * to_mixture(prev) + 0.5 * to_mixture(gen)),
    }


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
    generation_logprobs: torch.Tensor | None = None,
    rewards: torch.Tensor | None = None,
) -> tuple[torch.Tensor, Metrics]:
    """PPO/GRPO clipped policy-gradient loss with its variants and a KL penalty (NeMo RL's ``ClippedPGLossFn``).

    Per token, with ``(ratio, clamped)`` from :data:`RATIOS` (default ``ratio =
    exp(logprobs - prev_logprobs)``, ``clamped = clamp(ratio, 1 - ratio_clip_min, 1 +
    ratio_clip_max)``) and ``A`` the advantage::

        pg   = max(-A * ratio, -A * clamped)          (use_cispo: -A * stopgrad(clamped) * logprobs)
        if ratio_clip_c is set and A < 0:  pg = min(pg, -A * ratio_clip_c)   (dual clip)
        pg   = w_is * pg                               (use_importance_sampling_correction)
        kl   = w * estimator(log pi_ref - log pi),  w = exp(logprobs - logprobs.detach())
                                                    (use_on_policy_kl_approximation: exp(logprobs - generation_logprobs))
        loss = aggregate(pg) + beta * aggregate(kl) [+ positive_example_nll_weight * nll(reward > 0)]

    ``w`` is 1 in value, so the loss is unchanged, but its gradient adds the
    score-function term of the KL (the tokens were sampled from the policy being
    optimised): NeMo RL v0.7.0's KL backward. ``beta`` is
    ``reference_policy_kl_penalty``, or 0 with ``use_kl_in_reward`` (the advantage
    estimator adds the KL to the reward instead). ``w_is`` are the importance weights of
    :mod:`rl_lab.losses.importance`, per sequence with ``sequence_level_importance_ratios``.
    ``aggregate`` is token-level or sequence-level by ``cfg.token_level_loss``, normalised
    by the global token or sample counts when this is one micro-batch of a larger batch.
    The NLL term averages ``-logprobs`` over the tokens of this batch's samples with
    reward > 0 (its own count, not the global one, as in NeMo RL).

    Where rl_lab differs from NeMo RL v0.7.0, and why:

    * ``beta * mean(kl)`` instead of ``mean(beta * kl)``: equal up to float rounding, and
      the order rl_lab always had, so earlier runs reproduce bit for bit;
    * ``sampling_importance_ratio`` with sequence-level ratios is the mean weight over
      valid samples; NeMo RL's broadcasts a ``[B, 1]`` tensor against a ``[B]`` mask and
      logs ``sum(w) * valid / global_valid_seqs`` instead;
    * one set of policy log-probs: NeMo RL keeps unfiltered ones for the KL when
      generation uses top-k/top-p; rl_lab's log-probs are never filtered.

    Args:
        logprobs: ``[B, T]`` current policy log-probs (with gradient).
        prev_logprobs: ``[B, T]`` log-probs of the policy before this update.
        advantages: ``[B, T]`` (or ``[B, 1]``, broadcast) advantages.
        token_mask: ``[B, T]`` 1 on generated tokens.
        reference_logprobs: ``[B, T]`` reference policy log-probs; None skips KL.
        cfg: The ``loss_fn`` section.
        sample_mask: ``[B]`` 1 for samples that count (default: all).
        global_valid_seqs: Valid samples of the global batch (default: this batch's).
        global_valid_toks: Valid tokens of the global batch (default: this batch's).
        generation_logprobs: ``[B, T]`` log-probs of the policy that generated the tokens
            (default: ``prev_logprobs``, generation and training agree).
        rewards: ``[B]`` rewards, read by the positive-example NLL term only.

    Returns:
        ``(loss, metrics)``. NeMo RL's names and meanings: ``loss``, ``probs_ratio``,
        ``probs_ratio_clamped`` (token means), ``probs_ratio_min``/``_max``,
        ``probs_ratio_clamped_min``/``_max``, ``kl_penalty`` (the KL itself, not times
        beta), ``token_mult_prob_error``, ``gen_kl_error``, ``policy_kl_error``,
        ``js_divergence_error``, ``sampling_importance_ratio``, ``approx_entropy``,
        ``positive_nll_loss``, ``is_oob_ratio`` (with a truncation) and
        ``num_valid_samples``; rl_lab adds ``actor_loss``, ``clip_fraction`` (tokens
        whose ratio the clip changed) and ``num_valid_tokens``. Means are divided by the
        global counts, so a trainer *adds* the metrics of its micro-batches (extremes:
        min and max).

    Raises:
        ValueError: If ``ratio_clip_c`` is set but not greater than 1.

    Examples:
        >>> lp = torch.zeros(1, 2); m = torch.ones(1, 2); a = torch.ones(1, 2)
        >>> loss, met = clipped_pg_loss(lp, lp, a, m)  # ratio 1, loss -A = -1
        >>> loss.item(), met["probs_ratio"]
        (-1.0, 1.0)
    """
    samples = valid_samples(logprobs, sample_mask)
    mask = token_mask.to(logprobs.dtype) * samples[:, None]
    toks = mask.sum() if global_valid_toks is None else global_valid_toks
    seqs = samples.sum() if global_valid_seqs is None else global_valid_seqs
    reduce = lambda per_token: aggregate(per_token, token_mask, cfg.token_level_loss, samples, seqs, toks)  # noqa: E731
    token_mean = lambda t: masked_mean(t, mask, global_normalization_factor=toks).item()  # noqa: E731

    generation_logprobs = prev_logprobs if generation_logprobs is None else generation_logprobs
    prev_logprobs = logprobs.detach() if cfg.force_on_policy_ratio else prev_logprobs
    advantages = advantages.expand_as(logprobs)
    ratio, clamped_ratio = RATIOS[ratio_kind(cfg)](logprobs, prev_logprobs, token_mask, cfg)
    per_token = SURROGATES["use_cispo" if cfg.use_cispo else "clipped"](advantages, ratio, clamped_ratio, logprobs)
    if cfg.ratio_clip_c is not None:
        if cfg.ratio_clip_c <= 1:
            raise ValueError(f"loss_fn.ratio_clip_c must be > 1, got {cfg.ratio_clip_c}")
        dual = torch.minimum(per_token, -advantages * cfg.ratio_clip_c)
        per_token = torch.where(advantages < 0, dual, per_token)

    with torch.no_grad():
        metrics = _generation_mismatch(prev_logprobs, generation_logprobs, mask, toks, cfg.reference_policy_kl_type)
    weights = importance_weights(prev_logprobs, generation_logprobs, mask, cfg.sequence_level_importance_ratios)
    weights, truncation_metrics = truncate(weights, WeightContext(
        prev_logprobs - generation_logprobs, token_mask, mask, samples, toks, seqs, cfg))
    if cfg.use_importance_sampling_correction:
        per_token = weights * per_token
    actor_loss = reduce(per_token)

    beta = 0.0 if cfg.use_kl_in_reward else cfg.reference_policy_kl_penalty
    if reference_logprobs is not None and beta != 0:
        # 1 in value and the sampling gradient, or pi / pi_gen for the on-policy approximation
        kl_weights = torch.exp(logprobs - (generation_logprobs if cfg.use_on_policy_kl_approximation else logprobs.detach()))
        kl_weights = torch.nan_to_num(kl_weights, nan=0.0, posinf=0.0, neginf=0.0)
        kl = reduce(kl_penalty(logprobs, reference_logprobs, cfg.reference_policy_kl_type,
                               cfg.kl_input_clamp_value, cfg.kl_output_clamp_value, importance_weights=kl_weights))
    else:
        kl = torch.zeros((), dtype=logprobs.dtype)
    loss = actor_loss + beta * kl

    nll = torch.zeros((), dtype=logprobs.dtype)
    if cfg.positive_example_nll_weight > 0 and rewards is not None:
        correct = mask * (rewards > 0).to(mask.dtype)[:, None]
        if correct.sum() > 0:
            nll = masked_mean(-logprobs, correct, global_normalization_factor=correct.sum())
        loss = loss + cfg.positive_example_nll_weight * nll

    with torch.no_grad():
        picked, picked_clamped = ratio[mask.bool()], clamped_ratio[mask.bool()]
        if cfg.sequence_level_importance_ratios:
            sampling_ratio = masked_mean(weights[:, 0], samples, global_normalization_factor=seqs).item()
        else:
            sampling_ratio = token_mean(weights)
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
            "clip_fraction": token_mean((ratio != clamped_ratio).to(ratio.dtype)),
            **metrics,
            "sampling_importance_ratio": sampling_ratio,
            "approx_entropy": -token_mean(torch.exp(logprobs - generation_logprobs) * logprobs),
            **truncation_metrics,
            "positive_nll_loss": nll.item(),
            "num_valid_samples": samples.sum().item(),
            "num_valid_tokens": mask.sum().item(),
        }
    return loss, metrics
