"""Group Relative Policy Optimization with verifiable rewards, single- or multi-turn.

One GRPO step (compare ``nemo_rl.algorithms.grpo.grpo_train``):

1. take ``grpo.num_prompts_per_step`` prompts and repeat each
   ``grpo.num_generations_per_prompt`` times;
2. **rollout**: generate, let the environment score (and, for multi-turn
   environments, answer) up to ``grpo.max_rollout_turns`` times; the environment
   is the one ``data.default.env_name`` names, a trained reward model with
   ``reward_model`` (:func:`grpo_environments`);
   with ``grpo.reward_shaping`` and DAPO's dynamic sampling
   (:mod:`rl_lab.grpo_batch`);
3. compute ``prev_logprobs`` (the trained policy) and reference log-probs, and with
   ``rl_lab.generation_lag_steps`` the ``generation_logprobs`` of the stale policy that
   sampled (:class:`LaggedGenerator`);
4. **advantages**: the estimator ``grpo.adv_estimator.name`` selects, by default
   rewards normalised within each prompt's group (:mod:`rl_lab.advantages`); with
   ``opd`` and an ``on_policy_distillation`` section, each sample's routed teacher's
   log-probs minus the policy's (multi-teacher distillation, :mod:`rl_lab.opd`);
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
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from rl_lab.advantages import AdvantageInputs, compute_advantages
from rl_lab.config import ConfigError, GRPORecipe, LossFnConfig, load_recipe
from rl_lab.data import BatchedDataDict, load_task, message_logs_to_batch, sliding_puzzle_split
from rl_lab.data.messages import Datum  # the defining module: the API pages link the alias
from rl_lab.environments import ENVIRONMENTS, Environment, MathEnvironment, RewardModelEnvironment, make_environment
from rl_lab.generation import compute_logprobs
from rl_lab.grpo_batch import collect_samples, step_prompts
from rl_lab.logger import MetricLogger, TrainResult
from rl_lab.models import load_reward_model
from rl_lab.loop import Loop, MetricAccumulator, mean_over_steps, run
from rl_lab.losses import clipped_pg_loss
from rl_lab.opd import (agent_refs_of, gap_metrics, load_teachers, resolve_reference_aliases, routed_teacher_logprobs,
                        teacher_groups, teacher_routing_metrics)
from rl_lab.policy import Policy, build_policy, optimizer_step, set_seed
from rl_lab.profiles import configure_threads
from rl_lab.rollouts import Rollouts, rollout  # noqa: F401  (importable from here, as before)

LossFn = Callable[..., tuple[torch.Tensor, dict[str, float]]]


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
            optional = {k: micro[k] for k in ("generation_logprobs", "rewards") if k in micro}  # only when set: custom losses
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
                **optional,
            )
            loss.backward()
            totals.add(metrics)
        out.append({**totals.result(), "grad_norm": optimizer_step(policy, max_grad_norm)})
    return out


class LaggedGenerator:
    """The policy that generates: the trained one, or a copy of its weights from ``lag`` steps earlier.

    Asynchronous GRPO in NeMo RL trains on trajectories up to
    ``grpo.async_grpo.max_trajectory_age_steps`` steps old; this is its worst case, every
    step's rollouts ``lag`` steps old (``rl_lab.generation_lag_steps``). Call
    :meth:`for_step` once at the start of each step. Until ``lag`` steps have passed the
    weights the run started (or resumed) with generate.

    Args:
        policy: The trained policy.
        lag: Steps the generating weights trail the trained ones (0: none).

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> policy = build_policy(load_recipe("grpo_math", ["rl_lab.init_checkpoint=null"]))
        >>> LaggedGenerator(policy, 0).for_step() is policy
        True
        >>> lagged = LaggedGenerator(policy, 2)
        >>> first = lagged.for_step().model
        >>> first is not policy.model and not first.training
        True
    """

    def __init__(self, policy: Policy, lag: int) -> None:
        self.policy, self.lag = policy, lag
        self.model = copy.deepcopy(policy.model).eval().requires_grad_(False) if lag else None
        self._states: deque[dict[str, torch.Tensor]] = deque(maxlen=lag + 1)

    def for_step(self) -> Policy:
        """Records the trained weights and returns the policy this step generates with."""
        if not self.lag:
            return self.policy
        self._states.append({k: v.detach().clone() for k, v in self.policy.model.state_dict().items()})
        self.model.load_state_dict(self._states[0])
        return Policy(self.model, self.policy.tokenizer, self.policy.optimizer, self.policy.device)


def grpo_step(policy: Policy, reference: torch.nn.Module, prompts: Sequence[Datum], env: Environment, cfg: GRPORecipe,
              loss_fn: LossFn = clipped_pg_loss, more_prompts: Callable[[int], Sequence[Datum]] | None = None,
              generator: Policy | None = None, teachers: Mapping[str, torch.nn.Module] | None = None) -> dict[str, float]:
    """One GRPO step: rollout (with shaping and dynamic sampling), log-probs, advantages, policy update.

    The advantage estimator is the one ``grpo.adv_estimator.name`` names
    (:data:`rl_lab.advantages.ADV_ESTIMATORS`). With ``loss_fn.positive_example_nll_weight``
    > 0 the loss also gets the rewards; NeMo RL v0.7.0 passes them only in its PPO
    trainer, so there the key acts in PPO alone; rl_lab's GRPO passes them so that it acts.

    Args:
        policy: The policy.
        reference: Frozen reference model for the KL penalty.
        prompts: The first generation batch's datums (``grpo.num_prompts_per_step`` of them,
            times ``grpo.batch_multiplier`` with dynamic sampling).
        env: The environment.
        cfg: The recipe.
        loss_fn: The policy loss.
        more_prompts: Datums of further generation batches (dynamic sampling), by number.
        generator: The policy that samples, when it is not ``policy`` (a stale copy); its
            log-probs reach the loss as ``generation_logprobs``.
        teachers: With ``on_policy_distillation.enabled``: serving alias -> frozen teacher
            (:func:`rl_lab.opd.teacher_groups`); each sample is scored by its own.

    Returns:
        Metrics: ``reward_mean`` (over every generated sample), ``loss``, ``kl_penalty``,
        ``clip_fraction``, ..., plus ``shaped_reward_mean`` with reward shaping and
        ``dynamic_sampling_num_gen_batches`` and ``dynamic_sampling_num_discarded_valid_samples``
        with dynamic sampling; with teachers NeMo RL's ``teacher_student_logprob_gap_mean``,
        ``adv_mean``, ``adv_std`` and routing counts, and the gap per serving alias
        (``teacher_student_logprob_gap_mean/<alias>``).
    """
    n = cfg.grpo.num_generations_per_prompt
    off_policy = generator is not None and generator is not policy
    samples = collect_samples(generator if off_policy else policy, prompts, env, cfg, more_prompts)
    ro = samples.rollouts
    batch = message_logs_to_batch(ro.message_logs, policy.tokenizer.pad_token_id)
    mb = cfg.policy.train_micro_batch_size
    batch["prev_logprobs"] = batched_logprobs(policy.model, batch["input_ids"].to(policy.device), mb).cpu()
    if off_policy:
        batch["generation_logprobs"] = batched_logprobs(generator.model, batch["input_ids"].to(policy.device), mb).cpu()
    batch["reference_policy_logprobs"] = batched_logprobs(reference, batch["input_ids"].to(policy.device), mb).cpu()
    opd = cfg.on_policy_distillation
    distil_metrics: dict[str, float] = {}
    if opd is not None and opd.enabled:
        aliases = resolve_reference_aliases(agent_refs_of(samples.data), opd.teacher_model_by_agent_name,
                                            opd.default_teacher_alias, opd.strict_agent_name_match)
        serving = teacher_groups(opd)
        keys = [serving[a] for a in aliases]
        batch["teacher_logprobs"] = routed_teacher_logprobs(teachers, batch["input_ids"].to(policy.device), keys, mb).cpu()
        distil_metrics = {**gap_metrics(batch["teacher_logprobs"], batch["prev_logprobs"], batch["token_mask"], keys),
                          **teacher_routing_metrics(aliases, opd.teacher_model_by_agent_name)}
    inputs = AdvantageInputs(samples.rewards, samples.group_ids, batch["token_mask"].to(samples.rewards.dtype),
                             ro.reward_components, batch["prev_logprobs"], batch["reference_policy_logprobs"],
                             batch.get("teacher_logprobs"))
    batch["advantages"] = compute_advantages(inputs, cfg.grpo.adv_estimator, cfg.loss_fn, cfg.grpo.normalize_rewards,
                                             cfg.grpo.use_leave_one_out_baseline)
    if distil_metrics and cfg.grpo.adv_estimator.name == "opd":
        valid = batch["advantages"][batch["token_mask"].bool()]
        distil_metrics.update(adv_mean=valid.mean().item(), adv_std=valid.std().item() if valid.numel() > 1 else 0.0)
    if cfg.loss_fn.positive_example_nll_weight > 0:
        batch["rewards"] = samples.rewards
    updates = policy_update(policy, batch, cfg.loss_fn, cfg.policy.train_global_batch_size, mb, cfg.policy.max_grad_norm, loss_fn)
    metrics = mean_over_steps(updates)
    rewards = torch.cat([r.rewards for r in samples.generated])
    groups = torch.cat([r.rewards.view(-1, n) for r in samples.generated])
    metrics.update(
        reward_mean=rewards.mean().item(),
        zero_variance_groups=float((groups.std(-1) == 0).float().mean()) if n > 1 else 1.0,
        mean_turns=sum(ro.turns) / len(ro.turns),
        mean_response_tokens=float(batch["token_mask"].sum(-1).float().mean()),
        **samples.metrics,
        **distil_metrics,
    )
    if cfg.grpo.reward_shaping.enabled:
        metrics["shaped_reward_mean"] = samples.rewards.mean().item()
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


def grpo_environments(cfg: GRPORecipe, reward_model: torch.nn.Module | None = None,
                      tokenizer: Any = None) -> tuple[Environment, Environment]:
    """The environment that scores training rollouts and the one that scores validation.

    ``data.default.env_name`` names the ``env`` sub-section that scores the prompts
    (null: the only one configured), as in NeMo RL. ``reward_model`` selects
    ``env.reward_model``: a :class:`~rl_lab.environments.RewardModelEnvironment` around
    ``reward_model`` (or, when that is None, the model saved at
    ``env.reward_model.checkpoint_path``).

    Validation (rl_lab only): when the rewards come from a reward model and the
    recipe also configures ``env.math``, held-out answers are scored by the
    verifier, so ``val/accuracy`` stays exact-match accuracy, the quantity the
    reward model stands in for. NeMo RL validates with the training environment.

    Args:
        cfg: The recipe.
        reward_model: A trained reward model for ``env.reward_model`` (optional).
        tokenizer: The reward model's tokenizer (default: rl_lab's).

    Returns:
        ``(training environment, validation environment)``.

    Raises:
        ConfigError: If the named environment is not configured, or several are and none is named.

    Examples:
        >>> train_env, val_env = grpo_environments(load_recipe("grpo_math"))
        >>> type(train_env).__name__, train_env is val_env
        ('MathEnvironment', True)
    """
    name = cfg.data.default.env_name if cfg.data.default is not None else None
    if name != "reward_model":  # main's path, untouched: the one rule-based environment of env
        if name is not None and getattr(cfg.env, name, None) is None:
            raise ConfigError(f"data.default.env_name={name!r} but env.{name} is not configured; "
                              f"configure it or name one of {[n for n in ENVIRONMENTS if getattr(cfg.env, n) is not None]}")
        _, env = make_environment(cfg.env) if name is None else (name, ENVIRONMENTS[name]())
        return env, env
    if cfg.env.reward_model is None:
        raise ConfigError("data.default.env_name='reward_model' but env.reward_model is not configured; add the "
                          "env.reward_model section (see the grpo_rm_addition recipe)")
    rm_cfg = cfg.env.reward_model
    if reward_model is None:
        if rm_cfg.checkpoint_path is None:
            raise ConfigError("env.reward_model needs a reward model: pass reward_model= (e.g. train_rm(...).model) "
                              "or set env.reward_model.checkpoint_path to a directory train_rm checkpointed to")
        reward_model = load_reward_model(rm_cfg.checkpoint_path)
    from rl_lab.tokenizer import CharTokenizer

    env = RewardModelEnvironment(reward_model, tokenizer or CharTokenizer(), rm_cfg.batch_size)
    return env, MathEnvironment() if cfg.env.math is not None else env


def train_grpo(
    recipe: GRPORecipe | str = "grpo_math",
    overrides: list[str] | tuple[str, ...] = (),
    model: torch.nn.Module | None = None,
    progress: bool | None = None,
    live_plot: bool | None = None,
    profile: str | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    loss_fn: LossFn = clipped_pg_loss,
    reward_model: torch.nn.Module | None = None,
    teachers: Mapping[str, torch.nn.Module] | None = None,
    train_data: Sequence[Datum] | None = None,
) -> TrainResult:
    """Runs GRPO for a recipe (resuming from ``checkpointing.checkpoint_dir`` if enabled).

    Args:
        recipe: A loaded :class:`rl_lab.config.recipes.GRPORecipe` or a recipe name.
        overrides: ``key=value`` overrides (with a recipe name).
        model: The model to start from (a recipe with ``rl_lab.init_checkpoint`` needs
            one: :func:`rl_lab.run.train` passes it); None builds a fresh one.
        progress: As for :func:`rl_lab.sft.train_sft` (and ``live_plot``, ``profile``, ``callback``).
        loss_fn: Policy loss with :func:`rl_lab.losses.clipped_pg_loss`'s signature.
        reward_model: Reward model for ``env.reward_model`` (see :func:`grpo_environments`).
        teachers: With ``on_policy_distillation.enabled``: model name (a value of
            ``teacher_model_by_agent_name``) -> teacher (:func:`rl_lab.run.train` passes the
            cached checkpoints). Copies are used; the caller's stay as they were.
        train_data: Training prompts instead of the recipe's task (e.g. datums tagged with
            an ``agent_ref`` that routes them to a teacher).

    Returns:
        A :class:`rl_lab.logger.TrainResult` (``final_metrics["accuracy"]``).

    Raises:
        ConfigError: ``grpo.adv_estimator.name=opd`` without an enabled ``on_policy_distillation``.
    """
    cfg = load_recipe(recipe, overrides, profile) if isinstance(recipe, str) else recipe
    configure_threads()
    started = time.perf_counter()
    policy = build_policy(cfg, model, profile)
    set_seed(cfg.grpo.seed)  # after build_policy: a cold model cache (training) must not shift the RNG
    reference = copy.deepcopy(policy.model).eval().requires_grad_(False)
    if cfg.grpo.adv_estimator.name == "opd" and not (cfg.on_policy_distillation and cfg.on_policy_distillation.enabled):
        raise ConfigError("grpo.adv_estimator.name=opd needs teachers: set on_policy_distillation.enabled=true and "
                          "on_policy_distillation.teacher_model_by_agent_name={<agent name>: <checkpoint name>}")
    serving = load_teachers(cfg.on_policy_distillation, teachers, policy.device, policy.tokenizer.vocab_size)
    env, val_env = grpo_environments(cfg, reward_model, policy.tokenizer)
    train, val = grpo_data(cfg)
    train = list(train_data) if train_data is not None else train
    logger = MetricLogger(cfg.logger.log_dir, live=live_plot, live_keys=["train/reward_mean", "val/accuracy"], callback=callback)
    lagged = LaggedGenerator(policy, cfg.rl_lab.generation_lag_steps)

    def train_step(step: int) -> dict[str, float]:
        t0 = time.perf_counter()
        metrics = grpo_step(policy, reference, step_prompts(train, step, 0, cfg), env, cfg, loss_fn,
                            more_prompts=lambda number: step_prompts(train, step, number, cfg),
                            generator=lagged.for_step(), teachers=serving)
        return {**metrics, "step_time_s": time.perf_counter() - t0}

    loop = Loop("grpo", cfg.grpo, cfg.grpo.max_num_steps, train_step, lambda: validate_grpo(policy, val, val_env, cfg),
                "reward_mean", extra_models={"reference": reference, **{f"teacher_{k}": m for k, m in serving.items()}})
    return run(cfg, policy, loop, logger, progress, started)
