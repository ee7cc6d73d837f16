"""`make live`, the author's loop: the target exists, the sphinx-autobuild command it runs (through
bookkit.cli.live, which builds in a Sphinx process set up ahead of time) is well-formed, watches
the sources and ignores what the build writes; saving a page rebuilds it, by the waiting process
when only a Markdown body changed and by a fresh one otherwise. Timing lives in
benchmarks/bench_site.py (`live`), never here."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK_FILES = ("_config.yml", "_toc.yml")


def dry_run(*args: str) -> list[list[str]]:
    """The commands `make -n live` would run, one token list per command (recipes joined)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "-o", "setup", *args, "live"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = out.stdout.replace("\\\n", " ")
    return [shlex.split(line) for line in text.splitlines() if line.strip()]


LAUNCHER = "bookkit.cli.live"


def autobuild_command(commands: list[list[str]]) -> list[str]:
    found = [c for c in commands if LAUNCHER in c]
    assert len(found) == 1, commands
    cmd = found[0]
    return cmd[cmd.index(LAUNCHER) + 1:]


def test_make_live_is_a_documented_target():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^live\s*:", makefile, re.M) and re.search(r"^\.PHONY:.*\blive\b", makefile, re.M)
    assert "make live" in makefile.split("\n\n", 1)[0], "the Makefile's header lists make live"
    for doc in ("README.md", "BUILD_INSTRUCTIONS.md"):
        assert "make live" in (ROOT / doc).read_text(encoding="utf-8"), f"{doc} documents make live"


def test_sphinx_autobuild_is_pinned_once_in_the_test_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = [r for reqs in [project["dependencies"], *project["optional-dependencies"].values()]
            for r in reqs if r.startswith("sphinx-autobuild")]
    assert pins == [r for r in project["optional-dependencies"]["test"] if r.startswith("sphinx-autobuild")]
    assert len(pins) == 1 and "==" in pins[0]


def test_make_live_writes_the_sphinx_config_then_serves_the_book_with_autobuild():
    commands = dry_run("VENV=/venv", "PORT=8123")
    # book/conf.py comes from _config.yml and _toc.yml before the server starts (when older than them)
    conf = [c for c in commands if c[:3] == ["/venv/bin/jupyter-book", "config", "sphinx"]]
    autobuild = next(i for i, c in enumerate(commands) if LAUNCHER in c)
    assert all(commands.index(c) < autobuild for c in conf)
    assert commands[autobuild][:3] == ["/venv/bin/python", "-m", LAUNCHER]
    args = autobuild_command(commands)
    positional = [a for i, a in enumerate(args) if not a.startswith("-") and not args[i - 1].startswith("-")]
    assert positional[:2] == ["book", "book/_build/live"], args
    assert args[args.index("--port") + 1] == "8123" and args[args.index("--host") + 1] == "127.0.0.1"
    assert "-W" not in args, "a warning must not stop the preview; make book is the strict check"
    assert args[args.index("-d") + 1].startswith("book/_build/")
    ignored = [args[i + 1] for i, a in enumerate(args) if a == "--ignore"]
    assert f"{ROOT}/book/_build" in ignored and f"{ROOT}/book/conf.py" in ignored
    assert "book/conf.py" in (ROOT / ".gitignore").read_text().split(), "the generated conf.py is never committed"


def test_live_options_can_be_overridden():
    args = autobuild_command(dry_run("VENV=/venv", "LIVE_OPTS=-D nb_execution_mode=off", "LIVE_DIR=/tmp/x"))
    assert "nb_execution_mode=off" in args and "/tmp/x" in args and "bookkit_search_enabled=0" not in args


def test_the_autobuild_arguments_parse_and_ignore_build_outputs_not_pages(monkeypatch):
    pytest.importorskip("sphinx_autobuild", reason="sphinx-autobuild comes with the test extra (pip install -e .[test])")
    from sphinx_autobuild.__main__ import _parse_args
    from sphinx_autobuild.filter import IgnoreFilter

    monkeypatch.chdir(ROOT)  # make runs sphinx-autobuild in the repository root: its globs resolve there
    args, build_args = _parse_args(autobuild_command(dry_run()))
    assert Path(args.sourcedir).resolve() == (ROOT / "book").resolve()
    assert "-n" in build_args and "bookkit_search_enabled=0" in build_args and "bookkit_figure_numbers=0" in build_args and "html_use_index=0" in build_args
    ignore = IgnoreFilter([*args.ignore, args.outdir, args.doctree_dir], args.re_ignore)
    for path in ("book/_build/live/index.html", "book/_build/.jupyter_cache/global.db", "book/conf.py",
                 "book/api/rl_lab/rl_lab.grpo.md", "book/guides/.ipynb_checkpoints/x.ipynb", "book/index.md~"):
        assert ignore(str(ROOT / path)), path
    for path in ("book/get-started/quickstart.md", "book/notebooks/dpo.ipynb", "book/_toc.yml"):
        assert not ignore(str(ROOT / path)), path
    assert Path(args.additional_watched_dirs[0]).resolve() == (ROOT / "src" / "rl_lab").resolve()


