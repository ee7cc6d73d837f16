"""Loss functions as pure functions of tensors and masks.

Every loss returns ``(loss, metrics)`` where ``loss`` is a scalar tensor with a
gradient and ``metrics`` is a dict of Python floats. Log-probabilities are
*aligned with tokens*: ``logprobs[b, t]`` is ``log p(x[b, t] | x[b, :t])`` (as
returned by :func:`rl_lab.generation.compute_logprobs`), and masks select
which tokens count.

All averaging goes through ONE function, :func:`masked_mean`, so token-level
versus sequence-level aggregation is always visible at the call site:

* token level:    ``masked_mean(per_token, mask)`` -- every token weighs the same;
* sequence level: ``masked_mean(masked_mean(per_token, mask, dim=-1), seq_mask)``
  -- every sequence weighs the same, whatever its length.

The package is split by concern, and everything is importable from ``rl_lab.losses``:
:mod:`rl_lab.losses.reduce` (:func:`~rl_lab.losses.reduce.masked_mean`,
:func:`~rl_lab.losses.reduce.aggregate`), :mod:`rl_lab.losses.likelihood` (NLL, DPO),
:mod:`rl_lab.losses.preference` (reward models' Bradley-Terry loss),
:mod:`rl_lab.losses.kl` (k1, k2, k3), :mod:`rl_lab.losses.clipped_pg` (the clipped
policy-gradient loss and its ratio and surrogate variants) and
:mod:`rl_lab.losses.importance` (off-policy importance weights and their truncations) and
:mod:`rl_lab.losses.distillation` (student-teacher KL on the teacher's top-k tokens) and
:mod:`rl_lab.losses.value` (PPO's clipped value loss).

NeMo RL counterparts: ``nemo_rl.algorithms.loss.loss_functions.NLLLossFn``,
``nemo_rl.algorithms.loss.loss_functions.DPOLossFn``,
``nemo_rl.algorithms.loss.loss_functions.PreferenceLossFn`` and
``nemo_rl.algorithms.loss.loss_functions.ClippedPGLossFn``; ``masked_mean``
mirrors ``nemo_rl.algorithms.utils.masked_mean``.

Examples:
    >>> masked_mean(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 1, 0]))
    tensor(1.5000)
"""

import torch  # the examples above use it

from rl_lab.losses.clipped_pg import RATIOS, SURROGATES, clipped_pg_loss, ratio_kind
from rl_lab.losses.distillation import distillation_loss, per_token_kl, topk_logprobs
from rl_lab.losses.importance import TRUNCATIONS, WeightContext, importance_weights, truncate
from rl_lab.losses.kl import KL_ESTIMATORS, kl_penalty
from rl_lab.losses.likelihood import dpo_loss, nll_loss
from rl_lab.losses.preference import bradley_terry_loss
from rl_lab.losses.reduce import Metrics, aggregate, masked_mean, valid_samples
from rl_lab.losses.value import value_loss

__all__ = [
    "KL_ESTIMATORS", "Metrics", "RATIOS", "SURROGATES", "TRUNCATIONS", "WeightContext", "aggregate", "bradley_terry_loss",
    "clipped_pg_loss", "dpo_loss", "importance_weights", "kl_penalty", "masked_mean", "nll_loss", "ratio_kind",
    "truncate", "valid_samples", "distillation_loss", "per_token_kl", "topk_logprobs", "value_loss",
]
