"""Validate every page's front matter against the book's JSON Schema.

The schema lives once, in ``bookkit/schemas/frontmatter.schema.json``. Each page
is checked when Sphinx reads it; a problem becomes a warning (type ``bookkit``,
subtype ``frontmatter``) at the page's file and line that names the key, the bad
value and the closest valid value, so the strict build (``-W``) fails on it.

Valid front matter is kept in the per-document store ``FRONT_MATTER`` (:mod:`bookkit.core.store`)
for other extensions.
The ``{frontmatter-schema}`` directive renders the schema as a table for the
contributor guide, so the documentation cannot drift from the check.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from bookkit import __version__
from bookkit.core.events import GENERATED_PAGE, add_events
from bookkit.core.pages import FrontMatter, FrontMatterError, read_front_matter
from bookkit.core.settings import read, register, setting
from bookkit.core.store import ENV_VERSION, DocStore, enable
from bookkit.core.suggest import closest

logger = logging.getLogger(__name__)
#: docname -> the page's valid front matter, with its ``title``.
FRONT_MATTER = DocStore("frontmatter")


@dataclass(frozen=True)
class FrontMatterSettings:
    frontmatter_exempt: list = setting(
        [], "Glob patterns of document names whose front matter is not checked (generated API pages)."
    )


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The front-matter JSON Schema shipped with bookkit."""
    text = resources.files("bookkit").joinpath("schemas/frontmatter.schema.json").read_text("utf-8")
    return json.loads(text)


def _closest(value: Any, choices: list[str]) -> str:
    return closest(str(value), [str(c) for c in choices], cutoff=0.0) or str(choices[0])


def explain(error: jsonschema.ValidationError) -> tuple[str, str]:
    """``(key, message)`` for one schema violation, with the fix spelled out."""
    props = schema()["properties"]
    path = [str(p) for p in error.absolute_path]
    key = path[0] if path else ""
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return missing, (f"missing required key '{missing}'. Add it: {props[missing]['description']}")
    if error.validator == "additionalProperties":
        unknown = error.message.split("'")[1]
        return unknown, (f"unknown key '{unknown}'; did you mean '{_closest(unknown, list(props))}'? "
                         f"Valid keys: {', '.join(props)}")
    if error.validator == "enum":
        return key, (f"key '{'.'.join(path)}' has the bad value {error.instance!r}; "
                     f"did you mean {_closest(error.instance, error.validator_value)!r}? "
                     f"Valid values: {', '.join(error.validator_value)}")
    return key, f"key '{'.'.join(path)}' has the bad value {error.instance!r}: {error.message}"


def problems(fm: FrontMatter) -> list[tuple[int, str]]:
    """Every ``(line, message)`` wrong with a page's front matter; empty when valid."""
    validator = jsonschema.Draft202012Validator(schema())
    found = []
    for error in sorted(validator.iter_errors(fm.data), key=lambda e: [str(p) for p in e.absolute_path]):
        key, message = explain(error)
        found.append((fm.line_of(key), message))
    if not fm.data:
        found = [(1, "page has no front matter. Start it with a '---' YAML block "
                     "(notebooks: top-level notebook metadata) holding: " + ", ".join(schema()["required"]))]
    return found


def check_document(app: Sphinx, docname: str, source: list[str]) -> None:
    env = app.env
    settings = read(app.config, FrontMatterSettings)
    if any(fnmatch.fnmatch(docname, pat) for pat in settings.frontmatter_exempt) \
            or app.emit_firstresult(GENERATED_PAGE, docname):
        return
    path = env.doc2path(docname)
    try:
        fm = read_front_matter(path)
    except FrontMatterError as exc:
        logger.warning(f"{exc.message}", location=(docname, exc.line), type="bookkit", subtype="frontmatter")
        return
    found = problems(fm)
    for line, message in found:
        logger.warning(message, location=(docname, line), type="bookkit", subtype="frontmatter")
    if not found:
        FRONT_MATTER.set(env, docname, dict(fm.data, title=fm.title))


class FrontMatterSchemaDirective(SphinxDirective):
    """Render the front-matter schema as a table: key, required, allowed values, meaning."""

    def run(self) -> list[nodes.Node]:
        s = schema()
        rows = ["| Key | Required | Allowed values | Meaning |", "|---|---|---|---|"]
        for key, spec in s["properties"].items():
            allowed = spec.get("enum") or (spec.get("items") or {}).get("enum") or [spec.get("type", "")]
            kind = "list of " if spec.get("type") == "array" else ""
            rows.append(f"| `{key}` | {'yes' if key in s['required'] else 'no'} | {kind}"
                        + ", ".join(f"`{a}`" for a in allowed) + f" | {spec['description']} |")
        container = nodes.container(classes=["bookkit-frontmatter-schema"])
        self.state.nested_parse(StringList(rows, source="frontmatter.schema.json"), self.content_offset, container)
        return [container]


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, FrontMatterSettings)
    app.add_directive("frontmatter-schema", FrontMatterSchemaDirective)
    enable(app)
    add_events(app)
    app.connect("source-read", check_document)
    return {"version": __version__, "env_version": ENV_VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
