"""The site as readers meet it: accessible theme controls, a clean console and a 404 page.

* **Accessible names.** The theme's search button carried ``aria-label="Search"``
  while showing "Search Ctrl+K", and its colour-mode button named each icon as an
  image ("Light", "Dark") under a different label; both fail WCAG 2.5.3 (label in
  name). ``templates/search-button-field.html`` and ``templates/theme-switcher.html``
  override those two components. MyST-NB's "Show code cell source" toggles carry
  ``aria-label="Toggle hidden content"``, another mismatch: an HTML visitor of its
  toggle node writes them without it, so the visible text names them. The sidebar's
  expand/collapse ``<summary>`` elements hold only a chevron icon; every one gets an
  ``aria-label`` naming the section it opens ("Show pages under Guides"), set on the
  theme's sidebar tree before it is printed. ``_static/bookkit-sitefixes.js`` names widget
  slider handles after the widget's description.
* **Contrast.** ``_static/bookkit-sitefixes.css`` darkens the text of
  sphinx-design's ``secondary`` badges (white on the theme's orange: 2.5:1).
* **A clean console.** Inline scripts registered twice (sphinx-thebe's settings are
  added once by Jupyter Book and once more by the theme, a ``const`` declared twice
  is a SyntaxError) are written once; the theme's ``html_context`` gets
  ``default_mode: auto`` unless ``_config.yml`` sets one (an empty mode logs an error
  on every page), and a favicon unless ``html.favicon`` names one (browsers otherwise
  request a missing ``/favicon.ico`` and log the 404).
* **A 404 page.** ``404.html`` at the site root, rendered in the site's own layout
  with relative URLs. A static host serves it for a missing URL at any depth, so on
  build-finished it becomes a shell whose one script finds the site root in the
  requested path (the folder before the first segment that is one of the site's
  top-level folders, else the last segment that is a published version from
  ``bookkit_versions``, else the requested folder) and writes the page back behind a
  ``<base>`` there. The page travels as a string, so the browser's preload scanner
  never fetches its assets from the wrong folder. The same file works under ``/0.7.0/``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

from bookkit import __version__
from bookkit.core.io import STATIC, TEMPLATES, write_if_changed
from bookkit.core.settings import read, register, setting

logger = logging.getLogger(__name__)
CSS = "bookkit-sitefixes.css"
JS = "bookkit-sitefixes.js"
FAVICON = "bookkit-favicon.svg"
ROOT_TOKEN = "@bookkit-site-root@"
SHELL_MARK = '<meta name="generator" content="bookkit.sitefixes 404">'
ASSET_DIRS = ("_static", "_images", "_sources", "_downloads", "_widgets", "pagefind")


@dataclass(frozen=True)
class SiteFixSettings:
    notfound_page: str = setting("404", "Name of the not-found page written at the site root ('' = none).",
                                 rebuild="html")
    notfound_title: str = setting("Page not found", "Title and heading of the not-found page.", rebuild="html")
    figure_numbers: bool = setting(True, "Number figures and tables ('Fig. 3'). Numbering reads every page's doctree "
                                   "on every build, so make live turns it off (-D bookkit_figure_numbers=0); "
                                   "this has the last word over extensions that switch numfig on.")


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
    if not read(config, SiteFixSettings).figure_numbers:
        config.numfig = False  # sphinx-jupyterbook-latex sets it on config-inited (priority 500)


def add_assets(app: Sphinx) -> None:
    app.add_css_file(CSS)
    app.add_js_file(JS, loading_method="defer")


# -- per-page fixes: the sidebar tree, the cell toggles, the script list -----------------------------

def label_toggles(soup: Any) -> Any:
    """Give each icon-only sidebar <summary> an aria-label naming the section it expands.

    ``soup`` is the sidebar tree the theme builds (a BeautifulSoup); it is changed in place
    and returned. A summary that already has a label is left alone.
    """
    for details in soup.find_all("details"):
        summary = details.find("summary", recursive=False)
        if (summary is None or summary.has_attr("aria-label")
                or summary.find("span", class_="toctree-toggle", recursive=False) is None):
            continue
        link = details.find_previous_sibling("a")
        if link is not None and "reference" in (link.get("class") or []):
            summary["aria-label"] = "Show pages under " + link.get_text().strip()
    return soup


def _labelled(generate: Callable[..., Any]) -> Callable[..., Any]:
    """The theme's ``generate_toctree_html`` with :func:`label_toggles` applied to its sidebar tree."""
    cache: dict[tuple, Any] = {}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted(kwargs.items())))
        if key not in cache:
            out = generate(*args, **kwargs)
            cache[key] = label_toggles(out) if hasattr(out, "find_all") else out
        return cache[key]
    return wrapper


