"""Batched sampling (temperature, top-k, top-p, stop tokens/strings) and log-probs.

NeMo RL generates with vLLM (``policy.generation.backend``); rl_lab uses a plain
loop over the model's forward pass so every step is visible. Prompts are
*left*-padded for generation (so all rows end at the same column and the next
token is always read from the last position), while training batches are
*right*-padded (causal attention never looks right, so pads after the text
cannot change the log-probs of real tokens).

Examples:
    >>> logits = torch.tensor([[0.0, 5.0, 1.0]])
    >>> sample_next_token(logits, temperature=0.0).tolist()
    [1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from rl_lab.tokenizer import CharTokenizer


class GenerationOutput(NamedTuple):
    """Result of :func:`generate`.

    Attributes:
        response_ids: Generated token ids per prompt (including a final stop
            token if one was produced).
        texts: Decoded responses with special tokens removed and any matched
            stop string cut off.
        stopped: Whether each row ended on a stop token or stop string (False:
            it ran out of ``max_new_tokens``).

    Examples:
        >>> GenerationOutput([[1]], ["a"], [True]).texts
        ['a']
    """

    response_ids: list[list[int]]
    texts: list[str]
    stopped: list[bool]


def sample_next_token(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Samples one token per row from ``[B, V]`` logits.

    Args:
        logits: ``[B, V]`` next-token logits.
        temperature: 0 means greedy (argmax); otherwise logits are divided by it.
        top_p: Keep the smallest set of tokens whose probability reaches ``top_p``.
        top_k: Keep only the ``top_k`` most likely tokens (None or <= 0: all).
        generator: Torch random generator for reproducible sampling.

    Returns:
        ``[B]`` token ids.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> sample_next_token(torch.tensor([[0.0, 9.0]]), top_p=0.5, generator=g).tolist()
        [1]
    """
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        before = probs.cumsum(-1) - probs  # probability mass of strictly more likely tokens
        sorted_logits = sorted_logits.masked_fill(before >= top_p, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _left_pad(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pads prompts: ``(input_ids [B, P], attention_mask [B, P])``."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        if len(p):
            ids[i, width - len(p) :] = torch.as_tensor(list(p), dtype=torch.long)
            mask[i, width - len(p) :] = 1
    return ids, mask


def _cut_at_stop_string(text: str, stop_strings: Sequence[str]) -> tuple[str, bool]:
    """Cuts ``text`` at the first stop string (the stop string is kept)."""
    hits = [(text.find(s), s) for s in stop_strings if s and s in text]
    if not hits:
        return text, False
    pos, s = min(hits)
    return text[: pos + len(s)], True


@torch.no_grad()
def generate(
    model: torch.nn.Module,
    prompts: Sequence[Sequence[int]],
    tokenizer: CharTokenizer,
    max_new_tokens: int = 8,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int | None = None,
    stop_token_ids: Sequence[int] | None = None,
    stop_strings: Sequence[str] | None = None,
    generator: torch.Generator | None = None,
) -> GenerationOutput:
    """Generates continuations for a batch of token-id prompts.

    Args:
        model: A causal LM returning ``.logits``.
        prompts: Token ids per prompt (e.g. from ``apply_chat_template(..., tokenize=True)``).
        tokenizer: Supplies pad/eos ids and decoding.
        max_new_tokens: Maximum tokens generated per row.
        temperature: Sampling temperature (0: greedy).
        top_p: Nucleus sampling threshold.
        top_k: Top-k filter (None: off).
        stop_token_ids: Extra token ids that end a row (``<|eos|>`` always does).
        stop_strings: Strings that end a row once they appear in its text.
        generator: Torch random generator (reproducible sampling).

    Returns:
        A :class:`GenerationOutput`.

    Examples:
        >>> from rl_lab.config import ModelSizeConfig
        >>> from rl_lab.models import build_model
        >>> tok = CharTokenizer()
        >>> m = build_model(ModelSizeConfig(hidden_size=32, num_layers=1), tok.vocab_size)
        >>> out = generate(m, [tok.encode("<|user|>1+1<|assistant|>")], tok, max_new_tokens=3, temperature=0)
        >>> len(out.response_ids[0]) <= 3
        True
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    stops = {tokenizer.eos_token_id, *(stop_token_ids or ())}
    ids, attn = _left_pad(prompts, tokenizer.pad_token_id)
    ids, attn = ids.to(device), attn.to(device)
    batch = ids.shape[0]
    responses: list[list[int]] = [[] for _ in range(batch)]
    finished = [False] * batch
    texts = [""] * batch
    for _ in range(max_new_tokens):
        positions = (attn.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=attn, position_ids=positions, use_cache=False).logits[:, -1]
        next_ids = sample_next_token(logits, temperature, top_p, top_k, generator).cpu()
        alive = torch.tensor([not f for f in finished])
        next_ids = torch.where(alive, next_ids, torch.full_like(next_ids, tokenizer.pad_token_id))
        ids = torch.cat([ids, next_ids.to(device)[:, None]], dim=1)
        attn = torch.cat([attn, alive.long().to(device)[:, None]], dim=1)
        for i in range(batch):
            if finished[i]:
                continue
            token = int(next_ids[i])
            responses[i].append(token)
            if token in stops:
                finished[i] = True
            elif stop_strings:
                texts[i], finished[i] = _cut_at_stop_string(tokenizer.decode(responses[i]), stop_strings)
        if all(finished):
            break
    stopped = list(finished)
    for i in range(batch):
        text = tokenizer.decode(responses[i])
        texts[i] = _cut_at_stop_string(text, stop_strings)[0] if stop_strings else text
    model.train(was_training)
    return GenerationOutput(responses, texts, stopped)


def compute_logprobs(
    model: torch.nn.Module, input_ids: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Token-aligned log-probabilities of a right-padded batch.

    Args:
        model: A causal LM.
        input_ids: ``[B, T]`` right-padded token ids.
        mask: Optional ``[B, T]``; positions where it is 0 are set to 0.

    Returns:
        ``[B, T]`` float32 tensor; entry ``[b, t]`` is ``log p(x[b, t] | x[b, :t])``
        and column 0 (no context) is 0. Keeps the graph if grad is enabled.

    Examples:
        >>> from rl_lab.config import ModelSizeConfig
        >>> from rl_lab.models import build_model
        >>> m = build_model(ModelSizeConfig(hidden_size=32, num_layers=1), 20)
        >>> compute_logprobs(m, torch.tensor([[1, 2, 3]])).shape
        torch.Size([1, 3])
    """
    logits = model(input_ids=input_ids, use_cache=False).logits[:, :-1].float()
    next_tokens = input_ids[:, 1:].unsqueeze(-1)
    token_logprobs = F.log_softmax(logits, dim=-1).gather(-1, next_tokens).squeeze(-1)
    out = torch.cat([torch.zeros_like(token_logprobs[:, :1]), token_logprobs], dim=1)
    return out * mask.to(out.dtype) if mask is not None else out
