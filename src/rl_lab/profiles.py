"""Run profiles: ``smoke`` (CPU, tiny, seconds) and ``full`` (CUDA, bf16, bigger).

The profile is picked from the hardware (CUDA available means ``full``) and can
be forced with the environment variable ``RL_LAB_PROFILE=smoke|full``. A profile
only adds config overrides (model size, precision) before the user's own, so
every recipe runs under both.

The ``full`` profile may also set ``policy.model_name`` to any Hugging Face
model id (for example ``policy.model_name=Qwen/Qwen2.5-0.5B``) for readers
with internet access; rl_lab then loads that model and its tokenizer with
``transformers``. That path is documented, not tested: the book never
downloads anything.

Examples:
    >>> get_profile("smoke").device
    'cpu'
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import torch

PROFILE_ENV = "RL_LAB_PROFILE"
THREADS_ENV = "RL_LAB_THREADS"
SEED_OFFSET_ENV = "RL_LAB_SEED_OFFSET"


@dataclass(frozen=True)
class Profile:
    """A named bundle of device, dtype and config overrides.

    Attributes:
        name: ``smoke`` or ``full``.
        device: Torch device string.
        dtype: Name of the training dtype (written to ``policy.precision``).
        model_overrides: ``rl_lab.model.*`` overrides for a larger model.

    Examples:
        >>> get_profile("full").dtype
        'bfloat16'
    """

    name: str
    device: str
    dtype: str
    model_overrides: tuple[str, ...] = ()

    def overrides_for(self, recipe_cls: type) -> list[str]:
        """Config overrides this profile applies to a recipe class.

        Args:
            recipe_cls: The recipe dataclass (precision only exists under ``policy``).

        Returns:
            Dotted ``key=value`` strings.

        Examples:
            >>> from rl_lab.config import SFTRecipe
            >>> get_profile("smoke").overrides_for(SFTRecipe)
            []
        """
        out = list(self.model_overrides)
        if self.name != "smoke" and "policy" in getattr(recipe_cls, "__dataclass_fields__", {}):
            out.append(f"policy.precision={self.dtype}")
        return out


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", "cpu", "float32"),
    "full": Profile(
        "full",
        "cuda",
        "bfloat16",
        (
            "rl_lab.model.hidden_size=512",
            "rl_lab.model.num_layers=8",
            "rl_lab.model.num_heads=8",
            "rl_lab.model.intermediate_size=2048",
        ),
    ),
}


def resolve_profile(name: str | None = None) -> str:
    """Chooses the profile name: argument, else ``RL_LAB_PROFILE``, else hardware.

    Args:
        name: Explicit profile name or None.

    Returns:
        ``"smoke"`` or ``"full"``.

    Raises:
        ValueError: If the name (or the environment variable) is not a profile.

    Examples:
        >>> resolve_profile("smoke")
        'smoke'
    """
    chosen = name or os.environ.get(PROFILE_ENV) or ("full" if torch.cuda.is_available() else "smoke")
    if chosen not in PROFILES:
        source = "argument" if name else f"environment variable {PROFILE_ENV}"
        raise ValueError(f"unknown rl_lab profile {chosen!r} (from {source}); choose one of {sorted(PROFILES)}")
    return chosen


def get_profile(name: str | None = None) -> Profile:
    """Returns the :class:`Profile` chosen by :func:`resolve_profile`.

    Args:
        name: Explicit profile name or None.

    Returns:
        The profile.

    Raises:
        ValueError: For an unknown profile name.

    Examples:
        >>> get_profile("smoke").name
        'smoke'
    """
    return PROFILES[resolve_profile(name)]


def configure_threads() -> int:
    """Sets torch's CPU thread count on purpose and returns it.

    Why: the tiny models in this book do very little work per operation, so
    extra threads mostly spin and fight each other. On a shared 2-core machine
    two threads were about 20x slower than one. rl_lab therefore uses 1 thread
    unless ``RL_LAB_THREADS`` says otherwise, and sets ``OMP_WAIT_POLICY=PASSIVE``
    (if unset) so idle OpenMP threads sleep instead of busy-waiting. OpenMP reads
    that variable when its runtime starts, so it is best exported before Python
    starts (the book's runners do); setting it here still covers worker
    processes started later.

    Returns:
        The number of torch threads now in use.

    Raises:
        ValueError: If ``RL_LAB_THREADS`` is not a positive integer.

    Examples:
        >>> configure_threads() >= 1
        True
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    raw = os.environ.get(THREADS_ENV, "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {raw!r}")
    torch.set_num_threads(int(raw))
    return torch.get_num_threads()


def seed_offset() -> int:
    """The integer in ``RL_LAB_SEED_OFFSET`` (0 when unset), added to every recipe's training seed.

    Returns:
        The offset.

    Raises:
        ValueError: If the variable is set but not an integer.

    Examples:
        >>> import os, unittest.mock
        >>> with unittest.mock.patch.dict(os.environ, {"RL_LAB_SEED_OFFSET": "1"}):
        ...     seed_offset()
        1
    """
    raw = os.environ.get(SEED_OFFSET_ENV, "").strip() or "0"
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{SEED_OFFSET_ENV} must be an integer, got {raw!r}") from None


def _cpu_name() -> str:
    """Best-effort CPU model name."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_run(profile: str | None = None, echo: bool = True) -> str:
    """One line describing profile, device, torch version and threads.

    Args:
        profile: Profile name or None to resolve it.
        echo: Also print the line.

    Returns:
        For example ``"rl_lab profile=smoke device=cpu (Intel Xeon ...) torch=2.13.0 threads=1
        kernels=AVX2"`` (``kernels`` on the CPU: the vector instructions torch uses; a
        ``seed_offset`` when ``RL_LAB_SEED_OFFSET`` is set).

    Examples:
        >>> describe_run("smoke", echo=False).startswith("rl_lab profile=smoke device=cpu")
        True
    """
    prof = get_profile(profile)
    if prof.device == "cuda" and torch.cuda.is_available():
        hw = torch.cuda.get_device_name(0)
    else:
        hw = _cpu_name()
    line = (
        f"rl_lab profile={prof.name} device={prof.device} ({hw}) "
        f"torch={torch.__version__.split('+')[0]} threads={torch.get_num_threads()}"
    )
    if prof.device == "cpu":
        line += f" kernels={torch.backends.cpu.get_cpu_capability()}"
    if seed_offset():
        line += f" seed_offset={seed_offset()}"
    if echo:
        print(line)
    return line
