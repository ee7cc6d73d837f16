"""Tiny causal language models built from a ``transformers`` config (no download).

Examples:
    >>> from rl_lab.config import ModelSizeConfig
    >>> model = build_model(ModelSizeConfig(hidden_size=32, num_layers=1, intermediate_size=64), vocab_size=100)
    >>> sum(p.numel() for p in model.parameters()) > 0
    True
"""

from __future__ import annotations


import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedModel, Qwen2Config, Qwen2ForCausalLM

from rl_lab.config import ModelSizeConfig

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


# architecture name -> (transformers config class, model class); both share the keys below
ARCHITECTURES: dict[str, tuple[type, type[PreTrainedModel]]] = {
    "llama": (LlamaConfig, LlamaForCausalLM),
    "qwen2": (Qwen2Config, Qwen2ForCausalLM),
}


def _tiny(cfg: ModelSizeConfig, vocab_size: int) -> PreTrainedModel:
    """A randomly initialised model of ``rl_lab.model.architecture`` with ``rl_lab.model``'s sizes."""
    config_cls, model_cls = ARCHITECTURES[cfg.architecture]
    config = config_cls(
        vocab_size=vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=0,
    )
    return model_cls(config)


def build_model(
    cfg: ModelSizeConfig,
    vocab_size: int,
    seed: int = 0,
    dtype: str = "float32",
    device: str = "cpu",
) -> PreTrainedModel:
    """Builds a randomly initialised tiny causal LM; never touches the Hub.

    Args:
        cfg: ``rl_lab.model`` section (architecture and sizes).
        vocab_size: Tokenizer vocabulary size.
        seed: Seed for the random initialisation.
        dtype: ``float32``, ``bfloat16`` or ``float16`` (``policy.precision``).
        device: Torch device.

    Returns:
        A ``transformers`` causal LM in train mode.

    Raises:
        ValueError: For an unknown architecture or dtype.

    Examples:
        >>> m = build_model(ModelSizeConfig(architecture="qwen2", hidden_size=32, num_layers=1), 50)
        >>> type(m).__name__
        'Qwen2ForCausalLM'
    """
    if cfg.architecture not in ARCHITECTURES:
        raise ValueError(f"rl_lab.model.architecture={cfg.architecture!r}; choose one of {sorted(ARCHITECTURES)}")
    if dtype not in DTYPES:
        raise ValueError(f"policy.precision={dtype!r}; choose one of {sorted(DTYPES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _tiny(cfg, vocab_size)
    return model.to(device=device, dtype=DTYPES[dtype]).train()


def load_pretrained(model_name: str, dtype: str = "bfloat16", device: str = "cuda") -> PreTrainedModel:
    """Loads a Hugging Face model by id (``full`` profile, needs internet; untested).

    Args:
        model_name: A Hugging Face model id such as ``Qwen/Qwen2.5-0.5B``.
        dtype: Training dtype name.
        device: Torch device.

    Returns:
        The loaded causal LM.
    """
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_name, dtype=DTYPES[dtype]).to(device)
