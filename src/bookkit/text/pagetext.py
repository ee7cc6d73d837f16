"""The one page-text extraction: what a page says, as data (Markdown: :mod:`bookkit.text.markdown`).

Every machine-readable output of the book (per-page JSON, ``llms.txt`` and
``llms-full.txt``, the search index and the assistant corpus) reads a page's
words through this module, so they all agree on what a page contains. It works
on a **resolved** doctree (Sphinx's ``doctree-resolved`` event, or
``env.get_and_resolve_doctree``) and never imports torch or touches the HTML.

API
---

``extract(doctree, docname="") -> PageText``
    The page as a typed structure (all tuples, so it is hashable and frozen):

    * ``title`` -- the first section title;
    * ``headings`` -- ``Heading(level, text, anchor)`` for every section, the
      page title at level 1, in document order; ``anchor`` is the HTML id;
    * ``text`` -- the plain body text, one block (paragraph, list item, table
      cell, code block ...) per line, without navigation chrome (toctrees,
      raw HTML, comments, substitution definitions and build messages are left out);
    * ``sections`` -- ``Section(anchor, heading, level, text)`` passages: the
      text under each heading up to the next heading (any level), the right unit
      for search and retrieval; text before the first subheading belongs to the
      page title's passage;
    * ``code_blocks`` -- ``CodeBlock(language, code)`` for literal blocks and
      notebook cell sources (``language`` is ``""`` when none is declared);
    * ``internal_links`` -- ``Link(target, anchor, text)`` where ``target`` is a
      document name (``get-started/installation``), or for a downloadable file
      its build path; a same-page ``#anchor`` link has the page's own docname;
    * ``external_links`` -- ``Link(url, "", text)`` for links leaving the site;
    * ``outputs`` -- the text outputs of executed notebook cells (streams,
      ``text/plain`` results, tracebacks), in cell order;
    * ``signatures`` -- the text of every API signature (``desc_signature``).

    ``docname`` is the page's document name; it resolves relative link targets.

``link_of(node, docname) -> Link | None``, ``plain_text(node)`` and
``signature_text(desc_signature)`` are the
building blocks, exposed for extensions that walk doctrees themselves.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from docutils import nodes
from sphinx import addnodes

__all__ = ["Heading", "Section", "CodeBlock", "Link", "PageText", "extract", "link_of", "plain_text",
           "signature_text"]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Section:
    anchor: str
    heading: str
    level: int
    text: str


@dataclass(frozen=True)
class CodeBlock:
    language: str
    code: str


@dataclass(frozen=True)
class Link:
    target: str
    anchor: str
    text: str


@dataclass(frozen=True)
class PageText:
    title: str
    headings: tuple[Heading, ...]
    text: str
    sections: tuple[Section, ...]
    code_blocks: tuple[CodeBlock, ...]
    internal_links: tuple[Link, ...]
    external_links: tuple[Link, ...]
    outputs: tuple[str, ...]
    signatures: tuple[str, ...]


#: Nodes that are never page text: navigation, markup for the writer, build messages.
SKIP = (addnodes.toctree, nodes.comment, nodes.raw, nodes.substitution_definition, nodes.system_message,
        nodes.target, addnodes.only, addnodes.index, addnodes.meta if hasattr(addnodes, "meta") else nodes.meta,
        nodes.problematic, addnodes.highlightlang)
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_OUTPUT_CLASSES = {"stream", "text_plain", "stderr", "traceback"}


def is_skipped(node: nodes.Node) -> bool:
    if isinstance(node, SKIP):
        return True
    classes = node.get("classes", []) if isinstance(node, nodes.Element) else []
    return "toctree-wrapper" in classes or "headerlink" in classes


def plain_text(node: nodes.Node) -> str:
    """The visible text of ``node``, leaving out raw HTML, comments and other non-text nodes."""
    if isinstance(node, nodes.Text):
        return str(node)
    if is_skipped(node):
        return ""
    if isinstance(node, nodes.image):
        return node.get("alt", "")
    return "".join(plain_text(child) for child in node.children)


def signature_text(node: nodes.Node) -> str:
    """An API signature as it reads on the page: ``name(a: int, b=2) -> float``."""
    if isinstance(node, nodes.Text):
        return str(node)
    if is_skipped(node):
        return ""
    parts = [signature_text(child) for child in node.children]
    if isinstance(node, addnodes.desc_parameterlist):
        return "(" + ", ".join(parts) + ")"
    if isinstance(node, getattr(addnodes, "desc_type_parameter_list", ())):
        return "[" + ", ".join(parts) + "]"
    if isinstance(node, addnodes.desc_optional):
        return "[" + ", ".join(parts) + "]"
    if isinstance(node, addnodes.desc_returns):
        return " -> " + "".join(parts)
    return "".join(parts)


def is_output(node: nodes.Node) -> bool:
    if not isinstance(node, (nodes.literal_block, nodes.inline)):
        return False
    classes = set(node.get("classes", []))
    return "output" in classes and bool(classes & _OUTPUT_CLASSES)


def classes_of(node: nodes.Node) -> list[str]:
    return node.get("classes", []) if isinstance(node, nodes.Element) else []


def _is_card_link(node: nodes.Node) -> bool:
    """The invisible "stretched link" that makes a sphinx-design card clickable."""
    parent = node.parent
    return (isinstance(node, nodes.TextElement) and parent is not None and "sd-card" in classes_of(parent)
            and bool(node.children) and all(isinstance(c, nodes.reference) for c in node.children))


def card_parts(card: nodes.Element) -> tuple[str, list[nodes.Node], str, nodes.reference | None]:
    """``(title, body nodes, footer text, link)`` of a sphinx-design card container."""
    title, body, footer, link = "", [], "", None
    for child in card.children:
        if "sd-card-body" in classes_of(child):
            for part in child.children:
                if "sd-card-title" in classes_of(part):
                    title = " ".join(plain_text(part).split())
                else:
                    body.append(part)
        elif "sd-card-footer" in classes_of(child):
            footer = " ".join(plain_text(child).split())
        elif _is_card_link(child):
            link = child.children[0]
    return title, body, footer, link


def link_of(node: nodes.reference, docname: str = "") -> Link | None:
    """The link a resolved ``reference`` node makes, or None when it points nowhere."""
    text = plain_text(node).strip()
    if node.get("refid"):
        return Link(docname, node["refid"], text)
    uri = node.get("refuri", "")
    if not uri:
        return None
    if EXTERNAL.match(uri) or uri.startswith("//"):
        return Link(uri, "", text)
    path, _, anchor = uri.partition("#")
    if not path:
        return Link(docname, anchor, text)
    target = posixpath.normpath(posixpath.join(posixpath.dirname(docname), path))
    for suffix in (".html", "/index.html"):
        if target.endswith(suffix) and not target.startswith("_"):
            target = target[: -len(suffix)] if suffix == ".html" else target[: -len(suffix)] + "/index"
            break
    if target.endswith(".html") is False and path.endswith("/"):
        target = target + "/index"
    return Link(target, anchor, text)


def is_external(link: Link) -> bool:
    return bool(EXTERNAL.match(link.target) or link.target.startswith("//"))


class _Collector:
    def __init__(self, docname: str):
        self.docname = docname
        self.blocks: list[str] = []
        self.headings: list[Heading] = []
        self.passages: list[list] = []  # [anchor, heading, level, [texts]]
        self.code: list[CodeBlock] = []
        self.internal: list[Link] = []
        self.external: list[Link] = []
        self.outputs: list[str] = []
        self.signatures: list[str] = []

    def add_block(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        self.blocks.append(text)
        if self.passages:
            self.passages[-1][3].append(text)

    def links(self, node: nodes.Node) -> None:
        for ref in node.findall(nodes.reference):
            link = link_of(ref, self.docname)
            if link is not None:
                (self.external if is_external(link) else self.internal).append(link)
        for ref in node.findall(addnodes.download_reference):
            target = ref.get("filename") or ref.get("reftarget", "")
            if target:
                self.internal.append(Link(f"_downloads/{target}", "", plain_text(ref).strip()))

    def walk(self, node: nodes.Node, level: int) -> None:
        if is_skipped(node):
            return
        if isinstance(node, nodes.section):
            title = node.next_node(nodes.title)
            text = plain_text(title).strip() if title is not None else ""
            anchor = node["ids"][0] if node.get("ids") else ""
            self.headings.append(Heading(level + 1, text, anchor))
            self.passages.append([anchor, text, level + 1, []])
            self.add_block(text)
            if title is not None:
                self.links(title)
            for child in node.children:
                if child is not title:
                    self.walk(child, level + 1)
            return
        if isinstance(node, addnodes.desc_signature):
            sig = " ".join(signature_text(node).split())
            self.signatures.append(sig)
            self.add_block(sig)
            self.links(node)
            return
        if is_output(node):
            text = node.astext()
            self.outputs.append(text)
            self.add_block(text)
            return
        if isinstance(node, nodes.literal_block):
            self.code.append(CodeBlock(node.get("language", "") or "", node.astext().rstrip("\n")))
            self.add_block(node.astext())
            return
        if isinstance(node, nodes.TextElement):
            if not _is_card_link(node):  # a card's link repeats its title: keep the link only
                self.add_block(" ".join(plain_text(node).split()))
            self.links(node)
            return
        for child in node.children:
            self.walk(child, level)


def extract(doctree: nodes.document, docname: str = "") -> PageText:
    """The page's text as a :class:`PageText` (see the module docstring)."""
    c = _Collector(docname)
    for child in doctree.children:
        c.walk(child, 0)
    title = c.headings[0].text if c.headings else ""
    return PageText(
        title=title,
        headings=tuple(c.headings),
        text="\n".join(c.blocks),
        sections=tuple(Section(a, h, lv, "\n".join(t)) for a, h, lv, t in c.passages),
        code_blocks=tuple(c.code),
        internal_links=tuple(c.internal),
        external_links=tuple(c.external),
        outputs=tuple(c.outputs),
        signatures=tuple(c.signatures),
    )
