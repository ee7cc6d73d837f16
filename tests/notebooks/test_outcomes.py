"""Numeric regression: what each notebook teaches stays what it teaches.

Every notebook in book/notebooks ends by calling ``rl_lab.record_outcomes({...})``
with its key numbers (accuracy, reward, margin ...). This test compares a fresh
smoke-profile run of each notebook with ``expected_outcomes.json`` beside it
(a value and a tolerance per number), so a change in rl_lab, a recipe or a
notebook that silently changes a tutorial's result fails CI.

Where the numbers come from, in order:

1. the outcomes folder of the last book build (``$BOOK_OUTCOMES``, else
   ``<BOOK_HTML>/../outcomes``, else ``book/_build/outcomes``), used only when the
   file is newer than the notebook and was recorded under the expected profile;
2. otherwise the notebook is executed here (a copy, in tmp_path) under the smoke
   profile with nbclient.

To record expectations for a new notebook, run it under the smoke profile and
copy the printed numbers into ``expected_outcomes.json`` with tolerances that
cover run-to-run noise on a CPU (see BUILD_INSTRUCTIONS.md, "Notebook execution").
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NB_DIR = REPO / "book" / "notebooks"
EXPECTED_FILE = Path(__file__).with_name("expected_outcomes.json")
EXPECTED = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 240  # execute.timeout in book/_config.yml
CALL = re.compile(r"record_outcomes\s*\(")
NAME_ARG = re.compile(r"record_outcomes\s*\((?:.|\n)*?notebook\s*=\s*['\"]([^'\"]+)['\"]")


def code_of(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def outcome_name(path: Path) -> str | None:
    """The name a notebook records its outcomes under, or None if it records none."""
    code = code_of(path)
    if not CALL.search(code):
        return None
    m = NAME_ARG.search(code)
    return m.group(1) if m else path.stem


def build_outcomes_dir() -> Path:
    if os.environ.get("BOOK_OUTCOMES"):
        return Path(os.environ["BOOK_OUTCOMES"])
    html = Path(os.environ.get("BOOK_HTML", REPO / "book" / "_build" / "html"))
    return html.parent / "outcomes"


def within(measured: float, spec: dict) -> bool:
    return math.isclose(measured, spec["value"], abs_tol=spec.get("abs_tol", 0.0), rel_tol=spec.get("rel_tol", 0.0))


def compare(name: str, recorded: dict, expected: dict) -> list[str]:
    """Every difference between a recorded outcomes file and its expectations, as sentences."""
    problems = []
    if recorded.get("profile") != EXPECTED["profile"]:
        problems.append(f"{name}: recorded under profile {recorded.get('profile')!r}, "
                        f"expectations are for {EXPECTED['profile']!r}")
    got = recorded.get("outcomes", {})
    for key, spec in sorted(expected.items()):
        if key not in got:
            problems.append(f"{name}: outcome {key!r} is no longer recorded; record it again or remove it "
                            f"from {EXPECTED_FILE.name}")
        elif not within(got[key], spec):
            tol = " ".join(f"{k}={spec[k]}" for k in ("abs_tol", "rel_tol") if k in spec)
            problems.append(f"{name}: {key} = {got[key]!r}, expected {spec['value']!r} ({tol}); if the change "
                            f"is intended, update {EXPECTED_FILE.name} and the notebook's prose")
    for key in sorted(set(got) - set(expected)):
        problems.append(f"{name}: new outcome {key!r} = {got[key]!r} has no expectation; add it to "
                        f"{EXPECTED_FILE.name} with a tolerance")
    return problems


def fresh_build_record(path: Path, name: str) -> dict | None:
    file = build_outcomes_dir() / f"{name}.json"
    if not file.is_file() or file.stat().st_mtime < path.stat().st_mtime:
        return None
    record = json.loads(file.read_text(encoding="utf-8"))
    return record if record.get("profile") == EXPECTED["profile"] else None


def run_for_outcomes(path: Path, name: str, workdir: Path) -> dict:
    """Execute a copy of the notebook under the expected profile; return what it recorded."""
    from nbclient import NotebookClient

    copy = workdir / path.name
    shutil.copy(path, copy)
    outdir = workdir / "outcomes"
    mp = pytest.MonkeyPatch()
    mp.setenv("RL_LAB_PROFILE", EXPECTED["profile"])
    mp.setenv("RL_LAB_OUTCOMES_DIR", str(outdir))
    mp.setenv("RL_LAB_NOTEBOOK", name)
    mp.setenv("OMP_NUM_THREADS", "1")
    mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    try:
        nb = nbformat.read(copy, as_version=4)
        NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        mp.undo()
    return json.loads((outdir / f"{name}.json").read_text(encoding="utf-8"))


# -- the convention -------------------------------------------------------------------------------

def test_expectations_file_is_well_formed():
    assert EXPECTED["profile"] in ("smoke", "full")
    for name, outcomes in EXPECTED["notebooks"].items():
        assert outcomes, f"{name}: no outcomes listed"
        for key, spec in outcomes.items():
            assert set(spec) <= {"value", "abs_tol", "rel_tol"} and "value" in spec, (name, key, spec)
            assert spec.get("abs_tol", 0) > 0 or spec.get("rel_tol", 0) > 0, \
                f"{name}.{key}: give a tolerance (abs_tol or rel_tol) that covers CPU run-to-run noise"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_records_its_outcomes(path):
    assert outcome_name(path), (f"{path.name} never calls rl_lab.record_outcomes({{...}}); end the notebook "
                                "with its key numbers (final accuracy, reward, margin) so CI notices changes")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_recorded_outcomes_have_expectations(path):
    name = outcome_name(path)
    if name is None:
        pytest.skip(f"{path.name} records no outcomes (reported by test_notebook_records_its_outcomes)")
    assert name in EXPECTED["notebooks"], (
        f"{path.name} records outcomes as {name!r} but {EXPECTED_FILE.name} has no entry for it; run the notebook "
        f"under RL_LAB_PROFILE=smoke and add its numbers with tolerances")


def test_expectations_belong_to_existing_notebooks():
    names = {outcome_name(p) for p in NOTEBOOKS}
    stale = sorted(set(EXPECTED["notebooks"]) - names)
    assert not stale, f"{EXPECTED_FILE.name} lists notebooks that record nothing under that name: {stale}"


def test_compare_reports_drift_missing_and_new_outcomes():
    expected = {"accuracy": {"value": 0.9, "abs_tol": 0.05}, "reward": {"value": 1.0, "rel_tol": 0.1}}
    ok = {"profile": EXPECTED["profile"], "outcomes": {"accuracy": 0.93, "reward": 1.05}}
    assert compare("nb", ok, expected) == []
    drifted = {"profile": EXPECTED["profile"], "outcomes": {"accuracy": 0.70, "margin": 2.0}}
    problems = " ".join(compare("nb", drifted, expected))
    assert "accuracy = 0.7, expected 0.9 (abs_tol=0.05)" in problems
    assert "'reward' is no longer recorded" in problems and "new outcome 'margin'" in problems


# -- the numbers ----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_outcomes_match_expectations(path, tmp_path):
    name = outcome_name(path)
    if name is None or name not in EXPECTED["notebooks"]:
        pytest.skip(f"{path.name}: no outcomes or no expectations (reported by the tests above)")
    record = fresh_build_record(path, name) or run_for_outcomes(path, name, tmp_path)
    print(f"{name}: {json.dumps(record['outcomes'], sort_keys=True)}")
    problems = compare(name, record, EXPECTED["notebooks"][name])
    assert not problems, "\n".join(problems)
