"""One GRPO step's training samples: generation batches, reward shaping, dynamic sampling and groups.

:func:`collect_samples` plays one generation batch (``grpo.use_dynamic_sampling``
off), or as many as DAPO's dynamic sampling needs to fill the step with samples
whose prompt group's rewards differ. It returns the samples to train on, their
(shaped) rewards and the advantage group of each.

Groups (``rl_lab.advantage_groups``): ``datum`` puts the generations of one datum
of one generation batch together, which is NeMo RL's grouping whenever a step's
prompts are distinct; ``prompt`` is NeMo RL's rule itself, identical prompt tokens
share a group wherever they sit (a prompt drawn twice in one step makes one
group). ``datum`` is the default so that earlier runs reproduce exactly: the
sliding-puzzle task draws the same small boards many times a step.

With dynamic sampling, generation batch ``j`` of step ``s`` holds
``int(num_prompts_per_step * batch_multiplier)`` prompts, data batch
``s * (dynamic_sampling_max_gen_batches + 1) + j``: a pure function of the step,
so a resumed run sees the same prompts without a saved sampler. NeMo RL's data
loader instead continues where it stopped; the prompts differ, the algorithm not.

NeMo RL counterpart: the generation and dynamic-sampling part of ``grpo_train``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from rl_lab.advantages import grouped_baseline_and_std, positional_group_ids, prompt_group_ids
from rl_lab.config import GRPORecipe
from rl_lab.dapo import DynamicSamplingBuffer, apply_reward_shaping, nonzero_std_groups
from rl_lab.data import build_message_log, flatten_message_log, right_pad
from rl_lab.data.messages import Datum  # the defining module: the API pages link the alias
from rl_lab.environments import Environment
from rl_lab.policy import Policy
from rl_lab.rollouts import Rollouts, rollout
from rl_lab.sft import batch_indices


@dataclass
class StepSamples:
    """The samples one GRPO step trains on.

    Attributes:
        rollouts: The kept episodes (``rewards`` unshaped).
        rewards: ``[B]`` rewards after ``grpo.reward_shaping``, the ones advantages use.
        group_ids: ``[B]`` advantage group of each sample.
        generated: Every generation batch's episodes (for reward metrics).
        metrics: Dynamic sampling's counts (empty without it).
        data: The datum of every kept sample (its ``agent_ref`` routes it to a teacher).

    Examples:
        >>> StepSamples(Rollouts([], torch.zeros(0), []), torch.zeros(0), torch.zeros(0), [], {}).metrics
        {}
    """

    rollouts: Rollouts
    rewards: torch.Tensor
    group_ids: torch.Tensor
    generated: list[Rollouts]
    metrics: dict[str, float]
    data: list[Datum] = field(default_factory=list)


def _prompt_tokens(data: Sequence[Datum], policy: Policy) -> torch.Tensor:
    prompts = [flatten_message_log(build_message_log(d["messages"], policy.tokenizer))[0] for d in data]
    return right_pad(prompts, policy.tokenizer.pad_token_id)


def _response_length(log: list) -> int:
    return next(len(m["token_ids"]) for m in log if m["role"] == "assistant")


def _generation_batch(policy: Policy, prompts: Sequence[Datum], env: Environment, cfg: GRPORecipe, number: int):
    n = cfg.grpo.num_generations_per_prompt
    repeated = [d for d in prompts for _ in range(n)]
    ro = rollout(policy, repeated, env, cfg.policy.generation, cfg.grpo.max_rollout_turns, cfg.policy.max_total_sequence_length)
    shaped = apply_reward_shaping(ro.rewards, [_response_length(log) for log in ro.message_logs], ro.truncated,
                                  cfg.grpo.reward_shaping, cfg.policy.max_total_sequence_length)
    datum_ids = positional_group_ids(len(repeated), n) + number * len(prompts)
    return repeated, ro, shaped, datum_ids


def _select(batches: list, picked: list[tuple[int, int]]) -> tuple[list[Datum], Rollouts, torch.Tensor, torch.Tensor]:
    """The picked ``(generation batch, index)`` samples, concatenated in order."""
    data = [batches[j][0][i] for j, i in picked]
    ros = [batches[j][1] for j, i in picked]
    components = None if ros[0].reward_components is None else torch.stack([r.reward_components[i] for r, (_, i) in zip(ros, picked)])
    ro = Rollouts([r.message_logs[i] for r, (_, i) in zip(ros, picked)],
                  torch.stack([r.rewards[i] for r, (_, i) in zip(ros, picked)]),
                  [r.turns[i] for r, (_, i) in zip(ros, picked)], [r.truncated[i] for r, (_, i) in zip(ros, picked)],
                  components)
    shaped = torch.stack([batches[j][2][i] for j, i in picked])
    ids = torch.stack([batches[j][3][i] for j, i in picked])
    return data, ro, shaped, ids


def collect_samples(policy: Policy, prompts: Sequence[Datum], env: Environment, cfg: GRPORecipe,
                    more_prompts: Callable[[int], Sequence[Datum]] | None = None) -> StepSamples:
    """Generates, shapes and (with dynamic sampling) filters one step's samples.

    Dynamic sampling keeps the samples whose group std is not 0, computed as NeMo RL
    does: on the unshaped rewards and with ``grpo.use_leave_one_out_baseline`` (so with
    a leave-one-out baseline a group's single dissenting sample has std 0 and is dropped;
    NeMo RL's DAPO recipes set it false).

    Args:
        policy: The sampling policy.
        prompts: The first generation batch's datums.
        env: The environment.
        cfg: The recipe.
        more_prompts: Datums of generation batch ``j >= 1`` (dynamic sampling only).

    Returns:
        A :class:`StepSamples`.

    Raises:
        RuntimeError: Dynamic sampling ran out of ``grpo.dynamic_sampling_max_gen_batches``.
        ValueError: Dynamic sampling needs another batch but ``more_prompts`` is None.
    """
    g = cfg.grpo
    by_prompt = cfg.rl_lab.advantage_groups == "prompt"
    if not g.use_dynamic_sampling:
        data, ro, shaped, ids = _generation_batch(policy, prompts, env, cfg, 0)
        generated, metrics = [ro], {}
    else:
        buffer = DynamicSamplingBuffer(g.num_prompts_per_step * g.num_generations_per_prompt, g.dynamic_sampling_max_gen_batches)
        batches: list = []
        while not buffer.full:
            j = len(batches)
            if j and more_prompts is None:
                raise ValueError("dynamic sampling needs another generation batch: pass more_prompts")
            batch = _generation_batch(policy, prompts if j == 0 else more_prompts(j), env, cfg, j)
            batches.append(batch)
            filter_ids = prompt_group_ids(_prompt_tokens(batch[0], policy)) if by_prompt else batch[3]
            std = grouped_baseline_and_std(batch[1].rewards, filter_ids, g.use_leave_one_out_baseline)[1]
            buffer.add(j, nonzero_std_groups(std))
        data, ro, shaped, ids = _select(batches, buffer.take())
        generated = [b[1] for b in batches]
        metrics = {"dynamic_sampling_num_gen_batches": float(buffer.gen_batches),
                   "dynamic_sampling_num_discarded_valid_samples": float(buffer.discarded)}
    if by_prompt:
        ids = prompt_group_ids(_prompt_tokens(data, policy))
    return StepSamples(ro, shaped, ids, generated, metrics, list(data))


def step_prompts(train: Sequence[Datum], step: int, number: int, cfg: GRPORecipe) -> list[Datum]:
    """The datums of generation batch ``number`` of ``step`` (see the module docstring).

    Args:
        train: Training datums.
        step: Training step (0-based).
        number: Generation batch within the step (0 without dynamic sampling).
        cfg: The recipe.

    Returns:
        The datums.

    Examples:
        >>> from rl_lab.config import load_recipe
        >>> cfg = load_recipe("grpo_math", ["grpo.num_prompts_per_step=2"])
        >>> len(step_prompts(list(range(10)), 0, 0, cfg))
        2
    """
    g = cfg.grpo
    if not g.use_dynamic_sampling:
        idx = batch_indices(step, g.num_prompts_per_step, len(train), g.seed, cfg.data.shuffle)
    else:
        idx = batch_indices(step * (g.dynamic_sampling_max_gen_batches + 1) + number,
                            int(g.num_prompts_per_step * g.batch_multiplier), len(train), g.seed, cfg.data.shuffle)
    return [train[i] for i in idx.tolist()]
