"""The variants of the clipped policy-gradient loss against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from rl_lab.config import TRUNCATED_IS_TYPES, ConfigError, LossFnConfig
from rl_lab.losses import RATIOS, SURROGATES, TRUNCATIONS, clipped_pg_loss, ratio_kind

approx = lambda x: pytest.approx(x, abs=1e-5)  # noqa: E731
NO_KL = dict(reference_policy_kl_penalty=0.0)
IS = dict(use_importance_sampling_correction=True, **NO_KL)


def test_gspo_one_ratio_per_sequence() -> None:
    lp = torch.tensor([[math.log(2.0), 0.0]], requires_grad=True)
    cfg = LossFnConfig(sequence_level_importance_ratios=True, token_level_loss=False, **NO_KL)
    loss, m = clipped_pg_loss(lp, torch.zeros(1, 2), torch.ones(1, 2), torch.ones(1, 2), cfg=cfg)
    # mean log-ratio (ln 2 + 0) / 2 -> ratio sqrt(2) = 1.4142 for both tokens, clipped to 1.2:
    # per token max(-1.4142, -1.2) = -1.2, sequence mean -1.2; the clip cuts the gradient
    assert loss.item() == approx(-1.2)
    assert m["probs_ratio"] == approx(math.sqrt(2.0)) and m["clip_fraction"] == approx(1.0)
    loss.backward()
    assert lp.grad.tolist() == [[0.0, 0.0]]


def test_gspo_inside_the_clip_range_gets_the_sequence_gradient() -> None:
    lp = torch.tensor([[0.1, -0.1]], requires_grad=True)
    cfg = LossFnConfig(sequence_level_importance_ratios=True, token_level_loss=False, **NO_KL)
    loss, _ = clipped_pg_loss(lp, torch.zeros(1, 2), torch.ones(1, 2), torch.ones(1, 2), cfg=cfg)
    # mean log-ratio 0 -> ratio 1 on both tokens, loss -1; d loss / d lp_t = -r * (1/2) per token,
    # and each of the 2 tokens carries that ratio: (-1/2) * (1/2) * 2 = -1/2
    assert loss.item() == approx(-1.0)
    loss.backward()
    assert lp.grad.tolist() == [[approx(-0.5), approx(-0.5)]]


def test_cispo_detached_clipped_weight_times_logprob() -> None:
    lp = torch.log(torch.tensor([[0.75]])).requires_grad_(True)
    prev = torch.log(torch.tensor([[0.5]]))
    cfg = LossFnConfig(use_cispo=True, ratio_clip_max=0.28, **NO_KL)
    loss, m = clipped_pg_loss(lp, prev, torch.ones(1, 1), torch.ones(1, 1), cfg=cfg)
    # ratio 0.75 / 0.5 = 1.5, clipped to 1.28 and detached: loss = -1 * 1.28 * ln 0.75 = 0.368236
    assert loss.item() == approx(-1.28 * math.log(0.75))
    loss.backward()
    assert lp.grad.item() == approx(-1.28)  # the clipped token still gets a gradient (PPO's would be 0)
    assert m["probs_ratio"] == approx(1.5)


def test_disable_ppo_ratio_is_reinforce() -> None:
    lp = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    cfg = LossFnConfig(disable_ppo_ratio=True, **NO_KL)
    loss, m = clipped_pg_loss(lp, torch.zeros(1, 2), torch.tensor([[1.0, -1.0]]), torch.ones(1, 2), cfg=cfg)
    # -A * logprob: -(1)(-1) = 1, -(-1)(-2) = -2, mean -0.5; gradient -A / 2
    assert loss.item() == approx(-0.5)
    loss.backward()
    assert lp.grad.tolist() == [[-0.5, 0.5]]
    assert m["clip_fraction"] == 0.0


def test_force_on_policy_ratio_ignores_prev_logprobs() -> None:
    lp = torch.tensor([[math.log(2.0), 0.0]], requires_grad=True)
    cfg = LossFnConfig(force_on_policy_ratio=True, **NO_KL)
    loss, m = clipped_pg_loss(lp, torch.zeros(1, 2), torch.ones(1, 2), torch.ones(1, 2), cfg=cfg)
    # ratio forced to 1 (it would be 2 on the first token): loss -1, gradient -A / 2 on each token
    assert loss.item() == approx(-1.0) and m["probs_ratio"] == approx(1.0)
    loss.backward()
    assert lp.grad.tolist() == [[-0.5, -0.5]]


def _off_policy(weights: list[list[float]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(logprobs, generation_logprobs) with prev == logprobs and pi_train / pi_gen == weights."""
    w = torch.tensor(weights)
    return torch.zeros_like(w), -torch.log(w)


