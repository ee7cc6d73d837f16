"""Whole recipes, one frozen dataclass per algorithm, built from the sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from rl_lab.config.distillation_sections import DistillationLossConfig, DistillationSection, TeacherConfig
from rl_lab.config.grpo_sections import GRPOSection, LossFnConfig
from rl_lab.config.opd_sections import OnPolicyDistillationConfig
from rl_lab.config.ppo_sections import MseValueLossConfig, PPOLossFnConfig, PPOSection, ValueConfig
from rl_lab.config.rl_lab_only import DistillationRlLabSection, GRPORlLabSection, RlLabSection
from rl_lab.config.sections import (
    CheckpointingConfig,
    DataConfig,
    DPOSection,
    EnvConfig,
    EvalGenerationConfig,
    EvalSection,
    GRPODataConfig,
    GRPOPolicyConfig,
    LoggerConfig,
    PolicyConfig,
    RMPolicyConfig,
    SFTSection,
)
from rl_lab.config.rm_sections import RMSection

@dataclass(frozen=True)


class TrainingRecipe:
    """The sections every training recipe has, besides its algorithm's own."""

    policy: PolicyConfig = field(default_factory=PolicyConfig)
    data: DataConfig = field(default_factory=DataConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    checkpointing: CheckpointingConfig = field(default_factory=CheckpointingConfig)
    rl_lab: RlLabSection = field(default_factory=RlLabSection)


@dataclass(frozen=True)


class SFTRecipe(TrainingRecipe):
    """An SFT recipe (counterpart: ``examples/configs/sft.yaml``).

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> load_recipe("sft_addition").sft.seed
        42
    """

    sft: SFTSection = field(default_factory=SFTSection)


@dataclass(frozen=True)


class DPORecipe(TrainingRecipe):
    """A DPO recipe (counterpart: ``examples/configs/dpo.yaml``).

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> load_recipe("dpo_addition").dpo.reference_policy_kl_penalty > 0
        True
    """

    dpo: DPOSection = field(default_factory=DPOSection)


@dataclass(frozen=True)


class GRPORecipe(TrainingRecipe):
    """A GRPO recipe (counterparts: ``grpo_math_1B.yaml``, ``grpo_sliding_puzzle.yaml``).

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> load_recipe("grpo_math").loss_fn.reference_policy_kl_type
        'k3'
    """

    policy: GRPOPolicyConfig = field(default_factory=GRPOPolicyConfig)
    data: GRPODataConfig = field(default_factory=GRPODataConfig)
    grpo: GRPOSection = field(default_factory=GRPOSection)
    loss_fn: LossFnConfig = field(default_factory=LossFnConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    on_policy_distillation: Optional[OnPolicyDistillationConfig] = None
    rl_lab: GRPORlLabSection = field(default_factory=GRPORlLabSection)


@dataclass(frozen=True)
class RMRecipe(TrainingRecipe):
    """A reward-model recipe (counterpart: ``examples/configs/rm.yaml``).

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> load_recipe("rm_addition").policy.reward_model_cfg.reward_model_type
        'bradley_terry'
    """

    policy: RMPolicyConfig = field(default_factory=RMPolicyConfig)
    rm: RMSection = field(default_factory=RMSection)


@dataclass(frozen=True)
class DistillationRecipe(TrainingRecipe):
    """An on-policy distillation recipe (counterpart: ``examples/configs/distillation_math.yaml``).

    ``policy`` is the student (with ``policy.generation``: it samples the responses),
    ``teacher`` the frozen model that scores them.

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> load_recipe("distillation_math").loss_fn.kl_type
        'mixed'
    """

    policy: GRPOPolicyConfig = field(default_factory=GRPOPolicyConfig)
    distillation: DistillationSection = field(default_factory=DistillationSection)
    loss_fn: DistillationLossConfig = field(default_factory=DistillationLossConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    rl_lab: DistillationRlLabSection = field(default_factory=DistillationRlLabSection)


@dataclass(frozen=True)
class PPORecipe(TrainingRecipe):
    """A PPO recipe (counterpart: ``examples/configs/ppo_math_1B.yaml``).

    ``policy`` is the actor, ``value`` the critic, ``loss_fn`` the actor's clipped loss and
    ``value_loss_fn`` the critic's.

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> load_recipe("ppo_addition").ppo.adv_estimator.name
        'gae'
    """

    policy: GRPOPolicyConfig = field(default_factory=GRPOPolicyConfig)
    ppo: PPOSection = field(default_factory=PPOSection)
    loss_fn: PPOLossFnConfig = field(default_factory=PPOLossFnConfig)
    value: ValueConfig = field(default_factory=ValueConfig)
    value_loss_fn: MseValueLossConfig = field(default_factory=MseValueLossConfig)
    env: EnvConfig = field(default_factory=EnvConfig)


@dataclass(frozen=True)


class EvalRecipe:
    """An evaluation recipe (counterpart: ``examples/configs/evals/eval.yaml``).

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> load_recipe("eval_addition").eval.metric
        'pass@k'
    """

    eval: EvalSection = field(default_factory=EvalSection)
    generation: EvalGenerationConfig = field(default_factory=EvalGenerationConfig)
    rl_lab: RlLabSection = field(default_factory=RlLabSection)


Recipe = Union[SFTRecipe, DPORecipe, GRPORecipe, RMRecipe, DistillationRecipe, PPORecipe, EvalRecipe]
RECIPE_TYPES: dict[str, type] = {
    "sft": SFTRecipe,
    "dpo": DPORecipe,
    "grpo": GRPORecipe,
    "rm": RMRecipe,
    "eval": EvalRecipe,
    "distillation": DistillationRecipe,
    "ppo": PPORecipe,
}
