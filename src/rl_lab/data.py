"""Synthetic verifiable tasks, message logs, padding, packing and ``BatchedDataDict``.

Everything here mirrors a NeMo RL data structure in miniature:

* a *datum* is a dict with ``messages`` (the prompt conversation), ``answer``
  (the exact verifiable answer) and ``task``;
* a *message log* is a list of message dicts, each carrying its own
  ``token_ids`` and ``token_loss_mask`` (1 on tokens the loss trains on), like
  NeMo RL's ``message_log`` (see ``nemo_rl.data.llm_message_utils``);
* :class:`BatchedDataDict` is a dict of equally long tensors/lists with
  slicing, sharding and ``repeat_interleave``, like
  ``nemo_rl.distributed.batched_data_dict.BatchedDataDict``.

Examples:
    >>> train, val = addition_split(val_size=100, seed=0)
    >>> len(val), val[0]["messages"][0]["role"]
    (100, 'user')
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import torch

from rl_lab.environments import apply_move, legal_moves, render_board, scramble_board
from rl_lab.tokenizer import CharTokenizer

Datum = dict[str, Any]
Message = dict[str, Any]


# ----------------------------------------------------------------------------
# Tasks
# ----------------------------------------------------------------------------
def addition_datum(a: int, b: int, zero_pad: bool = False) -> Datum:
    """One 2-digit addition problem, ``"a+b"`` -> the exact sum.

    Args:
        a: First operand.
        b: Second operand.
        zero_pad: Write operands with 2 digits and the sum with 3 (``07+45`` ->
            ``052``) so every problem has the same shape.

    Returns:
        A datum with ``messages``, ``answer`` and ``task``.

    Examples:
        >>> addition_datum(12, 34)["answer"]
        '46'
        >>> addition_datum(7, 45, zero_pad=True)["answer"]
        '052'
    """
    if zero_pad:
        return {"messages": [{"role": "user", "content": f"{a:02d}+{b:02d}"}], "answer": f"{a + b:03d}", "task": "addition"}
    return {"messages": [{"role": "user", "content": f"{a}+{b}"}], "answer": str(a + b), "task": "addition"}


def addition_split(
    max_operand: int = 99, val_size: int = 500, seed: int = 1234, zero_pad: bool = False
) -> tuple[list[Datum], list[Datum]]:
    """All ``a+b`` problems with ``0 <= a, b <= max_operand``, split train/held-out.

    Args:
        max_operand: Largest operand.
        val_size: Number of held-out problems (never trained on).
        seed: Seed of the split.
        zero_pad: See :func:`addition_datum`.

    Returns:
        ``(train, val)`` lists of datums.

    Examples:
        >>> tr, va = addition_split(9, val_size=10)
        >>> len(tr) + len(va)
        100
    """
    pairs = [(a, b) for a in range(max_operand + 1) for b in range(max_operand + 1)]
    random.Random(seed).shuffle(pairs)
    data = [addition_datum(a, b, zero_pad) for a, b in pairs]
    return data[val_size:], data[:val_size]


def arithmetic_datum(rng: random.Random) -> Datum:
    """A random problem with ``+``, ``-`` or ``*`` (one operand single digit for ``*``).

    Args:
        rng: Random source.

    Returns:
        A datum whose answer is the exact integer result.

    Examples:
        >>> arithmetic_datum(random.Random(0))["task"]
        'arithmetic'
    """
    op = rng.choice("+-*")
    a = rng.randint(0, 99)
    b = rng.randint(0, 9 if op == "*" else 99)
    value = {"+": a + b, "-": a - b, "*": a * b}[op]
    return {"messages": [{"role": "user", "content": f"{a}{op}{b}"}], "answer": str(value), "task": "arithmetic"}


_WORD_TEMPLATES: tuple[tuple[str, Callable[[int, int], int]], ...] = (
    ("Tom has {a} apples and gets {b} more. How many?", lambda a, b: a + b),
    ("A box has {a} pens. {b} are taken. How many left?", lambda a, b: a - b),
    ("There are {a} rows of {b} chairs. How many chairs?", lambda a, b: a * b),
)


def word_problem_datum(rng: random.Random) -> Datum:
    """A one-sentence word problem with an exact integer answer.

    Args:
        rng: Random source.

    Returns:
        A datum with task ``word_problem``.

    Examples:
        >>> d = word_problem_datum(random.Random(1))
        >>> d["answer"].lstrip("-").isdigit()
        True
    """
    template, fn = rng.choice(_WORD_TEMPLATES)
    a, b = rng.randint(2, 9), rng.randint(1, 9)
    a = max(a, b)
    return {"messages": [{"role": "user", "content": template.format(a=a, b=b)}], "answer": str(fn(a, b)), "task": "word_problem"}


def wrong_answer(answer: str, rng: random.Random) -> str:
    """A plausible wrong answer: off by one, off by ten, or off by a hundred.

    The result keeps the answer's width (``"052"`` stays 3 digits).

    Args:
        answer: The correct non-negative integer answer as text.
        rng: Random source.

    Returns:
        A different non-negative integer as text.

    Examples:
        >>> wrong_answer("046", random.Random(0)) != "046"
        True
    """
    value, width = int(answer), len(answer)
    for _ in range(20):
        candidate = value + rng.choice([-100, -10, -1, 1, 10, 100])
        text = str(candidate).zfill(width) if answer.startswith("0") else str(candidate)
        if candidate >= 0 and candidate != value and (len(text) == width or not answer.startswith("0")):
            return text
    return str(value + 1).zfill(width)


def add_label_noise(data: Sequence[Datum], fraction: float, seed: int) -> list[Datum]:
    """Replaces the answer of a random ``fraction`` of datums with a near miss.

    Models noisy supervision (think: a dataset written in a hurry). SFT imitates
    the noise; an RL verifier (or DPO preferences) can remove it.

    Args:
        data: Datums with ``answer``.
        fraction: Probability that a datum's answer is corrupted.
        seed: Seed.

    Returns:
        New datums (the input is not modified).

    Examples:
        >>> noisy = add_label_noise([addition_datum(1, 2)] * 100, 0.5, seed=0)
        >>> 30 < sum(d["answer"] != "3" for d in noisy) < 70
        True
    """
    rng = random.Random(seed)
    return [{**d, "answer": wrong_answer(d["answer"], rng)} if rng.random() < fraction else d for d in data]


def preference_pairs(data: Sequence[Datum], seed: int = 0) -> list[Datum]:
    """DPO pairs: the correct answer is ``chosen``, a near miss is ``rejected``.

    Args:
        data: Datums with ``messages`` and ``answer``.
        seed: Seed for the wrong answers.

    Returns:
        Datums with ``prompt`` (messages), ``chosen`` and ``rejected`` strings.

    Examples:
        >>> p = preference_pairs([addition_datum(1, 2)])[0]
        >>> p["chosen"], p["chosen"] != p["rejected"]
        ('3', True)
    """
    rng = random.Random(seed)
    return [
        {"prompt": d["messages"], "chosen": d["answer"], "rejected": wrong_answer(d["answer"], rng), "task": d["task"]}
        for d in data
    ]


# ----------------------------------------------------------------------------
# Message logs
# ----------------------------------------------------------------------------
def build_message_log(messages: Sequence[dict[str, str]], tokenizer: CharTokenizer) -> list[Message]:
    """Tokenises each message separately and marks the trained tokens.

    Args:
        messages: The conversation; user turns get the assistant header
            appended when an assistant turn follows (or at the end).
        tokenizer: The rl_lab tokenizer.

    Returns:
        A message log: each message gains ``token_ids`` (LongTensor [n_i]) and
        ``token_loss_mask`` (LongTensor [n_i], 1 for assistant tokens).

    Examples:
        >>> log = build_message_log([{"role": "user", "content": "1+1"},
        ...                          {"role": "assistant", "content": "2"}], CharTokenizer())
        >>> log[1]["token_loss_mask"].tolist()
        [1, 1]
    """
    log = []
    for msg in messages:
        ids = tokenizer.encode(tokenizer.render_message(msg, add_generation_prompt=True))
        trained = 1 if msg["role"] == "assistant" else 0
        log.append(
            {
                **msg,
                "token_ids": torch.tensor(ids, dtype=torch.long),
                "token_loss_mask": torch.full((len(ids),), trained, dtype=torch.long),
            }
        )
    return log


def flatten_message_log(log: Sequence[Message]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenates a message log into one sequence.

    Args:
        log: A message log from :func:`build_message_log`.

    Returns:
        ``(token_ids [T], token_loss_mask [T])``.

    Examples:
        >>> ids, mask = flatten_message_log(build_message_log([{"role": "user", "content": "1"}], CharTokenizer()))
        >>> ids.shape == mask.shape
        True
    """
    return torch.cat([m["token_ids"] for m in log]), torch.cat([m["token_loss_mask"] for m in log])


