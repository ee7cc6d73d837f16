"""benchmarks/bench_outcome_spread.py --write records a run's spread without touching other notebooks."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def bench():
    spec = importlib.util.spec_from_file_location("bench_outcome_spread", REPO / "benchmarks" / "bench_outcome_spread.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_run_of_one_notebook_records_its_spread_and_keeps_the_others(tmp_path):
    claim = {"kind": "floor", "of": "acc", "min": 0.5, "says": "s"}
    path = tmp_path / "expected.json"
    path.write_text(json.dumps({"description": "d", "profile": "smoke", "variants": ["a/1t/seed+0"], "notebooks": {
        "one": {"claims": [dict(claim)], "spread": {"acc": {"a/1t/seed+0": 0.9}}},
        "two": {"claims": [dict(claim)], "spread": {"acc": {"a/1t/seed+0": 0.7}}}}}))
    results = {"a/1t/seed+0": {"outcomes": {"two": {"acc": 0.8}}}, "b/1t/seed+0": {"outcomes": {"two": {"acc": 0.6}}}}
    bench().write_back(results, path)
    raw = json.loads(path.read_text())
    assert raw["notebooks"]["one"]["spread"] == {"acc": {"a/1t/seed+0": 0.9}}  # not in this run: kept
    assert raw["notebooks"]["two"]["spread"] == {"acc": {"a/1t/seed+0": 0.8, "b/1t/seed+0": 0.6}}
    # floor 0.5 against the worst run 0.6: margin 0.1
    assert raw["notebooks"]["two"]["claims"][0]["measured"] == {"min": 0.6, "max": 0.8, "runs": 2}
    assert abs(raw["notebooks"]["two"]["claims"][0]["margin"] - 0.1) < 1e-9
    assert raw["variants"] == ["a/1t/seed+0", "b/1t/seed+0"]


def test_a_variant_reads_only_its_own_run_and_its_own_notebooks(tmp_path, monkeypatch):
    # outcome files another run left in the same folder are not this run's results
    module = bench()
    folder = tmp_path / "avx2-1t-seed+0"
    (folder / "outcomes").mkdir(parents=True)
    for name, value in (("mine", 0.5), ("someone-elses", 0.9)):
        (folder / "outcomes" / f"{name}.json").write_text(json.dumps({"outcomes": {"acc": value}}))

    class Done:
        returncode = 0
    monkeypatch.setattr(module.subprocess, "run", lambda *a, **k: Done())
    result = module.run_variant({"label": "avx2/1t/seed+0", "env": {}}, tmp_path, 10, ["mine"])
    assert result["outcomes"] == {"mine": {"acc": 0.5}}


def test_recorded_variants_come_back_as_results_and_survive_a_write(tmp_path):
    # another machine's variants, kept in the claims file, are rebuilt from `spread` (not run
    # again) and written back unchanged beside the variant this machine adds
    module = bench()
    claim = {"kind": "floor", "of": "acc", "min": 0.5, "says": "s"}
    path = tmp_path / "expected.json"
    path.write_text(json.dumps({"description": "d", "profile": "smoke", "variants": ["avx2/1t/seed+0"], "notebooks": {
        "one": {"claims": [dict(claim)], "spread": {"acc": {"avx2/1t/seed+0": 0.9}, "loss": {"avx2/1t/seed+0": 0.2}}},
        "two": {"claims": [dict(claim)], "spread": {}}}}))
    results = module.recorded_results(path)
    assert list(results) == ["avx2/1t/seed+0"]
    assert results["avx2/1t/seed+0"]["outcomes"] == {"one": {"acc": 0.9, "loss": 0.2}}  # nothing recorded for "two"
    results["avx512/1t/seed+0"] = {"outcomes": {"one": {"acc": 0.7, "loss": 0.3}}}
    module.write_back(results, path)
    raw = json.loads(path.read_text())
    assert raw["variants"] == ["avx2/1t/seed+0", "avx512/1t/seed+0"]
    assert raw["notebooks"]["one"]["spread"]["acc"] == {"avx2/1t/seed+0": 0.9, "avx512/1t/seed+0": 0.7}
    # floor 0.5 against the worst of 0.9 and 0.7: margin 0.2
    assert raw["notebooks"]["one"]["claims"][0]["measured"] == {"min": 0.7, "max": 0.9, "runs": 2}
