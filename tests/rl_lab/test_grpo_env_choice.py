"""The reward-model environment is opt-in: rule-based GRPO recipes score their rollouts as before.

``grpo_environments`` only departs from the single rule-based environment of ``env``
(:func:`rl_lab.environments.make_environment`, the path every GRPO recipe took before reward
models existed) when ``data.default.env_name`` is ``reward_model``. The first steps of a
rule-based recipe must therefore be the same number for number as with that path called
directly: same rewards, same losses, same held-out accuracy.
"""

from __future__ import annotations

import pytest

import rl_lab.grpo
from rl_lab.config import load_recipe
from rl_lab.environments import MathEnvironment, SlidingPuzzleEnvironment, make_environment
from rl_lab.grpo import grpo_environments, train_grpo

TINY = ["grpo.num_prompts_per_step=2", "grpo.num_generations_per_prompt=4", "policy.train_global_batch_size=8",
        "policy.train_micro_batch_size=8", "rl_lab.init_checkpoint=null", "logger.log_dir=null",
        "grpo.max_num_steps=3", "grpo.val_period=2", "grpo.max_val_samples=16", "rl_lab.progress=false",
        "policy.optimizer.kwargs.lr=1e-2"]


def _rule_based_path(cfg, reward_model=None, tokenizer=None):
    """What GRPO did before ``data.default.env_name`` existed: the one environment of ``env``, for both uses."""
    _, env = make_environment(cfg.env)
    return env, env


def _numbers(history):
    return [{k: v for k, v in row.items() if not k.endswith("time_s")} for row in history]


@pytest.mark.parametrize("recipe", ["grpo_math", "grpo_sliding_puzzle"])
def test_rule_based_recipes_pick_their_one_environment_for_training_and_validation(recipe):
    train_env, val_env = grpo_environments(load_recipe(recipe))
    assert type(train_env) is {"grpo_math": MathEnvironment, "grpo_sliding_puzzle": SlidingPuzzleEnvironment}[recipe]
    assert val_env is train_env


def test_naming_the_rule_based_environment_changes_nothing():
    named = grpo_environments(load_recipe("grpo_math", ["data.default.env_name=math"]))
    assert type(named[0]) is MathEnvironment and named[1] is named[0]


def test_rule_based_grpo_steps_match_the_path_without_reward_models(monkeypatch):
    cfg = load_recipe("grpo_math", TINY, profile="smoke")
    now = train_grpo(cfg)
    monkeypatch.setattr(rl_lab.grpo, "grpo_environments", _rule_based_path)
    before = train_grpo(cfg)
    assert [row["step"] for row in now.history if "val/accuracy" in row] == [0, 2, 3]
    assert len(now.metric("train/reward_mean")) == 3
    assert _numbers(now.history) == _numbers(before.history)  # exact: every reward, loss and accuracy
