"""``bookkit notebooks`` (make notebooks-full): execute every notebook for one profile."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from bookkit.execution import nbrun


def notebook(path: Path, *code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T")] + [nbformat.v4.new_code_cell(c) for c in code]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_find_notebooks_skips_build_and_checkpoints(tmp_path):
    for rel in ("notebooks/a.ipynb", "b.ipynb", "_build/executed-full/notebooks/a.ipynb",
                "notebooks/.ipynb_checkpoints/a-checkpoint.ipynb", "_data/x.ipynb"):
        notebook(tmp_path / rel)
    found = [p.relative_to(tmp_path).as_posix() for p in nbrun.find_notebooks(tmp_path)]
    assert found == ["b.ipynb", "notebooks/a.ipynb"]


def test_a_notebook_outside_the_book_is_refused(tmp_path, capsys):
    stray = notebook(tmp_path / "elsewhere.ipynb")
    (tmp_path / "book").mkdir()
    with pytest.raises(SystemExit):
        nbrun.main(["--book", str(tmp_path / "book"), str(stray)])
    assert "is not a notebook file under" in capsys.readouterr().err


@pytest.mark.slow
def test_full_profile_run_saves_outputs_outcomes_and_status(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("RL_LAB_PROFILE", raising=False)
    book = tmp_path / "book"
    notebook(book / "notebooks" / "good.ipynb",
             "import os\nprint('profile', os.environ['RL_LAB_PROFILE'])",
             "import ipywidgets\nipywidgets.IntSlider(value=4)",
             "from rl_lab.outcomes import record_outcomes\nrecord_outcomes({'final_accuracy': 0.5})")
    notebook(book / "notebooks" / "broken.ipynb", "raise RuntimeError('boom')")
    out = tmp_path / "executed"
    code = nbrun.main(["--book", str(book), "--out", str(out)])
    assert code == 1, "a failed notebook makes the command fail"
    assert "1 ok, 1 failed" in capsys.readouterr().out

    executed = nbformat.read(out / "notebooks" / "good.ipynb", as_version=4)
    assert "profile full" in executed.cells[1].outputs[0]["text"], "the default profile is full"
    assert "application/vnd.jupyter.widget-state+json" in executed.metadata["widgets"]
    outcome = json.loads((out / "outcomes" / "good.json").read_text())
    assert outcome == {"notebook": "good", "profile": "full", "outcomes": {"final_accuracy": 0.5}}

    status = json.loads((out / "status.json").read_text())
    assert status["notebooks/good.ipynb"]["status"] == "ok"
    assert status["notebooks/good.ipynb"]["profile"] == "full"
    assert set(status["notebooks/good.ipynb"]["versions"]) == {"torch", "transformers", "rl_lab"}
    assert status["notebooks/broken.ipynb"]["status"] == "failed"
    assert "RuntimeError: boom" in status["notebooks/broken.ipynb"]["error"]
    assert not (book / "notebooks" / "good.ipynb").read_text().count('"outputs": [\n     {'), \
        "the source notebook is left untouched"
