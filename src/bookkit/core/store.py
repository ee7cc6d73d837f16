"""Where bookkit's extensions keep what they learn: per document on the environment, per run on the app.

**Per document** (:class:`DocStore`): values one extension records for a page while it is
read (its front matter, its learning path, its refcheck counts ...) and others use later.
They live in the ``bookkit`` domain's data, so Sphinx pickles them with the environment,
drops a page's values when the page is re-read or removed (``clear_doc``) and merges them
from parallel readers (``merge_domaindata``), as ``sphinx.ext.duration`` does::

    FRONT_MATTER = DocStore("frontmatter")
    FRONT_MATTER.set(env, docname, data)      # while reading
    FRONT_MATTER.get(env, docname)            # anywhere later
    FRONT_MATTER.items(env)                   # every page's value

:func:`env_value` keeps one build-wide value of the environment (kept between builds,
never cleared per page). An extension that stores anything calls :func:`enable` in its
``setup()`` and returns ``"env_version": ENV_VERSION``.

**Per run** (:func:`run_state`): what one Sphinx application decided for this build
(gating's audience, the apidocs targets ...) as an instance of the extension's own
dataclass, keyed by the application, so two applications in one process never share it.
"""

from __future__ import annotations

import weakref
from typing import Any, Iterable, TypeVar

from sphinx.application import Sphinx
from sphinx.domains import Domain

T = TypeVar("T")
#: Bump when the layout of stored values changes: Sphinx then re-reads every page.
ENV_VERSION = 1
_ENV = "env"  # the domain data key of build-wide values


class BookkitDomain(Domain):
    """Holds every :class:`DocStore` (no directives, roles or objects of its own)."""

    name = "bookkit"
    label = "bookkit"
    data_version = ENV_VERSION
    initial_data: dict[str, Any] = {}

    def store(self, name: str) -> dict[str, Any]:
        return self.data.setdefault(name, {})

    def clear_doc(self, docname: str) -> None:
        for name, values in self.data.items():
            if name != _ENV and isinstance(values, dict):
                values.pop(docname, None)

    def merge_domaindata(self, docnames: Iterable[str], otherdata: dict[str, Any]) -> None:
        docnames = set(docnames)
        for name, theirs in otherdata.items():
            if name != _ENV and isinstance(theirs, dict):
                self.store(name).update({d: v for d, v in theirs.items() if d in docnames})


def enable(app: Sphinx) -> None:
    """Register the ``bookkit`` domain once per application."""
    if BookkitDomain.name not in app.registry.domains:
        app.add_domain(BookkitDomain)


class DocStore:
    """One kind of per-document value, named once (``DocStore("paths")``)."""

    def __init__(self, name: str):
        self.name = name

    def of(self, env: Any) -> dict[str, Any]:
        """``{docname: value}`` of this store (empty when no page recorded one)."""
        return _data(env).setdefault(self.name, {})

    def get(self, env: Any, docname: str, default: Any = None) -> Any:
        return self.of(env).get(docname, default)

    def set(self, env: Any, docname: str, value: Any) -> None:
        self.of(env)[docname] = value

    def items(self, env: Any) -> list[tuple[str, Any]]:
        """``(docname, value)`` pairs, sorted by document name."""
        return sorted(self.of(env).items())


def _data(env: Any) -> dict[str, Any]:
    # The domain's data, read directly: an environment merged from a parallel reader has
    # its domaindata but no domain objects.
    try:
        return env.domaindata[BookkitDomain.name]
    except KeyError:
        raise RuntimeError("bookkit's store is used by an extension whose setup() does not call "
                           "bookkit.core.store.enable(app)") from None


def env_value(env: Any, key: str, default: Any = None) -> Any:
    """A build-wide value kept with the environment (``set_env_value`` writes it)."""
    return _data(env).setdefault(_ENV, {}).get(key, default)


def set_env_value(env: Any, key: str, value: Any) -> None:
    _data(env).setdefault(_ENV, {})[key] = value


_RUNS: "weakref.WeakKeyDictionary[Any, dict[type, Any]]" = weakref.WeakKeyDictionary()


def run_state(app: Sphinx, cls: type[T]) -> T:
    """This application's instance of ``cls`` (a dataclass whose fields all have defaults)."""
    states = _RUNS.setdefault(app, {})
    if cls not in states:
        states[cls] = cls()
    return states[cls]
