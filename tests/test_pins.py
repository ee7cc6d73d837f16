"""environment.yml and pyproject.toml list the same pins (environment.yml is generated)."""

from __future__ import annotations

import yaml

from bookkit.cli.envfile import pins, render
from bookhelpers import ROOT


def test_environment_yml_is_generated_from_pyproject():
    assert (ROOT / "environment.yml").read_text() == render(ROOT / "pyproject.toml"), \
        "environment.yml is out of date: run `bookkit envfile` and commit it"


def test_same_pins_in_both_files():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_list = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert [p for p in pip_list if not p.startswith("--")] == pins(ROOT / "pyproject.toml")


def test_every_pin_is_exact_and_torch_is_the_cpu_wheel():
    reqs = pins(ROOT / "pyproject.toml")
    assert all("==" in r for r in reqs), [r for r in reqs if "==" not in r]
    assert "torch==2.13.0" in reqs
