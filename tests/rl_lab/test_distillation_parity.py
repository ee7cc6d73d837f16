"""rl_lab's distillation loss equals NeMo RL v0.7.0's, called from the checkout in ``NEMO_RL_SRC``.

NeMo RL prepares the loss inputs with
``nemo_rl.distributed.model_utils.get_distillation_topk_logprobs_from_logits`` (top-k gather,
renormalisation, the student's ``H_all``) and reduces them with
``nemo_rl.algorithms.loss.loss_functions.DistillationLossFn``; rl_lab with
:func:`rl_lab.losses.topk_logprobs` and :func:`rl_lab.losses.distillation_loss`. Both get the same
random student logits, teacher top-k logits and masks, in NeMo RL's next-token layout and in
rl_lab's token-aligned one; values, gradients with respect to the student's logits and metrics
must agree, also over micro-batches divided by a global token count.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from nemo_rl_import import import_nemo_rl
from rl_lab.config import DistillationLossConfig
from rl_lab.losses import distillation_loss, topk_logprobs

B, S, V, K = 5, 6, 11, 4
# NeMo RL casts the student's logits to float32 before the top-k step whatever their dtype (rl_lab
# keeps float64 when given it), so a float64 case agrees to float32 precision, not to 1e-10.
DTYPES = {torch.float32: 1e-6, torch.float64: 1e-6}
CASES = [dict(kl_type=k, mixed_kl_weight=w, zero_outside_topk=z)
         for (k, w), z in itertools.product([("forward", 0.5), ("reverse", 0.5), ("mixed", 0.5), ("mixed", 0.2)], [False, True])]


@pytest.fixture(scope="module")
def nemo():
    losses, model_utils = import_nemo_rl("nemo_rl.algorithms.loss.loss_functions", "nemo_rl.distributed.model_utils")
    return losses, model_utils


def inputs(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    student = torch.randn(B, S, V, generator=g, dtype=dtype) * 2
    teacher = torch.randn(B, S, V, generator=g, dtype=dtype) * 2
    top = teacher.topk(K, dim=-1)
    token_mask = (torch.rand(B, S, generator=g) > 0.3).to(dtype)
    token_mask[:, 0] = 0.0  # the first token has no context: rl_lab never trains it, NeMo RL drops it
    token_mask[1] = 0.0  # a valid sample with nothing to train on
    sample_mask = torch.ones(B, dtype=dtype)
    sample_mask[2] = 0.0
    return student, top.values, top.indices, token_mask, sample_mask


def shift(x: torch.Tensor) -> torch.Tensor:
    """Next-token layout -> rl_lab's token-aligned one: position t gets what predicted token t."""
    return torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)


def nemo_loss(nemo, cfg, student, values, indices, token_mask, sample_mask, toks):
    losses, model_utils = nemo
    fn = losses.DistillationLossFn(cfg)
    s, t, h = model_utils.get_distillation_topk_logprobs_from_logits(
        student, values, indices, cfg["zero_outside_topk"], cfg["zero_outside_topk"] and cfg["kl_type"] != "forward")
    data = {"input_ids": torch.zeros(len(student), S, dtype=torch.long), "token_mask": token_mask, "sample_mask": sample_mask}
    return fn(s, t, h, data, sample_mask.sum(), toks)


def ours_loss(cfg, student, values, indices, token_mask, sample_mask, toks):
    loss_cfg = DistillationLossConfig(**cfg)
    s, t, h = topk_logprobs(shift(student), shift(values), shift(indices), loss_cfg.zero_outside_topk,
                            calculate_entropy=loss_cfg.zero_outside_topk and loss_cfg.kl_type != "forward")
    return distillation_loss(s, t, token_mask, loss_cfg, neg_entropy=h, sample_mask=sample_mask, global_valid_toks=toks)


@pytest.mark.parametrize("dtype", list(DTYPES), ids=str)
@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c['kl_type']}-w{c['mixed_kl_weight']}-zero{c['zero_outside_topk']}")
def test_distillation_loss_values_gradients_and_metrics(nemo, dtype, cfg):
    student, values, indices, token_mask, sample_mask = inputs(dtype)
    toks = (token_mask * sample_mask[:, None]).sum()
    theirs_in, ours_in = student.clone().requires_grad_(True), student.clone().requires_grad_(True)
    theirs, their_metrics = nemo_loss(nemo, cfg, theirs_in, values, indices, token_mask, sample_mask, toks)
    ours, our_metrics = ours_loss(cfg, ours_in, values, indices, token_mask, sample_mask, toks)
    theirs.backward()
    ours.backward()
    tol = DTYPES[dtype]
    assert torch.allclose(ours.double(), theirs.double(), rtol=tol, atol=tol), (ours, theirs)
    assert torch.allclose(ours_in.grad, theirs_in.grad, rtol=tol, atol=tol)
    assert our_metrics["loss"] == pytest.approx(their_metrics["loss"], rel=tol, abs=tol)
    assert our_metrics["num_valid_samples"] == their_metrics["num_valid_samples"]


@pytest.mark.parametrize("cfg", CASES[::3], ids=lambda c: f"{c['kl_type']}-zero{c['zero_outside_topk']}")
def test_micro_batches_with_a_global_token_count_add_up(nemo, cfg):
    student, values, indices, token_mask, sample_mask = inputs(torch.float64, seed=3)
    toks = (token_mask * sample_mask[:, None]).sum()
    whole, _ = ours_loss(cfg, student, values, indices, token_mask, sample_mask, toks)
    parts_ours, parts_theirs = 0.0, 0.0
    for rows in (slice(0, 2), slice(2, 5)):
        args = (student[rows], values[rows], indices[rows], token_mask[rows], sample_mask[rows], toks)
        parts_ours += ours_loss(cfg, *args)[0].item()
        parts_theirs += nemo_loss(nemo, cfg, *args)[0].item()
    assert parts_ours == pytest.approx(whole.item(), abs=1e-12) and parts_ours == pytest.approx(parts_theirs, rel=1e-6)
