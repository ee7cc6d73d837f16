""""Ask the book": a panel on every page that answers from the book's own passages, with no server.

* **Corpus.** On ``build-finished`` (after :mod:`bookkit.outputs.json_output`), every published
  page's sections (from :mod:`bookkit.text.pagetext`, the one extraction) are written to
  ``_bookkit/assistant-corpus.json``: page title, page URL, heading, anchor and text
  per passage. Gated-out pages are never read, so the assistant only sees what the
  build publishes. Written only when it changed.
* **Retrieval.** ``_static/bookkit-assistant-core.js`` ranks passages with BM25 (identifiers
  split into parts), answers with the best passages, each cited with its page title
  and a link to its heading, and says that nothing matches well under a threshold.
* **Generated answers (optional).** When ``bookkit_assistant_endpoint`` (or the
  environment variable ``BOOK_ASSISTANT_ENDPOINT``) names an OpenAI-compatible chat
  completions URL, the panel POSTs ``{model, messages}`` with the question and the
  retrieved passages, and shows the answer as sanitised Markdown with the same
  citations. No key is ever written into the site: a reader may enter one in the
  panel (kept in the browser's localStorage, sent as ``Authorization`` only when set).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ConfigError
from sphinx.util import logging

from bookkit import __version__
from bookkit.core.io import STATIC, dumps, write_if_changed
from bookkit.core.settings import read, register, setting
from bookkit.core.store import run_state
from bookkit.outputs.json_output import JsonRun, records

logger = logging.getLogger(__name__)
ENDPOINT_ENV = "BOOK_ASSISTANT_ENDPOINT"


@dataclass(frozen=True)
class AssistantSettings:
    assistant_enabled: bool = setting(True, "Show the 'Ask the book' panel and write its corpus.", rebuild="html")
    assistant_corpus: str = setting("_bookkit/assistant-corpus.json",
                                    "Passages file, relative to the HTML output.", rebuild="html")
    assistant_endpoint: str = setting("", "OpenAI-compatible chat completions URL for generated answers "
                                      f"(empty: offline answers only; {ENDPOINT_ENV} overrides).", rebuild="html")
    assistant_model: str = setting("", "Model name sent to the endpoint.", rebuild="html")
    assistant_passage_chars: int = setting(2000, "Longest passage text kept in the corpus (characters).",
                                           rebuild="html")


def _enabled(app: Sphinx) -> bool:
    return app.builder.name in ("html", "dirhtml") and read(app.config, AssistantSettings).assistant_enabled


def endpoint(app: Sphinx) -> str:
    """The endpoint URL: the environment variable wins over ``_config.yml``; must be http(s)."""
    value = os.environ.get(ENDPOINT_ENV) or read(app.config, AssistantSettings).assistant_endpoint
    if value and not value.startswith(("https://", "http://")):
        source = ENDPOINT_ENV if os.environ.get(ENDPOINT_ENV) else "_config.yml: sphinx.config.bookkit_assistant_endpoint"
        raise ConfigError(f"{source} = {value!r} is not an http(s) URL; set it to an OpenAI-compatible chat "
                          "completions URL such as https://host/v1/chat/completions, or leave it empty.")
    return value


def passages(all_records: list[dict[str, Any]], limit: int) -> list[dict[str, str]]:
    """One entry per non-empty section of every page record, in toc order."""
    out = []
    for record in all_records:
        for section in record.get("sections", []):
            text = " ".join(section.get("text", "").split())
            heading = section.get("heading", "")
            if text.startswith(heading):
                text = text[len(heading):].lstrip()
            if not text:
                continue
            out.append({"p": record["title"], "u": record["url"], "a": section.get("anchor", ""),
                        "h": heading, "t": text[:limit]})
    return out


def write_corpus(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: write the passages file the panel retrieves from."""
    if exception is not None or not _enabled(app):
        return
    cfg = read(app.config, AssistantSettings)
    all_records = run_state(app, JsonRun).records or records(app)
    corpus = {"version": 1, "passages": passages(all_records, cfg.assistant_passage_chars)}
    text = json.dumps(corpus, ensure_ascii=False, separators=(",", ":")) + "\n"
    changed = write_if_changed(Path(app.outdir) / cfg.assistant_corpus, text)
    logger.info(f"[assistant] {len(corpus['passages'])} passages{' written' if changed else ' unchanged'}")


def add_static(app: Sphinx) -> None:
    """builder-inited: the panel's scripts, and its settings (corpus path, endpoint, model; never a key)."""
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))
    if not _enabled(app):
        return
    cfg = read(app.config, AssistantSettings)
    settings = {"corpus": cfg.assistant_corpus, "endpoint": endpoint(app), "model": cfg.assistant_model}
    app.add_js_file(None, body=f"window.BOOKKIT_ASSISTANT = {dumps(settings).strip()};")
    app.add_js_file("bookkit-assistant.js", loading_method="defer")
    app.add_css_file("bookkit-assistant.css")


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, AssistantSettings)
    app.connect("builder-inited", add_static)
    app.connect("build-finished", write_corpus, priority=800)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
