"""A visible execution stamp on every notebook page, and the data behind the status page.

For each notebook page MyST-NB records how its outputs were produced
(``env.nb_metadata[docname]["exec_data"]``: when, wall time, success). This
extension adds what MyST-NB does not know: the ``rl_lab`` profile, the hardware
(GPU name from ``nvidia-smi``, else the CPU model) and the versions of the
libraries that matter (by default torch, transformers, rl_lab). It then

* puts a "Last execution" box under the page title,
* keeps one record per notebook in the per-document store ``EXECSTAMPS`` for the
  ``{execution-status}`` table (:mod:`bookkit.execution.execstatus`),
* remembers, next to the jupyter-cache database, which machine produced each
  cached execution, so a page rebuilt from the cache keeps the stamp of the run
  that made its outputs instead of describing the machine doing the rebuild.

The machine is probed in the build process; notebooks are executed by a kernel
on the same machine with the same environment. bookkit never imports torch:
versions come from ``importlib.metadata``.

It also fixes two things about execution that the other parts rely on:

* a relative ``nb_execution_cache_path`` (``execute.cache`` in ``_config.yml``)
  is resolved against the build root (the folder holding ``_build``), not the
  current directory, so the cache sits beside the build output;
* the kernel gets ``RL_LAB_NOTEBOOK`` (the notebook's file stem) and, unless
  already set, ``RL_LAB_OUTCOMES_DIR=<_build>/outcomes``, which
  ``rl_lab.record_outcomes`` uses to write the notebook's key numbers.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

from bookkit import __version__
from bookkit.core.io import write_if_changed
from bookkit.core.settings import read, register, setting
from bookkit.core.store import ENV_VERSION, DocStore, enable, run_state

logger = logging.getLogger(__name__)
#: docname -> the notebook page's execution record (see ``make_record``).
EXECSTAMPS = DocStore("execstamps")

SIDECAR = "bookkit-execstamps.json"
NOTEBOOK_ENV, OUTCOMES_ENV, PROFILE_ENV = "RL_LAB_NOTEBOOK", "RL_LAB_OUTCOMES_DIR", "RL_LAB_PROFILE"


@dataclass(frozen=True)
class ExecStampSettings:
    execstamp_packages: list = setting(
        ["torch", "transformers", "rl_lab"], "Import names whose installed versions each stamp shows.")
    execstamp_show: bool = setting(True, "Show the 'Last execution' box on notebook pages.")


# -- probing the machine -------------------------------------------------------------------

def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def gpu_name() -> str | None:
    """The first GPU's name from ``nvidia-smi``, or None without one."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    names = [n.strip() for n in out.splitlines() if n.strip()]
    return f"{len(names)}x {names[0]}" if len(names) > 1 else (names[0] if names else None)


