"""PPO by hand: GAE, token rewards, whitening, the value loss, the value model, the recipe's keys and the loop."""

from __future__ import annotations

import pytest
import torch

from rl_lab.config import (ConfigError, LossFnConfig, ModelSizeConfig, MseValueLossConfig, PPOAdvEstimatorConfig,
                           RewardScalingConfig, load_recipe, nemo_rl_keys)
from rl_lab.losses import value_loss
from rl_lab.models import build_model
from rl_lab.ppo import (ValueModel, explained_variance, gae, ppo_advantages, scale_rewards, token_level_rewards,
                        train_ppo, whiten)
from rl_lab.run import TRAINERS

approx = pytest.approx


def test_gae_on_three_tokens_by_hand():
    # reward 1 on the last token, V = (0.5, 0.6, 0.8), gamma 1, lambda 0.95, V after the end = 0:
    # delta_2 = 1 + 0 - 0.8 = 0.2          A_2 = 0.2
    # delta_1 = 0 + 0.8 - 0.6 = 0.2        A_1 = 0.2 + 0.95 * 0.2 = 0.39
    # delta_0 = 0 + 0.6 - 0.5 = 0.1        A_0 = 0.1 + 0.95 * 0.39 = 0.4705
    # returns = A + V = (0.9705, 0.99, 1.0)
    adv, ret = gae(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.6, 0.8]]), torch.ones(1, 3), 1.0, 0.95)
    assert adv[0].tolist() == approx([0.4705, 0.39, 0.2])
    assert ret[0].tolist() == approx([0.9705, 0.99, 1.0])


def test_gae_discounts_with_gamma():
    # gamma 0.5, lambda 1: delta_2 = 1 - 0.8 = 0.2; delta_1 = 0.5 * 0.8 - 0.6 = -0.2; delta_0 = 0.5 * 0.6 - 0.5 = -0.2
    # A_2 = 0.2; A_1 = -0.2 + 0.5 * 0.2 = -0.1; A_0 = -0.2 + 0.5 * -0.1 = -0.25
    # (lambda 1: returns are the discounted rewards 0.25, 0.5, 1)
    adv, ret = gae(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.6, 0.8]]), torch.ones(1, 3), 0.5, 1.0)
    assert adv[0].tolist() == approx([-0.25, -0.1, 0.2])
    assert ret[0].tolist() == approx([0.25, 0.5, 1.0])


def test_gae_carries_over_masked_tokens():
    # mask (1, 0, 1): token 1 (an observation) neither adds a TD error nor passes on its value 9.
    # t=2: delta = 1 - 0.8 = 0.2, A_2 = 0.2, V_next becomes 0.8
    # t=1: masked, A and V_next stay 0.2 and 0.8
    # t=0: delta = 0 + 0.8 - 0.5 = 0.3, A_0 = 0.3 + 0.95 * 0.2 = 0.49
    adv, _ = gae(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[0.5, 9.0, 0.8]]), torch.tensor([[1.0, 0.0, 1.0]]), 1.0, 0.95)
    assert adv[0].tolist() == approx([0.49, 0.2, 0.2])


def test_gae_lambda_per_sample():
    # one lambda per row: 0 (A_0 = delta_0 = 0.6 - 0.5) and 1 (A_0 = 1 - 0.5)
    adv, _ = gae(torch.tensor([[0.0, 1.0], [0.0, 1.0]]), torch.tensor([[0.5, 0.6], [0.5, 0.6]]), torch.ones(2, 2), 1.0,
                 torch.tensor([0.0, 1.0]))
    assert adv[:, 0].tolist() == approx([0.1, 0.5])


