"""``bookkit notebooks``: execute the book's notebooks outside Sphinx, for one profile.

``make notebooks-full`` runs ``bookkit notebooks --profile full --out book/_build/executed-full``
on a CUDA machine (the scheduled GPU workflow). Each notebook under the book is
executed with nbclient in its own folder, with

* ``RL_LAB_PROFILE`` set to the chosen profile,
* ``RL_LAB_OUTCOMES_DIR=<out>/outcomes`` and ``RL_LAB_NOTEBOOK=<stem>``, so the
  notebook's ``rl_lab.record_outcomes(...)`` lands in ``<out>/outcomes/<stem>.json``,
* widget state stored in the notebook (as the book build does).

The executed notebook goes to ``<out>/<path under book>.ipynb`` and one
``<out>/status.json`` lists, per notebook, status, wall time, profile, hardware
and library versions (the same fields as the book's execution stamps). A failing
notebook does not stop the others; the command exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

from bookkit.execution.execstamp import NOTEBOOK_ENV, OUTCOMES_ENV, PROFILE_ENV, format_runtime, hermetic_kernels, probe

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SKIP_PARTS = {"_build", ".ipynb_checkpoints", "_templates", "_data"}
PACKAGES = ["torch", "transformers", "rl_lab"]


def find_notebooks(book: Path) -> list[Path]:
    """Every ``.ipynb`` under ``book`` outside build, checkpoint and data folders, sorted."""
    return sorted(p for p in book.rglob("*.ipynb")
                  if not SKIP_PARTS & set(p.relative_to(book).parts) and not p.name.startswith("."))


def execute(path: Path, out: Path, book: Path, profile: str, timeout: int, kernel: str | None) -> dict:
    """Execute one notebook into ``out``; return its status record."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    env = {PROFILE_ENV: profile, OUTCOMES_ENV: str((out / "outcomes").resolve()), NOTEBOOK_ENV: path.stem}
    (out / "outcomes" / f"{path.stem}.json").unlink(missing_ok=True)  # no stale numbers from an older run
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel started below inherits these
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel or nb.metadata.get("kernelspec", {}).get(
        "name", "python3"), resources={"metadata": {"path": str(path.parent)}}, store_widget_state=True)
    error = None
    started = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        lines = ANSI.sub("", str(exc)).strip().splitlines()
        error = f"{type(exc).__name__}: {lines[-1] if lines else ''}"
    finally:
        runtime = time.perf_counter() - started
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    target = out / path.relative_to(book)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    machine = probe(PACKAGES, {**os.environ, PROFILE_ENV: profile})
    return {"status": "failed" if error else "ok", "error": error, "runtime": round(runtime, 2),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **machine}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bookkit notebooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all under --book)")
    parser.add_argument("--book", type=Path, default=Path("book"), help="the book's source folder (default: book)")
    parser.add_argument("--profile", default=os.environ.get(PROFILE_ENV) or "full", choices=["smoke", "full"],
                        help="rl_lab profile (default: $RL_LAB_PROFILE, else full)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <book>/_build/executed-<profile>)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default: 1800)")
    parser.add_argument("--kernel", default=None, help="kernel name (default: the notebook's kernelspec)")
    args = parser.parse_args(argv)
    book = args.book.resolve()
    out = (args.out or book / "_build" / f"executed-{args.profile}").resolve()
    paths = [p.resolve() for p in args.notebooks] or find_notebooks(book)
    outside = [p for p in paths if not p.is_file() or book not in p.parents]
    if outside:
        parser.error(f"{outside[0]} is not a notebook file under {book}; pass notebooks inside --book")
    if not paths:
        print(f"bookkit notebooks: no notebooks under {book}")
        return 0
    hermetic_kernels(out / ".ipython")  # the same kernel set-up as the book build
    status_file = out / "status.json"
    status = json.loads(status_file.read_text("utf-8")) if status_file.is_file() else {}
    for path in paths:
        rel = path.relative_to(book).as_posix()
        print(f"[{args.profile}] {rel} ...", flush=True)
        record = execute(path, out, book, args.profile, args.timeout, args.kernel)
        status[rel] = record
        print(f"[{args.profile}] {rel}: {record['status']} in {format_runtime(record['runtime'])}"
              + (f" - {record['error']}" if record["error"] else ""), flush=True)
        out.mkdir(parents=True, exist_ok=True)
        status_file.write_text(json.dumps(status, indent=2, sort_keys=True) + "\n", "utf-8")
    failed = sorted(rel for rel in (p.relative_to(book).as_posix() for p in paths) if status[rel]["error"])
    print(f"bookkit notebooks: {len(paths) - len(failed)} ok, {len(failed)} failed; results in {out}")
    for rel in failed:
        print(f"  failed: {rel}: {status[rel]['error']}")
    return 1 if failed else 0
