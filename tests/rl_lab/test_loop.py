"""The shared training loop: micro-batch metrics, one save/resume, validation schedule."""

from __future__ import annotations

import copy

import pytest
import torch

from rl_lab.config import load_recipe
from rl_lab.data import BatchedDataDict
from rl_lab.grpo import policy_update
from rl_lab.loop import MetricAccumulator, mean_over_steps
from rl_lab.policy import build_policy, set_seed
from rl_lab.sft import train_sft

TINY = ["rl_lab.model.hidden_size=32", "rl_lab.model.intermediate_size=64", "rl_lab.model.num_layers=1",
        "rl_lab.init_checkpoint=null", "logger.log_dir=null"]


def test_accumulator_adds_shares_and_keeps_extremes() -> None:
    acc = MetricAccumulator()
    # two micro-batches of a global batch of 4 tokens, each mean pre-divided by 4:
    # ratios (1.0, 1.2) and (0.8, 1.0) -> (2.2 + 1.8) / 4 = 1.0
    acc.add({"probs_ratio": 2.2 / 4, "probs_ratio_min": 1.0, "probs_ratio_max": 1.2})
    acc.add({"probs_ratio": 1.8 / 4, "probs_ratio_min": 0.8, "probs_ratio_max": 1.0})
    assert acc.result() == pytest.approx({"probs_ratio": 1.0, "probs_ratio_min": 0.8, "probs_ratio_max": 1.2})
    assert mean_over_steps([{"loss": 1.0, "a_min": 3.0}, {"loss": 2.0, "a_min": 1.0}]) == {"loss": 1.5, "a_min": 1.0}


def _rollout_batch(seed: int = 0) -> BatchedDataDict:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 20, (4, 6), generator=g)
    mask = torch.tensor([[0, 0, 1, 1, 1, 0], [0, 0, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1], [0, 0, 1, 0, 0, 0]])
    return BatchedDataDict(input_ids=ids, token_mask=mask, advantages=torch.tensor([[1.0], [-1.0], [0.5], [-0.5]]))


@pytest.mark.parametrize("token_level", [True, False])
def test_grpo_metrics_do_not_depend_on_the_micro_batch_size(token_level: bool) -> None:
    # The bug this guards against: summing per-micro-batch *means* inflated probs_ratio and
    # clip_fraction by global/micro. With pre-normalised metrics they match the one-pass values.
    cfg = load_recipe("grpo_math", [*TINY, f"loss_fn.token_level_loss={str(token_level).lower()}"], profile="smoke")
    set_seed(0)
    base = build_policy(cfg)
    batch = _rollout_batch()
    from rl_lab.grpo import batched_logprobs

    with torch.no_grad():
        batch["prev_logprobs"] = batched_logprobs(base.model, batch["input_ids"], 4) - 0.05  # ratios exp(0.05)
        batch["reference_policy_logprobs"] = batch["prev_logprobs"] + 0.1
    results = {}
    for micro in (4, 2, 1):
        policy = copy.deepcopy(base)
        (results[micro],) = policy_update(policy, batch, cfg.loss_fn, 4, micro, None)
    for micro in (2, 1):
        for key in ("loss", "probs_ratio", "probs_ratio_clamped", "clip_fraction", "kl_penalty", "grad_norm",
                    "num_valid_tokens", "num_valid_samples", "probs_ratio_max"):
            assert results[micro][key] == pytest.approx(results[4][key], rel=1e-5, abs=1e-6), (micro, key)
    assert results[4]["probs_ratio"] == pytest.approx(1.0513, abs=1e-3)  # exp(0.05) on every token
    assert results[4]["num_valid_samples"] == 4 and results[4]["num_valid_tokens"] == 10


def test_sft_validation_schedule_never_validates_twice_at_one_step() -> None:
    r = train_sft("sft_addition", [*TINY, "sft.max_num_steps=4", "sft.val_period=2", "sft.val_at_start=true",
                                   "sft.val_at_end=true"], progress=False)
    assert [row["step"] for row in r.history if "val/accuracy" in row] == [0, 2, 4]
    assert r.final_metrics["accuracy"] == r.history[-1]["val/accuracy"]


def test_building_a_policy_never_fetches_a_checkpoint() -> None:
    from rl_lab.config import ConfigError

    cfg = load_recipe("grpo_math", profile="smoke")  # rl_lab.init_checkpoint: sft-addition-50pct
    with pytest.raises(ConfigError, match=r"init_checkpoint='sft-addition-50pct' names a starting model, but none "
                                          r"was passed.*get_checkpoint\('sft-addition-50pct'\).*rl_lab.run.train"):
        build_policy(cfg)


def test_run_train_starts_from_the_named_checkpoint(monkeypatch) -> None:
    import rl_lab.run as run

    start = torch.nn.Linear(1, 1)
    seen = {}
    monkeypatch.setattr(run, "get_checkpoint", lambda name, profile=None: seen.setdefault("name", name) and start)
    monkeypatch.setitem(run.TRAINERS, "grpo", lambda cfg, model, profile, **kw: seen.update(model=model, kw=kw))
    run.train("grpo_math", ["grpo.max_num_steps=1"], profile="smoke", progress=False)
    assert seen["name"] == "sft-addition-50pct" and seen["model"] is start and seen["kw"] == {"progress": False}
    with pytest.raises(ValueError, match="use rl_lab.run.evaluate_recipe"):
        run.train("eval_addition", profile="smoke")


def test_a_trainer_leaves_the_model_it_starts_from_unchanged() -> None:
    # Two runs from one cached start must both start there (custom-loss-functions does this).
    cfg = load_recipe("sft_addition", [*TINY, "sft.max_num_steps=2", "sft.val_at_end=false"], profile="smoke")
    start = build_policy(cfg).model
    before = [p.detach().clone() for p in start.parameters()]
    result = train_sft(cfg, model=start, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, start.parameters()))
    assert result.model is not start
