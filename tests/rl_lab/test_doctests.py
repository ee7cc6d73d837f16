"""Every docstring example in rl_lab runs (slow: some examples train for a step or two)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rl_lab

MODULES = sorted(m.name for m in pkgutil.walk_packages(rl_lab.__path__, "rl_lab.") if m.name != "rl_lab.__main__")


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
