"""bookkit.outputs.assistant (corpus passages, endpoint setting) and bookkit.site.versions (versions1.json rules)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import jsonschema
import pytest
from sphinx.errors import ConfigError

from bookkit.outputs import assistant
from bookkit.site import versions

RECORDS = [
    {"title": "Checkpointing", "url": "core/checkpointing.html", "sections": [
        {"anchor": "checkpointing", "heading": "Checkpointing", "level": 1, "text": "Checkpointing\nSaves state."},
        {"anchor": "resume", "heading": "Resume", "level": 2, "text": "Resume\nPoint   checkpoint_dir at it."},
        {"anchor": "empty", "heading": "Empty", "level": 2, "text": "Empty"},
    ]},
]


def test_passages_are_sections_with_anchor_and_text_without_the_heading():
    out = assistant.passages(RECORDS, limit=12)
    assert out == [
        {"p": "Checkpointing", "u": "core/checkpointing.html", "a": "checkpointing", "h": "Checkpointing",
         "t": "Saves state."},
        {"p": "Checkpointing", "u": "core/checkpointing.html", "a": "resume", "h": "Resume", "t": "Point checkp"},
    ]


def _app(endpoint=""):
    config = SimpleNamespace(bookkit_assistant_endpoint=endpoint)
    return SimpleNamespace(config=config)


def test_endpoint_comes_from_config_or_environment(monkeypatch):
    monkeypatch.delenv(assistant.ENDPOINT_ENV, raising=False)
    assert assistant.endpoint(_app("")) == ""
    assert assistant.endpoint(_app("https://llm.example/v1/chat/completions")).startswith("https://")
    monkeypatch.setenv(assistant.ENDPOINT_ENV, "http://127.0.0.1:9/v1/chat/completions")
    assert assistant.endpoint(_app("https://other")) == "http://127.0.0.1:9/v1/chat/completions"


def test_endpoint_that_is_not_http_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(assistant.ENDPOINT_ENV, raising=False)
    with pytest.raises(ConfigError, match=r"bookkit_assistant_endpoint = 'javascript:alert\(1\)' is not an http"):
        assistant.endpoint(_app("javascript:alert(1)"))


GOOD = [{"version": "0.7.0", "url": "../0.7.0/", "preferred": True}, {"version": "latest", "url": "../latest/"}]


def test_versions_are_completed_and_validate_against_the_schema():
    out = versions.check_versions(GOOD, "latest")
    assert out[0] == {"name": "0.7.0", "version": "0.7.0", "url": "../0.7.0/", "preferred": True}
    assert out[1]["preferred"] is False
    jsonschema.validate(out, versions.schema("versions"))
    jsonschema.validate({"name": "NeMo RL Book", "version": "0.7.0"}, versions.schema("project"))


@pytest.mark.parametrize("entries, match, message", [
    ([{"version": "0.7.0", "url": "https://example.org/0.7.0/", "preferred": True}], "0.7.0", r"bookkit_versions\[0/url\]"),
    ([{"version": "0.7.0", "url": "../0.7.0/"}], "0.7.0", "0 entries are marked preferred"),
    ([dict(GOOD[0]), dict(GOOD[1], preferred=True)], "0.7.0", "2 entries are marked preferred"),
    (GOOD, "0.8.0", "this build's version '0.8.0'"),
    ([{"url": "../x/"}], "x", r"'version' is a required property"),
])
def test_bad_versions_name_the_key_and_the_fix(entries, match, message):
    with pytest.raises(ConfigError, match=message):
        versions.check_versions(json.loads(json.dumps(entries)), match)
