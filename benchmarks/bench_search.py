"""Search relevance and cost on the built site: top-1/top-3 hit rates and bytes per query.

Usage::

    python benchmarks/bench_search.py                      # BOOK_HTML or book/_build/html
    python benchmarks/bench_search.py --html /tmp/x/_build/html --verbose

Serves the site on 127.0.0.1, opens it in Debian's Chromium (Playwright, never a
downloaded browser) and runs every query of ``tests/search/relevance.yml`` through
the page's own search code (``window.BookkitSearch``: the same identifier splitting
and Pagefind index the search box uses). Then it types a few typical queries into
the search dialog in fresh browser contexts and counts the bytes fetched from
``pagefind/`` for each, next to the size of Sphinx's ``searchindex.js`` that the
stock search page downloads whole, and runs the "Ask the book" regression questions
(``tests/assistant/questions.yml``) through the panel's core under node for the
offline top-3 citation rate. Prints a table; asserts nothing (the tests assert the floors).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import shutil
import subprocess
import statistics
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RELEVANCE = REPO / "tests" / "search" / "relevance.yml"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TYPICAL = ["how do I resume training from a checkpoint", "grpo.max_num_steps", "LoRA adapters",
           "FP8 quantization", "install NeMo RL"]

#: Runs one query with the page's own search code; returns result URLs, best first.
SEARCH_JS = """async ([query, n]) => {
  const { data } = await window.BookkitSearch.find(query, {}, n);
  return data.map((d) => d.url);
}"""


def load_queries(path: Path = RELEVANCE) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["queries"]


def docname_of(url: str, base_path: str = "/") -> str:
    """``/guides/x.html#a`` -> ``guides/x``; ``/references/`` -> ``references/index``."""
    path = url.split("#", 1)[0]
    if path.startswith(base_path):
        path = path[len(base_path):]
    path = path.lstrip("/")
    if path.endswith(".html"):
        path = path[: -len(".html")]
    if path == "" or path.endswith("/"):
        path += "index"
    return path


def rank_queries(page, queries: list[dict], n: int = 5) -> list[dict]:
    """Each query with the document names it returned (``page`` already shows the site)."""
    out = []
    for item in queries:
        urls = page.evaluate(SEARCH_JS, [item["query"], n])
        out.append({**item, "results": [docname_of(u) for u in urls]})
    return out


def hit_rates(ranked: list[dict]) -> tuple[float, float]:
    top1 = sum(r["results"][:1] == [r["page"]] for r in ranked) / len(ranked)
    top3 = sum(r["page"] in r["results"][:3] for r in ranked) / len(ranked)
    return top1, top3


