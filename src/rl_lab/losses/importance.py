"""Off-policy importance weights ``pi_train / pi_gen`` and their truncations (tis, icepop, seq-mask-tis).

When the policy that generated the samples (log-probs ``generation_logprobs``)
is not exactly the policy being trained (``prev_logprobs``: a stale policy, or a
generation engine whose numerics differ), each token's loss can be weighted by
``w = exp(prev_logprobs - generation_logprobs)``. Large weights make the update
noisy, so NeMo RL truncates them, chosen by ``loss_fn.truncated_importance_sampling_type``:

* ``tis``: clamp ``w`` to ``[ratio_min or 0, ratio]``;
* ``icepop``: set ``w`` to 0 on tokens whose ``w`` is outside ``[ratio_min, ratio]``;
* ``seq-mask-tis``: set ``w`` to 0 on whole sequences whose geometric-mean weight
  ``exp(mean_t log w)`` is outside ``[ratio_min, ratio]``; other tokens keep their ``w``.

Each returns the fraction it found out of bounds as ``is_oob_ratio`` (of tokens,
or of samples for ``seq-mask-tis``), divided by the global count like every metric.

NeMo RL counterpart: the importance-sampling block of ``ClippedPGLossFn``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from rl_lab.config import LossFnConfig
from rl_lab.losses.reduce import Metrics, masked_mean


@dataclass(frozen=True)
class WeightContext:
    """What a truncation needs besides the weights.

    Attributes:
        log_ratio: ``[B, T]`` ``prev_logprobs - generation_logprobs``.
        token_mask: ``[B, T]`` trained tokens.
        mask: ``[B, T]`` trained tokens of valid samples.
        sample_mask: ``[B]`` valid samples.
        global_valid_toks: Token count that metrics divide by.
        global_valid_seqs: Sample count that metrics divide by.
        cfg: The ``loss_fn`` section (bounds).

    Examples:
        >>> ctx = WeightContext(torch.zeros(1, 2), torch.ones(1, 2), torch.ones(1, 2), torch.ones(1), 2.0, 1.0, LossFnConfig())
        >>> ctx.global_valid_toks
        2.0
    """

    log_ratio: torch.Tensor
    token_mask: torch.Tensor
    mask: torch.Tensor
    sample_mask: torch.Tensor
    global_valid_toks: torch.Tensor | float
    global_valid_seqs: torch.Tensor | float
    cfg: LossFnConfig


def importance_weights(prev_logprobs: torch.Tensor, generation_logprobs: torch.Tensor, mask: torch.Tensor,
                       sequence_level: bool) -> torch.Tensor:
    """Untruncated weights ``pi_train / pi_gen``: per token ``[B, T]``, or per sequence ``[B, 1]``.

    A sequence's weight is the product of its tokens' weights (``exp`` of the summed
    log-ratio over ``mask``), detached; NaN and infinities become 0, as in NeMo RL.

    Args:
        prev_logprobs: ``[B, T]`` log-probs of the trained policy before the update.
        generation_logprobs: ``[B, T]`` log-probs of the policy that generated the tokens.
        mask: ``[B, T]`` trained tokens of valid samples.
        sequence_level: One weight per sequence (``sequence_level_importance_ratios``).

    Returns:
        The weights.

    Examples:
        >>> prev, gen = torch.log(torch.tensor([[0.5, 0.2]])), torch.log(torch.tensor([[0.25, 0.4]]))
        >>> importance_weights(prev, gen, torch.ones(1, 2), False)  # 0.5/0.25, 0.2/0.4
        tensor([[2.0000, 0.5000]])
        >>> round(importance_weights(prev, gen, torch.ones(1, 2), True).item(), 4)  # 2 * 0.5
        1.0
    """
    if sequence_level:
        weights = torch.exp(((prev_logprobs - generation_logprobs) * mask).sum(dim=-1)).detach().unsqueeze(-1)
    else:
        weights = torch.exp(prev_logprobs - generation_logprobs)
    return torch.nan_to_num(weights, nan=0.0, posinf=0.0, neginf=0.0)


def _tis(weights: torch.Tensor, ctx: WeightContext) -> tuple[torch.Tensor, Metrics]:
    low = ctx.cfg.truncated_importance_sampling_ratio_min or 0.0
    high = ctx.cfg.truncated_importance_sampling_ratio
    outside = (weights > high) | (weights < low)
    oob = masked_mean(outside.to(weights.dtype), ctx.mask, global_normalization_factor=ctx.global_valid_toks)
    return weights.clamp(min=low, max=high), {"is_oob_ratio": oob.item()}


def _icepop(weights: torch.Tensor, ctx: WeightContext) -> tuple[torch.Tensor, Metrics]:
    low, high = ctx.cfg.truncated_importance_sampling_ratio_min, ctx.cfg.truncated_importance_sampling_ratio
    kept = (weights >= low) & (weights <= high)
    oob = masked_mean((~kept).to(weights.dtype), ctx.mask, global_normalization_factor=ctx.global_valid_toks)
    return torch.where(kept, weights, torch.zeros_like(weights)), {"is_oob_ratio": oob.item()}


def _seq_mask_tis(weights: torch.Tensor, ctx: WeightContext) -> tuple[torch.Tensor, Metrics]:
    low, high = ctx.cfg.truncated_importance_sampling_ratio_min, ctx.cfg.truncated_importance_sampling_ratio
    log_ratio = torch.nan_to_num(ctx.log_ratio, nan=0.0, posinf=0.0, neginf=0.0)
    geometric_mean = torch.exp(masked_mean(log_ratio, ctx.token_mask, dim=-1)).detach()
    kept = ((geometric_mean >= low) & (geometric_mean <= high)).to(weights.dtype)
    oob = masked_mean(1.0 - kept, ctx.sample_mask, global_normalization_factor=ctx.global_valid_seqs)
    return weights * kept.unsqueeze(-1), {"is_oob_ratio": oob.item()}


# loss_fn.truncated_importance_sampling_type -> truncation (config checks the name).
TRUNCATIONS: dict[str, Callable[[torch.Tensor, WeightContext], tuple[torch.Tensor, Metrics]]] = {
    "tis": _tis,
    "icepop": _icepop,
    "seq-mask-tis": _seq_mask_tis,
}


def truncate(weights: torch.Tensor, ctx: WeightContext) -> tuple[torch.Tensor, Metrics]:
    """Applies the configured truncation (none when ``truncated_importance_sampling_type`` is null).

    Args:
        weights: Output of :func:`importance_weights`.
        ctx: Masks, counts and the config.

    Returns:
        ``(weights, metrics)``; metrics hold ``is_oob_ratio`` when a truncation ran.

    Examples:
        >>> cfg = LossFnConfig(use_importance_sampling_correction=True, truncated_importance_sampling_type="tis",
        ...                    truncated_importance_sampling_ratio=2.0)
        >>> w = torch.tensor([[0.5, 3.0]]); m = torch.ones(1, 2)
        >>> out, met = truncate(w, WeightContext(w.log(), m, m, torch.ones(1), 2.0, 1.0, cfg))
        >>> out.tolist(), met["is_oob_ratio"]  # 3.0 clamped to 2.0; 1 of 2 tokens out of [0, 2]
        ([[0.5, 2.0]], 0.5)
    """
    kind = ctx.cfg.truncated_importance_sampling_type
    return (weights, {}) if kind is None else TRUNCATIONS[kind](weights, ctx)
