"""Proximal Policy Optimization with a value model: token-level advantages from GAE.

One PPO step (compare ``nemo_rl.algorithms.ppo.ppo_train``):

1. take ``ppo.num_prompts_per_step`` prompts, repeat each ``ppo.num_generations_per_prompt``
   times and play the episodes; the environment's rewards are rescaled
   (``ppo.reward_scaling``) and shaped (``ppo.reward_shaping``);
2. **values**: the value model predicts, for every token, the return still to come;
3. ``prev_logprobs`` of the policy (and reference log-probs unless
   ``ppo.skip_reference_policy_logprobs_calculation``);
4. **advantages**: GAE (``ppo.adv_estimator``) turns the reward on the last response token,
   minus a per-token KL with ``loss_fn.use_kl_in_reward``, and the values into per-token
   advantages and the returns the value model learns;
5. **train**, ``ppo.ppo_epochs`` times over the same rollouts: first the value model with
   :func:`rl_lab.losses.value_loss`, then (from step ``ppo.policy_training_start_step`` on) the
   policy with :func:`rl_lab.losses.clipped_pg_loss`, GRPO's loss, now with ``[B, T]`` advantages.

The value model is built as NeMo RL builds it: the policy's starting weights with a new
one-output head (:class:`ValueModel`). Its values are token-aligned like rl_lab's log-probs:
``values[b, t]`` is the value of the state *before* token ``t``, read from the hidden state that
also predicts token ``t`` (NeMo RL shifts its value head's outputs right by one to get this).

Examples:
    >>> cfg = load_recipe("ppo_addition", ["ppo.max_num_steps=1", "ppo.num_prompts_per_step=2",
    ...     "ppo.num_generations_per_prompt=2", "ppo.ppo_epochs=1", "rl_lab.init_checkpoint=null",
    ...     "policy.train_global_batch_size=4", "policy.train_micro_batch_size=4",
    ...     "value.train_global_batch_size=4", "value.train_micro_batch_size=4",
    ...     "ppo.val_at_start=false", "ppo.val_at_end=false", "logger.log_dir=null"])
    >>> row = train_ppo(cfg, progress=False).history[0]
    >>> row["train/critic/loss"] > 0, row["train/policy_trained"]
    (True, 1.0)
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from rl_lab.config import ConfigError, PPOAdvEstimatorConfig, PPORecipe, RewardScalingConfig, load_recipe
from rl_lab.config.grpo_sections import LossFnConfig
from rl_lab.dapo import apply_reward_shaping
from rl_lab.data import BatchedDataDict, load_task, message_logs_to_batch
from rl_lab.data.messages import Datum  # the defining module: the API pages link the alias
from rl_lab.environments import Environment, make_environment
from rl_lab.grpo import batched_logprobs, policy_update
from rl_lab.logger import MetricLogger, TrainResult
from rl_lab.loop import Loop, MetricAccumulator, mean_over_steps, run
from rl_lab.losses import clipped_pg_loss, kl_penalty, masked_mean, value_loss
from rl_lab.policy import Policy, build_policy, make_optimizer, optimizer_step, set_seed
from rl_lab.profiles import configure_threads
from rl_lab.rollouts import rollout
from rl_lab.sft import batch_indices


class ValueModel(torch.nn.Module):
    """A causal LM's body with a scalar head: one value per token (NeMo RL's one-label sequence classifier).

    Args:
        lm: The causal LM to start from (copied; its output layer is not used).
        seed: Seed of the head's initialisation, normal with the model's ``initializer_range``
            and no bias, as ``transformers`` initialises a classifier's ``score`` layer.

    Examples:
        >>> from rl_lab.config import ModelSizeConfig
        >>> from rl_lab.models import build_model
        >>> v = ValueModel(build_model(ModelSizeConfig(hidden_size=32, num_layers=1), 20))
        >>> out = v(torch.tensor([[1, 2, 3]]))
        >>> out.shape, out[0, 0].item()  # nothing precedes token 0: its value is 0
        (torch.Size([1, 3]), 0.0)
    """

    def __init__(self, lm: torch.nn.Module, seed: int = 0) -> None:
        super().__init__()
        self.body = copy.deepcopy(lm.get_decoder())
        hidden = lm.config.hidden_size
        self.score = torch.nn.Linear(hidden, 1, bias=False, dtype=next(lm.parameters()).dtype)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            torch.nn.init.normal_(self.score.weight, std=lm.config.initializer_range)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` ids -> ``[B, T]`` float32 values; ``[b, t]`` is read after tokens ``< t``."""
        hidden = self.body(input_ids=input_ids, use_cache=False).last_hidden_state
        values = self.score(hidden).squeeze(-1).float()[:, :-1]
        return torch.cat([torch.zeros_like(values[:, :1]), values], dim=1)


