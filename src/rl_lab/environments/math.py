"""The math verifier: reward 1.0 when the last assistant message equals the reference answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from rl_lab.environments.base import EnvironmentReturn, MessageLog, last_assistant_text


class MathEnvironment:
    """Single-turn verifier: reward 1.0 for an exact answer, else 0.0.

    Examples:
        >>> MathEnvironment().step([[{"role": "assistant", "content": " 7 "}]], [{"answer": "7"}]).rewards
        tensor([1.])
    """

    def step(self, message_log_batch: Sequence[MessageLog], metadata: Sequence[dict[str, Any]]) -> EnvironmentReturn:
        """Verifies the answer in each conversation's last assistant message.

        Args:
            message_log_batch: Conversations ending with the model's answer.
            metadata: Dicts with the reference ``answer``.

        Returns:
            Rewards in {0, 1}; every episode terminates.

        Examples:
            >>> MathEnvironment().step([[{"role": "assistant", "content": "5"}]], [{"answer": "6"}]).rewards
            tensor([0.])
        """
        answers = [last_assistant_text(log).strip() for log in message_log_batch]
        correct = [a == m["answer"].strip() for a, m in zip(answers, metadata)]
        return EnvironmentReturn(
            observations=[{"role": "environment", "content": "correct" if c else "wrong"} for c in correct],
            metadata=list(metadata),
            next_stop_strings=[None] * len(answers),
            rewards=torch.tensor(correct, dtype=torch.float32),
            terminateds=torch.ones(len(answers), dtype=torch.bool),
            answers=answers,
        )
