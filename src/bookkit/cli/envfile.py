"""Generate ``environment.yml`` (conda) from ``pyproject.toml``, the one place pins are written.

``bookkit envfile`` writes the file; ``bookkit envfile --check`` exits 1 when the
committed file differs from what would be generated (CI and tests run the check).
Conda users get the same pins as pip users: Python and Node.js from conda-forge,
everything else through pip, including the ``test`` and ``dev`` extras.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

HEADER = "# Generated from pyproject.toml by `bookkit envfile`; edit the pins there, then regenerate.\n"
#: Extras installed into the conda environment besides the main dependencies.
EXTRAS = ("test", "dev")


def pins(pyproject: Path) -> list[str]:
    """Every requirement of the project and of its ``test``/``dev`` extras, in file order."""
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return reqs


def render(pyproject: Path) -> str:
    """The text of environment.yml for ``pyproject``."""
    python = tomllib.loads(pyproject.read_text("utf-8"))["project"]["requires-python"]
    version = python.split(",")[0].lstrip(">=~ ")
    lines = [HEADER, "name: nemo-rl-book\n", "channels:\n  - conda-forge\n", "dependencies:\n",
             f"  - python={version}\n", "  - pip\n", "  - nodejs=20\n", "  - pip:\n"]
    lines += [f"      - {req}\n" for req in pins(pyproject)]
    lines.append("      - --editable .\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bookkit envfile", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    parser.add_argument("--check", action="store_true", help="fail if environment.yml is out of date")
    args = parser.parse_args(argv)
    target, text = args.root / "environment.yml", render(args.root / "pyproject.toml")
    if args.check:
        if not target.exists() or target.read_text("utf-8") != text:
            print(f"{target}: out of date with pyproject.toml; run `bookkit envfile` and commit it", file=sys.stderr)
            return 1
        print(f"{target}: matches pyproject.toml")
        return 0
    target.write_text(text, "utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
