"""bookkit.execution.claims: each claim kind, the checks a fresh run gets, and the file's self-audit."""

from __future__ import annotations

import json

import pytest

from bookkit.execution import claims as claimlib
from bookkit.execution.claims import Claim, ClaimsFileError


def claim(**data):
    return Claim.from_dict({"says": "a sentence of the page", **data})


@pytest.mark.parametrize("data, outcomes, quantity, holds, margin", [
    # range 0.3 <= x <= 0.6 at x = 0.45: margin min(0.45 - 0.3, 0.6 - 0.45) = 0.15
    ({"kind": "range", "of": "x", "low": 0.3, "high": 0.6}, {"x": 0.45}, 0.45, True, 0.15),
    # at x = 0.62 the upper bound is missed by 0.02
    ({"kind": "range", "of": "x", "low": 0.3, "high": 0.6}, {"x": 0.62}, 0.62, False, -0.02),
    # floor x >= 0.9 at x = 0.95: margin 0.05
    ({"kind": "floor", "of": "x", "min": 0.9}, {"x": 0.95}, 0.95, True, 0.05),
    # ceiling x <= 0.05 at x = 0.0: margin 0.05
    ({"kind": "ceiling", "of": "x", "max": 0.05}, {"x": 0.0}, 0.0, True, 0.05),
    # gain after - before >= 0.15 with 0.64 - 0.40 = 0.24: margin 0.09
    ({"kind": "gain", "of": "after", "over": "before", "min": 0.15}, {"after": 0.64, "before": 0.40}, 0.24, True, 0.09),
    # gain 0.50 - 0.40 = 0.10 < 0.15
    ({"kind": "gain", "of": "after", "over": "before", "min": 0.15}, {"after": 0.50, "before": 0.40}, 0.10, False, -0.05),
    # order pass8 > greedy: 0.96 - 0.87 = 0.09 > 0
    ({"kind": "order", "of": "pass8", "over": "greedy"}, {"pass8": 0.96, "greedy": 0.87}, 0.09, True, 0.09),
    # order is strict: equal values do not hold
    ({"kind": "order", "of": "pass8", "over": "greedy"}, {"pass8": 0.9, "greedy": 0.9}, 0.0, False, 0.0),
])
def test_each_kind_by_hand(data, outcomes, quantity, holds, margin):
    c = claim(**data)
    assert c.quantity(outcomes) == pytest.approx(quantity)
    assert c.holds(outcomes) is holds
    assert c.margin_of(c.quantity(outcomes)) == pytest.approx(margin)


@pytest.mark.parametrize("data, words", [
    ({"kind": "between", "of": "x"}, "kind 'between' is not one of"),
    ({"kind": "range", "of": "x", "low": 0.1}, "add ['high']"),
    ({"kind": "floor", "of": "x", "min": 0.1, "max": 0.2}, "remove ['max']"),
    ({"kind": "gain", "of": "x", "min": 0.1}, "add ['over']"),
])
def test_malformed_claims_name_the_fix(data, words):
    with pytest.raises(ClaimsFileError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Claim.from_dict({"says": "s", **data}, "nb claim 1")


def write(tmp_path, notebooks, variants=("a", "b")):
    path = tmp_path / "expected.json"
    path.write_text(json.dumps({"profile": "smoke", "variants": list(variants), "notebooks": notebooks}))
    return claimlib.load(path)


def test_check_reports_broken_claims_missing_and_unclaimed_numbers(tmp_path):
    exp = write(tmp_path, {"nb": {"claims": [
        {"kind": "floor", "of": "acc", "min": 0.9, "says": "nearly every answer is right"},
        {"kind": "gain", "of": "reward_last", "over": "reward_first", "min": 0.1, "says": "the reward rises"}]}})
    ok = {"profile": "smoke", "outcomes": {"acc": 0.95, "reward_first": 0.4, "reward_last": 0.6}}
    assert claimlib.check(exp, "nb", ok) == []
    bad = {"profile": "full", "outcomes": {"acc": 0.85, "reward_first": 0.4, "margin": 2.0}}
    text = "\n".join(claimlib.check(exp, "nb", bad))
    assert "recorded under profile 'full'" in text
    assert 'says "nearly every answer is right" (acc >= 0.9), but acc = 0.85' in text
    assert "needs ['reward_last'], which the notebook no longer records" in text
    assert "records 'margin' = 2.0 but no claim" in text


def test_audit_finds_bounds_a_measured_variant_breaks(tmp_path):
    exp = write(tmp_path, {"nb": {
        "claims": [{"kind": "floor", "of": "acc", "min": 0.9, "says": "s"},
                   {"kind": "order", "of": "p8", "over": "p1", "says": "s"}],
        "spread": {"acc": {"a": 0.95, "b": 0.88}, "p8": {"a": 0.9, "b": 0.9}, "p1": {"a": 0.5, "b": 0.6}}}})
    problems = claimlib.audit(exp)
    assert len(problems) == 1 and "acc >= 0.9 fails on a measured variant (worst 0.88" in problems[0]
    # measured: the worst and best claimed quantity and the margin, over the variants both numbers have
    assert claimlib.measured(exp.claims["nb"][1], exp.spread["nb"]) == {"min": 0.3, "max": 0.4, "runs": 2, "margin": 0.3}


def test_unmeasured_claims_are_reported(tmp_path):
    exp = write(tmp_path, {"nb": {"claims": [{"kind": "floor", "of": "acc", "min": 0.9, "says": "s"}]}})
    assert "has no measured spread" in claimlib.audit(exp)[0]


def test_bad_json_names_line_and_column(tmp_path):
    path = tmp_path / "expected.json"
    path.write_text('{\n  "profile": "smoke",\n  "notebooks": {,}\n}')
    with pytest.raises(ClaimsFileError, match=r"expected.json:3:\d+: not valid JSON"):
        claimlib.load(path)


def test_a_notebook_without_claims_is_refused(tmp_path):
    with pytest.raises(ClaimsFileError, match="nb states no claims"):
        write(tmp_path, {"nb": {"claims": []}})
