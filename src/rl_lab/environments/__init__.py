"""Environments behind one contract: ``step(message_log_batch, metadata) -> EnvironmentReturn``.

``EnvironmentReturn`` has the same fields, in the same order, as
``nemo_rl.environments.interfaces.EnvironmentReturn``: ``observations``,
``metadata``, ``next_stop_strings``, ``rewards``, ``terminateds``, ``answers``.
Environments are plain Python objects here (NeMo RL runs them as Ray actors).

* :class:`~rl_lab.environments.math.MathEnvironment` -- single turn; reward 1.0 when the last assistant
  message equals the reference answer exactly (a verifier, not a reward model).
* :class:`~rl_lab.environments.sliding_puzzle.SlidingPuzzleEnvironment` -- multi-turn; the model answers each board
  with a move letter, the environment applies it and replies with the new
  board until the puzzle is solved, a move is invalid, or ``max_moves`` is hit.
* :class:`~rl_lab.environments.reward_model.RewardModelEnvironment` -- single turn; the reward is
  a trained reward model's score of the conversation (RLHF's reward, not a verifier).

Examples:
    >>> env = MathEnvironment()
    >>> out = env.step([[{"role": "user", "content": "1+1"}, {"role": "assistant", "content": "2"}]],
    ...                [{"answer": "2"}])
    >>> out.rewards.tolist(), out.terminateds.tolist()
    ([1.0], [True])

Modules: :mod:`rl_lab.environments.base` (the contract), :mod:`rl_lab.environments.math`
and :mod:`rl_lab.environments.sliding_puzzle` (its board rules and episodes too),
:mod:`rl_lab.environments.reward_model`; :func:`make_environment` picks one of the first two
from a recipe's ``env`` section (a reward-model environment needs its model:
:func:`rl_lab.grpo.grpo_environments`).
"""

from __future__ import annotations

from typing import Any

from rl_lab.environments.base import Environment, EnvironmentReturn, MessageLog, last_assistant_text
from rl_lab.environments.math import MathEnvironment
from rl_lab.environments.reward_model import RewardModelEnvironment, sequence_scores
from rl_lab.environments.sliding_puzzle import (
    INVERSE,
    MOVES,
    SlidingPuzzleEnvironment,
    apply_move,
    legal_moves,
    parse_move,
    render_board,
    scramble_board,
    solved_board,
)

__all__ = [
    "ENVIRONMENTS", "Environment", "EnvironmentReturn", "INVERSE", "MOVES", "MathEnvironment", "MessageLog",
    "SlidingPuzzleEnvironment", "apply_move", "last_assistant_text", "legal_moves", "make_environment", "parse_move",
    "render_board", "scramble_board", "solved_board", "RewardModelEnvironment", "sequence_scores",
]

ENVIRONMENTS: dict[str, type] = {"math": MathEnvironment, "sliding_puzzle_game": SlidingPuzzleEnvironment}


def make_environment(env_cfg: Any) -> tuple[str, Environment]:
    """Builds the environment named by the recipe's ``env`` section.

    Args:
        env_cfg: :class:`rl_lab.config.sections.EnvConfig` with exactly one sub-section set.

    Returns:
        ``(name, environment)``.

    Raises:
        ValueError: If no (or more than one) environment is configured.

    Examples:
        >>> from rl_lab.config import EnvConfig, MathEnvConfig
        >>> make_environment(EnvConfig(math=MathEnvConfig()))[0]
        'math'
    """
    names = [name for name in ENVIRONMENTS if getattr(env_cfg, name, None) is not None]
    if len(names) != 1:
        raise ValueError(f"configure exactly one of env.{list(ENVIRONMENTS)}; got {names}")
    return names[0], ENVIRONMENTS[names[0]]()
