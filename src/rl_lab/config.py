"""Typed, frozen recipe configs read from YAML with NeMo RL's key names.

A recipe is a YAML file in ``rl_lab/recipes/``. Its sections and keys are
named exactly like NeMo RL's (``policy.*``, ``sft.*``, ``dpo.*``, ``grpo.*``,
``loss_fn.*``, ``data.*``, ``env.*``, ``logger.*``, ``checkpointing.*``,
``eval.*``, ``generation.*``) wherever the concept is the same, so a reader can
carry a key from this book to a real NeMo RL run. Everything that exists only in
rl_lab (tiny model sizes, synthetic task knobs, the name of the NeMo RL
counterpart file) lives under the separate top-level ``rl_lab:`` section.

Overrides use NeMo RL's dotted ``key=value`` syntax and values are parsed as
YAML scalars (``8`` is an int, ``0.5`` a float, ``null`` is None, ``[1, 2]`` a
list). Unknown keys and wrongly typed values raise :class:`ConfigError` naming
the dotted key, where it came from, and the closest valid key.

Examples:
    >>> cfg = load_recipe("grpo_math", overrides=["grpo.num_prompts_per_step=8"])
    >>> cfg.grpo.num_prompts_per_step
    8
    >>> "grpo.num_prompts_per_step" in nemo_rl_keys(cfg)
    True
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

RECIPE_DIR = Path(__file__).parent / "recipes"


class ConfigError(ValueError):
    """A recipe or override names an unknown key or carries a wrongly typed value.

    The message names the full dotted key, its source (recipe file and line, or
    ``override``) and, for unknown keys, the closest valid key.

    Examples:
        >>> try:
        ...     load_recipe("grpo_math", overrides=["grpo.num_prompt_per_step=8"])
        ... except ConfigError as err:
        ...     print("did you mean grpo.num_prompts_per_step?" in str(err))
        True
    """

    def _render_traceback_(self) -> list[str]:
        """What IPython and Jupyter show for this error: the one-line message, no traceback.

        The message already names the key, where its value came from and the fix; a
        traceback through rl_lab's loader would only bury it.
        """
        return [f"ConfigError: {self}"]


# ----------------------------------------------------------------------------
# Sections shared by several recipes (NeMo RL key names)
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OptimizerKwargs:
    """``policy.optimizer.kwargs``: keyword arguments of ``torch.optim.AdamW``.

    Examples:
        >>> OptimizerKwargs(lr=1e-3).lr
        0.001
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, ...] = (0.9, 0.98)
    eps: float = 1e-8


@dataclass(frozen=True)
class OptimizerConfig:
    """``policy.optimizer``: optimizer class name and its kwargs.

    Examples:
        >>> OptimizerConfig().name
        'torch.optim.AdamW'
    """

    name: str = "torch.optim.AdamW"
    kwargs: OptimizerKwargs = field(default_factory=OptimizerKwargs)


@dataclass(frozen=True)
class TokenizerConfig:
    """``policy.tokenizer``: which tokenizer to use (rl_lab has one, ``rl_lab/char``).

    Examples:
        >>> TokenizerConfig().name
        'rl_lab/char'
    """

    name: str = "rl_lab/char"


@dataclass(frozen=True)
class GenerationConfig:
    """``policy.generation``: sampling settings used for rollouts.

    Examples:
        >>> GenerationConfig(temperature=0.7).temperature
        0.7
    """

    max_new_tokens: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: Union[int, None] = None
    stop_strings: Union[tuple[str, ...], None] = None
    stop_token_ids: Union[tuple[int, ...], None] = None


@dataclass(frozen=True)
class PolicyConfig:
    """``policy``: the trained model, its batch sizes and its optimizer.

    ``model_name`` is ``rl_lab/tiny`` (a randomly initialised model built from
    ``rl_lab.model``) or, in the ``full`` profile, any Hugging Face model id.

    Examples:
        >>> PolicyConfig().train_global_batch_size
        64
    """

    model_name: str = "rl_lab/tiny"
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    train_global_batch_size: int = 64
    train_micro_batch_size: int = 64
    max_total_sequence_length: int = 64
    precision: str = "float32"
    max_grad_norm: Union[float, None] = 1.0
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)


@dataclass(frozen=True)
class GRPOPolicyConfig(PolicyConfig):
    """``policy`` for GRPO: adds ``policy.generation`` (rollout sampling).

    Examples:
        >>> GRPOPolicyConfig().generation.top_p
        1.0
    """

    generation: GenerationConfig = field(default_factory=GenerationConfig)


