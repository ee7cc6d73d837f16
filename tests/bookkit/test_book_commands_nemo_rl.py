"""Every NeMo RL command in the book, resolved by NeMo RL's own config loader.

With ``NEMO_RL_SRC`` naming a NeMo RL v0.7.0 checkout, each ``examples/run_*.py`` command
that refcheck's scanner finds on a page (:func:`bookkit.refcheck.scan.commands`; lines
marked ``refcheck: ignore`` and ``refcheck: off`` regions are left out, as they are for
refcheck) is loaded as the script would: the ``--config`` recipe (else the script's
default) with ``nemo_rl.utils.config.load_config``, the overrides applied with
``parse_hydra_overrides`` (Hydra's parser, the recipe in struct mode), and the result
resolved with NeMo RL's resolvers registered. What the reader fills in (``$VAR``, ``${VAR}``,
``<placeholder>``) becomes ``1`` in a value; a command whose recipe is a placeholder is
counted and left out; the launcher's ``CONTAINER=...`` words after a quoted command end it. An override NeMo RL rejects fails the test
with the page and line. ``nemo_rl/utils/config.py`` is imported from the checkout by its
path (it needs only OmegaConf and Hydra, test dependencies in pyproject.toml), so no other
part of NeMo RL is loaded.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

from bookkit.checkconfig.data import SCRIPTS
from bookkit.refcheck.pages import page_text
from bookkit.refcheck.scan import commands

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
SCRIPT_RE = re.compile(r"(?:^|/)examples/(run_\w+\.py)$")
OVERRIDE_RE = re.compile(r"^(\+{1,2}|~)?[A-Za-z_][\w\-]*(\.[\w\-@]+)*(=|$)")
STOP = {"|", "||", "&&", ";", "&", ">", ">>", "2>&1"}
#: After a quoted COMMAND="uv run ..." come the launcher's variables (CONTAINER=..., MOUNTS=...).
SHELL_VAR_RE = re.compile(r"^[A-Z][A-Z0-9_]*=")
#: What a reader fills in: shell variables ($NUM_NODES, ${CONFIG}) and <placeholders>.
FILL_IN_RE = re.compile(r"\$\{[A-Z][A-Z0-9_]*\}|\$[A-Z][A-Z0-9_]*|<[^<>\s]+>|^<")
INLINE_CODE_END_RE = re.compile(r"^`|`[.,;:)]*$")
HOW = ("set NEMO_RL_SRC to a NeMo RL v0.7.0 checkout to run it, e.g. git clone --branch v0.7.0 "
       "https://github.com/NVIDIA-NeMo/RL /tmp/nemo-rl && NEMO_RL_SRC=/tmp/nemo-rl make test")


def book_commands(book: Path = BOOK) -> list[tuple[str, int, str, str | None, list[str]]]:
    """(page, line, script, --config or None, overrides) of every NeMo RL entry-script command."""
    found = []
    for path in sorted(p for p in book.rglob("*") if p.suffix in (".md", ".ipynb") and "_build" not in p.parts):
        text, enabled, labels = page_text(path, path.read_text(encoding="utf-8"))
        if not enabled:
            continue
        for line, words in commands(text):
            script = next((i for i, w in enumerate(words) if SCRIPT_RE.search(w)), None)
            if script is None:
                continue
            config, overrides, i = None, [], script + 1
            words = [INLINE_CODE_END_RE.sub("", w) for w in words]  # `uv run ... --config x.yaml`.
            while i < len(words) and words[i] not in STOP and not SHELL_VAR_RE.match(words[i]):
                word = words[i]
                if word == "--config" and i + 1 < len(words):
                    config, i = words[i + 1], i + 2
                    continue
                if word.startswith("--config="):
                    config = word.split("=", 1)[1]
                elif OVERRIDE_RE.match(word) and ("=" in word or word.startswith("~")):
                    overrides.append(FILL_IN_RE.sub("1", word))
                i += 1
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            where = f"{shown}:{line}" + (f" [{labels[line - 1]}]" if line <= len(labels) else "")
            found.append((where, line, SCRIPT_RE.search(words[script]).group(1), config, overrides))
    return found


def _nemo_rl_config(src: Path):
    path = src / "nemo_rl" / "utils" / "config.py"
    if not path.is_file():
        pytest.fail(f"NEMO_RL_SRC={src} has no nemo_rl/utils/config.py; point it at a NeMo RL v0.7.0 checkout")
    spec = importlib.util.spec_from_file_location("nemo_rl_checkout_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_book_has_nemo_rl_commands_to_prove():
    found = book_commands()
    assert len(found) >= 20, found
    assert {s for _, _, s, _, _ in found} >= {"run_grpo.py", "run_sft.py", "run_dpo.py"}


def resolve_all(src: Path, book: Path = BOOK) -> tuple[int, list[str], list[str]]:
    """(commands resolved, commands whose recipe the reader fills in, "page:line: ..." rejections)."""
    from omegaconf import OmegaConf

    config = _nemo_rl_config(src)
    config.register_omegaconf_resolvers()
    failures, resolved, fill_in = [], 0, []
    for where, _, script, recipe, overrides in book_commands(book):
        recipe = recipe or SCRIPTS[script]
        if FILL_IN_RE.search(recipe):  # --config ${CONFIG_PATH}: the reader's own recipe
            fill_in.append(where)
            continue
        try:
            cfg = config.load_config(src / recipe.removeprefix("./"))
            cfg = config.parse_hydra_overrides(cfg, overrides)
            OmegaConf.to_container(cfg, resolve=True)
        except Exception as exc:  # noqa: BLE001 - any rejection is reported with the page
            failures.append(f"{where}: {script} --config {recipe} {' '.join(overrides)}\n    "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        resolved += 1
    return resolved, fill_in, failures


@pytest.fixture
def nemo_rl_src() -> Path:
    src = os.environ.get("NEMO_RL_SRC")
    if not src:
        pytest.skip("needs NeMo RL's own config loader: " + HOW)
    for module in ("omegaconf", "hydra"):
        pytest.importorskip(module, reason="pip install omegaconf==2.3.0 hydra-core==1.3.2 (test dependencies)")
    return Path(src)


def test_every_book_command_is_resolved_by_nemo_rl_own_loader(nemo_rl_src):
    resolved, fill_in, failures = resolve_all(nemo_rl_src)
    print(f"NeMo RL's loader resolved {resolved} book command(s); {len(fill_in)} name a recipe the reader "
          f"fills in: {', '.join(fill_in)}")
    assert not failures, f"{len(failures)} of {resolved + len(failures)} commands rejected:\n" + "\n".join(failures)
    assert resolved >= 100


def test_a_rejected_override_fails_with_page_and_line(nemo_rl_src, tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n```bash\nuv run examples/run_sft.py --config examples/configs/sft.yaml \\\n"
                    "  sft.max_num_steps=3 sft.no_such_key=1\nuv run examples/run_dpo.py dpo.max_num_steps=$STEPS\n```\n",
                    encoding="utf-8")
    resolved, fill_in, failures = resolve_all(nemo_rl_src, tmp_path)
    assert resolved == 1 and fill_in == [] and len(failures) == 1
    assert failures[0].startswith(f"{page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}:4: run_sft.py")
    assert "Could not override 'sft.no_such_key'" in failures[0]
