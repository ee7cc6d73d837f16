"""GRPO advantages: rewards normalised within each group of samples of one prompt.

Samples are laid out group by group (the order ``BatchedDataDict.repeat_interleave``
produces): ``rewards[g * n : (g + 1) * n]`` are the ``n`` generations of prompt ``g``.

NeMo RL counterpart: ``nemo_rl.algorithms.advantage_estimator.GRPOAdvantageEstimator``
(with ``grpo.normalize_rewards`` and ``grpo.use_leave_one_out_baseline``).

Examples:
    >>> grpo_advantages(torch.tensor([1.0, 0.0, 1.0, 1.0]), group_size=2, normalize_rewards=False).tolist()
    [0.5, -0.5, 0.0, 0.0]
"""

from __future__ import annotations

import torch


def group_baseline_and_std(rewards: torch.Tensor, group_size: int, leave_one_out: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample baseline and standard deviation computed inside each group.

    Args:
        rewards: ``[B]`` rewards, ``B`` a multiple of ``group_size``.
        group_size: Generations per prompt.
        leave_one_out: Baseline (and std) of sample ``i`` use the *other*
            ``n - 1`` samples of its group (RLOO) instead of all ``n``.

    Returns:
        ``(baseline [B], std [B])``; std is the unbiased sample std (0 when it
        is undefined, e.g. fewer than 2 samples).

    Raises:
        ValueError: If ``B`` is not a multiple of ``group_size``.

    Examples:
        >>> b, s = group_baseline_and_std(torch.tensor([1.0, 0.0, 0.0]), 3, leave_one_out=True)
        >>> b.tolist()  # others' means: (0+0)/2, (1+0)/2, (1+0)/2
        [0.0, 0.5, 0.5]
    """
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards cannot be split into groups of {group_size}")
    r = rewards.view(-1, group_size).to(torch.float64)
    n = group_size
    total, total_sq = r.sum(-1, keepdim=True), r.square().sum(-1, keepdim=True)
    if leave_one_out and n > 1:
        count = n - 1
        mean = (total - r) / count
        mean_sq = (total_sq - r.square()) / count
    else:
        count = n
        mean = (total / n).expand_as(r)
        mean_sq = (total_sq / n).expand_as(r)
    if count > 1:
        var = ((mean_sq - mean.square()) * count / (count - 1)).clamp(min=0.0)
    else:
        var = torch.zeros_like(r)
    if leave_one_out and n == 1:
        mean = r  # a lone sample has no baseline of its own: advantage 0
    return mean.reshape(-1).to(rewards.dtype), var.sqrt().reshape(-1).to(rewards.dtype)


def grpo_advantages(
    rewards: torch.Tensor,
    group_size: int,
    normalize_rewards: bool = True,
    use_leave_one_out_baseline: bool = False,
    epsilon: float = 1e-6,
) -> torch.Tensor:
    """GRPO advantages ``(r - baseline) / (std + eps)`` per group.

    Groups whose std is 0 (all samples got the same reward) are *not* divided:
    their advantage is ``r - baseline`` (0 for a plain group mean), so there is
    no NaN and no blow-up.

    Args:
        rewards: ``[B]`` rewards, group by group.
        group_size: ``grpo.num_generations_per_prompt``.
        normalize_rewards: Divide by the group std (``grpo.normalize_rewards``).
        use_leave_one_out_baseline: RLOO baseline (``grpo.use_leave_one_out_baseline``).
        epsilon: Added to the std before dividing.

    Returns:
        ``[B]`` advantages (broadcast over tokens by the trainer).

    Examples:
        >>> grpo_advantages(torch.tensor([1.0, 1.0, 1.0]), 3)  # zero variance
        tensor([0., 0., 0.])
    """
    baseline, std = group_baseline_and_std(rewards, group_size, use_leave_one_out_baseline)
    advantages = rewards - baseline
    if normalize_rewards:
        advantages = torch.where(std > 0, advantages / (std + epsilon), advantages)
    return advantages
