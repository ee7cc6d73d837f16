"""Metric logging (JSONL under ``logger.log_dir``), live plots, learning curves.

``MetricLogger`` appends one JSON object per ``log`` call to
``<logger.log_dir>/metrics.jsonl`` and keeps the same rows in memory
(``history``). Inside a running IPython kernel it also redraws a small
matplotlib figure in place; elsewhere it stays silent (plain mode). rl_lab
never imports IPython itself: it only uses it when it is already loaded.

Examples:
    >>> log = MetricLogger(None, live=False)
    >>> log.log({"loss": 1.0}, step=1, prefix="train")
    >>> log.history
    [{'step': 1, 'train/loss': 1.0}]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure


def in_ipython_kernel() -> bool:
    """Whether code runs inside an IPython kernel (e.g. a Jupyter notebook).

    Returns:
        True when IPython is already imported and has a kernel.

    Examples:
        >>> in_ipython_kernel()
        False
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def plot_history(
    history: Sequence[dict[str, Any]],
    keys: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Plots metrics against ``step``, one panel per key.

    Args:
        history: Rows with ``step`` and metric keys (``TrainResult.history``).
        keys: Metrics to plot (default: every numeric key except ``step``).
        title: Figure title.

    Returns:
        A matplotlib ``Figure`` (not shown; a notebook displays it when returned).

    Raises:
        ValueError: If no key has any value.

    Examples:
        >>> fig = plot_history([{"step": 1, "train/loss": 2.0}, {"step": 2, "train/loss": 1.0}])
        >>> len(fig.axes)
        1
    """
    if keys is None:
        keys = sorted({k for row in history for k, v in row.items() if k != "step" and isinstance(v, (int, float))})
    keys = [k for k in keys if any(k in row for row in history)]
    if not keys:
        raise ValueError("nothing to plot: history has no matching metric")
    fig = Figure(figsize=(3.2 * min(len(keys), 3), 2.6 * ((len(keys) + 2) // 3)), layout="constrained")
    for i, key in enumerate(keys):
        ax = fig.add_subplot((len(keys) + 2) // 3, min(len(keys), 3), i + 1)
        pts = [(row["step"], row[key]) for row in history if key in row]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="." if len(pts) < 30 else None)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


class MetricLogger:
    """Writes metrics to JSONL and keeps them in memory; optional live plot.

    Args:
        log_dir: ``logger.log_dir`` (None: keep in memory only).
        live: Live plot in notebooks; None means "only inside an IPython kernel".
        live_keys: Metrics shown in the live plot (None: all).
        live_interval: Redraw the live plot at most this often, in seconds (drawing a
            figure costs more than a training step of the tiny models).
        callback: Called with every logged row (e.g. ``training_dashboard().callback``).

    Examples:
        >>> MetricLogger(None, live=False).live
        False
    """

    def __init__(
        self,
        log_dir: str | Path | None,
        live: bool | None = None,
        live_keys: Sequence[str] | None = None,
        live_interval: float = 2.0,
        callback: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Creates the log directory (if any) and decides on live plotting.

        Args:
            log_dir: Directory for ``metrics.jsonl`` or None.
            live: Live plotting switch (None: auto).
            live_keys: Metrics in the live plot.
            live_interval: Seconds between redraws.
            callback: Called with every logged row.

        Examples:
            >>> MetricLogger(None).history
            []
        """
        self.history: list[dict[str, Any]] = []
        self.path: Path | None = None
        if log_dir is not None:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            self.path = Path(log_dir) / "metrics.jsonl"
        self.live = in_ipython_kernel() if live is None else live
        self.live_keys = live_keys
        self.live_interval = live_interval
        self._drawn_at = float("-inf")
        self.callback = callback
        self._handle: Any = None

    def log(self, metrics: dict[str, float], step: int, prefix: str = "train") -> None:
        """Records ``metrics`` (keys become ``prefix/key``) at ``step``.

        Args:
            metrics: Metric name to value.
            step: Training step.
            prefix: ``train`` or ``val`` (or anything else).

        Examples:
            >>> log = MetricLogger(None, live=False); log.log({"a": 1}, 0, "val")
            >>> log.history[0]["val/a"]
            1
        """
        row = {"step": step, **{f"{prefix}/{k}": v for k, v in metrics.items()}}
        self.history.append(row)
        if self.path is not None:
            with self.path.open("a") as fh:
                fh.write(json.dumps(row, default=float) + "\n")
        if self.callback is not None:
            self.callback(row)
        if self.live and time.monotonic() - self._drawn_at >= self.live_interval:
            self.refresh()

    def refresh(self) -> None:
        """Redraws the live plot (no-op outside an IPython kernel).

        Examples:
            >>> MetricLogger(None, live=False).refresh()
        """
        if not self.live or not self.history:
            return
        display = sys.modules["IPython"].display
        try:
            fig = plot_history(self.history, self.live_keys)
        except ValueError:
            return
        if self._handle is None:
            self._handle = display.display(fig, display_id=True)
        else:
            self._handle.update(fig)
        self._drawn_at = time.monotonic()


@dataclass
class TrainResult:
    """What every trainer returns.

    Attributes:
        model: The trained model.
        history: Metric rows (``step`` plus ``train/...`` and ``val/...`` keys).
        final_metrics: Last validation metrics (without prefix).
        checkpoint_dir: Where checkpoints went (None if disabled).
        wall_time_s: Seconds spent in the training call.

    Examples:
        >>> TrainResult(None, [{"step": 1, "val/accuracy": 0.5}]).metric("val/accuracy")
        [0.5]
    """

    model: Any
    history: list[dict[str, Any]] = field(default_factory=list)
    final_metrics: dict[str, float] = field(default_factory=dict)
    checkpoint_dir: str | None = None
    wall_time_s: float = 0.0

    def metric(self, key: str) -> list[float]:
        """All logged values of one metric, in step order.

        Args:
            key: Full key such as ``"val/accuracy"``.

        Returns:
            The values.

        Examples:
            >>> TrainResult(None, [{"step": 0, "train/loss": 3.0}]).metric("train/loss")
            [3.0]
        """
        return [row[key] for row in self.history if key in row]

    def plot(self, keys: Sequence[str] | None = None, title: str | None = None) -> Figure:
        """Learning curves of this run (see :func:`plot_history`).

        Args:
            keys: Metrics to plot.
            title: Figure title.

        Returns:
            A matplotlib Figure.

        Examples:
            >>> TrainResult(None, [{"step": 0, "train/loss": 3.0}]).plot().axes[0].get_title()
            'train/loss'
        """
        return plot_history(self.history, keys, title)