def test_jupyter_book_writes_a_sphinx_config_with_the_books_extensions(tmp_path):
    # the same command make live runs, on a copy of the two files it reads (book/ stays untouched)
    for name in BOOK_FILES:
        shutil.copy(ROOT / "book" / name, tmp_path / name)
    exe = Path(sys.executable).with_name("jupyter-book")
    out = subprocess.run([str(exe), "config", "sphinx", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    namespace: dict = {}
    exec((tmp_path / "conf.py").read_text(encoding="utf-8"), namespace)  # noqa: S102 - a generated config file
    assert "bookkit.site.sitefixes" in namespace["extensions"] and namespace["external_toc_path"] == "_toc.yml"
    assert namespace["nb_execution_mode"] == "cache", "live builds take notebooks from the execution cache"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveProject:
    """``python -m bookkit.cli.live`` (what make live runs) on a two-page MyST project in ``tmp_path``."""

    def __init__(self, tmp_path: Path):
        self.src = tmp_path / "src"
        self.src.mkdir()
        (self.src / "conf.py").write_text("project = 'live'\nextensions = ['myst_parser']\n")
        (self.src / "other.md").write_text("# Other\n\nUnchanged.\n")
        self.page = self.src / "index.md"
        self.save("Live", "first version")
        self.port = _free_port()
        self.log_path = tmp_path / "live.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", LAUNCHER, str(self.src), str(tmp_path / "out"),
                                      "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=_env_with_src())

    def save(self, title: str, text: str) -> None:
        self.page.write_text(f"---\ntitle: {title}\n---\n# {title}\n\n{text}\n\n```{{toctree}}\nother\n```\n")

    def text(self) -> str:
        return self.log_path.read_text()

    def served(self, text: str, timeout: float = 90.0) -> bool:
        import time
        import urllib.request

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/index.html", timeout=5) as r:
                    if text in r.read().decode():
                        return True
            except OSError:
                pass
            time.sleep(0.3)
        return False

    def wait_for(self, line: str, n: int, timeout: float = 90.0) -> None:
        import time

        end = time.monotonic() + timeout
        while self.text().count(line) < n:
            assert time.monotonic() < end and self.proc.poll() is None, self.text()
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def _env_with_src() -> dict:
    import os

    src = str(ROOT / "src")
    return {**os.environ, "PYTHONPATH": src + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")}


def test_saving_a_page_rebuilds_it_and_the_server_serves_the_new_text(tmp_path):
    from bookkit.cli.live import READY

    # The launcher make live runs, on a two-page MyST project: start it, save edits, and the page
    # served over HTTP changes. A body edit is built by the Sphinx process set up in advance; a
    # front-matter edit (which gating and cards read at set-up) by a fresh one. Behaviour only;
    # bench_site.py live measures how fast.
    pytest.importorskip("sphinx_autobuild", reason="sphinx-autobuild comes with the test extra (pip install -e .[test])")
    live = LiveProject(tmp_path)
    try:
        assert live.served("first version"), live.text()
        live.wait_for(READY, 1)
        live.save("Live", "second version")  # body only
        assert live.served("second version"), live.text()
        live.wait_for("Serving on", 2)
        assert "Rebuilding in the Sphinx process set up in advance" in live.text(), live.text()
        live.wait_for(READY, 2)
        live.save("Live again", "third version")  # front matter changed
        assert live.served("third version"), live.text()
        live.wait_for("Serving on", 3)
        assert live.text().count("Rebuilding in a fresh Sphinx process") == 1, live.text()
        assert live.text().count("build succeeded") == 3, live.text()
    finally:
        live.stop()


def test_warm_builds_only_body_edits_of_known_markdown_pages(tmp_path):
    from bookkit.cli.live import front_matters, warm_ok

    (tmp_path / "a.md").write_text("---\ntitle: A\n---\n# A\n\nbody\n")
    (tmp_path / "b.ipynb").write_text("{}")
    (tmp_path / "_toc.yml").write_text("root: a\n")
    before = front_matters(tmp_path)
    assert list(before) == [(tmp_path / "a.md").resolve()]
    page = tmp_path / "a.md"
    page.write_text("---\ntitle: A\n---\n# A\n\nnew body\n")
    assert warm_ok([page], before)
    assert not warm_ok([], before), "the initial build has no waiting process"
    assert not warm_ok([tmp_path / "b.ipynb"], before), "notebooks re-execute: a fresh process builds them"
    assert not warm_ok([tmp_path / "_toc.yml"], before), "the toc is read at set-up"
    (tmp_path / "new.md").write_text("# New\n")
    assert not warm_ok([page, tmp_path / "new.md"], before), "a page the set-up did not know"
    page.write_text("---\ntitle: A2\n---\n# A\n\nnew body\n")
    assert not warm_ok([page], before), "front matter is read at set-up (gating, cards)"
    page.write_text("---\ntitle: [unclosed\n---\n# A\n")
    assert not warm_ok([page], before), "front matter that does not parse: a fresh build reports it"


def test_the_benchmark_book_copy_holds_what_make_live_needs(tmp_path):
    # bench_site.py live runs `make live` in a copy of the book: every file the setup target
    # depends on must be there (a missing package-lock.json once stopped it with "No rule")
    import importlib.util
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    spec = importlib.util.spec_from_file_location("bench_site", ROOT / "benchmarks" / "bench_site.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.book_copy(tmp_path)
    out = subprocess.run(["make", "-n", "setup", f"VENV={Path(sys.executable).parent.parent}"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert "No rule to make target" not in out.stderr, out.stderr
