"""The distillation loss: a KL divergence between student and teacher on the teacher's top-k tokens.

The teacher sends, for every position, only its ``distillation.topk_logits_k`` largest
logits and their token ids. :func:`topk_logprobs` turns the student's logits and those
into log-probabilities over the same k tokens; :func:`distillation_loss` compares them
with the divergence ``loss_fn.kl_type`` names and averages over the trained tokens.

Everything is aligned with tokens, like the rest of :mod:`rl_lab.losses`: position
``t`` holds the distributions that predict token ``t`` (column 0, which has no context,
is never trained). NeMo RL's tensors are next-token aligned and drop their last position;
the parity tests bridge the two layouts.

NeMo RL counterparts: ``nemo_rl.distributed.model_utils.get_distillation_topk_logprobs_from_logits``
and ``nemo_rl.algorithms.loss.loss_functions.DistillationLossFn``.

Examples:
    >>> s, t, _ = topk_logprobs(torch.zeros(1, 2, 4), torch.tensor([[[0.0, 0.0], [0.0, 0.0]]]),
    ...                         torch.tensor([[[0, 1], [2, 3]]]))
    >>> s.exp()  # two equally likely tokens each: 1/2 after renormalising within the top k
    tensor([[[0.5000, 0.5000],
             [0.5000, 0.5000]]])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rl_lab.config import DistillationLossConfig
from rl_lab.losses.reduce import Metrics, masked_mean, valid_samples

LOG_INFINITESIMAL = -100.0  # the teacher log-probability given to tokens outside its top k


def topk_logprobs(
    student_logits: torch.Tensor,
    teacher_topk_logits: torch.Tensor,
    teacher_topk_indices: torch.Tensor,
    zero_outside_topk: bool = False,
    calculate_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Student and teacher log-probabilities on the teacher's top-k tokens.

    The teacher's k logits are renormalised among themselves. The student's are too,
    unless ``zero_outside_topk``: then they are the student's full-vocabulary
    log-probabilities of those k tokens, whose probabilities sum to at most 1.

    Args:
        student_logits: ``[B, T, V]`` student logits, token-aligned.
        teacher_topk_logits: ``[B, T, k]`` the teacher's largest logits.
        teacher_topk_indices: ``[B, T, k]`` their token ids.
        zero_outside_topk: ``loss_fn.zero_outside_topk``.
        calculate_entropy: Also return ``sum_v p_v log p_v`` of the student over the whole
            vocabulary (the negative entropy, NeMo RL's ``H_all``; only with ``zero_outside_topk``).

    Returns:
        ``(student_topk_logprobs [B, T, k], teacher_topk_logprobs [B, T, k], neg_entropy [B, T] or None)``,
        in float32 (or the student's dtype if wider).

    Raises:
        ValueError: If k is 0.

    Examples:
        >>> logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25]]]))
        >>> s, _, h = topk_logprobs(logits, torch.zeros(1, 1, 2), torch.tensor([[[0, 1]]]), True, True)
        >>> s.exp(), round(h.item(), 4)  # not renormalised; 0.5 ln 0.5 + 2 * 0.25 ln 0.25
        (tensor([[[0.5000, 0.2500]]]), -1.0397)
    """
    if teacher_topk_indices.shape[-1] < 1:
        raise ValueError("distillation.topk_logits_k must be >= 1 (the teacher sent no logits)")
    dtype = torch.promote_types(student_logits.dtype, torch.float32)
    student_logits = student_logits.to(dtype)
    neg_entropy = None
    if zero_outside_topk:
        full = F.log_softmax(student_logits, dim=-1)
        student = full.gather(-1, teacher_topk_indices)
        if calculate_entropy:
            neg_entropy = (full.exp() * full).sum(-1)
    else:
        student = F.log_softmax(student_logits.gather(-1, teacher_topk_indices), dim=-1)
    teacher = F.log_softmax(teacher_topk_logits.to(dtype), dim=-1)
    return student, teacher, neg_entropy


