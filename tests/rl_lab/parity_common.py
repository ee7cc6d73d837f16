"""What the differential tests against NeMo RL share: tolerances, shapes, masks, NeMo RL's modules.

Not a test module; ``test_nemo_rl_parity.py`` imports from it after their skip check.
"""

from __future__ import annotations

import pytest
import torch

from nemo_rl_import import import_nemo_rl

DTYPES = {torch.float32: 1e-6, torch.float64: 1e-12}
B, T = 6, 7


@pytest.fixture(scope="module")
def nemo():
    utils, losses, advantages, batched = import_nemo_rl(
        "nemo_rl.algorithms.utils", "nemo_rl.algorithms.loss.loss_functions",
        "nemo_rl.algorithms.advantage_estimator", "nemo_rl.distributed.batched_data_dict")
    return {"utils": utils, "loss": losses, "adv": advantages, "BatchedDataDict": batched.BatchedDataDict}


# Per tolerance: how many comparisons ran and the largest |rl_lab - NeMo RL| seen; printed at the end
# of the run by tests/rl_lab/conftest.py so the figure behind "equal at 1e-6" is on record.
TALLY: dict[float, dict[str, float]] = {}


def close(ours, theirs, tol):
    ours, theirs = torch.as_tensor(ours, dtype=torch.float64), torch.as_tensor(theirs, dtype=torch.float64)
    assert ours.shape == theirs.shape and torch.allclose(ours, theirs, rtol=tol, atol=tol), (ours, theirs)
    row = TALLY.setdefault(tol, {"comparisons": 0, "values": 0, "largest": 0.0})
    row["comparisons"] += 1
    row["values"] += ours.numel()
    if ours.numel():
        row["largest"] = max(row["largest"], float((ours - theirs).abs().max()))


def masks(seed: int):
    """A token mask with ragged rows, one valid sample with no token and one invalid sample."""
    g = torch.Generator().manual_seed(seed)
    token_mask = (torch.rand(B, T, generator=g) > 0.3).float()
    token_mask[0] = 1.0
    token_mask[1] = 0.0  # valid, but nothing to train on: still counts at sequence level
    sample_mask = torch.ones(B)
    sample_mask[2] = 0.0  # not a valid sample at all
    return token_mask, sample_mask


def pad(x: torch.Tensor) -> torch.Tensor:
    """NeMo RL's data tensors carry one leading column that its losses drop ([:, 1:])."""
    return torch.cat([torch.zeros_like(x[:, :1]), x], dim=1)
