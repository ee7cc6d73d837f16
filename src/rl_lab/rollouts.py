"""Rollouts: play each datum's episode with the policy and an environment (one or more turns).

NeMo RL counterpart: ``nemo_rl.experience.rollouts.run_multi_turn_rollout``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from rl_lab.data import build_message_log, flatten_message_log
from rl_lab.data.messages import Datum  # the defining module: the API pages link the alias
from rl_lab.environments import Environment
from rl_lab.generation import generate
from rl_lab.policy import Policy


@dataclass
class Rollouts:
    """Finished episodes of one rollout.

    Attributes:
        message_logs: One conversation per sample (prompt, replies, observations).
        rewards: ``[B]`` total reward per episode.
        turns: Assistant turns taken per episode.
        truncated: Per episode, whether an answer ran out of ``max_new_tokens`` or the
            episode out of ``max_total_sequence_length`` (NeMo RL's ``truncated``).
        reward_components: ``[B, K]`` summed per-component rewards when the environment
            returns ``[B, K]`` rewards (then ``rewards`` is their sum), else None.

    Examples:
        >>> Rollouts([], torch.zeros(0), []).rewards.numel()
        0
    """

    message_logs: list[list[dict[str, Any]]]
    rewards: torch.Tensor
    turns: list[int]
    truncated: list[bool] = field(default_factory=list)
    reward_components: torch.Tensor | None = None


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
        >>> from rl_lab.config import load_recipe
        >>> from rl_lab.data import load_task
        >>> from rl_lab.policy import build_policy
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
    truncated = [False] * len(data)
    components: torch.Tensor | None = None
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
            truncated[i] = truncated[i] or not out.stopped[j]
        result = env.step([logs[i] for i in active], [meta[i] for i in active])
        still_active = []
        if result.rewards.ndim == 2 and components is None:
            components = torch.zeros(len(data), result.rewards.shape[1])
        for j, i in enumerate(active):
            if components is not None:
                components[i] += result.rewards[j]
            rewards[i] += result.rewards[j].sum() if result.rewards.ndim == 2 else result.rewards[j]
            meta[i] = result.metadata[j]
            if bool(result.terminateds[j]):
                continue
            observation = build_message_log([result.observations[j]], tok)[0]
            logs[i].append(observation)
            if sum(len(m["token_ids"]) for m in logs[i]) + generation.max_new_tokens <= max_total_sequence_length:
                still_active.append(i)
            else:
                truncated[i] = True
        active = still_active
    return Rollouts(logs, rewards, turns, truncated, components)
