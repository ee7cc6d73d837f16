"""The ``on_policy_distillation`` section: multi-teacher on-policy distillation (MOPD) on GRPO.

Key names and defaults are NeMo RL v0.7.0's (``nemo_rl.algorithms.opd.OnPolicyDistillationConfig``,
enabled in ``examples/configs/recipes/llm/mopd-qwen3-1.7b-3n8g-megatron-pack.yaml``; null in
``grpo_math_1B.yaml``). The section is used together with ``grpo.adv_estimator.name=opd``.
In rl_lab a teacher "model" is the name of a cached checkpoint (:mod:`rl_lab.model_cache`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from rl_lab.config.errors import ConfigError


@dataclass(frozen=True)
class OnPolicyDistillationConfig:
    """``on_policy_distillation``: which teacher scores which sample.

    Every sample carries the name of the agent that produced it (NeMo Gym's
    ``agent_ref.name``; in rl_lab a datum's ``agent_ref``). The name is looked up in
    ``teacher_model_by_agent_name``; the sample's advantage is then its own teacher's
    log-probability minus the student's, token by token. One teacher per sample: the
    teachers' scores are never mixed.

    Attributes:
        enabled: Compute teacher log-probs during rollouts.
        teacher_model_by_agent_name: Agent name (the teacher's *alias*) -> teacher model
            (NeMo RL: a checkpoint path; rl_lab: a :data:`rl_lab.model_cache.CHECKPOINTS` name).
        default_teacher_alias: Alias used for agents missing from the map (must be a key of it).
        strict_agent_name_match: An unmapped agent is an error instead of falling back.
        deduplicate_shared_teacher_checkpoints: Aliases naming the same model share one
            teacher (one worker group in NeMo RL, one model in rl_lab).
        non_colocated_teachers: NeMo RL's GPU placement of the teachers (``enabled``,
            ``default_teacher_cfg``, ``teacher_overrides``); accepted and ignored by rl_lab,
            whose teachers live in the same process.

    Raises:
        ConfigError: For an empty map, a non-string alias or model, or a ``default_teacher_alias``
            that is not a key of the map while ``strict_agent_name_match`` is false.

    Examples:
        >>> OnPolicyDistillationConfig().deduplicate_shared_teacher_checkpoints
        True
        >>> OnPolicyDistillationConfig(True, {"math": "sft-addition-teacher"}, "coding")
        Traceback (most recent call last):
        ...
        rl_lab.config.errors.ConfigError: on_policy_distillation.default_teacher_alias='coding' is not a key of on_policy_distillation.teacher_model_by_agent_name (available: ['math']); add it to the map or set default_teacher_alias to one of its keys
    """

    enabled: bool = False
    teacher_model_by_agent_name: Mapping[str, str] = field(default_factory=dict)
    default_teacher_alias: Optional[str] = None
    strict_agent_name_match: bool = False
    deduplicate_shared_teacher_checkpoints: bool = True
    non_colocated_teachers: Optional[Mapping[str, Any]] = None

    def __post_init__(self) -> None:
        key = "on_policy_distillation.teacher_model_by_agent_name"
        table = self.teacher_model_by_agent_name
        if not isinstance(table, Mapping):
            raise ConfigError(f"{key} expects a mapping agent name -> teacher model, got {table!r}")
        bad = {k: v for k, v in table.items() if not isinstance(k, str) or not isinstance(v, str)}
        if bad:
            raise ConfigError(f"{key} maps agent names to model names (strings); these entries are not: {bad}")
        if self.enabled and not table:
            raise ConfigError(f"on_policy_distillation.enabled=true needs at least one teacher in {key}, "
                              "e.g. {default_teacher: sft-addition-teacher}")
        alias = self.default_teacher_alias
        if alias is not None and not self.strict_agent_name_match and alias not in table:
            raise ConfigError(f"on_policy_distillation.default_teacher_alias={alias!r} is not a key of {key} "
                              f"(available: {sorted(table)}); add it to the map or set default_teacher_alias to one of its keys")
