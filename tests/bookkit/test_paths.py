"""bookkit.content.paths: {learning-path} lists pages in order with their front matter and a total time."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bs4 import BeautifulSoup
from sphinx.application import Sphinx
from sphinx.util.console import nocolor
from sphinx.util.docutils import docutils_namespace

from bookkit.content.paths import format_minutes


def page(title: str, minutes: int | None, prereqs: list[str] | None = None, difficulty: str = "beginner") -> str:
    lines = ["---", f"description: All about {title.lower()}.", f"difficulty: {difficulty}"]
    if minutes is not None:
        lines.append(f"time_minutes: {minutes}")
    if prereqs:
        lines.append(f"prerequisites: [{', '.join(prereqs)}]")
    return "\n".join(lines + ["---", "", f"# {title}", "", "Body.", ""])


def build(tmp_path: Path, path_body: str, extra: dict[str, str] | None = None) -> tuple[str, Path]:
    src = tmp_path / "book"
    (src / "start").mkdir(parents=True)
    pages = {
        "start/install.md": page("Installation", 15),
        "start/quick.md": page("Quick start", 20, ["start/install"]),
        "deep.md": page("Deep dive", 45, ["start/install", "start/quick"], "advanced"),
        "path.md": "# My path\n\n```{learning-path}\n" + path_body + "```\n",
    }
    pages.update(extra or {})
    for name, text in pages.items():
        (src / name).write_text(text)
    (src / "conf.py").write_text("extensions = ['myst_parser', 'bookkit.content.paths']\n"
                                 "exclude_patterns = ['_build']\nshow_warning_types = True\n")
    toctree = "\n".join(n.rsplit(".", 1)[0] for n in pages)
    (src / "index.md").write_text(f"# Home\n\n```{{toctree}}\n{toctree}\n```\n")
    warnings = io.StringIO()
    nocolor()
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(src / "_build/html"), str(src / "_build/doctrees"),
                     "html", status=None, warning=warnings, freshenv=True)
        app.build()
    return warnings.getvalue(), src / "_build/html"


def steps(out: Path) -> list:
    soup = BeautifulSoup((out / "path.html").read_text(), "html.parser")
    return soup.select("ol.bookkit-path > li"), soup


def test_order_kept_metadata_shown_and_times_summed(tmp_path):
    warnings, out = build(tmp_path, "deep\nstart/install\n# a comment line\nstart/quick\n")
    assert "paths" not in warnings, warnings
    items, soup = steps(out)
    titles = [li.select_one(".bookkit-path-title a").get_text() for li in items]
    assert titles == ["Deep dive", "Installation", "Quick start"]
    links = [li.select_one(".bookkit-path-title a")["href"] for li in items]
    assert links == ["deep.html", "start/install.html", "start/quick.html"]
    first = items[0]
    assert first.select_one(".bookkit-path-description").get_text() == "All about deep dive."
    meta = first.select_one(".bookkit-path-meta")
    assert "Difficulty: advanced" in meta.get_text() and "Time: 45 min" in meta.get_text()
    assert [a.get_text() for a in meta.select("a")] == ["Installation", "Quick start"]
    total = soup.select_one(".bookkit-path-total").get_text()
    assert "1 h 20 min" in total and "3 pages" in total
    data = json.loads((out / "_bookkit" / "learning-paths.json").read_text())
    assert [s["docname"] for s in data["path"][0]["steps"]] == ["deep", "start/install", "start/quick"]
    assert data["path"][0]["total_minutes"] == 80


def test_unknown_docname_warns_with_line_and_closest_name(tmp_path):
    warnings, out = build(tmp_path, "start/install\nstart/quik\n")
    lines = [w for w in warnings.splitlines() if "[bookkit.paths]" in w]
    assert len(lines) == 1, warnings
    assert "path.md:5:" in lines[0] and "'start/quik'" in lines[0]
    assert "did you mean 'start/quick'?" in lines[0]
    items, soup = steps(out)
    assert len(items) == 2 and items[1].get_text().strip() == "start/quik"  # shown, not dropped
    assert "15 min" in soup.select_one(".bookkit-path-total").get_text()


def test_page_without_time_is_counted_as_unestimated(tmp_path):
    warnings, out = build(tmp_path, "start/install\nnotime\n", {"notime.md": page("No time", None)})
    assert "paths" not in warnings, warnings
    _, soup = steps(out)
    total = soup.select_one(".bookkit-path-total").get_text()
    assert "15 min" in total and "1 without an estimate" in total


def test_format_minutes():
    assert format_minutes(40) == "40 min"
    assert format_minutes(60) == "1 h"
    assert format_minutes(95) == "1 h 35 min"


def test_json_written_only_when_changed(tmp_path):
    from types import SimpleNamespace

    from bookkit.content.paths import PATHS, PathsSettings, write_json
    from bookkit.core.settings import PREFIX

    config = SimpleNamespace(**{PREFIX + "paths_json": "_bookkit/learning-paths.json",
                                PREFIX + "paths_show_prerequisites": True})
    env = SimpleNamespace(domaindata={"bookkit": {}})  # the bookkit domain's data, as Sphinx keeps it
    PATHS.set(env, "p", [{"steps": [], "total_minutes": 0}])
    app = SimpleNamespace(config=config, env=env, outdir=str(tmp_path), builder=SimpleNamespace(format="html"))
    write_json(app, None)
    out = tmp_path / "_bookkit" / "learning-paths.json"
    first = out.stat().st_mtime_ns
    write_json(app, None)
    assert out.stat().st_mtime_ns == first  # unchanged content: file untouched
    PATHS.get(env, "p")[0]["total_minutes"] = 5
    write_json(app, None)
    assert json.loads(out.read_text())["p"][0]["total_minutes"] == 5
    assert PathsSettings().paths_json == "_bookkit/learning-paths.json"
