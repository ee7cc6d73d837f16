"""Message logs and padded batches: what the trainers feed the model.

A *message log* is a list of message dicts, each carrying its own ``token_ids``
and ``token_loss_mask`` (1 on tokens the loss trains on), like NeMo RL's
``message_log`` (see ``nemo_rl.data.llm_message_utils``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from rl_lab.data.batched import BatchedDataDict
from rl_lab.tokenizer import CharTokenizer

Datum = dict[str, Any]
Message = dict[str, Any]


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
        A :class:`~rl_lab.data.batched.BatchedDataDict` with ``input_ids`` [B, T], ``token_mask``
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
        >>> from rl_lab.data.tasks import addition_datum
        >>> sft_batch([addition_datum(1, 2)], CharTokenizer())["token_mask"].sum().item()
        2
    """
    logs = [build_message_log([*d["messages"], {"role": "assistant", "content": d["answer"]}], tokenizer) for d in data]
    return message_logs_to_batch(logs, tokenizer.pad_token_id)
