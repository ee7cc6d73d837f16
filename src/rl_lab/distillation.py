"""On-policy distillation: the student samples, a frozen teacher scores every token, the student moves toward it.

One step (compare ``nemo_rl.algorithms.distillation.distillation_train``):

1. take ``distillation.num_prompts_per_step`` prompts and repeat each
   ``distillation.num_generations_per_prompt`` times;
2. **rollout**: the student answers (``policy.generation``) and the environment scores the
   answers; the reward is logged (``reward_mean``), not trained on;
3. **teacher top-k**: the frozen teacher reads the student's sequences and keeps, at every
   position, its ``distillation.topk_logits_k`` largest logits and their token ids;
4. **train**: split the samples into ``policy.train_global_batch_size`` chunks, one optimizer
   step each, with :func:`rl_lab.losses.distillation_loss` on the response tokens
   (``loss_fn.kl_type``: forward, reverse or mixed KL).

Because the sequences are the student's own, the student learns what the teacher would do
in the situations the student actually gets itself into, including after its own mistakes.
Validation samples answers to held-out prompts like NeMo RL's (``accuracy``; ``greedy_accuracy``
decodes greedily) and measures the exact forward and reverse KL over the whole vocabulary on
those answers (``forward_kl``, ``reverse_kl``; rl_lab-only).

Examples:
    >>> from rl_lab.models import build_model
    >>> from rl_lab.tokenizer import CharTokenizer
    >>> cfg = load_recipe("distillation_math", ["distillation.max_num_steps=1", "distillation.num_prompts_per_step=4",
    ...     "policy.train_global_batch_size=4", "policy.train_micro_batch_size=2", "rl_lab.init_checkpoint=null",
    ...     "distillation.val_at_start=false", "distillation.val_at_end=false", "logger.log_dir=null"], profile="smoke")
    >>> teacher = build_model(cfg.rl_lab.model, CharTokenizer().vocab_size)
    >>> result = train_distillation(cfg, teacher=teacher, progress=False)
    >>> len(result.metric("train/loss")), result.history[0]["train/num_valid_samples"]
    (1, 4.0)
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from rl_lab.config import ConfigError, DistillationLossConfig, DistillationRecipe, load_recipe
from rl_lab.data import BatchedDataDict, load_task, message_logs_to_batch
from rl_lab.data.messages import Datum  # the defining module: the API pages link the alias
from rl_lab.environments import Environment, make_environment
from rl_lab.logger import MetricLogger, TrainResult
from rl_lab.loop import Loop, MetricAccumulator, mean_over_steps, run
from rl_lab.losses import distillation_loss, per_token_kl, topk_logprobs
from rl_lab.policy import Policy, build_policy, optimizer_step, set_seed
from rl_lab.profiles import configure_threads
from rl_lab.rollouts import rollout
from rl_lab.sft import batch_indices


def token_logits(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """Token-aligned logits: ``[b, t]`` are the logits that predict token ``t`` (column 0 is 0).

    Args:
        model: A causal LM.
        input_ids: ``[B, T]`` right-padded ids.

    Returns:
        ``[B, T, V]`` float32 logits (with the graph when grad is enabled).

    Examples:
        >>> from rl_lab.config import ModelSizeConfig
        >>> from rl_lab.models import build_model
        >>> out = token_logits(build_model(ModelSizeConfig(hidden_size=32, num_layers=1), 20), torch.tensor([[1, 2, 3]]))
        >>> out.shape, bool(out[0, 0].eq(0).all())
        (torch.Size([1, 3, 20]), True)
    """
    logits = model(input_ids=input_ids, use_cache=False).logits[:, :-1].float()
    return torch.cat([torch.zeros_like(logits[:, :1]), logits], dim=1)


@torch.no_grad()
def teacher_topk(teacher: torch.nn.Module, input_ids: torch.Tensor, k: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's ``k`` largest token-aligned logits and their ids, in batches (NeMo RL's ``get_topk_logits``).

    Args:
        teacher: The frozen teacher.
        input_ids: ``[B, T]`` the student's sequences.
        k: ``distillation.topk_logits_k``.
        batch_size: Rows per forward pass (``teacher.logprob_batch_size``).

    Returns:
        ``(topk_logits [B, T, k], topk_indices [B, T, k])``.

    Raises:
        ConfigError: If ``k`` exceeds the vocabulary.

    Examples:
        >>> from rl_lab.config import ModelSizeConfig
        >>> from rl_lab.models import build_model
        >>> values, ids = teacher_topk(build_model(ModelSizeConfig(hidden_size=32, num_layers=1), 20), torch.tensor([[1, 2, 3]]), 4, 8)
        >>> values.shape, bool((values[..., :-1] >= values[..., 1:]).all())  # largest first
        (torch.Size([1, 3, 4]), True)
    """
    values, indices = [], []
    for start in range(0, len(input_ids), batch_size):
        logits = token_logits(teacher, input_ids[start : start + batch_size])
        if k > logits.shape[-1]:
            raise ConfigError(f"distillation.topk_logits_k={k} exceeds the vocabulary ({logits.shape[-1]} tokens); "
                              f"set distillation.topk_logits_k<={logits.shape[-1]}")
        top = logits.topk(k, dim=-1)
        values.append(top.values)
        indices.append(top.indices)
    return torch.cat(values), torch.cat(indices)


