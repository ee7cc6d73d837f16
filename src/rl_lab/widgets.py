"""Interactive ipywidgets demos (imported lazily: only this module needs ipywidgets).

* :func:`clipped_objective_widget` -- the clipped policy-gradient objective as a
  function of the probability ratio, with sliders for the clip range, the dual
  clip and the advantage;
* :func:`advantage_calculator_widget` -- GRPO advantages for a group of rewards;
* :func:`training_dashboard` -- a live learning-curve panel fed by a trainer's
  ``callback``.

Every widget renders its plot to PNG bytes in an ``ipywidgets.Image`` so it also
works headless (tests change a slider and check the image or text changed).

Examples:
    >>> w = advantage_calculator_widget()
    >>> w.rewards.value = "1, 0, 0, 0"  # mean 0.25, std 0.5: (1 - 0.25) / 0.5 = 1.5
    >>> "+1.5000" in w.table.value
    True
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import torch
from matplotlib.figure import Figure

from rl_lab.advantages import grpo_advantages
from rl_lab.config import LossFnConfig
from rl_lab.logger import plot_history
from rl_lab.losses import clipped_pg_loss


def _ipywidgets() -> Any:
    """Imports ipywidgets on first use with a helpful error if it is missing."""
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("rl_lab.widgets needs ipywidgets (pip install ipywidgets)") from err
    return ipywidgets


def figure_png(fig: Figure) -> bytes:
    """Renders a matplotlib Figure to PNG bytes (no pyplot, no display needed).

    Args:
        fig: The figure.

    Returns:
        PNG file contents.

    Examples:
        >>> figure_png(Figure())[:4]
        b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()


