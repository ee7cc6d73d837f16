"""The ``rl_lab:`` section: settings that exist only in rl_lab (model size, task, starting-checkpoint target)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Union

from rl_lab.config.errors import ConfigError

@dataclass(frozen=True)


class ModelSizeConfig:
    """``rl_lab.model``: shape of the randomly initialised tiny causal LM.

    Examples:
        >>> ModelSizeConfig().num_layers
        2
    """

    architecture: str = "llama"
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 256
    max_position_embeddings: int = 128


@dataclass(frozen=True)


class TaskConfig:
    """``rl_lab.task``: the synthetic task generator.

    Examples:
        >>> TaskConfig().name
        'addition'
    """

    name: str = "addition"
    max_operand: int = 99
    train_size: int = 4000
    val_size: int = 500
    seed: int = 1234
    zero_pad: bool = False
    label_noise: float = 0.0
    puzzle_size: int = 2
    puzzle_shuffle_moves: int = 2


TARGET_METRICS = ("sampled_accuracy", "greedy_accuracy", "legal_move_rate")


@dataclass(frozen=True)


class TargetConfig:
    """``rl_lab.target``: train until a held-out measurement lands in ``[low, high]``.

    A starting checkpoint is defined by what it must be ("right about half the
    time"), not by how many steps it took: the number of steps that reaches a
    given accuracy depends on the CPU's floating-point kernels, the target does
    not. Every ``check_period`` steps the model is measured on the held-out
    problems; training stops at the first measurement inside the band, and
    ``sft.max_num_steps`` is the cap (reaching it first is an error).

    Attributes:
        metric: ``sampled_accuracy`` (exact match of answers sampled at
            ``temperature``), ``greedy_accuracy`` (exact match of greedy answers)
            or ``legal_move_rate`` (sampled answers that are a legal sliding-puzzle
            move for the board shown; the ``puzzle_moves`` task).
        low: Lowest accepted value (inclusive).
        high: Highest accepted value (inclusive).
        check_period: Training steps between two measurements.
        temperature: Sampling temperature of the sampled metrics.
        seed: Sampling seed, fixed so that the measurement is a function of the weights.

    Raises:
        ConfigError: For an unknown metric or a band outside ``0 <= low <= high <= 1``.

    Examples:
        >>> TargetConfig("sampled_accuracy", 0.4, 0.5).check_period
        25
    """

    metric: str = "sampled_accuracy"
    low: float = 0.0
    high: float = 1.0
    check_period: int = 25
    temperature: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.metric not in TARGET_METRICS:
            close = difflib.get_close_matches(self.metric, TARGET_METRICS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"rl_lab.target.metric={self.metric!r} is not one of {list(TARGET_METRICS)}{hint}")
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ConfigError(f"rl_lab.target needs 0 <= low <= high <= 1, got low={self.low}, high={self.high}")
        if self.check_period < 1:
            raise ConfigError(f"rl_lab.target.check_period must be >= 1, got {self.check_period}")

    def contains(self, value: float) -> bool:
        """Whether a measured value lies in the band.

        Examples:
            >>> TargetConfig(low=0.4, high=0.5).contains(0.45), TargetConfig(low=0.4, high=0.5).contains(0.39)
            (True, False)
        """
        return self.low <= value <= self.high


@dataclass(frozen=True)


class RlLabSection:
    """``rl_lab``: everything that is rl_lab-only, kept apart from NeMo RL keys.

    Attributes:
        algorithm: Which trainer the recipe drives (sft, dpo, grpo, eval).
        nemo_rl_counterpart: The NeMo RL example config this recipe mirrors.
        init_checkpoint: Name of a cached starting checkpoint (see
            ``rl_lab.model_cache``) or None for a fresh random model.
        progress: Show tqdm progress bars.
        target: Train until a held-out measurement enters a band (SFT only;
            used by the cached starting checkpoints, see :class:`TargetConfig`).
        eval_max_new_tokens: Generation budget when scoring held-out problems.

    Examples:
        >>> RlLabSection().algorithm
        'sft'
    """

    algorithm: str = "sft"
    nemo_rl_counterpart: str = ""
    init_checkpoint: Union[str, None] = None
    progress: bool = True
    target: Union[TargetConfig, None] = None
    eval_max_new_tokens: int = 6
    model: ModelSizeConfig = field(default_factory=ModelSizeConfig)
    task: TaskConfig = field(default_factory=TaskConfig)


ADVANTAGE_GROUPS = ("datum", "prompt")


@dataclass(frozen=True)
class GRPORlLabSection(RlLabSection):
    """``rl_lab`` of GRPO recipes: adds how samples are grouped for advantages.

    Attributes:
        advantage_groups: ``datum`` (the generations of one drawn datum form a group) or
            ``prompt`` (NeMo RL's rule: samples with identical prompt tokens form a group,
            also when a prompt was drawn twice); see :mod:`rl_lab.grpo_batch`.
        generation_lag_steps: Generate each step's rollouts with the policy's weights from
            this many steps earlier (the start's weights until there are that many), so that
            generation and training disagree: the worst case of NeMo RL's asynchronous GRPO
            (``grpo.async_grpo.max_trajectory_age_steps``). 0 generates with the trained policy.

    Raises:
        ConfigError: For another ``advantage_groups`` value or a negative lag.

    Examples:
        >>> GRPORlLabSection().advantage_groups
        'datum'
    """

    advantage_groups: str = "datum"
    generation_lag_steps: int = 0

    def __post_init__(self) -> None:
        if self.advantage_groups not in ADVANTAGE_GROUPS:
            raise ConfigError(f"rl_lab.advantage_groups={self.advantage_groups!r}; choose one of {list(ADVANTAGE_GROUPS)}")
        if self.generation_lag_steps < 0:
            raise ConfigError(f"rl_lab.generation_lag_steps must be >= 0, got {self.generation_lag_steps}")


@dataclass(frozen=True)
class DistillationRlLabSection(RlLabSection):
    """``rl_lab`` of distillation recipes: adds the teacher's cached checkpoint.

    Attributes:
        teacher_checkpoint: Name of the cached checkpoint (``rl_lab.model_cache``) that is
            the teacher; :func:`rl_lab.run.train` fetches it (NeMo RL: ``teacher.model_name``).

    Examples:
        >>> DistillationRlLabSection().teacher_checkpoint is None
        True
    """

    teacher_checkpoint: Union[str, None] = None
