"""On-policy distillation: the KL loss variants by hand, the config checks, and a student that moves to its teacher.

Two-token distributions keep the arithmetic short: the student puts s = (0.5, 0.5) on the
teacher's top 2, the teacher p = (0.75, 0.25). With ln 1.5 = 0.405465 and ln 2 = 0.693147:

* forward  = 0.75 ln(0.75/0.5) + 0.25 ln(0.25/0.5) = 0.304099 - 0.173287 = 0.130812
* reverse  = 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25)   = -0.202733 + 0.346574 = 0.143841
* mixed(w) = w * forward + (1 - w) * reverse
"""

from __future__ import annotations

import math

import pytest
import torch

from rl_lab.config import ConfigError, DistillationLossConfig, ModelSizeConfig, load_recipe
from rl_lab.distillation import teacher_topk, token_logits, train_distillation
from rl_lab.losses import distillation_loss, per_token_kl, topk_logprobs
from rl_lab.models import build_model
from rl_lab.tokenizer import CharTokenizer

FORWARD, REVERSE = 0.130812, 0.143841
S = torch.log(torch.tensor([[[0.5, 0.5]]]))
P = torch.log(torch.tensor([[[0.75, 0.25]]]))


@pytest.mark.parametrize("kl_type, weight, expected", [
    ("forward", 0.5, FORWARD),
    ("reverse", 0.5, REVERSE),
    ("mixed", 0.5, 0.137327),   # (0.130812 + 0.143841) / 2
    ("mixed", 0.25, 0.140584),  # 0.25 * 0.130812 + 0.75 * 0.143841 = 0.032703 + 0.107881
    ("mixed", 1.0, FORWARD),    # all weight on the forward KL
])
def test_kl_types_by_hand(kl_type, weight, expected):
    kl = per_token_kl(S, P, DistillationLossConfig(kl_type, weight))
    assert kl.shape == (1, 1) and kl.item() == pytest.approx(expected, abs=1e-6)


def test_identical_distributions_have_zero_kl_and_zero_gradient():
    logits = torch.tensor([[[1.0, -2.0, 0.5]]], requires_grad=True)
    s, t, _ = topk_logprobs(logits, logits.detach(), torch.tensor([[[0, 1, 2]]]).expand(1, 1, 3))
    loss, _ = distillation_loss(s, t, torch.ones(1, 1))
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-7) and logits.grad.abs().max() < 1e-6


def test_topk_renormalises_unless_zero_outside_topk():
    # the student's full distribution is (0.5, 0.25, 0.25); the teacher's top 2 are tokens 0 and 1
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25]]]))
    top = torch.tensor([[[0, 1]]])
    renormalised, _, none = topk_logprobs(logits, torch.zeros(1, 1, 2), top)
    assert torch.allclose(renormalised.exp(), torch.tensor([[[2 / 3, 1 / 3]]])) and none is None  # 0.5/0.75, 0.25/0.75
    raw, teacher, neg_entropy = topk_logprobs(logits, torch.zeros(1, 1, 2), top, zero_outside_topk=True, calculate_entropy=True)
    assert torch.allclose(raw.exp(), torch.tensor([[[0.5, 0.25]]]))
    assert torch.allclose(teacher.exp(), torch.tensor([[[0.5, 0.5]]]))  # equal logits: 1/2 each
    # 0.5 ln 0.5 + 2 * 0.25 ln 0.25 = -0.346574 - 0.693147
    assert neg_entropy.item() == pytest.approx(-1.039721, abs=1e-6)


def test_zero_outside_topk_counts_the_students_mass_outside_at_minus_100():
    # student (0.5, 0.25 | 0.25 outside), teacher (0.75, 0.25) on tokens 0 and 1
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25]]]))
    s, t, h = topk_logprobs(logits, torch.log(torch.tensor([[[0.75, 0.25]]])), torch.tensor([[[0, 1]]]), True, True)
    # reverse on the top 2: 0.5 ln(0.5/0.75) + 0.25 ln(0.25/0.25) = -0.202733
    # outside: H_rest = -1.039721 - (0.5 ln 0.5 + 0.25 ln 0.25) = -0.346574, P_rest = 0.25
    # correction = H_rest - (-100) * P_rest = -0.346574 + 25 = 24.653426 (= 0.25 (ln 0.25 + 100))
    reverse = per_token_kl(s, t, DistillationLossConfig("reverse", zero_outside_topk=True), h)
    assert reverse.item() == pytest.approx(-0.202733 + 24.653426, abs=1e-5)
    # forward: 0.75 ln(0.75/0.5) + 0.25 ln 1 = 0.304099, and no correction
    forward = per_token_kl(s, t, DistillationLossConfig("forward", zero_outside_topk=True), h)
    assert forward.item() == pytest.approx(0.304099, abs=1e-6)
    # mixed 0.5: 0.5 * 0.304099 + 0.5 * (-0.202733) + 0.5 * 24.653426 = 12.377396
    mixed = per_token_kl(s, t, DistillationLossConfig("mixed", 0.5, zero_outside_topk=True), h)
    assert mixed.item() == pytest.approx(12.377396, abs=1e-5)
    with pytest.raises(ValueError, match="neg_entropy"):
        per_token_kl(s, t, DistillationLossConfig("reverse", zero_outside_topk=True))


