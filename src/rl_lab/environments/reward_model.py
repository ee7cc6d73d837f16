"""A trained reward model as the environment: reward = the model's score of the conversation.

NeMo RL counterpart: ``nemo_rl.environments.reward_model_environment.RewardModelEnvironment``
(``env.reward_model`` with ``data.default.env_name: reward_model`` in
``examples/configs/grpo_rm_1B.yaml``). Like it, this environment re-tokenises each
conversation with the reward model's chat template, scores it without gradients in
batches of ``env.reward_model.batch_size``, ends every episode after one turn, and
answers with an observation that shows the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from rl_lab.environments.base import EnvironmentReturn, MessageLog, last_assistant_text


def sequence_scores(model: torch.nn.Module, input_ids: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """The scalar score of each right-padded sequence: the head's output at its last non-pad token.

    The model is a ``transformers`` sequence classifier with one label (what
    ``reward_model_cfg.enabled`` loads); it finds the last non-pad token itself from
    ``config.pad_token_id``.

    Args:
        model: A reward model (``num_labels=1``).
        input_ids: ``[B, T]`` right-padded token ids.
        pad_token_id: The padding id (masked out of attention).

    Returns:
        ``[B]`` scores, with gradients when called under grad mode.

    Examples:
        >>> from transformers import LlamaConfig, LlamaForSequenceClassification
        >>> rm = LlamaForSequenceClassification(LlamaConfig(vocab_size=10, hidden_size=8, intermediate_size=16,
        ...     num_hidden_layers=1, num_attention_heads=2, num_labels=1, pad_token_id=0))
        >>> sequence_scores(rm, torch.tensor([[3, 4, 0], [5, 6, 7]]), pad_token_id=0).shape
        torch.Size([2])
    """
    return model(input_ids=input_ids, attention_mask=input_ids.ne(pad_token_id).long()).logits[:, 0]


class RewardModelEnvironment:
    """Single-turn environment whose reward is a reward model's score of the whole conversation.

    Args:
        model: A trained reward model (:func:`rl_lab.rm.train_rm`'s ``TrainResult.model``,
            or :func:`rl_lab.models.load_reward_model`); used in eval mode, never trained.
        tokenizer: The tokenizer the reward model was trained with.
        batch_size: Conversations per forward pass (``env.reward_model.batch_size``).

    Examples:
        >>> from transformers import LlamaConfig, LlamaForSequenceClassification
        >>> from rl_lab.tokenizer import CharTokenizer
        >>> tok = CharTokenizer()
        >>> rm = LlamaForSequenceClassification(LlamaConfig(vocab_size=tok.vocab_size, hidden_size=8,
        ...     intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, num_labels=1, pad_token_id=0))
        >>> out = RewardModelEnvironment(rm, tok).step([[{"role": "user", "content": "1+1"},
        ...                                              {"role": "assistant", "content": "2"}]], [{"answer": "2"}])
        >>> out.rewards.shape, out.terminateds.tolist(), out.answers
        (torch.Size([1]), [True], ['2'])
    """

    def __init__(self, model: torch.nn.Module, tokenizer: Any, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError(f"env.reward_model.batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @torch.no_grad()
    def score(self, message_log_batch: Sequence[MessageLog]) -> torch.Tensor:
        """Scores conversations (role and content of each message; token ids are rebuilt).

        Args:
            message_log_batch: One conversation per sample.

        Returns:
            ``[B]`` float32 scores on the CPU.
        """
        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters()).device
        pad = self.tokenizer.pad_token_id
        scores = []
        for start in range(0, len(message_log_batch), self.batch_size):
            chunk = message_log_batch[start : start + self.batch_size]
            ids = [self.tokenizer.apply_chat_template([{"role": m["role"], "content": m["content"]} for m in log],
                                                      tokenize=True) for log in chunk]
            width = max(len(x) for x in ids)
            batch = torch.tensor([x + [pad] * (width - len(x)) for x in ids], dtype=torch.long, device=device)
            scores.append(sequence_scores(self.model, batch, pad).float().cpu())
        self.model.train(was_training)
        return torch.cat(scores) if scores else torch.zeros(0)

    def step(self, message_log_batch: Sequence[MessageLog], metadata: Sequence[Any]) -> EnvironmentReturn:
        """Scores each conversation; every episode ends.

        Args:
            message_log_batch: Conversations ending with the model's reply.
            metadata: Per-sample state, passed through unchanged (the score does not read it).

        Returns:
            Rewards equal to the scores (real numbers, not in {0, 1}).
        """
        rewards = self.score(message_log_batch)
        return EnvironmentReturn(
            observations=[{"role": "environment", "content": f"Environment: {r:.4f}"} for r in rewards.tolist()],
            metadata=list(metadata),
            next_stop_strings=[None] * len(rewards),
            rewards=rewards,
            terminateds=torch.ones(len(rewards), dtype=torch.bool),
            answers=[last_assistant_text(log) for log in message_log_batch],
        )