@torch.no_grad()
def batched_values(value: torch.nn.Module, input_ids: torch.Tensor, micro_batch_size: int) -> torch.Tensor:
    """:class:`ValueModel` predictions in micro-batches, without gradients (NeMo RL's ``get_values``)."""
    return torch.cat([value(input_ids[i : i + micro_batch_size]) for i in range(0, len(input_ids), micro_batch_size)])


def scale_rewards(rewards: torch.Tensor, cfg: RewardScalingConfig) -> torch.Tensor:
    """``ppo.reward_scaling``: clamp to ``[source_min, source_max]``, map linearly onto ``[target_min, target_max]``.

    Examples:
        >>> scale_rewards(torch.tensor([0.0, 0.5, 1.0, 2.0]), RewardScalingConfig(enabled=True)).tolist()
        [-1.0, 0.0, 1.0, 1.0]
    """
    if not cfg.enabled:
        return rewards
    r = rewards.clamp(cfg.source_min, cfg.source_max)
    return cfg.target_min + (r - cfg.source_min) / (cfg.source_max - cfg.source_min) * (cfg.target_max - cfg.target_min)


def token_level_rewards(rewards: torch.Tensor, mask: torch.Tensor, loss_cfg: LossFnConfig,
                        logprobs: torch.Tensor | None = None, reference_logprobs: torch.Tensor | None = None) -> torch.Tensor:
    """The scalar reward on each sample's last response token, minus ``beta * KL`` on every one with ``use_kl_in_reward``.

    Args:
        rewards: ``[B]``.
        mask: ``[B, T]`` response tokens.
        loss_cfg: ``loss_fn`` (``use_kl_in_reward``, ``reference_policy_kl_penalty`` and ``_kl_type``).
        logprobs: ``[B, T]`` policy log-probs (for the KL).
        reference_logprobs: ``[B, T]`` reference log-probs (for the KL).

    Returns:
        ``[B, T]``, 0 outside ``mask``.

    Examples:
        >>> token_level_rewards(torch.tensor([1.0]), torch.tensor([[0.0, 1.0, 1.0, 0.0]]), LossFnConfig())
        tensor([[0., 0., 1., 0.]])
    """
    out = torch.zeros(mask.shape, dtype=rewards.dtype)
    beta = loss_cfg.reference_policy_kl_penalty
    if loss_cfg.use_kl_in_reward and beta > 0 and logprobs is not None and reference_logprobs is not None:
        out = out - beta * kl_penalty(logprobs, reference_logprobs, loss_cfg.reference_policy_kl_type)
    has = mask.bool().any(dim=1)
    last = mask.shape[1] - 1 - mask.flip(1).argmax(dim=1)
    out[has, last[has]] += rewards[has]
    return out * mask


