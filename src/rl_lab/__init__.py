"""rl_lab: NeMo RL's algorithms in miniature, small enough to read and run on a laptop.

One file per idea: ``config`` (recipes with NeMo RL key names), ``data``,
``environments``, ``losses``, ``advantages``, ``generation``, ``sft``, ``dpo``,
``grpo``, ``evaluation``, ``logger``, ``checkpoint``, ``model_cache``,
``profiles``, ``outcomes`` (``record_outcomes`` for notebooks) and ``widgets``
(ipywidgets demos, imported lazily).

Examples:
    >>> import rl_lab
    >>> cfg = rl_lab.load_recipe("sft_addition", overrides=["sft.max_num_steps=5"])
    >>> cfg.sft.max_num_steps
    5
"""

from rl_lab.config import ConfigError, list_recipes, load_recipe, nemo_rl_keys
from rl_lab.outcomes import record_outcomes
from rl_lab.profiles import configure_threads, describe_run

__all__ = [
    "ConfigError",
    "configure_threads",
    "describe_run",
    "list_recipes",
    "load_recipe",
    "nemo_rl_keys",
    "record_outcomes",
]
__version__ = "0.7.0"
