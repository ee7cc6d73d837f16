"""The one page-text extraction: what a page says, as data and as clean Markdown.

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

``to_markdown(doctree, docname="", url_for=None, image_url=None) -> str``
    The page as clean CommonMark/GFM: ATX headings, prose with emphasis, inline
    code and links, bullet and numbered lists, fenced code with its language,
    GFM tables, admonitions as block quotes, math as ``$...$``, notebook text
    outputs as ``text`` fences and API signatures as code. No raw HTML and no
    reST/MyST directive syntax survives. ``url_for(link)`` rewrites internal
    links (default: the link as written in the page, relative to the page);
    ``image_url(uri)`` rewrites image sources (default: the URI in the doctree,
    relative to the source folder).

``link_of(node, docname) -> Link | None``, ``plain_text(node)`` and
``signature_text(desc_signature)`` are the
building blocks, exposed for extensions that walk doctrees themselves.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Callable, Iterator

from docutils import nodes
from sphinx import addnodes

__all__ = ["Heading", "Section", "CodeBlock", "Link", "PageText", "extract", "to_markdown",
           "link_of", "plain_text", "signature_text"]


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
_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_OUTPUT_CLASSES = {"stream", "text_plain", "stderr", "traceback"}


def _skipped(node: nodes.Node) -> bool:
    if isinstance(node, SKIP):
        return True
    classes = node.get("classes", []) if isinstance(node, nodes.Element) else []
    return "toctree-wrapper" in classes or "headerlink" in classes


def plain_text(node: nodes.Node) -> str:
    """The visible text of ``node``, leaving out raw HTML, comments and other non-text nodes."""
    if isinstance(node, nodes.Text):
        return str(node)
    if _skipped(node):
        return ""
    if isinstance(node, nodes.image):
        return node.get("alt", "")
    return "".join(plain_text(child) for child in node.children)


def signature_text(node: nodes.Node) -> str:
    """An API signature as it reads on the page: ``name(a: int, b=2) -> float``."""
    if isinstance(node, nodes.Text):
        return str(node)
    if _skipped(node):
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


def _is_output(node: nodes.Node) -> bool:
    if not isinstance(node, (nodes.literal_block, nodes.inline)):
        return False
    classes = set(node.get("classes", []))
    return "output" in classes and bool(classes & _OUTPUT_CLASSES)


def _classes(node: nodes.Node) -> list[str]:
    return node.get("classes", []) if isinstance(node, nodes.Element) else []


def _is_card_link(node: nodes.Node) -> bool:
    """The invisible "stretched link" that makes a sphinx-design card clickable."""
    parent = node.parent
    return (isinstance(node, nodes.TextElement) and parent is not None and "sd-card" in _classes(parent)
            and bool(node.children) and all(isinstance(c, nodes.reference) for c in node.children))


def card_parts(card: nodes.Element) -> tuple[str, list[nodes.Node], str, nodes.reference | None]:
    """``(title, body nodes, footer text, link)`` of a sphinx-design card container."""
    title, body, footer, link = "", [], "", None
    for child in card.children:
        if "sd-card-body" in _classes(child):
            for part in child.children:
                if "sd-card-title" in _classes(part):
                    title = " ".join(plain_text(part).split())
                else:
                    body.append(part)
        elif "sd-card-footer" in _classes(child):
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
    if _EXTERNAL.match(uri) or uri.startswith("//"):
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


def _is_external(link: Link) -> bool:
    return bool(_EXTERNAL.match(link.target) or link.target.startswith("//"))


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
                (self.external if _is_external(link) else self.internal).append(link)
        for ref in node.findall(addnodes.download_reference):
            target = ref.get("filename") or ref.get("reftarget", "")
            if target:
                self.internal.append(Link(f"_downloads/{target}", "", plain_text(ref).strip()))

    def walk(self, node: nodes.Node, level: int) -> None:
        if _skipped(node):
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
        if _is_output(node):
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


# ------------------------------------------------------------------ Markdown ----

_ADMONITION_TITLES = {cls.__name__: cls.__name__.capitalize() for cls in (
    nodes.note, nodes.tip, nodes.hint, nodes.important, nodes.warning, nodes.caution,
    nodes.attention, nodes.danger, nodes.error)}
_INLINE_ESCAPE = re.compile(r"([\\`*_\[\]<>|])")


def _escape(text: str) -> str:
    return _INLINE_ESCAPE.sub(r"\\\1", text)


def _fence(code: str, language: str = "") -> str:
    ticks = "```"
    while ticks in code:
        ticks += "`"
    return f"{ticks}{language}\n{code.rstrip()}\n{ticks}"


class _Markdown:
    def __init__(self, docname: str, url_for: Callable[[Link], str] | None,
                 image_url: Callable[[str], str] | None = None):
        self.docname = docname
        self.url_for = url_for
        self.image_url = image_url

    # inline ----------------------------------------------------------------
    def inline(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Text):
            return _escape(str(node).replace("\n", " "))
        if _skipped(node) or isinstance(node, (nodes.footnote_reference, nodes.citation_reference)):
            return "" if _skipped(node) else f"[{plain_text(node)}]"
        if isinstance(node, nodes.literal):
            text = node.astext().replace("\n", " ")
            ticks = "``" if "`" in text else "`"
            pad = " " if text.startswith("`") or text.endswith("`") else ""
            return f"{ticks}{pad}{text}{pad}{ticks}"
        if isinstance(node, nodes.math):
            return f"${node.astext()}$"
        if isinstance(node, nodes.image):
            uri = node.get("uri", "")
            if self.image_url is not None and not _EXTERNAL.match(uri):
                uri = self.image_url(uri)
            return f"![{_escape(node.get('alt', ''))}]({uri})"
        raw = "".join(self.inline(child) for child in node.children) if isinstance(node, nodes.Element) else ""
        inner = raw.strip()
        lead, trail = raw[: len(raw) - len(raw.lstrip())], raw[len(raw.rstrip()):]
        if isinstance(node, nodes.strong):  # spaces stay outside the markers: "**a:** b"
            return f"{lead}**{inner}**{trail}" if inner else raw
        if isinstance(node, nodes.emphasis):
            return f"{lead}*{inner}*{trail}" if inner else raw
        if isinstance(node, nodes.reference):
            return self.link(node, inner)
        if isinstance(node, addnodes.download_reference):
            return inner
        return "".join(self.inline(child) for child in node.children) if isinstance(node, nodes.Element) else ""

    def link(self, node: nodes.reference, inner: str) -> str:
        link = link_of(node, self.docname)
        if link is None:
            return inner
        if _is_external(link):
            url = link.target
        elif self.url_for is not None:
            url = self.url_for(link)
        else:
            url = node.get("refuri", "") or ("#" + node.get("refid", ""))
        return f"[{inner or _escape(url)}]({url})"

    def para(self, node: nodes.Element) -> str:
        return re.sub(r"[ \t]+", " ", "".join(self.inline(child) for child in node.children)).strip()

    # blocks ----------------------------------------------------------------
    def blocks(self, node: nodes.Node, level: int) -> Iterator[str]:
        for child in node.children:
            yield from self.block(child, level)

    def block(self, node: nodes.Node, level: int) -> Iterator[str]:
        if isinstance(node, nodes.Text):
            text = str(node).strip()
            if text:
                yield _escape(text)
            return
        if _skipped(node):
            return
        if isinstance(node, nodes.section):
            title = node.next_node(nodes.title)
            if title is not None:
                yield "#" * min(level + 1, 6) + " " + self.para(title)
            for child in node.children:
                if child is not title:
                    yield from self.block(child, level + 1)
        elif isinstance(node, (nodes.title, nodes.rubric)):
            text = self.para(node)
            if text:
                yield f"**{text}**"
        elif "sd-card" in _classes(node):
            title, body, footer, link = card_parts(node)
            text = " ".join(" ".join(b for n in body for b in self.block(n, level)).split())
            label = self.inline(link) if link is not None else (f"**{_escape(title)}**" if title else "")
            if link is not None and title:
                label = self.link(link, _escape(title))
            line = "- " + label + (f": {text}" if text else "") + (f" ({footer})" if footer else "")
            yield line if label or text else ""
        elif isinstance(node, addnodes.desc):
            yield from self.blocks(node, level)
        elif isinstance(node, addnodes.desc_signature):
            yield _fence(" ".join(signature_text(node).split()))
        elif _is_output(node):
            yield _fence(node.astext(), "text")
        elif isinstance(node, nodes.literal_block):
            yield _fence(node.astext(), node.get("language", "") or "")
        elif isinstance(node, nodes.math_block):
            yield f"$$\n{node.astext().strip()}\n$$"
        elif isinstance(node, nodes.bullet_list):
            yield "\n".join(self.list_items(node, lambda i: "-", level))
        elif isinstance(node, nodes.enumerated_list):
            start = node.get("start", 1)
            yield "\n".join(self.list_items(node, lambda i: f"{start + i}.", level))
        elif isinstance(node, nodes.table):
            yield from self.table(node)
        elif isinstance(node, nodes.definition_list):
            for item in node.children:
                term = item.next_node(nodes.term)
                yield f"**{self.para(term)}**" if term is not None else ""
                for definition in item.findall(nodes.definition):
                    body = "\n\n".join(self.blocks(definition, level))
                    yield ": " + body.replace("\n", "\n  ")
        elif isinstance(node, nodes.field_list):
            items = []
            for field in node.children:
                name, body = field.children[0], field.children[1]
                parts = [b for b in self.blocks(body, level) if b]
                head = f"- **{self.para(name)}**:"
                if parts and "\n" not in parts[0]:
                    head, parts = f"{head} {parts[0]}", parts[1:]
                rest = "\n".join(("  " + line if line else "") for line in "\n\n".join(parts).splitlines())
                items.append(f"{head}\n\n{rest}" if rest else head)
            yield "\n".join(items)
        elif isinstance(node, (nodes.Admonition, nodes.block_quote, nodes.topic, nodes.sidebar)):
            label = _ADMONITION_TITLES.get(type(node).__name__, "")
            parts = list(self.blocks(node, level))
            if isinstance(node, nodes.admonition) and parts and parts[0].startswith("**"):
                label, parts = parts[0].strip("*"), parts[1:]
            body = "\n\n".join(parts)
            if label:
                body = f"**{label}:** " + body
            yield "\n".join(("> " + line).rstrip() for line in body.splitlines())
        elif isinstance(node, nodes.transition):
            yield "---"
        elif isinstance(node, nodes.line_block):
            yield "  \n".join(self.para(line) for line in node.findall(nodes.line))
        elif isinstance(node, (nodes.figure,)):
            for child in node.children:
                if isinstance(child, nodes.image):
                    yield self.inline(child)
                elif isinstance(child, nodes.caption):
                    yield "*" + self.para(child) + "*"
                else:
                    yield from self.block(child, level)
        elif isinstance(node, nodes.image):
            yield self.inline(node)
        elif isinstance(node, (nodes.footnote, nodes.citation)):
            label = node.next_node(nodes.label)
            body = " ".join("\n\n".join(self.blocks(node, level)).split())
            yield f"[{plain_text(label) if label else ''}]: {body}"
        elif isinstance(node, nodes.label):
            return
        elif isinstance(node, nodes.TextElement):
            text = self.para(node)
            if text:
                yield text
        elif isinstance(node, nodes.Element):
            yield from self.blocks(node, level)

    def list_items(self, node: nodes.Element, marker: Callable[[int], str], level: int) -> Iterator[str]:
        for i, item in enumerate(node.children):
            mark = marker(i)
            body = "\n\n".join(b for b in self.blocks(item, level) if b)
            pad = " " * (len(mark) + 1)
            lines = body.splitlines() or [""]
            yield f"{mark} {lines[0]}" + "".join("\n" + (pad + line if line else "") for line in lines[1:])

    def table(self, node: nodes.table) -> Iterator[str]:
        title = node.next_node(nodes.title)
        if title is not None and title.parent is node:
            yield f"**{self.para(title)}**"
        rows: list[list[str]] = []
        header_rows = 0
        for group in node.findall(nodes.tgroup):
            for part in group.children:
                if isinstance(part, (nodes.thead, nodes.tbody)):
                    for row in part.children:
                        cells = [" ".join(" ; ".join(self.blocks(entry, 0)).split())
                                 for entry in row.children]
                        rows.append(cells)
                        if isinstance(part, nodes.thead):
                            header_rows += 1
            break
        if not rows:
            return
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        header = rows[0] if header_rows else [""] * width
        body = rows[1:] if header_rows else rows
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
        out += ["| " + " | ".join(r) + " |" for r in body]
        yield "\n".join(out)


def to_markdown(doctree: nodes.document, docname: str = "", url_for: Callable[[Link], str] | None = None,
                image_url: Callable[[str], str] | None = None) -> str:
    """The page as clean Markdown (see the module docstring)."""
    md = _Markdown(docname, url_for, image_url)
    parts = [b for b in md.blocks(doctree, 0) if b and b.strip()]
    text = "\n\n".join(parts) + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)
