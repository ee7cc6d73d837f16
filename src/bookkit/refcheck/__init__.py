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
from bookkit.core.pages import FrontMatterError, parse_markdown, parse_notebook
from bookkit.refcheck.scan import Index, book_path, scan
from bookkit.core.settings import read, register, setting

logger = logging.getLogger(__name__)
REPORT = "_bookkit/refcheck.json"


@dataclass(frozen=True)
class RefcheckSettings:
    refcheck_enabled: bool = setting(True, "Check NeMo RL names, paths and config keys against the manifest.")
    refcheck_manifest: str = setting(
        "_data/nemo_rl/v0.7.0.json",
        "Manifest written by `bookkit manifest`; relative paths are relative to the book root (confdir).",
    )


# ------------------------------------------------------------- helpers ----

def _index(app: Sphinx) -> Index | None:
    return getattr(app, "_bookkit_refcheck_index", None)


def _page_text(path: Path, source: str) -> tuple[str, bool, list[str]]:
    """The text to scan (notebook: cell sources, joined), whether the page opted in,
    and for notebooks a "cell N, line M" label per line of that text."""
    is_nb = path.suffix == ".ipynb"
    try:
        fm = parse_notebook(path, source) if is_nb else parse_markdown(path, source)
        enabled = fm.data.get("refcheck", True) is not False
    except FrontMatterError:  # bookkit.content.frontmatter reports it
        enabled = True
    if not is_nb:
        return source, enabled, []
    cells = [c.get("source", "") for c in json.loads(source).get("cells", [])]
    texts = ["".join(c) if isinstance(c, list) else c for c in cells]
    labels = [f"cell {i}, line {j}" for i, t in enumerate(texts, 1)
              for j in range(1, len(t.split("\n")) + 1)]
    return "\n".join(texts), enabled, labels


# -------------------------------------------------------------- events ----

def load_manifest(app: Sphinx) -> None:
    cfg = read(app.config, RefcheckSettings)
    app._bookkit_refcheck_index = None  # type: ignore[attr-defined]
    if not cfg.refcheck_enabled:
        return
    path = book_path(app, cfg.refcheck_manifest)
    if not path.is_file():
        logger.warning("refcheck: manifest %s not found; references are not checked "
                       "(run `bookkit manifest`)", path, type="bookkit", subtype="refcheck")
        return
    app._bookkit_refcheck_index = Index(json.loads(path.read_text(encoding="utf-8")))  # type: ignore[attr-defined]


def check_source(app: Sphinx, docname: str, source: list[str]) -> None:
    index = _index(app)
    if index is None:
        return
    try:
        text, enabled, labels = _page_text(Path(app.env.doc2path(docname)), source[0])
    except ValueError:  # a notebook that is not JSON: the notebook parser reports it
        return
    findings = scan(text, index) if enabled else []
    for f in findings:
        where = f" [{labels[f.line - 1]}]" if f.line <= len(labels) else ""
        logger.warning(f.message(index.tag) + where, location=(docname, f.line),
                       type="bookkit", subtype="refcheck")
    if not hasattr(app.env, "bookkit_refcheck"):
        app.env.bookkit_refcheck = {}
    app.env.bookkit_refcheck[docname] = {
        "checked": enabled,
        "unknown": [[f.line, f.kind, f.name, f.suggestion] for f in findings],
    }


def purge_doc(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "bookkit_refcheck", {}).pop(docname, None)


def merge_info(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    if not hasattr(env, "bookkit_refcheck"):
        env.bookkit_refcheck = {}
    theirs = getattr(other, "bookkit_refcheck", {})
    env.bookkit_refcheck.update({d: theirs[d] for d in docnames if d in theirs})


def write_report(app: Sphinx, exception: Exception | None) -> None:
    """``_bookkit/refcheck.json`` in the output: per page, the unknown references (CI artefact)."""
    if exception is not None or _index(app) is None or app.builder.format != "html":
        return
    data = getattr(app.env, "bookkit_refcheck", {})
    report = {
        "tag": _index(app).tag,
        "pages_checked": sum(1 for v in data.values() if v["checked"]),
        "pages_opted_out": sorted(d for d, v in data.items() if not v["checked"]),
        "unknown": {d: v["unknown"] for d, v in sorted(data.items()) if v["unknown"]},
    }
    text = json.dumps(report, indent=1, sort_keys=True) + "\n"
    out = Path(app.outdir, REPORT)
    if out.exists() and out.read_text(encoding="utf-8") == text:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, RefcheckSettings)
    app.connect("builder-inited", load_manifest)
    app.connect("source-read", check_source)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("build-finished", write_report)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": __version__}