def gae(token_rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float,
        lam: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized Advantage Estimation, backwards over the tokens, skipping tokens outside ``mask``.

    ``delta_t = r_t + gamma * V_next - V_t`` and ``A_t = delta_t + gamma * lam * A_next``, where
    ``V_next`` and ``A_next`` belong to the next token *inside* the mask (0 after the last one):
    a masked token (prompt, padding, an environment's turn) leaves both as they were.

    Args:
        token_rewards: ``[B, T]`` (:func:`token_level_rewards`).
        values: ``[B, T]`` token-aligned values.
        mask: ``[B, T]`` response tokens.
        gamma: ``ppo.adv_estimator.gae_gamma``.
        lam: lambda, a number or ``[B]`` (one per sample).

    Returns:
        ``(advantages, returns)``, both ``[B, T]``; ``returns = advantages + values``.

    Examples:
        >>> adv, ret = gae(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]), torch.ones(1, 2), 1.0, 1.0)
        >>> adv.tolist(), ret.tolist()  # A_1 = 1 - 0.5; A_0 = 0 + 0.5 - 0.5 + 0.5
        ([[0.5, 0.5]], [[1.0, 1.0]])
    """
    lam = torch.as_tensor(lam, dtype=values.dtype)
    next_value = torch.zeros(values.shape[0], dtype=values.dtype)
    running = torch.zeros_like(next_value)
    out = []
    for t in reversed(range(values.shape[1])):
        m = mask[:, t].to(values.dtype)
        delta = token_rewards[:, t] + gamma * next_value - values[:, t]
        new = delta + gamma * lam * running
        next_value = m * values[:, t] + (1 - m) * next_value
        running = m * new + (1 - m) * running
        out.append(running)
    advantages = torch.stack(out[::-1], dim=1)
    return advantages, advantages + values


def whiten(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / sqrt(var + 1e-8)`` over the masked entries (unbiased variance).

    Examples:
        >>> whiten(torch.tensor([[1.0, 3.0, 7.0]]), torch.tensor([[1.0, 1.0, 0.0]])).tolist()[0][:2]  # var = 2
        [-0.7071067690849304, 0.7071067690849304]
    """
    mean = masked_mean(x, mask)
    n = mask.sum()
    var = masked_mean((x - mean) ** 2, mask) * (n / (n - 1))
    return (x - mean) * torch.rsqrt(var + 1e-8)


