"""Search, "Ask the book" and the version switcher in a real browser, on the built site served statically."""

from __future__ import annotations

import json
import re
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_search import hit_rates, load_queries, rank_queries  # noqa: E402

pytestmark = pytest.mark.browser
TOP1_FLOOR, TOP3_FLOOR = 0.75, 0.9


@pytest.fixture(scope="module")
def search_site(site_html: Path, site_server: str) -> str:
    if not (site_html / "pagefind" / "pagefind.js").is_file():
        pytest.skip(f"no Pagefind index in {site_html}: build the book with bookkit.outputs.search (make book)")
    return site_server


def own_errors(page) -> list[str]:
    """Errors raised by the book's own scripts (the theme's Thebe and theme-mode messages are not ours)."""
    return [e for e in page.bookkit_errors if re.search(r"bookkit|pagefind|BookAssistant|Bookkit|bk-", e)]


def failed_requests(page) -> list[str]:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return failed


def open_search(page, base: str, path: str = "index.html"):
    page.goto(base + path, wait_until="load")
    page.keyboard.press("Control+k")
    page.wait_for_selector("#bk-search-input", state="visible")


def test_theme_search_button_opens_pagefind_dialog_without_layout_shift(page, search_site):
    failed = failed_requests(page)
    page.goto(search_site + "guides/training-algorithms/grpo.html", wait_until="load")
    before = page.evaluate("document.querySelector('article').getBoundingClientRect().toJSON()")
    page.locator(".search-button__button").first.click()
    page.wait_for_selector("#bk-search[open]")
    after = page.evaluate("document.querySelector('article').getBoundingClientRect().toJSON()")
    assert before == after
    assert page.evaluate("document.activeElement.id") == "bk-search-input"
    scripts = page.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)")
    assert all(s.startswith(search_site) for s in scripts), scripts  # site-local JavaScript only
    page.fill("#bk-search-input", "LoRA")
    page.wait_for_selector(".bk-search__result")
    assert not own_errors(page) and not failed, (page.bookkit_errors, failed)


def test_identifier_query_opens_defining_page_at_its_heading(page, search_site):
    open_search(page, search_site)
    page.fill("#bk-search-input", "grpo.max_num_steps")
    first = page.wait_for_selector(".bk-search__result a.bk-search__title")
    assert "references/configuration-reference" in first.get_attribute("href")
    assert "#" in first.get_attribute("href")  # opens at the matching heading
    assert page.locator(".bk-search__result").first.locator(".bk-search__crumb").inner_text().startswith("References")
    assert page.locator(".bk-search__result mark").count() > 0  # highlighted excerpt
    first.click()
    page.wait_for_load_state("load")
    anchor = page.url.split("#", 1)[1]
    assert page.locator(f"[id='{anchor}']").count() == 1


def test_filter_narrows_results_to_a_section(page, search_site):
    open_search(page, search_site)
    page.fill("#bk-search-input", "checkpoint")
    page.wait_for_selector(".bk-search__result")
    unfiltered = page.locator(".bk-search__status").inner_text()
    page.check("input[data-facet='section'][value='Guides']")
    page.wait_for_function("(s) => document.querySelector('.bk-search__status').innerText !== s", arg=unfiltered)
    crumbs = page.locator(".bk-search__crumb").all_inner_texts()
    assert crumbs and all(c.startswith("Guides") for c in crumbs), crumbs
    assert page.locator("fieldset[data-facet='difficulty'] input").count() >= 2
    assert page.locator("fieldset[data-facet='persona'] input").count() >= 2


def test_relevance_set_hit_rates(page, search_site):
    page.goto(search_site + "index.html", wait_until="load")
    ranked = rank_queries(page, load_queries())
    top1, top3 = hit_rates(ranked)
    print(f"search relevance: top-1 {top1:.0%}, top-3 {top3:.0%} over {len(ranked)} queries")
    assert len(ranked) >= 30
    assert top1 >= TOP1_FLOOR and top3 >= TOP3_FLOOR, [r for r in ranked if r["page"] not in r["results"][:3]]


def test_guides_rank_above_api_pages_for_questions_in_words(page, search_site):
    page.goto(search_site + "index.html", wait_until="load")
    for query in ("GRPO advantages", "DPO loss", "supervised fine-tuning"):
        urls = page.evaluate("async (q) => (await window.BookkitSearch.find(q, {}, 3)).data.map(d => d.url)", query)
        assert urls and "/api/" not in urls[0], (query, urls)


def ask(page, question: str):
    page.click(".bk-ask-button")
    page.fill("#bk-ask-q", question)
    page.click(".bk-ask__go")
    page.wait_for_selector(".bk-ask__answer :is(.bk-ask__cites, .bk-ask__none, .bk-ask__error)")


def test_assistant_offline_cites_and_opens_the_heading(page, search_site):
    page.goto(search_site + "get-started/index.html", wait_until="load")
    ask(page, "How do I resume training from a checkpoint?")
    cite = page.locator(".bk-ask__cites a").first
    href = cite.get_attribute("href")
    assert "core-design/data-management/checkpointing" in " ".join(page.locator(".bk-ask__cites a").evaluate_all(
        "as => as.map(a => a.href)"))
    cite.click()
    page.wait_for_load_state("load")
    assert page.url == href
    if "#" in href:
        assert page.locator(f"[id='{href.split('#', 1)[1]}']").count() == 1
    assert not own_errors(page)


def test_assistant_says_when_nothing_matches(page, search_site):
    page.goto(search_site + "index.html", wait_until="load")
    ask(page, "banana bread walnut frosting recipe")
    assert page.locator(".bk-ask__none").is_visible()


