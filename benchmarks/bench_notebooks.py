"""Smoke-profile wall time of every notebook in book/notebooks, and the total.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_notebooks.py            # all, fresh model cache
    python benchmarks/bench_notebooks.py --warm                       # reuse ~/.cache model cache
    python benchmarks/bench_notebooks.py sft-quickstart grpo-math     # only these

Each notebook is copied to a temporary folder and run there with nbclient and
``RL_LAB_PROFILE=smoke``, in book order (the SFT notebooks fill the model cache
that later notebooks start from). The times are printed, not asserted: the
budget is 120 s per notebook and 15 minutes for all of them on two CPU cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NB_DIR = REPO / "book" / "notebooks"
ORDER = ["sft-quickstart", "sft-openmathinstruct2", "evaluation", "dpo", "grpo-math", "grpo-deepscaler",
         "grpo-sliding-puzzle", "custom-environments", "custom-loss-functions", "distributed-training-scaling"]
BUDGET_S, TOTAL_BUDGET_S = 120, 15 * 60


def ordered(names: list[str]) -> list[Path]:
    paths = {p.stem: p for p in NB_DIR.glob("*.ipynb")}
    unknown = [n for n in names if n not in paths]
    if unknown:
        sys.exit(f"unknown notebook(s) {unknown}; available: {sorted(paths)}")
    wanted = names or sorted(paths, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [paths[n] for n in wanted]


def run(path: Path, workdir: Path, timeout: int) -> float:
    shutil.copy(path, workdir / path.name)
    nb = nbformat.read(workdir / path.name, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook names (default: all, in book order)")
    parser.add_argument("--warm", action="store_true", help="reuse the default rl_lab model cache")
    parser.add_argument("--timeout", type=int, default=240, help="per-cell timeout in seconds")
    args = parser.parse_args(argv)
    os.environ["RL_LAB_PROFILE"] = "smoke"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    total, rows = 0.0, []
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as tmp:
        if not args.warm:
            os.environ["RL_LAB_CACHE"] = str(Path(tmp) / "cache")
        for path in ordered(args.notebooks):
            workdir = Path(tmp) / path.stem
            workdir.mkdir()
            try:
                seconds = run(path, workdir, args.timeout)
                status = "over budget" if seconds > BUDGET_S else "ok"
            except Exception as exc:  # report and go on: one broken notebook should not hide the others
                seconds, status = float("nan"), f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            total += 0.0 if seconds != seconds else seconds
            rows.append((path.stem, seconds, status))
            print(f"{path.stem:32s} {seconds:7.1f} s  {status}", flush=True)
    print(f"{'total':32s} {total:7.1f} s  (budget {BUDGET_S} s each, {TOTAL_BUDGET_S} s in all; "
          f"cache {'warm' if args.warm else 'cold'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
