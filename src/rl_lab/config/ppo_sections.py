"""The ``ppo``, ``value`` and ``value_loss_fn`` sections of PPO recipes.

Key names and defaults are NeMo RL v0.7.0's (``nemo_rl.algorithms.ppo.PPOConfig`` and
``AdvEstimatorConfig``, ``nemo_rl.models.value.config.ValueConfig``,
``nemo_rl.algorithms.loss.MseValueLossConfig`` and ``examples/configs/ppo_math_1B.yaml``).
A dataclass default is the recipe's value where NeMo RL's class has none (``MseValueLossConfig``
has its own: ``scale`` 1.0 and no clipping). The actor's ``loss_fn`` is GRPO's
:class:`~rl_lab.config.grpo_sections.LossFnConfig`, as NeMo RL reuses ``ClippedPGLossConfig``,
less ``use_cispo``, which ``ppo_math_1B.yaml`` does not have (:data:`PPOLossFnConfig`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Union

from rl_lab.config.errors import ConfigError
from rl_lab.config.grpo_sections import LossFnConfig, RewardShapingConfig, _loss_problems
from rl_lab.config.sections import OptimizerConfig, OptimizerKwargs, TokenizerConfig

PPO_ADV_ESTIMATOR_NAMES = ("gae", "raw_reward")


@dataclass(frozen=True)
class PPOAdvEstimatorConfig:
    """``ppo.adv_estimator``: GAE over the value model's token values, or the raw reward.

    Attributes:
        name: ``gae`` (bootstrapped from the value model) or ``raw_reward`` (the reward on
            every response token; no value enters the advantages and there are no returns).
        gae_lambda: GAE's lambda, used for both advantages and returns unless decoupled.
        gae_gamma: Discount per token (1: outcome rewards are not discounted).
        normalize_advantages: Whiten the advantages over every response token of the batch.
        gae_lambda_value: VAPO: lambda of the value model's returns (None: ``gae_lambda``).
        gae_lambda_policy: VAPO: lambda of the policy's advantages (None: ``gae_lambda``).
        length_adaptive_alpha: VAPO: when > 0 the policy's lambda is ``1 - 1/max(alpha * l, 1)``
            for a response of ``l`` tokens (it wins over ``gae_lambda_policy``).

    Raises:
        ConfigError: For another name, or a lambda or gamma outside ``[0, 1]``.

    Examples:
        >>> PPOAdvEstimatorConfig().gae_lambda, PPOAdvEstimatorConfig().gae_gamma
        (0.95, 1.0)
    """

    name: str = "gae"
    gae_lambda: float = 0.95
    gae_gamma: float = 1.0
    normalize_advantages: bool = True
    gae_lambda_value: Union[float, None] = None
    gae_lambda_policy: Union[float, None] = None
    length_adaptive_alpha: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in PPO_ADV_ESTIMATOR_NAMES:
            raise ConfigError(f"ppo.adv_estimator.name={self.name!r}; PPO supports {list(PPO_ADV_ESTIMATOR_NAMES)}")
        for key in ("gae_lambda", "gae_gamma", "gae_lambda_value", "gae_lambda_policy"):
            value = getattr(self, key)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"ppo.adv_estimator.{key} must be in [0, 1], got {value}")
        if self.length_adaptive_alpha < 0:
            raise ConfigError(f"ppo.adv_estimator.length_adaptive_alpha must be >= 0, got {self.length_adaptive_alpha}")


@dataclass(frozen=True)
class RewardScalingConfig:
    """``ppo.reward_scaling``: clamp rewards to ``[source_min, source_max]``, map them linearly to the target range.

    Examples:
        >>> RewardScalingConfig().target_min
        -1.0
    """

    enabled: bool = False
    source_min: float = 0.0
    source_max: float = 1.0
    target_min: float = -1.0
    target_max: float = 1.0

    def __post_init__(self) -> None:
        if self.source_max <= self.source_min:
            raise ConfigError(f"ppo.reward_scaling.source_max ({self.source_max}) must exceed source_min ({self.source_min})")


@dataclass(frozen=True)
class PPOSection:
    """``ppo``: rollout sizes, epochs per rollout, the critic warm-up and the advantage estimator.

    Attributes:
        ppo_epochs: Passes over each rollout batch; every pass trains the value model, then the policy.
        policy_training_start_step: Steps that train the value model only (critic warm-up).
        overlong_filtering: Samples cut off by the token budget get no loss (``sample_mask`` 0).
        skip_reference_policy_logprobs_calculation: No reference log-probs (needs
            ``loss_fn.reference_policy_kl_penalty`` 0).

    Raises:
        ConfigError: For ``ppo_epochs`` < 1 or a negative ``policy_training_start_step``.

    Examples:
        >>> PPOSection().ppo_epochs, PPOSection().adv_estimator.name
        (4, 'gae')
    """

    num_prompts_per_step: int = 32
    num_generations_per_prompt: int = 16
    max_rollout_turns: int = 1
    max_num_epochs: int = 100000
    max_num_steps: int = 100000
    ppo_epochs: int = 4
    policy_training_start_step: int = 0
    val_period: int = 20
    val_at_start: bool = True
    val_at_end: bool = False
    overlong_filtering: bool = False
    max_val_samples: int = 256
    val_batch_size: int = 256
    seed: int = 42
    skip_reference_policy_logprobs_calculation: bool = False
    reward_shaping: RewardShapingConfig = field(default_factory=RewardShapingConfig)
    reward_scaling: RewardScalingConfig = field(default_factory=RewardScalingConfig)
    adv_estimator: PPOAdvEstimatorConfig = field(default_factory=PPOAdvEstimatorConfig)

    def __post_init__(self) -> None:
        if self.ppo_epochs < 1:
            raise ConfigError(f"ppo.ppo_epochs must be >= 1, got {self.ppo_epochs}")
        if self.policy_training_start_step < 0:
            raise ConfigError(f"ppo.policy_training_start_step must be >= 0, got {self.policy_training_start_step}")


@dataclass(frozen=True)
class RewardModelCfg:
    """``value.reward_model_cfg``: the value model is a one-output regression head.

    Examples:
        >>> RewardModelCfg().reward_model_type
        'regression'
    """

    enabled: bool = True
    reward_model_type: str = "regression"

    def __post_init__(self) -> None:
        if not self.enabled or self.reward_model_type != "regression":
            raise ConfigError("the value model needs value.reward_model_cfg.enabled=true and "
                              "value.reward_model_cfg.reward_model_type='regression' (as NeMo RL's value worker asserts)")


def _value_optimizer() -> OptimizerConfig:
    return OptimizerConfig(kwargs=OptimizerKwargs(lr=1e-5, weight_decay=0.01, betas=(0.9, 0.999)))


@dataclass(frozen=True)
class ValueConfig:
    """``value``: the value model (critic), its batches and its optimizer.

    NeMo RL builds it from ``value.model_name`` (the policy's model by default) as a sequence
    classifier with one label: the policy's weights and a new, randomly initialised ``score``
    head. rl_lab does the same with the policy's starting model (:class:`rl_lab.ppo.ValueModel`).

    Attributes:
        model_name: ``rl_lab/tiny`` (the policy's starting model) or, in the ``full`` profile, a Hugging Face id.
        train_global_batch_size: Samples per value optimizer step.
        train_micro_batch_size: Samples per value forward/backward pass.
        max_grad_norm: Gradient clipping of the value model.
        optimizer: The value model's optimizer (its own learning rate).

    Examples:
        >>> ValueConfig().optimizer.kwargs.lr
        1e-05
    """

    model_name: str = "rl_lab/tiny"
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    train_global_batch_size: int = 64
    train_micro_batch_size: int = 64
    max_total_sequence_length: int = 64
    precision: str = "float32"
    max_grad_norm: Union[float, None] = 1.0
    reward_model_cfg: RewardModelCfg = field(default_factory=RewardModelCfg)
    optimizer: OptimizerConfig = field(default_factory=_value_optimizer)


@dataclass(frozen=True)
class MseValueLossConfig:
    """``value_loss_fn``: the value model's squared error, optionally clipped like PPO's ratio.

    Attributes:
        scale: Multiplier of the loss (NeMo RL's class default 1.0; ``ppo_math_1B.yaml`` sets 0.4).
        cliprange: Keep new values within ``old +- cliprange`` in the clipped term (None or 0: no clipping).

    Examples:
        >>> MseValueLossConfig().scale, MseValueLossConfig().cliprange is None
        (1.0, True)
    """

    scale: float = 1.0
    cliprange: Union[float, None] = None


def _ppo_loss_post_init(self) -> None:
    problems = _loss_problems(self)
    if problems:
        raise ConfigError("loss_fn: " + "; ".join(problems))


PPOLossFnConfig = dataclasses.make_dataclass(
    "PPOLossFnConfig",
    [(f.name, f.type, field(default=f.default)) for f in dataclasses.fields(LossFnConfig) if f.name != "use_cispo"],
    namespace={"use_cispo": False, "__post_init__": _ppo_loss_post_init,
               "__doc__": "``loss_fn`` of PPO recipes: :class:`~rl_lab.config.grpo_sections.LossFnConfig`'s keys but "
                          "``use_cispo`` (not a key of ``ppo_math_1B.yaml``; always False here).\n\n"
                          "Examples:\n    >>> PPOLossFnConfig().ratio_clip_max, PPOLossFnConfig().use_cispo\n    (0.2, False)\n"},
    frozen=True,
)
PPOLossFnConfig.__module__ = __name__  # its type hints resolve here, and the API pages place it here
