"""Import NeMo RL's own modules from a checkout named by ``NEMO_RL_SRC``, for differential tests.

The tests that prove rl_lab equal to NeMo RL call NeMo RL's real code, never a copy
of it. NeMo RL's packages import its whole runtime at import time; the functions
compared here (losses, ``masked_mean``, ``calculate_kl``, advantage estimators)
need none of it. So, while the modules are imported, and only for what this
environment lacks:

* third-party packages that NeMo RL needs for GPUs and its command line, not for
  the math (:data:`ABSENT_PACKAGES`, e.g. ``pynvml`` for CUDA, ``hydra``), become
  empty placeholder modules, and only when they are not installed;
* two NeMo RL modules that are imported for a type name only are replaced by
  that name (:data:`TYPE_ONLY_MODULES`): ``nemo_rl.models.policy`` (whose import
  patches transformers and asserts a release older than the book's pin) and
  ``nemo_rl.utils.logger`` (which imports Weights & Biases, MLflow, SwanLab and
  TensorBoard).

Afterwards the placeholders are removed again; the imported NeMo RL modules keep
working because the compared functions never touch them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import types
from pathlib import Path

import pytest

RELEASE = "0.7.0"
ABSENT_PACKAGES = ("ray", "pynvml", "hydra", "uvicorn", "fastapi", "vllm", "wandb", "mlflow", "swanlab")
TYPE_ONLY_MODULES = {"nemo_rl.models.policy": {"TokenizerConfig": dict}, "nemo_rl.utils.logger": {"Logger": object}}
HOW = ("set NEMO_RL_SRC to a NeMo RL v0.7.0 checkout to run it, e.g. "
       "git clone --branch v0.7.0 https://github.com/NVIDIA-NeMo/RL /tmp/nemo-rl && NEMO_RL_SRC=/tmp/nemo-rl make test")


class _Placeholder(types.ModuleType):
    """A module whose every attribute is a fresh empty class (decorators return what they wrap)."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {"__call__": lambda self, *a, **k: a[0] if len(a) == 1 and callable(a[0]) else self})


class _PlaceholderFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, name, path, target=None):
        return importlib.machinery.ModuleSpec(name, self, is_package=True) if name.split(".")[0] in self.names else None

    def create_module(self, spec):
        module = _Placeholder(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module) -> None:
        pass


def checkout(purpose: str = "compares rl_lab with NeMo RL's own code") -> Path:
    """The NeMo RL checkout, or a pytest skip that says what needs it and how to get one."""
    src = os.environ.get("NEMO_RL_SRC")
    if not src:
        pytest.skip(f"{purpose}: {HOW}")
    root = Path(src)
    info = root / "nemo_rl" / "package_info.py"
    if not info.is_file():
        pytest.fail(f"NEMO_RL_SRC={src} has no nemo_rl/package_info.py; point it at a NeMo RL checkout")
    parts = {k: v for k, v in re.findall(r"^(MAJOR|MINOR|PATCH)\s*=\s*(\d+)", info.read_text(), re.M)}
    found = ".".join(parts.get(k, "?") for k in ("MAJOR", "MINOR", "PATCH"))
    if found != RELEASE:
        pytest.fail(f"NEMO_RL_SRC={src} is NeMo RL {found}; these tests prove rl_lab equal to v{RELEASE}")
    return root


def import_nemo_rl(*names: str) -> list[types.ModuleType]:
    """Imports NeMo RL modules (e.g. ``nemo_rl.algorithms.utils``) from the checkout."""
    root = checkout()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    os.environ.setdefault("NO_VCS_VERSION", "1")  # package_info would otherwise run git
    absent = {n for n in ABSENT_PACKAGES if n not in sys.modules and importlib.util.find_spec(n) is None}
    finder = _PlaceholderFinder(absent)
    replaced = {}
    for name, attrs in TYPE_ONLY_MODULES.items():
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__dict__.update(attrs)
            replaced[name] = sys.modules[name] = module
    sys.meta_path.append(finder)
    try:
        return [importlib.import_module(n) for n in names]
    finally:
        sys.meta_path.remove(finder)
        for name in [m for m in sys.modules if m.split(".")[0] in absent]:
            del sys.modules[name]
