"""Starting checkpoints defined by a measured target: the band, the cap, the cache key, the seed offset."""

from __future__ import annotations

import dataclasses
import json

import pytest

from rl_lab import model_cache
from rl_lab.config import ConfigError, TargetConfig, load_recipe
from rl_lab.evaluation import legal_move_rate
from rl_lab.generation import GenerationOutput
from rl_lab.sft import TargetNotReachedError, train_sft
from rl_lab.tokenizer import CharTokenizer

QUIET = ["logger.log_dir=null", "rl_lab.progress=false", "sft.val_period=0", "sft.val_at_end=false"]


def test_target_band_and_metric_are_checked_with_the_source() -> None:
    with pytest.raises(ConfigError, match=r"rl_lab.target.metric='sampled_acc' .*did you mean sampled_accuracy\?"):
        load_recipe("sft_addition", overrides=["rl_lab.target.metric=sampled_acc"], profile="smoke")
    with pytest.raises(ConfigError, match=r"0 <= low <= high <= 1, got low=0.6, high=0.5 \(source: override"):
        load_recipe("sft_addition", overrides=["rl_lab.target.low=0.6", "rl_lab.target.high=0.5"], profile="smoke")
    # inclusive on both ends
    band = TargetConfig(low=0.4, high=0.5)
    assert [band.contains(v) for v in (0.39, 0.4, 0.45, 0.5, 0.51)] == [False, True, True, True, False]


def test_training_stops_at_the_first_measurement_inside_the_band() -> None:
    # Band [0, 1] holds any value, so the first measurement (step 2 of at most 10) stops training.
    cfg = load_recipe("sft_addition", [*QUIET, "sft.max_num_steps=10", "rl_lab.target.metric=greedy_accuracy",
                                       "rl_lab.target.check_period=2"], profile="smoke")
    result = train_sft(cfg, progress=False)
    assert result.final_metrics["steps"] == 2.0
    assert [row["step"] for row in result.history if "target/greedy_accuracy" in row] == [2]
    assert len(result.metric("train/loss")) == 2


def test_hitting_the_cap_first_is_an_error_with_the_measurements_and_the_fix() -> None:
    # An untrained model answers no sum: 4 steps never reach [0.99, 1].
    cfg = load_recipe("sft_addition", [*QUIET, "sft.max_num_steps=4", "rl_lab.target.metric=greedy_accuracy",
                                       "rl_lab.target.low=0.99", "rl_lab.target.check_period=2"], profile="smoke")
    with pytest.raises(TargetNotReachedError) as info:
        train_sft(cfg, progress=False)
    message = str(info.value)
    assert "greedy_accuracy never entered [0.99, 1.0] within 4 steps (cap sft.max_num_steps=4)" in message
    assert "step 2: 0.000, step 4: 0.000" in message and "Raise sft.max_num_steps" in message
    assert info.value.measurements == [(2, 0.0), (4, 0.0)]


def test_legal_move_rate_counts_legal_replies(monkeypatch) -> None:
    # Three boards; replies "D" (legal), "U" (illegal), " R " (legal once stripped): 2 of 3.
    data = [{"messages": [{"role": "user", "content": "12|3_"}], "legal_moves": legal}
            for legal in (["D", "R"], ["D", "R"], ["L", "R"])]
    replies = GenerationOutput(response_ids=[[]] * 3, texts=["D", "U", " R "], stopped=[True] * 3)
    monkeypatch.setattr("rl_lab.evaluation.generate", lambda *a, **k: replies)
    assert legal_move_rate(None, CharTokenizer(), data) == pytest.approx(2 / 3)


@pytest.fixture
def tiny_entry(monkeypatch, tmp_path):
    """A cache entry that trains in a second: 4 steps, greedy accuracy in [0, 1] checked every 2 steps."""
    monkeypatch.setenv("RL_LAB_CACHE", str(tmp_path))
    entry = model_cache.CacheEntry("sft_addition", (*QUIET, "sft.max_num_steps=4"),
                                   TargetConfig("greedy_accuracy", 0.0, 1.0, check_period=2), "tiny")
    monkeypatch.setitem(model_cache.CHECKPOINTS, "tiny", entry)
    return entry


def test_cache_records_the_target_and_reuses_an_entry_that_meets_it(tiny_entry, monkeypatch) -> None:
    model_cache.get_checkpoint("tiny", "smoke")
    info = model_cache.checkpoint_info("tiny", "smoke")
    assert info["target"]["metric"] == "greedy_accuracy" and info["steps"] == 2 and 0.0 <= info["measured"] <= 1.0
    assert set(info["numerics"]) == {"torch", "cpu_capability", "threads"}
    calls = []
    monkeypatch.setattr("rl_lab.sft.train_sft", lambda *a, **k: calls.append(1))
    model_cache.get_checkpoint("tiny", "smoke")  # loaded from disk, not trained
    assert calls == []


def test_an_entry_whose_recorded_value_is_outside_its_band_is_retrained(tiny_entry) -> None:
    model_cache.get_checkpoint("tiny", "smoke")
    path = model_cache.checkpoint_path("tiny", "smoke") / "info.json"
    info = json.loads(path.read_text())
    path.write_text(json.dumps({**info, "measured": 1.5, "steps": 99}))  # a stale or foreign entry
    model_cache.get_checkpoint("tiny", "smoke")
    assert json.loads(path.read_text())["steps"] == 2


def test_the_cache_key_changes_with_the_target(tiny_entry, monkeypatch) -> None:
    before = model_cache.checkpoint_path("tiny", "smoke")
    moved = dataclasses.replace(tiny_entry, target=dataclasses.replace(tiny_entry.target, low=0.5))
    monkeypatch.setitem(model_cache.CHECKPOINTS, "tiny", moved)
    assert model_cache.checkpoint_path("tiny", "smoke") != before


def test_target_errors_name_the_cached_checkpoint(tiny_entry, monkeypatch) -> None:
    impossible = dataclasses.replace(tiny_entry.target, low=0.99)
    monkeypatch.setitem(model_cache.CHECKPOINTS, "tiny", dataclasses.replace(tiny_entry, target=impossible))
    with pytest.raises(TargetNotReachedError) as info:
        model_cache.get_checkpoint("tiny", "smoke")
    assert any("cached checkpoint 'tiny'" in note for note in info.value.__notes__)
    assert model_cache.checkpoint_info("tiny", "smoke") is None  # nothing half-made is cached


def test_every_shipped_checkpoint_has_a_target_and_a_cap() -> None:
    for name, entry in model_cache.CHECKPOINTS.items():
        cfg = model_cache.checkpoint_recipe(name, "smoke")
        assert cfg.rl_lab.target == entry.target
        assert cfg.sft.max_num_steps >= 10 * entry.target.check_period, f"{name}: the cap leaves no room"


def test_seed_offset_moves_training_seeds_but_not_the_data(monkeypatch) -> None:
    base = load_recipe("grpo_math", profile="smoke")
    monkeypatch.setenv("RL_LAB_SEED_OFFSET", "1")
    shifted = load_recipe("grpo_math", profile="smoke")
    assert shifted.grpo.seed == base.grpo.seed + 1
    assert shifted.rl_lab.task.seed == base.rl_lab.task.seed  # the same held-out problems
    assert load_recipe("grpo_math", ["grpo.seed=5"], profile="smoke").grpo.seed == 5  # an explicit seed wins
    monkeypatch.setenv("RL_LAB_SEED_OFFSET", "one")
    with pytest.raises(ValueError, match="RL_LAB_SEED_OFFSET must be an integer, got 'one'"):
        load_recipe("grpo_math", profile="smoke")
