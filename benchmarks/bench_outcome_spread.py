"""How much each notebook's numbers move across machines: the spread table behind the outcome claims.

Usage::

    python benchmarks/bench_outcome_spread.py                 # all variants, print the table
    python benchmarks/bench_outcome_spread.py --write         # ... and record the spread in the claims file
    python benchmarks/bench_outcome_spread.py --table-only    # print the table from earlier results
    python benchmarks/bench_outcome_spread.py grpo-math --results /tmp/grpo.json --seeds 0 1 2   # one notebook
    python benchmarks/bench_outcome_spread.py distillation --results /tmp/d.json --write   # record one notebook
    python benchmarks/bench_outcome_spread.py --keep-recorded --results /tmp/m.json --write   # add this machine

Every notebook runs under the smoke profile once per *numerics variant*: each CPU
kernel level torch offers here (``ATEN_CPU_CAPABILITY=default``, ``avx2`` and the
machine's native one, merged when two are the same), 1 and 2 threads, and two seeds
(``RL_LAB_SEED_OFFSET`` 0 and 1). Each variant starts from an empty model cache, so
the cached starting checkpoints are trained under that variant too. Variants run in
parallel as far as the cores allow (a 2-thread variant takes two cores).

The script prints, per notebook and recorded number, its value in every variant and
the range; then, per claim of ``tests/notebooks/expected_outcomes.json``, the worst
and best claimed quantity and the margin to its bound. With ``--write`` the variants,
the per-number values (``spread``) and each claim's ``measured`` figures are written
into that file; the bounds themselves are left alone. Nothing is asserted: the test
suite checks the claims (``tests/notebooks/test_outcomes.py``).
Results are kept in ``--results`` and reused, so an interrupted run resumes.

A variant is named by the kernel torch really uses (``avx2/1t/seed+0``, ``avx512/2t/seed+1``),
so machines add to one record: with ``--keep-recorded`` the variants already in the claims
file are taken from it instead of run again, and only the variants this machine adds (its
native kernel when no earlier machine had it) are run, then written beside the others.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from bookkit.execution import claims as claimlib  # noqa: E402

EXPECTED = REPO / "tests" / "notebooks" / "expected_outcomes.json"
KERNEL_LEVELS = ("default", "avx2", "native")


def capability(level: str) -> str:
    """The kernel level torch really uses under ``ATEN_CPU_CAPABILITY=level`` (native: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    if level != "native":
        env["ATEN_CPU_CAPABILITY"] = level
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def variants(threads: list[int], seeds: list[int]) -> list[dict]:
    """One dict per variant: label, the environment it sets and the cores it needs."""
    levels: dict[str, str] = {}
    for level in KERNEL_LEVELS:
        levels.setdefault(capability(level), level)  # native == AVX2 here: keep one
    out = []
    for cap, level in levels.items():
        for n in threads:
            for seed in seeds:
                env = {"RL_LAB_THREADS": str(n), "OMP_NUM_THREADS": str(n), "RL_LAB_SEED_OFFSET": str(seed)}
                if level != "native":
                    env["ATEN_CPU_CAPABILITY"] = level
                out.append({"label": f"{cap.lower()}/{n}t/seed+{seed}", "env": env, "cores": n})
    return out


def run_variant(variant: dict, out: Path, timeout: int, only: list[str]) -> dict:
    """Runs every notebook under one variant with a fresh model cache; returns its outcomes per notebook."""
    folder = out / variant["label"].replace("/", "-")
    with tempfile.TemporaryDirectory(prefix="rl-lab-cache-") as cache:
        env = {**os.environ, **variant["env"], "RL_LAB_CACHE": cache, "RL_LAB_PROFILE": "smoke",
               "OMP_WAIT_POLICY": "PASSIVE"}
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bookkit.cli", "notebooks", "--profile", "smoke",
                               "--book", str(REPO / "book"), "--out", str(folder), "--timeout", str(timeout),
                               *[str(REPO / "book" / "notebooks" / f"{name}.ipynb") for name in only]],
                              env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    outcomes = {}
    for file in sorted((folder / "outcomes").glob("*.json")):
        if not only or file.stem in only:  # this run's notebooks only
            outcomes[file.stem] = json.loads(file.read_text())["outcomes"]
    status = json.loads((folder / "status.json").read_text()) if (folder / "status.json").is_file() else {}
    runtimes = {Path(k).stem: v["runtime"] for k, v in status.items()}
    failed = sorted(Path(k).stem for k, v in status.items() if v["status"] != "ok")
    return {"outcomes": outcomes, "runtimes": runtimes, "failed": failed, "seconds": round(seconds, 1),
            "returncode": proc.returncode}


def run_all(todo: list[dict], results: dict, path: Path, out: Path, cores: int, timeout: int,
            only: list[str]) -> None:
    """Runs the variants, at most ``cores`` threads at a time, saving results after each."""
    free = threading.Semaphore(cores)
    lock = threading.Lock()

    def job(variant: dict) -> None:
        for _ in range(variant["cores"]):
            free.acquire()
        try:
            print(f"start {variant['label']}", flush=True)
            result = run_variant(variant, out, timeout, only)
        finally:
            for _ in range(variant["cores"]):
                free.release()
        with lock:
            results[variant["label"]] = result
            path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        print(f"done  {variant['label']} in {result['seconds']:.0f} s"
              + (f"; FAILED: {result['failed']}" if result["failed"] else ""), flush=True)

    # Two-core variants first, alone; then the one-core ones side by side.
    ordered = sorted(todo, key=lambda v: -v["cores"])
    with futures.ThreadPoolExecutor(max_workers=max(1, cores)) as pool:
        list(pool.map(job, ordered))


