"""bookkit.checkconfig.page: the {config-check} form, its data and its JavaScript, served by the site."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bookkit.checkconfig.page import SCRIPTS, SITE_DIR

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"
needs_npm = pytest.mark.skipif(not (NODE_MODULES / "yaml" / "browser" / "dist" / "index.js").is_file(),
                               reason=f"{NODE_MODULES}/yaml is missing: run `npm ci` in the repository root")


def _manifest(tag: str, keys: list[str]) -> dict:
    return {"tag": tag, "configs": {"examples/configs/sft.yaml": keys},
            "config_defaults": {"examples/configs/sft.yaml": {"sft.max_num_steps": 10}}, "modules": {}, "examples": []}


def make_project(root: Path, node_modules: Path) -> Path:
    (root / "_data" / "nemo_rl").mkdir(parents=True)
    for tag, keys in (("v0.6.0", ["sft", "sft.max_num_steps", "sft.old"]), ("v0.7.0", ["sft", "sft.max_num_steps"])):
        (root / "_data" / "nemo_rl" / f"{tag}.json").write_text(json.dumps(_manifest(tag, keys)))
    (root / "conf.py").write_text(textwrap.dedent(f"""\
        extensions = ["myst_parser", "bookkit.checkconfig.page"]
        bookkit_node_modules = {str(node_modules)!r}
        """))
    (root / "index.md").write_text("# Home\n\n```{toctree}\ncheck\nplain\n```\n")
    (root / "check.md").write_text("# Check\n\n```{config-check}\ndefaults: sft.yaml\nsft:\n  max_num_steps: 3\n```\n")
    (root / "plain.md").write_text("# Plain\n\nNo form here.\n")
    return root


def build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(root), str(root / "_build")],
                          capture_output=True, text=True, timeout=300)


@needs_npm
def test_form_page_gets_data_parser_and_scripts_only_where_used(tmp_path):
    root = make_project(tmp_path / "p", NODE_MODULES)
    proc = build(root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = root / "_build"
    page, plain = (out / "check.html").read_text(), (out / "plain.html").read_text()
    assert 'data-bookkit-checkconfig=""' in page and "defaults: sft.yaml\nsft:\n  max_num_steps: 3</textarea>" in page
    for name in SCRIPTS:
        assert f"_static/{name}" in page and name not in plain
    assert '"data": "_bookkit/checkconfig.json"' in page and f'"yaml": "_static/{SITE_DIR}/yaml/index.js"' in page
    assert (out / "_static" / SITE_DIR / "yaml" / "index.js").is_file()
    assert (out / "_static" / SITE_DIR / "yaml" / "LICENSE").is_file()
    data = json.loads((out / "_bookkit" / "checkconfig.json").read_text())
    assert data["releases"] == ["v0.6.0", "v0.7.0"] and data["current"] == "v0.7.0" and "sft.old" in data["keys"]
    written = (out / "_bookkit" / "checkconfig.json").stat().st_mtime_ns
    (root / "plain.md").write_text("# Plain\n\nEdited.\n")
    assert build(root).returncode == 0
    assert (out / "_bookkit" / "checkconfig.json").stat().st_mtime_ns == written  # same manifests: not rewritten


def test_form_page_without_node_modules_fails_with_the_fix(tmp_path):
    root = make_project(tmp_path / "p", tmp_path / "no_node_modules")
    proc = build(root)
    assert proc.returncode != 0
    assert "check.md checks configs" in proc.stderr and "Run `npm ci`" in proc.stderr and "Traceback" not in proc.stderr
