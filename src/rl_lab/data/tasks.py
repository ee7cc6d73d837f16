"""Synthetic verifiable tasks: addition, arithmetic, word problems, the puzzle's episodes, label noise, preference pairs.

A *datum* is a dict with ``messages`` (the prompt conversation), ``answer`` (the
exact verifiable answer) and ``task``; :func:`load_task` builds the ``(train, val)``
split that the ``rl_lab.task`` section of a recipe names.

Examples:
    >>> train, val = addition_split(val_size=100, seed=0)
    >>> len(val), val[0]["messages"][0]["role"]
    (100, 'user')
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from rl_lab.environments.sliding_puzzle import puzzle_moves_datum

Datum = dict[str, Any]


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


def reward_model_pairs(data: Sequence[Datum], seed: int = 0) -> list[Datum]:
    """Reward-model pairs: the correct answer is ``chosen``; ``rejected`` is one of three kinds of wrong answer.

    Half of the rejected answers are DPO's near misses (:func:`wrong_answer`: off by 1, 10 or
    100), 40% another number of the same width (0 to twice the largest sum seen, zero-padded
    like the answer), 10% a malformed reply (a digit dropped or repeated, a zero added or the
    reply left empty). A reward model that only ever saw near misses has no opinion about the
    other two kinds, and a policy it scores is free to drift into them. The pair of every
    prompt differs only in the answer.

    Args:
        data: Datums with ``messages`` and a non-negative integer ``answer``.
        seed: Seed for the kinds and the wrong answers.

    Returns:
        Datums with ``prompt`` (messages), ``chosen``, ``rejected`` and ``kind``
        (``near_miss``, ``other_number`` or ``malformed``).

    Examples:
        >>> pairs = reward_model_pairs([addition_datum(a, 7) for a in range(40)], seed=0)
        >>> sorted({p["kind"] for p in pairs}), all(p["chosen"] != p["rejected"] for p in pairs)
        (['malformed', 'near_miss', 'other_number'], True)
    """
    rng = random.Random(seed)
    top = 2 * max(int(d["answer"]) for d in data) if data else 0
    pairs = []
    for d in data:
        answer, u = d["answer"], rng.random()
        if u < 0.5:
            kind, rejected = "near_miss", wrong_answer(answer, rng)
        elif u < 0.9:
            kind, rejected = "other_number", answer
            while rejected == answer:
                value = str(rng.randint(0, max(top, 1)))
                rejected = value.zfill(len(answer)) if answer.startswith("0") else value
        else:
            kind = "malformed"
            options = [answer[:-1], answer + answer[-1], answer[1:], answer + "0", "0" + answer, ""]
            rejected = rng.choice([o for o in options if o != answer])
        pairs.append({"prompt": d["messages"], "chosen": answer, "rejected": rejected, "kind": kind, "task": d["task"]})
    return pairs


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
        task_cfg: A :class:`rl_lab.config.rl_lab_only.TaskConfig`.

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
