"""Reward models: training them (``rm``, ``policy.reward_model_cfg``) and scoring GRPO with one (``env.reward_model``).

Keys and defaults are NeMo RL v0.7.0's: ``rm`` and ``policy.reward_model_cfg`` from
``examples/configs/rm.yaml``, ``env.reward_model`` and ``data.default.env_name``
from ``examples/configs/grpo_rm_1B.yaml``. The two sections that extend shared ones,
``policy`` of RM recipes and ``data`` of GRPO recipes, are
:class:`~rl_lab.config.sections.RMPolicyConfig` and
:class:`~rl_lab.config.sections.GRPODataConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from rl_lab.config.errors import ConfigError

REWARD_MODEL_TYPES = ("bradley_terry",)


@dataclass(frozen=True)
class RewardModelCfg:
    """``policy.reward_model_cfg`` (and ``env.reward_model.reward_model_cfg``): load the model with a scalar head.

    ``enabled: true`` turns the causal LM into a sequence classifier with one output
    (NeMo RL loads ``AutoModelForSequenceClassification`` with ``num_labels=1``);
    ``bradley_terry`` is the only type NeMo RL's RM trainer and reward-model
    environment accept.

    Raises:
        ConfigError: For another ``reward_model_type``.

    Examples:
        >>> RewardModelCfg().reward_model_type
        'bradley_terry'
    """

    enabled: bool = True
    reward_model_type: str = "bradley_terry"

    def __post_init__(self) -> None:
        if self.reward_model_type not in REWARD_MODEL_TYPES:
            raise ConfigError(f"reward_model_cfg.reward_model_type={self.reward_model_type!r}; "
                              f"choose one of {list(REWARD_MODEL_TYPES)}")


@dataclass(frozen=True)
class RMSection:
    """``rm``: the reward-model training loop (defaults of NeMo RL's ``rm.yaml``).

    Training runs ``min(max_num_epochs * steps_per_epoch, max_num_steps)`` steps,
    where an epoch is ``len(train pairs) // policy.train_global_batch_size`` steps
    (the last partial batch is dropped) and ``max_num_steps: -1`` means no step limit.
    Validation scores ``val_batches`` batches (-1: all) of ``val_global_batch_size``
    held-out pairs, ``val_micro_batch_size`` pairs per forward pass.

    Examples:
        >>> RMSection().max_num_steps, RMSection().val_period
        (-1, 16)
    """

    max_num_epochs: int = 1
    max_num_steps: int = -1
    val_period: int = 16
    val_batches: int = -1
    val_global_batch_size: int = 32
    val_micro_batch_size: int = 1
    val_at_start: bool = False
    val_at_end: bool = False
    seed: int = 42


@dataclass(frozen=True)
class RewardModelEnvConfig:
    """``env.reward_model``: score GRPO rollouts with a trained reward model.

    In NeMo RL ``model_name`` is the Hugging Face path of the converted reward model
    and ``checkpoint_path`` optional weights to load into it. rl_lab's reward models
    are tiny rl_lab models (``model_name: rl_lab/tiny``): ``checkpoint_path`` is a
    directory written by :func:`rl_lab.rm.train_rm` with ``checkpointing.enabled``
    (its newest ``step_N``, or one ``step_N`` folder), or null when the model is
    passed in Python (``train_grpo(..., reward_model=...)``).

    Examples:
        >>> RewardModelEnvConfig().batch_size
        64
    """

    model_name: str = "rl_lab/tiny"
    checkpoint_path: Union[str, None] = None
    precision: str = "float32"
    batch_size: int = 64
    reward_model_cfg: RewardModelCfg = field(default_factory=RewardModelCfg)


@dataclass(frozen=True)
class DataDefaultConfig:
    """``data.default``: settings every dataset of a GRPO recipe shares; here only ``env_name``.

    ``env_name`` names the ``env`` sub-section that scores the training prompts
    (``math``, ``sliding_puzzle_game`` or ``reward_model``). Null: the one
    environment the recipe configures.

    Examples:
        >>> DataDefaultConfig("reward_model").env_name
        'reward_model'
    """

    env_name: Union[str, None] = None
