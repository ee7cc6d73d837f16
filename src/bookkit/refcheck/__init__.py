"""``bookkit.refcheck``: warn about NeMo RL names, paths and config keys that do not exist.

Every page source (Markdown, and the cell sources of notebooks) is checked
against the names-only manifest written by ``bookkit manifest``:

* dotted names ``nemo_rl.module[.Class[.method]]`` and ``from nemo_rl.x import y``;
* paths under ``examples/``, ``tools/`` and ``nemo_rl/`` (``--config`` files included);
* ``key.sub=value`` overrides on command lines that run a ``.py`` script or pass
  ``--config``: checked against that config, or all configs when there is none;
* ``section.key=value`` in an inline code span of prose (against all configs);
* keys in YAML code blocks whose first line declares the recipe they modify:
  ``# recipe: examples/configs/grpo_math_1B.yaml``.

Unknown references produce a warning at ``(docname, line)`` naming the closest
known one. Opt-outs: ``refcheck: ignore`` anywhere on a line (for example
``<!-- refcheck: ignore -->`` or a ``# refcheck: ignore`` shell/YAML comment),
``refcheck: off`` ... ``refcheck: on`` around a region, or ``refcheck: false``
in the page's front matter (or notebook metadata). Silence the whole check with
``suppress_warnings = ["bookkit.refcheck"]`` or ``bookkit_refcheck_enabled: false``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from bookkit import __version__
from bookkit.core.io import book_path, write_if_changed
from bookkit.core.settings import read, register, setting
from bookkit.core.store import ENV_VERSION, DocStore, enable, run_state
from bookkit.refcheck.pages import page_text
from bookkit.refcheck.scan import Index, scan

logger = logging.getLogger(__name__)
REPORT = "_bookkit/refcheck.json"
#: docname -> ``{"checked": bool, "unknown": [[line, kind, name, suggestion], ...]}``.
RESULTS = DocStore("refcheck")


@dataclass
class Refcheck:
    """Run state: the manifest index this build checks against (None: not checking)."""

    index: Index | None = None


@dataclass(frozen=True)
class RefcheckSettings:
    refcheck_enabled: bool = setting(True, "Check NeMo RL names, paths and config keys against the manifest.")
    refcheck_manifest: str = setting(
        "_data/nemo_rl/v0.7.0.json",
        "Manifest written by `bookkit manifest`; relative paths are relative to the book root (confdir).",
    )


# ------------------------------------------------------------- helpers ----

def _index(app: Sphinx) -> Index | None:
    return run_state(app, Refcheck).index


# -------------------------------------------------------------- events ----

def load_manifest(app: Sphinx) -> None:
    cfg = read(app.config, RefcheckSettings)
    run_state(app, Refcheck).index = None
    if not cfg.refcheck_enabled:
        return
    path = book_path(app, cfg.refcheck_manifest)
    if not path.is_file():
        logger.warning("refcheck: manifest %s not found; references are not checked "
                       "(run `bookkit manifest`)", path, type="bookkit", subtype="refcheck")
        return
    run_state(app, Refcheck).index = Index(json.loads(path.read_text(encoding="utf-8")))


def check_source(app: Sphinx, docname: str, source: list[str]) -> None:
    index = _index(app)
    if index is None:
        return
    try:
        text, enabled, labels = page_text(Path(app.env.doc2path(docname)), source[0])
    except ValueError:  # a notebook that is not JSON: the notebook parser reports it
        return
    findings = scan(text, index) if enabled else []
    for f in findings:
        where = f" [{labels[f.line - 1]}]" if f.line <= len(labels) else ""
        logger.warning(f.message(index.tag) + where, location=(docname, f.line),
                       type="bookkit", subtype="refcheck")
    RESULTS.set(app.env, docname, {
        "checked": enabled,
        "unknown": [[f.line, f.kind, f.name, f.suggestion] for f in findings],
    })


def write_report(app: Sphinx, exception: Exception | None) -> None:
    """``_bookkit/refcheck.json`` in the output: per page, the unknown references (CI artefact)."""
    if exception is not None or _index(app) is None or app.builder.format != "html":
        return
    data = RESULTS.of(app.env)
    report = {
        "tag": _index(app).tag,
        "pages_checked": sum(1 for v in data.values() if v["checked"]),
        "pages_opted_out": sorted(d for d, v in data.items() if not v["checked"]),
        "unknown": {d: v["unknown"] for d, v in sorted(data.items()) if v["unknown"]},
    }
    write_if_changed(Path(app.outdir, REPORT), json.dumps(report, indent=1, sort_keys=True) + "\n")


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, RefcheckSettings)
    enable(app)
    app.connect("builder-inited", load_manifest)
    app.connect("source-read", check_source)
    app.connect("build-finished", write_report)
    return {"version": __version__, "env_version": ENV_VERSION, "parallel_read_safe": True,
            "parallel_write_safe": True}
