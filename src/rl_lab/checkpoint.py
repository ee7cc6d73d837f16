"""Checkpoints for exact resume: weights, optimizer, RNG states, config, trainer state.

A checkpoint is a directory ``<checkpointing.checkpoint_dir>/step_<N>/`` holding

* ``model.safetensors`` -- the weights (``safetensors``, tied weights handled),
* ``optimizer.pt`` -- the optimizer state dict (Adam moments and step counts),
* ``rng.pt`` -- Python, NumPy and torch RNG states,
* ``config.json`` -- the recipe as a dict,
* ``trainer_state.json`` -- step counter and metric history.

Restoring all of these makes the next training step bit-for-bit identical to
an uninterrupted run (tested in ``tests/rl_lab/test_checkpoint.py``).

Examples:
    >>> latest_checkpoint("/nonexistent") is None
    True
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model


def rng_state() -> dict[str, Any]:
    """Captures the Python, NumPy and torch (CPU and CUDA) RNG states.

    Returns:
        A dict that :func:`set_rng_state` restores.

    Examples:
        >>> sorted(rng_state())[:2]
        ['numpy', 'python']
    """
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restores RNG states captured by :func:`rng_state`.

    Args:
        state: The captured states.

    Examples:
        >>> s = rng_state(); a = torch.rand(1); set_rng_state(s); bool(a == torch.rand(1))
        True
    """
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    directory: str | Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    config: dict[str, Any],
    trainer_state: dict[str, Any] | None = None,
) -> Path:
    """Writes ``directory/step_<step>/`` and returns its path.

    Args:
        directory: ``checkpointing.checkpoint_dir``.
        step: Number of completed training steps.
        model: The model to save.
        optimizer: Its optimizer (None: weights only, ``save_optimizer: false``).
        config: The recipe as a dict (saved as JSON).
        trainer_state: Extra JSON-serialisable state (history, counters).

    Returns:
        The checkpoint directory.

    Examples:
        >>> import tempfile
        >>> p = save_checkpoint(tempfile.mkdtemp(), 3, torch.nn.Linear(2, 2), None, {})
        >>> p.name
        'step_3'
    """
    path = Path(directory) / f"step_{step}"
    path.mkdir(parents=True, exist_ok=True)
    save_model(model, str(path / "model.safetensors"))
    if optimizer is not None:
        torch.save(optimizer.state_dict(), path / "optimizer.pt")
    torch.save(rng_state(), path / "rng.pt")
    (path / "config.json").write_text(json.dumps(config, indent=1, default=str))
    (path / "trainer_state.json").write_text(json.dumps({"step": step, **(trainer_state or {})}, default=float))
    return path


def load_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Loads weights (and optimizer/RNG states) into existing objects.

    Args:
        path: A ``step_<N>`` directory.
        model: Model with the same architecture.
        optimizer: Optimizer to restore (skipped if None or not saved).
        restore_rng: Also restore the RNG states.

    Returns:
        The trainer state dict (``step`` plus whatever the trainer stored).

    Raises:
        FileNotFoundError: If the directory has no ``model.safetensors``.

    Examples:
        >>> import tempfile
        >>> m = torch.nn.Linear(2, 2); p = save_checkpoint(tempfile.mkdtemp(), 1, m, None, {})
        >>> load_checkpoint(p, torch.nn.Linear(2, 2))["step"]
        1
    """
    path = Path(path)
    if not (path / "model.safetensors").exists():
        raise FileNotFoundError(f"no model.safetensors in {path}")
    load_model(model, str(path / "model.safetensors"), device=str(next(model.parameters()).device))
    if optimizer is not None and (path / "optimizer.pt").exists():
        optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    if restore_rng and (path / "rng.pt").exists():
        set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    return json.loads((path / "trainer_state.json").read_text())


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The ``step_<N>`` directory with the largest ``N``, or None.

    Args:
        directory: ``checkpointing.checkpoint_dir``.

    Returns:
        Path of the newest checkpoint or None when there is none.

    Examples:
        >>> import tempfile
        >>> d = tempfile.mkdtemp(); _ = save_checkpoint(d, 2, torch.nn.Linear(1, 1), None, {})
        >>> latest_checkpoint(d).name
        'step_2'
    """
    root = Path(directory)
    if not root.is_dir():
        return None
    steps = [(int(m.group(1)), p) for p in root.iterdir() if (m := re.fullmatch(r"step_(\d+)", p.name))]
    steps = [(n, p) for n, p in steps if (p / "model.safetensors").exists()]
    return max(steps)[1] if steps else None
