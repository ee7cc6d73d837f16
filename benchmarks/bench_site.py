"""Build and delivery cost of the site: build times, peak memory, output size, page weight, search cost.

Usage::

    python benchmarks/bench_site.py                       # the book only
    python benchmarks/bench_site.py --nemo-rl /path/to/nemo-rl   # also NeMo RL's own docs, with ratios
    NEMO_RL_SRC=/path/to/nemo-rl python benchmarks/bench_site.py --cache-from /tmp/x/_build/.jupyter_cache
    python benchmarks/bench_site.py live                  # edit-to-refresh time of `make live`

The book is copied to a temporary folder (``book/`` copied; ``src``, ``archive`` and
``node_modules`` linked) so nothing in the working tree changes, and built there with the
documented strict command in this order:

1. cold build, notebooks executed (skipped with ``--cache-from``: the execution cache is
   then seeded from that folder and the row says so);
2. cold build with the execution cache warm (HTML and doctrees removed);
3. no-change rebuild;
4. rebuild after editing one page (a paragraph appended to a guide).

Each build runs in a child process that reports ``getrusage(RUSAGE_CHILDREN).ru_maxrss``:
the peak resident memory of the largest process of that build's tree (the Sphinx process
or a notebook kernel). Then it serves the built site on 127.0.0.1 and, in Debian's
Chromium, counts the bytes the home page loads, and (when the site has a Pagefind
index) the bytes and time to the first result of typical search queries.

With ``--nemo-rl PATH`` (or ``NEMO_RL_SRC``) it builds NeMo RL's own documentation from a
temporary copy of that checkout with the interpreter in ``--nemo-venv`` (default
``/tmp/nemo-docs-venv``: ``python3.11 -m venv /tmp/nemo-docs-venv`` and pip-install the
``docs`` dependency group of NeMo RL's pyproject.toml), cold and unchanged, and prints
ratios. Prints tables; asserts nothing.

``python benchmarks/bench_site.py live`` measures the author's loop instead: it starts
``make live`` on a temporary copy of the book (execution cache seeded from ``--cache-from``,
default ``book/_build/.jupyter_cache``, so no notebook runs), waits for the initial build,
then ``--edits`` times appends a sentence to one curated Markdown page (``--page``) and
prints, per edit, the seconds until the served HTML contains the new sentence and until the
rebuild finished (when sphinx-autobuild tells the browser to reload). The target on this
machine is under 5 s for one curated page. ``--make-arg`` passes arguments to make (for
example ``--make-arg=-o --make-arg=setup`` with an already installed environment).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EDITED_PAGE = "guides/training-algorithms/grpo.md"
#: The page `live` edits by default: a curated guide with code, tables and cross-references.
LIVE_PAGE = "get-started/quickstart.md"
#: sphinx-autobuild prints this after every build (initial and rebuilds), then tells browsers to reload.
SERVING = "Serving on http://"
SKIP_DIRS = {"_static", "_sources", "_downloads", "pagefind", "_images"}
# Reference figures measured on this machine for NeMo RL v0.7.0's docs (used when its build cannot run).
NEMO_REFERENCE = {"cold_s": 170.0, "rebuild_s": 160.0, "rss_mb": 515.0, "doctrees_mb": 740.0, "searchindex_mb": 1.1}


def measure(cmd: list[str], cwd: Path, env: dict, log: Path) -> dict:
    """Run ``cmd`` in a child that reports the peak RSS of its own process tree: seconds, rss, exit code."""
    probe = ("import json, resource, subprocess, sys, time; log = open(sys.argv[1], 'w'); "
             "t = time.perf_counter(); rc = subprocess.call(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT); "
             "print(json.dumps({'rc': rc, 's': time.perf_counter() - t, "
             "'rss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")
    out = subprocess.run([sys.executable, "-c", probe, str(log), *cmd], cwd=cwd, env=env,
                         capture_output=True, text=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    if data["rc"] != 0:
        print(f"  exit {data['rc']}; log: {log}", file=sys.stderr)
    return {"seconds": data["s"], "rss_mb": data["rss_kb"] / 1024, "rc": data["rc"]}


def du(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def pages(html: Path) -> int:
    return sum(1 for p in html.rglob("*.html") if not (SKIP_DIRS & set(p.relative_to(html).parts[:-1])))


def book_copy(root: Path) -> Path:
    """The book in ``root`` with what its configuration reaches outside book/ linked in."""
    shutil.copytree(REPO / "book", root / "book", ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints", "conf.py"))
    for name in ("src", "archive", "node_modules", "package.json", "package-lock.json", "pyproject.toml", "Makefile"):
        if (REPO / name).exists():
            (root / name).symlink_to(REPO / name)
    return root / "book"


def book_builds(args, work: Path) -> tuple[list[tuple[str, dict]], Path]:
    book = book_copy(work)
    out = work / "out"
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or "jupyter-book"
    cmd = [jb, "build", str(book), "-W", "-n", "--keep-going", "--path-output", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "OMP_WAIT_POLICY": "PASSIVE", "PYTHONHASHSEED": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    build = out / "_build"
    rows = []

    def step(label: str) -> dict:
        print(f"  {label} ...", file=sys.stderr, flush=True)
        result = measure(cmd, work, env, work / f"build-{len(rows) + 1}.log")
        result["html_bytes"] = du(build / "html")
        result["doctrees_bytes"] = du(build / ".doctrees")
        rows.append((label, result))
        return result

    if args.cache_from:
        shutil.copytree(args.cache_from, build / ".jupyter_cache")
        rows.append(("cold build, notebooks executed", {"skipped": f"--cache-from {args.cache_from}"}))
    else:
        step("cold build, notebooks executed")
    for sub in ("html", ".doctrees"):
        shutil.rmtree(build / sub, ignore_errors=True)
    step("cold build, execution cache warm")
    step("no-change rebuild")
    page = book / EDITED_PAGE
    page.write_text(page.read_text(encoding="utf-8") + "\n\nA sentence added by the benchmark.\n", encoding="utf-8")
    step(f"rebuild after editing {EDITED_PAGE}")
    return rows, build / "html"


def nemo_builds(src: Path, venv: Path, work: Path) -> tuple[list[tuple[str, dict]], dict] | str:
    sphinx = venv / "bin" / "sphinx-build"
    if not sphinx.exists():
        return (f"{sphinx} is missing: python3.11 -m venv {venv} && {venv}/bin/pip install sphinx sphinx-autodoc2 "
                "sphinx-copybutton sphinx-design myst_parser nvidia-sphinx-theme gitpython python-dotenv "
                "sphinxcontrib-mermaid swagger-plugin-for-sphinx")
    copy = work / "nemo-rl"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns(".git", "_build", "__pycache__"))
    out = copy / "docs" / "_build"
    cmd = [str(sphinx), "-b", "html", "-q", "-d", str(out / ".doctrees"), "docs", str(out / "html")]
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    rows = []
    for label in ("cold build", "no-change rebuild"):
        print(f"  NeMo RL docs: {label} ...", file=sys.stderr, flush=True)
        log = work / f"nemo-{len(rows) + 1}.log"
        result = measure(cmd, copy, env, log)
        if result["rc"] != 0:
            return f"NeMo RL's docs build failed here (exit {result['rc']}): {log.read_text()[-800:].strip()}"
        result["html_bytes"] = du(out / "html")
        result["doctrees_bytes"] = du(out / ".doctrees")
        rows.append((label, result))
    extra = {"searchindex_bytes": (out / "html" / "searchindex.js").stat().st_size, "pages": pages(out / "html")}
    return rows, extra


def browser_costs(html: Path) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_search import CHROMIUM, CHROMIUM_ARGS, TYPICAL, query_cost, serve
    from playwright.sync_api import sync_playwright

    httpd, base = serve(html)
    costs: dict = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context()
            page = context.new_page()
            sizes: list[int] = []
            page.on("response", lambda r: sizes.append(len(r.body())) if r.ok and r.request.method == "GET" else None)
            page.goto(base + "index.html", wait_until="networkidle")
            costs["home_bytes"], costs["home_requests"] = sum(sizes), len(sizes)
            context.close()
            if (html / "pagefind" / "pagefind.js").is_file():
                runs = [query_cost(browser, base, q) for q in TYPICAL]
                costs["query_bytes"] = sum(r[0] for r in runs) / len(runs)
                costs["query_first_result_s"] = sum(r[1] for r in runs) / len(runs)
            browser.close()
    finally:
        httpd.shutdown()
    return costs


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def builds_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nemo-rl", type=Path, default=os.environ.get("NEMO_RL_SRC") or None,
                        help="a NeMo RL checkout at v0.7.0: also build its own docs and print ratios")
    parser.add_argument("--nemo-venv", type=Path, default=Path("/tmp/nemo-docs-venv"),
                        help="venv with NeMo RL's docs dependencies (default: /tmp/nemo-docs-venv)")
    parser.add_argument("--cache-from", type=Path, default=None,
                        help="seed the execution cache from this .jupyter_cache and skip the notebook-executing cold build")
    parser.add_argument("--keep", action="store_true", help="keep the temporary build folder")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-site-"))
    try:
        rows, html = book_builds(args, work)
        nemo = nemo_builds(args.nemo_rl, args.nemo_venv, work) if args.nemo_rl else None
        costs = browser_costs(html) if (html / "index.html").is_file() else {}

        print("\nNeMo RL Book: builds (jupyter-book build book/ -W -n --keep-going)")
        print(f"| {'step':<58} | {'seconds':>8} | {'peak RSS':>9} | {'exit':>4} |")
        print(f"|{'-' * 60}|{'-' * 10}|{'-' * 11}|{'-' * 6}|")
        for label, r in rows:
            if "skipped" in r:
                print(f"| {label:<58} | {'skipped':>8} | {'':>9} | {'':>4} |  ({r['skipped']})")
            else:
                print(f"| {label:<58} | {r['seconds']:8.1f} | {r['rss_mb']:6.0f} MB | {r['rc']:>4} |")
        last = rows[-1][1]
        print("\nNeMo RL Book: output and delivery")
        print(f"| pages (HTML, excluding assets)            | {pages(html):>12} |")
        print(f"| output without .doctrees (html)           | {mb(last['html_bytes']):>12} |")
        print(f"| output with .doctrees                     | {mb(last['html_bytes'] + last['doctrees_bytes']):>12} |")
        print(f"| .doctrees                                 | {mb(last['doctrees_bytes']):>12} |")
        if costs:
            print(f"| home page with everything it loads        | {mb(costs['home_bytes']):>12} | "
                  f"{costs['home_requests']} requests")
        if "query_bytes" in costs:
            print(f"| bytes per search query (Pagefind, mean)   | {costs['query_bytes'] / 1e3:>9,.0f} kB |")
            print(f"| time to first search result (mean)        | {costs['query_first_result_s']:>10.2f} s |")
        else:
            print("| search rows: no Pagefind index in this build (bookkit.outputs.search)")

        book = {label: r for label, r in rows if "skipped" not in r}
        cold = book.get("cold build, notebooks executed") or book["cold build, execution cache warm"]
        rebuild = book["no-change rebuild"]
        peak = max(r["rss_mb"] for r in book.values())
        if nemo is None:
            return 0
        print("\nNeMo RL v0.7.0 docs (sphinx-build -b html docs) in the same run")
        if isinstance(nemo, str):
            print(f"  not built: {nemo}\n  ratios below use the reference figures measured here earlier")
            ref = NEMO_REFERENCE
            theirs = {"cold": ref["cold_s"], "rebuild": ref["rebuild_s"], "rss": ref["rss_mb"],
                      "doctrees": ref["doctrees_mb"] * 1e6, "searchindex": ref["searchindex_mb"] * 1e6, "pages": None}
        else:
            nrows, extra = nemo
            for label, r in nrows:
                print(f"| {label:<20} | {r['seconds']:8.1f} s | {r['rss_mb']:6.0f} MB | html {mb(r['html_bytes'])} "
                      f"| .doctrees {mb(r['doctrees_bytes'])} |")
            print(f"| searchindex.js {mb(extra['searchindex_bytes'])} | pages {extra['pages']} |")
            n = dict(nrows)
            theirs = {"cold": n["cold build"]["seconds"], "rebuild": n["no-change rebuild"]["seconds"],
                      "rss": max(r["rss_mb"] for r in n.values()), "doctrees": n["no-change rebuild"]["doctrees_bytes"],
                      "searchindex": extra["searchindex_bytes"], "pages": extra["pages"]}
        print("\nRatios (NeMo RL Book / NeMo RL docs)")
        print(f"| cold build (book: {'notebooks executed' if 'cold build, notebooks executed' in book else 'cache warm'})"
              f" | {cold['seconds'] / theirs['cold']:.2f} |")
        print(f"| no-change rebuild | {rebuild['seconds'] / theirs['rebuild']:.2f} |")
        print(f"| peak RSS | {peak / theirs['rss']:.2f} |")
        print(f"| .doctrees size | {last['doctrees_bytes'] / theirs['doctrees']:.2f} |")
        if "query_bytes" in costs:
            print(f"| bytes per search query / their searchindex.js download | "
                  f"{costs['query_bytes'] / theirs['searchindex']:.2f} |")
        if theirs["pages"]:
            print(f"| pages | {pages(html) / theirs['pages']:.2f} |")
        return 0
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


# -- the author's loop: make live ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``make live`` in ``root``, its output collected line by line (builds finished = SERVING lines)."""

    def __init__(self, root: Path, port: int, make_args: list[str], log: Path):
        venv = Path(sys.executable).parent.parent
        cmd = ["make", "--no-print-directory", *make_args, "live", f"VENV={venv}", f"PORT={port}"]
        self.log = log.open("w")
        self.lines: list[str] = []
        self.proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            self.log.write(line)
            self.log.flush()

    def builds(self) -> int:
        return sum(SERVING in line for line in self.lines)

    def wait_builds(self, n: int, timeout: float) -> float:
        """Seconds until ``n`` builds have finished; raises when make exits or time runs out."""
        start = time.perf_counter()
        while self.builds() < n:
            if self.proc.poll() is not None:
                raise RuntimeError(f"make live exited with {self.proc.returncode}; see {self.log.name}")
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"no finished build after {timeout:.0f} s; see {self.log.name}")
            time.sleep(0.02)
        return time.perf_counter() - start

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError):
        return ""  # not served yet, or cut short while the rebuild rewrites the page: ask again


