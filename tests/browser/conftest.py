"""Real-browser fixtures: the built site on a local static server, and Debian's Chromium via Playwright.

Shared by every browser suite (search, assistant, version switcher, site checks,
accessibility). Tests using these fixtures carry ``@pytest.mark.browser``.

* ``site_server`` (session): a threading ``http.server`` on 127.0.0.1 serving
  ``BOOK_HTML`` (default ``book/_build/html``), exactly as a static host would;
  its value is the base URL, ending in ``/``. Skips when there is no built site.
* ``browser`` (session): Chromium from ``/usr/bin/chromium`` (or ``CHROMIUM``)
  launched headless by Playwright; never downloads a browser. Skips with the
  install command when Chromium or the ``playwright`` package is missing.
* ``page`` (function): a fresh browser context and page; console errors and
  uncaught page errors are collected in ``page.bookkit_errors`` (a list of str).
* ``serve_dir(path)``: start another static server for any folder (a factory,
  for tests that publish a site under a sub-path such as ``/0.7.0/``).
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest

BOOK_HTML = Path(os.environ.get("BOOK_HTML", Path(__file__).resolve().parents[2] / "book" / "_build" / "html"))
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class _QuietHandler(SimpleHTTPRequestHandler):
    """A static file handler that does not log every request to stderr."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
                      ".wasm": "application/wasm", ".pf_meta": "application/octet-stream"}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature of the base class
        pass


class StaticServer:
    """A threading HTTP server for one folder on 127.0.0.1 (a free port)."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def serve_dir() -> Iterator[Callable[[Path], str]]:
    servers: list[StaticServer] = []

    def start(root: Path) -> str:
        server = StaticServer(Path(root))
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def site_html() -> Path:
    html = BOOK_HTML
    if not (html / "index.html").exists():
        pytest.skip(f"no built site at {html}: run `make book` (or set BOOK_HTML)")
    return html


@pytest.fixture(scope="session")
def site_server(site_html: Path, serve_dir: Callable[[Path], str]) -> str:
    return serve_dir(site_html)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) "
                    "or set CHROMIUM to a Chromium binary")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is missing: pip install playwright==1.65.2 "
                    "(never `playwright install`: the tests use Debian's Chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    pg.bookkit_errors = errors
    yield pg
    context.close()
