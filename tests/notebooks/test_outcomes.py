"""What each notebook teaches stays true: its recorded numbers satisfy the claims its page makes.

Every notebook in book/notebooks ends by calling ``rl_lab.record_outcomes({...})``
with its key numbers (accuracy, reward, margin ...). ``expected_outcomes.json``
beside this file lists, per notebook, the claims its page makes about them (a
range for a starting point, a least gain, a floor for a final value, an ordering;
see ``bookkit.execution.claims``), each with the spread measured across CPU kernel levels,
thread counts and seeds. The claims hold on any machine; point values would not.

Where the numbers come from, in order:

1. the outcomes folder of the last book build (``$BOOK_OUTCOMES``, else
   ``<BOOK_HTML>/../outcomes``, else ``book/_build/outcomes``), used only when the
   file is newer than the notebook and was recorded under the expected profile;
2. otherwise the notebook is executed here (a copy, in tmp_path) under the smoke
   profile with nbclient.

To add a notebook, write the claims its page makes, then run
``benchmarks/bench_outcome_spread.py --write`` to record the spread beside them
(see BUILD_INSTRUCTIONS.md, "Notebook execution").
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from bookkit.execution import claims as claimlib

REPO = Path(__file__).resolve().parents[2]
NB_DIR = REPO / "book" / "notebooks"
EXPECTED_FILE = Path(__file__).with_name("expected_outcomes.json")
EXPECTED = claimlib.load(EXPECTED_FILE)
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = int(yaml.safe_load((REPO / "book" / "_config.yml").read_text())["execute"]["timeout"])
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


def fresh_build_record(path: Path, name: str) -> dict | None:
    file = build_outcomes_dir() / f"{name}.json"
    if not file.is_file() or file.stat().st_mtime < path.stat().st_mtime:
        return None
    record = json.loads(file.read_text(encoding="utf-8"))
    return record if record.get("profile") == EXPECTED.profile else None


def run_for_outcomes(path: Path, name: str, workdir: Path) -> dict:
    """Execute a copy of the notebook under the expected profile; return what it recorded."""
    from nbclient import NotebookClient

    copy = workdir / path.name
    shutil.copy(path, copy)
    outdir = workdir / "outcomes"
    mp = pytest.MonkeyPatch()
    mp.setenv("RL_LAB_PROFILE", EXPECTED.profile)
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

def test_expectations_file_is_well_formed_and_agrees_with_its_measurements():
    assert EXPECTED.profile in ("smoke", "full")
    assert not claimlib.audit(EXPECTED), "\n".join(claimlib.audit(EXPECTED))
    for name, claims in EXPECTED.claims.items():
        recorded_names = set(EXPECTED.spread[name])
        claimed = {n for c in claims for n in c.names()}
        assert claimed <= recorded_names, f"{name}: claims name numbers never measured: {claimed - recorded_names}"
        assert recorded_names <= claimed, f"{name}: measured numbers no claim uses: {recorded_names - claimed}"


def test_spread_covers_kernels_threads_and_seeds():
    # The bounds are only as good as the variants behind them: at least two CPU kernel levels
    # (default and this machine's native one), 1 and 2 threads, and two seeds.
    parts = [label.split("/") for label in EXPECTED.variants]
    assert len({p[0] for p in parts}) >= 2 and {p[1] for p in parts} >= {"1t", "2t"} and len({p[2] for p in parts}) >= 2, \
        EXPECTED.variants
    for name, numbers in EXPECTED.spread.items():
        for number, row in numbers.items():
            assert set(row) == set(EXPECTED.variants), f"{name}.{number}: measured in {sorted(row)} only"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_records_its_outcomes(path):
    assert outcome_name(path), (f"{path.name} never calls rl_lab.record_outcomes({{...}}); end the notebook "
                                "with its key numbers (final accuracy, reward, margin) so CI notices changes")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_recorded_outcomes_have_claims(path):
    name = outcome_name(path)
    if name is None:
        pytest.skip(f"{path.name} records no outcomes (reported by test_notebook_records_its_outcomes)")
    assert name in EXPECTED.claims, (
        f"{path.name} records outcomes as {name!r} but {EXPECTED_FILE.name} has no entry for it; write the claims "
        f"its page makes, then run benchmarks/bench_outcome_spread.py --write")


def test_expectations_belong_to_existing_notebooks():
    names = {outcome_name(p) for p in NOTEBOOKS}
    stale = sorted(set(EXPECTED.claims) - names)
    assert not stale, f"{EXPECTED_FILE.name} lists notebooks that record nothing under that name: {stale}"


# -- the numbers ----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_outcomes_satisfy_the_pages_claims(path, tmp_path):
    name = outcome_name(path)
    if name is None or name not in EXPECTED.claims:
        pytest.skip(f"{path.name}: no outcomes or no claims (reported by the tests above)")
    record = fresh_build_record(path, name) or run_for_outcomes(path, name, tmp_path)
    print(f"{name}: {json.dumps(record['outcomes'], sort_keys=True)}")
    problems = claimlib.check(EXPECTED, name, record)
    assert not problems, "\n".join(problems)
