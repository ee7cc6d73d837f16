"""Environments behind one contract: ``step(message_log_batch, metadata) -> EnvironmentReturn``.

``EnvironmentReturn`` has the same fields, in the same order, as
``nemo_rl.environments.interfaces.EnvironmentReturn``: ``observations``,
``metadata``, ``next_stop_strings``, ``rewards``, ``terminateds``, ``answers``.
Environments are plain Python objects here (NeMo RL runs them as Ray actors).

* :class:`MathEnvironment` -- single turn; reward 1.0 when the last assistant
  message equals the reference answer exactly (a verifier, not a reward model).
* :class:`SlidingPuzzleEnvironment` -- multi-turn; the model answers each board
  with a move letter, the environment applies it and replies with the new
  board until the puzzle is solved, a move is invalid, or ``max_moves`` is hit.

Examples:
    >>> env = MathEnvironment()
    >>> out = env.step([[{"role": "user", "content": "1+1"}, {"role": "assistant", "content": "2"}]],
    ...                [{"answer": "2"}])
    >>> out.rewards.tolist(), out.terminateds.tolist()
    ([1.0], [True])
"""

from __future__ import annotations

import random
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


# ----------------------------------------------------------------------------
# Sliding puzzle
# ----------------------------------------------------------------------------
# A move letter says where the BLANK goes: U(p), D(own), L(eft), R(ight).
MOVES: dict[str, tuple[int, int]] = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}
INVERSE: dict[str, str] = {"U": "D", "D": "U", "L": "R", "R": "L"}


def solved_board(size: int) -> tuple[int, ...]:
    """The goal board: tiles ``1..size*size-1`` in order, blank (0) last.

    Args:
        size: Side length.

    Returns:
        Flattened board.

    Examples:
        >>> solved_board(2)
        (1, 2, 3, 0)
    """
    return tuple(range(1, size * size)) + (0,)


def legal_moves(board: Sequence[int], size: int) -> list[str]:
    """Move letters that keep the blank on the board.

    Args:
        board: Flattened board.
        size: Side length.

    Returns:
        Legal letters in ``UDLR`` order.

    Examples:
        >>> legal_moves(solved_board(2), 2)
        ['U', 'L']
    """
    r, c = divmod(list(board).index(0), size)
    return [m for m, (dr, dc) in MOVES.items() if 0 <= r + dr < size and 0 <= c + dc < size]


def apply_move(board: Sequence[int], size: int, move: str) -> tuple[int, ...] | None:
    """Slides the blank; returns the new board or None if the move is illegal.

    Args:
        board: Flattened board.
        size: Side length.
        move: One of ``UDLR``.

    Returns:
        The new board, or None.

    Examples:
        >>> apply_move(solved_board(2), 2, "L")
        (1, 2, 0, 3)
    """
    if move not in legal_moves(board, size):
        return None
    blank = list(board).index(0)
    dr, dc = MOVES[move]
    other = blank + dr * size + dc
    new = list(board)
    new[blank], new[other] = new[other], new[blank]
    return tuple(new)


def render_board(board: Sequence[int], size: int) -> str:
    """Board as text: rows joined by ``|``, blank as ``_`` (``"12|3_"``).

    Args:
        board: Flattened board.
        size: Side length.

    Returns:
        The text shown to the model.

    Examples:
        >>> render_board((1, 2, 0, 3), 2)
        '12|_3'
    """
    cells = ["_" if v == 0 else str(v) for v in board]
    return "|".join("".join(cells[r * size : (r + 1) * size]) for r in range(size))


def scramble_board(size: int, shuffle_moves: int, rng: random.Random) -> tuple[int, ...]:
    """Applies ``shuffle_moves`` random legal moves (never undoing the previous one).

    Args:
        size: Side length.
        shuffle_moves: Number of random moves from the solved board.
        rng: Random source.

    Returns:
        A board that is not already solved.

    Examples:
        >>> scramble_board(2, 1, random.Random(0)) != solved_board(2)
        True
    """
    while True:
        board, last = solved_board(size), None
        for _ in range(shuffle_moves):
            options = [m for m in legal_moves(board, size) if last is None or m != INVERSE[last]]
            last = rng.choice(options)
            board = apply_move(board, size, last)
        if board != solved_board(size):
            return board


def parse_move(text: str) -> str | None:
    """First move letter (``UDLR``, any case) in a response, or None.

    Args:
        text: The model's reply.

    Returns:
        The move letter or None.

    Examples:
        >>> parse_move("  l"), parse_move("xyz")
        ('L', None)
    """
    for ch in text.upper():
        if ch in MOVES:
            return ch
    return None


class SlidingPuzzleEnvironment:
    """Multi-turn sliding puzzle: reward 1.0 when the board is solved.

    Metadata per episode: ``{"board": tuple, "size": int, "moves": int, "max_moves": int}``.

    Examples:
        >>> env = SlidingPuzzleEnvironment()
        >>> meta = {"board": (1, 2, 0, 3), "size": 2, "moves": 0, "max_moves": 4}
        >>> env.step([[{"role": "assistant", "content": "R"}]], [meta]).rewards
        tensor([1.])
    """

    def step(self, message_log_batch: Sequence[MessageLog], metadata: Sequence[dict[str, Any]]) -> EnvironmentReturn:
        """Applies each episode's latest move.

        Args:
            message_log_batch: Conversations whose last message is the move.
            metadata: Episode states.

        Returns:
            Next boards as user observations; an episode terminates when solved
            (reward 1), on an invalid move, or after ``max_moves`` moves (reward 0).

        Examples:
            >>> meta = {"board": (1, 2, 0, 3), "size": 2, "moves": 0, "max_moves": 4}
            >>> SlidingPuzzleEnvironment().step([[{"role": "assistant", "content": "?"}]], [meta]).terminateds
            tensor([True])
        """
        observations, new_meta, rewards, done, answers = [], [], [], [], []
        for log, meta in zip(message_log_batch, metadata):
            move = parse_move(last_assistant_text(log))
            board = apply_move(meta["board"], meta["size"], move) if move else None
            answers.append(move)
            if board is None:
                observations.append({"role": "user", "content": "invalid move"})
                new_meta.append(None)
                rewards.append(0.0)
                done.append(True)
                continue
            moves = meta["moves"] + 1
            solved = board == solved_board(meta["size"])
            finished = solved or moves >= meta["max_moves"]
            observations.append({"role": "user", "content": render_board(board, meta["size"])})
            new_meta.append(None if finished else {**meta, "board": board, "moves": moves})
            rewards.append(1.0 if solved else 0.0)
            done.append(finished)
        return EnvironmentReturn(
            observations=observations,
            metadata=new_meta,
            next_stop_strings=[None] * len(rewards),
            rewards=torch.tensor(rewards, dtype=torch.float32),
            terminateds=torch.tensor(done, dtype=torch.bool),
            answers=answers,
        )


ENVIRONMENTS: dict[str, type] = {"math": MathEnvironment, "sliding_puzzle_game": SlidingPuzzleEnvironment}


def make_environment(env_cfg: Any) -> tuple[str, Environment]:
    """Builds the environment named by the recipe's ``env`` section.

    Args:
        env_cfg: :class:`rl_lab.config.EnvConfig` with exactly one sub-section set.

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
