"""bookkit.execution.execstamp and bookkit.execution.execstatus: the stamp on notebook pages and the status table.

Fast tests check the record logic; the slow ones build a tiny Jupyter Book twice
with the documented strict command: once executing its notebooks, once from the
jupyter-cache only, where the stamp must still describe the run that made the outputs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
import time
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from bookkit.execution import execstamp

PACKAGES = ["torch", "transformers", "rl_lab"]


# -- fast: records ------------------------------------------------------------------------------

def exec_data(mtime: float, runtime: float = 3.25, succeeded: bool = True, error: str | None = None) -> dict:
    return {"mtime": mtime, "runtime": runtime, "method": "cache", "succeeded": succeeded,
            "error": error, "traceback": None}


def test_not_executed_page_says_so():
    rec = execstamp.make_record(None, time.time(), None, PACKAGES)
    assert rec["status"] == "not executed"
    text = execstamp.stamp_node(rec).astext()
    assert "did not execute it" in text


def test_executed_in_this_build_is_ok_and_probes_the_machine(monkeypatch):
    monkeypatch.setenv("RL_LAB_PROFILE", "smoke")
    started = time.time() - 5
    rec = execstamp.make_record(exec_data(time.time()), started, None, PACKAGES)
    assert rec["status"] == "ok" and rec["profile"] == "smoke" and rec["profile_source"] == "RL_LAB_PROFILE"
    assert rec["hardware"] == (execstamp.gpu_name() or execstamp.cpu_name())
    assert rec["versions"]["torch"] == metadata.version("torch").split("+")[0]
    text = execstamp.stamp_node(rec).astext()
    for part in ("Last execution", "wall time 3.2 s", "profile smoke (RL_LAB_PROFILE)",
                 f"hardware {rec['hardware']}", f"torch {rec['versions']['torch']}", "rl_lab "):
        assert part in text, (part, text)


def test_cached_outputs_keep_the_machine_that_made_them(monkeypatch):
    monkeypatch.setenv("RL_LAB_PROFILE", "full")  # the rebuilding machine differs from the recording one
    recorded = {"runtime": 3.25, "date": 1700000000.0, "profile": "smoke", "profile_source": "detected",
                "hardware": "Some CPU", "versions": {"torch": "1.0"}}
    rec = execstamp.make_record(exec_data(1700000000.5), time.time(), recorded, PACKAGES)
    assert rec["status"] == "cached"
    assert (rec["profile"], rec["hardware"], rec["versions"], rec["date"]) == \
        ("smoke", "Some CPU", {"torch": "1.0"}, 1700000000.0)


def test_cached_outputs_without_a_record_are_marked_not_recorded():
    other_run = {"runtime": 9.0, "profile": "smoke", "hardware": "X", "versions": {}}
    rec = execstamp.make_record(exec_data(1700000000.0), time.time(), other_run, PACKAGES)
    assert rec["status"] == "cached" and rec["hardware"] == "not recorded"
    assert "hardware not recorded" in execstamp.stamp_node(rec).astext()


def test_failed_execution_is_shown_as_failed():
    rec = execstamp.make_record(exec_data(time.time(), succeeded=False, error="CellExecutionError"),
                                time.time() - 5, None, PACKAGES)
    assert rec["status"] == "failed"
    assert "failed (CellExecutionError)" in execstamp.stamp_node(rec).astext()


def test_probe_detects_the_profile_and_reports_missing_packages():
    rec = execstamp.probe(["torch", "no_such_package_here"], environ={})
    assert rec["profile"] == ("full" if execstamp.gpu_name() else "smoke") and rec["profile_source"] == "detected"
    assert rec["versions"]["no_such_package_here"] == "not installed"
    assert execstamp.package_version("rl_lab") == metadata.version("nemo-rl-book")


def test_runtime_and_date_formats():
    assert execstamp.format_runtime(4.26) == "4.3 s"
    assert execstamp.format_runtime(125.4) == "2 min 05 s"
    assert execstamp.format_runtime(None) == "unknown"
    assert execstamp.format_date(0) == "unknown"
    assert execstamp.format_date(1700000000) == "2023-11-14 22:13 UTC"


def test_relative_cache_path_is_put_beside_the_build_output(tmp_path):
    app = SimpleNamespace(outdir=str(tmp_path / "out" / "_build" / "html"), srcdir=str(tmp_path / "book"))
    config = SimpleNamespace(nb_execution_cache_path="_build/.jupyter_cache")
    execstamp.resolve_cache_path(app, config)
    assert config.nb_execution_cache_path == str(tmp_path / "out" / "_build" / ".jupyter_cache")


# -- slow: real builds --------------------------------------------------------------------------

def notebook(path: Path, title: str, *code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}")] + [nbformat.v4.new_code_cell(c) for c in code]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def make_book(root: Path, notebooks: dict[str, tuple[str, ...]]) -> Path:
    root.mkdir(parents=True)
    (root / "_config.yml").write_text(textwrap.dedent("""\
        title: Tiny
        only_build_toc_files: true
        execute:
          execute_notebooks: cache
          cache: _build/.jupyter_cache
        sphinx:
          extra_extensions: [bookkit.execution.execstatus]
          config:
            nitpicky: true
            html_theme_options:
              repository_provider: github
        """))
    toc = "".join(f"  - file: notebooks/{name}\n" for name in notebooks)
    (root / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n" + toc)
    (root / "index.md").write_text("# Status\n\n```{execution-status}\n```\n")
    for name, code in notebooks.items():
        notebook(root / "notebooks" / f"{name}.ipynb", name.title(), *code)
    return root


def build(root: Path, cwd: Path, strict: bool = True, **env: str) -> subprocess.CompletedProcess:
    import os
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RL_LAB_")}
    environ.update(OMP_NUM_THREADS="1", **env)
    exe = Path(sys.executable).with_name("jupyter-book")
    cwd.mkdir(parents=True, exist_ok=True)
    args = [str(exe), "build", str(root)] + (["-W", "-n", "--keep-going"] if strict else [])
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=cwd, env=environ)


def text_of(html: str, cls: str) -> str:
    m = re.search(rf'<(div|table) class="[^"]*{cls}[^"]*".*?</\1>', html, re.S)
    assert m, f"no element with class {cls}"
    return " ".join(re.sub(r"<[^>]+>", " ", m.group(0)).split())


def status_rows(index_html: str) -> dict[str, str]:
    table = re.search(r'<table class="[^"]*bookkit-execution-status.*?</table>', index_html, re.S).group(0)
    rows = {}
    for row in re.findall(r"<tr.*?</tr>", table, re.S)[1:]:
        cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td.*?</td>", row, re.S)]
        rows[cells[0]] = " | ".join(cells[1:])
    return rows


ALPHA = ("from rl_lab.outcomes import record_outcomes\n"
         "record_outcomes({'final_accuracy': 0.75})\nprint('trained')",)
BETA = ("print(6 * 7)",)


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("execstamp")
    root = make_book(tmp / "book", {"alpha": ALPHA, "beta": BETA})
    elsewhere = tmp / "elsewhere"  # a cwd-relative cache would land here
    first = build(root, elsewhere, RL_LAB_PROFILE="smoke")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    html = root / "_build" / "html"
    snapshot = {p: (html / p).read_text() for p in ("index.html", "notebooks/alpha.html")}
    shutil.rmtree(html)
    shutil.rmtree(root / "_build" / ".doctrees")
    second = build(root, elsewhere, RL_LAB_PROFILE="full")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    return SimpleNamespace(root=root, elsewhere=elsewhere, first=snapshot, second_log=second.stdout,
                           second={p: (html / p).read_text() for p in snapshot})


@pytest.mark.slow
def test_notebook_page_shows_its_execution_stamp(two_builds):
    stamp = text_of(two_builds.first["notebooks/alpha.html"], "bookkit-execstamp")
    hardware = execstamp.gpu_name() or execstamp.cpu_name()
    for part in ("Last execution", "executed 20", "wall time", "profile smoke (RL_LAB_PROFILE)",
                 f"hardware {hardware}", f"torch {metadata.version('torch').split('+')[0]}",
                 f"transformers {metadata.version('transformers')}", f"rl_lab {metadata.version('nemo-rl-book')}"):
        assert part in stamp, (part, stamp)
    page = two_builds.first["notebooks/alpha.html"]
    assert page.index("bookkit-execstamp") < page.index("trained"), "the stamp sits under the title"


@pytest.mark.slow
def test_status_table_lists_every_notebook_as_executed(two_builds):
    rows = status_rows(two_builds.first["index.html"])
    assert set(rows) == {"Alpha", "Beta"}, "one row per notebook, named by its title"
    for row in rows.values():
        assert row.startswith("ok | smoke | ") and " s | " in row and "UTC" in row, row
    assert 'href="notebooks/alpha.html"' in two_builds.first["index.html"]


@pytest.mark.slow
def test_rebuild_from_cache_keeps_the_original_stamp_and_says_cached(two_builds):
    assert "Using cached notebook" in two_builds.second_log
    before = text_of(two_builds.first["notebooks/alpha.html"], "bookkit-execstamp")
    after = text_of(two_builds.second["notebooks/alpha.html"], "bookkit-execstamp")
    assert after == before, "a page rebuilt from the cache must describe the run that made its outputs"
    rows = status_rows(two_builds.second["index.html"])
    assert all(row.startswith("cached | smoke | ") for row in rows.values()), rows


@pytest.mark.slow
def test_cache_sidecar_and_outcomes_sit_beside_the_build_output(two_builds):
    build_dir = two_builds.root / "_build"
    sidecar = json.loads((build_dir / ".jupyter_cache" / execstamp.SIDECAR).read_text())
    assert set(sidecar) == {"notebooks/alpha", "notebooks/beta"}
    assert sidecar["notebooks/alpha"]["profile"] == "smoke"
    assert not (two_builds.elsewhere / "_build").exists(), "the cache must not follow the current directory"
    outcome = json.loads((build_dir / "outcomes" / "alpha.json").read_text())
    assert outcome == {"notebook": "alpha", "profile": "smoke", "outcomes": {"final_accuracy": 0.75}}


@pytest.mark.slow
def test_failed_notebook_is_reported_as_failed(tmp_path):
    root = make_book(tmp_path / "book", {"broken": ("1 / 0",)})
    (root / "_config.yml").write_text((root / "_config.yml").read_text().replace(
        "cache: _build/.jupyter_cache", "cache: _build/.jupyter_cache\n  raise_on_error: false"))
    result = build(root, tmp_path, strict=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = status_rows((root / "_build" / "html" / "index.html").read_text())
    assert rows["Broken"].startswith("failed (CellExecutionError) | "), rows
    assert "failed (CellExecutionError)" in text_of(
        (root / "_build" / "html" / "notebooks" / "broken.html").read_text(), "bookkit-execstamp")
