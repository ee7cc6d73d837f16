"""Check my config in Chromium on the built site, with every request off the local server blocked.

Each case of tests/bookkit/checkconfig_cases.yml (the cases the Python checker passes) is
pasted into the form of references/check-config.html; the page must list the same findings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.browser
CASES = yaml.safe_load((Path(__file__).resolve().parents[1] / "bookkit" / "checkconfig_cases.yml").read_text())
PAGE = "references/check-config.html"


@pytest.fixture
def checker(page, site_html: Path, site_server: str):
    if not (site_html / PAGE).is_file():
        pytest.skip(f"{PAGE} is not built")
    blocked: list[str] = []

    def only_local(route):
        if route.request.url.startswith(site_server):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(site_server + PAGE)
    page.wait_for_selector("form[data-bookkit-checkconfig][data-ready='true']", timeout=20000)
    page.bookkit_blocked = blocked
    yield page
    assert blocked == [], f"the checker tried the network: {blocked}"
    assert page.bookkit_errors == []


def paste(page, text: str, release: str | None) -> None:
    page.select_option("#bookkit-checkconfig-release", release or "v0.7.0")
    page.fill("#bookkit-checkconfig-input", text)
    page.click(".bookkit-checkconfig button[type=submit]")


def shown(page) -> list[list]:
    return page.eval_on_selector_all(".bookkit-checkconfig-findings li", """items => items.map(li => [
        li.dataset.kind, li.dataset.key || null, li.dataset.line ? Number(li.dataset.line) : null,
        li.querySelector('.bookkit-checkconfig-message').textContent])""")


def test_the_example_shows_findings_on_load(checker):
    kinds = {k for k, _, _, _ in shown(checker)}
    assert {"inherits", "unknown", "type", "release", "changed"} <= kinds
    assert "error(s)" in checker.text_content(".bookkit-checkconfig-summary")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_case_shows_the_same_findings_as_bookkit_check_config(checker, case):
    paste(checker, case["input"], case.get("release"))
    summary = checker.locator(".bookkit-checkconfig-summary")
    if "error" in case:
        assert summary.get_attribute("data-state") == "input-error"
        assert summary.text_content().startswith(f"Line {case['error'][0]}, column ")
        assert checker.locator(".bookkit-checkconfig-findings li").count() == 0
        return
    got = shown(checker)
    assert [g[:3] for g in got] == [e[:3] for e in case["expect"]]
    for (kind, _, _, message), expected in zip(got, case["expect"]):
        if expected[3]:
            assert expected[3] in message, (kind, message)
    errors = sum(e[0] in ("unknown", "release", "type", "recipe", "add-existing") for e in case["expect"])
    assert summary.text_content().startswith(f"{errors} error(s)")


def test_release_picker_changes_the_verdict(checker):
    text = "defaults: sft.yaml\npolicy:\n  megatron_cfg:\n    fused_linear_logprobs_chunk_size: 512\n"
    paste(checker, text, "v0.7.0")
    assert [k for k, *_ in shown(checker)] == ["inherits", "release"]
    assert "new in main" in shown(checker)[1][3]
    paste(checker, text, "main")
    assert [k for k, *_ in shown(checker)] == ["inherits", "changed"]
