"""The one mean every loss uses, :func:`masked_mean`, and token- or sequence-level :func:`aggregate`.

NeMo RL counterpart: ``nemo_rl.algorithms.utils.masked_mean`` and the reductions inside
``nemo_rl.algorithms.loss.loss_functions``.
"""

from __future__ import annotations

import torch

Metrics = dict[str, float]


def masked_mean(
    values: torch.Tensor,
    mask: torch.Tensor,
    dim: int | None = None,
    global_normalization_factor: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1.

    Args:
        values: Any shape, e.g. per-token losses ``[B, T]``.
        mask: Same shape as ``values`` (0/1, any dtype).
        dim: Reduce only this dimension (``-1`` gives one mean per sequence);
            None reduces everything.
        global_normalization_factor: Divide by this instead of ``mask.sum``.
            Used when a batch is split into micro-batches: dividing each
            micro-batch sum by the *global* count makes the micro-batch losses
            add up to the full-batch mean.

    Returns:
        A scalar (``dim=None``) or the reduced tensor: ``sum(values * mask) /
        (count + 1e-8)``, as in NeMo RL, so an all-zero mask gives 0.

    Examples:
        >>> v = torch.tensor([[1.0, 3.0], [5.0, 0.0]]); m = torch.tensor([[1, 1], [1, 0]])
        >>> masked_mean(v, m)  # (1 + 3 + 5) / 3
        tensor(3.)
        >>> masked_mean(v, m, dim=-1)  # [(1+3)/2, 5/1]
        tensor([2., 5.])
        >>> masked_mean(v, m, global_normalization_factor=6)  # 9 / 6
        tensor(1.5000)
    """
    mask = mask.to(values.dtype)
    total = (values * mask).sum() if dim is None else (values * mask).sum(dim=dim)
    if global_normalization_factor is None:
        count = mask.sum() if dim is None else mask.sum(dim=dim)
    else:
        count = torch.as_tensor(global_normalization_factor, dtype=values.dtype)
    return total / (count + 1e-8)  # NeMo RL's guard: an empty mask gives 0, not NaN


def aggregate(
    per_token: torch.Tensor,
    token_mask: torch.Tensor,
    token_level_loss: bool,
    sample_mask: torch.Tensor | None = None,
    global_valid_seqs: torch.Tensor | float | None = None,
    global_valid_toks: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """Token-level or sequence-level mean of a per-token quantity, as NeMo RL reduces losses.

    Token level divides the sum over valid tokens (``token_mask`` of valid samples)
    by the global token count; sequence level averages inside each sequence first,
    then divides the sum over valid samples by the global *sample* count, so a valid
    sample whose tokens are all masked still counts (it contributes 0).

    Args:
        per_token: ``[B, T]`` values.
        token_mask: ``[B, T]`` 1 on counted tokens.
        token_level_loss: True: mean over all tokens of the batch. False: mean
            over tokens inside each sequence, then mean over sequences.
        sample_mask: ``[B]`` 1 for samples that count (default: all).
        global_valid_seqs: Valid samples of the global batch (sequence level).
        global_valid_toks: Valid tokens of the global batch (token level).

    Returns:
        A scalar tensor.

    Examples:
        >>> v = torch.tensor([[1.0, 1.0, 1.0], [4.0, 0.0, 0.0]]); m = torch.tensor([[1, 1, 1], [1, 0, 0]])
        >>> aggregate(v, m, True)   # (1+1+1+4)/4
        tensor(1.7500)
        >>> aggregate(v, m, False)  # (1 + 4)/2
        tensor(2.5000)
    """
    samples = valid_samples(per_token, sample_mask)
    if token_level_loss:
        return masked_mean(per_token, token_mask * samples[:, None], global_normalization_factor=global_valid_toks)
    per_sequence = masked_mean(per_token, token_mask, dim=-1)
    return masked_mean(per_sequence, samples, global_normalization_factor=global_valid_seqs)



def valid_samples(like: torch.Tensor, sample_mask: torch.Tensor | None) -> torch.Tensor:
    """``sample_mask`` as a vector of ``like``'s dtype, all ones when None.

    Examples:
        >>> valid_samples(torch.zeros(2, 3), None).tolist()
        [1.0, 1.0]
    """
    return torch.ones(like.shape[0], dtype=like.dtype) if sample_mask is None else sample_mask.to(like.dtype)
