"""The site as readers meet it: accessible theme controls, a clean console and a 404 page.

* **Accessible names.** The theme's search button carried ``aria-label="Search"``
  while showing "Search Ctrl+K", and its colour-mode button named each icon as an
  image ("Light", "Dark") under a different label; both fail WCAG 2.5.3 (label in
  name). ``templates/search-button-field.html`` and ``templates/theme-switcher.html``
  override those two components. The sidebar's expand/collapse ``<summary>``
  elements hold only a chevron icon; every one gets an ``aria-label`` naming the
  section it opens ("Show pages under Guides").
* **Contrast.** ``_static/bookkit-sitefixes.css`` darkens the text of
  sphinx-design's ``secondary`` badges (white on the theme's orange: 2.5:1).
* **A clean console.** Inline scripts registered twice (sphinx-thebe's settings are
  added once by Jupyter Book and once more by the theme, a ``const`` declared twice
  is a SyntaxError) are written once, and the theme's ``html_context`` gets
  ``default_mode: auto`` unless ``_config.yml`` sets one (an empty mode logs an error on every page).
* **A 404 page.** ``404.html`` at the site root, in the site's own layout. A static
  host serves it for a missing URL at any depth, so its first script sets a
  ``<base>`` at the site root, found in the requested path: the folder before the
  first segment that is one of the site's top-level folders, else the last segment
  that is a published version (``bookkit_versions``), else the requested folder.
  Every URL on the page stays relative, so the same file works under ``/0.7.0/``.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

from bookkit import __version__
from bookkit.settings import read, register, setting

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
CSS = "bookkit-sitefixes.css"
FAVICON = "bookkit-favicon.svg"
ASSET_DIRS = ("_static", "_images", "_sources", "_downloads", "_widgets", "pagefind")


@dataclass(frozen=True)
class SiteFixSettings:
    notfound_page: str = setting("404", "Name of the not-found page written at the site root ('' = none).",
                                 rebuild="html")
    notfound_title: str = setting("Page not found", "Title and heading of the not-found page.", rebuild="html")


# -- config ---------------------------------------------------------------------------------------

def configure(app: Sphinx, config: Config) -> None:
    """config-inited: the component overrides first in templates_path; a valid default colour mode."""
    if str(TEMPLATES) not in config.templates_path:
        config.templates_path = [str(TEMPLATES), *config.templates_path]
    context = dict(config.html_context or {})
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    config.html_context = context
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))
    if not config.html_favicon:
        config.html_favicon = str(STATIC / FAVICON)


def add_css(app: Sphinx) -> None:
    app.add_css_file(CSS)


# -- per-page HTML fixes ---------------------------------------------------------------------------

_TOGGLE = re.compile(
    r'(<a class="reference internal[^"]*" href="[^"]*">(?P<title>.*?)</a>\s*<details(?: open="open")?>\s*)'
    r'<summary>(?=\s*<span class="toctree-toggle")', re.S)
_TAGS = re.compile(r"<[^>]+>")


def label_toggles(markup: str) -> str:
    """Give each icon-only sidebar <summary> an aria-label naming the section it expands."""
    def repl(m: re.Match) -> str:
        title = html.unescape(_TAGS.sub("", m.group("title"))).strip()
        return f'{m.group(1)}<summary aria-label="{html.escape("Show pages under " + title)}">'
    return _TOGGLE.sub(repl, markup)


def _labelled(generate: Callable[..., Any]) -> Callable[..., Any]:
    cache: dict[tuple, Any] = {}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted(kwargs.items())))
        if key not in cache:
            out = generate(*args, **kwargs)
            kind = kwargs.get("kind", args[0] if args else "sidebar")
            # the theme returns a BeautifulSoup for "sidebar" (printed by the template); "raw" stays a tree
            cache[key] = out if kind == "raw" else label_toggles(str(out))
        return cache[key]
    return wrapper


def unique_scripts(scripts: list) -> list:
    """The page's script list with exact repeats (same file or same inline body) dropped."""
    seen: set = set()
    out = []
    for script in scripts:
        attrs = getattr(script, "attributes", {}) or {}
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            out.append(script)
    return out


def fix_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """html-page-context (after the theme's own handler): labelled toggles, scripts once."""
    if callable(context.get("generate_toctree_html")):
        context["generate_toctree_html"] = _labelled(context["generate_toctree_html"])
    if isinstance(context.get("script_files"), list):
        context["script_files"] = unique_scripts(context["script_files"])
    cfg = read(app.config, SiteFixSettings)
    if cfg.notfound_page and pagename == cfg.notfound_page and doctree is None:
        context["metatags"] = base_script(app) + context.get("metatags", "")


# -- the 404 page ----------------------------------------------------------------------------------

def top_level_names(app: Sphinx) -> list[str]:
    names = {doc.split("/", 1)[0] for doc in app.env.found_docs if "/" in doc}
    return sorted(names | set(ASSET_DIRS))


def version_names(app: Sphinx) -> list[str]:
    entries = getattr(app.config, "bookkit_versions", None) or []
    return sorted({str(e.get("version")) for e in entries if isinstance(e, dict) and e.get("version")})


def base_script(app: Sphinx) -> str:
    """The first script of the 404 page: a <base> at the site root found in the requested path."""
    data = json.dumps({"top": top_level_names(app), "versions": version_names(app)}, sort_keys=True)
    return (
        "<script>(function(){var d=" + data + ";"
        "var s=location.pathname.split('/');s.pop();var r=null,i;"
        "for(i=1;i<s.length&&r===null;i++){if(d.top.indexOf(s[i])>=0){r=s.slice(0,i).join('/')+'/';}}"
        "for(i=s.length-1;i>=1&&r===null;i--){if(d.versions.indexOf(s[i])>=0){r=s.slice(0,i+1).join('/')+'/';}}"
        "if(r===null){r=s.join('/')+'/';}"
        "var b=document.createElement('base');b.href=location.origin+r;document.head.appendChild(b);"
        "document.addEventListener('DOMContentLoaded',function(){var here=location.href.split('#')[0];"
        "document.querySelectorAll('a[href^=\"#\"]').forEach(function(a){a.href=here+a.getAttribute('href');});});"
        "})();</script>\n")


def notfound_body(title: str) -> str:
    return (
        '<section id="page-not-found">\n'
        f"<h1>{html.escape(title)}</h1>\n"
        "<p>There is no page at this address in the NeMo RL Book. It may have moved when the book "
        "was reorganised, or the link may contain a typing mistake.</p>\n"
        "<ul>\n"
        '<li><a href="index.html">Go to the book\'s home page</a> and follow a section card.</li>\n'
        "<li>Search the book: press <kbd>Ctrl</kbd>+<kbd>K</kbd> or use the search button.</li>\n"
        '<li>Looking for a page of the old NeMo RL documentation? Many of its addresses '
        '(such as <code>guides/grpo.html</code>) forward to their new pages.</li>\n'
        "</ul>\n</section>\n")


def collect_pages(app: Sphinx):
    """html-collect-pages: 404.html at the site root, in the book's layout."""
    cfg = read(app.config, SiteFixSettings)
    if not cfg.notfound_page or app.builder.name != "html":
        return
    yield cfg.notfound_page, {"title": cfg.notfound_title, "body": notfound_body(cfg.notfound_title),
                              "display_toc": False}, "page.html"


def setup(app: Sphinx) -> dict[str, Any]:
    register(app, SiteFixSettings)
    app.connect("config-inited", configure, priority=850)
    app.connect("builder-inited", add_css)
    app.connect("html-page-context", fix_page, priority=900)
    app.connect("html-collect-pages", collect_pages)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