def right_pad(sequences: Sequence[torch.Tensor], pad_value: int = 0, length: int | None = None) -> torch.Tensor:
    """Stacks 1-D tensors into ``[B, T]`` with padding on the right.

    Args:
        sequences: 1-D tensors of varying length.
        pad_value: Fill value.
        length: Pad to this length (default: the longest sequence).

    Returns:
        Tensor ``[B, T]``.

    Examples:
        >>> right_pad([torch.tensor([1, 2]), torch.tensor([3])]).tolist()
        [[1, 2], [3, 0]]
    """
    width = length or max(len(s) for s in sequences)
    out = torch.full((len(sequences), width), pad_value, dtype=sequences[0].dtype)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s[:width]
    return out


def message_logs_to_batch(logs: Sequence[Sequence[Message]], pad_id: int = 0) -> BatchedDataDict:
    """Flattens and right-pads message logs into a training batch.

    Args:
        logs: One message log per sample.
        pad_id: Padding token id.

    Returns:
        A :class:`BatchedDataDict` with ``input_ids`` [B, T], ``token_mask``
        [B, T] (1 on trained tokens), ``input_lengths`` [B].

    Examples:
        >>> tok = CharTokenizer()
        >>> logs = [build_message_log([{"role": "user", "content": "1+1"}, {"role": "assistant", "content": "2"}], tok)]
        >>> message_logs_to_batch(logs)["input_ids"].shape
        torch.Size([1, 7])
    """
    flat = [flatten_message_log(log) for log in logs]
    return BatchedDataDict(
        input_ids=right_pad([f[0] for f in flat], pad_id),
        token_mask=right_pad([f[1] for f in flat], 0),
        input_lengths=torch.tensor([len(f[0]) for f in flat]),
    )


