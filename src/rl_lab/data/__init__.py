"""Synthetic verifiable tasks, message logs, padding, packing and ``BatchedDataDict``.

Everything here mirrors a NeMo RL data structure in miniature:

* a *datum* is a dict with ``messages`` (the prompt conversation), ``answer``
  (the exact verifiable answer) and ``task``;
* a *message log* is a list of message dicts, each carrying its own
  ``token_ids`` and ``token_loss_mask`` (1 on tokens the loss trains on), like
  NeMo RL's ``message_log`` (see ``nemo_rl.data.llm_message_utils``);
* :class:`~rl_lab.data.batched.BatchedDataDict` is a dict of equally long tensors/lists with
  slicing, sharding and ``repeat_interleave``, like
  ``nemo_rl.distributed.batched_data_dict.BatchedDataDict``.

Examples:
    >>> train, val = addition_split(val_size=100, seed=0)
    >>> len(val), val[0]["messages"][0]["role"]
    (100, 'user')

The package is split by concern, and everything is importable from ``rl_lab.data``:
:mod:`rl_lab.data.tasks` (generators and :func:`~rl_lab.data.tasks.load_task`), :mod:`rl_lab.data.messages`
(message logs, padding, SFT batches), :mod:`rl_lab.data.packing` and
:mod:`rl_lab.data.batched` (:class:`~rl_lab.data.batched.BatchedDataDict`). The sliding puzzle's episodes
live with its rules in :mod:`rl_lab.environments.sliding_puzzle`.
"""

from rl_lab.data.batched import BatchedDataDict
from rl_lab.data.messages import Datum, Message, build_message_log, flatten_message_log, message_logs_to_batch, right_pad, sft_batch
from rl_lab.data.packing import pack_first_fit, pack_sequences
from rl_lab.data.tasks import (
    TASKS,
    add_label_noise,
    addition_datum,
    addition_split,
    arithmetic_datum,
    load_task,
    preference_pairs,
    reward_model_pairs,
    word_problem_datum,
    wrong_answer,
)
from rl_lab.environments.sliding_puzzle import puzzle_moves_datum, sliding_puzzle_datum, sliding_puzzle_split

__all__ = [
    "BatchedDataDict", "Datum", "Message", "TASKS", "add_label_noise", "addition_datum", "addition_split",
    "arithmetic_datum", "build_message_log", "flatten_message_log", "load_task", "message_logs_to_batch",
    "pack_first_fit", "pack_sequences", "preference_pairs", "puzzle_moves_datum", "reward_model_pairs", "right_pad",
    "sft_batch", "sliding_puzzle_datum", "sliding_puzzle_split", "word_problem_datum", "wrong_answer",
]
