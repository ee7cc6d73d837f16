"""Static analysis and page rendering for ``bookkit.apidocs`` (no Sphinx state here).

* :func:`discover` walks a package folder: modules, and folders without ``__init__.py``
  (namespace packages, which autodoc2 alone would skip without a word).
* :func:`analyse` runs autodoc2's astroid analysis module by module. A file that does
  not parse is reported with its path and line instead of stopping the build. astroid
  may only load the analysed package and the standard library: following ``import
  torch`` would parse all of torch (minutes) and pull its inherited members into the pages.
* :class:`BookRenderer` is autodoc2's MyST renderer without its own ``toctree``
  directives (the book's site map holds the API pages), with a note on namespace packages.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from astroid.exceptions import AstroidImportError
from astroid.manager import AstroidManager
from autodoc2.analysis import analyse_module
from autodoc2.config import Config
from autodoc2.db import InMemoryDb
from autodoc2.render.myst_ import MystRenderer
from autodoc2.utils import ItemData

from bookkit.apidocs.docstrings import convert_roles

#: Bump when the generated pages change shape, so cached pages are rewritten.
RENDER_VERSION = "5"


def is_private(module: str) -> bool:
    """True when any part of a dotted module name starts with ``_`` (dunders excepted)."""
    return any(p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in module.split("."))


@dataclass
class Package:
    """One package to document: its module name, folder and where its pages go."""

    module: str
    path: Path
    modules: list[tuple[Path, str]] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    def digest(self, extra: str = "") -> str:
        """Hash of every analysed file (path and bytes) and of the render settings."""
        h = hashlib.sha256(f"{RENDER_VERSION}|{self.module}|{extra}".encode())
        for path, name in sorted(self.modules, key=lambda m: m[1]):
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        for name in self.namespaces:
            h.update(b"ns:" + name.encode())
        return h.hexdigest()


def discover(module: str, path: Path) -> Package:
    """Modules under ``path`` (named from ``module``) and its namespace folders."""
    pkg = Package(module, path)
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        rel = Path(root).relative_to(path).parts
        prefix = ".".join((module, *rel))
        sources = sorted(f for f in files if f.endswith(".py"))
        if is_private(prefix):
            dirs[:] = []
            continue
        if sources and "__init__.py" not in sources:
            pkg.namespaces.append(prefix)
        for name in sources:
            full = prefix if name == "__init__.py" else f"{prefix}.{name[:-3]}"
            if not is_private(full):
                pkg.modules.append((Path(root) / name, full))
    # a namespace folder's parents are namespaces too when they lack __init__.py
    for name in list(pkg.namespaces):
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            folder = path.joinpath(*parts[1:i])
            if not (folder / "__init__.py").is_file() and parent not in pkg.namespaces:
                pkg.namespaces.append(parent)
    pkg.namespaces.sort()
    return pkg


@contextlib.contextmanager
def local_imports(roots: set[str]) -> Iterator[None]:
    """Let astroid load only ``roots`` and the standard library while analysing."""
    allowed = set(sys.stdlib_module_names) | roots
    original = AstroidManager.ast_from_module_name

    def guarded(self, modname, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if modname and modname.split(".")[0] not in allowed:
            raise AstroidImportError(f"bookkit.apidocs does not follow imports of {modname!r}")
        return original(self, modname, *args, **kwargs)

    AstroidManager.ast_from_module_name = guarded  # type: ignore[method-assign]
    try:
        yield
    finally:
        AstroidManager.ast_from_module_name = original  # type: ignore[method-assign]


def _error_line(exc: BaseException) -> int:
    for obj in (exc, getattr(exc, "error", None), exc.__cause__, exc.__context__):
        line = getattr(obj, "lineno", None)
        if isinstance(line, int):
            return line
    m = re.search(r"line (\d+)", str(exc))
    return int(m.group(1)) if m else 1


def namespace_item(name: str) -> ItemData:
    """A package item for a folder without ``__init__.py``."""
    return {"type": "package", "full_name": name, "doc": "", "file_path": None,
            "encoding": "utf-8", "all": None, "imports": [], "range": (0, 0)}


def analyse(pkg: Package, roots: set[str]) -> tuple[list[ItemData], list[tuple[Path, int, str]]]:
    """autodoc2 items of every module, and ``(file, line, error)`` for files that failed."""
    items: list[ItemData] = [namespace_item(n) for n in pkg.namespaces]
    broken = []
    with local_imports(roots):
        for path, name in pkg.modules:
            try:
                found = list(analyse_module(path, name))
            except Exception as exc:  # a file that does not parse must not stop the build
                reason = getattr(getattr(exc, "error", None), "msg", None) or str(exc).splitlines()[0]
                broken.append((path, _error_line(exc), f"{type(exc).__name__}: {reason}"))
                continue
            items += found
    return items, broken


class IndexedDb(InMemoryDb):
    """autodoc2's in-memory database with a parent -> children index.

    autodoc2 scans every item to find an item's children; with NeMo RL's ten
    thousand items that makes rendering quadratic (a minute instead of seconds).
    """

    def _children(self, full_name: str) -> list[ItemData]:
        index = self.__dict__.get("_index")
        if index is None:
            index = {}
            for item in self._items.values():
                index.setdefault(item["full_name"].rpartition(".")[0], []).append(item)
            self._index = index
        return index.get(full_name, [])

    def add(self, item: ItemData) -> None:
        super().add(item)
        self.__dict__.pop("_index", None)

    def remove(self, full_name: str, descendants: bool) -> None:
        super().remove(full_name, descendants)
        self.__dict__.pop("_index", None)

    def get_children(self, full_name, types=None, *, sort_name=False):  # noqa: ANN001, ANN201
        found = [i for i in self._children(full_name) if types is None or i["type"] in types]
        return sorted(found, key=lambda i: i["full_name"]) if sort_name else found

    def get_children_names(self, full_name, types=None, *, sort_name=False):  # noqa: ANN001, ANN201
        return [i["full_name"] for i in self.get_children(full_name, types, sort_name=sort_name)]


def database(items: list[ItemData]) -> IndexedDb:
    """An autodoc2 database holding ``items`` (the first of duplicate names wins)."""
    db = IndexedDb()
    for item in items:
        if item["full_name"] not in db:
            db.add(item)
    return db


def page_tree(db: InMemoryDb, root: str) -> dict[str, list[str]]:
    """Each documented package/module -> its documented sub-packages and modules, in order."""
    tree: dict[str, list[str]] = {}
    stack = [root] if root in db else []
    while stack:
        name = stack.pop()
        children = [c for c in db.get_children_names(name, {"package", "module"}) if not is_private(c)]
        packages = sorted(c for c in children if db.get_type(c) == "package")
        modules = sorted(c for c in children if db.get_type(c) == "module")
        tree[name] = packages + modules
        stack.extend(tree[name])
    return tree


class BookRenderer(MystRenderer):
    """autodoc2's MyST pages with link lists instead of toctrees, and namespace notes."""

    def summary(self, name: str) -> str:
        """``: <first line of the docstring>`` of a module, or nothing."""
        item = self.get_item(name) or {}
        first = (item.get("doc") or "").strip().split("\n", 1)[0].strip()
        return f": {convert_roles(first)}" if first and not first.startswith(("#", "`", ":", "<")) else ""

    def render_package(self, item: ItemData):  # noqa: ANN201
        lines = list(super().render_package(item))
        out: list[str] = []
        i = 0
        while i < len(lines):
            if lines[i] == "```{toctree}":
                j = lines.index("```", i)
                names = [n for n in lines[i + 1:j] if n and not n.startswith(":")]
                out += [f"- {{py:mod}}`{n}`" + self.summary(n) for n in names]
                i = j + 1
                continue
            out.append(lines[i])
            if lines[i].startswith("```{py:module}") and item["type"] == "package" and not item.get("file_path"):
                k = lines.index("```", i + 1)
                out += lines[i + 1:k + 1] + ["", "```{note}",
                        f"`{item['full_name']}` is a folder without `__init__.py` in the source tree "
                        "(a namespace package). It is documented here so that none of its modules is left out.",
                        "```"]
                i = k + 1
                continue
            i += 1
        return out


