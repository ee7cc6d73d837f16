"""Recipe sections whose keys are NeMo RL's (``policy``, ``sft``, ``dpo``, ``env``, ``eval`` ...).

``grpo`` and ``loss_fn`` live in :mod:`rl_lab.config.grpo_sections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from rl_lab.config.rm_sections import DataDefaultConfig, RewardModelCfg, RewardModelEnvConfig

@dataclass(frozen=True)


class OptimizerKwargs:
    """``policy.optimizer.kwargs``: keyword arguments of ``torch.optim.AdamW``.

    Examples:
        >>> OptimizerKwargs(lr=1e-3).lr
        0.001
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, ...] = (0.9, 0.98)
    eps: float = 1e-8


@dataclass(frozen=True)


class OptimizerConfig:
    """``policy.optimizer``: optimizer class name and its kwargs.

    Examples:
        >>> OptimizerConfig().name
        'torch.optim.AdamW'
    """

    name: str = "torch.optim.AdamW"
    kwargs: OptimizerKwargs = field(default_factory=OptimizerKwargs)


@dataclass(frozen=True)


class TokenizerConfig:
    """``policy.tokenizer``: which tokenizer to use (rl_lab has one, ``rl_lab/char``).

    Examples:
        >>> TokenizerConfig().name
        'rl_lab/char'
    """

    name: str = "rl_lab/char"


@dataclass(frozen=True)


class GenerationConfig:
    """``policy.generation``: sampling settings used for rollouts.

    Examples:
        >>> GenerationConfig(temperature=0.7).temperature
        0.7
    """

    max_new_tokens: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: Union[int, None] = None
    stop_strings: Union[tuple[str, ...], None] = None
    stop_token_ids: Union[tuple[int, ...], None] = None


@dataclass(frozen=True)


class PolicyConfig:
    """``policy``: the trained model, its batch sizes and its optimizer.

    ``model_name`` is ``rl_lab/tiny`` (a randomly initialised model built from
    ``rl_lab.model``) or, in the ``full`` profile, any Hugging Face model id.

    Examples:
        >>> PolicyConfig().train_global_batch_size
        64
    """

    model_name: str = "rl_lab/tiny"
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    train_global_batch_size: int = 64
    train_micro_batch_size: int = 64
    max_total_sequence_length: int = 64
    precision: str = "float32"
    max_grad_norm: Union[float, None] = 1.0
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)


@dataclass(frozen=True)


class GRPOPolicyConfig(PolicyConfig):
    """``policy`` for GRPO: adds ``policy.generation`` (rollout sampling).

    Examples:
        >>> GRPOPolicyConfig().generation.top_p
        1.0
    """

    generation: GenerationConfig = field(default_factory=GenerationConfig)


@dataclass(frozen=True)
class RMPolicyConfig(PolicyConfig):
    """``policy`` of a reward-model recipe: adds ``policy.reward_model_cfg``.

    Examples:
        >>> RMPolicyConfig().reward_model_cfg.enabled
        True
    """

    reward_model_cfg: RewardModelCfg = field(default_factory=RewardModelCfg)


@dataclass(frozen=True)


class DataConfig:
    """``data``: data loading switches.

    Examples:
        >>> DataConfig().shuffle
        True
    """

    shuffle: bool = True


@dataclass(frozen=True)
class GRPODataConfig(DataConfig):
    """``data`` of GRPO recipes: adds ``data.default`` (which environment scores the prompts).

    Examples:
        >>> GRPODataConfig().default is None
        True
    """

    default: Union[DataDefaultConfig, None] = None


@dataclass(frozen=True)


class LoggerConfig:
    """``logger``: where JSONL metric logs go (``logger.log_dir``; null: memory only).

    Examples:
        >>> LoggerConfig().log_dir
        'logs'
    """

    log_dir: Union[str, None] = "logs"


@dataclass(frozen=True)


class CheckpointingConfig:
    """``checkpointing``: periodic checkpoints for exact resume.

    Examples:
        >>> CheckpointingConfig().enabled
        False
    """

    enabled: bool = False
    checkpoint_dir: str = "results/rl_lab"
    save_period: int = 10
    save_optimizer: bool = True


@dataclass(frozen=True)


class SFTSection:
    """``sft``: the supervised fine-tuning loop.

    Examples:
        >>> SFTSection().max_num_steps
        100
    """

    max_num_steps: int = 100
    max_num_epochs: int = 1000
    val_period: int = 50
    val_at_start: bool = False
    val_at_end: bool = True
    seed: int = 42


@dataclass(frozen=True)


class DPOSection:
    """``dpo``: the DPO loop and its loss weights.

    ``reference_policy_kl_penalty`` is DPO's beta.

    Examples:
        >>> DPOSection().reference_policy_kl_penalty
        0.05
    """

    max_num_steps: int = 100
    max_num_epochs: int = 1000
    val_period: int = 25
    val_at_start: bool = True
    val_at_end: bool = True
    seed: int = 42
    reference_policy_kl_penalty: float = 0.05
    preference_average_log_probs: bool = False
    sft_average_log_probs: bool = False
    preference_loss_weight: float = 1.0
    sft_loss_weight: float = 0.0


@dataclass(frozen=True)


class MathEnvConfig:
    """``env.math``: the math verifier environment.

    Examples:
        >>> MathEnvConfig().num_workers
        1
    """

    num_workers: int = 1


@dataclass(frozen=True)


class GameConfig:
    """``env.sliding_puzzle_game.cfg.game_config``: board size and shuffling.

    Examples:
        >>> GameConfig().size
        2
    """

    size: int = 2
    shuffle_moves: int = 1


@dataclass(frozen=True)


class SlidingPuzzleCfg:
    """``env.sliding_puzzle_game.cfg``: game config plus the move budget.

    Examples:
        >>> SlidingPuzzleCfg().max_moves
        4
    """

    game_config: GameConfig = field(default_factory=GameConfig)
    max_moves: int = 4


@dataclass(frozen=True)


class SlidingPuzzleEnvConfig:
    """``env.sliding_puzzle_game``: the multi-turn sliding-puzzle environment.

    Examples:
        >>> SlidingPuzzleEnvConfig().cfg.game_config.shuffle_moves
        1
    """

    cfg: SlidingPuzzleCfg = field(default_factory=SlidingPuzzleCfg)


@dataclass(frozen=True)


class EnvConfig:
    """``env``: one sub-section per environment used by the recipe.

    Examples:
        >>> EnvConfig().math is None
        True
    """

    math: Union[MathEnvConfig, None] = None
    sliding_puzzle_game: Union[SlidingPuzzleEnvConfig, None] = None
    reward_model: Union[RewardModelEnvConfig, None] = None


@dataclass(frozen=True)


class EvalSection:
    """``eval``: the evaluation metric (``pass@k``) and samples per prompt.

    Examples:
        >>> EvalSection().k_value
        1
    """

    metric: str = "pass@k"
    num_tests_per_prompt: int = 1
    seed: int = 42
    k_value: int = 1


@dataclass(frozen=True)


class EvalGenerationConfig:
    """``generation`` in evaluation recipes (top level, as in NeMo RL's eval configs).

    Examples:
        >>> EvalGenerationConfig().temperature
        0.0
    """

    model_name: str = "rl_lab/tiny"
    max_new_tokens: int = 6
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: Union[int, None] = None
