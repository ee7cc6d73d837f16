"""Losses, advantages and pass@k against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from rl_lab.advantages import grpo_advantages
from rl_lab.config import LossFnConfig
from rl_lab.evaluation import pass_at_k
from rl_lab.losses import aggregate, clipped_pg_loss, dpo_loss, kl_penalty, masked_mean, nll_loss

approx = lambda x: pytest.approx(x, abs=1e-5)  # noqa: E731
NO_KL = dict(reference_policy_kl_penalty=0.0)


def test_masked_mean_all_forms() -> None:
    v = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    m = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert masked_mean(v, m).item() == approx(7 / 3)  # (1 + 2 + 4) / 3
    assert masked_mean(v, m, dim=-1).tolist() == [1.5, 4.0]  # (1+2)/2, 4/1
    assert masked_mean(v, m, global_normalization_factor=14).item() == approx(0.5)  # 7 / 14
    assert masked_mean(v, torch.zeros_like(m)).item() == 0.0  # empty mask: 0, not NaN


def test_nll_loss_masks_prompt_tokens() -> None:
    lp = torch.tensor([[-1.0, -2.0, -3.0], [-4.0, -5.0, -6.0]])
    m = torch.tensor([[1, 1, 0], [1, 0, 0]])
    loss, metrics = nll_loss(lp, m)
    assert loss.item() == approx(7 / 3)  # -(-1 - 2 - 4) / 3
    assert metrics["num_unmasked_tokens"] == 3


def _ratios(r: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """(logprobs, prev_logprobs) such that exp(logprobs - prev) == r."""
    return torch.log(torch.tensor([r])), torch.zeros(1, len(r))


def test_clipped_pg_symmetric_clip_both_sides() -> None:
    lp, prev = _ratios([1.5, 0.5, 1.1, 0.7])
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    loss, m = clipped_pg_loss(lp, prev, adv, torch.ones(1, 4), cfg=LossFnConfig(**NO_KL))
    # clip to [0.8, 1.2]; per token max(-A r, -A clip(r)):
    # r=1.5,A=+1: max(-1.5, -1.2) = -1.2   (upper clip bites)
    # r=0.5,A=+1: max(-0.5, -0.8) = -0.5   (no clip for A>0 below)
    # r=1.1,A=-1: max( 1.1,  1.1) =  1.1
    # r=0.7,A=-1: max( 0.7,  0.8) =  0.8   (lower clip bites)
    # mean = (-1.2 - 0.5 + 1.1 + 0.8) / 4 = 0.05
    assert loss.item() == approx(0.05)
    assert m["clip_fraction"] == approx(0.75)  # 1.5, 0.5, 0.7 fall outside [0.8, 1.2]


def test_clipped_pg_asymmetric_clip() -> None:
    lp, prev = _ratios([1.5, 0.5, 1.1, 0.7])
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    cfg = LossFnConfig(ratio_clip_min=0.1, ratio_clip_max=0.2, **NO_KL)  # clip to [0.9, 1.2]
    loss, _ = clipped_pg_loss(lp, prev, adv, torch.ones(1, 4), cfg=cfg)
    # -1.2, -0.5, 1.1, max(0.7, 0.9) = 0.9  ->  (-1.2 - 0.5 + 1.1 + 0.9) / 4 = 0.075
    assert loss.item() == approx(0.075)


def test_clipped_pg_dual_clip() -> None:
    lp, prev = _ratios([5.0, 2.0, 5.0])
    adv = torch.tensor([[-1.0, -2.0, 1.0]])
    cfg = LossFnConfig(ratio_clip_c=3.0, **NO_KL)
    loss, _ = clipped_pg_loss(lp, prev, adv, torch.ones(1, 3), cfg=cfg)
    # r=5,A=-1: max(5, 1.2) = 5 -> dual min(5, -A*c = 3) = 3
    # r=2,A=-2: max(4, 2.4) = 4 -> dual min(4, 6) = 4
    # r=5,A=+1: max(-5, -1.2) = -1.2 (dual clip only for A < 0)
    # mean = (3 + 4 - 1.2) / 3 = 1.93333
    assert loss.item() == approx(5.8 / 3)
    without, _ = clipped_pg_loss(lp, prev, adv, torch.ones(1, 3), cfg=LossFnConfig(**NO_KL))
    assert without.item() == approx((5 + 4 - 1.2) / 3)
    with pytest.raises(ValueError, match="ratio_clip_c"):
        clipped_pg_loss(lp, prev, adv, torch.ones(1, 3), cfg=LossFnConfig(ratio_clip_c=0.5))


def test_k3_kl_penalty_values_and_loss_term() -> None:
    curr = torch.zeros(1, 2)
    ref = torch.tensor([[math.log(2.0), -math.log(2.0)]])
    kl = kl_penalty(curr, ref, "k3")
    # log_ratio = ln2: e^{ln2} - 1 - ln2 = 1 - ln2 = 0.306853 ; log_ratio = -ln2: 0.5 - 1 + ln2 = 0.193147
    assert kl[0].tolist() == [approx(1 - math.log(2)), approx(math.log(2) - 0.5)]
    cfg = LossFnConfig(reference_policy_kl_penalty=0.1)
    loss, m = clipped_pg_loss(curr, curr, torch.zeros(1, 2), torch.ones(1, 2), ref, cfg=cfg)
    # actor term 0 (A = 0); KL term 0.1 * (0.306853 + 0.193147) / 2 = 0.025
    assert loss.item() == approx(0.025)
    assert m["kl_penalty"] == approx(0.25)  # NeMo RL logs the KL itself, (0.306853 + 0.193147) / 2
    assert kl_penalty(curr, ref, "k1")[0].tolist() == [approx(-math.log(2)), approx(math.log(2))]


@pytest.mark.parametrize("kind", ["k1", "k2", "k3"])
@pytest.mark.parametrize("token_level", [True, False])
def test_kl_gradient_includes_the_sampling_term(kind: str, token_level: bool) -> None:
    # One token, logprob x = 0 (p = 1/2 is irrelevant: only x enters), reference lp_ref = ln 2,
    # so u = lp_ref - x = ln 2. With w = exp(x - x.detach()) (value 1, dw/dx = 1) the KL term
    # is beta * w * k(u), and d/dx = beta * (k(u) + dk/du * du/dx) = beta * (k(u) - k'(u)).
    #   k1 = -u:        k = -ln2,          k' = -1      -> k - k' = 1 - ln2
    #   k2 = u^2/2:     k = (ln2)^2/2,     k' = ln2     -> (ln2)^2/2 - ln2
    #   k3 = e^u-1-u:   k = 1 - ln2,       k' = e^u - 1 = 1 -> -ln2
    ln2 = math.log(2)
    expected = {"k1": 1 - ln2, "k2": ln2**2 / 2 - ln2, "k3": -ln2}[kind]
    x = torch.zeros(1, 1, requires_grad=True)
    cfg = LossFnConfig(reference_policy_kl_penalty=0.5, reference_policy_kl_type=kind, token_level_loss=token_level)
    loss, _ = clipped_pg_loss(x, x.detach(), torch.zeros(1, 1), torch.ones(1, 1), torch.full((1, 1), ln2), cfg=cfg)
    loss.backward()
    assert x.grad.item() == approx(0.5 * expected)  # before v0.7.0 it was 0.5 * (-k'(u)) only


def test_kl_sampling_gradient_stops_where_the_input_clamp_cuts() -> None:
    # u = lp_ref - x = 30 is clamped to 20: the estimate is constant there, and so is its weight.
    x = torch.zeros(1, 1, requires_grad=True)
    cfg = LossFnConfig(reference_policy_kl_penalty=1.0, reference_policy_kl_type="k1", kl_output_clamp_value=None)
    loss, _ = clipped_pg_loss(x, x.detach(), torch.zeros(1, 1), torch.ones(1, 1), torch.full((1, 1), 30.0), cfg=cfg)
    loss.backward()
    assert loss.item() == approx(-20.0) and x.grad.item() == 0.0


def test_token_versus_sequence_aggregation() -> None:
    lp = torch.zeros(2, 3)  # ratio 1 everywhere, so per-token loss = -A
    adv = torch.tensor([[1.0], [-2.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    tok, _ = clipped_pg_loss(lp, lp, adv, mask, cfg=LossFnConfig(token_level_loss=True, **NO_KL))
    seq, _ = clipped_pg_loss(lp, lp, adv, mask, cfg=LossFnConfig(token_level_loss=False, **NO_KL))
    assert tok.item() == approx(-0.25)  # (-1 -1 -1 + 2) / 4 tokens
    assert seq.item() == approx(0.5)  # mean over sequences of (-1, +2)
    # a valid sequence whose tokens are all masked still counts at sequence level (NeMo RL divides by
    # the number of valid samples): (-1 + 0) / 2; a sample_mask of 0 removes it: -1 / 1
    mask2 = torch.tensor([[1, 1, 1], [0, 0, 0]])
    assert aggregate(-adv.expand(2, 3), mask2, False).item() == approx(-0.5)
    assert aggregate(-adv.expand(2, 3), mask2, False, sample_mask=torch.tensor([1, 0])).item() == approx(-1.0)


def test_sample_mask_removes_samples_from_loss_and_metrics() -> None:
    lp, prev = _ratios([1.5, 1.0])
    lp, prev = lp.reshape(2, 1), prev.reshape(2, 1)
    adv = torch.tensor([[1.0], [3.0]])
    loss, m = clipped_pg_loss(lp, prev, adv, torch.ones(2, 1), sample_mask=torch.tensor([1.0, 0.0]),
                              cfg=LossFnConfig(**NO_KL))
    # only sample 0 counts: max(-1.5, -1.2) = -1.2 over 1 token
    assert loss.item() == approx(-1.2)
    assert m["num_valid_samples"] == 1 and m["num_valid_tokens"] == 1 and m["probs_ratio"] == approx(1.5)
    assert m["probs_ratio_min"] == approx(1.5) and m["probs_ratio_clamped_max"] == approx(1.2)


def test_global_normalization_makes_microbatches_add_up() -> None:
    torch.manual_seed(0)
    lp, prev, adv = torch.randn(4, 5) * 0.1, torch.randn(4, 5) * 0.1, torch.randn(4, 1)
    mask = (torch.rand(4, 5) > 0.3).long()
    full, _ = clipped_pg_loss(lp, prev, adv, mask, cfg=LossFnConfig(**NO_KL))
    for token_level in (True, False):
        cfg = LossFnConfig(token_level_loss=token_level, reference_policy_kl_penalty=0.1)
        ref = torch.randn(4, 5) * 0.1
        full, whole = clipped_pg_loss(lp, prev, adv, mask, ref, cfg=cfg)
        halves = [clipped_pg_loss(lp[i : i + 2], prev[i : i + 2], adv[i : i + 2], mask[i : i + 2], ref[i : i + 2],
                                  cfg=cfg, global_valid_seqs=4, global_valid_toks=mask.sum()) for i in (0, 2)]
        assert sum(h[0] for h in halves).item() == approx(full.item())
        # means are pre-divided by the global counts, so the halves' metrics add up too
        for key in ("loss", "kl_penalty", "probs_ratio", "clip_fraction", "num_valid_tokens"):
            assert sum(h[1][key] for h in halves) == approx(whole[key]), key


def test_dpo_loss_hand_values() -> None:
    chosen, ref_chosen = torch.tensor([[-1.0, -1.0]]), torch.tensor([[-2.0, -2.0]])
    rejected, ref_rejected = torch.tensor([[-3.0, 0.0]]), torch.tensor([[-2.0, 0.0]])
    cm, rm = torch.tensor([[1, 1]]), torch.tensor([[1, 0]])
    # r_chosen = (-1+2) + (-1+2) = 2 ; r_rejected = -3 + 2 = -1 ; beta = 0.5 -> z = 0.5 * 3 = 1.5
    loss, m = dpo_loss(chosen, rejected, ref_chosen, ref_rejected, cm, rm, reference_policy_kl_penalty=0.5)
    assert loss.item() == approx(math.log1p(math.exp(-1.5)))  # -log sigmoid(1.5) = 0.201413
    # NeMo RL logs the rewards unscaled (r, not beta * r); no SFT term is computed at weight 0
    assert m["accuracy"] == 1.0 and m["reward_margin"] == approx(3.0)
    assert m["rewards_chosen_mean"] == approx(2.0) and m["rewards_rejected_mean"] == approx(-1.0)
    assert m["sft_loss"] == 0.0 and m["num_valid_samples"] == 1
    # averaged log-probs: r_chosen = 2 / 2 = 1, r_rejected = -1 / 1 = -1 -> z = 0.5 * 2 = 1
    loss, _ = dpo_loss(chosen, rejected, ref_chosen, ref_rejected, cm, rm, 0.5, preference_average_log_probs=True)
    assert loss.item() == approx(math.log1p(math.exp(-1.0)))
    # SFT term on chosen: -sum = 2 (or -mean = 1), weight 1 added to the preference loss
    loss, m = dpo_loss(chosen, rejected, ref_chosen, ref_rejected, cm, rm, 0.5, sft_loss_weight=1.0)
    assert m["sft_loss"] == approx(2.0) and loss.item() == approx(math.log1p(math.exp(-1.5)) + 2.0)
    _, m = dpo_loss(chosen, rejected, ref_chosen, ref_rejected, cm, rm, 0.5, sft_loss_weight=1.0, sft_average_log_probs=True)
    assert m["sft_loss"] == approx(1.0)


def test_dpo_pairs_are_normalised_by_the_global_pair_count() -> None:
    # Two pairs with -log sigmoid terms ln 2 (margin 0) and -log sigmoid(1.5); halves add up to the mean.
    chosen = torch.tensor([[0.0], [-1.0]]); ref_chosen = torch.tensor([[0.0], [-2.5]])
    rejected = torch.zeros(2, 1); ref_rejected = torch.zeros(2, 1); m1 = torch.ones(2, 1)
    full, whole = dpo_loss(chosen, rejected, ref_chosen, ref_rejected, m1, m1, 1.0)
    assert full.item() == approx((math.log(2) + math.log1p(math.exp(-1.5))) / 2)
    halves = [dpo_loss(chosen[i:i + 1], rejected[i:i + 1], ref_chosen[i:i + 1], ref_rejected[i:i + 1],
                       m1[:1], m1[:1], 1.0, global_valid_pairs=2.0) for i in (0, 1)]
    assert sum(h[0] for h in halves).item() == approx(full.item())
    assert sum(h[1]["accuracy"] for h in halves) == approx(whole["accuracy"]) == approx(0.5)  # margin 0 is no win


def test_grpo_advantages_hand_values() -> None:
    r = torch.tensor([1.0, 0.0, 0.0, 1.0])
    # mean 0.5 ; unbiased std = sqrt(4 * 0.25 / 3) = sqrt(1/3) = 0.57735
    assert grpo_advantages(r, 4, normalize_rewards=False).tolist() == [0.5, -0.5, -0.5, 0.5]
    norm = grpo_advantages(r, 4, normalize_rewards=True)
    assert norm.tolist() == [approx(0.5 / math.sqrt(1 / 3))] * 1 + [approx(-0.866025)] * 2 + [approx(0.866025)]
    # leave-one-out: a 1 is compared with mean(0, 0, 1) = 1/3 ; a 0 with mean(1, 0, 1) = 2/3
    loo = grpo_advantages(r, 4, normalize_rewards=False, use_leave_one_out_baseline=True)
    assert loo.tolist() == [approx(2 / 3), approx(-2 / 3), approx(-2 / 3), approx(2 / 3)]
    # ... and divided by the std of those same 3 others, sqrt(1/3) in both cases: 1.1547
    loo_n = grpo_advantages(r, 4, normalize_rewards=True, use_leave_one_out_baseline=True)
    assert loo_n[0].item() == approx((2 / 3) / math.sqrt(1 / 3))


@pytest.mark.parametrize("loo", [False, True])
@pytest.mark.parametrize("normalize", [False, True])
def test_zero_variance_groups_give_zero_not_nan(loo: bool, normalize: bool) -> None:
    r = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0])
    adv = grpo_advantages(r, 3, normalize_rewards=normalize, use_leave_one_out_baseline=loo)
    assert torch.isfinite(adv).all()
    assert adv[:6].abs().max().item() == 0.0  # two zero-variance groups
    assert adv[6:].abs().max().item() > 0.0


def test_single_sample_group_has_zero_advantage() -> None:
    for loo in (False, True):
        assert grpo_advantages(torch.tensor([1.0, 0.0]), 1, use_leave_one_out_baseline=loo).tolist() == [0.0, 0.0]


def test_pass_at_k_matches_closed_form() -> None:
    assert pass_at_k(5, 2, 2) == approx(0.7)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(10, 0, 3) == 0.0 and pass_at_k(10, 10, 1) == 1.0
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1.0 - math.comb(n - c, k) / math.comb(n, k)
                assert pass_at_k(n, c, k) == approx(exact)
    assert pass_at_k(4, 1, 1) == approx(0.25)  # pass@1 is the plain success rate c / n
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