def test_token_rewards_land_on_the_last_response_token_and_kl_on_every_one():
    mask = torch.tensor([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])  # row 1 has no response: no reward anywhere
    out = token_level_rewards(torch.tensor([2.0, 5.0]), mask, LossFnConfig())
    assert out.tolist() == [[0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    # use_kl_in_reward, beta 0.5, k1: KL = logprob - reference = 0.2 on each response token -> -0.1 each
    cfg = LossFnConfig(use_kl_in_reward=True, reference_policy_kl_penalty=0.5, reference_policy_kl_type="k1")
    lp = torch.full((2, 4), -1.0)
    out = token_level_rewards(torch.tensor([2.0, 5.0]), mask, cfg, lp, lp - 0.2)
    assert out[0].tolist() == approx([0.0, -0.1, 1.9, 0.0])


def test_whiten_over_masked_entries_with_the_unbiased_variance():
    # entries 1 and 3: mean 2, unbiased variance ((1-2)^2 + (3-2)^2) / (2 - 1) = 2 -> (-1, 1) / sqrt(2)
    out = whiten(torch.tensor([[1.0, 3.0, 100.0]]), torch.tensor([[1.0, 1.0, 0.0]]))
    assert out[0, :2].tolist() == approx([-2**-0.5, 2**-0.5], abs=1e-6)


def test_ppo_advantages_zero_outside_the_response():
    mask = torch.tensor([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    adv, ret = ppo_advantages(torch.tensor([1.0, 0.0]), mask, torch.zeros(2, 3), PPOAdvEstimatorConfig(), LossFnConfig())
    assert adv[:, 0].tolist() == [0.0, 0.0] and adv[1, 2].item() == 0.0
    assert masked_sum(adv, mask) == approx(0.0, abs=1e-6)  # whitened: mean 0 over the response tokens
    assert ret.shape == (2, 3)


def masked_sum(x, mask):
    return float((x * mask).sum())


def test_decoupled_lambdas():
    # gamma 1, V = 0, reward 1 on the last of two tokens: with lambda l, A_0 = 0 + l * 1, A_1 = 1.
    r, mask, v = torch.tensor([1.0]), torch.ones(1, 2), torch.zeros(1, 2)
    cfg = PPOAdvEstimatorConfig(normalize_advantages=False, gae_lambda=0.5, gae_lambda_value=1.0, gae_lambda_policy=0.2)
    adv, ret = ppo_advantages(r, mask, v, cfg, LossFnConfig())
    assert adv[0].tolist() == approx([0.2, 1.0]) and ret[0].tolist() == approx([1.0, 1.0])
    # length-adaptive: alpha 0.25, l = 2 -> lambda = 1 - 1 / max(0.5, 1) = 0, it wins over gae_lambda_policy
    cfg = PPOAdvEstimatorConfig(normalize_advantages=False, gae_lambda_policy=0.2, length_adaptive_alpha=0.25)
    assert ppo_advantages(r, mask, v, cfg, LossFnConfig())[0][0].tolist() == approx([0.0, 1.0])


def test_raw_reward_puts_the_reward_on_every_token_and_has_no_returns():
    cfg = PPOAdvEstimatorConfig(name="raw_reward", normalize_advantages=False)
    adv, ret = ppo_advantages(torch.tensor([3.0]), torch.tensor([[0.0, 1.0, 1.0]]), None, cfg, LossFnConfig())
    assert adv.tolist() == [[3.0, 3.0, 3.0]] and ret is None


def test_value_loss_with_clipping_by_hand():
    # V = (1, 0), V_old = (0.5, 0.5), R = (2, 0), cliprange 0.2 -> V_clip = (0.7, 0.3)
    # token 0: (1 - 2)^2 = 1 vs (0.7 - 2)^2 = 1.69 -> 1.69 (clipped term larger)
    # token 1: (0 - 0)^2 = 0 vs (0.3 - 0)^2 = 0.09 -> 0.09 (clipped term larger)
    # loss = 0.5 * scale * mean(1.69, 0.09) = 0.5 * 0.4 * 0.89 = 0.178; vf_clipfrac = 1
    v, old, r = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.5]]), torch.tensor([[2.0, 0.0]])
    loss, m = value_loss(v, old, r, torch.ones(1, 2), MseValueLossConfig(scale=0.4, cliprange=0.2))
    assert loss.item() == approx(0.178) and m["vf_clipfrac"] == 1.0
    # no clipping (None or 0): 0.5 * 0.4 * mean(1, 0) = 0.1
    assert value_loss(v, old, r, torch.ones(1, 2), MseValueLossConfig(scale=0.4))[0].item() == approx(0.1)
    assert value_loss(v, old, r, torch.ones(1, 2), MseValueLossConfig(scale=0.4, cliprange=0.0))[0].item() == approx(0.1)


def test_value_loss_masks_tokens_and_samples():
    v = torch.tensor([[1.0, 5.0], [7.0, 7.0]], requires_grad=True)
    token_mask, sample_mask = torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([1.0, 0.0])
    # only token (0, 0) counts: 0.5 * (1 - 0)^2 = 0.5; the other entries get no gradient
    loss, m = value_loss(v, v.detach(), torch.zeros(2, 2), token_mask, sample_mask=sample_mask)
    loss.backward()
    assert loss.item() == approx(0.5) and v.grad.tolist() == [[1.0, 0.0], [0.0, 0.0]]
    assert (m["values_min"], m["values_max"], m["values_mean"]) == (1.0, 1.0, approx(1.0))
    # with a global count of 4 tokens the same batch contributes 0.5 * 1 / 4
    assert value_loss(v, v.detach(), torch.zeros(2, 2), token_mask, sample_mask=sample_mask,
                      global_valid_toks=4.0)[0].item() == approx(0.125)


def test_explained_variance_by_hand():
    # R = (0, 2), V = (0, 1): Var(R) = E[R^2] - E[R]^2 = 2 - 1 = 1;
    # residual R - V = (0, 1): E[res^2] = 0.5, mean 0.5 -> Var = 0.25; EV = 1 - 0.25 = 0.75
    _, m = value_loss(torch.tensor([[0.0, 1.0]]), torch.zeros(1, 2), torch.tensor([[0.0, 2.0]]), torch.ones(1, 2))
    assert explained_variance(m) == approx(0.75)


def test_reward_scaling():
    cfg = RewardScalingConfig(enabled=True, source_min=0.0, source_max=2.0, target_min=0.0, target_max=1.0)
    assert scale_rewards(torch.tensor([-1.0, 1.0, 3.0]), cfg).tolist() == [0.0, 0.5, 1.0]  # clamped, then mapped
    assert scale_rewards(torch.tensor([3.0]), RewardScalingConfig()).tolist() == [3.0]  # disabled


def test_value_model_starts_from_the_lm_and_reads_the_state_before_each_token():
    lm = build_model(ModelSizeConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64), 20)
    value = ValueModel(lm, seed=0)
    assert torch.equal(value.body.embed_tokens.weight, lm.get_decoder().embed_tokens.weight)
    assert value.body.embed_tokens.weight is not lm.get_decoder().embed_tokens.weight  # a copy: the policy is separate
    assert value.score.bias is None and value.score.weight.std().item() < 0.05  # normal(0, initializer_range=0.02)
    ids = torch.tensor([[3, 4, 5, 6]])
    out = value(ids)
    hidden = lm.get_decoder()(input_ids=ids).last_hidden_state
    assert out[0, 0].item() == 0.0
    assert torch.allclose(out[0, 1:], (hidden @ value.score.weight.T).squeeze(-1)[0, :-1], atol=1e-6)
    # the value of token t does not depend on token t itself
    assert torch.allclose(value(torch.tensor([[3, 4, 5, 9]]))[0, 3], out[0, 3])