def test_tis_clamps_the_importance_weights() -> None:
    lp, gen = _off_policy([[0.5, 3.0]])
    cfg = LossFnConfig(truncated_importance_sampling_type="tis", truncated_importance_sampling_ratio=2.0, **IS)
    loss, m = clipped_pg_loss(lp, lp, torch.ones(1, 2), torch.ones(1, 2), cfg=cfg, generation_logprobs=gen)
    # weights clamped to [0, 2]: 0.5, 2.0; ratio 1, A 1: mean(-0.5, -2.0) = -1.25
    assert loss.item() == approx(-1.25)
    assert m["is_oob_ratio"] == approx(0.5) and m["sampling_importance_ratio"] == approx(1.25)


def test_importance_weights_without_truncation() -> None:
    lp, gen = _off_policy([[0.5, 3.0]])
    loss, _ = clipped_pg_loss(lp, lp, torch.ones(1, 2), torch.ones(1, 2), cfg=LossFnConfig(**IS), generation_logprobs=gen)
    assert loss.item() == approx(-1.75)  # mean(-0.5, -3.0)
    off, m = clipped_pg_loss(lp, lp, torch.ones(1, 2), torch.ones(1, 2), cfg=LossFnConfig(**NO_KL), generation_logprobs=gen)
    assert off.item() == approx(-1.0) and m["sampling_importance_ratio"] == approx(1.75)  # logged, not applied


def test_icepop_zeroes_tokens_out_of_bounds() -> None:
    lp, gen = _off_policy([[0.5, 1.5, 3.0]])
    cfg = LossFnConfig(truncated_importance_sampling_type="icepop", truncated_importance_sampling_ratio=2.0,
                       truncated_importance_sampling_ratio_min=0.8, **IS)
    loss, m = clipped_pg_loss(lp, lp, torch.ones(1, 3), torch.ones(1, 3), cfg=cfg, generation_logprobs=gen)
    # 0.5 and 3.0 fall outside [0.8, 2] and weigh 0: mean(0, -1.5, 0) = -0.5
    assert loss.item() == approx(-0.5) and m["is_oob_ratio"] == approx(2 / 3)


def test_seq_mask_tis_drops_whole_sequences_by_geometric_mean() -> None:
    lp, gen = _off_policy([[2.0, 0.5], [2.0, 2.0]])
    cfg = LossFnConfig(truncated_importance_sampling_type="seq-mask-tis", truncated_importance_sampling_ratio=1.1,
                       truncated_importance_sampling_ratio_min=0.9, **IS)
    loss, m = clipped_pg_loss(lp, lp, torch.ones(2, 2), torch.ones(2, 2), cfg=cfg, generation_logprobs=gen)
    # geometric means sqrt(2 * 0.5) = 1 (kept, raw weights 2 and 0.5) and 2 (dropped):
    # (-2 - 0.5 + 0 + 0) / 4 = -0.625; one of two sequences out of bounds
    assert loss.item() == approx(-0.625) and m["is_oob_ratio"] == approx(0.5)


