"""Machine-readable pages: ``<page>.json`` beside every page's HTML, and a site-wide ``index.json``.

Each page record (schema: ``bookkit/schemas/page.schema.json``) holds the page's
id (document name), URL, title and description, its whole front matter, where it
sits in the book (part caption and breadcrumb titles from the toc), its headings
with anchors, its plain text and per-section passages, code blocks with their
language, internal and external links, the text outputs of executed notebook
cells and the signatures of API entries. All text comes from
:mod:`bookkit.text.pagetext`, so JSON, llms files and search agree.

``index.json`` (schema: ``index.schema.json``) describes the book and lists a
summary of every published page in toc order. The home page's document name is
also ``index``, so its full record lives inside ``index.json`` as ``home``.

Files are written on ``build-finished``, only when their content changed, with
sorted, stable content: no timestamps, no absolute paths. Pages not rewritten by
an incremental build keep their record, read back from their ``.json`` file.
Gated-out pages are never read, so they have no record anywhere.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from bookkit import __version__
from bookkit.content.frontmatter import FRONT_MATTER
from bookkit.core.events import AUDIENCE, add_events
from bookkit.core.io import dumps, write_if_changed
from bookkit.core.pages import FrontMatterError, read_front_matter, source_of
from bookkit.core.settings import read, register, setting
from bookkit.core.store import run_state
from bookkit.core.toc import book_title, toc_entries
from bookkit.text import pagetext

logger = logging.getLogger(__name__)
#: Fields of a record that come from the page's text (the rest is recomputed every build).
TEXT_FIELDS = ("headings", "text", "sections", "code_blocks", "internal_links", "external_links",
               "outputs", "signatures")


@dataclass(frozen=True)
class JsonSettings:
    json_enabled: bool = setting(True, "Write <page>.json beside every page and the site-wide index.json.")
    json_index: str = setting("index.json", "File name of the site-wide index, relative to the HTML output.")


def schema_validator(name: str) -> Any:
    """A jsonschema validator for ``page`` or ``index`` records (``$ref`` between them resolved)."""
    import jsonschema
    from importlib import resources
    from referencing import Registry, Resource

    def load(file: str) -> dict:
        return json.loads(resources.files("bookkit").joinpath(f"schemas/{file}").read_text("utf-8"))

    schemas = {f: load(f) for f in ("page.schema.json", "index.schema.json")}
    registry = Registry().with_resources(
        [(f, Resource.from_contents(s)) for f, s in schemas.items()]
        + [(s["$id"], Resource.from_contents(s)) for s in schemas.values()])
    return jsonschema.Draft202012Validator(schemas[f"{name}.schema.json"], registry=registry)


@dataclass
class JsonRun:
    """Run state: text fields of the pages written in this build, and the records of build-finished."""

    fresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[dict[str, Any]] | None = None


def _enabled(app: Sphinx) -> bool:
    return app.builder.name in ("html", "dirhtml") and read(app.config, JsonSettings).json_enabled


def text_fields(app: Sphinx, docname: str, page: pagetext.PageText) -> dict[str, Any]:
    """The text-derived part of a record; internal links get the URL they resolve to."""
    builder, srcdir = app.builder, str(Path(app.srcdir).resolve())

    def clean(text: str) -> str:  # a notebook printing its own folder must not publish it
        return text.replace(srcdir + "/", "").replace(srcdir, ".")

    def url(link: pagetext.Link) -> str:
        if link.target in app.env.found_docs:
            base = builder.get_target_uri(link.target)
        else:
            base = link.target
        return base + (f"#{link.anchor}" if link.anchor else "")

    seen: set = set()
    internal = []
    for link in page.internal_links:
        if (link.target, link.anchor) not in seen:
            seen.add((link.target, link.anchor))
            internal.append({"target": link.target, "anchor": link.anchor, "text": link.text, "url": url(link)})
    external, seen = [], set()
    for link in page.external_links:
        if link.target not in seen:
            seen.add(link.target)
            external.append({"url": link.target, "text": link.text})
    return {
        "headings": [asdict(h) for h in page.headings],
        "text": clean(page.text),
        "sections": [dict(asdict(s), text=clean(s.text)) for s in page.sections],
        "code_blocks": [asdict(c) for c in page.code_blocks],
        "internal_links": internal,
        "external_links": external,
        "outputs": [clean(o) for o in page.outputs],
        "signatures": list(page.signatures),
        "_title": page.title,
    }


def collect(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """doctree-resolved: keep the page's text for build-finished."""
    if not _enabled(app):
        return
    run_state(app, JsonRun).fresh[docname] = text_fields(app, docname, pagetext.extract(doctree, docname))