@dataclass(frozen=True)
class DataConfig:
    """``data``: data loading switches.

    Examples:
        >>> DataConfig().shuffle
        True
    """

    shuffle: bool = True


@dataclass(frozen=True)
class LoggerConfig:
    """``logger``: where JSONL metric logs go (``logger.log_dir``; null: memory only).

    Examples:
        >>> LoggerConfig().log_dir
        'logs'
    """

    log_dir: Union[str, None] = "logs"


@dataclass(frozen=True)
class CheckpointingConfig:
    """``checkpointing``: periodic checkpoints for exact resume.

    Examples:
        >>> CheckpointingConfig().enabled
        False
    """

    enabled: bool = False
    checkpoint_dir: str = "results/rl_lab"
    save_period: int = 10
    save_optimizer: bool = True


@dataclass(frozen=True)
class SFTSection:
    """``sft``: the supervised fine-tuning loop.

    Examples:
        >>> SFTSection().max_num_steps
        100
    """

    max_num_steps: int = 100
    max_num_epochs: int = 1000
    val_period: int = 50
    val_at_start: bool = False
    val_at_end: bool = True
    seed: int = 42


@dataclass(frozen=True)
class DPOSection:
    """``dpo``: the DPO loop and its loss weights.

    ``reference_policy_kl_penalty`` is DPO's beta.

    Examples:
        >>> DPOSection().reference_policy_kl_penalty
        0.05
    """

    max_num_steps: int = 100
    max_num_epochs: int = 1000
    val_period: int = 25
    val_at_start: bool = True
    val_at_end: bool = True
    seed: int = 42
    reference_policy_kl_penalty: float = 0.05
    preference_average_log_probs: bool = False
    sft_average_log_probs: bool = False
    preference_loss_weight: float = 1.0
    sft_loss_weight: float = 0.0


@dataclass(frozen=True)
class GRPOSection:
    """``grpo``: rollout sizes, advantage options and loop length.

    Examples:
        >>> GRPOSection().num_generations_per_prompt
        8
    """

    num_prompts_per_step: int = 16
    num_generations_per_prompt: int = 8
    max_rollout_turns: int = 1
    max_num_steps: int = 50
    max_num_epochs: int = 1000
    normalize_rewards: bool = True
    use_leave_one_out_baseline: bool = True
    val_period: int = 10
    val_at_start: bool = True
    val_at_end: bool = True
    max_val_samples: int = 256
    seed: int = 42


@dataclass(frozen=True)
class LossFnConfig:
    """``loss_fn``: the clipped policy-gradient loss.

    Examples:
        >>> LossFnConfig().ratio_clip_max
        0.2
    """

    reference_policy_kl_penalty: float = 0.01
    reference_policy_kl_type: str = "k3"
    kl_input_clamp_value: Union[float, None] = 20.0
    kl_output_clamp_value: Union[float, None] = 10.0
    ratio_clip_min: float = 0.2
    ratio_clip_max: float = 0.2
    ratio_clip_c: Union[float, None] = None
    token_level_loss: bool = True


@dataclass(frozen=True)
class MathEnvConfig:
    """``env.math``: the math verifier environment.

    Examples:
        >>> MathEnvConfig().num_workers
        1
    """

    num_workers: int = 1


@dataclass(frozen=True)
class GameConfig:
    """``env.sliding_puzzle_game.cfg.game_config``: board size and shuffling.

    Examples:
        >>> GameConfig().size
        2
    """

    size: int = 2
    shuffle_moves: int = 1


@dataclass(frozen=True)
class SlidingPuzzleCfg:
    """``env.sliding_puzzle_game.cfg``: game config plus the move budget.

    Examples:
        >>> SlidingPuzzleCfg().max_moves
        4
    """

    game_config: GameConfig = field(default_factory=GameConfig)
    max_moves: int = 4


@dataclass(frozen=True)
class SlidingPuzzleEnvConfig:
    """``env.sliding_puzzle_game``: the multi-turn sliding-puzzle environment.

    Examples:
        >>> SlidingPuzzleEnvConfig().cfg.game_config.shuffle_moves
        1
    """

    cfg: SlidingPuzzleCfg = field(default_factory=SlidingPuzzleCfg)


