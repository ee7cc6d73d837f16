"""Widgets work headless; logger writes JSONL and plots; rl_lab avoids notebook machinery."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from matplotlib.figure import Figure

from rl_lab.logger import MetricLogger, plot_history


def test_clipped_objective_widget_reacts_to_sliders() -> None:
    from rl_lab.widgets import clipped_objective_widget

    w = clipped_objective_widget()
    before_img, before_curve = w.image.value, w.curve[1].clone()
    w.clip_max.value = 0.6  # upper clip now at ratio 1.6
    assert w.image.value != before_img
    assert w.curve[1].max().item() > before_curve.max().item()  # A=1: plateau rises from 1.2 to 1.6
    w.advantage.value = -1.0
    w.clip_c.value = 3.0
    assert w.curve[1].min().item() >= -3.0 - 1e-6  # dual clip bounds the loss at -A*c = 3


def test_advantage_calculator_widget() -> None:
    from rl_lab.widgets import advantage_calculator_widget

    w = advantage_calculator_widget([1, 0, 0, 1])
    first = w.table.value
    w.leave_one_out.value = True
    assert w.table.value != first
    w.normalize.value = False
    assert [round(a, 4) for a in w.advantages.tolist()] == [0.6667, -0.6667, -0.6667, 0.6667]
    w.rewards.value = "oops"
    assert "numbers" in w.table.value


def test_training_dashboard_and_trainer_callback() -> None:
    from rl_lab.sft import train_sft
    from rl_lab.widgets import training_dashboard

    dash = training_dashboard(every=1)
    train_sft(overrides=["sft.max_num_steps=2", "sft.val_at_end=false", "logger.log_dir=null",
                         "rl_lab.model.hidden_size=32", "rl_lab.model.num_layers=1"], progress=False, callback=dash.callback)
    assert len(dash.history) == 2 and dash.image.value and "train/loss" in dash.status.value


def test_logger_jsonl_and_plot(tmp_path: Path) -> None:
    log = MetricLogger(tmp_path, live=False)
    log.log({"loss": 2.0}, 1)
    log.log({"accuracy": 0.5}, 1, "val")
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows == [{"step": 1, "train/loss": 2.0}, {"step": 1, "val/accuracy": 0.5}]
    fig = plot_history(log.history, ["train/loss", "val/accuracy"], title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2


def test_rl_lab_does_not_import_notebook_machinery() -> None:
    code = (
        "import sys, rl_lab, rl_lab.sft, rl_lab.dpo, rl_lab.grpo, rl_lab.train, rl_lab.model_cache;"
        "bad=[m for m in ('sphinx','bookkit','ipywidgets','IPython','jupyter_client','ipykernel') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_live_plot_redraws_at_most_once_per_interval(monkeypatch):
    # Drawing a figure costs more than a smoke-profile training step: a run logging 100 rows
    # within a second redraws once (the first row), not once per few rows.
    import sys
    import types

    shown = []

    class Handle:
        def update(self, fig):
            shown.append("update")

    display = types.SimpleNamespace(display=lambda fig, display_id=True: shown.append("display") or Handle())
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(display=display, version_info=(9, 0), get_ipython=lambda: None))
    log = MetricLogger(None, live=True, live_interval=60.0)
    for step in range(100):
        log.log({"loss": 1.0 / (step + 1)}, step)
    assert shown == ["display"]
    log.refresh()  # the trainer's final refresh always draws the whole history
    assert shown == ["display", "update"]
    eager = MetricLogger(None, live=True, live_interval=0.0)
    for step in range(3):
        eager.log({"loss": 1.0}, step)
    assert shown.count("display") == 2 and shown.count("update") == 3