def test_recipe_keys_and_defaults_are_nemo_rl_s():
    cfg = load_recipe("ppo_addition")
    keys = nemo_rl_keys(cfg)
    for key in ("ppo.ppo_epochs", "ppo.policy_training_start_step", "ppo.adv_estimator.gae_lambda",
                "ppo.adv_estimator.gae_gamma", "ppo.reward_scaling.enabled", "value.optimizer.kwargs.lr",
                "value_loss_fn.scale", "value_loss_fn.cliprange", "value.reward_model_cfg.reward_model_type"):
        assert key in keys, key
    assert (cfg.ppo.ppo_epochs, cfg.value_loss_fn.scale, cfg.value_loss_fn.cliprange) == (4, 0.4, 0.2)
    assert MseValueLossConfig().scale == 1.0 and MseValueLossConfig().cliprange is None  # NeMo RL's class defaults
    assert TRAINERS["ppo"] is train_ppo


@pytest.mark.parametrize("override,message", [
    ("ppo.adv_estimator.name=grpo", "ppo.adv_estimator.name='grpo'; PPO supports"),
    ("ppo.adv_estimator.gae_lambda=1.5", "ppo.adv_estimator.gae_lambda must be in [0, 1]"),
    ("ppo.ppo_epochs=0", "ppo.ppo_epochs must be >= 1"),
    ("value.reward_model_cfg.reward_model_type=bradley_terry", "reward_model_type='regression'"),
])
def test_bad_keys_are_refused_with_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        load_recipe("ppo_addition", overrides=[override])


TINY = ["ppo.max_num_steps=1", "ppo.num_prompts_per_step=2", "ppo.num_generations_per_prompt=2", "ppo.ppo_epochs=2",
        "rl_lab.init_checkpoint=null", "policy.train_global_batch_size=4", "policy.train_micro_batch_size=2",
        "value.train_global_batch_size=4", "value.train_micro_batch_size=2", "ppo.val_at_start=false",
        "ppo.val_at_end=false", "logger.log_dir=null"]


@pytest.mark.parametrize("override,message", [
    ("checkpointing.enabled=true", "checkpointing.enabled=false"),
    ("loss_fn.reference_policy_kl_penalty=0.1", "skip_reference_policy_logprobs_calculation"),
    ("value.train_global_batch_size=3", "value.train_global_batch_size=3 must divide"),
    ("value.model_name=Qwen/Qwen2.5-0.5B", "value.model_name="),
])
def test_runs_the_trainer_cannot_do_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        train_ppo("ppo_addition", TINY + [override], progress=False)


def test_critic_warm_up_leaves_the_policy_untouched():
    cfg = load_recipe("ppo_addition", TINY + ["ppo.policy_training_start_step=1"])
    result = train_ppo(cfg, progress=False)
    row = result.history[0]
    assert row["train/policy_trained"] == 0.0 and "train/loss" not in row and row["train/critic/loss"] > 0
    from rl_lab.policy import build_policy  # the same seed builds the same starting weights
    start = build_policy(cfg).model
    assert all(torch.equal(a, b) for a, b in zip(start.state_dict().values(), result.model.state_dict().values()))
