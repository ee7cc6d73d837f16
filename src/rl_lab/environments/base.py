"""The environment contract: ``step(message_log_batch, metadata) -> EnvironmentReturn``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import torch

MessageLog = list[dict[str, Any]]


class EnvironmentReturn(NamedTuple):
    """Batched result of one environment step (field names as in NeMo RL).

    Attributes:
        observations: One message per sample (``role``/``content``) to append
            to the conversation if it continues.
        metadata: Updated per-sample environment state (None once terminated).
        next_stop_strings: Stop strings for the next turn per sample, or None.
        rewards: ``[B]`` float rewards for this turn.
        terminateds: ``[B]`` bool, True when the episode ended this turn.
        answers: The parsed answer per sample (or None).

    Examples:
        >>> r = EnvironmentReturn([], [], [], torch.zeros(0), torch.zeros(0, dtype=torch.bool), None)
        >>> r._fields[:3]
        ('observations', 'metadata', 'next_stop_strings')
    """

    observations: list[dict[str, str]]
    metadata: list[Any]
    next_stop_strings: list[list[str] | None]
    rewards: torch.Tensor
    terminateds: torch.Tensor
    answers: list[str | None] | None


@runtime_checkable
class Environment(Protocol):
    """The environment contract (``nemo_rl.environments.interfaces.EnvironmentInterface``).

    Examples:
        >>> from rl_lab.environments.math import MathEnvironment
        >>> isinstance(MathEnvironment(), Environment)
        True
    """

    def step(self, message_log_batch: Sequence[MessageLog], metadata: Sequence[Any]) -> EnvironmentReturn:
        """Scores the latest assistant turn of every conversation.

        Args:
            message_log_batch: One conversation per sample.
            metadata: One environment state per sample.

        Returns:
            An :class:`EnvironmentReturn`.

        Examples:
            >>> from rl_lab.environments.math import MathEnvironment
            >>> MathEnvironment().step([], []).rewards.numel()
            0
        """
        ...


def last_assistant_text(log: MessageLog) -> str:
    """Content of the last assistant message ('' if there is none).

    Args:
        log: A conversation.

    Returns:
        The text.

    Examples:
        >>> last_assistant_text([{"role": "assistant", "content": "4"}])
        '4'
    """
    for message in reversed(log):
        if message["role"] == "assistant":
            return message["content"]
    return ""
