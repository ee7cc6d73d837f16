"""``bookkit live`` (``python -m bookkit.cli.live``): sphinx-autobuild with a Sphinx process set up ahead of time.

    python -m bookkit.cli.live book book/_build/live -d book/_build/live-doctrees -n --port 8000

Takes exactly sphinx-autobuild's arguments (``make live`` passes them) and runs
sphinx-autobuild's own server, file watcher and browser reload. One thing differs: how a
rebuild starts. sphinx-autobuild runs ``python -m sphinx build ...`` after every save, so each
save first pays for starting Sphinx: importing it and every extension (MyST-NB alone imports
its execution cache's database layer), reading the configuration, loading the pickled
environment, setting up the builder. Here, as soon as a build ends, the next Sphinx process
is started and set up with those same arguments, and then waits. When a Markdown page or a
notebook is saved, that waiting process is told to build; what it then does (find outdated
pages, read, write, the ``build-finished`` handlers) is what ``python -m sphinx build`` would
do, byte for byte, because it *is* Sphinx's own ``build_main`` run with the same arguments.

A waiting process has read the configuration, the pages' front matter (gating decides which
pages are built from it) and set up the builder before the save. So only a save that changes
the body of Markdown pages that already existed is built by it; any other change (front
matter, a new or removed page, a notebook, ``_config.yml``, ``_toc.yml``, templates, static
files, ``src/rl_lab`` whose API pages are generated at start-up) discards it and builds from a
fresh process, exactly as sphinx-autobuild does.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import tempfile
import sys
from collections.abc import Sequence
from pathlib import Path

from sphinx_autobuild import __main__ as autobuild
from sphinx_autobuild.build import Builder
from sphinx_autobuild.utils import show_message

from bookkit.core.pages import FrontMatterError, read_front_matter

#: Pages whose body a waiting Sphinx process can rebuild (any other change starts a fresh one).
WARM_SUFFIX = ".md"


#: The waiting process's first reply when it takes a build (its exit status follows on the next line).
BUILDING = b"building"
REBUILDING = "Rebuilding"
#: What a waiting process prints once it is set up.
READY = "Sphinx is set up for the next save"
FrontMatters = dict[Path, dict]


def front_matters(srcdir: Path) -> FrontMatters:
    """Front matter of every Markdown page under ``srcdir`` (pages that do not parse are left out)."""
    found: FrontMatters = {}
    for path in srcdir.rglob("*" + WARM_SUFFIX):
        if "_build" in path.relative_to(srcdir).parts:
            continue
        try:
            found[path.resolve()] = read_front_matter(path).data
        except (FrontMatterError, OSError):
            pass
    return found


def warm_ok(changed: Sequence[Path], before: FrontMatters) -> bool:
    """Whether a Sphinx process set up when the pages' front matter was ``before`` builds the saved
    ``changed`` files as a fresh process would: they are Markdown pages it knew, with the same
    front matter."""
    if not changed:
        return False
    for path in map(Path, changed):
        path = path.resolve()
        if path.suffix != WARM_SUFFIX or path not in before:
            return False
        try:
            if read_front_matter(path).data != before[path]:
                return False
        except (FrontMatterError, OSError):
            return False
    return True


def socket_path(sphinx_args: Sequence[str]) -> Path:
    """Where the waiting Sphinx process for these build arguments listens (one per output folder)."""
    outdir = Path(autobuild.sphinx_get_parser().parse_args(list(sphinx_args)).outputdir).resolve()
    digest = hashlib.sha1(str(outdir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"bookkit-live-{digest}.sock"


class WarmBuilder(Builder):
    """sphinx-autobuild's builder, building in a Sphinx process that was set up in advance.

    sphinx-autobuild calls the builder in a fresh worker process for every change, so the
    builder keeps no process handles: the waiting Sphinx process listens on a Unix socket
    (:func:`socket_path`), decides itself whether it may build the change (:func:`warm_ok`
    against the front matter it read before setting up), builds and replies with its exit status.
    """

    def __init__(self, sphinx_args, **kwargs):
        super().__init__(sphinx_args, **kwargs)
        self.server_pid = os.getpid()

    def _start_waiting(self) -> None:
        # the socket listens before this returns (a save right after a build finds it); the
        # process accepts once Sphinx is set up
        path = socket_path(self.sphinx_args)
        path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(str(path))
            listener.listen(1)
            subprocess.Popen([sys.executable, "-m", "bookkit.cli.live", "--waiting", str(self.server_pid),
                              str(listener.fileno()), *self.sphinx_args],
                             stdin=subprocess.DEVNULL, pass_fds=[listener.fileno()])

    def _build_warm(self, changed: Sequence[Path]) -> int | None:
        """The waiting process's exit status for building ``changed``; None when there is none or
        it declined (then it has exited without building)."""
        if self.pre_build_commands:
            changed = []  # pre-build commands may change anything: the waiting process declines
        try:
            with socket.socket(socket.AF_UNIX) as conn:
                conn.connect(str(socket_path(self.sphinx_args)))
                conn.sendall(json.dumps([str(p) for p in changed]).encode() + b"\n")
                replies = conn.makefile("rb")
                if replies.readline().strip() != BUILDING:
                    return None
                show_message(f"{REBUILDING} in the Sphinx process set up in advance")
                status = replies.readline().strip()
        except OSError:
            return None
        return int(status) if status.lstrip(b"-").isdigit() else 1

    def __call__(self, *, changed_paths: Sequence[Path]):
        if changed_paths:
            names = ", ".join(Path(p).name for p in changed_paths[:5])
            show_message(f"Detected changes ({names})")
        status = self._build_warm(changed_paths) if changed_paths else None
        if status is None:
            if self._run_commands(self.pre_build_commands, "pre-build") != 0:
                return
            show_message(f"{REBUILDING} in a fresh Sphinx process" if changed_paths else "Building")
            status = subprocess.call([sys.executable, "-m", "sphinx", "build", *self.sphinx_args])
        self._start_waiting()
        if status != 0:
            print(f"Sphinx exited with exit code: {status}\nThe server keeps serving the last good "
                  "build: fix the error above and save again, or press Ctrl+C to stop.")
        else:
            self._run_commands(self.post_build_commands, "post-build")
        show_message(f"Serving on {self.uri}")


def _wait_then_build(server_pid: int, listener_fd: int, sphinx_args: list[str]) -> int:
    """Sphinx's own ``build_main``, pausing after set-up until a change it may build arrives on
    the listening socket ``listener_fd``."""
    from sphinx.application import Sphinx
    from sphinx.cmd import build

    path = socket_path(sphinx_args)
    listener = socket.socket(fileno=listener_fd)
    listener.settimeout(1.0)
    before = front_matters(Path(build.get_parser().parse_args(sphinx_args).sourcedir).resolve())
    client: list[socket.socket] = []

    def next_request() -> tuple[socket.socket, list[str]]:
        show_message(READY)
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                try:
                    os.kill(server_pid, 0)  # the live server still runs?
                except OSError:
                    raise SystemExit(0) from None
                continue
            conn.settimeout(None)
            return conn, json.loads(conn.makefile("rb").readline() or b"[]")

    class WaitingSphinx(Sphinx):
        def build(self, force_all: bool = False, filenames: list[str] | None = None) -> None:
            conn, changed = next_request()
            listener.close()
            path.unlink(missing_ok=True)  # the next waiting process binds it again
            if not warm_ok([Path(c) for c in changed], before):
                conn.sendall(b"declined\n")
                raise SystemExit(0)
            conn.sendall(BUILDING + b"\n")
            client.append(conn)
            super().build(force_all, filenames)

    build.Sphinx = WaitingSphinx  # build_main constructs the application by this name
    status = build.build_main(sphinx_args)
    for conn in client:
        conn.sendall(f"{status}\n".encode())
    return status


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--waiting"]:
        return _wait_then_build(int(argv[1]), int(argv[2]), argv[3:])
    autobuild.Builder = WarmBuilder  # sphinx-autobuild's main builds with this class
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    autobuild.main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