def visit_hidden_cell(self: Any, node: Any) -> None:
    """MyST-NB's hidden-cell toggle, named by its visible text ("Show code cell source").

    MyST-NB labels every such <summary> "Toggle hidden content", which is not what it shows
    (WCAG 2.5.3); this visitor writes the same markup without that label.
    """
    self.body.append(f'<details class="admonition hide {" ".join(node["classes"])}">\n')
    self.body.append("<summary>\n")
    self.body.append(f'<p class="collapsed admonition-title">{html.escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{html.escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def depart_hidden_cell(self: Any, node: Any) -> None:
    self.body.append("</details>\n")


def name_cell_toggles(app: Sphinx) -> None:
    """builder-inited: MyST-NB's toggle node gets :func:`visit_hidden_cell` (after MyST-NB registered its own)."""
    if "myst_nb" not in app.extensions:
        return
    from myst_nb.sphinx_ import HideCodeCellNode
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_hidden_cell))


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
    """html-page-context (after the theme's own handler): labelled sidebar toggles, scripts once."""
    if callable(context.get("generate_toctree_html")):
        context["generate_toctree_html"] = _labelled(context["generate_toctree_html"])
    if isinstance(context.get("script_files"), list):
        context["script_files"] = unique_scripts(context["script_files"])


def root_relative_switcher(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """html-page-context (before the theme writes its switcher script): on the 404 page, the
    version switcher's file is fetched from the site root, which only the page's script knows."""
    cfg = read(app.config, SiteFixSettings)
    switcher = context.get("theme_switcher")
    if pagename != cfg.notfound_page or not isinstance(switcher, dict):
        return
    url = str(switcher.get("json_url", ""))
    if url and "://" not in url and not url.startswith(("/", ROOT_TOKEN)):
        context["theme_switcher"] = {**switcher, "json_url": ROOT_TOKEN + url}


# -- the 404 page ----------------------------------------------------------------------------------

def top_level_names(app: Sphinx) -> list[str]:
    names = {doc.split("/", 1)[0] for doc in app.env.found_docs if "/" in doc}
    return sorted(names | set(ASSET_DIRS))


def version_names(app: Sphinx) -> list[str]:
    entries = getattr(app.config, "bookkit_versions", None) or []
    return sorted({str(e.get("version")) for e in entries if isinstance(e, dict) and e.get("version")})


ROOT_FINDER = (
    "var s=location.pathname.split('/');s.pop();var r=null,i;"
    "for(i=1;i<s.length&&r===null;i++){if(d.top.indexOf(s[i])>=0){r=s.slice(0,i).join('/')+'/';}}"
    "for(i=s.length-1;i>=1&&r===null;i--){if(d.versions.indexOf(s[i])>=0){r=s.slice(0,i+1).join('/')+'/';}}"
    "if(r===null){r=s.join('/')+'/';}")
FIX_FRAGMENTS = (
    "document.addEventListener('DOMContentLoaded',function(){var here=location.href.split('#')[0];"
    "document.querySelectorAll('a[href^=\"#\"]').forEach(function(a){a.href=here+a.getAttribute('href');});});")


def notfound_shell(page: str, data: dict, heading: str) -> str:
    """The rendered 404 page as a shell that writes it back behind a <base> at the site root.

    The page itself travels as a JavaScript string, so the browser's preload scanner sees
    no relative URL before the <base> exists (it would fetch every stylesheet from the
    requested folder and log each 404).
    """
    # Cut from the page this build rendered (the theme's layout, bookkit's body), by its tags.
    start = page.index("<html")
    html_tag = page[start:page.index(">", start) + 1]
    head = page[page.index("<head>") + len("<head>"):page.index("</head>")]
    charset = head.find("<meta charset=")
    if charset >= 0:  # the shell declares it first; the written page must not declare it again
        head = head[:charset] + head[head.index(">", charset) + 1:]
    title = head[head.index("<title>") + len("<title>"):head.index("</title>")]
    body = page[page.index("<body"):page.rindex("</body>") + len("</body>")]
    rest = json.dumps(head + "</head>\n" + body).replace("</", "<\\/")
    return (
        f"<!DOCTYPE html>\n{html_tag}\n<head>\n<meta charset=\"utf-8\">\n{SHELL_MARK}\n<title>{title}</title>\n"
        f"<script>(function(){{var d={json.dumps(data, sort_keys=True)};{ROOT_FINDER}"
        f"document.documentElement.setAttribute('data-content_root',r);"
        f"document.write('<base href=\"'+location.origin+r+'\">'+{rest}.split('{ROOT_TOKEN}').join(r));"
        f"{FIX_FRAGMENTS}}})();</script>\n"
        f"</head>\n<body>\n<noscript><h1>{html.escape(heading)}</h1><p>There is no page at this address. "
        f"<a href=\"index.html\">The book's home page</a></p></noscript>\n</body>\n</html>\n")


def write_notfound(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: turn the rendered 404 page into its shell (written only when changed)."""
    cfg = read(app.config, SiteFixSettings)
    if exception is not None or app.builder.name != "html" or not cfg.notfound_page:
        return
    path = Path(app.outdir) / f"{cfg.notfound_page}.html"
    if not path.is_file():
        return
    page = path.read_text(encoding="utf-8")
    if SHELL_MARK in page:
        return
    data = {"top": top_level_names(app), "versions": version_names(app)}
    write_if_changed(path, notfound_shell(page, data, cfg.notfound_title))


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
    app.connect("builder-inited", add_assets)
    app.connect("builder-inited", name_cell_toggles)
    app.connect("html-page-context", root_relative_switcher, priority=400)
    app.connect("html-page-context", fix_page, priority=900)
    app.connect("html-collect-pages", collect_pages)
    app.connect("build-finished", write_notfound)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
