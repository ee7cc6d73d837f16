"""The ``grpo`` and ``loss_fn`` sections, with NeMo RL v0.7.0's key names and defaults.

Besides the plain GRPO keys they hold the variants NeMo RL selects by key: the
advantage estimator (``grpo.adv_estimator.name``), DAPO's dynamic sampling and
overlong reward shaping, and the options of ``ClippedPGLossFn`` (GSPO's
sequence-level ratio, CISPO, REINFORCE without a ratio, a forced on-policy ratio,
truncated importance sampling, the on-policy KL approximation, KL in the reward,
the positive-example NLL term). Each section checks its values when it is built,
as NeMo RL's constructors assert them, and names the key to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from rl_lab.config.errors import ConfigError

ADV_ESTIMATOR_NAMES = ("grpo", "gdpo", "reinforce_plus_plus", "opd")
TRUNCATED_IS_TYPES = ("tis", "icepop", "seq-mask-tis")


@dataclass(frozen=True)
class AdvEstimatorConfig:
    """``grpo.adv_estimator``: which advantage estimator turns rewards into advantages.

    ``normalize_rewards`` and ``use_leave_one_out_baseline`` left at None take the
    values of ``grpo.normalize_rewards`` and ``grpo.use_leave_one_out_baseline``,
    as NeMo RL's recipes write them (``${grpo.normalize_rewards}``).

    Attributes:
        name: ``grpo``, ``gdpo`` (one baseline per reward component), ``reinforce_plus_plus``
            (batch-normalised, optionally minus the prompt's mean) or ``opd`` (teacher minus
            student log-probs; needs a teacher).
        normalize_rewards: Divide by the prompt group's std (grpo, gdpo).
        use_leave_one_out_baseline: Baseline from the other samples of the prompt (grpo, gdpo).
        minus_baseline: Subtract the prompt group's mean first (reinforce_plus_plus).

    Raises:
        ConfigError: For an unknown name.

    Examples:
        >>> AdvEstimatorConfig().name
        'grpo'
    """

    name: str = "grpo"
    normalize_rewards: Union[bool, None] = None
    use_leave_one_out_baseline: Union[bool, None] = None
    minus_baseline: bool = True

    def __post_init__(self) -> None:
        if self.name not in ADV_ESTIMATOR_NAMES:
            raise ConfigError(f"grpo.adv_estimator.name={self.name!r}; choose one of {list(ADV_ESTIMATOR_NAMES)}")


@dataclass(frozen=True)
class RewardShapingConfig:
    """``grpo.reward_shaping``: DAPO's overlong penalty, or a penalty for truncated answers.

    With ``L`` the response length and ``E = max_response_length - overlong_buffer_length``,
    an enabled shaping adds ``min(-(L - E) / overlong_buffer_length * overlong_buffer_penalty, 0)``
    to the reward; with ``stop_properly_penalty_coef`` set it instead multiplies the reward of
    answers cut off by the token budget by that coefficient (and ignores the overlong keys).

    Attributes:
        enabled: Apply the shaping.
        overlong_buffer_length: Tokens over ``E`` over which the penalty grows to its maximum.
        overlong_buffer_penalty: Largest penalty (>= 0).
        max_response_length: Length that gets the full penalty; None means
            ``policy.max_total_sequence_length``, the value NeMo RL's recipe interpolates.
        stop_properly_penalty_coef: Factor in ``[0, 1]`` for truncated answers (None: off).

    Raises:
        ConfigError: For a negative penalty or a coefficient outside ``[0, 1]``.

    Examples:
        >>> RewardShapingConfig().enabled
        False
    """

    enabled: bool = False
    overlong_buffer_length: int = 128
    overlong_buffer_penalty: float = 1.0
    max_response_length: Union[int, None] = None
    stop_properly_penalty_coef: Union[float, None] = None

    def __post_init__(self) -> None:
        if self.overlong_buffer_penalty < 0:
            raise ConfigError(f"grpo.reward_shaping.overlong_buffer_penalty must be >= 0, got {self.overlong_buffer_penalty}")
        coef = self.stop_properly_penalty_coef
        if coef is not None and not 0 <= coef <= 1:
            raise ConfigError(f"grpo.reward_shaping.stop_properly_penalty_coef must be in [0, 1], got {coef}")
        if self.enabled and coef is None and self.overlong_buffer_length <= 0:
            raise ConfigError(f"grpo.reward_shaping.overlong_buffer_length must be > 0, got {self.overlong_buffer_length}")


@dataclass(frozen=True)
class GRPOSection:
    """``grpo``: rollout sizes, advantage options, DAPO's dynamic sampling and loop length.

    With ``use_dynamic_sampling`` each generation batch has
    ``int(num_prompts_per_step * batch_multiplier)`` prompts; prompt groups whose rewards
    all agree are dropped, and batches are generated until ``num_prompts_per_step *
    num_generations_per_prompt`` samples are kept (an error after more than
    ``dynamic_sampling_max_gen_batches`` batches).

    Raises:
        ConfigError: ``batch_multiplier`` other than 1 without dynamic sampling, or a
            ``dynamic_sampling_max_gen_batches`` below 1 with it.

    Examples:
        >>> GRPOSection().num_generations_per_prompt
        8
    """

    num_prompts_per_step: int = 16
    num_generations_per_prompt: int = 8
    max_rollout_turns: int = 1
    max_num_steps: int = 50
    max_num_epochs: int = 1000
    normalize_rewards: bool = True
    use_leave_one_out_baseline: bool = True
    val_period: int = 10
    val_at_start: bool = True
    val_at_end: bool = True
    max_val_samples: int = 256
    seed: int = 42
    use_dynamic_sampling: bool = False
    dynamic_sampling_max_gen_batches: int = 10
    batch_multiplier: float = 1.0
    reward_shaping: RewardShapingConfig = field(default_factory=RewardShapingConfig)
    adv_estimator: AdvEstimatorConfig = field(default_factory=AdvEstimatorConfig)

    def __post_init__(self) -> None:
        if not self.use_dynamic_sampling and self.batch_multiplier != 1:
            raise ConfigError(f"grpo.batch_multiplier={self.batch_multiplier} needs grpo.use_dynamic_sampling=true")
        if self.use_dynamic_sampling and self.dynamic_sampling_max_gen_batches < 1:
            raise ConfigError("grpo.dynamic_sampling_max_gen_batches must be > 0 with grpo.use_dynamic_sampling=true")


@dataclass(frozen=True)
class LossFnConfig:
    """``loss_fn``: the clipped policy-gradient loss and its variants (NeMo RL's ``ClippedPGLossConfig``).

    Attributes:
        reference_policy_kl_penalty: KL coefficient beta.
        reference_policy_kl_type: ``k1``, ``k2`` or ``k3``.
        kl_input_clamp_value: Clamp of the log-ratio before the KL estimator.
        kl_output_clamp_value: Clamp of the per-token KL estimate.
        ratio_clip_min: Lower clip ``1 - ratio_clip_min``.
        ratio_clip_max: Upper clip ``1 + ratio_clip_max`` (larger than the lower: DAPO's clip-higher).
        ratio_clip_c: Dual-clip constant (> 1) or None.
        token_level_loss: Token-level (True) or sequence-level mean.
        disable_ppo_ratio: REINFORCE: the surrogate is ``-A * logprob``, no ratio, no clip.
        sequence_level_importance_ratios: GSPO: one ratio per sequence, the exponent of the mean
            token log-ratio (needs ``token_level_loss=false``).
        force_on_policy_ratio: The ratio is 1 in value (``exp(lp - lp.detach())``).
        use_cispo: CISPO: ``-A * stopgrad(clip(ratio)) * logprob``.
        use_kl_in_reward: The KL goes into the reward (Reinforce++) instead of the loss.
        use_importance_sampling_correction: Weight each token by ``pi_train / pi_gen`` of the
            sampling policy, for generation that disagrees with training.
        truncated_importance_sampling_type: ``tis`` (clamp the weights), ``icepop`` (zero tokens
            out of bounds) or ``seq-mask-tis`` (zero sequences whose geometric-mean weight is out
            of bounds), or None.
        truncated_importance_sampling_ratio: Upper bound of the weights.
        truncated_importance_sampling_ratio_min: Lower bound (None: 0 for tis).
        use_on_policy_kl_approximation: Weight the KL by ``pi / pi_gen`` (its samples came from
            the generation policy).
        positive_example_nll_weight: VAPO's weight of an NLL term on samples with reward > 0.

    Raises:
        ConfigError: For combinations NeMo RL rejects (e.g. CISPO with dual clipping, GSPO at
            token level, truncation without importance sampling correction).

    Examples:
        >>> LossFnConfig().ratio_clip_max
        0.2
    """

    reference_policy_kl_penalty: float = 0.01
    reference_policy_kl_type: str = "k3"
    kl_input_clamp_value: Union[float, None] = 20.0
    kl_output_clamp_value: Union[float, None] = 10.0
    ratio_clip_min: float = 0.2
    ratio_clip_max: float = 0.2
    ratio_clip_c: Union[float, None] = None
    token_level_loss: bool = True
    disable_ppo_ratio: bool = False
    sequence_level_importance_ratios: bool = False
    force_on_policy_ratio: bool = False
    use_cispo: bool = False
    use_kl_in_reward: bool = False
    use_importance_sampling_correction: bool = False
    truncated_importance_sampling_type: Union[str, None] = None
    truncated_importance_sampling_ratio: Union[float, None] = None
    truncated_importance_sampling_ratio_min: Union[float, None] = None
    use_on_policy_kl_approximation: bool = False
    positive_example_nll_weight: float = 0.0

    def __post_init__(self) -> None:
        problems = _loss_problems(self)
        if problems:
            raise ConfigError("loss_fn: " + "; ".join(problems))


def _loss_problems(cfg: LossFnConfig) -> list[str]:
    """What NeMo RL's ``ClippedPGLossFn`` constructor would reject, one sentence each."""
    problems = []
    if cfg.sequence_level_importance_ratios and cfg.token_level_loss:
        problems.append("sequence_level_importance_ratios=true needs token_level_loss=false")
    if cfg.use_cispo:
        clashes = [k for k in ("disable_ppo_ratio", "force_on_policy_ratio", "sequence_level_importance_ratios")
                   if getattr(cfg, k)]
        clashes += ["ratio_clip_c"] if cfg.ratio_clip_c is not None else []
        clashes += ["token_level_loss=false"] if not cfg.token_level_loss else []
        if clashes:
            problems.append(f"use_cispo=true cannot be combined with {', '.join(clashes)}")
    kind, high, low = (cfg.truncated_importance_sampling_type, cfg.truncated_importance_sampling_ratio,
                       cfg.truncated_importance_sampling_ratio_min)
    if kind is None:
        if high is not None:
            problems.append("truncated_importance_sampling_ratio is set but truncated_importance_sampling_type is null")
        return problems
    if kind not in TRUNCATED_IS_TYPES:
        problems.append(f"truncated_importance_sampling_type={kind!r}; choose one of {list(TRUNCATED_IS_TYPES)}")
    if not cfg.use_importance_sampling_correction:
        problems.append("truncated importance sampling needs use_importance_sampling_correction=true")
    if high is None or high <= 0:
        problems.append("truncated_importance_sampling_ratio must be set and positive")
    elif low is not None and low > high:
        problems.append("truncated_importance_sampling_ratio_min must be <= truncated_importance_sampling_ratio")
    if kind in ("icepop", "seq-mask-tis") and low is None:
        problems.append(f"truncated_importance_sampling_type={kind!r} needs truncated_importance_sampling_ratio_min")
    if kind == "seq-mask-tis" and cfg.sequence_level_importance_ratios:
        problems.append("seq-mask-tis cannot be combined with sequence_level_importance_ratios=true")
    return problems
