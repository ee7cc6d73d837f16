"""Advantage estimators, prompt groups and DAPO's pieces against values worked out by hand, and in a GRPO step."""

from __future__ import annotations

import copy

import pytest
import torch

from rl_lab.advantages import (
    ADV_ESTIMATORS,
    AdvantageInputs,
    compute_advantages,
    grouped_baseline_and_std,
    grpo_advantages,
    prompt_group_ids,
)
from rl_lab.config import ADV_ESTIMATOR_NAMES, AdvEstimatorConfig, ConfigError, LossFnConfig, RewardShapingConfig, load_recipe
from rl_lab.dapo import DynamicSamplingBuffer, apply_reward_shaping, nonzero_std_groups
from rl_lab.environments import EnvironmentReturn
from rl_lab.grpo import grpo_step
from rl_lab.grpo_batch import collect_samples, step_prompts
from rl_lab.data import load_task
from rl_lab.policy import build_policy

approx = lambda x: pytest.approx(x, abs=1e-5)  # noqa: E731


def _inputs(rewards, ids, **kw) -> AdvantageInputs:
    r = torch.tensor(rewards)
    return AdvantageInputs(r, torch.tensor(ids), torch.ones(len(r), 1), **kw)


def test_registry_has_nemo_rl_names() -> None:
    assert set(ADV_ESTIMATORS) == set(ADV_ESTIMATOR_NAMES)
    with pytest.raises(ConfigError, match="choose one of"):
        AdvEstimatorConfig(name="ppo")


def test_groups_by_id_wherever_the_samples_sit() -> None:
    baseline, std = grouped_baseline_and_std(torch.tensor([1.0, 4.0, 0.0, 6.0, 2.0]), torch.tensor([0, 1, 0, 1, 0]), False)
    # group 0 = samples 0, 2, 4: mean (1 + 0 + 2) / 3 = 1, std sqrt(((0)^2 + 1 + 1) / 2) = 1
    # group 1 = samples 1, 3:    mean 5, std sqrt((1 + 1) / 1) = sqrt(2)
    assert baseline.tolist() == [1.0, 5.0, 1.0, 5.0, 1.0]
    assert std.tolist() == [approx(1.0), approx(2 ** 0.5), approx(1.0), approx(2 ** 0.5), approx(1.0)]


def test_a_prompt_drawn_twice_is_one_group_by_prompt_and_two_by_datum() -> None:
    prompts = torch.tensor([[7, 8]] * 4)  # the same prompt drawn twice, 2 generations each
    rewards = [1.0, 0.0, 1.0, 1.0]
    by_datum = compute_advantages(_inputs(rewards, [0, 0, 1, 1]), AdvEstimatorConfig(), LossFnConfig(), False, False)
    by_prompt = compute_advantages(_inputs(rewards, prompt_group_ids(prompts).tolist()), AdvEstimatorConfig(),
                                   LossFnConfig(), False, False)
    assert by_datum.flatten().tolist() == [0.5, -0.5, 0.0, 0.0]  # groups [1, 0] and [1, 1]
    assert by_prompt.flatten().tolist() == [0.25, -0.75, 0.25, 0.25]  # one group, mean 0.75


def test_grpo_estimator_equals_grpo_advantages() -> None:
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    ours = compute_advantages(_inputs(r.tolist(), [0, 0, 0, 1, 1, 1]), AdvEstimatorConfig(), LossFnConfig(), True, True)
    assert torch.equal(ours.flatten(), grpo_advantages(r, 3, True, True))


def test_estimator_keys_default_to_the_grpo_section() -> None:
    x = _inputs([1.0, 0.0], [0, 0])
    assert compute_advantages(x, AdvEstimatorConfig(), LossFnConfig(), False, False).flatten().tolist() == [0.5, -0.5]
    explicit = AdvEstimatorConfig(normalize_rewards=True, use_leave_one_out_baseline=False)
    # normalised: std of [1, 0] is sqrt(0.5) = 0.7071 -> 0.5 / 0.7071 = 0.7071
    assert compute_advantages(x, explicit, LossFnConfig(), False, False).flatten().tolist() == [approx(0.70711), approx(-0.70711)]