@dataclass(frozen=True)
class EnvConfig:
    """``env``: one sub-section per environment used by the recipe.

    Examples:
        >>> EnvConfig().math is None
        True
    """

    math: Union[MathEnvConfig, None] = None
    sliding_puzzle_game: Union[SlidingPuzzleEnvConfig, None] = None


@dataclass(frozen=True)
class EvalSection:
    """``eval``: the evaluation metric (``pass@k``) and samples per prompt.

    Examples:
        >>> EvalSection().k_value
        1
    """

    metric: str = "pass@k"
    num_tests_per_prompt: int = 1
    seed: int = 42
    k_value: int = 1


@dataclass(frozen=True)
class EvalGenerationConfig:
    """``generation`` in evaluation recipes (top level, as in NeMo RL's eval configs).

    Examples:
        >>> EvalGenerationConfig().temperature
        0.0
    """

    model_name: str = "rl_lab/tiny"
    max_new_tokens: int = 6
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: Union[int, None] = None


# ----------------------------------------------------------------------------
# rl_lab-only section (NOT NeMo RL keys)
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSizeConfig:
    """``rl_lab.model``: shape of the randomly initialised tiny causal LM.

    Examples:
        >>> ModelSizeConfig().num_layers
        2
    """

    architecture: str = "llama"
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 256
    max_position_embeddings: int = 128


@dataclass(frozen=True)
class TaskConfig:
    """``rl_lab.task``: the synthetic task generator.

    Examples:
        >>> TaskConfig().name
        'addition'
    """

    name: str = "addition"
    max_operand: int = 99
    train_size: int = 4000
    val_size: int = 500
    seed: int = 1234
    zero_pad: bool = False
    label_noise: float = 0.0
    puzzle_size: int = 2
    puzzle_shuffle_moves: int = 2


TARGET_METRICS = ("sampled_accuracy", "greedy_accuracy", "legal_move_rate")


@dataclass(frozen=True)
class TargetConfig:
    """``rl_lab.target``: train until a held-out measurement lands in ``[low, high]``.

    A starting checkpoint is defined by what it must be ("right about half the
    time"), not by how many steps it took: the number of steps that reaches a
    given accuracy depends on the CPU's floating-point kernels, the target does
    not. Every ``check_period`` steps the model is measured on the held-out
    problems; training stops at the first measurement inside the band, and
    ``sft.max_num_steps`` is the cap (reaching it first is an error).

    Attributes:
        metric: ``sampled_accuracy`` (exact match of answers sampled at
            ``temperature``), ``greedy_accuracy`` (exact match of greedy answers)
            or ``legal_move_rate`` (sampled answers that are a legal sliding-puzzle
            move for the board shown; the ``puzzle_moves`` task).
        low: Lowest accepted value (inclusive).
        high: Highest accepted value (inclusive).
        check_period: Training steps between two measurements.
        temperature: Sampling temperature of the sampled metrics.
        seed: Sampling seed, fixed so that the measurement is a function of the weights.

    Raises:
        ConfigError: For an unknown metric or a band outside ``0 <= low <= high <= 1``.

    Examples:
        >>> TargetConfig("sampled_accuracy", 0.4, 0.5).check_period
        25
    """

    metric: str = "sampled_accuracy"
    low: float = 0.0
    high: float = 1.0
    check_period: int = 25
    temperature: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.metric not in TARGET_METRICS:
            close = difflib.get_close_matches(self.metric, TARGET_METRICS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"rl_lab.target.metric={self.metric!r} is not one of {list(TARGET_METRICS)}{hint}")
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ConfigError(f"rl_lab.target needs 0 <= low <= high <= 1, got low={self.low}, high={self.high}")
        if self.check_period < 1:
            raise ConfigError(f"rl_lab.target.check_period must be >= 1, got {self.check_period}")

    def contains(self, value: float) -> bool:
        """Whether a measured value lies in the band.

        Examples:
            >>> TargetConfig(low=0.4, high=0.5).contains(0.45), TargetConfig(low=0.4, high=0.5).contains(0.39)
            (True, False)
        """
        return self.low <= value <= self.high


