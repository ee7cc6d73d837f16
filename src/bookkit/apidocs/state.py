"""What ``bookkit.apidocs`` knows during a build: its configured packages and their generated pages.

:class:`ApiDocsRun` is the run state (:func:`bookkit.core.store.run_state`): the validated
``bookkit_apidocs_packages`` entries (set on config-inited) and, per documented package,
the state of its generated pages (digest, page tree, namespace packages, files that could
not be analysed). :data:`SUMMARY_PAGES` records which page shows which package's
``{apidocs-summary}``, so those pages are re-read when the package changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bookkit.core.store import DocStore


@dataclass
class Target:
    module: str
    path: Path | None
    parent: str
    env: str
    strict: bool
    folder: str  # docname prefix of its pages, e.g. api/nemo_rl


@dataclass
class ApiDocsRun:
    targets: list[Target] = field(default_factory=list)
    #: module -> its pages' state, with ``folder`` and ``strict`` (documented packages only).
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)


#: docname -> the module its {apidocs-summary} describes.
SUMMARY_PAGES = DocStore("apidocs-summary")
