"""Files bookkit reads and writes: the package's assets, the book's data files, stable outputs.

* :data:`STATIC`, :data:`TEMPLATES`, :data:`SCHEMAS`: the folders shipped inside the
  ``bookkit`` package (JavaScript and CSS served under ``_static``, theme template
  overrides, JSON Schemas), wherever the extension that uses them lives.
* :func:`book_path`: a data file named relative to the book root.
* :func:`write_if_changed`: every output bookkit writes goes through it, so a rebuild
  that changes nothing touches no file (mtimes stay, static hosts re-upload nothing).
* :func:`dumps`: the one JSON layout of bookkit's outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parents[1]
STATIC = PACKAGE / "static"
TEMPLATES = PACKAGE / "templates"
SCHEMAS = PACKAGE / "schemas"


def book_path(app: Any, relative: str) -> Path:
    """A data file of the book: relative to the confdir (the book root under jupyter-book),
    else to the source dir (a conf.py kept elsewhere with ``sphinx-build -c``)."""
    for base in (app.confdir, app.srcdir):
        if base and Path(base, relative).exists():
            return Path(base, relative).resolve()
    return Path(app.confdir or app.srcdir, relative).resolve()


def write_if_changed(path: Path | str, text: str) -> bool:
    """Write ``text`` to ``path`` unless it already holds exactly that; True when written."""
    path = Path(path)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def dumps(data: Any) -> str:
    """The one JSON layout of bookkit outputs (stable, UTF-8, one key per line)."""
    return json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n"
