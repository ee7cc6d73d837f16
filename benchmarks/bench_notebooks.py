"""Smoke-profile wall time of every notebook in book/notebooks, and the total.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_notebooks.py            # all, fresh model cache
    python benchmarks/bench_notebooks.py --warm                       # reuse ~/.cache model cache
    python benchmarks/bench_notebooks.py sft-quickstart grpo-math     # only these

Each notebook is copied to a temporary folder and run there with nbclient and
``RL_LAB_PROFILE=smoke``, in book order (the first notebook that needs a cached
starting checkpoint trains it; later ones reuse it). For each notebook the wall
time, the CPU time of its kernel (with any processes it started) and the
outcomes it recorded are printed; nothing is asserted. The budget is 120 s per
notebook and 15 minutes for all of them on two CPU cores; on a busy machine the
CPU time is the steadier number.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from bookkit.execution.execstamp import hermetic_kernels  # noqa: E402
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


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(path: Path, workdir: Path, timeout: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds (the kernel and everything it waited for) of one notebook."""
    shutil.copy(path, workdir / path.name)
    nb = nbformat.read(workdir / path.name, as_version=4)
    start, cpu = time.perf_counter(), cpu_of_children()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return time.perf_counter() - start, cpu_of_children() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook names (default: all, in book order)")
    parser.add_argument("--warm", action="store_true", help="reuse the default rl_lab model cache")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds (the book's execute.timeout)")
    args = parser.parse_args(argv)
    os.environ["RL_LAB_PROFILE"] = "smoke"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    total = total_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as tmp:
        if not args.warm:
            os.environ["RL_LAB_CACHE"] = str(Path(tmp) / "cache")
        hermetic_kernels(Path(tmp) / ".ipython")  # the book build's kernel set-up (no TCP warning per kernel)
        outcomes = Path(tmp) / "outcomes"
        os.environ["RL_LAB_OUTCOMES_DIR"] = str(outcomes)
        for path in ordered(args.notebooks):
            workdir = Path(tmp) / path.stem
            workdir.mkdir()
            try:
                seconds, cpu = run(path, workdir, args.timeout)
                status = "over budget" if seconds > BUDGET_S else "ok"
            except Exception as exc:  # report and go on: one broken notebook should not hide the others
                seconds, cpu = float("nan"), float("nan")
                status = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            total += 0.0 if seconds != seconds else seconds
            total_cpu += 0.0 if cpu != cpu else cpu
            recorded = outcomes / f"{path.stem}.json"
            numbers = json.loads(recorded.read_text())["outcomes"] if recorded.is_file() else {}
            shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(numbers.items()))
            print(f"{path.stem:30s} {seconds:6.1f} s wall {cpu:6.1f} s cpu  {status}  {shown}", flush=True)
    print(f"{'total':30s} {total:6.1f} s wall {total_cpu:6.1f} s cpu  (budget {BUDGET_S} s each, "
          f"{TOTAL_BUDGET_S} s in all; cache {'warm' if args.warm else 'cold'}; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