def distillation_update(policy: Policy, batch: BatchedDataDict, loss_cfg: DistillationLossConfig, global_batch_size: int,
                        micro_batch_size: int, max_grad_norm: float | None) -> list[dict[str, float]]:
    """Optimizer steps over the student's samples, one per global batch.

    Args:
        policy: The student.
        batch: ``input_ids``, ``token_mask``, ``sample_mask`` and the teacher's
            ``teacher_topk_logits`` / ``teacher_topk_indices``.
        loss_cfg: The ``loss_fn`` section.
        global_batch_size: Samples per optimizer step.
        micro_batch_size: Samples per forward/backward pass.
        max_grad_norm: Gradient clipping threshold.

    Every micro-batch divides by the global batch's count of trained tokens, so the
    micro-batch losses and metrics add up to the global-batch mean.

    Returns:
        One metrics dict per optimizer step: ``loss``, ``num_valid_samples``, ``global_valid_seqs``,
        ``global_valid_toks`` and ``grad_norm``.
    """
    needs_entropy = loss_cfg.zero_outside_topk and loss_cfg.kl_type != "forward"
    out = []
    for chunk in batch.shard_by_batch_size(global_batch_size):
        toks = (chunk["token_mask"] * chunk["sample_mask"][:, None]).sum()
        totals = MetricAccumulator()
        for micro in chunk.shard_by_batch_size(micro_batch_size):
            micro = micro.to(policy.device)
            student, teacher, neg_entropy = topk_logprobs(
                token_logits(policy.model, micro["input_ids"]), micro["teacher_topk_logits"], micro["teacher_topk_indices"],
                loss_cfg.zero_outside_topk, calculate_entropy=needs_entropy)
            loss, metrics = distillation_loss(student, teacher, micro["token_mask"], loss_cfg, neg_entropy=neg_entropy,
                                              sample_mask=micro["sample_mask"], global_valid_toks=toks)
            loss.backward()
            totals.add(metrics)
        seqs = chunk["sample_mask"].sum().item()
        out.append({**totals.result(), "global_valid_seqs": seqs, "global_valid_toks": toks.item(),
                    "grad_norm": optimizer_step(policy, max_grad_norm)})
    return out