def query_cost(browser, base_url: str, query: str) -> tuple[int, float, int, int]:
    """Typing ``query`` into the dialog of a fresh browser (nothing cached): bytes fetched from
    pagefind/, seconds to the first result, bytes a gzip-serving host sends; then the bytes a
    second query ("sequence packing") of the same visit adds."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base_url + "index.html", wait_until="load")
    sizes: list[tuple[int, int]] = []

    def count(response) -> None:
        if "/pagefind/" in response.url and response.ok:
            body = response.body()
            # Pagefind's index files are gzip-compressed already; its JavaScript is compressed by the host.
            packed = len(gzip.compress(body, 9)) if response.url.split("?")[0].endswith(".js") else len(body)
            sizes.append((len(body), packed))

    page.on("response", count)
    start = time.perf_counter()
    page.keyboard.press("Control+k")
    page.fill("#bk-search-input", query)
    page.wait_for_selector(".bk-search__result a", timeout=20000)
    elapsed = time.perf_counter() - start
    page.wait_for_load_state("networkidle")
    first = (sum(s[0] for s in sizes), elapsed, sum(s[1] for s in sizes))
    sizes.clear()  # a second query in the same visit: the engine and its shared files are loaded already
    page.fill("#bk-search-input", "sequence packing")
    page.wait_for_function("() => [...document.querySelectorAll('.bk-search__result a')]"
                           ".some(a => a.href.includes('sequence-packing'))", timeout=20000)
    page.wait_for_load_state("networkidle")
    context.close()
    return (*first, sum(s[1] for s in sizes))


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(root: Path) -> tuple[ThreadingHTTPServer, str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=Path(os.environ.get("BOOK_HTML", REPO / "book/_build/html")))
    parser.add_argument("--verbose", action="store_true", help="print every query's top results")
    args = parser.parse_args(argv)
    if not (args.html / "pagefind" / "pagefind.js").is_file():
        print(f"error: no Pagefind index at {args.html}/pagefind: build the book first (make book)")
        return 2
    from playwright.sync_api import sync_playwright

    queries = load_queries()
    httpd, base = serve(args.html)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(base + "index.html", wait_until="load")
            ranked = rank_queries(page, queries)
            costs = [query_cost(browser, base, q) for q in TYPICAL]
            browser.close()
    finally:
        httpd.shutdown()
    top1, top3 = hit_rates(ranked)
    misses = [r for r in ranked if r["page"] not in r["results"][:3]]
    for r in (ranked if args.verbose else misses):
        mark = "ok " if r["results"][:1] == [r["page"]] else ("top3" if r["page"] in r["results"][:3] else "MISS")
        print(f"{mark:4} {r['query']!r:48} want {r['page']}\n      got {r['results'][:3]}")
    index_js = args.html / "searchindex.js"
    sphinx_bytes = index_js.stat().st_size if index_js.exists() else 0
    per_query = [c[0] for c in costs]
    print()
    print(f"| measure | value |\n|---|---|")
    print(f"| queries in relevance set | {len(ranked)} |")
    print(f"| top-1 hit rate | {top1:.0%} ({round(top1 * len(ranked))}/{len(ranked)}) |")
    print(f"| top-3 hit rate | {top3:.0%} ({round(top3 * len(ranked))}/{len(ranked)}) |")
    print(f"| bytes per typical query, first query of a visit (median of {len(costs)}) | "
          f"{statistics.median(per_query):,.0f} |")
    print(f"| same, as a gzip-serving host sends them | {statistics.median(c[2] for c in costs):,.0f} |")
    print(f"| bytes a later query of the same visit adds (gzip host, median) | "
          f"{statistics.median(c[3] for c in costs):,.0f} |")
    print(f"| Sphinx searchindex.js (downloaded whole by search.html) | {sphinx_bytes:,} |")
    if sphinx_bytes:
        print(f"| same, gzip-compressed | {len(gzip.compress(index_js.read_bytes(), 9)):,} |")
    print(f"| time to first result (median) | {statistics.median(c[1] for c in costs) * 1000:.0f} ms |")
    cited = assistant_rate(args.html)
    if cited is not None:
        print(f"| Ask the book: top-3 citation rate, offline ({cited[1]} questions) | {cited[0]:.0%} |")
    return 0


def assistant_rate(html: Path) -> tuple[float, int] | None:
    """The offline assistant's top-3 citation rate over tests/assistant/questions.yml (node)."""
    corpus = html / "_bookkit" / "assistant-corpus.json"
    node = shutil.which("node")
    if node is None or not corpus.is_file():
        return None
    questions = yaml.safe_load((REPO / "tests/assistant/questions.yml").read_text(encoding="utf-8"))["questions"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
        json.dump(questions, tmp)
    proc = subprocess.run([node, str(REPO / "tests/assistant/eval_questions.cjs"), str(corpus), tmp.name],
                          capture_output=True, text=True, timeout=300, check=True)
    Path(tmp.name).unlink()
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    return sum(r["page"] in r["cited"][:3] for r in rows) / len(rows), len(rows)


if __name__ == "__main__":
    sys.exit(main())
