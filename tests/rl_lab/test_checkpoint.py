"""Exact resume: a run interrupted and resumed reproduces the next step's loss bit for bit."""

from __future__ import annotations

from pathlib import Path

import torch

from rl_lab.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from rl_lab.grpo import train_grpo
from rl_lab.sft import train_sft

TINY = ["rl_lab.model.hidden_size=32", "rl_lab.model.intermediate_size=64", "rl_lab.model.num_layers=1"]


def _sft(tmp: Path, steps: int) -> list[float]:
    overrides = [*TINY, f"sft.max_num_steps={steps}", "sft.val_period=0", "sft.val_at_end=false",
                 "policy.train_global_batch_size=16", "policy.train_micro_batch_size=8",
                 "checkpointing.enabled=true", f"checkpointing.checkpoint_dir={tmp}", "checkpointing.save_period=2",
                 "logger.log_dir=null"]
    return train_sft("sft_addition", overrides, progress=False).metric("train/loss")


def test_sft_resume_is_bit_exact(tmp_path: Path) -> None:
    straight = _sft(tmp_path / "a", 4)
    _sft(tmp_path / "b", 2)  # "interrupted" after step 2 (checkpoint step_2)
    resumed = _sft(tmp_path / "b", 4)  # picks up step_2 and runs steps 3-4
    assert latest_checkpoint(tmp_path / "b").name == "step_4"
    assert resumed == straight  # history (incl. steps 3, 4) identical, bit for bit
    assert resumed[2] == straight[2]


def _grpo(tmp: Path, steps: int) -> list[float]:
    overrides = [*TINY, f"grpo.max_num_steps={steps}", "grpo.num_prompts_per_step=2", "grpo.num_generations_per_prompt=4",
                 "policy.train_global_batch_size=4", "policy.train_micro_batch_size=2", "rl_lab.init_checkpoint=null",
                 "grpo.val_period=0", "grpo.val_at_start=false", "grpo.val_at_end=false", "policy.optimizer.kwargs.lr=1e-2",
                 "checkpointing.enabled=true", f"checkpointing.checkpoint_dir={tmp}", "checkpointing.save_period=1",
                 "logger.log_dir=null"]
    return train_grpo("grpo_math", overrides, progress=False).metric("train/loss")


def test_grpo_resume_is_bit_exact(tmp_path: Path) -> None:
    straight = _grpo(tmp_path / "a", 3)
    _grpo(tmp_path / "b", 2)
    resumed = _grpo(tmp_path / "b", 3)
    assert resumed[2] == straight[2]  # sampling RNG, weights, Adam state all restored


def test_save_load_roundtrip_restores_optimizer_and_rng(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 3)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    path = save_checkpoint(tmp_path, 7, model, opt, {"a": 1}, {"history": [{"step": 7}]})
    expected = torch.rand(2)
    clone = torch.nn.Linear(3, 3)
    opt2 = torch.optim.AdamW(clone.parameters(), lr=0.1)
    state = load_checkpoint(path, clone, opt2)
    assert state["step"] == 7 and state["history"] == [{"step": 7}]
    assert torch.equal(torch.rand(2), expected)
    assert torch.equal(clone.weight, model.weight)
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