def test_gdpo_sums_per_component_advantages_then_normalises() -> None:
    x = _inputs([1.0, 0.0], [0, 0], reward_components=torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    adv = compute_advantages(x, AdvEstimatorConfig("gdpo", True, False), LossFnConfig())
    # component 1: [1, 0] -> [0.7071, -0.7071]; component 2 has no variance -> [0, 0]
    # sum [0.7071, -0.7071]: mean 0, unbiased std 1 -> unchanged
    assert adv.flatten().tolist() == [approx(0.70711), approx(-0.70711)]
    with pytest.raises(ValueError, match="several reward components"):
        compute_advantages(_inputs([1.0, 0.0], [0, 0]), AdvEstimatorConfig("gdpo"), LossFnConfig())


def test_reinforce_plus_plus_normalises_over_tokens_and_subtracts_kl() -> None:
    x = _inputs([1.0, 0.0], [0, 1])
    plain = compute_advantages(x, AdvEstimatorConfig("reinforce_plus_plus", minus_baseline=False), LossFnConfig())
    assert plain.flatten().tolist() == [approx(1.0), approx(-1.0)]  # mean 0.5, variance 0.25
    lp, ref = torch.zeros(2, 1), torch.tensor([[0.0], [1.0]])  # k3 KL of sample 1: e - 2 = 0.71828
    kl_cfg = LossFnConfig(use_kl_in_reward=True, reference_policy_kl_penalty=1.0)
    x = AdvantageInputs(torch.tensor([1.0, 1.0]), torch.tensor([0, 1]), torch.ones(2, 1), logprobs=lp, reference_logprobs=ref)
    adv = compute_advantages(x, AdvEstimatorConfig("reinforce_plus_plus", minus_baseline=False), kl_cfg)
    assert adv.flatten().tolist() == [approx(1.0), approx(-1.0)]  # rewards [1, 1 - 0.718] normalise to +-1


def test_opd_is_teacher_minus_student() -> None:
    x = AdvantageInputs(torch.zeros(1), torch.zeros(1, dtype=torch.long), torch.tensor([[1.0, 0.0]]),
                        logprobs=torch.tensor([[-1.0, -1.0]]), teacher_logprobs=torch.tensor([[-0.5, -3.0]]))
    assert compute_advantages(x, AdvEstimatorConfig("opd"), LossFnConfig()).tolist() == [[0.5, 0.0]]


def test_stop_properly_penalty_scales_truncated_rewards() -> None:
    cfg = RewardShapingConfig(enabled=True, stop_properly_penalty_coef=0.5)
    shaped = apply_reward_shaping(torch.tensor([1.0, 1.0]), [3, 9], [False, True], cfg, 64)
    assert shaped.tolist() == [1.0, 0.5]
    same = torch.tensor([1.0])
    assert apply_reward_shaping(same, [500], [True], RewardShapingConfig(), 64) is same  # disabled


def test_overlong_penalty_defaults_to_the_sequence_length() -> None:
    cfg = RewardShapingConfig(enabled=True, overlong_buffer_length=8, overlong_buffer_penalty=1.0)
    # E = 32 - 8 = 24: 20 tokens no penalty, 28 tokens -(4 / 8) = -0.5
    assert apply_reward_shaping(torch.zeros(2), [20, 28], [False, False], cfg, 32).tolist() == [0.0, -0.5]


def test_dynamic_sampling_buffer_fills_and_gives_up() -> None:
    keep = nonzero_std_groups(torch.tensor([0.0, 0.0, 0.3, 0.3]))
    buffer = DynamicSamplingBuffer(needed=4, max_gen_batches=2)
    buffer.add(0, keep)
    buffer.add(1, keep)
    assert buffer.full and buffer.discarded == 0 and buffer.take() == [(0, 2), (0, 3), (1, 2), (1, 3)]
    short = DynamicSamplingBuffer(needed=4, max_gen_batches=1)
    short.add(0, keep)  # batch 1 of 1: still allowed to try once more, as in NeMo RL
    with pytest.raises(RuntimeError, match="dynamic_sampling_max_gen_batches=1"):
        short.add(1, torch.tensor([], dtype=torch.long))


class ScriptedEnv:
    """Rewards by datum: datum ``answer`` "same" gets 1 for all its samples, others alternate 1, 0."""

    def __init__(self, components: bool = False) -> None:
        self.components = components

    def step(self, logs, metadata):
        r = torch.tensor([1.0 if m["answer"] == "same" else float(i % 2) for i, m in enumerate(metadata)])
        rewards = torch.stack([r, torch.ones_like(r) - r / 2], -1) if self.components else r
        return EnvironmentReturn([{"role": "environment", "content": ""}] * len(r), list(metadata), [None] * len(r),
                                 rewards, torch.ones(len(r), dtype=torch.bool), None)


SMALL = ["grpo.num_prompts_per_step=2", "grpo.num_generations_per_prompt=2", "policy.train_global_batch_size=4",
         "policy.train_micro_batch_size=2", "rl_lab.init_checkpoint=null", "logger.log_dir=null"]


def _step(overrides, answers, env=None):
    cfg = load_recipe("grpo_math", SMALL + overrides, profile="smoke")
    policy = build_policy(cfg)
    data = load_task(cfg.rl_lab.task)[0][:8]
    data = [{**d, "answer": a} for d, a in zip(data, answers)]
    reference = copy.deepcopy(policy.model).eval().requires_grad_(False)
    more = lambda j: step_prompts(data, 0, j, cfg)  # noqa: E731
    return grpo_step(policy, reference, step_prompts(data, 0, 0, cfg), env or ScriptedEnv(), cfg, more_prompts=more)


def test_dynamic_sampling_drops_zero_variance_groups_and_refills() -> None:
    # data.shuffle=false and step 0: generation batch j is data batch j of 3 prompts (multiplier 1.5);
    # every datum but the ones answered "mixed" has zero reward variance.
    answers = ["same"] * 8
    answers[1] = "mixed"  # batch 0 = data 0, 1, 2: one mixed datum -> 2 of the 4 samples needed
    answers[4] = "mixed"  # batch 1 = data 3, 4, 5: 2 more, the step is full
    m = _step(["grpo.use_dynamic_sampling=true", "grpo.batch_multiplier=1.5", "grpo.use_leave_one_out_baseline=false",
               "data.shuffle=false"], answers)
    assert m["dynamic_sampling_num_gen_batches"] == 2.0
    assert m["dynamic_sampling_num_discarded_valid_samples"] == 0.0
    assert m["num_valid_samples"] == 4.0  # the step trains on num_prompts_per_step * num_generations_per_prompt


def test_dynamic_sampling_gives_up_when_no_group_varies() -> None:
    with pytest.raises(RuntimeError, match="dynamic_sampling_max_gen_batches=2"):
        _step(["grpo.use_dynamic_sampling=true", "grpo.dynamic_sampling_max_gen_batches=2", "data.shuffle=false"],
              ["same"] * 8)


def test_gdpo_runs_with_an_environment_that_returns_reward_components() -> None:
    m = _step(["grpo.adv_estimator.name=gdpo", "data.shuffle=false"], ["mixed"] * 8, ScriptedEnv(components=True))
    # per sample, components [1, 0.5] or [0, 1]: reward_mean is the mean of their sums, (1.5 + 1) / 2
    assert m["reward_mean"] == approx(1.25)


def test_batch_multiplier_needs_dynamic_sampling() -> None:
    with pytest.raises(ConfigError, match="needs grpo.use_dynamic_sampling=true"):
        load_recipe("grpo_math", ["grpo.batch_multiplier=2"])


def test_prompt_groups_join_a_prompt_drawn_twice_in_one_step() -> None:
    for mode, expected in (("datum", [0, 0, 1, 1]), ("prompt", [0, 0, 0, 0])):
        cfg = load_recipe("grpo_math", SMALL + [f"rl_lab.advantage_groups={mode}"], profile="smoke")
        datum = {**load_task(cfg.rl_lab.task)[0][0], "answer": "mixed"}
        samples = collect_samples(build_policy(cfg), [datum, datum], ScriptedEnv(), cfg)
        assert samples.group_ids.tolist() == expected
    with pytest.raises(ConfigError, match="rl_lab.advantage_groups"):
        load_recipe("grpo_math", ["rl_lab.advantage_groups=position"])