def test_on_policy_kl_approximation_weights_the_kl_by_pi_over_pi_gen() -> None:
    lp, gen, ref = torch.log(torch.tensor([[0.5]])), torch.log(torch.tensor([[0.25]])), torch.zeros(1, 1)
    a = torch.zeros(1, 1)
    plain = clipped_pg_loss(lp, lp, a, torch.ones(1, 1), ref, cfg=LossFnConfig(), generation_logprobs=gen)[1]
    approx_cfg = LossFnConfig(use_on_policy_kl_approximation=True)
    weighted = clipped_pg_loss(lp, lp, a, torch.ones(1, 1), ref, cfg=approx_cfg, generation_logprobs=gen)[1]
    # k3 with log(pi_ref / pi) = ln 2: 2 - 1 - ln 2 = 0.30685; pi / pi_gen = 2 doubles it
    assert plain["kl_penalty"] == approx(1 - math.log(2.0))
    assert weighted["kl_penalty"] == approx(2 * (1 - math.log(2.0)))


def test_use_kl_in_reward_takes_the_kl_out_of_the_loss() -> None:
    lp, ref = torch.zeros(1, 2), torch.full((1, 2), -1.0)
    loss, m = clipped_pg_loss(lp, lp, torch.ones(1, 2), torch.ones(1, 2), ref, cfg=LossFnConfig(use_kl_in_reward=True))
    assert loss.item() == approx(-1.0) and m["kl_penalty"] == 0.0


def test_positive_example_nll_on_rewarded_samples_only() -> None:
    lp = torch.tensor([[-1.0, -3.0], [-2.0, -2.0]], requires_grad=True)
    cfg = LossFnConfig(positive_example_nll_weight=0.1, **NO_KL)
    loss, m = clipped_pg_loss(lp, lp.detach(), torch.zeros(2, 1), torch.ones(2, 2), cfg=cfg,
                              rewards=torch.tensor([1.0, 0.0]))
    # A = 0: no policy-gradient term; NLL over the tokens of sample 0 (reward > 0): (1 + 3) / 2 = 2
    assert m["positive_nll_loss"] == approx(2.0) and loss.item() == approx(0.2)
    loss.backward()
    assert lp.grad.tolist() == [[approx(-0.05), approx(-0.05)], [0.0, 0.0]]  # -0.1 / 2 on sample 0
    no_rewards, _ = clipped_pg_loss(lp, lp.detach(), torch.zeros(2, 1), torch.ones(2, 2), cfg=cfg)
    assert no_rewards.item() == 0.0  # as in NeMo RL, the term needs the rewards


@pytest.mark.parametrize("kwargs, message", [
    (dict(sequence_level_importance_ratios=True), "needs token_level_loss=false"),
    (dict(use_cispo=True, ratio_clip_c=3.0), "use_cispo=true cannot be combined with ratio_clip_c"),
    (dict(truncated_importance_sampling_type="tis", truncated_importance_sampling_ratio=2.0),
     "needs use_importance_sampling_correction=true"),
    (dict(truncated_importance_sampling_type="icepop", truncated_importance_sampling_ratio=2.0,
          use_importance_sampling_correction=True), "needs truncated_importance_sampling_ratio_min"),
    (dict(truncated_importance_sampling_type="clip", truncated_importance_sampling_ratio=2.0,
          use_importance_sampling_correction=True), "choose one of"),
    (dict(truncated_importance_sampling_ratio=2.0), "truncated_importance_sampling_type is null"),
])
def test_combinations_nemo_rl_rejects(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        LossFnConfig(**kwargs)


def test_variant_tables_are_keyed_by_nemo_rl_names() -> None:
    assert set(RATIOS) == {"token", "sequence_level_importance_ratios", "disable_ppo_ratio", "force_on_policy_ratio"}
    assert set(SURROGATES) == {"clipped", "use_cispo"} and set(TRUNCATIONS) == set(TRUNCATED_IS_TYPES)
    # NeMo RL's precedence: a forced ratio wins over no ratio, which wins over the sequence ratio
    both = LossFnConfig(disable_ppo_ratio=True, force_on_policy_ratio=True)
    assert ratio_kind(both) == "force_on_policy_ratio"
