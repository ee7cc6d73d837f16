"""``bookkit build``: the strict book build for one audience.

    bookkit build                        # ga (the default): what every reader may see
    bookkit build --audience ea          # early access
    bookkit build --audience internal --path-output /tmp/internal-build
    bookkit build -- --builder dirhtml   # anything after -- goes to jupyter-book

Sets ``BOOK_AUDIENCE`` and runs ``jupyter-book build <book> -W -n --keep-going``
(warnings are errors, every reference is checked, all problems are reported
before the build fails). Returns jupyter-book's exit status.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bookkit.gating.conditions import AUDIENCES, DEFAULT_AUDIENCE

STRICT = ["-W", "-n", "--keep-going"]


def command(book: str, path_output: str | None, extra: list[str]) -> list[str]:
    """The jupyter-book command line this subcommand runs."""
    exe = Path(sys.executable).with_name("jupyter-book")
    program = str(exe) if exe.exists() else (shutil.which("jupyter-book") or "jupyter-book")
    cmd = [program, "build", book, *STRICT]
    if path_output:
        cmd += ["--path-output", path_output]
    return cmd + extra


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        argv, extra = argv[: argv.index("--")], argv[argv.index("--") + 1:]
    parser = argparse.ArgumentParser(prog="bookkit build", description=__doc__.split("\n\n")[0])
    parser.add_argument("book", nargs="?", default="book", help="the book folder (default: book)")
    parser.add_argument("--audience", choices=AUDIENCES, default=os.environ.get("BOOK_AUDIENCE") or DEFAULT_AUDIENCE,
                        help=f"who the build publishes for (default: $BOOK_AUDIENCE, else {DEFAULT_AUDIENCE})")
    parser.add_argument("--path-output", help="build into DIR/_build instead of <book>/_build")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    args = parser.parse_args(argv)
    cmd = command(args.book, args.path_output, extra)
    if args.dry_run:
        print(f"BOOK_AUDIENCE={args.audience} " + " ".join(cmd))
        return 0
    return subprocess.call(cmd, env=dict(os.environ, BOOK_AUDIENCE=args.audience))
