"""Every public rl_lab object has a docstring, and its Google sections are well formed.

The API Reference renders rl_lab from its docstrings (bookkit.apidocs), so an object
without one would appear as a bare signature. The check reads the source with ``ast``:
no torch import is needed. Public means: a module, class, function or method defined
in rl_lab whose name (and every enclosing name) does not start with an underscore;
dunder methods are exempt, the class docstring documents them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bookkit.apidocs.docstrings import google_to_myst

SRC = Path(__file__).resolve().parents[2] / "src" / "rl_lab"
MODULES = sorted(SRC.rglob("*.py"))


def _public(name: str) -> bool:
    return not name.startswith("_")


def undocumented(path: Path, root: Path = SRC) -> list[str]:
    """``file:line name`` of each public object in ``path`` (under package ``root``) without a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = path.relative_to(root.parent).as_posix()
    missing = []
    module_name = path.stem
    if (module_name == "__init__" or _public(module_name)) and not ast.get_docstring(tree):
        missing.append(f"{rel}:1 module")

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _public(node.name):
                if not ast.get_docstring(node):
                    missing.append(f"{rel}:{node.lineno} {prefix}{node.name}")
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}.")

    if module_name == "__init__" or _public(module_name):
        visit(tree.body, "")
    return missing


def test_rl_lab_sources_exist():
    assert MODULES, f"no Python files under {SRC}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(SRC).as_posix())
def test_every_public_object_has_a_docstring(path: Path):
    missing = undocumented(path)
    assert not missing, "public rl_lab objects without a docstring (add one; Google style):\n" + "\n".join(missing)


def test_the_check_catches_a_missing_docstring(tmp_path: Path):
    pkg = tmp_path / "rl_lab"
    pkg.mkdir()
    (pkg / "mod.py").write_text('"""Doc."""\n\ndef f():\n    pass\n\nclass C:\n    """Doc."""\n\n'
                                '    def m(self):\n        pass\n\n    def _p(self):\n        pass\n')
    assert undocumented(pkg / "mod.py", pkg) == ["rl_lab/mod.py:3 f", "rl_lab/mod.py:9 C.m"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(SRC).as_posix())
def test_google_args_sections_parse(path: Path):
    """An ``Args:`` section whose entries are not ``name (type): text`` renders as plain text."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node) or ""
            text = google_to_myst(doc)
            if ":Args:" in text or ":Parameters:" in text:
                bad.append(f"{path.relative_to(SRC.parent).as_posix()}:{node.lineno} {node.name}")
    assert not bad, ("Args sections that are not a list of 'name (type): description' entries "
                     "(indent continuation lines under the entry):\n" + "\n".join(bad))
