"""Shared fixtures for rl_lab tests: offline Hub, one thread, a per-session cache dir."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("RL_LAB_PROFILE", "smoke")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def rl_lab_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Points ``RL_LAB_CACHE`` at a session temp dir unless the caller set one."""
    if "RL_LAB_CACHE" not in os.environ:
        os.environ["RL_LAB_CACHE"] = str(tmp_path_factory.mktemp("rl_lab_cache"))
    return os.environ["RL_LAB_CACHE"]


def pytest_terminal_summary(terminalreporter):
    """After a run with NEMO_RL_SRC: how many values were compared with NeMo RL and the largest difference."""
    import sys

    common = sys.modules.get("parity_common")
    if common is None or not common.TALLY:
        return
    terminalreporter.section("rl_lab vs NeMo RL")
    for tol, row in sorted(common.TALLY.items(), reverse=True):
        terminalreporter.write_line(
            f"tolerance {tol:g}: {row['comparisons']} comparisons, {row['values']} values, "
            f"largest |difference| {row['largest']:.3g}")