def ppo_advantages(rewards: torch.Tensor, mask: torch.Tensor, values: torch.Tensor | None, cfg: PPOAdvEstimatorConfig,
                   loss_cfg: LossFnConfig, logprobs: torch.Tensor | None = None,
                   reference_logprobs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The advantages ``ppo.adv_estimator`` names and, for GAE, the value model's returns.

    GAE runs once with ``gae_lambda``, or, with VAPO's decoupled lambdas (``gae_lambda_value``,
    ``gae_lambda_policy`` or ``length_adaptive_alpha`` set), once for the returns and once for
    the advantages. ``normalize_advantages`` whitens them over the batch's response tokens; they
    are 0 outside ``mask``. ``raw_reward`` puts each reward on all of its sample's tokens.

    Args:
        rewards: ``[B]`` scaled and shaped rewards.
        mask: ``[B, T]`` response tokens.
        values: ``[B, T]`` token-aligned values (GAE only).
        cfg: ``ppo.adv_estimator``.
        loss_cfg: ``loss_fn`` (the KL in the reward).
        logprobs: ``[B, T]`` ``prev_logprobs`` (KL in the reward).
        reference_logprobs: ``[B, T]`` (KL in the reward).

    Returns:
        ``(advantages [B, T], returns [B, T] or None)``.

    Examples:
        >>> adv, ret = ppo_advantages(torch.tensor([1.0]), torch.ones(1, 2), torch.zeros(1, 2),
        ...     PPOAdvEstimatorConfig(normalize_advantages=False), LossFnConfig())
        >>> adv.tolist(), ret.tolist()
        ([[0.949999988079071, 1.0]], [[0.949999988079071, 1.0]])
    """
    if cfg.name == "raw_reward":
        adv = rewards.unsqueeze(-1).expand(mask.shape)
        if cfg.normalize_advantages:
            n = mask.sum().clamp(min=1)
            mean = (adv * mask).sum() / n
            adv = (adv - mean) * (((adv - mean) ** 2 * mask).sum() / n).clamp(min=1e-8).rsqrt()
        return adv, None
    token_rewards = token_level_rewards(rewards, mask, loss_cfg, logprobs, reference_logprobs)
    lam_policy: float | torch.Tensor = cfg.gae_lambda if cfg.gae_lambda_policy is None else cfg.gae_lambda_policy
    if cfg.length_adaptive_alpha > 0:
        lam_policy = (1.0 - 1.0 / (cfg.length_adaptive_alpha * mask.sum(dim=1).float()).clamp(min=1.0)).clamp(0.0, 1.0)
    if cfg.gae_lambda_value is not None or cfg.gae_lambda_policy is not None or cfg.length_adaptive_alpha > 0:
        lam_value = cfg.gae_lambda if cfg.gae_lambda_value is None else cfg.gae_lambda_value
        returns = gae(token_rewards, values, mask, cfg.gae_gamma, lam_value)[1]
        advantages = gae(token_rewards, values, mask, cfg.gae_gamma, lam_policy)[0]
    else:
        advantages, returns = gae(token_rewards, values, mask, cfg.gae_gamma, cfg.gae_lambda)
    if cfg.normalize_advantages:
        advantages = whiten(advantages, mask)
    return advantages.masked_fill(~mask.bool(), 0.0), returns


def explained_variance(m: dict[str, float]) -> float:
    """``1 - Var(R - V) / Var(R)`` over the trained tokens, from :func:`rl_lab.losses.value_loss`'s metrics.

    Examples:
        >>> explained_variance({"returns_mean": 0.0, "values_mean": 0.0, "returns_sq_mean": 1.0, "residual_sq_mean": 0.25})
        0.75
    """
    var_returns = m["returns_sq_mean"] - m["returns_mean"] ** 2
    var_residual = m["residual_sq_mean"] - (m["returns_mean"] - m["values_mean"]) ** 2
    return 1.0 - var_residual / max(var_returns, 1e-8)


def value_update(value: Policy, batch: BatchedDataDict, cfg: PPORecipe) -> list[dict[str, float]]:
    """Value-model optimizer steps over a rollout batch, one per ``value.train_global_batch_size`` samples.

    Returns:
        One metrics dict per optimizer step (:func:`rl_lab.losses.value_loss`'s, summed over
        micro-batches) plus ``grad_norm``.
    """
    out = []
    for chunk in batch.shard_by_batch_size(cfg.value.train_global_batch_size):
        toks = (chunk["token_mask"] * chunk["sample_mask"][:, None]).sum()
        totals = MetricAccumulator()
        for micro in chunk.shard_by_batch_size(cfg.value.train_micro_batch_size):
            micro = micro.to(value.device)
            loss, metrics = value_loss(value.model(micro["input_ids"]), micro["values"], micro["returns"], micro["token_mask"],
                                       cfg.value_loss_fn, sample_mask=micro["sample_mask"], global_valid_toks=toks)
            loss.backward()
            totals.add({k: v for k, v in metrics.items() if k != "num_valid_samples"})
        out.append({**totals.result(), "grad_norm": optimizer_step(value, cfg.value.max_grad_norm)})
    return out


def ppo_step(policy: Policy, value: Policy, reference: torch.nn.Module | None, prompts: Sequence[Datum], env: Environment,
             cfg: PPORecipe, step: int, loss_fn: Callable[..., Any] = clipped_pg_loss) -> dict[str, float]:
    """One PPO step: rollout, values, log-probs, GAE, then ``ppo.ppo_epochs`` value and policy updates.

    Args:
        policy: The policy.
        value: The value model (a :class:`rl_lab.policy.Policy` holding a :class:`ValueModel`).
        reference: The frozen reference (None with ``ppo.skip_reference_policy_logprobs_calculation``).
        prompts: ``ppo.num_prompts_per_step`` datums.
        env: The environment.
        cfg: The recipe.
        step: Steps taken before this one (the critic warm-up counts them).
        loss_fn: The policy loss.

    Returns:
        ``reward_mean`` (unscaled), the policy's metrics of the last epoch (none during the
        warm-up), NeMo RL's ``critic/*`` (``loss``, ``grad_norm``, ``explained_var``,
        ``vf_clipfrac``, ``values_mean`` ...) of the last epoch and ``advantages/mean|min|max``; rl_lab-only:
        ``critic/first_epoch_loss`` and ``critic/first_epoch_explained_var``, measured in the first epoch,
        before the value model has trained on these rollouts (its error on new samples).
    """
    p = cfg.ppo
    data = [d for d in prompts for _ in range(p.num_generations_per_prompt)]
    ro = rollout(policy, data, env, cfg.policy.generation, p.max_rollout_turns, cfg.policy.max_total_sequence_length)
    rewards = scale_rewards(ro.rewards, p.reward_scaling)
    lengths = [next(len(m["token_ids"]) for m in log if m["role"] == "assistant") for log in ro.message_logs]
    rewards = apply_reward_shaping(rewards, lengths, ro.truncated, p.reward_shaping, cfg.policy.max_total_sequence_length)
    batch = message_logs_to_batch(ro.message_logs, policy.tokenizer.pad_token_id)
    batch["sample_mask"] = torch.tensor([0.0 if p.overlong_filtering and t else 1.0 for t in ro.truncated])
    ids = batch["input_ids"].to(policy.device)
    batch["values"] = batched_values(value.model, ids, cfg.value.train_micro_batch_size).cpu()
    batch["prev_logprobs"] = batched_logprobs(policy.model, ids, cfg.policy.train_micro_batch_size).cpu()
    ref = batched_logprobs(reference, ids, cfg.policy.train_micro_batch_size).cpu() if reference is not None else None
    batch["reference_policy_logprobs"] = ref if ref is not None else batch["prev_logprobs"]
    mask = batch["token_mask"].float()
    advantages, returns = ppo_advantages(rewards, mask, batch["values"], p.adv_estimator, cfg.loss_fn,
                                         batch["prev_logprobs"], ref)
    batch["advantages"], batch["rewards"] = advantages, rewards
    batch["returns"] = returns if returns is not None else batch["values"]  # raw_reward: the critic keeps its values
    for epoch in range(p.ppo_epochs):
        critic = mean_over_steps(value_update(value, batch, cfg))  # the critic first, as NeMo RL (and veRL) do
        if epoch == 0:  # before any update on these rollouts: the critic's error on samples it has not seen
            fresh = {"critic/first_epoch_loss": critic["loss"], "critic/first_epoch_explained_var": explained_variance(critic)}
        actor = None
        if step >= p.policy_training_start_step:
            actor = mean_over_steps(policy_update(policy, batch, cfg.loss_fn, cfg.policy.train_global_batch_size,
                                                  cfg.policy.train_micro_batch_size, cfg.policy.max_grad_norm, loss_fn))
    picked = advantages[mask.bool()]
    metrics = {**(actor or {}), **{f"critic/{k}": v for k, v in critic.items()}}
    metrics.update({**fresh, "critic/explained_var": explained_variance(critic), "reward_mean": ro.rewards.mean().item(),
                    "advantages/mean": picked.mean().item(), "advantages/min": picked.min().item(),
                    "advantages/max": picked.max().item(), "policy_trained": float(actor is not None)})
    return metrics


def validate_ppo(policy: Policy, val: Sequence[Datum], env: Environment, cfg: PPORecipe) -> dict[str, float]:
    """Held-out ``accuracy`` of answers sampled with ``policy.generation`` (as NeMo RL validates) and ``greedy_accuracy``."""
    p, gen, length = cfg.ppo, cfg.policy.generation, cfg.policy.max_total_sequence_length
    val = list(val)[: p.max_val_samples]
    sums = {"accuracy": 0.0, "greedy_accuracy": 0.0}
    for start in range(0, len(val), p.val_batch_size):
        part = val[start : start + p.val_batch_size]
        sums["accuracy"] += rollout(policy, part, env, gen, p.max_rollout_turns, length).rewards.clamp(max=1.0).sum().item()
        sums["greedy_accuracy"] += rollout(policy, part, env, gen, p.max_rollout_turns, length,
                                           greedy=True).rewards.clamp(max=1.0).sum().item()
    return {k: v / len(val) for k, v in sums.items()}


def build_value(cfg: PPORecipe, policy: Policy) -> Policy:
    """The value model from the policy's starting weights (``value.model_name: rl_lab/tiny``) and its optimizer.

    Raises:
        ConfigError: ``value.model_name`` differs from ``policy.model_name``.
    """
    if cfg.value.model_name != cfg.policy.model_name:
        raise ConfigError(f"value.model_name={cfg.value.model_name!r}: rl_lab builds the value model from the policy's "
                          f"model; set value.model_name={cfg.policy.model_name!r} (NeMo RL's default, ${{policy.model_name}})")
    model = ValueModel(policy.model, seed=cfg.ppo.seed).to(policy.device).train()
    return Policy(model, policy.tokenizer, make_optimizer(model, cfg.value.optimizer), policy.device)


def train_ppo(
    recipe: PPORecipe | str = "ppo_addition",
    overrides: list[str] | tuple[str, ...] = (),
    model: torch.nn.Module | None = None,
    progress: bool | None = None,
    live_plot: bool | None = None,
    profile: str | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    loss_fn: Callable[..., Any] = clipped_pg_loss,
) -> TrainResult:
    """Runs PPO for a recipe.

    Args:
        recipe: A loaded :class:`rl_lab.config.recipes.PPORecipe` or a recipe name.
        overrides: ``key=value`` overrides (with a recipe name).
        model: The model to start the policy and the value model from (a recipe with
            ``rl_lab.init_checkpoint`` needs one: :func:`rl_lab.run.train` passes it).
        progress: As for :func:`rl_lab.sft.train_sft` (and ``live_plot``, ``profile``, ``callback``).
        loss_fn: Policy loss with :func:`rl_lab.losses.clipped_pg_loss`'s signature.

    Returns:
        A :class:`rl_lab.logger.TrainResult` (``final_metrics["accuracy"]``; ``train/critic/*`` per step).

    Raises:
        ConfigError: With ``checkpointing.enabled`` (the value model is not checkpointed),
            ``skip_reference_policy_logprobs_calculation`` with a KL penalty, or batch sizes that
            do not divide a step's samples.
    """
    cfg = load_recipe(recipe, overrides, profile) if isinstance(recipe, str) else recipe
    if cfg.checkpointing.enabled:
        raise ConfigError("rl_lab's PPO does not checkpoint its value model: set checkpointing.enabled=false")
    skip_ref = cfg.ppo.skip_reference_policy_logprobs_calculation
    if skip_ref and cfg.loss_fn.reference_policy_kl_penalty != 0:
        raise ConfigError("ppo.skip_reference_policy_logprobs_calculation=true needs loss_fn.reference_policy_kl_penalty=0")
    rows = cfg.ppo.num_prompts_per_step * cfg.ppo.num_generations_per_prompt
    for name, section in (("policy", cfg.policy), ("value", cfg.value)):
        if rows % section.train_global_batch_size or section.train_global_batch_size % section.train_micro_batch_size:
            raise ConfigError(f"{name}.train_global_batch_size={section.train_global_batch_size} must divide the "
                              f"{rows} samples of a step (ppo.num_prompts_per_step x num_generations_per_prompt) and be "
                              f"a multiple of {name}.train_micro_batch_size={section.train_micro_batch_size}")
    configure_threads()
    started = time.perf_counter()
    policy = build_policy(cfg, model, profile)
    value = build_value(cfg, policy)
    set_seed(cfg.ppo.seed)  # after build_policy: a cold model cache (training) must not shift the RNG
    reference = None if skip_ref else copy.deepcopy(policy.model).eval().requires_grad_(False)
    _, env = make_environment(cfg.env)
    train, val = load_task(cfg.rl_lab.task)
    p = cfg.ppo
    logger = MetricLogger(cfg.logger.log_dir, live=live_plot, live_keys=["train/reward_mean", "val/accuracy"], callback=callback)

    def train_step(step: int) -> dict[str, float]:
        t0 = time.perf_counter()
        idx = batch_indices(step, p.num_prompts_per_step, len(train), p.seed, cfg.data.shuffle)
        metrics = ppo_step(policy, value, reference, [train[i] for i in idx.tolist()], env, cfg, step, loss_fn)
        return {**metrics, "step_time_s": time.perf_counter() - t0}

    max_steps = min(p.max_num_steps, p.max_num_epochs * len(train) // p.num_prompts_per_step)
    loop = Loop("ppo", p, max_steps, train_step, lambda: validate_ppo(policy, val, env, cfg), "reward_mean")
    return run(cfg, policy, loop, logger, progress, started)
