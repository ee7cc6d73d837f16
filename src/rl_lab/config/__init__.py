"""Typed, frozen recipe configs read from YAML with NeMo RL's key names.

A recipe is a YAML file in ``rl_lab/recipes/``. Its sections and keys are
named exactly like NeMo RL's (``policy.*``, ``sft.*``, ``dpo.*``, ``rm.*``, ``grpo.*``,
``loss_fn.*``, ``data.*``, ``env.*``, ``logger.*``, ``checkpointing.*``,
``eval.*``, ``generation.*``) wherever the concept is the same, so a reader can
carry a key from this book to a real NeMo RL run. Everything that exists only in
rl_lab (tiny model sizes, synthetic task knobs, the name of the NeMo RL
counterpart file) lives under the separate top-level ``rl_lab:`` section.

Overrides use NeMo RL's dotted ``key=value`` syntax and values are parsed as
YAML scalars (``8`` is an int, ``0.5`` a float, ``null`` is None, ``[1, 2]`` a
list). Unknown keys and wrongly typed values raise :class:`~rl_lab.config.errors.ConfigError` naming
the dotted key, where it came from, and the closest valid key.

Examples:
    >>> cfg = load_recipe("grpo_math", overrides=["grpo.num_prompts_per_step=8"])
    >>> cfg.grpo.num_prompts_per_step
    8
    >>> "grpo.num_prompts_per_step" in nemo_rl_keys(cfg)
    True

The package is split by concern; everything public is importable from
``rl_lab.config`` itself:

* :mod:`rl_lab.config.sections`: sections with NeMo RL's keys (``policy``,
  ``sft``, ``dpo``, ``env``, ``eval`` ...);
* :mod:`rl_lab.config.grpo_sections`: ``grpo`` and ``loss_fn``, with the advantage
  estimators, DAPO's pieces and the loss variants NeMo RL selects by key;
* :mod:`rl_lab.config.distillation_sections`: ``distillation``, its ``loss_fn`` and ``teacher``;
* :mod:`rl_lab.config.opd_sections`: ``on_policy_distillation`` (multi-teacher distillation on GRPO);
* :mod:`rl_lab.config.rm_sections`: reward models (``rm``, ``reward_model_cfg``,
  ``env.reward_model``, ``data.default.env_name``);
* :mod:`rl_lab.config.ppo_sections`: ``ppo`` (with GAE's ``adv_estimator``), ``value`` and ``value_loss_fn``;
* :mod:`rl_lab.config.rl_lab_only`: the ``rl_lab:`` section (model size, task,
  starting-checkpoint target);
* :mod:`rl_lab.config.recipes`: one recipe class per algorithm;
* :mod:`rl_lab.config.overrides`: parsing ``key=value``;
* :mod:`rl_lab.config.loader`: YAML with line numbers, type checks, :func:`~rl_lab.config.loader.load_recipe`;
* :mod:`rl_lab.config.keys`: plain dicts, the hash that keys cached checkpoints,
  the NeMo RL keys a recipe presents;
* :mod:`rl_lab.config.errors`: :class:`~rl_lab.config.errors.ConfigError`.
"""

from rl_lab.config.distillation_sections import KL_TYPES, DistillationLossConfig, DistillationSection, TeacherConfig
from rl_lab.config.errors import ConfigError
from rl_lab.config.grpo_sections import (
    ADV_ESTIMATOR_NAMES,
    TRUNCATED_IS_TYPES,
    AdvEstimatorConfig,
    GRPOSection,
    LossFnConfig,
    RewardShapingConfig,
)
from rl_lab.config.keys import config_hash, nemo_rl_keys, to_dict
from rl_lab.config.loader import RECIPE_DIR, list_recipes, load_recipe
from rl_lab.config.opd_sections import OnPolicyDistillationConfig
from rl_lab.config.overrides import parse_override
from rl_lab.config.ppo_sections import (
    PPO_ADV_ESTIMATOR_NAMES,
    MseValueLossConfig,
    PPOAdvEstimatorConfig,
    PPOLossFnConfig,
    PPOSection,
    RewardModelCfg,
    RewardScalingConfig,
    ValueConfig,
)
from rl_lab.config.recipes import (
    RECIPE_TYPES,
    DistillationRecipe,
    DPORecipe,
    EvalRecipe,
    GRPORecipe,
    PPORecipe,
    Recipe,
    RMRecipe,
    SFTRecipe,
)
from rl_lab.config.rl_lab_only import (
    ADVANTAGE_GROUPS,
    TARGET_METRICS,
    DistillationRlLabSection,
    GRPORlLabSection,
    ModelSizeConfig,
    RlLabSection,
    TargetConfig,
    TaskConfig,
)
from rl_lab.config.rm_sections import (
    REWARD_MODEL_TYPES,
    DataDefaultConfig,
    RewardModelEnvConfig,
    RMSection,
)
from rl_lab.config.sections import (
    CheckpointingConfig,
    DataConfig,
    DPOSection,
    EnvConfig,
    EvalGenerationConfig,
    EvalSection,
    GameConfig,
    GenerationConfig,
    GRPODataConfig,
    GRPOPolicyConfig,
    LoggerConfig,
    MathEnvConfig,
    OptimizerConfig,
    OptimizerKwargs,
    PolicyConfig,
    RMPolicyConfig,
    SFTSection,
    SlidingPuzzleCfg,
    SlidingPuzzleEnvConfig,
    TokenizerConfig,
)

__all__ = [
    "OnPolicyDistillationConfig",
    "ADVANTAGE_GROUPS", "ADV_ESTIMATOR_NAMES", "AdvEstimatorConfig", "GRPORlLabSection", "RewardShapingConfig", "TRUNCATED_IS_TYPES",
    "CheckpointingConfig", "ConfigError", "DPORecipe", "DPOSection", "DataConfig", "EnvConfig", "EvalGenerationConfig",
    "EvalRecipe", "EvalSection", "GRPOPolicyConfig", "GRPORecipe", "GRPOSection", "GameConfig", "GenerationConfig",
    "LoggerConfig", "LossFnConfig", "MathEnvConfig", "ModelSizeConfig", "OptimizerConfig", "OptimizerKwargs",
    "PolicyConfig", "RECIPE_DIR", "RECIPE_TYPES", "Recipe", "RlLabSection", "SFTRecipe", "SFTSection",
    "SlidingPuzzleCfg", "SlidingPuzzleEnvConfig", "TARGET_METRICS", "TargetConfig", "TaskConfig", "TokenizerConfig",
    "config_hash", "list_recipes", "load_recipe", "nemo_rl_keys", "parse_override", "to_dict",
    "DataDefaultConfig", "GRPODataConfig", "REWARD_MODEL_TYPES", "RMPolicyConfig", "RMRecipe", "RMSection",
    "RewardModelEnvConfig",
    "DistillationLossConfig", "DistillationRecipe", "DistillationRlLabSection", "DistillationSection", "KL_TYPES",
    "TeacherConfig", "MseValueLossConfig", "PPOAdvEstimatorConfig", "PPOLossFnConfig", "PPORecipe", "PPOSection", "PPO_ADV_ESTIMATOR_NAMES",
    "RewardModelCfg", "RewardScalingConfig", "ValueConfig",
]