def distillation_step(policy: Policy, teacher: torch.nn.Module, prompts: Sequence[Datum], env: Environment,
                      cfg: DistillationRecipe) -> dict[str, float]:
    """One step: the student samples, the teacher gives its top-k logits, the student is updated.

    Args:
        policy: The student.
        teacher: The frozen teacher (same tokenizer).
        prompts: ``distillation.num_prompts_per_step`` datums.
        env: Scores the answers (logged as ``reward_mean`` only).
        cfg: The recipe.

    Returns:
        The update's metrics plus NeMo RL's ``mean_gen_tokens_per_sample``, ``mean_prompt_length``
        and ``total_num_tokens``, and ``reward_mean``.
    """
    d = cfg.distillation
    data = [p for p in prompts for _ in range(d.num_generations_per_prompt)]
    ro = rollout(policy, data, env, cfg.policy.generation, d.max_rollout_turns, cfg.policy.max_total_sequence_length)
    batch = message_logs_to_batch(ro.message_logs, policy.tokenizer.pad_token_id)
    batch["sample_mask"] = torch.ones(batch.size)
    rows = cfg.teacher.logprob_batch_size or cfg.policy.train_micro_batch_size
    values, indices = teacher_topk(teacher, batch["input_ids"].to(policy.device), d.topk_logits_k, rows)
    batch["teacher_topk_logits"], batch["teacher_topk_indices"] = values.cpu(), indices.cpu()
    updates = distillation_update(policy, batch, cfg.loss_fn, cfg.policy.train_global_batch_size,
                                  cfg.policy.train_micro_batch_size, cfg.policy.max_grad_norm)
    metrics = mean_over_steps(updates)
    generated = batch["token_mask"].sum(-1).float()
    metrics.update(
        reward_mean=ro.rewards.mean().item(),
        mean_gen_tokens_per_sample=generated.mean().item(),
        mean_prompt_length=(batch["input_lengths"].float() - generated).mean().item(),
        total_num_tokens=float(batch["input_lengths"].sum()),
    )
    return metrics


@torch.no_grad()
def kl_to_teacher(student: torch.nn.Module, teacher: torch.nn.Module, batch: BatchedDataDict) -> dict[str, float]:
    """Exact forward and reverse KL over the whole vocabulary, per response token of a batch.

    Args:
        student: The student.
        teacher: The teacher.
        batch: ``input_ids`` and ``token_mask`` (on the models' device).

    Returns:
        ``{"forward_kl", "reverse_kl"}``: KL(teacher || student) and KL(student || teacher).
    """
    s = F.log_softmax(token_logits(student, batch["input_ids"]), -1)
    t = F.log_softmax(token_logits(teacher, batch["input_ids"]), -1)
    out = {}
    for name, kind in (("forward_kl", "forward"), ("reverse_kl", "reverse")):
        out[name] = distillation_loss(s, t, batch["token_mask"], DistillationLossConfig(kind))[0].item()
    return out


def validate_distillation(policy: Policy, teacher: torch.nn.Module, val: Sequence[Datum], env: Environment,
                          cfg: DistillationRecipe) -> dict[str, float]:
    """Held-out accuracy of the student (sampled like NeMo RL, and greedy) and its KL to the teacher.

    Args:
        policy: The student.
        teacher: The teacher.
        val: Held-out datums (at most ``distillation.max_val_samples``, in ``distillation.val_batch_size`` batches).
        env: The environment.
        cfg: The recipe.

    Returns:
        NeMo RL's ``accuracy`` (mean reward of sampled answers) and ``avg_length`` (response tokens),
        plus ``greedy_accuracy``, ``forward_kl`` and ``reverse_kl`` (on the sampled answers).

    Examples:
        >>> from rl_lab.environments import MathEnvironment
        >>> cfg = load_recipe("distillation_math", ["rl_lab.init_checkpoint=null", "distillation.max_val_samples=3"], profile="smoke")
        >>> policy = build_policy(cfg)
        >>> scores = validate_distillation(policy, policy.model, load_task(cfg.rl_lab.task)[1], MathEnvironment(), cfg)
        >>> sorted(scores), scores["reverse_kl"] < 1e-6  # a model is at KL 0 from itself
        (['accuracy', 'avg_length', 'forward_kl', 'greedy_accuracy', 'reverse_kl'], True)
    """
    d, gen, length = cfg.distillation, cfg.policy.generation, cfg.policy.max_total_sequence_length
    val = list(val)[: d.max_val_samples]
    sums = dict.fromkeys(("accuracy", "avg_length", "greedy_accuracy", "forward_kl", "reverse_kl"), 0.0)
    for start in range(0, len(val), d.val_batch_size):
        part = val[start : start + d.val_batch_size]
        sampled = rollout(policy, part, env, gen, d.max_rollout_turns, length)
        greedy = rollout(policy, part, env, gen, d.max_rollout_turns, length, greedy=True)
        batch = message_logs_to_batch(sampled.message_logs, policy.tokenizer.pad_token_id).to(policy.device)
        kls = kl_to_teacher(policy.model, teacher, batch)
        sums["accuracy"] += sampled.rewards.clamp(max=1.0).sum().item()
        sums["greedy_accuracy"] += greedy.rewards.clamp(max=1.0).sum().item()
        sums["avg_length"] += batch["token_mask"].sum().item()
        for key, value in kls.items():
            sums[key] += value * len(part)
    return {key: value / len(val) for key, value in sums.items()}