def front_matter(app: Sphinx, docname: str) -> dict[str, Any]:
    data = dict(FRONT_MATTER.get(app.env, docname) or {})
    if not data:
        path = source_of(app.srcdir, docname)
        try:
            data = dict(read_front_matter(path).data) if path else {}
        except FrontMatterError:
            data = {}
    return data


def json_path(app: Sphinx, docname: str) -> str:
    """Where ``docname``'s record is published, relative to the HTML output."""
    if docname == app.config.root_doc:
        return read(app.config, JsonSettings).json_index
    return docname + ".json"


def _cached(app: Sphinx, docname: str) -> dict[str, Any] | None:
    path = Path(app.outdir) / json_path(app, docname)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if docname == app.config.root_doc:
        data = data.get("home") or {}
    if not all(k in data for k in TEXT_FIELDS):
        return None
    return dict({k: data[k] for k in TEXT_FIELDS}, _title=data.get("title", ""))


def source_copy(app: Sphinx, docname: str, suffix: str) -> str:
    """Where Sphinx publishes the page's source (``""`` when it does not)."""
    if not app.config.html_copy_source:
        return ""
    link_suffix = app.config.html_sourcelink_suffix or ""
    name = docname + suffix
    return posixpath.join("_sources", name if name.endswith(link_suffix) else name + link_suffix)


def page_record(app: Sphinx, docname: str, fields: dict[str, Any], part: str, ancestors: tuple) -> dict:
    fm = front_matter(app, docname)
    titles = app.env.titles
    title = str(fm.get("title") or fields.get("_title") or (titles[docname].astext() if docname in titles
                                                                else docname))
    suffix = Path(app.env.doc2path(docname)).suffix
    return {
        "id": docname,
        "url": app.builder.get_target_uri(docname),
        "title": title,
        "description": str(fm.get("description", "")),
        "kind": "notebook" if suffix == ".ipynb" else "page",
        "source": source_copy(app, docname, suffix),
        "markdown": docname + ".md",
        "front_matter": fm,
        "part": part,
        "section_path": [{"id": a, "title": titles[a].astext() if a in titles else a} for a in ancestors],
        **{k: fields[k] for k in TEXT_FIELDS},
    }


def records(app: Sphinx) -> list[dict[str, Any]]:
    """Every published page's record, in toc order."""
    fresh = run_state(app, JsonRun).fresh
    out = []
    for entry in toc_entries(app):
        fields = fresh.get(entry.docname) or _cached(app, entry.docname)
        if fields is None:
            doctree = app.env.get_and_resolve_doctree(entry.docname, app.builder)
            fields = text_fields(app, entry.docname, pagetext.extract(doctree, entry.docname))
        out.append(page_record(app, entry.docname, fields, entry.part, entry.ancestors))
    return out


def summary(record: dict[str, Any], json_file: str) -> dict[str, Any]:
    fm = record["front_matter"]
    return {
        "id": record["id"], "url": record["url"], "json": json_file, "markdown": record["markdown"],
        "title": record["title"], "description": record["description"], "kind": record["kind"],
        "part": record["part"], "section_path": [s["title"] for s in record["section_path"]],
        **{k: fm[k] for k in ("content_type", "difficulty", "personas", "categories", "tags", "modality",
                              "time_minutes") if k in fm},
        "words": len(record["text"].split()),
    }


def write(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: write every changed ``<page>.json`` and ``index.json``."""
    if exception is not None or not _enabled(app):
        return
    outdir = Path(app.outdir)
    all_records = records(app)
    root = app.config.root_doc
    home = next((r for r in all_records if r["id"] == root), None)
    written = 0
    for record in all_records:
        if record["id"] != root:
            written += write_if_changed(outdir / json_path(app, record["id"]), dumps(record))
    index = {
        "title": book_title(app),
        "description": home["description"] if home else "",
        "version": app.config.release or app.config.version or "",
        "audience": app.emit_firstresult(AUDIENCE) or "",
        "page_count": len(all_records),
        "home": home,
        "pages": [summary(r, json_path(app, r["id"])) for r in all_records],
    }
    written += write_if_changed(outdir / json_path(app, root), dumps(index))
    run_state(app, JsonRun).records = all_records
    logger.info(f"[json] {len(all_records)} page records, {written} file(s) changed")


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, JsonSettings)
    add_events(app)
    app.connect("doctree-resolved", collect)
    app.connect("build-finished", write)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
