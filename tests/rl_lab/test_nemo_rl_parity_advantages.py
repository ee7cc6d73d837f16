"""rl_lab's advantage estimators and DAPO's reward shaping against NeMo RL v0.7.0's own code.

As in ``test_nemo_rl_parity.py``: NeMo RL's functions are imported from ``NEMO_RL_SRC``
and called on the same random inputs; without a checkout the module is skipped.
DAPO's ``dynamic_sampling`` sits in NeMo RL's ``grpo.py``, whose import needs Ray;
``test_dapo_advantages.py`` covers it by hand.
"""

from __future__ import annotations

import itertools
import os

import pytest
import torch

from nemo_rl_import import HOW, import_nemo_rl
from rl_lab.advantages import AdvantageInputs, compute_advantages, grpo_advantages, prompt_group_ids
from rl_lab.config import AdvEstimatorConfig, LossFnConfig, RewardShapingConfig
from rl_lab.dapo import apply_reward_shaping

if not os.environ.get("NEMO_RL_SRC"):
    pytest.skip(f"compares rl_lab with NeMo RL's own code: {HOW}", allow_module_level=True)

from parity_common import B, T, close, masks, nemo  # noqa: E402,F401  (nemo is a fixture)


def nemo_advantages(nemo, rewards, n, normalize, leave_one_out):
    groups = len(rewards) // n
    prompt_ids = torch.arange(groups).repeat_interleave(n)[:, None].expand(-1, 3)  # one prompt per group
    estimator = nemo["adv"].GRPOAdvantageEstimator(
        {"use_leave_one_out_baseline": leave_one_out, "normalize_rewards": normalize}, None)
    default = torch.get_default_dtype()
    torch.set_default_dtype(rewards.dtype)  # NeMo RL builds its helper matrices (torch.eye) in the default dtype
    try:
        return estimator.compute_advantage(prompt_ids, rewards, torch.ones(len(rewards), T))[:, 0]
    finally:
        torch.set_default_dtype(default)


