"""The sliding puzzle: its board rules, the episodes it is played on, and the multi-turn environment.

The model answers each board with a move letter (``U``, ``D``, ``L``, ``R``: the
direction the blank moves); the environment applies it and replies with the new
board until the puzzle is solved, a move is invalid, or ``max_moves`` is hit.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch

from rl_lab.environments.base import EnvironmentReturn, MessageLog, last_assistant_text

Datum = dict[str, Any]


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


def sliding_puzzle_datum(size: int, shuffle_moves: int, max_moves: int, rng: random.Random) -> Datum:
    """A scrambled board as the first user turn, with the episode state as metadata.

    Args:
        size: Board side (``env.sliding_puzzle_game.cfg.game_config.size``).
        shuffle_moves: Random moves applied to the solved board.
        max_moves: Move budget (``env.sliding_puzzle_game.cfg.max_moves``).
        rng: Random source.

    Returns:
        A datum with ``messages`` and ``metadata`` (board, size, moves, max_moves).

    Examples:
        >>> d = sliding_puzzle_datum(2, 1, 4, random.Random(0))
        >>> d["metadata"]["moves"], "|" in d["messages"][0]["content"]
        (0, True)
    """
    board = scramble_board(size, shuffle_moves, rng)
    return {
        "messages": [{"role": "user", "content": render_board(board, size)}],
        "metadata": {"board": board, "size": size, "moves": 0, "max_moves": max_moves},
        "task": "sliding_puzzle",
    }


def sliding_puzzle_split(
    size: int, shuffle_moves: int, max_moves: int, train_size: int, val_size: int, seed: int
) -> tuple[list[Datum], list[Datum]]:
    """Train and validation episodes for the sliding-puzzle environment.

    Args:
        size: Board side.
        shuffle_moves: Scrambling moves.
        max_moves: Move budget per episode.
        train_size: Training episodes.
        val_size: Validation episodes (a separate random stream).
        seed: Seed.

    Returns:
        ``(train, val)`` datums.

    Examples:
        >>> tr, va = sliding_puzzle_split(2, 2, 4, 8, 4, seed=0)
        >>> len(tr), len(va)
        (8, 4)
    """
    rng_train, rng_val = random.Random(seed), random.Random(seed + 1)
    return (
        [sliding_puzzle_datum(size, shuffle_moves, max_moves, rng_train) for _ in range(train_size)],
        [sliding_puzzle_datum(size, shuffle_moves, max_moves, rng_val) for _ in range(val_size)],
    )


def puzzle_moves_datum(size: int, shuffle_moves: int, max_turns: int, rng: random.Random) -> Datum:
    """A short random walk on a board: teaches the *format* (one legal move letter per turn).

    Used to SFT a starting policy for sliding-puzzle GRPO; the moves are
    random, so the policy learns to play legally, not to solve.

    Args:
        size: Board side.
        shuffle_moves: Scrambling moves for the start board.
        max_turns: Longest walk (1..max_turns assistant turns).
        rng: Random source.

    Returns:
        A datum whose ``messages`` alternate user boards and assistant moves,
        whose ``answer`` is the final move and whose ``legal_moves`` are every
        legal reply to the last board (what ``legal_move_rate`` checks).

    Examples:
        >>> d = puzzle_moves_datum(2, 1, 3, random.Random(0))
        >>> d["answer"] in "UDLR", d["messages"][-1]["role"]
        (True, 'user')
    """
    board = scramble_board(size, shuffle_moves, rng)
    messages: list[dict[str, str]] = []
    turns = rng.randint(1, max_turns)
    for t in range(turns):
        messages.append({"role": "user", "content": render_board(board, size)})
        move = rng.choice(legal_moves(board, size))
        if t < turns - 1:
            messages.append({"role": "assistant", "content": move})
            board = apply_move(board, size, move)
    return {"messages": messages, "answer": move, "legal_moves": legal_moves(board, size), "task": "puzzle_moves"}
