"""Sequence packing: several short sequences in one row, first fit."""

from __future__ import annotations

from collections.abc import Sequence

import torch



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
