"""``bookkit.content.lookup``: the metrics glossary and the error lookup, rendered from the book's data.

Two directives, each reading one YAML file of ``book/_data/`` (validated by
:mod:`bookkit.content.lookup_data`)::

    ```{metrics-glossary}
    ```

    ```{error-lookup}
    ```

``{metrics-glossary}`` writes one section per group of metrics and, for each metric, a
definition-list term (the metric name as code, with an anchor ``metric-<name>``) followed
by its meaning, unit, what a healthy curve looks like, the trainers that log it and the
book notebooks whose plots show it (``:algorithm: grpo`` keeps one trainer's metrics).
``{error-lookup}`` writes each error message as a term (anchor ``error-<message>``) with
when it appears, its cause, the fix and a link to the page that explains it. Terms are
code, so search ranks them as definitions (``bookkit.outputs.search``).

A malformed file is a warning (type ``bookkit``, subtype ``lookup``) naming the file,
line and key; nothing is rendered for it. Links to pages that do not exist are Sphinx's
own ``std:doc`` reference warnings. Settings: ``bookkit_lookup_metrics``
(``_data/metrics.yml``) and ``bookkit_lookup_errors`` (``_data/errors.yml``), relative to
the book root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from bookkit import __version__
from bookkit.content.lookup_data import ALGORITHMS, LookupFileError, Metric, load_errors, load_metrics
from bookkit.core.io import book_path
from bookkit.core.settings import read, register, setting

logger = logging.getLogger(__name__)
NAMES = {"sft": "SFT", "dpo": "DPO", "grpo": "GRPO"}


@dataclass(frozen=True)
class LookupSettings:
    lookup_metrics: str = setting("_data/metrics.yml", "Metrics glossary data, relative to the book root.")
    lookup_errors: str = setting("_data/errors.yml", "Error lookup data, relative to the book root.")


def _inline(text: str) -> list[nodes.Node]:
    """Text with ``backtick`` spans as literals."""
    out: list[nodes.Node] = []
    for i, part in enumerate(re.split(r"`([^`]*)`", text)):
        if part:
            out.append(nodes.literal(part, part) if i % 2 else nodes.Text(part))
    return out


def _field(label: str, *content: nodes.Node) -> nodes.paragraph:
    return nodes.paragraph("", "", nodes.strong(label, label), nodes.Text(" "), *content)


def _term(text: str, anchor: str) -> nodes.term:
    # The anchor follows the code so the term still starts with <code> (bookkit.outputs.search weighs it).
    return nodes.term("", "", nodes.literal(text, text), nodes.inline("", "", ids=[anchor]))


class _LookupDirective(SphinxDirective):
    setting_name = ""

    def data_path(self):
        path = book_path(self.env.app, getattr(read(self.config, LookupSettings), self.setting_name))
        self.env.note_dependency(str(path))
        return path

    def doc_link(self, page: str) -> addnodes.pending_xref:
        """A link to a book page, shown with its title (Sphinx warns if the page does not exist)."""
        target = "/" + page.lstrip("/")
        return addnodes.pending_xref("", nodes.inline(page, page), refdomain="std", reftype="doc",
                                     reftarget=target, refexplicit=False, refwarn=True,
                                     refdoc=self.env.docname)

    def fail(self, exc: Exception) -> list[nodes.Node]:
        logger.warning(f"{self.name}: {exc}", location=self.get_location(), type="bookkit", subtype="lookup")
        return []


class MetricsGlossary(_LookupDirective):
    option_spec = {"algorithm": lambda arg: directives.choice(arg, ALGORITHMS)}
    setting_name = "lookup_metrics"

    def run(self) -> list[nodes.Node]:
        path = self.data_path()
        try:
            data = load_metrics(path)
        except (OSError, LookupFileError) as exc:
            return self.fail(exc)
        only = self.options.get("algorithm")
        out: list[nodes.Node] = []
        for section in data.sections:
            metrics = [m for m in data.metrics if m.section == section["title"] and (not only or only in m.algorithms)]
            if not metrics:
                continue
            sec = nodes.section(ids=[nodes.make_id("metrics " + section["title"])])
            sec += nodes.title(section["title"], section["title"])
            if section.get("intro"):
                sec += nodes.paragraph("", "", *_inline(section["intro"]))
            glossary = nodes.definition_list(classes=["glossary", "bookkit-metrics"])
            for metric in metrics:
                glossary += self.item(metric)
            sec += glossary
            out.append(sec)
        return out

    def item(self, m: Metric) -> nodes.definition_list_item:
        body = nodes.definition()
        body += nodes.paragraph("", "", *_inline(m.meaning))
        body += _field("Unit:", *_inline(m.unit))
        body += _field("Healthy:", *_inline(m.healthy))
        body += _field("Logged by:", nodes.Text(", ".join(NAMES[a] for a in m.algorithms)))
        if m.notebooks:
            links: list[nodes.Node] = []
            for i, (page, as_) in enumerate(m.notebooks):
                links += ([nodes.Text("; ")] if i else []) + [
                    self.doc_link(page), nodes.Text(" (rl_lab's "),
                    nodes.literal(as_, as_), nodes.Text(")")]
            body += _field("See it move:", *links)
        return nodes.definition_list_item("", _term(m.name, m.anchor), body)


class ErrorLookup(_LookupDirective):
    setting_name = "lookup_errors"

    def run(self) -> list[nodes.Node]:
        try:
            errors = load_errors(self.data_path())
        except (OSError, LookupFileError) as exc:
            return self.fail(exc)
        glossary = nodes.definition_list(classes=["glossary", "bookkit-errors"])
        for e in errors:
            body = nodes.definition()
            body += _field("When:", *_inline(e.when))
            body += _field("Cause:", *_inline(e.cause))
            body += _field("Fix:", *_inline(e.fix))
            body += _field("Raised in:", *[n for i, s in enumerate(e.sources)
                                           for n in ([nodes.Text(", ")] if i else []) + [nodes.literal(s, s)]])
            body += _field("Explained in:", self.doc_link(e.page))
            glossary += nodes.definition_list_item("", _term(e.message, e.anchor), body)
        return [glossary]


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, LookupSettings)
    app.add_directive("metrics-glossary", MetricsGlossary)
    app.add_directive("error-lookup", ErrorLookup)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": __version__}
