"""Audience conditions for content gating: a tiny boolean language, parsed without ``eval``.

Grammar (keywords and audience names are case-sensitive, lower case)::

    condition := or_expr
    or_expr   := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | atom
    atom      := AUDIENCE | "(" or_expr ")"
    AUDIENCE  := "ga" | "ea" | "internal"

``not`` binds tighter than ``and``, which binds tighter than ``or``, so
``ea or internal and not ga`` means ``ea or (internal and (not ga))``.

* ``parse(text) -> Condition``: raises :class:`ConditionError` (with the column
  and a fix) on anything else: unknown words, a dangling operator, unbalanced
  parentheses, an empty condition.
* ``Condition.allows(audience) -> bool`` evaluates it for one build's audience.
* ``allows(text, audience)`` does both at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

#: The audiences a build can publish for, from the widest circle to the narrowest.
AUDIENCES = ("ga", "ea", "internal")
#: A build that names no audience publishes for general availability: nothing leaks by accident.
DEFAULT_AUDIENCE = "ga"
KEYWORDS = ("and", "or", "not")
_TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z_][A-Za-z0-9_-]*)|(\S))")


class ConditionError(ValueError):
    """A condition that does not parse; ``column`` is 1-based within the condition text."""

    def __init__(self, text: str, column: int, problem: str):
        super().__init__(f"bad audience condition {text!r} (column {column}): {problem}")
        self.text, self.column, self.problem = text, column, problem


@dataclass(frozen=True)
class Condition:
    """A parsed condition: ``op`` is ``aud``, ``not``, ``and`` or ``or``."""

    op: str
    args: tuple = ()
    name: str = ""

    def allows(self, audience: str) -> bool:
        if self.op == "aud":
            return self.name == audience
        if self.op == "not":
            return not self.args[0].allows(audience)
        if self.op == "and":
            return all(a.allows(audience) for a in self.args)
        return any(a.allows(audience) for a in self.args)

    def __str__(self) -> str:
        if self.op == "aud":
            return self.name
        if self.op == "not":
            return f"not {self.args[0]}"
        return "(" + f" {self.op} ".join(str(a) for a in self.args) + ")"


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """``(kind, value, column)`` tokens; kind is ``(``, ``)``, ``word`` or ``bad``."""
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing whitespace is left
            break
        column = m.start(m.lastindex) + 1
        value = m.group(m.lastindex)
        kind = {1: "(", 2: ")", 3: "word", 4: "bad"}[m.lastindex]
        out.append((kind, value, column))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def fail(self, problem: str) -> ConditionError:
        column = self.toks[self.i][2] if self.i < len(self.toks) else len(self.text.rstrip()) + 1
        return ConditionError(self.text, column, problem)

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take_word(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1] == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Condition:
        if not self.toks:
            raise ConditionError(self.text, 1, "the condition is empty; write an audience such as 'ga', "
                                 "'ea or internal' or 'not ga'")
        cond = self.or_expr()
        if self.peek() is not None:
            tok = self.peek()
            raise self.fail(f"unexpected {tok[1]!r}; join conditions with 'and' or 'or'"
                            if tok[0] != ")" else "unexpected ')': no '(' is open here")
        return cond

    def or_expr(self) -> Condition:
        args = [self.and_expr()]
        while self.take_word("or"):
            args.append(self.and_expr())
        return args[0] if len(args) == 1 else Condition("or", tuple(args))

    def and_expr(self) -> Condition:
        args = [self.not_expr()]
        while self.take_word("and"):
            args.append(self.not_expr())
        return args[0] if len(args) == 1 else Condition("and", tuple(args))

    def not_expr(self) -> Condition:
        if self.take_word("not"):
            return Condition("not", (self.not_expr(),))
        return self.atom()

    def atom(self) -> Condition:
        tok = self.peek()
        if tok is None:
            raise self.fail("the condition ends where an audience was expected; "
                            f"finish it with one of: {', '.join(AUDIENCES)}")
        kind, value, _ = tok
        if kind == "(":
            self.i += 1
            inner = self.or_expr()
            if self.peek() is None or self.peek()[0] != ")":
                raise self.fail("missing ')' to close the '(' opened earlier")
            self.i += 1
            return inner
        if kind == "word" and value in AUDIENCES:
            self.i += 1
            return Condition("aud", name=value)
        if kind == "word" and value in KEYWORDS:
            raise self.fail(f"'{value}' needs an audience on its left; write for example 'ea {value} internal'")
        if kind == "word":
            close = [a for a in AUDIENCES if a.lower() == value.lower()]
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise self.fail(f"unknown audience '{value}'; {hint}audiences are: {', '.join(AUDIENCES)}")
        raise self.fail(f"unexpected {value!r}; use audiences ({', '.join(AUDIENCES)}), "
                        "'and', 'or', 'not' and parentheses")


@lru_cache(maxsize=1024)
def parse(text: str) -> Condition:
    """Parse ``text``; raises :class:`ConditionError` naming the column and the fix."""
    if not isinstance(text, str):
        raise ConditionError(repr(text), 1, "a condition must be a string such as 'ea or internal'")
    return _Parser(text).parse()


def allows(text: str, audience: str) -> bool:
    """Whether a build for ``audience`` publishes content under condition ``text``."""
    return parse(text).allows(audience)
