"""Learning paths: an ordered reading list built from the listed pages' front matter.

``{learning-path}`` takes one document name per line in its body::

    ```{learning-path}
    get-started/installation
    get-started/quickstart
    ```

and renders an ordered list in which each step shows the page's title (a link),
its description, difficulty, reading time and prerequisites (as links), all read
from the page's front matter through :mod:`bookkit.core.pages`, followed by the total
time of the path. The page holding the path depends on every page it lists, so
editing a listed page's description or time rebuilds the path.

An unknown document name is a warning at the path's file and line that names the
closest existing document; the step is still shown (as plain text) so nothing is
dropped silently. Lines starting with ``#`` are comments.

On ``build-finished`` every path is written to ``_bookkit/learning-paths.json``
(document -> ordered steps and total minutes), only when its content changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from bookkit import __version__
from bookkit.core.events import add_events, page_hidden
from bookkit.core.io import write_if_changed
from bookkit.core.pagedeps import use_front_matter
from bookkit.core.pages import FrontMatter, FrontMatterError, source_of
from bookkit.core.settings import read, register, setting
from bookkit.core.store import ENV_VERSION, DocStore, enable
from bookkit.core.suggest import closest

logger = logging.getLogger(__name__)
#: docname -> the learning paths on that page (steps and total minutes).
PATHS = DocStore("paths")


@dataclass(frozen=True)
class PathsSettings:
    paths_show_prerequisites: bool = setting(True, "Show each step's prerequisites as links.")
    paths_json: str = setting(
        "_bookkit/learning-paths.json",
        "Output file (relative to the HTML output) listing every path; empty string disables it.",
    )


def format_minutes(total: int) -> str:
    """``95`` -> ``1 h 35 min``; ``40`` -> ``40 min``."""
    hours, minutes = divmod(int(total), 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def _doc_link(env: BuildEnvironment, target: str, text: str) -> addnodes.pending_xref:
    ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget="/" + target,
                                refdoc=env.docname, refexplicit=True, refwarn=True)
    ref += nodes.inline(text, text)
    return ref


def _title_of(env: BuildEnvironment, docname: str) -> str:
    path = source_of(env.srcdir, docname)
    if path is None:
        return docname
    try:
        return use_front_matter(env, path).title
    except FrontMatterError:
        return docname


class LearningPathDirective(SphinxDirective):
    """An ordered list of pages with their metadata and the path's total time."""

    has_content = True

    def _steps(self) -> list[tuple[str, int]]:
        """``(docname, source line)`` for each non-comment line of the body."""
        try:  # body offsets are relative in MyST, absolute in rST: find each line in the file
            source_lines = Path(self.env.doc2path(self.env.docname)).read_text(encoding="utf-8").splitlines()
        except OSError:
            source_lines = []
        steps, cursor = [], self.lineno
        for raw in self.content:
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            line = next((n + 1 for n in range(cursor, len(source_lines)) if source_lines[n].strip() == text),
                        self.lineno)
            cursor = max(cursor, line)
            steps.append((text.lstrip("/").removesuffix(".md").removesuffix(".ipynb"), line))
        return steps

    def _unknown(self, docname: str, line: int) -> None:
        close = closest(docname, self.env.found_docs, cutoff=0.5)
        hint = f"did you mean '{close}'?" if close else "check the name against _toc.yml."
        logger.warning(f"{{learning-path}} lists unknown document '{docname}': no {docname}.md or "
                       f"{docname}.ipynb under the book; {hint}",
                       location=(self.env.docname, line), type="bookkit", subtype="paths")

    def _step_item(self, docname: str, fm: FrontMatter | None, settings: PathsSettings) -> nodes.list_item:
        item = nodes.list_item(classes=["bookkit-path-step"])
        title = nodes.paragraph(classes=["bookkit-path-title"])
        if fm is None:
            title += nodes.strong(docname, docname)
            item += title
            return item
        strong = nodes.strong()
        strong += _doc_link(self.env, docname, fm.title)
        title += strong
        item += title
        data = fm.data
        if data.get("description"):
            item += nodes.paragraph(str(data["description"]), str(data["description"]),
                                    classes=["bookkit-path-description"])
        meta = nodes.paragraph(classes=["bookkit-path-meta"])
        parts: list[str] = []
        if data.get("difficulty"):
            parts.append(f"Difficulty: {data['difficulty']}")
        minutes = data.get("time_minutes")
        parts.append(f"Time: {minutes} min" if isinstance(minutes, int) else "Time: not estimated")
        meta += nodes.Text(" · ".join(parts))
        prereqs = [p for p in data.get("prerequisites") or [] if isinstance(p, str)]
        if settings.paths_show_prerequisites and prereqs:
            meta += nodes.Text(" · Prerequisites: ")
            for i, prereq in enumerate(prereqs):
                if i:
                    meta += nodes.Text(", ")
                meta += _doc_link(self.env, prereq, _title_of(self.env, prereq))
        item += meta
        return item

    def run(self) -> list[nodes.Node]:
        settings = read(self.config, PathsSettings)
        # Pages gated out of this build (bookkit.gating) are left out of the path.
        steps = [s for s in self._steps() if not page_hidden(self.env.app, s[0])]
        if not steps:
            logger.warning("{learning-path} has no document names in its body; list one docname per line",
                           location=self.get_location(), type="bookkit", subtype="paths")
        listing = nodes.enumerated_list(enumtype="arabic", prefix="", suffix=".", classes=["bookkit-path"])
        total, unestimated, record = 0, 0, []
        for docname, line in steps:
            path = source_of(self.env.srcdir, docname)
            fm = None
            if path is None:
                self._unknown(docname, line)
            else:
                try:
                    fm = use_front_matter(self.env, path)
                except FrontMatterError:
                    fm = FrontMatter(Path(path), {})  # bookkit.content.frontmatter reports it on that page
            minutes = fm.data.get("time_minutes") if fm else None
            if isinstance(minutes, int) and not isinstance(minutes, bool):
                total += minutes
            else:
                unestimated += 1
            record.append({"docname": docname, "title": fm.title if fm else docname,
                           "time_minutes": minutes if isinstance(minutes, int) else None})
            listing += self._step_item(docname, fm, settings)
        summary = nodes.paragraph(classes=["bookkit-path-total"])
        summary += nodes.strong("Total time: ", "Total time: ")
        text = f"about {format_minutes(total)} for {len(steps)} pages"
        if unestimated:
            text += f" ({unestimated} without an estimate)"
        summary += nodes.Text(text + ".")
        paths = PATHS.of(self.env).setdefault(self.env.docname, [])
        paths.append({"steps": record, "total_minutes": total})
        container = nodes.container(classes=["bookkit-learning-path"])
        container += listing
        container += summary
        return [container]


# -------------------------------------------------------------- events ----

def write_json(app: Sphinx, exception: Exception | None) -> None:
    settings = read(app.config, PathsSettings)
    if exception is not None or not settings.paths_json or app.builder.format != "html":
        return
    data = dict(PATHS.items(app.env))
    write_if_changed(Path(app.outdir, settings.paths_json), json.dumps(data, indent=1, sort_keys=True) + "\n")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("bookkit.core.pagedeps")
    register(app, PathsSettings)
    app.add_directive("learning-path", LearningPathDirective)
    enable(app)
    add_events(app)
    app.connect("build-finished", write_json)
    return {"version": __version__, "env_version": ENV_VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
