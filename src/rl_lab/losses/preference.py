"""The Bradley-Terry loss of reward-model training.

NeMo RL counterpart: ``PreferenceLossFn`` in ``nemo_rl.algorithms.loss.loss_functions``
(the loss ``examples/run_rm.py`` trains with). Under the Bradley-Terry model the
probability that a rater prefers the chosen reply is ``sigmoid(s_chosen - s_rejected)``
for scalar scores ``s``; the loss is its negative log-likelihood.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rl_lab.losses.reduce import Metrics, masked_mean


def bradley_terry_loss(
    chosen_rewards: torch.Tensor,
    rejected_rewards: torch.Tensor,
    *,
    sample_mask: torch.Tensor | None = None,
    global_valid_pairs: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, Metrics]:
    """Negative log-likelihood that each chosen reply beats its rejected one.

    With ``s_c``, ``s_r`` the reward model's scalar scores of one pair and means
    taken over valid pairs (``sample_mask``)::

        loss     = mean_b( -log sigmoid(s_c - s_r) )
        accuracy = mean_b( s_c > s_r )        (a tie counts as wrong)

    NeMo RL's ``PreferenceLossFn`` receives the scores of a micro-batch
    interleaved (chosen at even rows, rejected at odd rows) and divides by half its
    global count of sequences; here the two halves come separately and the global
    count is in pairs, which is the same number.

    Args:
        chosen_rewards: ``[B]`` scores of the chosen replies.
        rejected_rewards: ``[B]`` scores of the rejected replies.
        sample_mask: ``[B]`` 1 for pairs that count (default: all).
        global_valid_pairs: Valid pairs of the whole global batch, when this is one
            micro-batch of it (default: ``sample_mask.sum()``); metrics are divided by it
            too, so the micro-batches' metrics add up to the global-batch values.

    Returns:
        ``(loss, metrics)`` with NeMo RL's metric names: ``loss``, ``accuracy``,
        ``rewards_chosen_mean``, ``rewards_rejected_mean``, ``num_valid_samples`` (pairs
        in this micro-batch), and, rl_lab only as in :func:`rl_lab.losses.dpo_loss`,
        ``reward_margin`` (``rewards_chosen_mean - rewards_rejected_mean``).

    Examples:
        >>> loss, m = bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0]))
        >>> round(loss.item(), 4), m["accuracy"]  # -log sigmoid(0) = ln 2; a tie is not a win
        (0.6931, 0.0)
    """
    pairs = torch.ones(chosen_rewards.shape[0], dtype=chosen_rewards.dtype, device=chosen_rewards.device) \
        if sample_mask is None else sample_mask.to(chosen_rewards.dtype)
    norm = pairs.sum() if global_valid_pairs is None else global_valid_pairs
    per_pair = -F.logsigmoid(chosen_rewards - rejected_rewards) * pairs  # masked pairs contribute 0 (and no NaN)
    loss = masked_mean(per_pair, pairs, global_normalization_factor=norm)
    with torch.no_grad():
        chosen_mean = masked_mean(chosen_rewards, pairs, global_normalization_factor=norm).item()
        rejected_mean = masked_mean(rejected_rewards, pairs, global_normalization_factor=norm).item()
        metrics = {
            "loss": loss.item(),
            "accuracy": masked_mean((chosen_rewards > rejected_rewards).to(pairs.dtype), pairs,
                                    global_normalization_factor=norm).item(),
            "rewards_chosen_mean": chosen_mean,
            "rewards_rejected_mean": rejected_mean,
            "reward_margin": chosen_mean - rejected_mean,
            "num_valid_samples": pairs.sum().item(),
        }
    return loss, metrics
