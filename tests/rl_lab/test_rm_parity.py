"""rl_lab's Bradley-Terry loss equals NeMo RL v0.7.0's ``PreferenceLossFn``, called from ``NEMO_RL_SRC``.

NeMo RL's loss receives the reward model's ``[2B, 1]`` outputs interleaved (chosen at even rows,
rejected at odd rows) with a ``[2B]`` sample mask and the global count of *sequences*; rl_lab's
receives the ``[B]`` chosen and ``[B]`` rejected scores, a ``[B]`` pair mask and the global count
of *pairs* (half the sequences). Both get the same random scores; values, gradients with respect
to the scores and every metric NeMo RL reports must agree to 1e-6, also over micro-batches
divided by a global count.
"""

from __future__ import annotations

import pytest
import torch

from nemo_rl_import import import_nemo_rl
from rl_lab.losses import bradley_terry_loss

B = 7
TOL = 1e-6
METRICS = ("loss", "accuracy", "rewards_chosen_mean", "rewards_rejected_mean", "num_valid_samples")


@pytest.fixture(scope="module")
def nemo():
    (losses,) = import_nemo_rl("nemo_rl.algorithms.loss.loss_functions")
    return losses


def inputs(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    chosen = torch.randn(B, generator=g, dtype=dtype) * 2
    rejected = torch.randn(B, generator=g, dtype=dtype) * 2
    rejected[4] = chosen[4]  # a tie: a loss of ln 2 and no accuracy
    mask = torch.ones(B, dtype=dtype)
    mask[2] = 0.0  # a padded pair
    return chosen, rejected, mask


def interleave(chosen, rejected):
    return torch.stack([chosen, rejected], dim=1).reshape(-1)


def theirs(nemo, chosen, rejected, mask, global_pairs):
    logits = interleave(chosen, rejected)[:, None]
    data = {"sample_mask": interleave(mask, mask)}
    return nemo.PreferenceLossFn()(logits, data, torch.tensor(2.0 * global_pairs), None)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_values_gradients_and_metrics(nemo, dtype):
    chosen, rejected, mask = inputs(dtype)
    pairs = mask.sum().item()
    ours_c, ours_r = chosen.clone().requires_grad_(True), rejected.clone().requires_grad_(True)
    their_c, their_r = chosen.clone().requires_grad_(True), rejected.clone().requires_grad_(True)
    ours, our_metrics = bradley_terry_loss(ours_c, ours_r, sample_mask=mask, global_valid_pairs=pairs)
    their_loss, their_metrics = theirs(nemo, their_c, their_r, mask, pairs)
    ours.backward()
    their_loss.backward()
    assert torch.allclose(ours.double(), their_loss.double(), rtol=TOL, atol=TOL)
    assert torch.allclose(ours_c.grad, their_c.grad, rtol=TOL, atol=TOL)
    assert torch.allclose(ours_r.grad, their_r.grad, rtol=TOL, atol=TOL)
    for key in METRICS:
        assert our_metrics[key] == pytest.approx(their_metrics[key], rel=TOL, abs=TOL), key


def test_micro_batches_with_a_global_count_add_up(nemo):
    chosen, rejected, mask = inputs(torch.float64, seed=3)
    pairs = mask.sum().item()
    whole, whole_metrics = bradley_terry_loss(chosen, rejected, sample_mask=mask, global_valid_pairs=pairs)
    ours = {k: 0.0 for k in METRICS}
    them = {k: 0.0 for k in METRICS}
    for rows in (slice(0, 3), slice(3, B)):
        _, m = bradley_terry_loss(chosen[rows], rejected[rows], sample_mask=mask[rows], global_valid_pairs=pairs)
        _, t = theirs(nemo, chosen[rows], rejected[rows], mask[rows], pairs)
        for k in METRICS:
            ours[k] += m[k]
            them[k] += t[k]
    for k in METRICS:
        assert ours[k] == pytest.approx(them[k], rel=TOL, abs=TOL), k
        assert ours[k] == pytest.approx(whole_metrics[k], abs=1e-12), k
