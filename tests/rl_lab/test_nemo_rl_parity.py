"""rl_lab computes what NeMo RL v0.7.0 computes: losses, gradients, metrics, advantages, reward shaping.

Covered: ``masked_mean``, ``calculate_kl``, ``ClippedPGLossFn`` with each of its
``loss_fn`` variants (GSPO, CISPO, REINFORCE, forced on-policy ratio, importance
sampling with tis/icepop/seq-mask-tis, on-policy KL approximation, KL in reward,
positive-example NLL), ``NLLLossFn``, ``DPOLossFn``, the advantage estimators
(grpo, gdpo, reinforce_plus_plus, opd, with prompts scattered through the batch)
and ``apply_reward_shaping``. DAPO's ``dynamic_sampling`` sits in NeMo RL's
``grpo.py``, whose import needs Ray; ``test_dapo_advantages.py`` covers it by hand.

Each test calls NeMo RL's own functions (imported from the checkout in
``NEMO_RL_SRC`` by :mod:`nemo_rl_import`, never copied) and rl_lab's on the same
random tensors, with masks, in float32 and float64, and compares them at 1e-6
(float32) or 1e-12 (float64). Without a checkout every test here is skipped with
the command that provides one; the publish workflow sets it.

Layout differences are bridged here, not in rl_lab: NeMo RL's losses receive
``next_token_logprobs`` of length ``T`` and data tensors of length ``T + 1`` whose
first column they drop, and DPO interleaves chosen and rejected rows.
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
from rl_lab.losses import WeightContext, clipped_pg_loss, dpo_loss, importance_weights, kl_penalty, masked_mean, nll_loss, truncate

if not os.environ.get("NEMO_RL_SRC"):
    pytest.skip(f"compares rl_lab with NeMo RL's own code: {HOW}", allow_module_level=True)

from parity_common import DTYPES, B, T, close, masks, nemo, pad  # noqa: E402,F401  (nemo is a fixture)


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_mean_with_and_without_global_normalisation(nemo, dtype):
    tol = DTYPES[dtype]
    g = torch.Generator().manual_seed(0)
    values = torch.randn(B, T, generator=g, dtype=dtype)
    token_mask, _ = masks(0)
    mask = token_mask.to(dtype)
    for dim, factor in itertools.product((None, -1), (None, 17.0)):
        if dim is not None and factor is not None:
            continue
        close(masked_mean(values, mask, dim=dim, global_normalization_factor=factor),
              nemo["utils"].masked_mean(values, mask, dim=dim, global_normalization_factor=factor), tol)
    # micro-batches divided by the global count add up to the global mean, in both
    total = mask.sum()
    ours = sum(masked_mean(values[i:i + 2], mask[i:i + 2], global_normalization_factor=total) for i in (0, 2, 4))
    close(ours, nemo["utils"].masked_mean(values, mask), tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["k1", "k2", "k3"])
@pytest.mark.parametrize("clamps", [(20.0, 10.0), (0.5, 0.3), (None, None)])
def test_kl_estimators_values_and_gradients(nemo, dtype, kind, clamps):
    tol = DTYPES[dtype]
    g = torch.Generator().manual_seed(1)
    ref = torch.randn(B, T, generator=g, dtype=dtype)
    base = torch.randn(B, T, generator=g, dtype=dtype)
    grads = []
    for fn in ("ours", "theirs"):
        x = base.clone().requires_grad_(True)
        weights = torch.exp(x - x.detach())
        if fn == "ours":
            kl = kl_penalty(x, ref, kind, clamps[0], clamps[1], importance_weights=weights)
        else:
            kl = nemo["utils"].calculate_kl(x, ref, kind, clamps[0], clamps[1], importance_sampling_weights=weights)
        kl.sum().backward()
        grads.append((kl.detach(), x.grad))
    close(grads[0][0], grads[1][0], tol)
    close(grads[0][1], grads[1][1], tol)


LOSS_CONFIGS = [
    dict(token_level_loss=True),
    dict(token_level_loss=False),
    dict(token_level_loss=True, ratio_clip_min=0.1, ratio_clip_max=0.28, ratio_clip_c=3.0),
    dict(token_level_loss=False, ratio_clip_c=3.0, reference_policy_kl_type="k1"),
    dict(token_level_loss=True, reference_policy_kl_type="k2", kl_input_clamp_value=0.5, kl_output_clamp_value=0.2),
    dict(token_level_loss=True, reference_policy_kl_penalty=0.0),
]
COMMON_METRICS = ("loss", "probs_ratio", "probs_ratio_clamped", "probs_ratio_min", "probs_ratio_max",
                  "probs_ratio_clamped_min", "probs_ratio_clamped_max", "kl_penalty", "num_valid_samples")


def pg_inputs(dtype, seed=2):
    g = torch.Generator().manual_seed(seed)
    prev = -torch.rand(B, T, generator=g, dtype=dtype) * 3
    curr = prev + 0.3 * torch.randn(B, T, generator=g, dtype=dtype)  # ratios around 1, some clipped
    ref = prev + 0.2 * torch.randn(B, T, generator=g, dtype=dtype)
    adv = torch.randn(B, 1, generator=g, dtype=dtype).expand(B, T).contiguous()
    return curr, prev, ref, adv


def nemo_pg(nemo, cfg_kwargs, curr, prev, ref, adv, token_mask, sample_mask, seqs, toks, gen=None, rewards=None):
    loss_fn = nemo["loss"].ClippedPGLossFn(nemo["loss"].ClippedPGLossConfig(**cfg_kwargs))
    data = {
        "input_ids": torch.zeros(len(curr), T + 1, dtype=torch.long), "advantages": pad(adv),
        "prev_logprobs": pad(prev), "generation_logprobs": pad(prev if gen is None else gen),
        "reference_policy_logprobs": pad(ref), "token_mask": pad(token_mask), "sample_mask": sample_mask}
    if rewards is not None:
        data["rewards"] = rewards
    return loss_fn(curr, nemo["BatchedDataDict"](data), torch.as_tensor(seqs), torch.as_tensor(toks))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg_kwargs", LOSS_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_clipped_pg_loss_gradient_and_metrics(nemo, dtype, cfg_kwargs):
    tol = DTYPES[dtype]
    curr, prev, ref, adv = pg_inputs(dtype)
    token_mask, sample_mask = masks(2)
    token_mask, sample_mask = token_mask.to(dtype), sample_mask.to(dtype)
    seqs, toks = sample_mask.sum(), (token_mask * sample_mask[:, None]).sum()
    results = []
    for side in ("ours", "theirs"):
        x = curr.clone().requires_grad_(True)
        if side == "ours":
            loss, metrics = clipped_pg_loss(x, prev, adv, token_mask, ref, cfg=LossFnConfig(**cfg_kwargs),
                                            sample_mask=sample_mask)
        else:
            loss, metrics = nemo_pg(nemo, cfg_kwargs, x, prev, ref, adv, token_mask, sample_mask, seqs, toks)
        loss.backward()
        results.append((loss.detach(), x.grad, metrics))
    (ours_loss, ours_grad, ours_m), (their_loss, their_grad, their_m) = results
    close(ours_loss, their_loss, tol)
    close(ours_grad, their_grad, tol)
    for key in COMMON_METRICS:
        close(ours_m[key], their_m[key], tol)


IS = dict(use_importance_sampling_correction=True)
LOSS_VARIANTS = [  # ClippedPGLossFn's options, with generation log-probs that differ from prev_logprobs
    dict(token_level_loss=False, sequence_level_importance_ratios=True),  # GSPO
    dict(token_level_loss=False, sequence_level_importance_ratios=True, ratio_clip_min=3e-4, ratio_clip_max=4e-4, **IS),
    dict(use_cispo=True, ratio_clip_min=0.2, ratio_clip_max=0.28),  # CISPO with clip-higher
    dict(use_cispo=True, **IS),
    dict(disable_ppo_ratio=True),  # REINFORCE
    dict(disable_ppo_ratio=True, ratio_clip_c=3.0, token_level_loss=False),
    dict(force_on_policy_ratio=True),
    dict(force_on_policy_ratio=True, **IS),
    dict(**IS),
    dict(truncated_importance_sampling_type="tis", truncated_importance_sampling_ratio=1.1, **IS),
    dict(truncated_importance_sampling_type="tis", truncated_importance_sampling_ratio=1.1,
         truncated_importance_sampling_ratio_min=0.95, token_level_loss=False, **IS),
    dict(truncated_importance_sampling_type="icepop", truncated_importance_sampling_ratio=1.1,
         truncated_importance_sampling_ratio_min=0.9, **IS),
    dict(truncated_importance_sampling_type="icepop", truncated_importance_sampling_ratio=1.5,
         truncated_importance_sampling_ratio_min=0.85, token_level_loss=False, sequence_level_importance_ratios=True, **IS),
    dict(truncated_importance_sampling_type="seq-mask-tis", truncated_importance_sampling_ratio=1.03,
         truncated_importance_sampling_ratio_min=0.97, **IS),
    dict(use_on_policy_kl_approximation=True),
    dict(use_on_policy_kl_approximation=True, token_level_loss=False, reference_policy_kl_type="k2"),
    dict(use_kl_in_reward=True),
    dict(positive_example_nll_weight=0.1),
    dict(positive_example_nll_weight=0.5, use_cispo=True, use_on_policy_kl_approximation=True, **IS),
]
ALL_METRICS = (*COMMON_METRICS, "token_mult_prob_error", "gen_kl_error", "policy_kl_error", "js_divergence_error",
               "sampling_importance_ratio", "approx_entropy", "positive_nll_loss")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg_kwargs", LOSS_VARIANTS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_clipped_pg_loss_variants(nemo, dtype, cfg_kwargs):
    tol = DTYPES[dtype]
    curr, prev, ref, adv = pg_inputs(dtype, seed=7)
    gen = prev + 0.1 * torch.randn(B, T, generator=torch.Generator().manual_seed(8), dtype=dtype)
    rewards = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 0.5], dtype=dtype)  # sample 0 and 3 are correct and valid
    token_mask, sample_mask = (m.to(dtype) for m in masks(7))
    seqs, toks = sample_mask.sum(), (token_mask * sample_mask[:, None]).sum()
    results = []
    for side in ("ours", "theirs"):
        x = curr.clone().requires_grad_(True)
        if side == "ours":
            loss, metrics = clipped_pg_loss(x, prev, adv, token_mask, ref, cfg=LossFnConfig(**cfg_kwargs),
                                            sample_mask=sample_mask, generation_logprobs=gen, rewards=rewards)
        else:
            loss, metrics = nemo_pg(nemo, cfg_kwargs, x, prev, ref, adv, token_mask, sample_mask, seqs, toks, gen, rewards)
        loss.backward()
        results.append((loss.detach(), x.grad, metrics))
    (ours_loss, ours_grad, ours_m), (their_loss, their_grad, their_m) = results
    close(ours_loss, their_loss, tol)
    close(ours_grad, their_grad, tol)
    sequence_weights = cfg_kwargs.get("sequence_level_importance_ratios", False)
    for key in ALL_METRICS + (("is_oob_ratio",) if "truncated_importance_sampling_type" in cfg_kwargs else ()):
        if key == "sampling_importance_ratio" and sequence_weights:
            # NeMo RL broadcasts the [B, 1] weights against the [B] sample mask and logs
            # sum(w) * valid / global_valid_seqs; rl_lab logs the mean over valid samples
            # (documented in clipped_pg_loss). Both are checked against the same weights.
            mask = token_mask * sample_mask[:, None]
            ctx = WeightContext(prev - gen, token_mask, mask, sample_mask, toks, seqs, LossFnConfig(**cfg_kwargs))
            w = truncate(importance_weights(prev, gen, mask, True), ctx)[0][:, 0]
            close(their_m[key], w.sum() * sample_mask.sum() / (seqs + 1e-8), tol)  # masked_mean's guard
            close(ours_m[key], (w * sample_mask).sum() / (seqs + 1e-8), tol)
            continue
        close(ours_m[key], their_m[key], tol)
    if "truncated_importance_sampling_type" in cfg_kwargs:
        assert 0 < ours_m["is_oob_ratio"] < 1, "the bounds should cut some, not all"


@pytest.mark.parametrize("cfg_kwargs", [*LOSS_CONFIGS[:2], *(LOSS_VARIANTS[i] for i in (1, 9, 13, 14))],
                         ids=["token", "sequence", "gspo-is", "tis", "seq-mask-tis", "on-policy-kl"])
def test_clipped_pg_loss_over_micro_batches_with_global_counts(nemo, cfg_kwargs):
    # Three micro-batches of two samples, each given the global counts: the summed losses,
    # gradients and (additive) metrics equal NeMo RL's, micro-batch by micro-batch.
    dtype, tol = torch.float64, 1e-12
    curr, prev, ref, adv = pg_inputs(dtype, seed=3)
    gen = prev + 0.1 * torch.randn(B, T, generator=torch.Generator().manual_seed(9), dtype=dtype)
    token_mask, sample_mask = (m.to(dtype) for m in masks(3))
    seqs, toks = sample_mask.sum(), (token_mask * sample_mask[:, None]).sum()
    for i in (0, 2, 4):
        s = slice(i, i + 2)
        x1, x2 = curr[s].clone().requires_grad_(True), curr[s].clone().requires_grad_(True)
        l1, m1 = clipped_pg_loss(x1, prev[s], adv[s], token_mask[s], ref[s], cfg=LossFnConfig(**cfg_kwargs),
                                 sample_mask=sample_mask[s], global_valid_seqs=seqs, global_valid_toks=toks,
                                 generation_logprobs=gen[s])
        l2, m2 = nemo_pg(nemo, cfg_kwargs, x2, prev[s], ref[s], adv[s], token_mask[s], sample_mask[s], seqs, toks, gen[s])
        l1.backward()
        l2.backward()
        close(l1.detach(), l2.detach(), tol)
        close(x1.grad, x2.grad, tol)
        for key in ("loss", "probs_ratio", "kl_penalty", "num_valid_samples", "token_mult_prob_error", "gen_kl_error",
                    *(("is_oob_ratio",) if "truncated_importance_sampling_type" in cfg_kwargs else ())):
            close(m1[key], m2[key], tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sft_weight, average_pref, average_sft",
                         [(0.0, False, False), (0.2, False, False), (0.5, True, True), (1.0, False, True)])
def test_dpo_loss_gradient_and_metrics(nemo, dtype, sft_weight, average_pref, average_sft):
    tol = DTYPES[dtype]
    g = torch.Generator().manual_seed(4)
    n = 4  # pairs
    policy = -torch.rand(2 * n, T, generator=g, dtype=dtype) * 2  # rows 0,2,4.. chosen; 1,3,5.. rejected
    ref = policy + 0.3 * torch.randn(2 * n, T, generator=g, dtype=dtype)
    token_mask = (torch.rand(2 * n, T, generator=g) > 0.3).to(dtype)
    pair_mask = torch.tensor([1.0, 1.0, 0.0, 1.0], dtype=dtype)
    beta = 0.1
    x_ours, x_theirs = policy.clone().requires_grad_(True), policy.clone().requires_grad_(True)
    ours, ours_m = dpo_loss(x_ours[::2], x_ours[1::2], ref[::2], ref[1::2], token_mask[::2], token_mask[1::2],
                            beta, 1.0, sft_weight, average_pref, average_sft, sample_mask=pair_mask)
    cfg = nemo["loss"].DPOLossConfig(reference_policy_kl_penalty=beta, preference_loss_weight=1.0,
                                     sft_loss_weight=sft_weight, preference_average_log_probs=average_pref,
                                     sft_average_log_probs=average_sft)
    sample_mask = pair_mask.repeat_interleave(2)
    data = nemo["BatchedDataDict"]({
        "input_ids": torch.zeros(2 * n, T + 1, dtype=torch.long), "token_mask": pad(token_mask),
        "sample_mask": sample_mask,
        # NeMo RL reads reference log-probs as [:, :-1] against token_mask[:, 1:]
        "reference_policy_logprobs": torch.cat([ref, torch.zeros_like(ref[:, :1])], dim=1)})
    theirs, their_m = nemo["loss"].DPOLossFn(cfg)(x_theirs, data, sample_mask.sum(), (pad(token_mask)[:, 1:]).sum())
    ours.backward()
    theirs.backward()
    close(ours.detach(), theirs.detach(), tol)
    close(x_ours.grad, x_theirs.grad, tol)
    for key in ("loss", "sft_loss", "preference_loss", "accuracy", "rewards_chosen_mean", "rewards_rejected_mean",
                "num_valid_samples"):
        close(ours_m[key], their_m[key], tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_loss_with_sample_mask(nemo, dtype):
    tol = DTYPES[dtype]
    g = torch.Generator().manual_seed(5)
    lp = -torch.rand(B, T, generator=g, dtype=dtype)
    token_mask, sample_mask = (m.to(dtype) for m in masks(5))
    toks = (token_mask * sample_mask[:, None]).sum()
    x1, x2 = lp.clone().requires_grad_(True), lp.clone().requires_grad_(True)
    ours, om = nll_loss(x1, token_mask, toks, sample_mask=sample_mask)
    data = nemo["BatchedDataDict"]({"input_ids": torch.zeros(B, T + 1, dtype=torch.long),
                                    "token_mask": pad(token_mask), "sample_mask": sample_mask})
    theirs, tm = nemo["loss"].NLLLossFn()(x2, data, sample_mask.sum(), toks)
    ours.backward()
    theirs.backward()
    close(ours.detach(), theirs.detach(), tol)
    close(x1.grad, x2.grad, tol)
    for key in ("loss", "num_unmasked_tokens", "num_valid_samples"):
        close(om[key], tm[key], tol)


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
