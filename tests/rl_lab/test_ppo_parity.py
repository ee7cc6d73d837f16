"""rl_lab's PPO pieces equal NeMo RL v0.7.0's, called from the checkout in ``NEMO_RL_SRC``.

Covered: ``GeneralizedAdvantageEstimator.compute_advantage`` (plain GAE, other gamma and lambda,
no normalisation, VAPO's decoupled and length-adaptive lambdas, a KL penalty in the reward)
and ``RawRewardAdvantageEstimator`` against :func:`rl_lab.ppo.ppo_advantages`, and
``MseValueLossFn`` (with and without value clipping, scaled, over micro-batches divided by a
global token count) against :func:`rl_lab.losses.value_loss`: values, gradients and metrics.

Both sides get the same token-aligned tensors: NeMo RL's value worker shifts its head's outputs
right by one before GAE and the loss see them, which is the layout :class:`rl_lab.ppo.ValueModel`
returns, so no bridging is needed. The masks have ragged rows, a row without any response token
and (for the loss) an invalid sample. Without a checkout every test is skipped.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
import torch

from nemo_rl_import import HOW, import_nemo_rl
from rl_lab.config import LossFnConfig, MseValueLossConfig, PPOAdvEstimatorConfig
from rl_lab.losses import value_loss
from rl_lab.ppo import ppo_advantages

if not os.environ.get("NEMO_RL_SRC"):
    pytest.skip(f"compares rl_lab with NeMo RL's own code: {HOW}", allow_module_level=True)

from parity_common import DTYPES, B, T, close, masks  # noqa: E402

GAE_CASES = {
    "plain": {},
    "gamma0.9-lambda0.8": {"gae_gamma": 0.9, "gae_lambda": 0.8},
    "unnormalised": {"normalize_advantages": False},
    "vapo-value-lambda": {"gae_lambda_value": 1.0},
    "vapo-policy-lambda": {"gae_lambda_policy": 0.5, "normalize_advantages": False},
    "length-adaptive": {"length_adaptive_alpha": 0.3, "gae_lambda_policy": 0.7},
    "kl-in-reward-k3": {"kl": ("k3", 0.1)},
    "kl-in-reward-k1": {"kl": ("k1", 0.05), "normalize_advantages": False},
    "raw-reward": {"name": "raw_reward"},
    "raw-reward-unnormalised": {"name": "raw_reward", "normalize_advantages": False},
}


@pytest.fixture(scope="module")
def nemo():
    adv, losses = import_nemo_rl("nemo_rl.algorithms.advantage_estimator", "nemo_rl.algorithms.loss.loss_functions")
    return adv, losses


def tensors(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    token_mask, sample_mask = masks(seed)
    token_mask[:, 0] = 0.0  # the first token is always prompt
    token_mask[3, 2] = 0.0  # a gap inside a response (a multi-turn episode's observation)
    token_mask[3, 3:] = 1.0
    rewards = torch.randint(0, 2, (B,), generator=g).to(dtype) * 2 - 0.5
    values = torch.randn(B, T, generator=g, dtype=dtype)
    logprobs = -torch.rand(B, T, generator=g, dtype=dtype) * 3
    reference = logprobs + torch.randn(B, T, generator=g, dtype=dtype) * 0.3
    return token_mask.to(dtype), sample_mask.to(dtype), rewards, values, logprobs, reference


@pytest.mark.parametrize("dtype", list(DTYPES), ids=str)
@pytest.mark.parametrize("case", list(GAE_CASES), ids=str)
def test_advantages_and_returns(nemo, dtype, case):
    adv_mod, _ = nemo
    options = dict(GAE_CASES[case])
    kl_type, beta = options.pop("kl", ("k3", 0.0))
    cfg = PPOAdvEstimatorConfig(**options)
    loss_cfg = LossFnConfig(reference_policy_kl_penalty=beta, reference_policy_kl_type=kl_type, use_kl_in_reward=beta > 0)
    mask, _, rewards, values, logprobs, reference = tensors(dtype)
    theirs_cfg = {k: getattr(cfg, k) for k in ("gae_lambda", "gae_gamma", "normalize_advantages", "gae_lambda_value",
                                               "gae_lambda_policy", "length_adaptive_alpha")}
    their_loss_cfg = SimpleNamespace(use_kl_in_reward=loss_cfg.use_kl_in_reward, reference_policy_kl_penalty=beta,
                                     reference_policy_kl_type=kl_type)
    cls = adv_mod.GeneralizedAdvantageEstimator if cfg.name == "gae" else adv_mod.RawRewardAdvantageEstimator
    estimator = cls(theirs_cfg, their_loss_cfg)
    prompt_ids = torch.zeros(B, 3, dtype=torch.long)
    their_adv, their_returns = estimator.compute_advantage(prompt_ids=prompt_ids, rewards=rewards, mask=mask, values=values,
                                                           reference_logprobs=reference, logprobs=logprobs)
    our_adv, our_returns = ppo_advantages(rewards, mask, values, cfg, loss_cfg, logprobs, reference)
    tol = DTYPES[dtype]
    close(our_adv, their_adv, tol)
    if their_returns is None:
        assert our_returns is None
    else:
        close(our_returns, their_returns, tol)  # everywhere, though only response tokens are trained on


VALUE_CASES = {"unclipped": (1.0, None), "clipped": (1.0, 0.2), "scaled-clipped": (0.4, 0.2), "clip-zero": (0.4, 0.0)}


def nemo_value_loss(losses, scale, cliprange, values, old, returns, token_mask, sample_mask, toks):
    fn = losses.MseValueLossFn(losses.MseValueLossConfig(scale=scale, cliprange=cliprange))
    data = {"token_mask": token_mask, "sample_mask": sample_mask, "returns": returns, "values": old}
    return fn(values.unsqueeze(-1), data, sample_mask.sum(), toks)  # the head's [B, T, 1] output


@pytest.mark.parametrize("dtype", list(DTYPES), ids=str)
@pytest.mark.parametrize("case", list(VALUE_CASES), ids=str)
def test_value_loss_values_gradients_and_metrics(nemo, dtype, case):
    _, losses = nemo
    scale, cliprange = VALUE_CASES[case]
    token_mask, sample_mask, _, old, _, _ = tensors(dtype, seed=1)
    g = torch.Generator().manual_seed(5)
    current = old + torch.randn(B, T, generator=g, dtype=dtype) * 0.3  # some within the clip range, some outside
    returns = old + torch.randn(B, T, generator=g, dtype=dtype)
    toks = (token_mask * sample_mask[:, None]).sum()
    theirs_in, ours_in = current.clone().requires_grad_(True), current.clone().requires_grad_(True)
    theirs, their_metrics = nemo_value_loss(losses, scale, cliprange, theirs_in, old, returns, token_mask, sample_mask, toks)
    ours, our_metrics = value_loss(ours_in, old, returns, token_mask, MseValueLossConfig(scale, cliprange),
                                   sample_mask=sample_mask, global_valid_toks=toks)
    theirs.backward()
    ours.backward()
    tol = DTYPES[dtype]
    close(ours.detach(), theirs.detach(), tol)
    close(ours_in.grad, theirs_in.grad, tol)
    assert set(our_metrics) == set(their_metrics)
    for key, value in their_metrics.items():
        close(our_metrics[key], value, max(tol, 1e-6))  # NeMo RL's metrics are Python floats from .item()


@pytest.mark.parametrize("case", ["unclipped", "scaled-clipped"])
def test_value_loss_micro_batches_add_up_like_nemo_rl(nemo, case):
    _, losses = nemo
    scale, cliprange = VALUE_CASES[case]
    token_mask, sample_mask, _, old, _, _ = tensors(torch.float64, seed=2)
    current, returns = old + 0.25, old - 0.5
    toks = (token_mask * sample_mask[:, None]).sum()
    whole = value_loss(current, old, returns, token_mask, MseValueLossConfig(scale, cliprange),
                       sample_mask=sample_mask, global_valid_toks=toks)[0].item()
    ours = theirs = 0.0
    for rows in (slice(0, 2), slice(2, B)):
        args = (current[rows], old[rows], returns[rows], token_mask[rows], sample_mask[rows])
        ours += value_loss(*args[:4], MseValueLossConfig(scale, cliprange), sample_mask=args[4], global_valid_toks=toks)[0].item()
        theirs += nemo_value_loss(losses, scale, cliprange, *args, toks)[0].item()
    close(ours, whole, 1e-12)
    close(ours, theirs, 1e-12)
