"""Group Relative Policy Optimization with verifiable rewards, single- or multi-turn.

One GRPO step (compare ``nemo_rl.algorithms.grpo.grpo_train``):

1. take ``grpo.num_prompts_per_step`` prompts and repeat each
   ``grpo.num_generations_per_prompt`` times;
2. **rollout**: generate, let the environment score (and, for multi-turn
   environments, answer) up to ``grpo.max_rollout_turns`` times;
3. **advantages**: normalise rewards within each prompt's group
   (:func:`rl_lab.advantages.grpo_advantages`);
4. compute ``prev_logprobs`` (the sampling policy) and reference log-probs;
5. **train**: split the rollouts into ``policy.train_global_batch_size`` chunks,
   one optimizer step each, with the clipped policy-gradient loss.

Examples:
    >>> cfg = load_recipe("grpo_math", overrides=["grpo.max_num_steps=1", "grpo.num_prompts_per_step=2",
    ...     "grpo.num_generations_per_prompt=2", "policy.train_global_batch_size=4", "policy.train_micro_batch_size=4",
    ...     "rl_lab.init_checkpoint=null", "grpo.val_at_start=false", "grpo.val_at_end=false", "logger.log_dir=null"])
    >>> len(train_grpo(cfg, progress=False).metric("train/reward_mean"))
    1
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rl_lab.advantages import grpo_advantages
from rl_lab.config import GRPORecipe, LossFnConfig, load_recipe
from rl_lab.data import BatchedDataDict, Datum, build_message_log, flatten_message_log, load_task, message_logs_to_batch, sliding_puzzle_split
from rl_lab.environments import Environment, make_environment
from rl_lab.generation import compute_logprobs, generate
from rl_lab.logger import MetricLogger, TrainResult
from rl_lab.loop import Loop, MetricAccumulator, mean_over_steps, run
from rl_lab.losses import clipped_pg_loss
from rl_lab.policy import Policy, build_policy, optimizer_step, set_seed
from rl_lab.profiles import configure_threads
from rl_lab.sft import batch_indices

LossFn = Callable[..., tuple[torch.Tensor, dict[str, float]]]


@dataclass
class Rollouts:
    """Finished episodes of one rollout.

    Attributes:
        message_logs: One conversation per sample (prompt, replies, observations).
        rewards: ``[B]`` total reward per episode.
        turns: Assistant turns taken per episode.

    Examples:
        >>> Rollouts([], torch.zeros(0), []).rewards.numel()
        0
    """

    message_logs: list[list[dict[str, Any]]]
    rewards: torch.Tensor
    turns: list[int]


def _metadata_of(datum: Datum) -> dict[str, Any]:
    """Environment state for a datum (math datums just carry the answer)."""
    return dict(datum["metadata"]) if "metadata" in datum else {"answer": datum["answer"]}


def rollout(
    policy: Policy,
    data: Sequence[Datum],
    env: Environment,
    generation: Any,
    max_rollout_turns: int,
    max_total_sequence_length: int,
    greedy: bool = False,
) -> Rollouts:
    """Plays every datum's episode: generate, step the environment, repeat.

    Args:
        policy: Policy used for sampling.
        data: One datum per episode (already repeated per generation).
        env: The environment.
        generation: ``policy.generation`` section (temperature, top_p, ...).
        max_rollout_turns: ``grpo.max_rollout_turns``.
        max_total_sequence_length: Episodes stop before exceeding this length.
        greedy: Use temperature 0 (validation).

    Returns:
        :class:`Rollouts` with per-message token ids and loss masks (assistant
        tokens are trained on, prompts and observations are not).

    Examples:
        >>> from rl_lab.environments import MathEnvironment
        >>> cfg = load_recipe("grpo_math", ["rl_lab.init_checkpoint=null"], profile="smoke")
        >>> episodes = rollout(build_policy(cfg), load_task(cfg.rl_lab.task)[1][:2], MathEnvironment(),
        ...                    cfg.policy.generation, max_rollout_turns=1, max_total_sequence_length=32)
        >>> [[m["role"] for m in log] for log in episodes.message_logs], episodes.turns
        ([['user', 'assistant'], ['user', 'assistant']], [1, 1])
    """
    tok = policy.tokenizer
    logs = [build_message_log(d["messages"], tok) for d in data]
    meta: list[Any] = [_metadata_of(d) for d in data]
    rewards = torch.zeros(len(data))
    turns = [0] * len(data)
    active = list(range(len(data)))
    for _ in range(max_rollout_turns):
        if not active:
            break
        prompts = [flatten_message_log(logs[i])[0].tolist() for i in active]
        out = generate(
            policy.model,
            prompts,
            tok,
            max_new_tokens=generation.max_new_tokens,
            temperature=0.0 if greedy else generation.temperature,
            top_p=generation.top_p,
            top_k=generation.top_k,
            stop_token_ids=generation.stop_token_ids,
            stop_strings=generation.stop_strings,
        )
        for j, i in enumerate(active):
            ids = torch.tensor(out.response_ids[j], dtype=torch.long)
            logs[i].append({"role": "assistant", "content": out.texts[j], "token_ids": ids, "token_loss_mask": torch.ones_like(ids)})
            turns[i] += 1
        result = env.step([logs[i] for i in active], [meta[i] for i in active])
        still_active = []
        for j, i in enumerate(active):
            rewards[i] += result.rewards[j]
            meta[i] = result.metadata[j]
            if bool(result.terminateds[j]):
                continue
            observation = build_message_log([result.observations[j]], tok)[0]
            logs[i].append(observation)
            if sum(len(m["token_ids"]) for m in logs[i]) + generation.max_new_tokens <= max_total_sequence_length:
                still_active.append(i)
        active = still_active
    return Rollouts(logs, rewards, turns)


@torch.no_grad()
def batched_logprobs(model: torch.nn.Module, input_ids: torch.Tensor, micro_batch_size: int) -> torch.Tensor:
    """:func:`rl_lab.generation.compute_logprobs` in micro-batches, without gradients.

    Args:
        model: The model.
        input_ids: ``[B, T]`` right-padded ids.
        micro_batch_size: Rows per forward pass.

    Returns:
        ``[B, T]`` log-probs.

    Examples:
        >>> from rl_lab.config import ModelSizeConfig
        >>> from rl_lab.models import build_model
        >>> model = build_model(ModelSizeConfig(), 30)
        >>> ids = torch.randint(0, 30, (5, 7))
        >>> torch.allclose(batched_logprobs(model, ids, micro_batch_size=2), compute_logprobs(model, ids))
        True
    """
    return torch.cat([compute_logprobs(model, input_ids[i : i + micro_batch_size]) for i in range(0, len(input_ids), micro_batch_size)])


def policy_update(
    policy: Policy,
    batch: BatchedDataDict,
    loss_cfg: LossFnConfig,
    global_batch_size: int,
    micro_batch_size: int,
    max_grad_norm: float | None,
    loss_fn: LossFn = clipped_pg_loss,
) -> list[dict[str, float]]:
    """Optimizer steps over a rollout batch, one per global batch.

    Args:
        policy: The policy to update.
        batch: ``input_ids``, ``token_mask``, ``advantages`` [B, 1],
            ``prev_logprobs`` and ``reference_policy_logprobs`` ([B, T]).
        loss_cfg: ``loss_fn`` section.
        global_batch_size: Samples per optimizer step.
        micro_batch_size: Samples per forward/backward pass.
        max_grad_norm: Gradient clipping threshold.
        loss_fn: The loss (default :func:`rl_lab.losses.clipped_pg_loss`).

    The loss gets NeMo RL's normalisation inputs: ``sample_mask`` (when the batch
    has one; otherwise every sample counts), and the global numbers of valid
    samples and tokens of the optimizer step's batch. A valid sample with no
    trained token still counts in the sequence-level denominator.

    Returns:
        One metrics dict per optimizer step: the micro-batch metrics combined by
        :class:`rl_lab.loop.MetricAccumulator`, plus ``grad_norm``.

    Examples:
        >>> cfg = load_recipe("grpo_math", ["rl_lab.init_checkpoint=null"], profile="smoke")
        >>> policy = build_policy(cfg)
        >>> ids = torch.randint(3, 20, (4, 6))
        >>> lp = batched_logprobs(policy.model, ids, 4)
        >>> batch = BatchedDataDict(input_ids=ids, token_mask=torch.ones(4, 6), advantages=torch.ones(4, 1),
        ...                         prev_logprobs=lp, reference_policy_logprobs=lp)
        >>> steps = policy_update(policy, batch, cfg.loss_fn, global_batch_size=2, micro_batch_size=1, max_grad_norm=1.0)
        >>> len(steps), round(steps[0]["probs_ratio"], 4), steps[0]["num_valid_tokens"]  # 2 optimizer steps of 2 x 6 tokens
        (2, 1.0, 12.0)
    """
    out = []
    for chunk in batch.shard_by_batch_size(global_batch_size):
        # NeMo RL's global_valid_toks / global_valid_seqs: every micro-batch divides by the
        # counts of the whole global batch, so losses (and metrics) add up to its mean.
        sample_mask = chunk["sample_mask"] if "sample_mask" in chunk else torch.ones(chunk.size)
        toks = (chunk["token_mask"] * sample_mask[:, None]).sum()
        seqs = sample_mask.sum()
        totals = MetricAccumulator()
        for micro in chunk.shard_by_batch_size(micro_batch_size):
            micro = micro.to(policy.device)
            logprobs = compute_logprobs(policy.model, micro["input_ids"])
            loss, metrics = loss_fn(
                logprobs,
                micro["prev_logprobs"],
                micro["advantages"],
                micro["token_mask"],
                micro["reference_policy_logprobs"],
                cfg=loss_cfg,
                sample_mask=micro["sample_mask"] if "sample_mask" in micro else None,
                global_valid_seqs=seqs,
                global_valid_toks=toks,
            )
            loss.backward()
            totals.add(metrics)
        out.append({**totals.result(), "grad_norm": optimizer_step(policy, max_grad_norm)})
    return out


def grpo_step(policy: Policy, reference: torch.nn.Module, prompts: Sequence[Datum], env: Environment, cfg: GRPORecipe, loss_fn: LossFn = clipped_pg_loss) -> dict[str, float]:
    """One GRPO step: rollout, advantages, log-probs, policy update.

    Args:
        policy: The policy.
        reference: Frozen reference model for the KL penalty.
        prompts: ``grpo.num_prompts_per_step`` datums.
        env: The environment.
        cfg: The recipe.
        loss_fn: The policy loss.

    Returns:
        Metrics: ``reward_mean``, ``loss``, ``kl_penalty``, ``clip_fraction``, ...
    """
    n = cfg.grpo.num_generations_per_prompt
    repeated = [d for d in prompts for _ in range(n)]
    ro = rollout(policy, repeated, env, cfg.policy.generation, cfg.grpo.max_rollout_turns, cfg.policy.max_total_sequence_length)
    batch = message_logs_to_batch(ro.message_logs, policy.tokenizer.pad_token_id)
    mb = cfg.policy.train_micro_batch_size
    batch["advantages"] = grpo_advantages(
        ro.rewards, n, cfg.grpo.normalize_rewards, cfg.grpo.use_leave_one_out_baseline
    ).unsqueeze(-1)
    batch["prev_logprobs"] = batched_logprobs(policy.model, batch["input_ids"].to(policy.device), mb).cpu()
    batch["reference_policy_logprobs"] = batched_logprobs(reference, batch["input_ids"].to(policy.device), mb).cpu()
    updates = policy_update(policy, batch, cfg.loss_fn, cfg.policy.train_global_batch_size, mb, cfg.policy.max_grad_norm, loss_fn)
    metrics = mean_over_steps(updates)
    groups = ro.rewards.view(-1, n)
    metrics.update(
        reward_mean=ro.rewards.mean().item(),
        zero_variance_groups=float((groups.std(-1) == 0).float().mean()) if n > 1 else 1.0,
        mean_turns=sum(ro.turns) / len(ro.turns),
        mean_response_tokens=float(batch["token_mask"].sum(-1).float().mean()),
    )
    return metrics


def validate_grpo(policy: Policy, val: Sequence[Datum], env: Environment, cfg: GRPORecipe) -> dict[str, float]:
    """Validation rollouts: sampled like NeMo RL (``policy.generation``) and greedy.

    NeMo RL validates with the same generation settings it trains with
    (temperature 1.0 in ``grpo_math_1B.yaml``), so ``accuracy`` here is the
    mean reward of *sampled* episodes; ``greedy_accuracy`` uses temperature 0.

    Args:
        policy: The policy.
        val: Validation datums (at most ``grpo.max_val_samples`` are used).
        env: The environment.
        cfg: The recipe.

    Returns:
        ``{"accuracy", "greedy_accuracy"}`` (solve rates for the puzzle).

    Examples:
        >>> from rl_lab.environments import MathEnvironment
        >>> cfg = load_recipe("grpo_math", ["rl_lab.init_checkpoint=null", "grpo.max_val_samples=3"], profile="smoke")
        >>> scores = validate_grpo(build_policy(cfg), load_task(cfg.rl_lab.task)[1], MathEnvironment(), cfg)
        >>> sorted(scores), all(0.0 <= v <= 1.0 for v in scores.values())
        (['accuracy', 'greedy_accuracy'], True)
    """
    val = list(val)[: cfg.grpo.max_val_samples]
    gen, turns, length = cfg.policy.generation, cfg.grpo.max_rollout_turns, cfg.policy.max_total_sequence_length
    sampled = rollout(policy, val, env, gen, turns, length)
    greedy = rollout(policy, val, env, gen, turns, length, greedy=True)
    return {"accuracy": sampled.rewards.clamp(max=1.0).mean().item(), "greedy_accuracy": greedy.rewards.clamp(max=1.0).mean().item()}


def grpo_data(cfg: GRPORecipe) -> tuple[list[Datum], list[Datum]]:
    """Training prompts and validation episodes for the recipe's environment.

    Args:
        cfg: The recipe (the puzzle reads ``env.sliding_puzzle_game.cfg``).

    Returns:
        ``(train, val)`` datums.

    Examples:
        >>> tr, va = grpo_data(load_recipe("grpo_sliding_puzzle"))
        >>> "metadata" in tr[0]
        True
    """
    puzzle = cfg.env.sliding_puzzle_game
    if puzzle is None:
        return load_task(cfg.rl_lab.task)
    game = puzzle.cfg.game_config
    task = cfg.rl_lab.task
    return sliding_puzzle_split(game.size, game.shuffle_moves, puzzle.cfg.max_moves, task.train_size, task.val_size, task.seed)


def train_grpo(
    recipe: GRPORecipe | str = "grpo_math",
    overrides: list[str] | tuple[str, ...] = (),
    model: torch.nn.Module | None = None,
    progress: bool | None = None,
    live_plot: bool | None = None,
    profile: str | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    loss_fn: LossFn = clipped_pg_loss,
) -> TrainResult:
    """Runs GRPO for a recipe (resuming from ``checkpointing.checkpoint_dir`` if enabled).

    Args:
        recipe: A loaded :class:`rl_lab.config.recipes.GRPORecipe` or a recipe name.
        overrides: ``key=value`` overrides (with a recipe name).
        model: The model to start from (a recipe with ``rl_lab.init_checkpoint`` needs
            one: :func:`rl_lab.run.train` passes it); None builds a fresh one.
        progress: As for :func:`rl_lab.sft.train_sft` (and ``live_plot``, ``profile``, ``callback``).
        loss_fn: Policy loss with :func:`rl_lab.losses.clipped_pg_loss`'s signature.

    Returns:
        A :class:`rl_lab.logger.TrainResult` (``final_metrics["accuracy"]``).
    """
    cfg = load_recipe(recipe, overrides, profile) if isinstance(recipe, str) else recipe
    configure_threads()
    started = time.perf_counter()
    policy = build_policy(cfg, model, profile)
    set_seed(cfg.grpo.seed)  # after build_policy: a cold model cache (training) must not shift the RNG
    reference = copy.deepcopy(policy.model).eval().requires_grad_(False)
    _, env = make_environment(cfg.env)
    train, val = grpo_data(cfg)
    logger = MetricLogger(cfg.logger.log_dir, live=live_plot, live_keys=["train/reward_mean", "val/accuracy"], callback=callback)

    def train_step(step: int) -> dict[str, float]:
        t0 = time.perf_counter()
        idx = batch_indices(step, cfg.grpo.num_prompts_per_step, len(train), cfg.grpo.seed, cfg.data.shuffle)
        metrics = grpo_step(policy, reference, [train[i] for i in idx.tolist()], env, cfg, loss_fn)
        return {**metrics, "step_time_s": time.perf_counter() - t0}

    loop = Loop("grpo", cfg.grpo, cfg.grpo.max_num_steps, train_step, lambda: validate_grpo(policy, val, env, cfg),
                "reward_mean", extra_models={"reference": reference})
    return run(cfg, policy, loop, logger, progress, started)
