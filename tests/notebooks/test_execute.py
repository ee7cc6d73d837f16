"""Every notebook runs end to end under the smoke profile (slow: minutes in total).

Each notebook is copied to a temporary folder and executed there with nbclient,
so the committed source is never touched and nothing is written under book/.
When the book's build has just executed the same code (its jupyter-cache, filled by
nbclient under the smoke profile, holds a record whose code cells match the notebook),
the test checks that executed notebook instead of running it a second time; set
``RL_LAB_REEXECUTE=1`` to always execute afresh.
The test asserts what a reader sees: the profile line, a learning-curve image,
and, in the one ``raises-exception`` cell, rl_lab's ConfigError as a one-line
message naming the bad key and its fix, not a traceback through rl_lab.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "book" / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = int(yaml.safe_load((REPO / "book" / "_config.yml").read_text())["execute"]["timeout"])
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_env(tmp_path_factory):
    """Environment for the kernels: smoke profile, one thread, outcomes kept out of book/_build.

    The model cache is rl_lab's default one: its entries are keyed by a hash of the
    recipe that trains them, so sharing it with builds and other runs is safe and saves
    retraining the starting checkpoints.
    """
    mp = pytest.MonkeyPatch()
    mp.setenv("RL_LAB_PROFILE", "smoke")
    mp.setenv("OMP_NUM_THREADS", "1")
    mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    mp.setenv("RL_LAB_OUTCOMES_DIR", str(tmp_path_factory.mktemp("outcomes")))
    yield
    mp.undo()


def run_notebook(path: Path, workdir: Path) -> tuple[nbformat.NotebookNode, float]:
    copy = workdir / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def cached_run(path: Path) -> nbformat.NotebookNode | None:
    """The build's executed copy of ``path`` when its code is unchanged and it ran under smoke."""
    if os.environ.get("RL_LAB_REEXECUTE") == "1":
        return None
    cache_dir = REPO / "book" / "_build" / ".jupyter_cache"
    if not cache_dir.is_dir():
        return None
    from jupyter_cache import get_cache

    try:
        record = get_cache(str(cache_dir)).match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:  # jupyter-cache raises, rather than returning None, when no record has this code
        return None
    if record is None:
        return None
    nb = get_cache(str(cache_dir)).get_cache_bundle(record.pk).nb
    text = "\n".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")
    return nb if "rl_lab profile=smoke" in text else None


def outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_under_smoke(path, tmp_path, smoke_env):
    nb = cached_run(path)
    if nb is not None:
        seconds, how = 0.0, "checked the build's executed copy"
    else:
        (nb, seconds), how = run_notebook(path, tmp_path), "executed"
    code = [c for c in nb.cells if c.cell_type == "code"]
    everything = "\n".join(outputs_text(c) for c in code)
    assert "rl_lab profile=smoke device=cpu" in everything, "the notebook must print its profile and hardware"
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the notebook must draw its learning curve"

    raising = [c for c in code if "raises-exception" in c.metadata.get("tags", [])]
    assert len(raising) == 1
    errors = [o for o in raising[0].outputs if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "ConfigError", f"expected rl_lab's ConfigError, got {errors}"
    message = errors[0]["evalue"]
    # an unknown key, a wrong type, one key that needs another, or a value outside the allowed
    # choices ("ppo.adv_estimator.name='grpo'; PPO supports [...]"): each names the key it is about
    named = r"(unknown config key|expects|needs) [\w.]+|^[\w.]+=\S+; (choose one of|\w+ supports) \["
    assert re.search(named, message), message
    assert "source:" in message, f"the message must say where the bad value came from: {message}"
    shown = ANSI.sub("", "\n".join(errors[0]["traceback"]))
    assert "File " not in shown and "rl_lab/config.py" not in shown and len(errors[0]["traceback"]) <= 2, \
        f"the reader should see the one-line message, not a traceback into rl_lab:\n{shown}"

    others = [o for c in code if c not in raising for o in c.outputs if o["output_type"] == "error"]
    assert not others
    print(f"{path.stem}: {how} ({seconds:.1f} s)")