@pytest.mark.parametrize("normalize, leave_one_out", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("rewards_kind", ["binary", "continuous"])
def test_grpo_advantages(nemo, normalize, leave_one_out, rewards_kind):
    n, groups = 4, 5
    g = torch.Generator().manual_seed(6)
    if rewards_kind == "binary":
        rewards = (torch.rand(groups * n, generator=g) > 0.5).double()
        rewards[:n] = 1.0  # an all-correct group: zero variance
        rewards[n:2 * n] = 0.0  # an all-wrong group
    else:
        rewards = torch.randn(groups * n, generator=g, dtype=torch.float64)
        rewards[:n] = 0.25  # a zero-variance group of a non-binary reward
    theirs64 = nemo_advantages(nemo, rewards, n, normalize, leave_one_out)
    # float64: 1e-6, not 1e-12, because NeMo RL computes the n / (n - 1) variance factor in
    # float32 (valid_mask.float()) even for float64 rewards: its std carries a ~3e-8 relative error.
    close(grpo_advantages(rewards, n, normalize, leave_one_out), theirs64, 1e-6)
    # float32: rl_lab works in float64 inside and rounds once, so its float32 result equals NeMo RL's
    # float64 one at 1e-6; NeMo RL's float32 result differs from both by its own rounding in
    # E[r^2] - E[r]^2 (seen: 5e-6 on a leave-one-out group of close rewards), hence 1e-5 there.
    ours32 = grpo_advantages(rewards.float(), n, normalize, leave_one_out)
    close(ours32, theirs64, 1e-6)
    close(ours32, nemo_advantages(nemo, rewards.float(), n, normalize, leave_one_out), 1e-5)


def _with_default_dtype(dtype, fn):
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # NeMo RL builds its helper matrices (torch.eye) in the default dtype
    try:
        return fn()
    finally:
        torch.set_default_dtype(default)


def _scattered_prompts(g):
    """12 samples of 3 prompts (3, 4 and 5 samples) in shuffled order, as NeMo RL's [B, L] prompt tokens."""
    which = torch.tensor([0] * 3 + [1] * 4 + [2] * 5)[torch.randperm(12, generator=g)]
    table = torch.tensor([[4, 5, 0], [4, 6, 7], [9, 0, 0]])
    return table[which]


@pytest.mark.parametrize("normalize, leave_one_out", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("name", ["grpo", "gdpo"])
def test_estimators_group_by_prompt(nemo, name, normalize, leave_one_out):
    g = torch.Generator().manual_seed(10)
    prompts = _scattered_prompts(g)
    components = torch.randn(12, 2, generator=g, dtype=torch.float64)
    components[prompts[:, 0] == 9, 0] = 0.5  # a zero-variance group in component 1
    rewards = components.sum(-1)
    mask = torch.ones(12, T, dtype=torch.float64)
    est = {"name": name, "normalize_rewards": normalize, "use_leave_one_out_baseline": leave_one_out}
    cls = nemo["adv"].GRPOAdvantageEstimator if name == "grpo" else nemo["adv"].GDPOAdvantageEstimator
    batch = {"reward1": components[:, 0], "reward2": components[:, 1]}
    theirs = _with_default_dtype(torch.float64, lambda: cls(est, None).compute_advantage(
        prompts, rewards, mask, repeated_batch=batch))
    inputs = AdvantageInputs(rewards, prompt_group_ids(prompts), mask, reward_components=components)
    ours = compute_advantages(inputs, AdvEstimatorConfig(name, normalize, leave_one_out), LossFnConfig())
    close(ours.expand_as(theirs), theirs, 1e-6)  # 1e-6: NeMo RL's float32 n / (n - 1), see test_grpo_advantages


@pytest.mark.parametrize("minus_baseline", [False, True])
@pytest.mark.parametrize("kl_in_reward", [False, True])
def test_reinforce_plus_plus(nemo, minus_baseline, kl_in_reward):
    g = torch.Generator().manual_seed(11)
    prompts = _scattered_prompts(g)
    rewards = (torch.rand(12, generator=g) > 0.5).double()
    mask = (torch.rand(12, T, generator=g) > 0.3).double()
    logprobs = -torch.rand(12, T, generator=g, dtype=torch.float64) * 2
    reference = logprobs + 0.3 * torch.randn(12, T, generator=g, dtype=torch.float64)
    loss_kwargs = dict(use_kl_in_reward=kl_in_reward, reference_policy_kl_penalty=0.05, reference_policy_kl_type="k3")
    estimator = nemo["adv"].ReinforcePlusPlusAdvantageEstimator(
        {"minus_baseline": minus_baseline}, nemo["loss"].ClippedPGLossConfig(**loss_kwargs))
    theirs = _with_default_dtype(torch.float64, lambda: estimator.compute_advantage(
        prompts, rewards, mask, logprobs_policy=logprobs, logprobs_reference=reference))
    inputs = AdvantageInputs(rewards, prompt_group_ids(prompts), mask, logprobs=logprobs, reference_logprobs=reference)
    ours = compute_advantages(inputs, AdvEstimatorConfig("reinforce_plus_plus", minus_baseline=minus_baseline),
                              LossFnConfig(**loss_kwargs))
    close(ours, theirs, 1e-12)


def test_opd_advantages(nemo):
    g = torch.Generator().manual_seed(12)
    student, teacher = (-torch.rand(B, T, generator=g, dtype=torch.float64) for _ in range(2))
    mask = masks(12)[0].double()
    theirs = nemo["adv"].OPDAdvantageEstimator({"name": "opd"}, {}).compute_advantage(
        None, None, mask, teacher_logprobs=teacher, prev_logprobs=student)
    ours = compute_advantages(AdvantageInputs(torch.zeros(B), torch.zeros(B, dtype=torch.long), mask, logprobs=student,
                                              teacher_logprobs=teacher), AdvEstimatorConfig("opd"), LossFnConfig())
    close(ours, theirs, 1e-12)


@pytest.mark.parametrize("shaping", [
    dict(enabled=True, overlong_buffer_length=4, overlong_buffer_penalty=0.5, max_response_length=10),
    dict(enabled=True, overlong_buffer_length=3, overlong_buffer_penalty=2.0, max_response_length=6),
    dict(enabled=True, stop_properly_penalty_coef=0.25),
    dict(enabled=False),
])
def test_reward_shaping(shaping):
    reward_functions, batched = import_nemo_rl("nemo_rl.algorithms.reward_functions",
                                               "nemo_rl.distributed.batched_data_dict")
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.5, 1.0, 0.0])
    lengths, truncated = [2, 5, 7, 9, 12, 6], [False, False, True, False, True, True]
    theirs = reward_functions.apply_reward_shaping(batched.BatchedDataDict(
        {"total_reward": rewards.clone(), "response_token_lengths": torch.tensor(lengths),
         "truncated": torch.tensor(truncated)}), {**shaping})["total_reward"]
    ours = apply_reward_shaping(rewards.clone(), lengths, truncated, RewardShapingConfig(**shaping), 64)
    close(ours, theirs, 1e-6)
