"""Measured targets: each training run is seeded, CPU, one thread.

Timings are printed (``pytest -s``) rather than asserted: on a shared machine
wall time depends on the neighbours; CPU time is what the recipes are sized by.
"""

from __future__ import annotations

import time

import pytest

from rl_lab.model_cache import checkpoint_info, get_checkpoint
from rl_lab.run import train
from rl_lab.sft import train_sft

QUIET = ["logger.log_dir=null"]


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"\n{fn.__name__}: cpu {time.process_time() - cpu:.1f}s wall {time.perf_counter() - wall:.1f}s")
    return out


@pytest.mark.slow
def test_sft_addition_reaches_90_percent() -> None:
    result = _timed(train_sft, "sft_addition", QUIET, progress=False)
    print("SFT held-out accuracy by step:", [(r["step"], r["val/accuracy"]) for r in result.history if "val/accuracy" in r])
    assert result.final_metrics["accuracy"] >= 0.90


@pytest.mark.slow
def test_grpo_math_raises_sampled_accuracy_by_10_points() -> None:
    _timed(get_checkpoint, "sft-addition-50pct")  # cached after the first call
    print("start checkpoint:", checkpoint_info("sft-addition-50pct"))
    result = _timed(train, "grpo_math", QUIET, progress=False)
    acc = result.metric("val/accuracy")
    print("GRPO sampled held-out accuracy:", acc, "greedy:", result.metric("val/greedy_accuracy"))
    assert 0.3 <= acc[0] <= 0.7  # the "~50%" start
    # Measured gain (recipe grpo_math, fresh cache): AVX2 0.144 / 0.192, default kernels 0.224 / 0.200
    # (RL_LAB_SEED_OFFSET 0 / 1); the bound keeps a margin below the smallest.
    assert acc[-1] - acc[0] >= 0.10


@pytest.mark.slow
def test_grpo_sliding_puzzle_raises_solve_rate() -> None:
    result = _timed(train, "grpo_sliding_puzzle", QUIET, progress=False)
    solve = result.metric("val/accuracy")
    print("puzzle sampled solve rate:", solve, "greedy:", result.metric("val/greedy_accuracy"))
    assert solve[-1] >= solve[0] + 0.10
    assert max(r.get("train/mean_turns", 0) for r in result.history) > 1  # really multi-turn


@pytest.mark.slow
def test_dpo_raises_preference_accuracy_and_margin() -> None:
    result = _timed(train, "dpo_addition", QUIET, progress=False)
    acc, margin = result.metric("val/accuracy"), result.metric("val/reward_margin")
    print("DPO held-out preference accuracy:", acc, "margin:", margin, "answer acc:", result.metric("val/answer_accuracy"))
    assert acc[-1] > acc[0] + 0.3
    assert margin[-1] > margin[0] + 0.5
