"""The ``distillation``, ``loss_fn`` and ``teacher`` sections of distillation recipes.

Key names and defaults are NeMo RL v0.7.0's (``examples/configs/distillation_math.yaml``,
``nemo_rl.algorithms.distillation.DistillationConfig`` and
``nemo_rl.algorithms.loss.DistillationLossConfig``). The loss section checks its
values when it is built, as ``DistillationLossFn``'s constructor asserts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from rl_lab.config.errors import ConfigError
from rl_lab.config.sections import TokenizerConfig

KL_TYPES = ("forward", "reverse", "mixed")


@dataclass(frozen=True)
class DistillationSection:
    """``distillation``: the on-policy distillation loop.

    Attributes:
        num_prompts_per_step: Prompts drawn per step.
        num_generations_per_prompt: Student samples per prompt.
        max_rollout_turns: Turns per episode (math: 1).
        max_num_steps: Steps to run at most.
        max_num_epochs: Passes over the prompts at most.
        val_batch_size: Prompts per validation batch.
        val_period: Steps between validations (0: none).
        val_at_start: Validate before the first step.
        val_at_end: Validate after the last step.
        max_val_samples: Held-out prompts used by validation.
        topk_logits_k: Teacher logits kept per position (the teacher's top k).
        seed: Training seed.

    Raises:
        ConfigError: For ``topk_logits_k`` < 1.

    Examples:
        >>> DistillationSection().topk_logits_k
        64
    """

    num_prompts_per_step: int = 128
    num_generations_per_prompt: int = 1
    max_rollout_turns: int = 1
    max_num_steps: int = 1000
    max_num_epochs: int = 10
    val_batch_size: int = 64
    val_period: int = 20
    val_at_start: bool = False
    val_at_end: bool = False
    max_val_samples: int = 512
    topk_logits_k: int = 64
    seed: int = 42

    def __post_init__(self) -> None:
        if self.topk_logits_k < 1:
            raise ConfigError(f"distillation.topk_logits_k must be >= 1, got {self.topk_logits_k}")


@dataclass(frozen=True)
class DistillationLossConfig:
    """``loss_fn`` of distillation recipes: which divergence between student and teacher.

    Attributes:
        kl_type: ``forward`` (KL(teacher || student), mass-covering), ``reverse``
            (KL(student || teacher), mode-seeking) or ``mixed``.
        mixed_kl_weight: With ``mixed``, the forward KL's weight ``w``; the loss is
            ``w * forward + (1 - w) * reverse``.
        zero_outside_topk: Compare the student's full-vocabulary probabilities on the
            teacher's top k (not renormalised within them), and count the student's mass
            outside them against a teacher log-probability of -100 (reverse and mixed).

    Raises:
        ConfigError: For another ``kl_type`` or a weight outside ``[0, 1]``.

    Examples:
        >>> DistillationLossConfig().kl_type, DistillationLossConfig().mixed_kl_weight
        ('mixed', 0.5)
    """

    kl_type: str = "mixed"
    mixed_kl_weight: float = 0.5
    zero_outside_topk: bool = False

    def __post_init__(self) -> None:
        if self.kl_type not in KL_TYPES:
            raise ConfigError(f"loss_fn.kl_type={self.kl_type!r}; choose one of {list(KL_TYPES)}")
        if not 0.0 <= self.mixed_kl_weight <= 1.0:
            raise ConfigError(f"loss_fn.mixed_kl_weight must be in [0, 1], got {self.mixed_kl_weight}")


@dataclass(frozen=True)
class TeacherConfig:
    """``teacher``: the frozen model whose next-token distributions the student learns.

    ``rl_lab/tiny`` means an rl_lab model passed to the trainer (the cached checkpoint
    ``rl_lab.teacher_checkpoint`` names); teacher and student share rl_lab's tokenizer,
    as NeMo RL requires them to share one.

    Attributes:
        model_name: ``rl_lab/tiny`` or, in the ``full`` profile, a Hugging Face id.
        tokenizer: Must be the student's (``policy.tokenizer``).
        precision: dtype of the teacher's forward passes.
        logprob_batch_size: Rows per teacher forward pass (None: ``policy.train_micro_batch_size``).

    Examples:
        >>> TeacherConfig().model_name
        'rl_lab/tiny'
    """

    model_name: str = "rl_lab/tiny"
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    precision: str = "float32"
    logprob_batch_size: Union[int, None] = None
