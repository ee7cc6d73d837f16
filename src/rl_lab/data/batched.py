"""``BatchedDataDict``: a dict of equally long tensors and lists, NeMo RL's batch container in miniature."""

from __future__ import annotations

from collections.abc import Sequence

import torch


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
