"""Command line: ``python -m rl_lab.train <recipe> [key=value ...]``.

Overrides use NeMo RL's dotted syntax, for example::

    python -m rl_lab.train grpo_math grpo.max_num_steps=5 loss_fn.ratio_clip_c=3

Examples:
    ``--list`` prints the shipped recipes, one per line, and returns 0:

    >>> import contextlib, io
    >>> printed = io.StringIO()
    >>> with contextlib.redirect_stdout(printed):
    ...     status = main(["--list"])
    >>> status, {"sft_addition", "dpo_addition", "grpo_math"} <= set(printed.getvalue().split())
    (0, True)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rl_lab.config import ConfigError, list_recipes, load_recipe
from rl_lab.profiles import configure_threads, describe_run
from rl_lab.run import evaluate_recipe, train


def _run_training(cfg: Any, progress: bool) -> dict[str, float]:
    return train(cfg, progress=progress).final_metrics


def _run_eval(cfg: Any, progress: bool) -> dict[str, float]:
    return evaluate_recipe(cfg)


RUNNERS: dict[str, Callable[[Any, bool], dict[str, float]]] = {
    "sft": _run_training,
    "dpo": _run_training,
    "grpo": _run_training,
    "distillation": _run_training,
    "rm": _run_training,
    "eval": _run_eval,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parses arguments, loads the recipe, runs its algorithm, prints final metrics.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 2 on a configuration error.

    Examples:
        >>> main(["grpo_math", "grpo.num_prompt_per_step=8"])
        2
    """
    parser = argparse.ArgumentParser(prog="python -m rl_lab.train", description=__doc__.split("\n")[0])
    parser.add_argument("recipe", nargs="?", help=f"one of {list_recipes()} or a YAML path")
    parser.add_argument("overrides", nargs="*", help="NeMo RL style key=value overrides")
    parser.add_argument("--profile", default=None, help="smoke or full (default: RL_LAB_PROFILE or hardware)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("--list", action="store_true", help="list recipes and exit")
    args = parser.parse_args(argv)
    if args.list or not args.recipe:
        print("\n".join(list_recipes()))
        return 0
    try:
        cfg = load_recipe(args.recipe, args.overrides, args.profile)
    except (ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    configure_threads()
    describe_run(args.profile)
    metrics = RUNNERS[cfg.rl_lab.algorithm](cfg, not args.no_progress)
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
