"""rl_lab.record_outcomes: the file it writes, where it writes it, and what it refuses."""

from __future__ import annotations

import json

import pytest

from rl_lab.outcomes import record_outcomes


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("RL_LAB_OUTCOMES_DIR", "RL_LAB_NOTEBOOK", "RL_LAB_PROFILE", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_writes_sorted_json_named_after_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("RL_LAB_OUTCOMES_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("RL_LAB_NOTEBOOK", "dpo")
    monkeypatch.setenv("RL_LAB_PROFILE", "smoke")
    path = record_outcomes({"margin": 1.5, "accuracy": 0.75})
    assert path == tmp_path / "out" / "dpo.json"
    assert json.loads(path.read_text()) == {"notebook": "dpo", "profile": "smoke",
                                            "outcomes": {"accuracy": 0.75, "margin": 1.5}}
    assert path.read_text().index('"accuracy"') < path.read_text().index('"margin"')
    assert record_outcomes({"margin": 1.5, "accuracy": 0.75}).read_text() == path.read_text()


def test_explicit_name_and_folder_win(tmp_path, monkeypatch):
    monkeypatch.setenv("RL_LAB_NOTEBOOK", "ignored")
    path = record_outcomes({"reward": 2}, notebook="grpo-math.ipynb", directory=tmp_path)
    assert path == tmp_path / "grpo-math.json"


def test_default_folder_is_the_books_build_folder(tmp_path, monkeypatch):
    book = tmp_path / "repo" / "book"
    (book / "notebooks").mkdir(parents=True)
    (book / "_toc.yml").write_text("root: index\n")
    monkeypatch.chdir(book / "notebooks")
    path = record_outcomes({"reward": 0.5}, notebook="x")
    assert path == book / "_build" / "outcomes" / "x.json"


def test_profile_defaults_to_smoke_without_torch_or_variable(tmp_path):
    data = json.loads(record_outcomes({"reward": 0.5}, "x", tmp_path).read_text())
    assert data["profile"] in ("smoke", "full")


@pytest.mark.parametrize("outcomes, error, words", [
    ({}, ValueError, "no outcomes"),
    ([("a", 1)], TypeError, "dict of name -> number"),
    ({"acc": "0.9"}, TypeError, "outcome 'acc' has the value '0.9'"),
    ({"acc": True}, TypeError, "plain number"),
    ({"acc": float("nan")}, ValueError, "only finite numbers"),
    ({3: 0.9}, TypeError, "must be a non-empty string"),
])
def test_bad_input_is_refused_with_the_fix(tmp_path, outcomes, error, words):
    with pytest.raises(error, match=words):
        record_outcomes(outcomes, "x", tmp_path)


def test_tensor_like_scalars_are_unwrapped(tmp_path):
    class Scalar:
        def item(self):
            return 0.25

    data = json.loads(record_outcomes({"loss": Scalar()}, "x", tmp_path).read_text())
    assert data["outcomes"] == {"loss": 0.25}


def test_shown_path_names_only_the_file(tmp_path):
    # A notebook cell ending in record_outcomes(...) displays this repr on the published
    # page: it must not carry the absolute path of the machine that ran the notebook.
    path = record_outcomes({"reward": 0.5}, "shown", tmp_path)
    assert repr(path) == "OutcomesFile('shown.json')" and str(tmp_path) not in repr(path)
    assert path.is_file() and path == tmp_path / "shown.json"
