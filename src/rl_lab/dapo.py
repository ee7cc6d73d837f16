"""DAPO's reward-side pieces: overlong reward shaping and dynamic sampling.

Both are pure functions of tensors; :func:`rl_lab.grpo.grpo_step` calls them when
``grpo.reward_shaping.enabled`` and ``grpo.use_dynamic_sampling`` are set. DAPO's third
piece, clip-higher, is ``loss_fn.ratio_clip_max`` larger than ``loss_fn.ratio_clip_min``.

NeMo RL counterparts: ``nemo_rl.algorithms.reward_functions.apply_reward_shaping`` and
``nemo_rl.algorithms.grpo.dynamic_sampling``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rl_lab.config import RewardShapingConfig


def apply_reward_shaping(rewards: torch.Tensor, response_lengths: Sequence[int], truncated: Sequence[bool],
                         cfg: RewardShapingConfig, max_total_sequence_length: int) -> torch.Tensor:
    """Rewards after ``grpo.reward_shaping`` (unchanged when it is disabled).

    With ``stop_properly_penalty_coef`` set, the rewards of truncated answers are
    multiplied by it. Otherwise DAPO's overlong penalty: with ``E = max_response_length
    - overlong_buffer_length`` an answer of ``L`` tokens gets ``min(-(L - E) /
    overlong_buffer_length * overlong_buffer_penalty, 0)`` added, 0 up to ``E`` tokens,
    falling linearly to ``-overlong_buffer_penalty`` at ``max_response_length``, and further
    beyond it.

    Args:
        rewards: ``[B]`` rewards.
        response_lengths: Tokens of each sample's first answer.
        truncated: Whether each answer was cut off by the token budget.
        cfg: ``grpo.reward_shaping``.
        max_total_sequence_length: ``policy.max_total_sequence_length``, used when
            ``max_response_length`` is None.

    Returns:
        ``[B]`` shaped rewards.

    Examples:
        >>> cfg = RewardShapingConfig(enabled=True, overlong_buffer_length=4, overlong_buffer_penalty=1.0,
        ...                           max_response_length=10)
        >>> apply_reward_shaping(torch.ones(3), [5, 8, 12], [False] * 3, cfg, 64).tolist()  # E = 6
        [1.0, 0.5, -0.5]
    """
    if not cfg.enabled:
        return rewards
    if cfg.stop_properly_penalty_coef is not None:
        cut = torch.as_tensor(list(truncated), dtype=torch.bool)
        return torch.where(cut, rewards * cfg.stop_properly_penalty_coef, rewards)
    longest = max_total_sequence_length if cfg.max_response_length is None else cfg.max_response_length
    expected = longest - cfg.overlong_buffer_length
    penalty = [min(-(length - expected) / cfg.overlong_buffer_length * cfg.overlong_buffer_penalty, 0)
               for length in response_lengths]
    return rewards + torch.tensor(penalty, dtype=rewards.dtype)


def nonzero_std_groups(std: torch.Tensor) -> torch.Tensor:
    """Indices of the samples dynamic sampling keeps: those whose group's reward std is not 0.

    Args:
        std: ``[B]`` per-sample std of its group's rewards (as from
            :func:`rl_lab.advantages.grouped_baseline_and_std`).

    Returns:
        ``[K]`` long indices in batch order.

    Examples:
        >>> nonzero_std_groups(torch.tensor([0.0, 0.0, 0.5, 0.5])).tolist()
        [2, 3]
    """
    return torch.arange(len(std))[std != 0.0]


class DynamicSamplingBuffer:
    """Collects kept samples over generation batches until a training batch is full (DAPO).

    ``add`` takes the indices kept from one generation batch; ``full`` tells whether
    ``needed`` samples are there; :meth:`take` returns the first ``needed`` (the rest
    are discarded, as NeMo RL slices its buffer). More than ``max_gen_batches``
    generation batches without filling it is an error, as in NeMo RL.

    Args:
        needed: ``num_prompts_per_step * num_generations_per_prompt``.
        max_gen_batches: ``grpo.dynamic_sampling_max_gen_batches``.

    Examples:
        >>> buf = DynamicSamplingBuffer(needed=2, max_gen_batches=3)
        >>> buf.add(0, torch.tensor([4])); buf.full
        False
        >>> buf.add(1, torch.tensor([0, 1])); buf.full, buf.take()
        (True, [(0, 4), (1, 0)])
    """

    def __init__(self, needed: int, max_gen_batches: int) -> None:
        self.needed, self.max_gen_batches = needed, max_gen_batches
        self.kept: list[tuple[int, int]] = []
        self.gen_batches = 0

    def add(self, batch: int, indices: torch.Tensor) -> None:
        """Records the kept sample indices of generation batch ``batch``.

        Raises:
            RuntimeError: When the buffer is still short after more than ``max_gen_batches`` batches.
        """
        self.gen_batches += 1
        self.kept.extend((batch, i) for i in indices.tolist())
        if not self.full and self.gen_batches > self.max_gen_batches:
            raise RuntimeError(
                f"dynamic sampling kept {len(self.kept)} of the {self.needed} samples a step needs after "
                f"{self.gen_batches} generation batches (grpo.dynamic_sampling_max_gen_batches="
                f"{self.max_gen_batches}): too few prompt groups have rewards that differ. Raise "
                "grpo.dynamic_sampling_max_gen_batches or grpo.batch_multiplier, or use a task the policy "
                "solves sometimes but not always.")

    @property
    def full(self) -> bool:
        """Whether enough samples are kept."""
        return len(self.kept) >= self.needed

    @property
    def discarded(self) -> int:
        """Kept samples beyond what the step trains on (NeMo RL's ``dynamic_sampling_num_discarded_valid_samples``)."""
        return max(len(self.kept) - self.needed, 0)

    def take(self) -> list[tuple[int, int]]:
        """The first ``needed`` kept ``(generation batch, index)`` pairs."""
        return self.kept[: self.needed]
