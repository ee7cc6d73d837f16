"""Outcome claims: what each tutorial teaches, checked against the numbers its notebook records.

Every notebook ends with ``rl_lab.record_outcomes({...})``. Training on a CPU is
chaotic: the floating-point kernels a machine uses (AVX-512, AVX2, the portable
``default`` ones, ARM), its thread count and the random seed all move a
trajectory, so a point value with a tolerance only holds on the machine that
recorded it. An expectations file (``tests/notebooks/expected_outcomes.json``)
therefore lists, per notebook, the *claims* its page makes, each a plain
predicate over the recorded numbers:

``range``
    ``low <= of <= high`` (a starting point "right about half the time").
``floor`` / ``ceiling``
    ``of >= min`` / ``of <= max`` (a final value).
``gain``
    ``of - over >= min`` (GRPO raises sampled accuracy by at least 15 points).
``order``
    ``of > over`` (pass@8 above greedy above pass@1).

Beside each claim the file keeps what was *measured* across machine variants
(``benchmarks/bench_outcome_spread.py`` runs every notebook under several CPU
kernel levels, thread counts and seeds): the worst and best value of the claimed
quantity and the margin left to the bound; and per recorded number its value in
every variant (``spread``). :func:`check` is what the test suite runs on a fresh
execution; :func:`audit` checks that the file itself is consistent (every bound
holds on every measured variant, every recorded number is claimed).

Examples:
    >>> claim = Claim.from_dict({"kind": "gain", "of": "after", "over": "before", "min": 0.15,
    ...                          "says": "GRPO adds 15 points"})
    >>> claim.quantity({"before": 0.40, "after": 0.64})  # 0.64 - 0.40
    0.24
    >>> claim.holds({"before": 0.40, "after": 0.50})  # 0.10 < 0.15
    False
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("range", "floor", "ceiling", "gain", "order")
_FIELDS = {  # kind -> bound fields it needs, besides `of`
    "range": ("low", "high"),
    "floor": ("min",),
    "ceiling": ("max",),
    "gain": ("over", "min"),
    "order": ("over",),
}


class ClaimsFileError(ValueError):
    """The expectations file is malformed; the message names the notebook, the claim and the fix."""


@dataclass(frozen=True)
class Claim:
    """One claim a page makes about its numbers.

    Attributes:
        kind: One of :data:`KINDS`.
        of: The recorded number the claim is about.
        says: The sentence of the page the claim stands for.
        over: The number subtracted (``gain``) or compared against (``order``).
        low: Lower bound (``range``).
        high: Upper bound (``range``).
        min: Lower bound (``floor``, and the least gain for ``gain``).
        max: Upper bound (``ceiling``).
    """

    kind: str
    of: str
    says: str
    over: str | None = None
    low: float | None = None
    high: float | None = None
    min: float | None = None
    max: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "claim") -> "Claim":
        """Builds a claim, refusing unknown kinds and missing or extra fields.

        Raises:
            ClaimsFileError: With ``where`` (e.g. ``grpo-math claim 2``) and the fix.
        """
        kind = data.get("kind")
        if kind not in KINDS:
            raise ClaimsFileError(f"{where}: kind {kind!r} is not one of {list(KINDS)}")
        needed = {"kind", "of", "says", *_FIELDS[kind]}
        allowed = needed | {"measured", "margin"}
        missing, extra = sorted(needed - set(data)), sorted(set(data) - allowed)
        if missing or extra:
            raise ClaimsFileError(f"{where} ({kind}): " + "; ".join(
                ([f"add {missing}"] if missing else []) + ([f"remove {extra} (a {kind} claim has "
                                                            f"{sorted(needed)})"] if extra else [])))
        return cls(**{k: data[k] for k in needed})

    def names(self) -> list[str]:
        """The recorded numbers this claim reads."""
        return [self.of] + ([self.over] if self.over else [])

    def quantity(self, outcomes: Mapping[str, float]) -> float:
        """The number the bound applies to: the value itself, or ``of - over`` for gain and order."""
        value = outcomes[self.of]
        return round(value - outcomes[self.over], 10) if self.kind in ("gain", "order") else value

    def holds(self, outcomes: Mapping[str, float]) -> bool:
        """Whether the claim is true of these recorded numbers."""
        return self.margin_of(self.quantity(outcomes)) >= 0 if self.kind != "order" \
            else self.quantity(outcomes) > 0

    def margin_of(self, quantity: float) -> float:
        """How far ``quantity`` is inside the bound (negative: outside)."""
        if self.kind == "range":
            return min(quantity - self.low, self.high - quantity)
        if self.kind in ("floor", "gain"):
            return quantity - self.min
        if self.kind == "ceiling":
            return self.max - quantity
        return quantity  # order: of - over must be > 0

    def bound(self) -> str:
        """The claim as a short formula, e.g. ``after - before >= 0.15``."""
        return {
            "range": lambda: f"{self.low} <= {self.of} <= {self.high}",
            "floor": lambda: f"{self.of} >= {self.min}",
            "ceiling": lambda: f"{self.of} <= {self.max}",
            "gain": lambda: f"{self.of} - {self.over} >= {self.min}",
            "order": lambda: f"{self.of} > {self.over}",
        }[self.kind]()


@dataclass(frozen=True)
class Expectations:
    """A parsed expectations file: profile, variants measured, and per notebook its claims and spread."""

    path: Path
    profile: str
    variants: list[str]
    claims: dict[str, list[Claim]]
    spread: dict[str, dict[str, dict[str, float]]]  # notebook -> number -> variant -> value
    raw: dict[str, Any]


def load(path: str | Path) -> Expectations:
    """Reads and validates an expectations file.

    Raises:
        ClaimsFileError: Malformed JSON (with line and column) or a malformed claim.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ClaimsFileError(f"{path}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from None
    claims, spread = {}, {}
    for name, entry in raw.get("notebooks", {}).items():
        if not entry.get("claims"):
            raise ClaimsFileError(f"{path.name}: {name} states no claims; add what its page teaches")
        claims[name] = [Claim.from_dict(c, f"{path.name}: {name} claim {i + 1}") for i, c in enumerate(entry["claims"])]
        spread[name] = entry.get("spread", {})
    return Expectations(path, raw.get("profile", "smoke"), list(raw.get("variants", [])), claims, spread, raw)


def check(expectations: Expectations, notebook: str, recorded: Mapping[str, Any]) -> list[str]:
    """Every way a recorded outcomes file (``{"profile", "outcomes"}``) breaks its notebook's claims.

    Returns:
        Sentences naming the notebook, the claim, the numbers and the fix; empty when all hold.
    """
    problems = []
    if recorded.get("profile") != expectations.profile:
        problems.append(f"{notebook}: recorded under profile {recorded.get('profile')!r}, "
                        f"claims are for {expectations.profile!r}")
    got = recorded.get("outcomes", {})
    claims = expectations.claims.get(notebook, [])
    claimed = {n for c in claims for n in c.names()}
    for claim in claims:
        absent = [n for n in claim.names() if n not in got]
        if absent:
            problems.append(f"{notebook}: {claim.bound()} needs {absent}, which the notebook no longer records; "
                            f"record it again or change the claim in {expectations.path.name}")
        elif not claim.holds(got):
            shown = ", ".join(f"{n} = {got[n]:.4g}" for n in claim.names())
            problems.append(f"{notebook}: the page says \"{claim.says}\" ({claim.bound()}), but {shown}; "
                            f"if the change is intended, rerun benchmarks/bench_outcome_spread.py and update "
                            f"{expectations.path.name} and the page")
    for name in sorted(set(got) - claimed):
        problems.append(f"{notebook}: records {name!r} = {got[name]!r} but no claim in {expectations.path.name} "
                        f"uses it; add the claim the page makes about it (or stop recording it)")
    return problems


def measured(claim: Claim, spread: Mapping[str, Mapping[str, float]]) -> dict[str, float] | None:
    """The claimed quantity's worst and best value over the variants in ``spread``, and the margin left."""
    variants = set.intersection(*(set(spread.get(n, {})) for n in claim.names()))
    if not variants:
        return None
    values = [claim.quantity({n: spread[n][v] for n in claim.names()}) for v in sorted(variants)]
    margins = [claim.margin_of(q) for q in values]
    return {"min": round(min(values), 4), "max": round(max(values), 4), "runs": len(values),
            "margin": round(min(margins), 4)}


def audit(expectations: Expectations) -> list[str]:
    """Inconsistencies of the file itself: bounds that a measured variant breaks, numbers without spread."""
    problems = []
    for notebook, claims in expectations.claims.items():
        spread = expectations.spread.get(notebook, {})
        for claim in claims:
            seen = measured(claim, spread)
            if seen is None:
                problems.append(f"{notebook}: {claim.bound()} has no measured spread; run "
                                f"benchmarks/bench_outcome_spread.py --write")
            elif seen["margin"] < 0 or (claim.kind == "order" and seen["min"] <= 0):
                problems.append(f"{notebook}: {claim.bound()} fails on a measured variant (worst {seen['min']}, "
                                f"best {seen['max']}); derive the bound from the spread")
    return problems

