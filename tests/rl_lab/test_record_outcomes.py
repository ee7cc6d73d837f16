"""rl_lab.record_outcomes: the file it writes, where it writes it, and what it refuses."""

from __future__ import annotations

import json

import pytest

from rl_lab.outcomes import outcomes_path, record_outcomes


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("RL_LAB_OUTCOMES_DIR", "RL_LAB_NOTEBOOK", "RL_LAB_PROFILE", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_writes_sorted_json_named_after_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("RL_LAB_OUTCOMES_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("RL_LAB_NOTEBOOK", "dpo")
    monkeypatch.setenv("RL_LAB_PROFILE", "smoke")
    assert record_outcomes({"margin": 1.5, "accuracy": 0.75}) is None  # a last cell shows nothing
    path = outcomes_path()
    assert path == tmp_path / "out" / "dpo.json"
    assert json.loads(path.read_text()) == {"notebook": "dpo", "profile": "smoke",
                                            "outcomes": {"accuracy": 0.75, "margin": 1.5}}
    first = path.read_text()
    assert first.index('"accuracy"') < first.index('"margin"')
    record_outcomes({"margin": 1.5, "accuracy": 0.75})
    assert path.read_text() == first


def test_explicit_name_and_folder_win(tmp_path, monkeypatch):
    monkeypatch.setenv("RL_LAB_NOTEBOOK", "ignored")
    record_outcomes({"reward": 2}, notebook="grpo-math.ipynb", directory=tmp_path)
    assert json.loads((tmp_path / "grpo-math.json").read_text())["notebook"] == "grpo-math"


def test_default_folder_is_the_books_build_folder(tmp_path, monkeypatch):
    book = tmp_path / "repo" / "book"
    (book / "notebooks").mkdir(parents=True)
    (book / "_toc.yml").write_text("root: index\n")
    monkeypatch.chdir(book / "notebooks")
    record_outcomes({"reward": 0.5}, notebook="x")
    assert (book / "_build" / "outcomes" / "x.json").is_file()
    assert outcomes_path("x") == book / "_build" / "outcomes" / "x.json"


def test_profile_defaults_to_smoke_without_torch_or_variable(tmp_path):
    record_outcomes({"reward": 0.5}, "x", tmp_path)
    assert json.loads((tmp_path / "x.json").read_text())["profile"] in ("smoke", "full")


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

    record_outcomes({"loss": Scalar()}, "x", tmp_path)
    assert json.loads((tmp_path / "x.json").read_text())["outcomes"] == {"loss": 0.25}


def test_in_a_kernel_every_number_is_glued_for_the_prose(tmp_path, monkeypatch):
    # Inside Jupyter each outcome is glued (hidden) under its own name, so Markdown can quote it
    # with {glue:text}`name:.1%` instead of a number typed by hand.
    import sys
    import types

    glued = []
    fake_ipython = types.SimpleNamespace(get_ipython=lambda: types.SimpleNamespace(kernel=object()))
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    monkeypatch.setitem(sys.modules, "myst_nb", types.SimpleNamespace(
        glue=lambda name, value, display=True: glued.append((name, value, display))))
    record_outcomes({"reward": 0.5, "accuracy": 1}, "x", tmp_path)
    assert glued == [("reward", 0.5, False), ("accuracy", 1, False)]


def test_outside_a_kernel_nothing_is_glued(tmp_path, monkeypatch):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    monkeypatch.setitem(sys.modules, "myst_nb", types.SimpleNamespace(glue=lambda *a, **k: pytest.fail("glued")))
    record_outcomes({"reward": 0.5}, "x", tmp_path)
    assert (tmp_path / "x.json").is_file()
