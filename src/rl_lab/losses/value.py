"""PPO's value loss: squared error to the returns, optionally clipped around the old values.

NeMo RL counterpart: ``nemo_rl.algorithms.loss.loss_functions.MseValueLossFn``.
"""

from __future__ import annotations

import torch

from rl_lab.config import MseValueLossConfig
from rl_lab.losses.reduce import masked_mean


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    token_mask: torch.Tensor,
    cfg: MseValueLossConfig = MseValueLossConfig(),
    *,
    sample_mask: torch.Tensor | None = None,
    global_valid_toks: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """``0.5 * scale * mean((V - R)^2)`` over the trained tokens, with PPO's value clipping.

    With ``cfg.cliprange`` = c > 0 the per-token error is
    ``max((V - R)^2, (clamp(V, V_old - c, V_old + c) - R)^2)``: a value may not move
    further than c from the one the rollout was scored with and thereby lower its loss.

    Args:
        values: ``[B, T]`` the value model's current predictions (token-aligned: ``[b, t]`` is
            the value of the state before token ``t``), with the graph.
        old_values: ``[B, T]`` the predictions at rollout time (``data["values"]``).
        returns: ``[B, T]`` the targets (GAE's advantages plus ``old_values``).
        token_mask: ``[B, T]`` 1 on trained (response) tokens.
        cfg: ``value_loss_fn`` (``scale``, ``cliprange``).
        sample_mask: ``[B]`` 0 drops a whole sample (None: all count).
        global_valid_toks: Trained tokens of the whole global batch, so that micro-batch
            losses add up to its mean (None: this batch's).

    Returns:
        ``(loss, metrics)``: NeMo RL's ``loss``, ``vf_clipfrac`` (share of tokens where the
        clipped term is the larger), ``returns_mean``, ``values_mean``, ``values_min``,
        ``values_max``, ``returns_sq_mean``, ``residual_sq_mean`` (the sums behind the
        explained variance, :func:`rl_lab.ppo.explained_variance`) and ``num_valid_samples``.

    Examples:
        >>> v = torch.tensor([[0.0, 0.5, 1.0]]); mask = torch.tensor([[0.0, 1.0, 1.0]])
        >>> loss, m = value_loss(v, v, torch.tensor([[0.0, 1.0, 1.0]]), mask)
        >>> round(loss.item(), 4)  # 0.5 * mean(0.25, 0) = 0.0625
        0.0625
    """
    mask = token_mask if sample_mask is None else token_mask * sample_mask.unsqueeze(-1)
    norm = mask.sum() if global_valid_toks is None else global_valid_toks
    unclipped = (values - returns) ** 2
    if cfg.cliprange:  # None and 0 both switch clipping off, as in NeMo RL
        clipped_values = torch.clamp(values, old_values - cfg.cliprange, old_values + cfg.cliprange)
        clipped = (clipped_values - returns) ** 2
        per_token = torch.max(unclipped, clipped)
        clipfrac = masked_mean((clipped > unclipped).float(), mask, global_normalization_factor=norm).item()
    else:
        per_token, clipfrac = unclipped, 0.0
    loss = 0.5 * cfg.scale * masked_mean(per_token, mask, global_normalization_factor=norm)
    with torch.no_grad():
        picked = values[mask.bool()]
        metrics = {
            "loss": loss.item(),
            "vf_clipfrac": clipfrac,
            "returns_mean": masked_mean(returns, mask, global_normalization_factor=norm).item(),
            "values_mean": masked_mean(values, mask, global_normalization_factor=norm).item(),
            "values_min": picked.min().item() if picked.numel() else 0.0,
            "values_max": picked.max().item() if picked.numel() else 0.0,
            "returns_sq_mean": masked_mean(returns**2, mask, global_normalization_factor=norm).item(),
            "residual_sq_mean": masked_mean((returns - values) ** 2, mask, global_normalization_factor=norm).item(),
            "num_valid_samples": float(values.shape[0]),
        }
    return loss, metrics