def train_distillation(
    recipe: DistillationRecipe | str = "distillation_math",
    overrides: list[str] | tuple[str, ...] = (),
    model: torch.nn.Module | None = None,
    teacher: torch.nn.Module | None = None,
    progress: bool | None = None,
    live_plot: bool | None = None,
    profile: str | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Runs on-policy distillation for a recipe (resuming from ``checkpointing.checkpoint_dir`` if enabled).

    Args:
        recipe: A loaded :class:`rl_lab.config.recipes.DistillationRecipe` or a recipe name.
        overrides: ``key=value`` overrides (with a recipe name).
        model: The student to start from (a recipe with ``rl_lab.init_checkpoint`` needs one).
        teacher: The frozen teacher (:func:`rl_lab.run.train` passes the checkpoint
            ``rl_lab.teacher_checkpoint`` names); it is not changed.
        progress: As for :func:`rl_lab.sft.train_sft` (and ``live_plot``, ``profile``, ``callback``).

    Returns:
        A :class:`rl_lab.logger.TrainResult` (``final_metrics["accuracy"]``, ``["reverse_kl"]`` ...).

    Raises:
        ConfigError: No teacher was passed, or its vocabulary differs from the student's.
    """
    cfg = load_recipe(recipe, overrides, profile) if isinstance(recipe, str) else recipe
    if teacher is None:
        name = cfg.rl_lab.teacher_checkpoint
        raise ConfigError(f"distillation needs a teacher: pass teacher=get_checkpoint({name!r}) (rl_lab.model_cache) "
                          f"or train with rl_lab.run.train(...), which fetches rl_lab.teacher_checkpoint"
                          if name else "distillation needs a teacher: pass teacher=<model> or set rl_lab.teacher_checkpoint")
    configure_threads()
    started = time.perf_counter()
    policy = build_policy(cfg, model, profile)
    set_seed(cfg.distillation.seed)  # after build_policy: a cold model cache (training) must not shift the RNG
    teacher = copy.deepcopy(teacher).to(policy.device).eval().requires_grad_(False)  # the caller's stays as it was
    vocab = teacher.get_output_embeddings().weight.shape[0]
    if vocab != policy.tokenizer.vocab_size:
        raise ConfigError(f"teacher and student must share a tokenizer (teacher.tokenizer.name={cfg.teacher.tokenizer.name!r}): "
                          f"the teacher has {vocab} output tokens, the student's tokenizer {policy.tokenizer.vocab_size}")
    _, env = make_environment(cfg.env)
    train, val = load_task(cfg.rl_lab.task)
    d = cfg.distillation
    logger = MetricLogger(cfg.logger.log_dir, live=live_plot, live_keys=["train/loss", "val/accuracy"], callback=callback)

    def train_step(step: int) -> dict[str, float]:
        t0 = time.perf_counter()
        idx = batch_indices(step, d.num_prompts_per_step, len(train), d.seed, cfg.data.shuffle)
        metrics = distillation_step(policy, teacher, [train[i] for i in idx.tolist()], env, cfg)
        return {**metrics, "step_time_s": time.perf_counter() - t0}

    max_steps = min(d.max_num_steps, d.max_num_epochs * len(train) // d.num_prompts_per_step)
    loop = Loop("distillation", d, max_steps, train_step, lambda: validate_distillation(policy, teacher, val, env, cfg),
                "loss", extra_models={"teacher": teacher})
    return run(cfg, policy, loop, logger, progress, started)