def sft_batch(data: Sequence[Datum], tokenizer: CharTokenizer) -> BatchedDataDict:
    """Prompt + reference answer for every datum, as one padded SFT batch.

    Args:
        data: Datums with ``messages`` and ``answer``.
        tokenizer: The rl_lab tokenizer.

    Returns:
        See :func:`message_logs_to_batch`.

    Examples:
        >>> sft_batch([addition_datum(1, 2)], CharTokenizer())["token_mask"].sum().item()
        2
    """
    logs = [build_message_log([*d["messages"], {"role": "assistant", "content": d["answer"]}], tokenizer) for d in data]
    return message_logs_to_batch(logs, tokenizer.pad_token_id)


# ----------------------------------------------------------------------------
# Sequence packing
# ----------------------------------------------------------------------------
def pack_first_fit(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """First-fit-decreasing bin packing of sequence indices into bins of ``max_tokens``.

    Args:
        lengths: Length of each sequence.
        max_tokens: Capacity of one packed row.

    Returns:
        A list of bins, each a list of sequence indices.

    Raises:
        ValueError: If one sequence is longer than ``max_tokens``.

    Examples:
        >>> pack_first_fit([5, 3, 4, 2], max_tokens=7)
        [[0, 3], [2, 1]]
    """
    bins: list[list[int]] = []
    free: list[int] = []
    for idx in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        n = lengths[idx]
        if n > max_tokens:
            raise ValueError(f"sequence {idx} has {n} tokens > max_tokens={max_tokens}")
        for b, room in enumerate(free):
            if n <= room:
                bins[b].append(idx)
                free[b] -= n
                break
        else:
            bins.append([idx])
            free.append(max_tokens - n)
    return bins


def pack_sequences(
    sequences: Sequence[torch.Tensor], max_tokens: int, pad_value: int = 0
) -> tuple[torch.Tensor, torch.Tensor, list[list[int]]]:
    """Packs 1-D sequences into rows with first-fit and returns segment ids.

    Args:
        sequences: 1-D token tensors.
        max_tokens: Row capacity.
        pad_value: Fill value for unused slots.

    Returns:
        ``(packed [R, max_tokens], segment_ids [R, max_tokens], bins)``; segment
        ids count from 1 inside each row, 0 marks padding. A model must not
        attend across segments (build a block-diagonal mask from segment ids).

    Examples:
        >>> packed, seg, bins = pack_sequences([torch.tensor([1, 2]), torch.tensor([3])], 4)
        >>> packed.tolist(), seg.tolist()
        ([[1, 2, 3, 0]], [[1, 1, 2, 0]])
    """
    bins = pack_first_fit([len(s) for s in sequences], max_tokens)
    packed = torch.full((len(bins), max_tokens), pad_value, dtype=torch.long)
    segments = torch.zeros((len(bins), max_tokens), dtype=torch.long)
    for r, members in enumerate(bins):
        pos = 0
        for k, idx in enumerate(members, start=1):
            s = sequences[idx]
            packed[r, pos : pos + len(s)] = s
            segments[r, pos : pos + len(s)] = k
            pos += len(s)
    return packed, segments, bins


# ----------------------------------------------------------------------------
# BatchedDataDict
# ----------------------------------------------------------------------------
class BatchedDataDict(dict):
    """A dict whose values (tensors or lists) all share the batch dimension 0.

    Examples:
        >>> b = BatchedDataDict(x=torch.arange(4), names=["a", "b", "c", "d"])
        >>> b.slice(1, 3)["names"], b.size
        (['b', 'c'], 4)
        >>> b.repeat_interleave(2)["x"].tolist()
        [0, 0, 1, 1, 2, 2, 3, 3]
    """

    @property
    def size(self) -> int:
        """Batch size (length of the first value).

        Returns:
            The number of samples.

        Examples:
            >>> BatchedDataDict(x=[1, 2]).size
            2
        """
        return len(next(iter(self.values()))) if self else 0

    def select_indices(self, indices: Sequence[int] | torch.Tensor) -> BatchedDataDict:
        """Returns the samples at ``indices`` (in that order).

        Args:
            indices: Sample indices.

        Returns:
            A new BatchedDataDict.

        Examples:
            >>> BatchedDataDict(x=torch.tensor([5, 6, 7])).select_indices([2, 0])["x"].tolist()
            [7, 5]
        """
        idx = torch.as_tensor(indices, dtype=torch.long)
        out = BatchedDataDict()
        for k, v in self.items():
            out[k] = v[idx] if isinstance(v, torch.Tensor) else [v[i] for i in idx.tolist()]
        return out

    def slice(self, start: int, end: int) -> BatchedDataDict:
        """Samples ``start:end``.

        Args:
            start: First index.
            end: One past the last index.

        Returns:
            A new BatchedDataDict.

        Examples:
            >>> BatchedDataDict(x=[1, 2, 3]).slice(0, 2)["x"]
            [1, 2]
        """
        return BatchedDataDict({k: v[start:end] for k, v in self.items()})

    def shard_by_batch_size(self, batch_size: int) -> list[BatchedDataDict]:
        """Splits into consecutive chunks of ``batch_size`` samples.

        Args:
            batch_size: Samples per chunk; must divide the batch size.

        Returns:
            The chunks, in order.

        Raises:
            ValueError: If ``batch_size`` does not divide :attr:`size`.

        Examples:
            >>> [c["x"] for c in BatchedDataDict(x=[1, 2, 3, 4]).shard_by_batch_size(2)]
            [[1, 2], [3, 4]]
        """
        if batch_size <= 0 or self.size % batch_size:
            raise ValueError(f"batch of {self.size} cannot be split into chunks of {batch_size}")
        return [self.slice(i, i + batch_size) for i in range(0, self.size, batch_size)]

    def repeat_interleave(self, num_repeats: int) -> BatchedDataDict:
        """Repeats every sample ``num_repeats`` times in place (a a b b ...).

        Args:
            num_repeats: Copies per sample, e.g. ``grpo.num_generations_per_prompt``.

        Returns:
            A new BatchedDataDict of size ``size * num_repeats``.

        Examples:
            >>> BatchedDataDict(x=["p", "q"]).repeat_interleave(2)["x"]
            ['p', 'p', 'q', 'q']
        """
        out = BatchedDataDict()
        for k, v in self.items():
            if isinstance(v, torch.Tensor):
                out[k] = v.repeat_interleave(num_repeats, dim=0)
            else:
                out[k] = [item for item in v for _ in range(num_repeats)]
        return out

    def to(self, device: str | torch.device) -> BatchedDataDict:
        """Moves every tensor to ``device``.

        Args:
            device: Target device.

        Returns:
            A new BatchedDataDict.

        Examples:
            >>> BatchedDataDict(x=torch.zeros(1)).to("cpu")["x"].device.type
            'cpu'
        """
        return BatchedDataDict({k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.items()})

    @classmethod
    def from_batches(cls, batches: Sequence[BatchedDataDict], pad_value: int = 0) -> BatchedDataDict:
        """Concatenates batches; 2-D tensors of different widths are right-padded.

        Args:
            batches: Batches with the same keys.
            pad_value: Fill value when widths differ.

        Returns:
            The concatenated batch.

        Examples:
            >>> a = BatchedDataDict(x=torch.ones(1, 2)); b = BatchedDataDict(x=torch.ones(1, 3))
            >>> BatchedDataDict.from_batches([a, b])["x"].shape
            torch.Size([2, 3])
        """
        out = cls()
        for k in batches[0]:
            vals = [b[k] for b in batches]
            if isinstance(vals[0], torch.Tensor):
                if vals[0].dim() == 2:
                    width = max(v.shape[1] for v in vals)
                    vals = [torch.nn.functional.pad(v, (0, width - v.shape[1]), value=pad_value) for v in vals]
                out[k] = torch.cat(vals)
            else:
                out[k] = [item for v in vals for item in v]
        return out


# ----------------------------------------------------------------------------
# Task registry
# ----------------------------------------------------------------------------
def _generated_split(make: Callable[[random.Random], Datum], train_size: int, val_size: int, seed: int) -> tuple[list[Datum], list[Datum]]:
    """Draws problems from ``make`` and keeps held-out prompts out of training."""
    rng = random.Random(seed)
    val = [make(rng) for _ in range(val_size)]
    held_out = {d["messages"][0]["content"] for d in val}
    train: list[Datum] = []
    while len(train) < train_size:
        d = make(rng)
        if d["messages"][0]["content"] not in held_out:
            train.append(d)
    return train, val


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


TASKS: dict[str, Callable[..., tuple[list[Datum], list[Datum]]]] = {
    "addition": lambda cfg: addition_split(cfg.max_operand, cfg.val_size, cfg.seed, cfg.zero_pad),
    "arithmetic": lambda cfg: _generated_split(arithmetic_datum, cfg.train_size, cfg.val_size, cfg.seed),
    "word_problem": lambda cfg: _generated_split(word_problem_datum, cfg.train_size, cfg.val_size, cfg.seed),
    "puzzle_moves": lambda cfg: (
        [puzzle_moves_datum(cfg.puzzle_size, cfg.puzzle_shuffle_moves, 4, random.Random(cfg.seed + i)) for i in range(cfg.train_size)],
        [puzzle_moves_datum(cfg.puzzle_size, cfg.puzzle_shuffle_moves, 4, random.Random(-1 - i)) for i in range(cfg.val_size)],
    ),
}


def load_task(task_cfg: Any) -> tuple[list[Datum], list[Datum]]:
    """Builds ``(train, val)`` for the ``rl_lab.task`` section.

    Args:
        task_cfg: A :class:`rl_lab.config.TaskConfig`.

    Returns:
        Train and held-out datums (no held-out prompt appears in train). With
        ``label_noise > 0`` that fraction of *training* answers is corrupted;
        held-out answers are always exact.

    Raises:
        ValueError: For an unknown task name.

    Examples:
        >>> from rl_lab.config import TaskConfig
        >>> tr, va = load_task(TaskConfig(name="word_problem", train_size=20, val_size=5))
        >>> len(tr), len(va)
        (20, 5)
    """
    if task_cfg.name not in TASKS:
        raise ValueError(f"rl_lab.task.name={task_cfg.name!r}; choose one of {sorted(TASKS)}")
    train, val = TASKS[task_cfg.name](task_cfg)
    if task_cfg.label_noise > 0:
        train = add_label_noise(train, task_cfg.label_noise, task_cfg.seed)
    return train, val