def per_token_kl(
    student_topk_logprobs: torch.Tensor,
    teacher_topk_logprobs: torch.Tensor,
    cfg: DistillationLossConfig = DistillationLossConfig(),
    neg_entropy: torch.Tensor | None = None,
) -> torch.Tensor:
    """The divergence ``loss_fn.kl_type`` at every position.

    With ``s`` and ``p`` the student's and teacher's probabilities on the k tokens:
    forward ``sum p (log p - log s)``, reverse ``sum s (log s - log p)``, mixed
    ``w * forward + (1 - w) * reverse`` with ``w = loss_fn.mixed_kl_weight``. With
    ``loss_fn.zero_outside_topk`` the reverse part also counts the student's mass outside
    the top k against a teacher log-probability of -100:
    ``(H_rest - (-100) * P_rest)``, where ``P_rest`` is that mass and ``H_rest`` its
    ``sum s log s`` (``neg_entropy`` minus the top-k part).

    Args:
        student_topk_logprobs: ``[B, T, k]``.
        teacher_topk_logprobs: ``[B, T, k]``.
        cfg: The ``loss_fn`` section.
        neg_entropy: ``[B, T]`` from :func:`topk_logprobs` (needed with
            ``zero_outside_topk`` and a reverse part).

    Returns:
        ``[B, T]`` per-position divergences.

    Raises:
        ValueError: If ``neg_entropy`` is needed but missing.

    Examples:
        >>> s, p = torch.log(torch.tensor([[[0.5, 0.5]]])), torch.log(torch.tensor([[[0.75, 0.25]]]))
        >>> per_token_kl(s, p, DistillationLossConfig("reverse"))  # 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25)
        tensor([[0.1438]])
    """
    student_probs, teacher_probs = student_topk_logprobs.exp(), teacher_topk_logprobs.exp()
    forward = (teacher_probs * (teacher_topk_logprobs - student_topk_logprobs)).sum(-1)
    reverse = (student_probs * (student_topk_logprobs - teacher_topk_logprobs)).sum(-1)
    w = cfg.mixed_kl_weight
    if cfg.kl_type == "forward":
        kl, reverse_weight = forward, 0.0
    elif cfg.kl_type == "reverse":
        kl, reverse_weight = reverse, 1.0
    else:
        kl, reverse_weight = w * forward + (1.0 - w) * reverse, 1.0 - w
    if cfg.zero_outside_topk and cfg.kl_type != "forward":
        if neg_entropy is None:
            raise ValueError("loss_fn.zero_outside_topk with a reverse KL needs the student's neg_entropy "
                             "(topk_logprobs(..., calculate_entropy=True))")
        rest_neg_entropy = neg_entropy - (student_probs * student_topk_logprobs).sum(-1)
        rest_mass = 1.0 - student_probs.sum(-1)
        kl = kl + reverse_weight * (rest_neg_entropy - LOG_INFINITESIMAL * rest_mass)
    return kl


def distillation_loss(
    student_topk_logprobs: torch.Tensor,
    teacher_topk_logprobs: torch.Tensor,
    token_mask: torch.Tensor,
    cfg: DistillationLossConfig = DistillationLossConfig(),
    *,
    neg_entropy: torch.Tensor | None = None,
    sample_mask: torch.Tensor | None = None,
    global_valid_toks: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, Metrics]:
    """Token-level mean of :func:`per_token_kl` over the trained tokens of valid samples.

    Args:
        student_topk_logprobs: ``[B, T, k]`` from :func:`topk_logprobs`.
        teacher_topk_logprobs: ``[B, T, k]``.
        token_mask: ``[B, T]`` 1 on trained (response) tokens.
        cfg: The ``loss_fn`` section (``kl_type``, ``mixed_kl_weight``, ``zero_outside_topk``).
        neg_entropy: ``[B, T]`` the student's ``sum p log p`` (see :func:`per_token_kl`).
        sample_mask: ``[B]`` 1 for samples that count (default: all).
        global_valid_toks: Divide by this token count instead of the local one
            (micro-batches of one global batch).

    Returns:
        ``(loss, metrics)``: a scalar with a gradient, and NeMo RL's metrics ``loss``
        and ``num_valid_samples`` (rows of the batch, as NeMo RL counts them).

    Examples:
        >>> s = torch.log(torch.tensor([[[0.5, 0.5], [0.5, 0.5]]]))
        >>> p = torch.log(torch.tensor([[[0.5, 0.5], [0.75, 0.25]]]))
        >>> loss, m = distillation_loss(s, p, torch.tensor([[0.0, 1.0]]), DistillationLossConfig("forward"))
        >>> round(loss.item(), 4), m["num_valid_samples"]  # 0.75 ln(0.75/0.5) + 0.25 ln(0.25/0.5), one token
        (0.1308, 1.0)
    """
    kl = per_token_kl(student_topk_logprobs, teacher_topk_logprobs, cfg, neg_entropy)
    mask = token_mask.to(kl.dtype) * valid_samples(kl, sample_mask)[:, None]
    loss = masked_mean(kl, mask, global_normalization_factor=global_valid_toks)
    return loss, {"loss": loss.item(), "num_valid_samples": float(kl.shape[0])}
