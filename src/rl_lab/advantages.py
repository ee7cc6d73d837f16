"""Advantage estimators: rewards turned into advantages, chosen by ``grpo.adv_estimator.name``.

Samples belong to *groups*, one per prompt: ``group_ids[i]`` names the group of
sample ``i`` (:func:`positional_group_ids` for the layout ``repeat_interleave``
produces, :func:`prompt_group_ids` for NeMo RL's rule: samples whose prompt tokens
are identical share a group, wherever they sit in the batch). The estimators, in
:data:`ADV_ESTIMATORS` by NeMo RL's names:

* ``grpo``: ``(r - baseline) / (std + eps)`` inside each group (leave-one-out or not,
  normalised or not);
* ``gdpo``: the ``grpo`` advantage of each reward component, summed, then normalised
  over the batch (needs an environment that returns several rewards);
* ``reinforce_plus_plus``: the reward (minus the group mean with ``minus_baseline``),
  minus ``beta * KL`` per token with ``loss_fn.use_kl_in_reward``, normalised over all
  trained tokens of the batch;
* ``opd``: ``log pi_teacher - log pi_student`` per token (on-policy distillation; needs a
  teacher's log-probs).

NeMo RL counterpart: ``nemo_rl.algorithms.advantage_estimator`` (``GRPOAdvantageEstimator``,
``GDPOAdvantageEstimator``, ``ReinforcePlusPlusAdvantageEstimator``, ``OPDAdvantageEstimator``)
and ``nemo_rl.algorithms.utils.calculate_baseline_and_std_per_prompt``.

Examples:
    >>> grpo_advantages(torch.tensor([1.0, 0.0, 1.0, 1.0]), group_size=2, normalize_rewards=False).tolist()
    [0.5, -0.5, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from rl_lab.config import AdvEstimatorConfig, LossFnConfig
from rl_lab.losses import kl_penalty


def positional_group_ids(batch_size: int, group_size: int) -> torch.Tensor:
    """Group ids of ``batch_size`` samples laid out group by group, ``group_size`` each.

    Examples:
        >>> positional_group_ids(6, 3).tolist()
        [0, 0, 0, 1, 1, 1]
    """
    if batch_size % group_size:
        raise ValueError(f"{batch_size} rewards cannot be split into groups of {group_size}")
    return torch.arange(batch_size // group_size).repeat_interleave(group_size)


def prompt_group_ids(prompt_ids: torch.Tensor) -> torch.Tensor:
    """Group ids by identical prompts (NeMo RL's ``torch.unique(prompts, dim=0)``).

    Args:
        prompt_ids: ``[B, L]`` right-padded prompt token ids (or ``[B]`` ids).

    Returns:
        ``[B]`` long group ids.

    Examples:
        >>> prompt_group_ids(torch.tensor([[5, 6], [7, 0], [5, 6]])).tolist()
        [0, 1, 0]
    """
    return torch.unique(prompt_ids.reshape(len(prompt_ids), -1), dim=0, return_inverse=True)[1]


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


def grouped_baseline_and_std(rewards: torch.Tensor, group_ids: torch.Tensor, leave_one_out: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`group_baseline_and_std` for groups given by ids, of any sizes and positions.

    Groups of equal size are gathered into one ``[G, k]`` block (members in batch
    order) and computed together, so positional groups give exactly the numbers
    of :func:`group_baseline_and_std`.

    Args:
        rewards: ``[B]`` rewards.
        group_ids: ``[B]`` non-negative group ids.
        leave_one_out: RLOO baseline.

    Returns:
        ``(baseline [B], std [B])``.

    Examples:
        >>> b, _ = grouped_baseline_and_std(torch.tensor([1.0, 5.0, 3.0]), torch.tensor([0, 1, 0]), False)
        >>> b.tolist()  # group 0 is samples 0 and 2: mean 2
        [2.0, 5.0, 2.0]
    """
    baseline, std = torch.empty_like(rewards), torch.empty_like(rewards)
    order = torch.argsort(group_ids, stable=True)
    counts = torch.bincount(group_ids)
    starts = torch.cumsum(counts, 0) - counts
    for size in counts.unique().tolist():
        if size == 0:
            continue
        groups = (counts == size).nonzero().flatten()
        members = order[starts[groups][:, None] + torch.arange(size)]  # [G, size]
        b, s = group_baseline_and_std(rewards[members].reshape(-1), size, leave_one_out)
        baseline[members.reshape(-1)], std[members.reshape(-1)] = b, s
    return baseline, std


def _normalised_group_advantages(rewards, group_ids, normalize, leave_one_out, epsilon=1e-6) -> torch.Tensor:
    baseline, std = grouped_baseline_and_std(rewards, group_ids, leave_one_out)
    advantages = rewards - baseline
    if normalize:
        advantages = torch.where(std > 0, advantages / (std + epsilon), advantages)  # no sharpening without variance
    return advantages


def grpo_advantages(
    rewards: torch.Tensor,
    group_size: int,
    normalize_rewards: bool = True,
    use_leave_one_out_baseline: bool = False,
    epsilon: float = 1e-6,
) -> torch.Tensor:
    """GRPO advantages ``(r - baseline) / (std + eps)`` per group of ``group_size`` consecutive samples.

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
    ids = positional_group_ids(rewards.numel(), group_size)
    return _normalised_group_advantages(rewards, ids, normalize_rewards, use_leave_one_out_baseline, epsilon)


@dataclass(frozen=True)
class AdvantageInputs:
    """What an estimator may read (NeMo RL's ``compute_advantage`` arguments).

    Attributes:
        rewards: ``[B]`` total rewards.
        group_ids: ``[B]`` group of each sample.
        mask: ``[B, T]`` trained tokens of valid samples.
        reward_components: ``[B, K]`` per-component rewards (gdpo), or None.
        logprobs: ``[B, T]`` log-probs of the sampling policy (reinforce_plus_plus's KL, opd).
        reference_logprobs: ``[B, T]`` reference log-probs, or None.
        teacher_logprobs: ``[B, T]`` a teacher's log-probs (opd), or None.

    Examples:
        >>> AdvantageInputs(torch.zeros(2), torch.zeros(2, dtype=torch.long), torch.ones(2, 3)).reward_components is None
        True
    """

    rewards: torch.Tensor
    group_ids: torch.Tensor
    mask: torch.Tensor
    reward_components: torch.Tensor | None = None
    logprobs: torch.Tensor | None = None
    reference_logprobs: torch.Tensor | None = None
    teacher_logprobs: torch.Tensor | None = None


def _grpo(x: AdvantageInputs, cfg: AdvEstimatorConfig, loss_cfg: LossFnConfig) -> torch.Tensor:
    return _normalised_group_advantages(x.rewards, x.group_ids, cfg.normalize_rewards, cfg.use_leave_one_out_baseline).unsqueeze(-1)


def _gdpo(x: AdvantageInputs, cfg: AdvEstimatorConfig, loss_cfg: LossFnConfig) -> torch.Tensor:
    if x.reward_components is None or x.reward_components.shape[-1] < 2:
        raise ValueError("grpo.adv_estimator.name=gdpo needs an environment that returns several reward components "
                         "(rewards of shape [B, K], K >= 2); use grpo.adv_estimator.name=grpo for a single reward")
    parts = [_normalised_group_advantages(r, x.group_ids, cfg.normalize_rewards, cfg.use_leave_one_out_baseline)
             for r in x.reward_components.unbind(-1)]
    total = sum(parts).unsqueeze(-1)
    std = total.std()
    return (total - total.mean()) / std if std > 0 else total - total.mean()


def _reinforce_plus_plus(x: AdvantageInputs, cfg: AdvEstimatorConfig, loss_cfg: LossFnConfig) -> torch.Tensor:
    rewards = x.rewards
    if cfg.minus_baseline:
        rewards = rewards - grouped_baseline_and_std(rewards, x.group_ids, leave_one_out=False)[0]
    adv = rewards.unsqueeze(-1).expand(x.mask.shape)
    if loss_cfg.use_kl_in_reward and x.logprobs is not None and x.reference_logprobs is not None:
        # NeMo RL's calculate_kl with its default clamps (20, 10), not the loss_fn clamp keys
        adv = adv - loss_cfg.reference_policy_kl_penalty * kl_penalty(x.logprobs, x.reference_logprobs, loss_cfg.reference_policy_kl_type)
    mean = (adv * x.mask).sum() / x.mask.sum()
    var = ((adv - mean).pow(2) * x.mask).sum() / x.mask.sum()
    return (adv - mean) * var.clamp(min=1e-8).rsqrt()


def _opd(x: AdvantageInputs, cfg: AdvEstimatorConfig, loss_cfg: LossFnConfig) -> torch.Tensor:
    if x.teacher_logprobs is None or x.logprobs is None:
        raise ValueError("grpo.adv_estimator.name=opd needs a teacher's log-probs and the student's; "
                         "set on_policy_distillation.enabled=true with teacher_model_by_agent_name (rl_lab.opd)")
    return (x.teacher_logprobs - x.logprobs).detach() * x.mask


# grpo.adv_estimator.name -> estimator; each returns [B, 1] or [B, T] advantages.
ADV_ESTIMATORS: dict[str, Callable[[AdvantageInputs, AdvEstimatorConfig, LossFnConfig], torch.Tensor]] = {
    "grpo": _grpo,
    "gdpo": _gdpo,
    "reinforce_plus_plus": _reinforce_plus_plus,
    "opd": _opd,
}


def compute_advantages(inputs: AdvantageInputs, cfg: AdvEstimatorConfig, loss_cfg: LossFnConfig,
                       normalize_rewards: bool = True, use_leave_one_out_baseline: bool = True) -> torch.Tensor:
    """Advantages from the estimator ``cfg.name`` names.

    Args:
        inputs: Rewards, groups, masks and log-probs.
        cfg: ``grpo.adv_estimator``.
        loss_cfg: ``loss_fn`` (``use_kl_in_reward`` and the KL keys for reinforce_plus_plus).
        normalize_rewards: ``grpo.normalize_rewards``, used where ``cfg.normalize_rewards`` is None.
        use_leave_one_out_baseline: ``grpo.use_leave_one_out_baseline``, likewise.

    Returns:
        ``[B, 1]`` (grpo, gdpo) or ``[B, T]`` advantages.

    Examples:
        >>> x = AdvantageInputs(torch.tensor([1.0, 0.0]), torch.tensor([0, 0]), torch.ones(2, 1))
        >>> compute_advantages(x, AdvEstimatorConfig(), LossFnConfig(), False, False).flatten().tolist()
        [0.5, -0.5]
    """
    if cfg.normalize_rewards is None or cfg.use_leave_one_out_baseline is None:
        cfg = AdvEstimatorConfig(cfg.name, normalize_rewards if cfg.normalize_rewards is None else cfg.normalize_rewards,
                                 use_leave_one_out_baseline if cfg.use_leave_one_out_baseline is None
                                 else cfg.use_leave_one_out_baseline, cfg.minus_baseline)
    return ADV_ESTIMATORS[cfg.name](inputs, cfg, loss_cfg)