def spread_of(results: dict) -> dict[str, dict[str, dict[str, float]]]:
    """notebook -> number -> variant label -> value."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for label, result in sorted(results.items()):
        for notebook, numbers in result["outcomes"].items():
            for name, value in numbers.items():
                table.setdefault(notebook, {}).setdefault(name, {})[label] = round(value, 4)
    return table


def print_tables(results: dict, expectations: claimlib.Expectations) -> None:
    labels = sorted(results)
    table = spread_of(results)
    width = max(len(label) for label in labels)
    print("\n== recorded numbers per variant (smoke profile)")
    print(f"{'notebook / number':48s} " + " ".join(f"{i + 1:>6d}" for i in range(len(labels))) + "     min    max")
    for i, label in enumerate(labels):
        result = results[label]
        took = "recorded" if result.get("recorded") else f"{result['seconds']:5.0f} s"
        print(f"   variant {i + 1}: {label:{width}s}  {took}" +
              (f"  failed: {result['failed']}" if result["failed"] else ""))
    for notebook, numbers in sorted(table.items()):
        for name, row in sorted(numbers.items()):
            values = [row.get(label) for label in labels]
            shown = " ".join(f"{v:6.3f}" if v is not None else "     -" for v in values)
            present = [v for v in values if v is not None]
            print(f"{notebook + ' / ' + name:48s} {shown}  {min(present):6.3f} {max(present):6.3f}")
    print("\n== claims: worst and best measured quantity, margin to the bound")
    for notebook, claims in sorted(expectations.claims.items()):
        for claim in claims:
            seen = claimlib.measured(claim, table.get(notebook, {}))
            if seen is None:
                print(f"{notebook:24s} {claim.bound():60s} not measured")
                continue
            ok = "holds" if seen["margin"] >= 0 and not (claim.kind == "order" and seen["min"] <= 0) else "FAILS"
            print(f"{notebook:24s} {claim.bound():60s} {seen['min']:7.3f} {seen['max']:7.3f} "
                  f"margin {seen['margin']:+.3f} {ok} ({seen['runs']} runs)")
    runtimes = [t for r in results.values() for t in r["runtimes"].values()]
    if runtimes:
        print(f"\nnotebook wall time over all runs: min {min(runtimes):.0f} s, max {max(runtimes):.0f} s "
              f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


def write_back(results: dict, path: Path) -> None:
    """Records variants, spread and each claim's measured figures in the expectations file,
    for the notebooks these results cover (the others keep what was recorded for them)."""
    raw = json.loads(path.read_text())
    table = spread_of(results)
    expectations = claimlib.load(path)
    raw["variants"] = sorted(set(raw.get("variants", [])) | set(results))
    for notebook, entry in raw["notebooks"].items():
        if notebook not in table:
            continue  # not in these results (a run of some notebooks): its recorded spread stays
        entry["spread"] = table[notebook]
        for claim, data in zip(expectations.claims[notebook], entry["claims"]):
            seen = claimlib.measured(claim, entry["spread"])
            if seen:
                data["measured"] = {k: seen[k] for k in ("min", "max", "runs")}
                data["margin"] = seen["margin"]
    path.write_text(json.dumps(raw, indent=1) + "\n")
    print(f"\nwrote variants, spread and measured figures to {path}")


def recorded_results(path: Path) -> dict:
    """The variants recorded in the claims file, as results (their outcomes rebuilt from ``spread``)."""
    raw = json.loads(path.read_text())
    results: dict = {}
    for label in raw.get("variants", []):
        outcomes = {notebook: {name: values[label] for name, values in entry.get("spread", {}).items()
                               if label in values}
                    for notebook, entry in raw["notebooks"].items()}
        results[label] = {"outcomes": {k: v for k, v in outcomes.items() if v}, "runtimes": {}, "failed": [],
                          "seconds": 0.0, "returncode": 0, "recorded": True}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="only these notebooks (file stems; default: all). Keep "
                        "such partial runs in their own --results file")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default: 1 2)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="RL_LAB_SEED_OFFSET values (default: 0 1)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="threads to run at once")
    parser.add_argument("--results", type=Path, default=REPO / "book" / "_build" / "outcome-spread" / "results.json",
                        help="where raw results are kept and resumed from")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    parser.add_argument("--table-only", action="store_true", help="print the tables from earlier results")
    parser.add_argument("--write", action="store_true", help=f"record the spread in {EXPECTED.relative_to(REPO)}")
    parser.add_argument("--keep-recorded", action="store_true", help="take the variants already recorded in the "
                        "claims file from it and run only the others (another machine's native kernel)")
    args = parser.parse_args(argv)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    if args.keep_recorded:
        results = {**recorded_results(EXPECTED), **results}
    if not args.table_only:
        todo = [v for v in variants(args.threads, args.seeds) if v["label"] not in results]
        print(f"{len(todo)} variant(s) to run, {len(results)} reused from {args.results}", flush=True)
        # a folder of this run's own: two runs beside each other never read each other's outcomes
        out = Path(tempfile.mkdtemp(prefix=f"{args.results.stem}-variants-", dir=args.results.parent))
        print(f"notebook outputs in {out}", flush=True)
        run_all(todo, results, args.results, out, args.cores, args.timeout, args.notebooks)
    print_tables(results, claimlib.load(EXPECTED))
    if args.write:
        write_back(results, EXPECTED)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