class _Stub(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that records requests and answers with hostile Markdown."""

    requests: list = []
    answer = ("Use **checkpointing**. <script>window.pwned=1</script> <img src=x onerror=\"window.pwned=2\">"
              "<iframe src=\"https://example.org\"></iframe> [bad](javascript:window.pwned=3) "
              "[good](https://example.org/docs)")

    def _cors(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")

    def do_OPTIONS(self):  # noqa: N802 - http.server's naming
        self.send_response(204)
        self._cors()
        self.end_headers()

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Stub.requests.append({"body": body, "authorization": self.headers.get("Authorization")})
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": _Stub.answer}}]}).encode()
        self.send_response(200)
        self._cors()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_endpoint():
    _Stub.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1/chat/completions", _Stub.requests
    httpd.shutdown()


def with_endpoint(page, url: str) -> None:
    """Point the page's assistant at ``url``, as a build with BOOK_ASSISTANT_ENDPOINT would."""
    page.add_init_script(f"""Object.defineProperty(window, 'BOOKKIT_ASSISTANT', {{
        configurable: true, get() {{ return this._bk; }},
        set(v) {{ this._bk = Object.assign({{}}, v, {{endpoint: {json.dumps(url)}, model: 'stub'}}); }} }});""")


def test_generated_answer_is_sanitised_and_sends_passages_without_key(page, search_site, stub_endpoint):
    url, requests = stub_endpoint
    with_endpoint(page, url)
    page.goto(search_site + "index.html", wait_until="load")
    ask(page, "How do I resume training from a checkpoint?")
    page.wait_for_selector(".bk-ask__generated")
    generated = page.locator(".bk-ask__generated")
    assert "checkpointing" in generated.inner_text()
    assert generated.locator("script, iframe, img, [onerror], a[href^='javascript']").count() == 0
    assert generated.locator("a[href='https://example.org/docs']").count() == 1
    assert page.evaluate("window.pwned") is None
    assert page.locator(".bk-ask__cites a").count() >= 1  # the same citations as offline
    assert len(requests) == 1 and requests[0]["authorization"] is None
    body = requests[0]["body"]
    assert body["model"] == "stub" and body["messages"][-1]["content"].startswith("How do I resume")
    assert "[1] " in body["messages"][0]["content"]  # the retrieved passages travel with the question


def test_generated_answer_sends_the_readers_key_only_when_set(page, search_site, stub_endpoint):
    url, requests = stub_endpoint
    with_endpoint(page, url)
    page.goto(search_site + "index.html", wait_until="load")
    page.click(".bk-ask-button")
    page.click(".bk-ask__settings summary")
    page.fill("#bk-ask-key", "reader-secret")
    page.dispatch_event("#bk-ask-key", "change")
    page.fill("#bk-ask-q", "How do I train with LoRA adapters?")
    page.click(".bk-ask__go")
    page.wait_for_selector(".bk-ask__generated")
    assert requests[-1]["authorization"] == "Bearer reader-secret"
    assert page.evaluate("localStorage.getItem('bookkit-assistant-key')") == "reader-secret"


def test_no_key_or_endpoint_secret_is_published(site_html: Path, search_site):
    settings = (site_html / "index.html").read_text(encoding="utf-8")
    assert "window.BOOKKIT_ASSISTANT = " in settings
    line = settings.split("window.BOOKKIT_ASSISTANT = ", 1)[1].split(";", 1)[0]
    assert set(json.loads(line)) == {"corpus", "endpoint", "model"}  # no key field exists


@pytest.fixture(scope="module")
def versioned_host(site_html: Path, tmp_path_factory, serve_dir) -> str:
    """The site published as /0.7.0/ (preferred) and /latest/: the latest copy's pages say ``latest``
    as a build with BOOK_VERSION=latest writes it (the rest of the HTML is the same)."""
    if not (site_html / "versions1.json").is_file():
        pytest.skip(f"no versions1.json in {site_html}: build the book with bookkit.site.versions (make book)")
    root = tmp_path_factory.mktemp("host")
    shutil.copytree(site_html, root / "0.7.0", symlinks=True)
    latest = root / "latest"
    shutil.copytree(site_html, latest, symlinks=True)
    for page_file in [latest / "index.html", latest / "get-started" / "installation.html"]:
        text = page_file.read_text(encoding="utf-8")
        page_file.write_text(text.replace('"match": "0.7.0"', '"match": "latest"'), encoding="utf-8")
    return serve_dir(root)


def test_version_switcher_and_banner_work_with_relative_urls(page, site_html, versioned_host):
    versions = json.loads((site_html / "versions1.json").read_text(encoding="utf-8"))
    assert [v["version"] for v in versions if v["preferred"]] == ["0.7.0"]
    page.goto(versioned_host + "0.7.0/get-started/installation.html", wait_until="load")
    page.wait_for_selector(".version-switcher__menu a", state="attached")
    hrefs = page.locator(".version-switcher__menu a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert versioned_host + "latest/get-started/installation.html" in hrefs
    assert page.locator(".bk-version-banner").count() == 0  # the preferred version shows no banner
    page.goto(versioned_host + "latest/get-started/installation.html", wait_until="load")
    banner = page.wait_for_selector(".bk-version-banner a")
    assert banner.get_attribute("href") == versioned_host + "0.7.0/get-started/installation.html"
    banner.click()
    page.wait_for_url(versioned_host + "0.7.0/get-started/installation.html")
