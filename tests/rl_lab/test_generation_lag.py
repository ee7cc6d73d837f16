"""``rl_lab.generation_lag_steps``: GRPO samples with the weights of k steps earlier and the loss sees their log-probs."""

from __future__ import annotations

import pytest
import torch

import rl_lab.grpo
from rl_lab.config import ConfigError, load_recipe
from rl_lab.environments import EnvironmentReturn
from rl_lab.grpo import LaggedGenerator, train_grpo
from rl_lab.policy import build_policy

TINY = ["grpo.num_prompts_per_step=2", "grpo.num_generations_per_prompt=4", "policy.train_global_batch_size=8",
        "policy.train_micro_batch_size=8", "rl_lab.init_checkpoint=null", "logger.log_dir=null",
        "grpo.val_period=0", "grpo.val_at_start=false", "grpo.val_at_end=false", "rl_lab.progress=false",
        "policy.optimizer.kwargs.lr=1e-2"]


def _policy():
    return build_policy(load_recipe("grpo_math", ["rl_lab.init_checkpoint=null"], profile="smoke"))


def _mark(policy, value: float) -> None:
    """Sets every weight of the trained policy to ``value``: a stand-in for the weights after step ``value``."""
    with torch.no_grad():
        for p in policy.model.parameters():
            p.fill_(value)


def _first_weight(policy) -> float:
    return next(policy.model.parameters()).flatten()[0].item()


def test_negative_lag_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="generation_lag_steps must be >= 0"):
        load_recipe("grpo_math", ["rl_lab.generation_lag_steps=-1"])


def test_lag_zero_generates_with_the_trained_policy() -> None:
    policy = _policy()
    lagged = LaggedGenerator(policy, 0)
    assert lagged.for_step() is policy and lagged.model is None


@pytest.mark.parametrize("lag", [1, 2, 3])
def test_step_s_generates_with_the_weights_of_step_s_minus_lag(lag: int) -> None:
    # weights "after step s" are all s; step s must generate with max(0, s - lag)
    policy = _policy()
    lagged = LaggedGenerator(policy, lag)
    seen = []
    for step in range(6):
        _mark(policy, float(step))
        generator = lagged.for_step()
        assert generator is not policy and generator.model is not policy.model
        assert generator.tokenizer is policy.tokenizer
        seen.append(_first_weight(generator))
    assert seen == [float(max(0, s - lag)) for s in range(6)]


def test_the_stale_copy_does_not_follow_the_trained_weights() -> None:
    policy = _policy()
    lagged = LaggedGenerator(policy, 1)
    _mark(policy, 0.5)
    generator = lagged.for_step()
    _mark(policy, 2.0)  # training moves on within the step
    assert _first_weight(generator) == 0.5
    assert not any(p.requires_grad for p in generator.model.parameters())


class AlternatingEnv:
    """Rewards 1, 0, 1, 0, ... by position: every group has reward variance, so every step updates the policy."""

    def step(self, logs, metadata):
        r = torch.tensor([float(i % 2) for i in range(len(metadata))])
        return EnvironmentReturn([{"role": "environment", "content": ""}] * len(r), list(metadata), [None] * len(r),
                                 r, torch.ones(len(r), dtype=torch.bool), None)


@pytest.fixture
def alternating(monkeypatch):
    monkeypatch.setattr(rl_lab.grpo, "make_environment", lambda cfg: ("alternating", AlternatingEnv()))


def _mismatch(history, key="train/gen_kl_error"):
    return [row[key] for row in history if key in row]


def test_training_sees_the_mismatch_only_with_a_lag(alternating) -> None:
    # Step 0 generates with the start weights, which are also the trained ones: no mismatch, the
    # importance weight is exactly 1 (exp(0)). With lag 1 step 1 samples with step 0's weights
    # while the trained policy has taken one optimizer step: the KL between them is positive.
    on = train_grpo(load_recipe("grpo_math", TINY + ["grpo.max_num_steps=3"], profile="smoke"))
    off = train_grpo(load_recipe("grpo_math", TINY + ["grpo.max_num_steps=3", "rl_lab.generation_lag_steps=1"],
                                 profile="smoke"))
    assert _mismatch(on.history) == [0.0, 0.0, 0.0]
    assert _mismatch(on.history, "train/token_mult_prob_error") == [1.0, 1.0, 1.0]
    kl = _mismatch(off.history)
    assert kl[0] == 0.0 and kl[1] > 0 and kl[2] > 0
    assert _mismatch(off.history, "train/token_mult_prob_error")[1] > 1.0


def test_truncated_importance_sampling_reads_the_stale_log_probs(alternating) -> None:
    # tis with an upper bound of 1.0 clamps every weight above 1: with a lag some tokens are out of
    # bounds (is_oob_ratio > 0) from step 1 on; at step 0 every weight is exactly 1, none is out.
    tis = ["loss_fn.use_importance_sampling_correction=true", "loss_fn.truncated_importance_sampling_type=tis",
           "loss_fn.truncated_importance_sampling_ratio=1.0"]
    run = train_grpo(load_recipe("grpo_math", TINY + ["grpo.max_num_steps=3", "rl_lab.generation_lag_steps=1"] + tis,
                                 profile="smoke"))
    oob = _mismatch(run.history, "train/is_oob_ratio")
    assert oob[0] == 0.0 and oob[1] > 0
