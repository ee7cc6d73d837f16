"""The ``bookkit`` maintainer command: ``bookkit <subcommand> [options]``.

Each subcommand lives in its own module and exposes ``main(argv) -> int``.
To add one, add a line to ``COMMANDS``: name -> ("module", "one-line help").
Modules are imported only when their subcommand runs.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "manifest": ("bookkit.nemorl.manifest", "write the names-only manifest of a NeMo RL checkout"),
    "refcheck": ("bookkit.refcheck.pages", "check pages' NeMo RL names, paths and config keys without a build"),
    "build": ("bookkit.cli.build", "strict jupyter-book build for one audience (--audience ga|ea|internal)"),
    "envfile": ("bookkit.cli.envfile", "generate environment.yml from pyproject.toml (--check to verify)"),
    "report": ("bookkit.cli.report", "pages per section, front-matter completeness and words per page"),
    "check-config": ("bookkit.checkconfig", "check a NeMo RL YAML or run_*.py command against a release's configs"),
    "drift": ("bookkit.refcheck.drift", "list the book's references that another release's manifest would break"),
    "releases": ("bookkit.nemorl.releases_page", "write the what-changed pages between NeMo RL releases (--check to verify)"),
    "live": ("bookkit.cli.live", "make live's server: sphinx-autobuild building in a Sphinx process set up in advance"),
    "notebooks": ("bookkit.execution.nbrun", "execute all notebooks under one rl_lab profile (make notebooks-full)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        width = max(map(len, COMMANDS))
        lines = [f"  {name:<{width}}  {help_}" for name, (_, help_) in sorted(COMMANDS.items())]
        print("usage: bookkit <subcommand> [options]\n\nsubcommands:\n" + "\n".join(lines))
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