def package_version(name: str) -> str:
    """Installed version of an import name (``rl_lab`` maps to its distribution)."""
    candidates = [name, *metadata.packages_distributions().get(name, [])]
    for dist in candidates:
        try:
            return metadata.version(dist).split("+")[0]
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def probe(packages: list[str], environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Profile, hardware and library versions of the machine running the notebooks."""
    environ = dict(os.environ if environ is None else environ)
    gpu = gpu_name()
    profile = environ.get(PROFILE_ENV, "").strip()
    return {
        "profile": profile or ("full" if gpu else "smoke"),
        "profile_source": PROFILE_ENV if profile else "detected",
        "hardware": gpu or cpu_name(),
        "versions": {name: package_version(name) for name in packages},
    }


# -- formatting ------------------------------------------------------------------------------

def format_runtime(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def format_date(timestamp: float | None) -> str:
    if not timestamp:
        return "unknown"
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# -- records -----------------------------------------------------------------------------------

def _cache_time(mtime: float | None) -> float | None:
    # jupyter-cache stores UTC wall-clock times without a zone, and MyST-NB reads them back as local time.
    if not mtime:
        return None
    return datetime.fromtimestamp(mtime).replace(tzinfo=timezone.utc).timestamp()


def make_record(exec_data: dict | None, build_started: float, sidecar_entry: dict | None,
                packages: list[str]) -> dict[str, Any]:
    """The stamp record of one notebook page from MyST-NB's execution data.

    ``status`` is ``ok`` (executed by this build), ``cached`` (outputs reused from
    jupyter-cache), ``failed`` or ``not executed`` (execution switched off).
    """
    unknown = {"profile": "not recorded", "profile_source": "", "hardware": "not recorded", "versions": {}}
    if not exec_data:
        return {"status": "not executed", "date": None, "runtime": None, "error": None, **unknown}
    runtime, mtime = exec_data.get("runtime"), exec_data.get("mtime") or 0.0
    base = {"date": mtime, "runtime": runtime, "error": exec_data.get("error")}
    if not exec_data.get("succeeded", False):
        return {"status": "failed", **base, **probe(packages)}
    recorded = sidecar_entry if sidecar_entry and sidecar_entry.get("runtime") == runtime else None
    if recorded is None and build_started <= mtime <= time.time() + 1:
        return {"status": "ok", **base, **probe(packages)}
    # Outputs came from jupyter-cache: describe the run that made them, when it was recorded.
    machine = {k: recorded[k] for k in (*unknown, "date") if k in recorded} if recorded else {}
    return {"status": "cached", **base, "date": _cache_time(mtime), **unknown, **machine}


def stamp_node(record: dict[str, Any]) -> nodes.admonition:
    """The 'Last execution' box shown under a notebook page's title."""
    box = nodes.admonition(classes=["note", "bookkit-execstamp"])
    box += nodes.title(text="Last execution")
    para = nodes.paragraph()
    if record["status"] == "not executed":
        para += nodes.Text("The outputs below are stored in the notebook; this build did not execute it.")
    else:
        items = [("executed", format_date(record["date"])), ("wall time", format_runtime(record["runtime"])),
                 ("profile", record["profile"] + (f" ({record['profile_source']})" if record["profile_source"]
                                                  and record["profile_source"] != "detected" else "")),
                 ("hardware", record["hardware"])]
        items += sorted(record["versions"].items())
        if record["status"] == "failed":
            items.insert(0, ("status", f"failed ({record['error'] or 'error'})"))
        for i, (label, value) in enumerate(items):
            if i:
                para += nodes.Text(" · ")
            para += nodes.strong(text=label)
            para += nodes.Text(f" {value}")
    box += para
    return box


# -- Sphinx events ---------------------------------------------------------------------------

def resolve_cache_path(app: Sphinx, config: Config) -> None:
    value = getattr(config, "nb_execution_cache_path", "")
    if value and not Path(value).is_absolute():
        out = Path(app.outdir)
        root = out.parent.parent if out.parent.name == "_build" else Path(app.srcdir)
        config.nb_execution_cache_path = str((root / value).resolve())


def sidecar_path(app: Sphinx) -> Path | None:
    cache = getattr(app.config, "nb_execution_cache_path", "")
    if getattr(app.config, "nb_execution_mode", "") != "cache" or not cache:
        return None
    return Path(cache) / SIDECAR


@dataclass
class ExecStampRun:
    """Run state: when this build started and the sidecar's records of earlier executions."""

    started: float = field(default_factory=time.time)
    sidecar: dict = field(default_factory=dict)


def start(app: Sphinx) -> None:
    state = run_state(app, ExecStampRun)
    state.started = time.time()
    out = Path(app.outdir)
    build = out.parent if out.parent.name == "_build" else out
    os.environ.setdefault(OUTCOMES_ENV, str(build / "outcomes"))
    hermetic_kernels(build / ".ipython")
    path = sidecar_path(app)
    try:
        state.sidecar = json.loads(path.read_text("utf-8")) if path and path.is_file() else {}
    except (OSError, ValueError):
        state.sidecar = {}


KERNEL_CONFIG = {"IPKernelApp": {"log_level": "ERROR"}}


def hermetic_kernels(ipython_dir: Path) -> None:
    """Points the kernels this build starts at an IPython folder of the build's own.

    Why: (1) a maintainer's ``~/.ipython`` startup files and settings must not change
    what a published page shows, so the build's kernels get a clean profile; (2) its
    kernel configuration raises ipykernel's log level to ERROR, which removes the one
    warning every kernel prints, "Kernel is running over TCP without encryption". That
    warning does not apply here: the kernels listen on 127.0.0.1 only, live only while
    the build runs, and jupyter-cache (MyST-NB's executor) offers no setting to choose
    the IPC transport instead. Kernel errors still reach the build log.
    """
    profile = ipython_dir / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    config = profile / "ipython_kernel_config.json"
    write_if_changed(config, json.dumps(KERNEL_CONFIG, indent=1) + "\n")
    os.environ["IPYTHONDIR"] = str(ipython_dir)


def name_kernel(app: Sphinx, docname: str, source: list[str]) -> None:
    # The kernel MyST-NB starts while parsing this document inherits the variable.
    os.environ[NOTEBOOK_ENV] = Path(docname).name


def stamp(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    docname = env.docname
    if "kernelspec" not in env.metadata.get(docname, {}):
        return  # not a notebook page
    settings = read(app.config, ExecStampSettings)
    exec_data = (getattr(env, "nb_metadata", {}) or {}).get(docname, {}).get("exec_data")
    state = run_state(app, ExecStampRun)
    record = make_record(exec_data, state.started, state.sidecar.get(docname), settings.execstamp_packages)
    EXECSTAMPS.set(env, docname, record)
    if not settings.execstamp_show:
        return
    section = doctree.next_node(nodes.section)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        section.insert(1, stamp_node(record))
    else:
        doctree.insert(0, stamp_node(record))


def save_sidecar(app: Sphinx, exception: Exception | None) -> None:
    """Remember which machine made each cached execution (written only when it changed)."""
    path = sidecar_path(app)
    if exception is not None or path is None or not path.parent.is_dir():
        return
    data = dict(run_state(app, ExecStampRun).sidecar)
    keys = ("date", "runtime", "profile", "profile_source", "hardware", "versions")
    for docname, record in EXECSTAMPS.of(app.env).items():
        if record["status"] == "ok":
            data[docname] = {k: record[k] for k in keys}
    write_if_changed(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("myst_nb")
    register(app, ExecStampSettings)
    enable(app)
    app.connect("config-inited", resolve_cache_path)
    app.connect("builder-inited", start)
    app.connect("source-read", name_kernel)
    app.connect("doctree-read", stamp)
    app.connect("build-finished", save_sidecar)
    return {"version": __version__, "env_version": ENV_VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
