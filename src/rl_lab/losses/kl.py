"""Per-token estimators of KL(pi || pi_ref) from samples (k1, k2, k3) with NeMo RL's clamps.

NeMo RL counterpart: ``nemo_rl.algorithms.utils.calculate_kl``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def _kl_k1(log_ratio: torch.Tensor) -> torch.Tensor:
    return -log_ratio


def _kl_k2(log_ratio: torch.Tensor) -> torch.Tensor:
    return 0.5 * log_ratio.square()


def _kl_k3(log_ratio: torch.Tensor) -> torch.Tensor:
    return torch.exp(log_ratio) - 1 - log_ratio


# Per-token estimators of KL(pi || pi_ref) from samples of pi, with
# log_ratio = log pi_ref - log pi (Schulman, "Approximating KL divergence").
KL_ESTIMATORS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"k1": _kl_k1, "k2": _kl_k2, "k3": _kl_k3}


def kl_penalty(
    logprobs: torch.Tensor,
    reference_logprobs: torch.Tensor,
    kl_type: str = "k3",
    input_clamp: float | None = 20.0,
    output_clamp: float | None = 10.0,
    importance_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-token KL estimate between the policy and the reference policy.

    ``importance_weights`` multiply the estimate before the output clamp. Where the
    input clamp cuts ``log_ratio``, the weight is detached, so the clamp stops the
    sampling-weight gradient as well as the estimate's (NeMo RL's ``calculate_kl``).

    Args:
        logprobs: ``[B, T]`` policy log-probs of the sampled tokens.
        reference_logprobs: ``[B, T]`` reference log-probs of the same tokens.
        kl_type: ``k1``, ``k2`` or ``k3`` (``loss_fn.reference_policy_kl_type``).
        input_clamp: Clamp ``log_ratio`` to ``[-v, v]`` first (None: no clamp).
        output_clamp: Clamp the estimate to ``[-v, v]`` (None: no clamp).
        importance_weights: ``[B, T]`` per-token weights, or None.

    Returns:
        ``[B, T]`` per-token KL estimates (k3 is always >= 0).

    Raises:
        ValueError: For an unknown ``kl_type``.

    Examples:
        >>> kl_penalty(torch.tensor([0.0]), torch.tensor([1.0]))  # e^1 - 1 - 1
        tensor([0.7183])
    """
    if kl_type not in KL_ESTIMATORS:
        raise ValueError(f"loss_fn.reference_policy_kl_type={kl_type!r}; choose one of {sorted(KL_ESTIMATORS)}")
    log_ratio = reference_logprobs - logprobs
    if input_clamp is not None:
        clamped = log_ratio.clamp(-input_clamp, input_clamp)
        if importance_weights is not None:
            importance_weights = torch.where(log_ratio == clamped, importance_weights, importance_weights.detach())
        log_ratio = clamped
    kl = KL_ESTIMATORS[kl_type](log_ratio)
    if importance_weights is not None:
        kl = importance_weights * kl
    if output_clamp is not None:
        kl = kl.clamp(-output_clamp, output_clamp)
    return kl
