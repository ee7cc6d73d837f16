"""The ``{execution-status}`` directive: one table row per notebook page of the book.

Like Jupyter Book's execution table, extended: each row shows the notebook
(linked), its status (``ok`` executed by this build, ``cached`` outputs reused
from jupyter-cache, ``failed``, ``not executed``), the ``rl_lab`` profile, the
wall time, the hardware, the library versions and the date of the execution
that produced the page's outputs. The records come from :mod:`bookkit.execution.execstamp`.

The directive leaves a placeholder; the table is built after every page has been
read (a post-transform), and pages holding the directive are rewritten whenever a
notebook was read, so the table never lags behind the notebooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from bookkit import __version__
from bookkit.core.store import ENV_VERSION, DocStore, enable, run_state
from bookkit.execution.execstamp import EXECSTAMPS, format_date, format_runtime

logger = logging.getLogger(__name__)

#: docname -> True for every page with an {execution-status} table.
STATUS_PAGES = DocStore("execstatus")


@dataclass
class ExecStatusRun:
    """Run state: whether any notebook page was read in this build (the tables are then rewritten)."""

    notebook_read: bool = False


COLUMNS = ("Notebook", "Status", "Profile", "Wall time", "Hardware", "Versions", "Executed")


class execution_status(nodes.General, nodes.Element):
    """Placeholder replaced by the status table once all pages are read."""


class ExecutionStatusDirective(SphinxDirective):
    """Insert the table of every notebook page's last execution."""

    def run(self) -> list[nodes.Node]:
        STATUS_PAGES.set(self.env, self.env.docname, True)
        node = execution_status()
        self.set_source_info(node)
        return [node]


def _cell(content: nodes.Node | str) -> nodes.entry:
    para = nodes.paragraph()
    para += content if isinstance(content, nodes.Node) else nodes.Text(content)
    return nodes.entry("", para)


def status_rows(env: BuildEnvironment) -> list[tuple[str, dict[str, Any]]]:
    """``(docname, record)`` for every notebook page of this build, sorted by docname."""
    return [(doc, rec) for doc, rec in EXECSTAMPS.items(env) if doc in env.all_docs]


def build_table(env: BuildEnvironment, fromdoc: str) -> nodes.Node:
    rows = status_rows(env)
    if not rows:
        return nodes.paragraph(text="This build has no notebook pages.")
    table = nodes.table(classes=["colwidths-auto", "bookkit-execution-status"])
    group = nodes.tgroup(cols=len(COLUMNS))
    table += group
    group.extend(nodes.colspec(colwidth=1) for _ in COLUMNS)
    head = nodes.row()
    head.extend(_cell(name) for name in COLUMNS)
    group += nodes.thead("", head)
    body = nodes.tbody()
    group += body
    for docname, rec in rows:
        link = pending_xref("", refdomain="std", reftype="doc", reftarget="/" + docname, refdoc=fromdoc,
                            refexplicit=False, refwarn=True)
        link += nodes.inline(text=docname)
        status = rec["status"] + (f" ({rec['error']})" if rec["status"] == "failed" and rec.get("error") else "")
        versions = ", ".join(f"{k} {v}" for k, v in sorted(rec["versions"].items())) or "not recorded"
        row = nodes.row(classes=[f"bookkit-status-{rec['status'].replace(' ', '-')}"])
        row.extend([_cell(link), _cell(status), _cell(rec["profile"]),
                    _cell("-" if rec["status"] == "not executed" else format_runtime(rec["runtime"])),
                    _cell(rec["hardware"]), _cell(versions),
                    _cell("-" if rec["status"] == "not executed" else format_date(rec["date"]))])
        body += row
    return table


class ExecutionStatusTransform(SphinxPostTransform):
    default_priority = 8  # before references are resolved (10), so the links resolve

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(execution_status)):
            node.replace_self(build_table(self.env, self.env.docname))


def refresh(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Rewrite the status pages when any notebook was read in this build."""
    if not run_state(app, ExecStatusRun).notebook_read:
        return []
    return [d for d, _ in STATUS_PAGES.items(env) if d in env.all_docs]


def note_read(app: Sphinx, doctree: nodes.document) -> None:
    if EXECSTAMPS.get(app.env, app.env.docname) is not None:
        run_state(app, ExecStatusRun).notebook_read = True


def merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    if set(EXECSTAMPS.of(other)) & docnames:
        run_state(app, ExecStatusRun).notebook_read = True


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("bookkit.execution.execstamp")
    app.add_node(execution_status)
    app.add_directive("execution-status", ExecutionStatusDirective)
    app.add_post_transform(ExecutionStatusTransform)
    enable(app)
    app.connect("doctree-read", note_read, priority=600)
    app.connect("env-merge-info", merge)
    app.connect("env-updated", refresh)
    return {"version": __version__, "env_version": ENV_VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
