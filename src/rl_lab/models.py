"""Tiny causal language models built from a ``transformers`` config (no download), and reward models made from them.

Examples:
    >>> from rl_lab.config import ModelSizeConfig
    >>> model = build_model(ModelSizeConfig(hidden_size=32, num_layers=1, intermediate_size=64), vocab_size=100)
    >>> sum(p.numel() for p in model.parameters()) > 0
    True
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from safetensors.torch import load_model
from transformers import (
    AutoModelForSequenceClassification,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from rl_lab.checkpoint import latest_checkpoint
from rl_lab.config import ModelSizeConfig
from rl_lab.tokenizer import CharTokenizer

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


def reward_model_from_lm(lm: PreTrainedModel, pad_token_id: int = 0, seed: int = 0) -> PreTrainedModel:
    """A Bradley-Terry reward model that starts from a causal LM: its body, a new scalar head.

    What NeMo RL's ``policy.reward_model_cfg.enabled`` does to a policy checkpoint: the
    model is loaded as a sequence classifier with ``num_labels=1``. The transformer body
    (embeddings and layers) is copied from ``lm``; the LM head is dropped and a linear
    ``score`` head (hidden size -> 1, no bias) is freshly initialised. The score of a
    sequence is the head's output at its last non-pad token.

    Args:
        lm: The causal LM to start from (not changed). A model that already is a
            sequence classifier is copied as it is.
        pad_token_id: Padding id the classifier skips when it looks for the last token.
        seed: Seed of the head's initialisation.

    Returns:
        The reward model (same dtype and device as ``lm``), in train mode.

    Examples:
        >>> lm = build_model(ModelSizeConfig(hidden_size=32, num_layers=1, intermediate_size=64), vocab_size=50)
        >>> rm = reward_model_from_lm(lm)
        >>> type(rm).__name__, rm.score.out_features
        ('LlamaForSequenceClassification', 1)
        >>> bool(torch.equal(rm.model.embed_tokens.weight, lm.model.embed_tokens.weight))
        True
    """
    if getattr(lm.config, "num_labels", None) == 1 and hasattr(lm, "score"):
        return copy.deepcopy(lm).train()
    config = copy.deepcopy(lm.config)
    config.num_labels = 1
    config.pad_token_id = pad_token_id
    config.architectures = None
    param = next(lm.parameters())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rm = AutoModelForSequenceClassification.from_config(config)
    body = getattr(rm, rm.base_model_prefix)
    body.load_state_dict(getattr(lm, lm.base_model_prefix).state_dict())
    return rm.to(device=param.device, dtype=param.dtype).train()


def load_reward_model(checkpoint_path: str, device: str = "cpu") -> PreTrainedModel:
    """Loads a reward model that :func:`rl_lab.rm.train_rm` saved (``env.reward_model.checkpoint_path``).

    Args:
        checkpoint_path: A ``step_N`` folder, or a ``checkpointing.checkpoint_dir`` (its newest ``step_N``).
        device: Torch device.

    Returns:
        The reward model in eval mode.

    Raises:
        FileNotFoundError: If no checkpoint is found there (the message says how to write one).
        ValueError: If the checkpoint is not a reward model's.
    """
    path = Path(checkpoint_path)
    if not (path / "model.safetensors").exists():
        path = latest_checkpoint(path) or path
    if not (path / "model.safetensors").exists() or not (path / "config.json").exists():
        raise FileNotFoundError(
            f"env.reward_model.checkpoint_path={checkpoint_path!r}: no reward-model checkpoint there; train one with "
            f"rl_lab.rm.train_rm('rm_addition', overrides=['checkpointing.enabled=true', "
            f"'checkpointing.checkpoint_dir={checkpoint_path}'])"
        )
    recipe = json.loads((path / "config.json").read_text())
    if recipe.get("rl_lab", {}).get("algorithm") != "rm":
        raise ValueError(f"env.reward_model.checkpoint_path: {path} holds a {recipe.get('rl_lab', {}).get('algorithm')!r} "
                         f"checkpoint, not a reward model's (rl_lab.algorithm: rm)")
    tokenizer = CharTokenizer()
    lm = build_model(ModelSizeConfig(**recipe["rl_lab"]["model"]), tokenizer.vocab_size,
                     dtype=recipe["policy"]["precision"], device=device)
    rm = reward_model_from_lm(lm, tokenizer.pad_token_id)
    load_model(rm, str(path / "model.safetensors"), device=device)
    return rm.eval()


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
