"""bookkit's layout: subpackages by concern, dependencies flowing one way, contracts instead of globals.

The layers (src/bookkit/README.md draws them): ``core`` at the bottom; ``text`` and ``nemorl``
on it; the extensions of the book's content (``content``, ``gating``, ``refcheck``, ``apidocs``,
``execution``, ``checkconfig``) on those; ``outputs`` and ``site`` above; ``cli`` on top. A module
may import its own subpackage and any lower layer, never a subpackage of its own layer or above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bookkit
from bookkit.core.settings import VALIDATE_PRIORITY

SRC = Path(bookkit.__file__).parent
LAYERS = {
    "core": 0,
    "text": 1, "nemorl": 1,
    "content": 2, "gating": 2, "refcheck": 2, "apidocs": 2, "execution": 2, "checkconfig": 2,
    "outputs": 3, "site": 3,
    "cli": 4,
}


def _targets(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every bookkit module a file imports or loads as an extension."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bookkit":
                found += [(node.lineno, f"bookkit.{a.name}") for a in node.names]
            elif node.module.startswith("bookkit."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("bookkit.")]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "setup_extension" and node.args and isinstance(node.args[0], ast.Constant)
              and str(node.args[0].value).startswith("bookkit.")):
            found.append((node.lineno, node.args[0].value))
    return found


def upward_imports(package: str, path: str, source: str) -> list[str]:
    """Every import in ``source`` (a module of ``package``) that runs against the layers."""
    problems = []
    for line, name in _targets(ast.parse(source, path)):
        target = name.split(".")[1]
        if target not in LAYERS or target == package:
            continue  # bookkit.__version__, or the module's own subpackage
        if LAYERS[target] >= LAYERS[package]:
            problems.append(f"{path}:{line}: bookkit.{package} (layer {LAYERS[package]}) imports {name} "
                            f"(layer {LAYERS[target]}); move the shared piece down (into bookkit.core) "
                            "or talk through an event of bookkit.core.events")
    return problems


def test_every_module_sits_in_a_subpackage_of_a_known_layer():
    loose = [p.name for p in SRC.glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"modules outside the subpackages: {loose}; put each in the subpackage of its concern"
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(LAYERS), f"subpackages without a layer (add them to LAYERS and the README): " \
                                    f"{sorted(packages ^ set(LAYERS))}"


def test_dependencies_flow_one_way():
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if len(rel.parts) < 2:
            continue
        problems += upward_imports(rel.parts[0], f"src/bookkit/{rel.as_posix()}", path.read_text(encoding="utf-8"))
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_an_upward_import_is_named_with_file_and_line():
    source = "from bookkit import __version__\nfrom bookkit.core.io import dumps\n\nfrom bookkit.outputs import llms\n"
    assert upward_imports("cli", "src/bookkit/cli/x.py", source) == []  # cli may use every layer
    problems = upward_imports("content", "src/bookkit/content/x.py", source + "import bookkit.gating.blocks\n")
    assert [p.split(": ")[0] for p in problems] == ["src/bookkit/content/x.py:4", "src/bookkit/content/x.py:5"]
    assert "imports bookkit.outputs" in problems[0] and "imports bookkit.gating.blocks" in problems[1]


def test_files_stay_small():
    big = {p.relative_to(SRC).as_posix(): n for p in SRC.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 320}
    assert not big, f"split these by concern (about 300 lines at most): {big}"


VALUES = {"VALIDATE_PRIORITY": VALIDATE_PRIORITY}  # priorities given by name


def _listeners(event: str) -> list[tuple[str, int, int]]:
    """``(file, line, priority)`` of every ``app.connect(event, ...)`` in bookkit."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect"
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == event):
                given = next((k.value for k in node.keywords if k.arg == "priority"), ast.Constant(500))
                priority = given.value if isinstance(given, ast.Constant) else VALUES[given.id]
                found.append((path.relative_to(SRC).as_posix(), node.lineno, priority))
    return found


def test_settings_are_validated_before_any_bookkit_listener_reads_them():
    listeners = _listeners("config-inited")
    validation = [entry for entry in listeners if entry[0] == "core/settings.py"]
    assert [p for _, _, p in validation] == [VALIDATE_PRIORITY]
    early = [f"src/bookkit/{f}:{line} (priority {p})" for f, line, p in listeners
             if f != "core/settings.py" and p <= VALIDATE_PRIORITY]
    assert not early, f"config-inited listeners that run before the settings are validated: {early}"


def test_no_extension_keeps_state_on_the_app_or_environment_or_in_module_globals():
    hidden = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for needle in ("app.bookkit_", "env.bookkit_", "app._bookkit", "CARD_FILTERS"):
            for n, line in enumerate(text.splitlines(), 1):
                if needle in line:
                    hidden.append(f"src/bookkit/{path.relative_to(SRC).as_posix()}:{n}: {line.strip()}")
    assert not hidden, ("use bookkit.core.store (DocStore, run_state) or an event of bookkit.core.events:\n"
                        + "\n".join(hidden))


def test_store_clears_and_merges_per_document():
    from types import SimpleNamespace

    from bookkit.core.store import BookkitDomain

    env = SimpleNamespace(domaindata={})
    domain = BookkitDomain(env)
    domain.store("paths").update({"a": 1, "b": 2})
    domain.data["env"] = {"digest": "x"}
    domain.clear_doc("a")
    assert domain.store("paths") == {"b": 2} and domain.data["env"] == {"digest": "x"}  # build-wide kept
    domain.merge_domaindata({"c"}, {"paths": {"c": 3, "d": 4}, "env": {"digest": "y"}, "version": 1})
    assert domain.store("paths") == {"b": 2, "c": 3} and domain.data["env"] == {"digest": "x"}


def test_run_state_is_per_application():
    from dataclasses import dataclass

    from bookkit.core.store import run_state

    @dataclass
    class Counter:
        n: int = 0

    class App:  # any object stands in for a Sphinx application
        pass

    first, second = App(), App()
    run_state(first, Counter).n += 1
    assert run_state(first, Counter).n == 1 and run_state(second, Counter).n == 0


@pytest.mark.parametrize("name,candidates,cutoff,expected", [
    ("num_generatons", ["num_generations", "num_prompts"], 0.6, "num_generations"),
    ("zzz", ["num_generations"], 0.6, None),
    ("ab", ["ac", "ad"], 0.0, "ac"),  # a tie goes to the smallest name
])
def test_one_suggestion_helper(name, candidates, cutoff, expected):
    from bookkit.core.suggest import closest
    assert closest(name, candidates, cutoff) == expected
