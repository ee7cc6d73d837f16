"""Pages that show other pages' front matter, re-read when that front matter changes, not on every edit.

Cards and learning paths show another page's title, description, time and audience. Sphinx's
own ``env.note_dependency(path)`` would re-read the page holding them whenever that file's
modification time changes, so fixing a typo in a guide's body re-reads (and rewrites) every
landing page and learning path that lists the guide. Here a directive calls
:func:`use_front_matter` instead: it reads the other page's front matter (through the one
cached reader, :func:`bookkit.core.pages.read_front_matter`) and records, for the page being
read, what it saw: the front matter's values and the page title. On ``env-get-outdated``
every page whose recorded view differs from the other page's current front matter and title
(or whose source was removed or stopped parsing) is re-read; body edits change neither.

The records live in a :class:`bookkit.core.store.DocStore`, so Sphinx pickles them with the
environment, drops them when the page is re-read and merges them from parallel readers.
An extension that uses :func:`use_front_matter` calls ``app.setup_extension(__name__)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from bookkit import __version__
from bookkit.core.pages import FrontMatter, FrontMatterError, read_front_matter
from bookkit.core.store import ENV_VERSION, DocStore, enable

#: ``{docname: {source path: (front matter, title) as that page saw them, or None}}``
SEEN = DocStore("front-matter-seen")


def _view(path: Path | str) -> tuple[dict, str] | None:
    try:
        fm = read_front_matter(path)
    except (FrontMatterError, OSError):
        return None
    return fm.data, fm.title


def use_front_matter(env: BuildEnvironment, path: Path | str) -> FrontMatter:
    """The front matter of the page at ``path``, for the page being read (``env.docname``), which is
    re-read when that front matter or title changes. Raises :class:`FrontMatterError` as
    :func:`read_front_matter` does (the view recorded is then ``None``)."""
    SEEN.of(env).setdefault(env.docname, {})[str(path)] = _view(path)
    return read_front_matter(path)


def outdated(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str],
             removed: set[str]) -> list[str]:
    """Pages whose recorded view of another page's front matter is no longer true."""
    views: dict[str, Any] = {}
    stale = []
    for docname, seen in SEEN.of(env).items():
        if docname in removed:
            continue
        for path, view in seen.items():
            if path not in views:
                views[path] = _view(path)
            if views[path] != view:
                stale.append(docname)
                break
    return stale


def setup(app: Sphinx) -> dict[str, Any]:
    enable(app)
    app.connect("env-get-outdated", outdated)
    return {"version": __version__, "env_version": ENV_VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