def clipped_objective_curve(
    advantage: float, ratio_clip_min: float, ratio_clip_max: float, ratio_clip_c: float | None, num: int = 121
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token objective (minus the loss) of :func:`rl_lab.losses.clipped_pg_loss` over ratios.

    Args:
        advantage: The advantage ``A``.
        ratio_clip_min: Lower clip ``epsilon``.
        ratio_clip_max: Upper clip ``epsilon``.
        ratio_clip_c: Dual clip constant or None.
        num: Points between ratio 0 and 3.

    Returns:
        ``(ratios [num], objective [num])``.

    Examples:
        >>> r, obj = clipped_objective_curve(1.0, 0.2, 0.2, None, num=4)  # ratios 0, 1, 2, 3
        >>> [round(v, 4) for v in obj.tolist()]  # A * min(r, 1.2) for A > 0
        [0.0, 1.0, 1.2, 1.2]
    """
    ratios = torch.linspace(0.0, 3.0, num)
    cfg = LossFnConfig(ratio_clip_min=ratio_clip_min, ratio_clip_max=ratio_clip_max, ratio_clip_c=ratio_clip_c, reference_policy_kl_penalty=0.0)
    logprobs = torch.log(ratios.clamp(min=1e-12))[:, None]
    objective = [
        -clipped_pg_loss(logprobs[i : i + 1], torch.zeros(1, 1), torch.tensor([[advantage]]), torch.ones(1, 1), cfg=cfg)[0].item()
        for i in range(num)
    ]
    return ratios, torch.tensor(objective)


def clipped_objective_widget(advantage: float = 1.0, ratio_clip_min: float = 0.2, ratio_clip_max: float = 0.2) -> Any:
    """Sliders for ``A``, ``ratio_clip_min``/``max`` and ``ratio_clip_c``; plot of the objective.

    Args:
        advantage: Initial advantage.
        ratio_clip_min: Initial lower clip.
        ratio_clip_max: Initial upper clip.

    Returns:
        An ``ipywidgets.VBox`` with attributes ``advantage``, ``clip_min``,
        ``clip_max``, ``clip_c`` (sliders; ``clip_c`` 0 means off), ``image``
        (the plot) and ``curve`` (latest ``(ratios, objective)``).

    Examples:
        >>> w = clipped_objective_widget()
        >>> before = w.image.value
        >>> w.clip_max.value = 0.5
        >>> w.image.value != before
        True
    """
    W = _ipywidgets()
    sliders = {
        "advantage": W.FloatSlider(value=advantage, min=-2.0, max=2.0, step=0.1, description="advantage A"),
        "clip_min": W.FloatSlider(value=ratio_clip_min, min=0.0, max=0.9, step=0.05, description="ratio_clip_min"),
        "clip_max": W.FloatSlider(value=ratio_clip_max, min=0.0, max=2.0, step=0.05, description="ratio_clip_max"),
        "clip_c": W.FloatSlider(value=0.0, min=0.0, max=5.0, step=0.5, description="ratio_clip_c"),
    }
    image = W.Image(format="png")
    box = W.VBox([*sliders.values(), image])

    def redraw(_: Any = None) -> None:
        a = sliders["advantage"].value
        c = sliders["clip_c"].value
        ratios, obj = clipped_objective_curve(a, sliders["clip_min"].value, sliders["clip_max"].value, c if c > 1 else None)
        fig = Figure(figsize=(5, 3), layout="constrained")
        ax = fig.add_subplot()
        ax.plot(ratios, a * ratios, ls="--", color="gray", label="unclipped A*r")
        ax.plot(ratios, obj, lw=2, label="clipped objective")
        ax.axvspan(1 - sliders["clip_min"].value, 1 + sliders["clip_max"].value, alpha=0.15)
        ax.set_xlabel("probability ratio r")
        ax.set_ylabel("objective (= -loss)")
        ax.legend(fontsize=8)
        box.curve = (ratios, obj)
        image.value = figure_png(fig)

    for s in sliders.values():
        s.observe(redraw, names="value")
    for name, s in sliders.items():
        setattr(box, name, s)
    box.image = image
    redraw()
    return box


def advantage_calculator_widget(rewards: Sequence[float] = (1.0, 0.0, 0.0, 1.0)) -> Any:
    """A text box of group rewards and two switches; shows GRPO advantages.

    Args:
        rewards: Initial rewards of one group.

    Returns:
        An ``ipywidgets.VBox`` with ``rewards`` (Text, comma separated),
        ``normalize`` and ``leave_one_out`` (Checkboxes), ``table`` (HTML) and
        ``advantages`` (latest tensor).

    Examples:
        >>> w = advantage_calculator_widget([1, 1, 1])
        >>> w.advantages.tolist()  # zero-variance group
        [0.0, 0.0, 0.0]
    """
    W = _ipywidgets()
    text = W.Text(value=", ".join(str(r) for r in rewards), description="rewards")
    normalize = W.Checkbox(value=True, description="grpo.normalize_rewards")
    loo = W.Checkbox(value=False, description="grpo.use_leave_one_out_baseline")
    table = W.HTML()
    box = W.VBox([text, normalize, loo, table])

    def recompute(_: Any = None) -> None:
        try:
            values = [float(x) for x in text.value.replace(";", ",").split(",") if x.strip()]
        except ValueError:
            table.value = "<i>enter numbers separated by commas</i>"
            return
        if not values:
            table.value = "<i>no rewards</i>"
            return
        adv = grpo_advantages(torch.tensor(values), len(values), normalize.value, loo.value)
        box.advantages = adv
        rows = "".join(f"<tr><td>{i}</td><td>{r:g}</td><td>{a:+.4f}</td></tr>" for i, (r, a) in enumerate(zip(values, adv.tolist())))
        table.value = f"<table><tr><th>sample</th><th>reward</th><th>advantage</th></tr>{rows}</table>"

    for w in (text, normalize, loo):
        w.observe(recompute, names="value")
    box.rewards, box.normalize, box.leave_one_out, box.table = text, normalize, loo, table
    recompute()
    return box


def training_dashboard(keys: Sequence[str] = ("train/loss", "val/accuracy"), every: int = 5) -> Any:
    """A live learning-curve panel; pass ``dashboard.callback`` to a trainer.

    Args:
        keys: Metrics to plot.
        every: Redraw after this many logged rows.

    Returns:
        An ``ipywidgets.VBox`` with ``image`` (the plot), ``status`` (HTML with
        the latest values), ``history`` (rows received) and ``callback(row)``.

    Examples:
        >>> d = training_dashboard(every=1)
        >>> d.callback({"step": 1, "train/loss": 2.0})
        >>> "train/loss" in d.status.value
        True
    """
    W = _ipywidgets()
    image = W.Image(format="png")
    status = W.HTML(value="<i>waiting for metrics</i>")
    box = W.VBox([status, image])
    box.history = []

    def callback(row: dict[str, Any]) -> None:
        box.history.append(dict(row))
        latest = {k: v for k, v in row.items() if k in keys}
        if latest:
            status.value = f"step {row.get('step')}: " + ", ".join(f"{k}={v:.4g}" for k, v in latest.items())
        if len(box.history) % every == 0:
            try:
                image.value = figure_png(plot_history(box.history, keys))
            except ValueError:
                pass

    box.image, box.status, box.callback = image, status, callback
    return box
