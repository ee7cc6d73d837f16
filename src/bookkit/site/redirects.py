"""``bookkit.site.redirects``: keep NeMo RL's old documentation URLs working.

``archive/mapping.yml`` says where each page of NeMo RL's ``docs/`` folder went.
After an HTML build this extension writes a small page at every old URL
(``docs/guides/grpo.md`` -> ``guides/grpo.html``) that sends the reader on to
the new page: a meta refresh, a canonical link and a visible link, all with
relative URLs so the book works under any base path.

* Targets gated out of this build (a ``bookkit-page-hidden`` listener gives a reason,
  e.g. gating) are skipped without a word.
* Any other target that is not a document of the build is skipped with a
  warning (``bookkit.site.redirects``); an entry's ``fallback`` page is used first.
* Works with the ``html`` and ``dirhtml`` builders; old URLs are always
  ``<old path>.html`` (what readers bookmarked), the targets follow the builder.
* A real page is never overwritten: only files carrying this extension's
  generator tag are rewritten, and only when their content changes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

from bookkit import __version__
from bookkit.core.events import add_events, page_hidden
from bookkit.core.io import book_path
from bookkit.core.settings import read, register, setting

logger = logging.getLogger(__name__)
GENERATOR = '<meta name="generator" content="bookkit.redirects">'
STATUSES = {"moved", "merged", "removed"}
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{generator}
<title>Moved: {title}</title>
<link rel="canonical" href="{url}">
<meta http-equiv="refresh" content="0; url={url}">
<meta name="robots" content="noindex">
</head>
<body>
<p>This page has moved to <a href="{url}">{title}</a>.</p>
</body>
</html>
"""


@dataclass(frozen=True)
class RedirectsSettings:
    redirects_enabled: bool = setting(True, "Write redirect pages at the old NeMo RL docs URLs.")
    redirects_mapping: str = setting(
        "../archive/mapping.yml", "Old-to-new page mapping; relative to the book root (confdir)."
    )
    redirects_old_root: str = setting("docs/", "Prefix of the mapping's keys that is not part of the old URL.")
    redirects_missing_target: str = setting(
        "warn", "`warn` or `info`: how to report a mapping target that is not a page of the build "
        "(`info` while the book's pages are still being written).")


@dataclass(frozen=True)
class Redirect:
    old: str            # old docname, e.g. guides/grpo
    targets: tuple      # new docname, then the fallback (if any)
    key: str            # the mapping key, for messages
    line: int           # line of the key in the mapping file


def load_mapping(path: Path, old_root: str) -> tuple[list[Redirect], list[tuple[str, int]]]:
    """The redirects a mapping file asks for, and problems found in it (message, line)."""
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    lines = {ln.strip().split(":", 1)[0]: no for no, ln in enumerate(text.splitlines(), 1)}
    redirects, problems = [], []
    for key, entry in (data.get("pages") or {}).items():
        line = lines.get(key, 1)
        status = (entry or {}).get("status")
        if status not in STATUSES:
            problems.append((f"{key}: status {status!r} is not one of {sorted(STATUSES)}", line))
            continue
        if status == "removed" and not entry.get("reason"):
            problems.append((f"{key}: status 'removed' needs a 'reason'", line))
        targets = tuple(t for t in (entry.get("new"), entry.get("fallback")) if t)
        if not targets:
            if status != "removed":
                problems.append((f"{key}: status {status!r} needs a 'new' page", line))
            continue
        old = key.removeprefix(old_root).rsplit(".", 1)[0]
        redirects.append(Redirect(old, targets, key, line))
    return redirects, problems


def render(title: str, url: str) -> str:
    return TEMPLATE.format(generator=GENERATOR, title=html.escape(title), url=html.escape(url, quote=True))


def _mapping_path(app: Sphinx) -> Path:
    cfg = read(app.config, RedirectsSettings)
    return book_path(app, cfg.redirects_mapping)


# -------------------------------------------------------------- events ----

def check_mapping(app: Sphinx) -> None:
    """Report a malformed mapping early, before the (long) read phase."""
    if not read(app.config, RedirectsSettings).redirects_enabled:
        return
    path = _mapping_path(app)
    if not path.is_file():
        logger.warning("redirects: mapping %s not found; no redirects are written", path,
                       type="bookkit", subtype="redirects")
        return
    _, problems = load_mapping(path, read(app.config, RedirectsSettings).redirects_old_root)
    for message, line in problems:
        logger.warning(message, location=f"{path}:{line}", type="bookkit", subtype="redirects")


def write_redirects(app: Sphinx, exception: Exception | None) -> None:
    cfg = read(app.config, RedirectsSettings)
    path = _mapping_path(app)
    if exception is not None or not cfg.redirects_enabled or app.builder.name not in ("html", "dirhtml") \
            or not path.is_file():
        return
    env, builder = app.env, app.builder
    redirects, _ = load_mapping(path, cfg.redirects_old_root)
    hidden = {t for r in redirects for t in r.targets if page_hidden(app, t)}
    written = 0
    for r in redirects:
        if r.old in env.found_docs:
            continue  # the old URL is a page of this book: never replace it
        target = next((t for t in r.targets if t in env.found_docs and t not in hidden), None)
        if target is None:
            if not hidden.intersection(r.targets):
                report = logger.info if cfg.redirects_missing_target == "info" else logger.warning
                report(f"redirects: {r.key} maps to {r.targets[0]!r}, which is not a page of "
                       "this build; no redirect written", location=f"{path}:{r.line}",
                       type="bookkit", subtype="redirects")
            continue
        old_uri = r.old + ".html"  # NeMo RL's site was built with the html builder
        out = Path(app.outdir, old_uri)
        url = relative_uri(old_uri, builder.get_target_uri(target))
        title = env.titles[target].astext() if target in env.titles else target
        text = render(title, url)
        if out.exists():
            current = out.read_text(encoding="utf-8", errors="replace")
            if GENERATOR not in current or current == text:
                continue  # a real file, or already up to date
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        written += 1
    if written:
        logger.info(f"bookkit.site.redirects: wrote {written} redirect page(s)")


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, RedirectsSettings)
    add_events(app)
    app.connect("builder-inited", check_mapping)
    app.connect("build-finished", write_redirects)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": __version__}