_FOLDED_VALUE = re.compile(r"^(?P<indent>[ \t]*):value: >\n[ \t]+(?P<value>.*)$", re.M)


def _one_line_value(m: re.Match) -> str:
    # autodoc2 writes ":value: >" and the value on the next line (a YAML folded block);
    # MyST 3 does not read option blocks that way, so the value would land in the body
    # as text (and "{{ }}" in a Jinja template would be taken for a substitution).
    value = m.group("value").replace("\\", "\\\\").replace('"', '\\"')
    return f'{m.group("indent")}:value: "{value}"'


def render_pages(db: InMemoryDb, config: Config, tree: dict[str, list[str]]) -> dict[str, str]:
    """``{full_name: MyST text}`` of every page in ``tree``."""
    renderer = BookRenderer(db, config)
    # refcheck: false -- the names on these pages come from the source itself
    head = "---\nrefcheck: false\n---\n\n"
    return {name: head + _FOLDED_VALUE.sub(_one_line_value, "\n".join(renderer.render_item(name))) + "\n"
            for name in tree}


def write_pages(folder: Path, pages: dict[str, str]) -> list[str]:
    """Write ``<folder>/<name>.md`` only where the text changed; delete stale pages."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / ".generated"  # tells repository checks (tests) that these pages are generated
    if not marker.is_file():
        marker.write_text("Pages generated by bookkit.apidocs on every build; git-ignored, do not edit.\n", "utf-8")
    written = []
    for name, text in pages.items():
        path = folder / f"{name}.md"
        if not (path.is_file() and path.read_text("utf-8") == text):
            path.write_text(text, "utf-8")
            written.append(name)
    for path in folder.glob("*.md"):
        if path.stem not in pages:
            path.unlink()
    return written