@dataclass(frozen=True)
class RlLabSection:
    """``rl_lab``: everything that is rl_lab-only, kept apart from NeMo RL keys.

    Attributes:
        algorithm: Which trainer the recipe drives (sft, dpo, grpo, eval).
        nemo_rl_counterpart: The NeMo RL example config this recipe mirrors.
        init_checkpoint: Name of a cached starting checkpoint (see
            ``rl_lab.model_cache``) or None for a fresh random model.
        progress: Show tqdm progress bars.
        target: Train until a held-out measurement enters a band (SFT only;
            used by the cached starting checkpoints, see :class:`TargetConfig`).
        eval_max_new_tokens: Generation budget when scoring held-out problems.

    Examples:
        >>> RlLabSection().algorithm
        'sft'
    """

    algorithm: str = "sft"
    nemo_rl_counterpart: str = ""
    init_checkpoint: Union[str, None] = None
    progress: bool = True
    target: Union[TargetConfig, None] = None
    eval_max_new_tokens: int = 6
    model: ModelSizeConfig = field(default_factory=ModelSizeConfig)
    task: TaskConfig = field(default_factory=TaskConfig)


# ----------------------------------------------------------------------------
# Whole recipes, one class per algorithm
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _TrainingRecipe:
    """The sections every training recipe has, besides its algorithm's own."""

    policy: PolicyConfig = field(default_factory=PolicyConfig)
    data: DataConfig = field(default_factory=DataConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    checkpointing: CheckpointingConfig = field(default_factory=CheckpointingConfig)
    rl_lab: RlLabSection = field(default_factory=RlLabSection)


@dataclass(frozen=True)
class SFTRecipe(_TrainingRecipe):
    """An SFT recipe (counterpart: ``examples/configs/sft.yaml``).

    Examples:
        >>> load_recipe("sft_addition").sft.seed
        42
    """

    sft: SFTSection = field(default_factory=SFTSection)


@dataclass(frozen=True)
class DPORecipe(_TrainingRecipe):
    """A DPO recipe (counterpart: ``examples/configs/dpo.yaml``).

    Examples:
        >>> load_recipe("dpo_addition").dpo.reference_policy_kl_penalty > 0
        True
    """

    dpo: DPOSection = field(default_factory=DPOSection)


@dataclass(frozen=True)
class GRPORecipe(_TrainingRecipe):
    """A GRPO recipe (counterparts: ``grpo_math_1B.yaml``, ``grpo_sliding_puzzle.yaml``).

    Examples:
        >>> load_recipe("grpo_math").loss_fn.reference_policy_kl_type
        'k3'
    """

    policy: GRPOPolicyConfig = field(default_factory=GRPOPolicyConfig)
    grpo: GRPOSection = field(default_factory=GRPOSection)
    loss_fn: LossFnConfig = field(default_factory=LossFnConfig)
    env: EnvConfig = field(default_factory=EnvConfig)


@dataclass(frozen=True)
class EvalRecipe:
    """An evaluation recipe (counterpart: ``examples/configs/evals/eval.yaml``).

    Examples:
        >>> load_recipe("eval_addition").eval.metric
        'pass@k'
    """

    eval: EvalSection = field(default_factory=EvalSection)
    generation: EvalGenerationConfig = field(default_factory=EvalGenerationConfig)
    rl_lab: RlLabSection = field(default_factory=RlLabSection)


Recipe = Union[SFTRecipe, DPORecipe, GRPORecipe, EvalRecipe]
RECIPE_TYPES: dict[str, type] = {
    "sft": SFTRecipe,
    "dpo": DPORecipe,
    "grpo": GRPORecipe,
    "eval": EvalRecipe,
}


# ----------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------
def list_recipes() -> list[str]:
    """Names of the recipes shipped in ``rl_lab/recipes``.

    Returns:
        Sorted recipe names (file stems).

    Examples:
        >>> "grpo_math" in list_recipes()
        True
    """
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def _yaml_lines(text: str) -> dict[str, int]:
    """Maps each dotted key of a YAML document to its 1-based line number."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = f"{prefix}{key_node.value}"
                lines[path] = key_node.start_mark.line + 1
                walk(value_node, path + ".")

    root = yaml.compose(text)
    if root is not None:
        walk(root, "")
    return lines


def parse_override(text: str) -> tuple[str, Any]:
    """Parses one NeMo RL style ``key=value`` override.

    Args:
        text: For example ``"grpo.num_prompts_per_step=8"``; leading ``+``
            characters (Hydra's add markers) are ignored.

    Returns:
        The dotted key and the value parsed as a YAML scalar.

    Raises:
        ConfigError: If the text has no ``=``.

    Examples:
        >>> parse_override("loss_fn.ratio_clip_c=null")
        ('loss_fn.ratio_clip_c', None)
        >>> parse_override("policy.optimizer.kwargs.lr=3e-4")
        ('policy.optimizer.kwargs.lr', 0.0003)
    """
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (source: override)")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else ""
    if isinstance(value, str):
        # YAML 1.1 reads "3e-4" as a string; accept it as a float.
        try:
            value = float(value) if any(c in value for c in "eE.") and not value.isalpha() else value
        except ValueError:
            pass
    return key.lstrip("+").strip(), value


def _set_dotted(tree: dict, key: str, value: Any) -> None:
    """Sets ``tree[a][b][c] = value`` for ``key == "a.b.c"``, creating dicts."""
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def _valid_paths(cls: type, prefix: str = "") -> list[str]:
    """All dotted key paths accepted by a recipe dataclass."""
    out: list[str] = []
    for name, tp in typing.get_type_hints(cls).items():
        sub = _dataclass_in(tp)
        out.append(prefix + name)
        if sub is not None:
            out.extend(_valid_paths(sub, f"{prefix}{name}."))
    return out


def _dataclass_in(tp: Any) -> type | None:
    """Returns the dataclass inside ``tp`` (``X`` or ``X | None``), else None."""
    if dataclasses.is_dataclass(tp):
        return tp
    for arg in typing.get_args(tp):
        if dataclasses.is_dataclass(arg):
            return arg
    return None


class _Builder:
    """Turns a nested dict into a recipe dataclass, checking keys and types."""

    def __init__(self, recipe_cls: type, sources: dict[str, str]) -> None:
        self.valid = _valid_paths(recipe_cls)
        self.sources = sources

    def where(self, path: str) -> str:
        if path in self.sources:
            return self.sources[path]
        # An unknown section created by an override (``policy.dtensor_cfg.x=1``): name that override.
        below = [source for key, source in self.sources.items() if key.startswith(path + ".")]
        return below[-1] if below else "default"

    def build(self, cls: type, data: Any, prefix: str) -> Any:
        if not isinstance(data, dict):
            raise ConfigError(
                f"{prefix.rstrip('.') or '<root>'}: expected a mapping (section {cls.__name__}), "
                f"got {data!r} (source: {self.where(prefix.rstrip('.'))})"
            )
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for key, value in data.items():
            path = prefix + str(key)
            if key not in hints:
                close = difflib.get_close_matches(path, self.valid, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise ConfigError(f"unknown config key {path} (source: {self.where(path)}){hint}")
            kwargs[key] = self.value(hints[key], value, path)
        try:
            return cls(**kwargs)
        except ConfigError as err:  # a section that checks its own values (e.g. TargetConfig)
            raise ConfigError(f"{err} (source: {self.where(prefix.rstrip('.'))})") from None

    def value(self, tp: Any, value: Any, path: str) -> Any:
        sub = _dataclass_in(tp)
        optional = type(None) in typing.get_args(tp)
        if value is None and optional:
            return None
        if sub is not None:
            return self.build(sub, value, path + ".")
        return self.scalar(tp, value, path)

    def scalar(self, tp: Any, value: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (Union, types.UnionType):
            if value is None and type(None) in args:
                return None
            inner = [a for a in args if a is not type(None)]
            return self.scalar(inner[0], value, path)
        if origin is tuple:
            if not isinstance(value, (list, tuple)):
                self.fail(path, "a list", value)
            return tuple(self.scalar(args[0], v, path) for v in value)
        if tp is bool:
            if not isinstance(value, bool):
                self.fail(path, "bool (true/false)", value)
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(path, "int", value)
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(path, "float", value)
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                self.fail(path, "str", value)
            return value
        return value

    def fail(self, path: str, expected: str, value: Any) -> None:
        raise ConfigError(
            f"config key {path} expects {expected}, got {value!r} "
            f"({type(value).__name__}) (source: {self.where(path)})"
        )


def _recipe_path(name_or_path: str | Path) -> Path:
    """Resolves a recipe name (``grpo_math``) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    candidate = RECIPE_DIR / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    close = difflib.get_close_matches(str(name_or_path), list_recipes(), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ConfigError(f"unknown recipe {name_or_path!r}; available: {list_recipes()}{hint}")


def load_recipe(
    name_or_path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    profile: str | None = None,
) -> Recipe:
    """Loads a recipe, applies profile and user overrides, returns a frozen config.

    Args:
        name_or_path: A shipped recipe name (see :func:`list_recipes`) or a path
            to a YAML file.
        overrides: NeMo RL style ``key=value`` strings, applied last.
        profile: ``smoke`` or ``full``; None picks one with
            :func:`rl_lab.profiles.resolve_profile`. The profile's own
            overrides (model size, precision) are applied before ``overrides``.

    Returns:
        A :class:`SFTRecipe`, :class:`DPORecipe`, :class:`GRPORecipe` or
        :class:`EvalRecipe`, chosen by ``rl_lab.algorithm``.

    Raises:
        ConfigError: Unknown recipe, unknown key or wrongly typed value.

    Examples:
        >>> cfg = load_recipe("sft_addition", overrides=["sft.max_num_steps=3"])
        >>> cfg.sft.max_num_steps
        3
    """
    from rl_lab.profiles import get_profile

    path = _recipe_path(name_or_path)
    text = path.read_text()
    tree = yaml.safe_load(text) or {}
    sources = {k: f"{path.name}:{line}" for k, line in _yaml_lines(text).items()}
    algorithm = tree.get("rl_lab", {}).get("algorithm", "sft")
    if algorithm not in RECIPE_TYPES:
        raise ConfigError(
            f"rl_lab.algorithm={algorithm!r} is not one of {sorted(RECIPE_TYPES)} "
            f"(source: {sources.get('rl_lab.algorithm', path.name)})"
        )
    recipe_cls = RECIPE_TYPES[algorithm]
    prof = get_profile(profile)
    tagged = [(o, f"profile {prof.name}") for o in prof.overrides_for(recipe_cls)]
    tagged += [(o, f"override {o!r}") for o in overrides]
    for text_override, source in tagged:
        key, value = parse_override(text_override)
        _set_dotted(tree, key, value)
        sources[key] = source
    cfg = _Builder(recipe_cls, sources).build(recipe_cls, tree, "")
    return _offset_seed(cfg, algorithm, explicit=f"{algorithm}.seed" in {parse_override(o)[0] for o in overrides})


def _offset_seed(cfg: Any, section: str, explicit: bool) -> Any:
    """Adds ``$RL_LAB_SEED_OFFSET`` to the algorithm section's seed (not to a seed given as an override).

    The offset exists to measure how much a tutorial's result depends on its random
    draw (``benchmarks/bench_outcome_spread.py`` runs every notebook under two seeds);
    the task's data seed is left alone, so the held-out problems stay the same.
    """
    from rl_lab.profiles import seed_offset

    offset = seed_offset()
    if not offset or explicit:
        return cfg
    algo = getattr(cfg, section)
    return dataclasses.replace(cfg, **{section: dataclasses.replace(algo, seed=algo.seed + offset)})


def to_dict(cfg: Any) -> dict[str, Any]:
    """Converts a recipe (or any section) to plain nested dicts.

    Args:
        cfg: A config dataclass instance.

    Returns:
        A JSON-serialisable nested dict.

    Examples:
        >>> to_dict(LoggerConfig())
        {'log_dir': 'logs'}
    """
    return dataclasses.asdict(cfg)


def config_hash(cfg: Any, length: int = 12) -> str:
    """A short stable hash of a config, used to key cached checkpoints.

    Args:
        cfg: A config dataclass instance.
        length: Number of hex characters to keep.

    Returns:
        Hex digest prefix.

    Examples:
        >>> config_hash(LoggerConfig()) == config_hash(LoggerConfig())
        True
    """
    blob = json.dumps(to_dict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def _leaf_keys(obj: Any, prefix: str) -> list[str]:
    out: list[str] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = prefix + f.name
        if dataclasses.is_dataclass(value):
            out.extend(_leaf_keys(value, path + "."))
        elif value is None and _dataclass_in(f.type if not isinstance(f.type, str) else typing.get_type_hints(type(obj))[f.name]):
            continue  # an absent optional sub-section (e.g. env.math in the puzzle recipe)
        else:
            out.append(path)
    return out


def nemo_rl_keys(cfg: Recipe) -> list[str]:
    """Every dotted key rl_lab presents as a NeMo RL key (all but ``rl_lab.*``).

    Args:
        cfg: A loaded recipe.

    Returns:
        Sorted dotted key paths, e.g. ``"loss_fn.ratio_clip_min"``.

    Examples:
        >>> keys = nemo_rl_keys(load_recipe("grpo_math"))
        >>> "loss_fn.ratio_clip_min" in keys and not any(k.startswith("rl_lab.") for k in keys)
        True
    """
    return sorted(k for k in _leaf_keys(cfg, "") if not k.startswith("rl_lab."))