def test_loss_means_over_trained_tokens_of_valid_samples_with_a_global_count():
    # three samples x two positions; per-position KLs: forward rows of FORWARD, zeros where s == p
    s = torch.cat([S.expand(3, 1, 2), S.expand(3, 1, 2)], dim=1)
    p = torch.cat([P.expand(3, 1, 2), S.expand(3, 1, 2)], dim=1)  # second position: no divergence
    token_mask = torch.tensor([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    sample_mask = torch.tensor([1.0, 1.0, 0.0])
    cfg = DistillationLossConfig("forward")
    loss, metrics = distillation_loss(s, p, token_mask, cfg, sample_mask=sample_mask)
    # counted tokens: sample 0 both (FORWARD + 0), sample 1 the first (FORWARD); sample 2 is invalid -> 2 F / 3
    assert loss.item() == pytest.approx(2 * FORWARD / 3, abs=1e-6)
    assert metrics == {"loss": pytest.approx(2 * FORWARD / 3, abs=1e-6), "num_valid_samples": 3.0}  # rows, as NeMo RL
    halves = [distillation_loss(s[i : i + 2], p[i : i + 2], token_mask[i : i + 2], cfg, sample_mask=sample_mask[i : i + 2],
                                global_valid_toks=6.0)[0].item() for i in (0, 2)]
    assert sum(halves) == pytest.approx(2 * FORWARD / 6, abs=1e-6)  # micro-batches divided by a global count of 6


@pytest.mark.parametrize("override, message", [
    ("loss_fn.kl_type=backward", "loss_fn.kl_type='backward'; choose one of"),
    ("loss_fn.mixed_kl_weight=1.5", "loss_fn.mixed_kl_weight must be in [0, 1]"),
    ("distillation.topk_logits_k=0", "distillation.topk_logits_k must be >= 1"),
    ("distillation.topk_logit_k=8", "did you mean distillation.topk_logits_k"),
])
def test_bad_keys_and_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")) as err:
        load_recipe("distillation_math", [override])
    assert "source:" in str(err.value)


def test_teacher_topk_is_token_aligned_and_rejects_k_above_the_vocabulary():
    model = build_model(ModelSizeConfig(hidden_size=32, num_layers=1, intermediate_size=64), 20)
    ids = torch.tensor([[1, 2, 3, 4]])
    values, indices = teacher_topk(model, ids, 5, batch_size=1)
    full = token_logits(model, ids)
    assert torch.equal(values, full.topk(5, -1).values) and torch.equal(indices, full.topk(5, -1).indices)
    with torch.no_grad():
        raw = model(input_ids=ids).logits
    assert torch.allclose(full[:, 1:], raw[:, :-1])  # position t holds the logits that predict token t
    with pytest.raises(ConfigError, match="distillation.topk_logits_k=21 exceeds the vocabulary"):
        teacher_topk(model, ids, 21, batch_size=1)


def test_a_teacher_is_required_and_must_share_the_tokenizer():
    cfg = load_recipe("distillation_math", ["rl_lab.init_checkpoint=null", "logger.log_dir=null"])
    with pytest.raises(ConfigError, match="get_checkpoint\\('sft-addition-teacher'\\)"):
        train_distillation(cfg, progress=False)
    with pytest.raises(ConfigError, match="must share a tokenizer"):
        train_distillation(cfg, teacher=build_model(cfg.rl_lab.model, 50), progress=False)


def test_distillation_moves_a_random_student_toward_its_teacher():
    """20 steps from random weights: the held-out KL to a (different) random teacher falls by half."""
    cfg = load_recipe("distillation_math", [
        "rl_lab.init_checkpoint=null", "logger.log_dir=null", "distillation.max_num_steps=20", "distillation.val_period=0",
        "distillation.num_prompts_per_step=32", "policy.train_global_batch_size=32", "policy.train_micro_batch_size=32",
        "distillation.max_val_samples=64", "distillation.val_batch_size=32", "policy.optimizer.kwargs.lr=3e-3",
        "rl_lab.model.hidden_size=32", "rl_lab.model.intermediate_size=64"])
    teacher = build_model(ModelSizeConfig(hidden_size=32, num_layers=1, intermediate_size=64), CharTokenizer().vocab_size, seed=7)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    result = train_distillation(cfg, teacher=teacher, progress=False)
    kl = result.metric("val/reverse_kl")
    assert len(kl) == 2 and kl[1] < 0.5 * kl[0], kl
    assert math.isfinite(result.metric("train/loss")[-1])
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())  # the caller's teacher is untouched


@pytest.mark.slow
def test_distillation_math_raises_the_students_sampled_accuracy_toward_the_teacher():
    from rl_lab.run import train

    result = train("distillation_math", ["logger.log_dir=null"], progress=False)
    acc, kl = result.metric("val/accuracy"), result.metric("val/reverse_kl")
    print("student sampled accuracy:", acc, "reverse KL:", kl)
    assert acc[-1] - acc[0] >= 0.2 and kl[-1] < 0.5 * kl[0]
