"""Record a notebook's key outcomes so a change in what a tutorial teaches is noticed.

A notebook ends with one call such as::

    rl_lab.record_outcomes({"final_accuracy": acc, "mean_reward": reward})

which writes ``<outcomes dir>/<notebook>.json``. The book's test suite compares
those numbers with ``tests/notebooks/expected_outcomes.json`` (value and
tolerance per key), so a silent change in a tutorial's result fails CI.

Only the standard library is used, and nothing here depends on how the notebook
is run: the build, ``make notebooks-full`` and the tests tell this function
where to write through two environment variables.

Attributes:
    OUTCOMES_DIR_ENV: Folder for the JSON files (set by the book build and the runners).
    NOTEBOOK_ENV: Name of the running notebook, its file stem (set by the same).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Mapping

OUTCOMES_DIR_ENV = "RL_LAB_OUTCOMES_DIR"
NOTEBOOK_ENV = "RL_LAB_NOTEBOOK"
PROFILE_ENV = "RL_LAB_PROFILE"


def _notebook_name(notebook: str | None) -> str:
    name = notebook or os.environ.get(NOTEBOOK_ENV) or os.environ.get("JPY_SESSION_NAME") or "notebook"
    return Path(name).stem if name.endswith(".ipynb") else Path(name).name


def _default_dir(start: Path) -> Path:
    """``<book>/_build/outcomes`` for the book that holds ``start``, else ``./rl_lab_outcomes``."""
    for folder in (start, *start.parents):
        if (folder / "_toc.yml").is_file():
            return folder / "_build" / "outcomes"
        if (folder / "book" / "_toc.yml").is_file():
            return folder / "book" / "_build" / "outcomes"
    return start / "rl_lab_outcomes"


def _profile() -> str:
    chosen = os.environ.get(PROFILE_ENV, "").strip()
    if chosen:
        return chosen
    torch = sys.modules.get("torch")  # never imported here; only asked if the notebook already did
    return "full" if torch is not None and torch.cuda.is_available() else "smoke"


def outcomes_path(notebook: str | None = None, directory: str | os.PathLike | None = None) -> Path:
    """Where :func:`record_outcomes` writes (or wrote) a notebook's numbers.

    Args:
        notebook: Notebook name, as for :func:`record_outcomes`.
        directory: Folder, as for :func:`record_outcomes`.

    Returns:
        ``<outcomes dir>/<notebook>.json``.

    Examples:
        >>> outcomes_path("grpo-math.ipynb", "/tmp/out").as_posix()
        '/tmp/out/grpo-math.json'
    """
    folder = Path(directory or os.environ.get(OUTCOMES_DIR_ENV) or _default_dir(Path.cwd()))
    return folder / f"{_notebook_name(notebook)}.json"


def _glue(values: Mapping[str, float]) -> None:
    """Glues each number into the running notebook under its name (MyST-NB), without displaying it.

    The page's prose then quotes the executed value with MyST-NB's ``glue:text`` role (key
    ``accuracy_after``, format ``.1%``) instead of a number typed by hand that a rerun on another machine could contradict.
    Outside a Jupyter kernel, or without MyST-NB installed, nothing happens.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None or ipython.get_ipython() is None or not hasattr(ipython.get_ipython(), "kernel"):
        return
    try:
        from myst_nb import glue
    except ImportError:
        return
    for key, value in values.items():
        glue(key, value, display=False)


def record_outcomes(outcomes: Mapping[str, float], notebook: str | None = None,
                    directory: str | os.PathLike | None = None) -> None:
    """Writes a notebook's key numbers to ``<outcomes dir>/<notebook>.json`` and glues them into the page.

    The folder is ``directory``, else ``$RL_LAB_OUTCOMES_DIR`` when set, else ``_build/outcomes`` of
    the book containing the current directory, else ``./rl_lab_outcomes``
    (:func:`outcomes_path` tells). The file holds the notebook name, the ``rl_lab``
    profile (``$RL_LAB_PROFILE``, else ``full`` when torch sees a GPU, else ``smoke``)
    and the numbers, with sorted keys and no timestamp, so identical results give
    identical files. Inside a Jupyter kernel each number is also glued (MyST-NB) under
    its own name, so the notebook's Markdown can quote it with MyST-NB's ``glue:text`` role
    (the key, then a format such as ``.1%``).
    Nothing is returned, so a cell that ends with this call shows no output.

    Args:
        outcomes: Outcome name to number, for example
            ``{"final_accuracy": 0.93, "mean_reward": 0.71}``. Names are
            snake_case; values are finite ints or floats (tensors: call
            ``.item()`` first).
        notebook: Notebook name; defaults to ``$RL_LAB_NOTEBOOK``, then
            ``$JPY_SESSION_NAME`` (set by JupyterLab), then ``"notebook"``.
        directory: Folder to write to instead of the default described above.

    Raises:
        TypeError: If ``outcomes`` is not a mapping, a name is not a string or a
            value is not a real number.
        ValueError: If ``outcomes`` is empty or a value is NaN or infinite.

    Examples:
        >>> import json, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> record_outcomes({"final_accuracy": 0.5}, "demo", folder)
        >>> json.loads(outcomes_path("demo", folder).read_text())["outcomes"]
        {'final_accuracy': 0.5}
    """
    if not isinstance(outcomes, Mapping):
        raise TypeError(f"record_outcomes expects a dict of name -> number, got {type(outcomes).__name__}")
    if not outcomes:
        raise ValueError("record_outcomes got no outcomes; pass at least one, e.g. {'final_accuracy': acc}")
    values: dict[str, float] = {}
    for key, value in outcomes.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"outcome name {key!r} must be a non-empty string such as 'final_accuracy'")
        if hasattr(value, "item") and not isinstance(value, (int, float)):
            value = value.item()  # a 0-d tensor or numpy scalar
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"outcome {key!r} has the value {value!r} of type {type(value).__name__}; "
                            "pass a plain number (use float(x) or x.item())")
        if not math.isfinite(value):
            raise ValueError(f"outcome {key!r} is {value!r}; only finite numbers can be compared")
        values[key] = value
    path = outcomes_path(notebook, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"notebook": path.stem, "profile": _profile(), "outcomes": values}, indent=2, sort_keys=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    _glue(values)
