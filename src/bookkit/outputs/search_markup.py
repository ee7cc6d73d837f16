"""Pagefind's markup inside a page body, written by the HTML translator (see ``bookkit.outputs.search``).

The attributes Pagefind reads inside the body are written while the page is written: a
translator mixin placed before the builder's translator (the theme's included), whose
hooks each look only at the tags they have just produced for their own node, never at
the finished HTML. ``_static/bookkit-search.js`` splits identifiers in a query the way
:func:`identifier_words` and :func:`identifier_keys` do.
"""

from __future__ import annotations

import html
import re
from typing import Any

from docutils import nodes

_ROW_STARTS = ('<tr class="row-odd">', '<tr class="row-even">')
_HEADINGS = frozenset(f"<h{level}>" for level in range(1, 7))
KEY_WEIGHT = 4.0  # the key column of other tables (a script list, a recipe's overrides): names, not defines


class PagefindMarkup:
    """Translator mixin for indexed pages (see the module docstring).

    * a section's id moves onto its heading (``<section><h2 id="x">``): Pagefind makes a
      sub-result, with its ``#anchor``, for every heading that has an id;
    * the code in the first cell of a table row gets ``data-pagefind-weight``: the
      definition weight in ``{config-reference}`` tables, ``KEY_WEIGHT`` in any other;
      so do API signatures and definition-list terms that start with code;
    * after an identifier in a code span, hidden spans hold its search keys (inside the
      code element, so a definition's weight applies to them) and its words (after it).
    """

    definition_weight = 10.0  # bookkit.outputs.search sets search_definition_weight here

    def __init__(self, document: Any, builder: Any) -> None:
        super().__init__(document, builder)
        # Only the body of a document of the build, not a title or toc rendered on its own.
        indexed = (document.get("source") != "<partial node>"
                   and getattr(builder, "current_docname", None) in builder.env.found_docs)
        self._bk_weight = self.definition_weight if indexed else None
        self._bk_tables: list[bool] = []

    def visit_title(self, node: Any) -> None:
        n = len(self.body)
        super().visit_title(node)
        parent = node.parent
        if self._bk_weight is None or not isinstance(parent, nodes.section) or len(parent["ids"]) != 1:
            return
        section = f'<section id="{parent["ids"][0]}">\n'
        if n and self.body[n - 1] == section and len(self.body) > n and self.body[n] in _HEADINGS:
            self.body[n - 1] = "<section>\n"
            self.body[n] = self.body[n][:-1] + f' id="{parent["ids"][0]}">'

    def visit_table(self, node: Any) -> None:
        self._bk_tables.append("bookkit-config-reference" in node.get("classes", []))
        super().visit_table(node)

    def depart_table(self, node: Any) -> None:
        super().depart_table(node)
        self._bk_tables.pop()

    def visit_desc_signature(self, node: Any) -> None:
        n = len(self.body)
        super().visit_desc_signature(node)
        if self._bk_weight is not None and self.body[n].startswith('<dt class="sig sig-object'):
            self.body[n] = f'<dt data-pagefind-weight="{self._bk_weight:g}" ' + self.body[n][len("<dt "):]

    def visit_literal(self, node: Any) -> None:
        n = len(self.body)
        try:
            super().visit_literal(node)
        finally:
            if self._bk_weight is not None and len(self.body) > n:
                self._weigh_code(n)

    def _weigh_code(self, n: int) -> None:
        body, tag = self.body, self.body[n]
        if n >= 1 and body[n - 1] == "<dt>" and tag.startswith("<code"):
            body[n - 1] = f'<dt data-pagefind-weight="{self._bk_weight:g}">'
        elif (n >= 3 and tag.startswith('<code class="docutils literal') and body[n - 1] == "<p>"
              and body[n - 2] == "<td>" and body[n - 3] in _ROW_STARTS):
            weight = self._bk_weight if self._bk_tables and self._bk_tables[-1] else KEY_WEIGHT
            body[n] = f'<code data-pagefind-weight="{weight:g}" ' + tag[len("<code "):]

    def depart_literal(self, node: Any) -> None:
        last = self.body[-1] if self.body else ""
        super().depart_literal(node)
        if self._bk_weight is None or self.body[-1] != "</code>":
            return
        word = last[len(_PRE):-len("</span>")] if last.startswith(_PRE) and last.endswith("</span>") else ""
        if _IDENTIFIER.fullmatch(word):
            inside, after = identifier_forms(html.unescape(word))
            self.body[-1:] = [inside, "</code>" + after]


_PRE = '<span class="pre">'
_IDENTIFIER = re.compile(r"[A-Za-z_][\w./-]*\w")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def identifier_words(token: str) -> str:
    """The words of an identifier, the form the index and the search box share.

    ``grpo.max_num_steps`` -> ``grpo max num steps``; ``ClippedPGLossFn`` -> ``Clipped PG Loss Fn``;
    ``examples/run_grpo.py`` -> ``run grpo py``. A plain word gives ``""``.
    (``bookkit-search.js`` splits identifiers in a query the same way.)
    """
    if not re.search(r"[._/-]|[a-z][A-Z]", token):
        return ""
    token = token.rstrip("/").rsplit("/", 1)[-1]
    return " ".join(w for p in re.split(r"[._-]+", token) for w in _CAMEL.split(p) if w)


_SUFFIXES = frozenset({"py", "yaml", "yml", "json", "sh", "md", "ipynb", "toml"})


def identifier_keys(token: str) -> list[str]:
    """Search keys of an identifier: the name and each dotted tail, lower-case letters and digits only.

    ``grpo.max_num_steps`` -> ``grpomaxnumsteps``, ``maxnumsteps``; ``examples/run_grpo.py`` ->
    ``rungrpopy``, ``rungrpo``. A key is one word to Pagefind, so a query for the whole name
    (which ``bookkit-search.js`` turns into its key) matches that name exactly, wherever it sits.
    """
    if not re.search(r"[._/-]|[a-z][A-Z]", token):
        return []
    parts = token.rstrip("/").rsplit("/", 1)[-1].split(".")
    tails = [".".join(parts[i:]) for i in range(len(parts)) if parts[i:] and parts[i] not in _SUFFIXES]
    if len(parts) > 1 and parts[-1] in _SUFFIXES:
        tails.append(".".join(parts[:-1]))
    keys = (re.sub(r"[^0-9a-z]", "", t.lower()) for t in tails)
    return list(dict.fromkeys(k for k in keys if len(k) > 2))


def identifier_forms(token: str) -> tuple[str, str]:
    """Hidden text (indexed, never shown) for an identifier ending a code span: its keys, written
    inside the code element (so a definition's weight applies to them), and its words, after it."""
    keys, words = " ".join(identifier_keys(token)), identifier_words(token)
    inside = f'<span class="bk-search-alt"> {html.escape(keys, quote=False)} </span>' if keys else ""
    after = f'<span class="bk-search-alt"> {html.escape(words, quote=False)} </span>' if words else ""
    return inside, after
