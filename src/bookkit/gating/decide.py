"""Which pages a build's audience may not see, and why (used by :mod:`bookkit.gating`).

``Decider(srcdir, config, audience, toc_conditions).decide()`` returns
``{docname: reason}`` for every page gated out: by its own front-matter ``only:``,
by the ``only:`` of a folder ``index.md`` above it, by a ``bookkit_gating_toc``
entry, or because its toc parent is gated out. Conditions that do not parse,
toc keys that match nothing and a gated root page are collected in ``errors``
(``file:line: problem. fix``) instead of raising, so one build reports them all.
``prune()`` then removes the hidden pages from the external site map.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.config import Config
from sphinx.util.matching import Matcher

from bookkit.core.pages import SOURCE_SUFFIXES, FrontMatterError, read_front_matter, source_of
from bookkit.core.toc import children, strip_suffix
from bookkit.gating.conditions import ConditionError, parse


def _config_line(srcdir: Path, key: str) -> int:
    try:
        lines = (srcdir / "_config.yml").read_text(encoding="utf-8").splitlines()
    except OSError:
        return 1
    return next((n for n, text in enumerate(lines, 1) if key in text), 1)


class Decider:
    """Works out which documents this audience may not see, and why."""

    def __init__(self, srcdir: Path | str, config: Config, audience: str, toc_conditions: dict):
        self.srcdir = Path(srcdir)
        self.config = config
        self.audience = audience
        self.toc_map = toc_conditions
        self.prerequisites: dict[str, tuple[int, list[str]]] = {}
        self.site_map = getattr(config, "external_site_map", None)
        self.errors: list[str] = []
        self.hidden: dict[str, str] = {}

    def docnames(self) -> list[str]:
        if self.site_map is not None:
            return sorted(strip_suffix(d) for d in self.site_map)
        matcher = Matcher(list(self.config.exclude_patterns))
        found = []
        for path in sorted(self.srcdir.rglob("*")):
            rel = path.relative_to(self.srcdir).as_posix()
            if path.suffix in SOURCE_SUFFIXES and path.is_file() and not matcher(rel):
                found.append(strip_suffix(rel))
        return found

    def children(self, docname: str) -> list[str]:
        return children(self.site_map, docname)

    def check(self, condition: Any, where: str) -> bool | None:
        """True/False for a parsable condition; None (and an error) otherwise."""
        try:
            return parse(condition).allows(self.audience)
        except ConditionError as exc:
            self.errors.append(f"{where}: {exc}. Fix the condition: {exc.problem}")
            return None

    def hide(self, docname: str, reason: str) -> None:
        if docname not in self.hidden:
            self.hidden[docname] = reason
            for child in self.children(docname):
                self.hide(child, f"under '{docname}', which is {reason}")

    def page_conditions(self, docnames: list[str]) -> dict[str, tuple[str, str]]:
        found = {}
        for docname in docnames:
            path = source_of(self.srcdir, docname)
            if path is None:
                continue
            rel = path.relative_to(self.srcdir).as_posix()
            try:
                fm = read_front_matter(path)
            except FrontMatterError as exc:
                self.errors.append(f"{rel}:{exc.line}: {exc.message} (gating reads 'only:' from it)")
                continue
            prereqs = fm.data.get("prerequisites")
            if isinstance(prereqs, list):
                self.prerequisites[docname] = (fm.line_of("prerequisites"), [str(p) for p in prereqs])
            if "only" in fm.data:
                where = f"{rel}:{fm.line_of('only')}: front matter 'only'"
                if self.check(fm.data["only"], where) is not None:
                    found[docname] = (str(fm.data["only"]), where)
        return found

    def decide(self) -> dict[str, str]:
        docnames = self.docnames()
        root = strip_suffix(self.site_map.root.docname) if self.site_map is not None else self.config.root_doc
        conditions = self.page_conditions(docnames)
        if root in conditions:
            self.errors.append(f"{conditions[root][1]}: the root page '{root}' cannot be gated; "
                               "remove 'only:' from it and gate its sections instead")
            conditions.pop(root)
        for docname in docnames:
            parts = docname.split("/")
            folders = ["/".join(parts[:k]) + "/index" for k in range(len(parts) - 1, 0, -1)]
            for owner in [docname] + [f for f in folders if f != docname]:
                if owner in conditions and not parse(conditions[owner][0]).allows(self.audience):
                    cond, where = conditions[owner]
                    self.hide(docname, f"gated by {where} = {cond!r}")
                    break
        self.toc_conditions(set(docnames), root)
        self.hidden.pop(root, None)
        return self.hidden

    def toc_conditions(self, docnames: set[str], root: str) -> None:
        for key, condition in sorted(self.toc_map.items()):
            where = (f"_config.yml:{_config_line(self.srcdir, str(key))}: "
                     f"sphinx.config.bookkit_gating_toc[{key!r}]")
            visible = self.check(condition, where)
            if key.startswith("caption:"):
                caption = key[len("caption:"):].strip()
                trees = [t for d in (self.site_map or {}) for t in self.site_map[d].subtrees if t.caption == caption]
                if not trees:
                    self.errors.append(f"{where}: no part of _toc.yml has the caption {caption!r}; "
                                       "copy the caption exactly")
                elif visible is False:
                    for tree in trees:
                        tree.items[:] = [i for i in tree.items if not self._hide_item(i, where, condition)]
            elif "://" in key:
                items = [(t, i) for d in (self.site_map or {}) for t in self.site_map[d].subtrees
                         for i in t.items if getattr(i, "url", None) == key]
                if not items:
                    self.errors.append(f"{where}: no 'url:' entry of _toc.yml is {key!r}")
                elif visible is False:
                    for tree, item in items:
                        tree.items.remove(item)
            else:
                docname = strip_suffix(key)
                if docname not in docnames:
                    self.errors.append(f"{where}: {docname!r} is not an entry of _toc.yml; use a 'file:' "
                                       "value, 'caption:<part caption>' or a 'url:' value")
                elif docname == root:
                    self.errors.append(f"{where}: the root page cannot be gated")
                elif visible is False:
                    self.hide(docname, f"gated by {where} = {condition!r}")

    def _hide_item(self, item: Any, where: str, condition: str) -> bool:
        if isinstance(item, str):
            self.hide(strip_suffix(str(item)), f"gated by {where} = {condition!r}")
        return True

    def hidden_prerequisites(self) -> list[tuple[str, int, list[str]]]:
        """``(docname, line, hidden names)`` for published pages whose prerequisites are gated out."""
        return [(doc, line, [p for p in names if p in self.hidden])
                for doc, (line, names) in sorted(self.prerequisites.items())
                if doc not in self.hidden and any(p in self.hidden for p in names)]

    def prune(self) -> None:
        """Drop hidden documents from the site map and from every toctree that lists them."""
        if self.site_map is None:
            return
        for name in list(self.site_map):
            for tree in self.site_map[name].subtrees:
                tree.items[:] = [i for i in tree.items if not (isinstance(i, str) and
                                                              strip_suffix(str(i)) in self.hidden)]
            self.site_map[name].subtrees[:] = [t for t in self.site_map[name].subtrees if t.items]
        for name in list(self.site_map):
            if strip_suffix(name) in self.hidden:
                del self.site_map[name]
