"""Offline "Ask the book" on the built site: the regression questions cite the right page in the top three."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).parent
#: Share of questions whose expected page must be among the top three citations.
FLOOR = 0.8


def run_questions(html: Path, tmp_path: Path) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install -y nodejs)")
    corpus = html / "_bookkit" / "assistant-corpus.json"
    if not corpus.is_file():
        pytest.skip(f"no assistant corpus at {corpus}: build the book with bookkit.outputs.assistant (make book)")
    questions = yaml.safe_load((HERE / "questions.yml").read_text(encoding="utf-8"))["questions"]
    qfile = tmp_path / "questions.json"
    qfile.write_text(json.dumps(questions), encoding="utf-8")
    proc = subprocess.run([node, str(HERE / "eval_questions.cjs"), str(corpus), str(qfile)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_regression_set_has_at_least_25_questions_on_published_pages(site):
    questions = yaml.safe_load((HERE / "questions.yml").read_text(encoding="utf-8"))["questions"]
    assert len(questions) >= 25
    index = json.loads((site / "index.json").read_text(encoding="utf-8"))
    ids = {p["id"] for p in index["pages"]}
    assert [q["page"] for q in questions if q["page"] not in ids] == []


def test_offline_answers_cite_the_expected_page(site, tmp_path):
    results = run_questions(site, tmp_path)
    hits = [r for r in results if r["page"] in r["cited"][:3]]
    rate = len(hits) / len(results)
    print(f"top-3 citation rate: {rate:.0%} ({len(hits)}/{len(results)})")
    misses = [(r["question"], r["page"], r["cited"]) for r in results if r not in hits]
    assert rate >= FLOOR, misses


def test_corpus_holds_only_published_pages(site):
    corpus = json.loads((site / "_bookkit" / "assistant-corpus.json").read_text(encoding="utf-8"))
    index = json.loads((site / "index.json").read_text(encoding="utf-8"))
    urls = {p["url"] for p in index["pages"]}
    assert corpus["passages"] and {p["u"] for p in corpus["passages"]} <= urls
    assert all(p["t"] and p["p"] for p in corpus["passages"])