def live_loop(args) -> int:
    cache = args.cache_from or REPO / "book" / "_build" / ".jupyter_cache"
    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    server = None
    try:
        book = book_copy(work)
        if cache.is_dir():
            shutil.copytree(cache, book / "_build" / ".jupyter_cache")
        else:
            print(f"  no execution cache at {cache}: the initial build executes every notebook", file=sys.stderr)
        page = book / args.page
        if not page.is_file():
            print(f"error: {args.page} is not a page under book/", file=sys.stderr)
            return 2
        url = f"http://127.0.0.1:{args.port or free_port()}/{Path(args.page).with_suffix('.html').as_posix()}"
        port = int(url.split(":")[2].split("/")[0])
        print(f"  make live in {work} (log: {work / 'live.log'}) ...", file=sys.stderr, flush=True)
        server = LiveServer(work, port, args.make_arg, work / "live.log")
        initial = server.wait_builds(1, args.timeout)
        while not fetch(url):
            server.wait_builds(1, 5)
            time.sleep(0.05)
        rows = []
        for i in range(1, args.edits + 1):
            marker = f"Live preview check {i} {time.time_ns()}."
            done_before = server.builds()
            start = time.perf_counter()
            page.write_text(page.read_text(encoding="utf-8") + f"\n\n{marker}\n", encoding="utf-8")
            while marker not in fetch(url):
                if time.perf_counter() - start > args.timeout:
                    raise TimeoutError(f"edit {i}: {url} never showed the change; see {server.log.name}")
                time.sleep(0.05)
            served = time.perf_counter() - start
            server.wait_builds(done_before + 1, args.timeout)
            rows.append((served, time.perf_counter() - start))
            time.sleep(args.pause)
        print(f"\nAuthor's loop: make live, edit {args.page}, wait for the served page (sphinx-autobuild)")
        print(f"| {'step':<46} | {'seconds':>8} |")
        print(f"|{'-' * 48}|{'-' * 10}|")
        print(f"| {'initial build (execution cache seeded)':<46} | {initial:8.1f} |")
        for i, (served, finished) in enumerate(rows, 1):
            print(f"| {f'edit {i}: served HTML has the change':<46} | {served:8.2f} |")
            print(f"| {f'edit {i}: rebuild finished, browser reloads':<46} | {finished:8.2f} |")
        median = statistics.median(f for _, f in rows)
        print(f"| {'median edit to reload':<46} | {median:8.2f} |  (target: under 5 s)")
        return 0
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["live"]:
        parser = argparse.ArgumentParser(prog="bench_site.py live", description="Edit-to-refresh time of make live.")
        parser.add_argument("--page", default=LIVE_PAGE, help=f"Markdown page under book/ to edit (default: {LIVE_PAGE})")
        parser.add_argument("--edits", type=int, default=3, help="how many edits to time (default: 3)")
        parser.add_argument("--pause", type=float, default=1.0, help="seconds between edits (default: 1)")
        parser.add_argument("--cache-from", type=Path, default=None,
                            help="execution cache to seed (default: book/_build/.jupyter_cache)")
        parser.add_argument("--port", type=int, default=0, help="port for make live (default: a free one)")
        parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for any one build")
        parser.add_argument("--make-arg", action="append", default=[], help="extra argument for make (repeatable)")
        parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
        return live_loop(parser.parse_args(argv[1:]))
    return builds_main(argv)


if __name__ == "__main__":
    sys.exit(main())
