"""Accuracy and the unbiased pass@k estimator.

NeMo RL counterpart: ``examples/configs/evals/eval.yaml`` (``eval.metric: pass@k``,
``eval.num_tests_per_prompt``, ``eval.k_value``).

Examples:
    >>> pass_at_k(n=2, c=1, k=1)
    0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from rl_lab.data.messages import Datum  # the defining module: the API pages link the alias
from rl_lab.generation import generate
from rl_lab.tokenizer import CharTokenizer


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are correct.

    ``1 - C(n - c, k) / C(n, k)``, computed as the numerically stable product
    ``1 - prod_{i = n - c + 1}^{n} (1 - k / i)`` (no huge binomials).

    Args:
        n: Samples drawn per problem.
        c: Correct samples among them.
        k: Attempts allowed.

    Returns:
        Probability that at least one of ``k`` samples (without replacement) is correct.

    Raises:
        ValueError: If not ``0 <= c <= n`` and ``1 <= k <= n``.

    Examples:
        >>> round(pass_at_k(n=4, c=1, k=2), 4)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        0.5
        >>> pass_at_k(n=5, c=4, k=2)  # n - c < k: always a hit
        1.0
    """
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def exact_match(response: str, answer: str) -> bool:
    """Whether a response equals the answer after stripping whitespace.

    Args:
        response: Decoded model output.
        answer: Reference answer.

    Returns:
        True on an exact match.

    Examples:
        >>> exact_match(" 46", "46")
        True
    """
    return response.strip() == answer.strip()


def evaluate_accuracy(
    model: torch.nn.Module,
    tokenizer: CharTokenizer,
    data: Sequence[Datum],
    max_new_tokens: int = 6,
    batch_size: int = 256,
    num_samples: int = 1,
    k: int = 1,
    temperature: float = 0.0,
    seed: int = 0,
) -> dict[str, float]:
    """Exact-match accuracy (greedy by default) and pass@k on held-out problems.

    Args:
        model: The policy.
        tokenizer: The rl_lab tokenizer.
        data: Datums with ``messages`` and ``answer``.
        max_new_tokens: Generation budget.
        batch_size: Prompts per generation call.
        num_samples: Samples per problem (``eval.num_tests_per_prompt``).
        k: pass@k's k (``eval.k_value``), at most ``num_samples``.
        temperature: 0 means greedy.
        seed: Sampling seed.

    Returns:
        ``{"accuracy": mean correct fraction, "pass@k": mean pass@k}``.

    Examples:
        >>> from rl_lab.config import ModelSizeConfig
        >>> from rl_lab.data import addition_datum
        >>> from rl_lab.models import build_model
        >>> tok = CharTokenizer()
        >>> scores = evaluate_accuracy(build_model(ModelSizeConfig(), tok.vocab_size), tok, [addition_datum(1, 2)] * 3,
        ...                            max_new_tokens=2, num_samples=4, k=2, temperature=1.0)
        >>> sorted(scores), all(0.0 <= v <= 1.0 for v in scores.values())
        (['accuracy', 'pass@2'], True)
    """
    prompts = [tokenizer.apply_chat_template(d["messages"], tokenize=True) for d in data]
    correct: list[int] = [0] * len(data)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(num_samples):
        for start in range(0, len(prompts), batch_size):
            out = generate(
                model,
                prompts[start : start + batch_size],
                tokenizer,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                generator=generator,
            )
            for j, text in enumerate(out.texts):
                correct[start + j] += exact_match(text, data[start + j]["answer"])
    accuracy = sum(correct) / (len(data) * num_samples)
    passk = sum(pass_at_k(num_samples, c, k) for c in correct) / len(data)
    return {"accuracy": accuracy, f"pass@{k}": passk}


def legal_move_rate(
    model: torch.nn.Module,
    tokenizer: CharTokenizer,
    data: Sequence[Datum],
    max_new_tokens: int = 2,
    temperature: float = 1.0,
    seed: int = 0,
) -> float:
    """Fraction of sampled answers that are a legal move for the board shown.

    For the ``puzzle_moves`` task, whose datums list ``legal_moves`` for their
    last board: it measures whether a policy has learnt the game's format, not
    whether it solves the puzzle.

    Args:
        model: The policy.
        tokenizer: The rl_lab tokenizer.
        data: Datums with ``messages`` and ``legal_moves``.
        max_new_tokens: Generation budget.
        temperature: Sampling temperature (0: greedy).
        seed: Sampling seed.

    Returns:
        A fraction in ``[0, 1]``.

    Raises:
        KeyError: If a datum has no ``legal_moves`` (another task).

    Examples:
        >>> from rl_lab.config import ModelSizeConfig
        >>> from rl_lab.models import build_model
        >>> tok = CharTokenizer()
        >>> datum = {"messages": [{"role": "user", "content": "12|3_"}], "legal_moves": ["D", "R"]}
        >>> 0.0 <= legal_move_rate(build_model(ModelSizeConfig(), tok.vocab_size), tok, [datum] * 4) <= 1.0
        True
    """
    prompts = [tokenizer.apply_chat_template(d["messages"], tokenize=True) for d in data]
    out = generate(model, prompts, tokenizer, max_new_tokens=max_new_tokens, temperature=temperature,
                   generator=torch.Generator().manual_seed(seed))
    return sum(text.strip() in d["legal_moves"] for text, d in zip(out.texts, data)) / len(data)


def measure_target(
    model: torch.nn.Module, tokenizer: CharTokenizer, data: Sequence[Datum], target: Any, max_new_tokens: int
) -> float:
    """The value of ``rl_lab.target.metric`` for a model on held-out data.

    Args:
        model: The policy (measured in eval mode, returned in its previous mode).
        tokenizer: The rl_lab tokenizer.
        data: Held-out datums.
        target: A :class:`rl_lab.config.rl_lab_only.TargetConfig`.
        max_new_tokens: Generation budget.

    Returns:
        The measured fraction in ``[0, 1]``.

    Examples:
        >>> from rl_lab.config import ModelSizeConfig, TargetConfig
        >>> from rl_lab.data import addition_datum
        >>> from rl_lab.models import build_model
        >>> tok = CharTokenizer()
        >>> untrained = build_model(ModelSizeConfig(), tok.vocab_size)
        >>> measure_target(untrained, tok, [addition_datum(2, 3)] * 8, TargetConfig("greedy_accuracy"), 3)
        0.0
    """
    was_training = model.training
    model.eval()
    try:
        return _TARGET_MEASURES[target.metric](model, tokenizer, data, max_new_tokens, target.temperature, target.seed)
    finally:
        model.train(was_training)


_TARGET_MEASURES = {
    "greedy_accuracy": lambda m, tok, data, n, t, seed: evaluate_accuracy(m, tok, data, n)["accuracy"],
    "sampled_accuracy": lambda m, tok, data, n, t, seed: evaluate_accuracy(
        m, tok, data, n, temperature=t, seed=seed)["accuracy"],
    "legal_move_rate": lambda m, tok, data, n, t, seed: legal_move_rate(m, tok, data, n, temperature=t, seed=seed),
}
