"""A page as clean CommonMark/GFM, from its resolved doctree (the llms files and ``<page>.md``).

``to_markdown(doctree, docname="", url_for=None, image_url=None) -> str``
    The page as clean CommonMark/GFM: ATX headings, prose with emphasis, inline
    code and links, bullet and numbered lists, fenced code with its language,
    GFM tables, admonitions as block quotes, math as ``$...$``, notebook text
    outputs as ``text`` fences and API signatures as code. No raw HTML and no
    reST/MyST directive syntax survives. ``url_for(link)`` rewrites internal
    links (default: the link as written in the page, relative to the page);
    ``image_url(uri)`` rewrites image sources (default: the URI in the doctree,
    relative to the source folder).
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

from docutils import nodes
from sphinx import addnodes

from bookkit.text.pagetext import (EXTERNAL, Link, card_parts, classes_of, is_external, is_output, is_skipped, link_of,
                                   plain_text, signature_text)

__all__ = ["to_markdown"]

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
        if is_skipped(node) or isinstance(node, (nodes.footnote_reference, nodes.citation_reference)):
            return "" if is_skipped(node) else f"[{plain_text(node)}]"
        if isinstance(node, nodes.literal):
            text = node.astext().replace("\n", " ")
            ticks = "``" if "`" in text else "`"
            pad = " " if text.startswith("`") or text.endswith("`") else ""
            return f"{ticks}{pad}{text}{pad}{ticks}"
        if isinstance(node, nodes.math):
            return f"${node.astext()}$"
        if isinstance(node, nodes.image):
            uri = node.get("uri", "")
            if self.image_url is not None and not EXTERNAL.match(uri):
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
        if is_external(link):
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
        if is_skipped(node):
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
        elif "sd-card" in classes_of(node):
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
        elif is_output(node):
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
