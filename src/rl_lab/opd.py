"""Multi-teacher on-policy distillation (MOPD): GRPO whose advantage is a routed teacher's opinion.

NeMo RL v0.7.0 distils several teachers on the GRPO trainer, not the distillation trainer
(compare ``nemo_rl.algorithms.opd`` and ``OPDAdvantageEstimator``). With
``grpo.adv_estimator.name=opd`` and an ``on_policy_distillation`` section:

1. every sample carries the name of the agent that produced it (``agent_ref.name``);
2. :func:`resolve_reference_aliases` maps each name to a teacher alias through
   ``teacher_model_by_agent_name`` (unknown names fall back to ``default_teacher_alias``
   unless ``strict_agent_name_match``);
3. :func:`teacher_groups` lets aliases that name the same model share one teacher
   (``deduplicate_shared_teacher_checkpoints``);
4. :func:`routed_teacher_logprobs` splits the batch by teacher and asks each teacher only
   about its own samples: the log-probability of every *sampled* token;
5. the advantage is ``teacher_logprobs - prev_logprobs`` per token
   (:mod:`rl_lab.advantages`, ``opd``), trained with the clipped policy-gradient loss.

A sample is scored by exactly one teacher; no weights, no averaging of teachers.

Examples:
    >>> resolve_reference_aliases([{"name": "math"}, {"name": "chat"}], {"math": "m1", "code": "m2"}, "math")
    ['math', 'math']
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Mapping, Sequence

import torch

from rl_lab.config import ConfigError, OnPolicyDistillationConfig
from rl_lab.generation import compute_logprobs


def resolve_reference_aliases(agent_refs: Sequence[Mapping], teacher_model_by_agent_name: Mapping[str, str],
                              default_teacher_alias: str | None = None, strict_agent_name_match: bool = False) -> list[str]:
    """The teacher alias of every sample, from the name of the agent that produced it.

    Args:
        agent_refs: One ``{"name": ...}`` per sample.
        teacher_model_by_agent_name: ``on_policy_distillation.teacher_model_by_agent_name``.
        default_teacher_alias: Alias for unmapped agents.
        strict_agent_name_match: Unmapped agents are an error.

    Returns:
        One alias per sample, in order.

    Raises:
        ConfigError: An agent is unmapped and strict matching is on or there is no default.

    Examples:
        >>> resolve_reference_aliases([{"name": "b"}], {"a": "m"}, strict_agent_name_match=True)
        Traceback (most recent call last):
        ...
        rl_lab.config.errors.ConfigError: no teacher for agent 'b' (on_policy_distillation.strict_agent_name_match=true); map it in on_policy_distillation.teacher_model_by_agent_name (available: ['a'])
    """
    aliases = []
    for ref in agent_refs:
        name = ref["name"]
        if name in teacher_model_by_agent_name:
            aliases.append(name)
        elif strict_agent_name_match:
            raise ConfigError(f"no teacher for agent {name!r} (on_policy_distillation.strict_agent_name_match=true); map it "
                              f"in on_policy_distillation.teacher_model_by_agent_name (available: {sorted(teacher_model_by_agent_name)})")
        elif default_teacher_alias:
            aliases.append(default_teacher_alias)
        else:
            raise ConfigError(f"no teacher for agent {name!r} and no on_policy_distillation.default_teacher_alias; map the agent "
                              f"in teacher_model_by_agent_name (available: {sorted(teacher_model_by_agent_name)}) or set a default")
    return aliases


def teacher_groups(cfg: OnPolicyDistillationConfig) -> dict[str, str]:
    """Alias -> the alias whose teacher serves it.

    With ``deduplicate_shared_teacher_checkpoints`` one teacher is made per distinct model,
    under the first alias that names it, and every alias naming that model maps to it.
    Without, every alias gets a teacher of its own, but aliases of one model are still
    served by the teacher of the *last* alias naming it (NeMo RL v0.7.0 builds its
    model -> alias table over all teachers, later ones overwriting earlier ones).

    Args:
        cfg: The ``on_policy_distillation`` section.

    Returns:
        ``{alias: serving alias}`` for every key of ``teacher_model_by_agent_name``.

    Examples:
        >>> table = {"a": "m1", "b": "m2", "c": "m1"}
        >>> teacher_groups(OnPolicyDistillationConfig(True, table))
        {'a': 'a', 'b': 'b', 'c': 'a'}
        >>> teacher_groups(OnPolicyDistillationConfig(True, table, deduplicate_shared_teacher_checkpoints=False))
        {'a': 'c', 'b': 'b', 'c': 'c'}
    """
    table = cfg.teacher_model_by_agent_name
    primary: dict[str, str] = {}
    for alias, model in table.items():
        if cfg.deduplicate_shared_teacher_checkpoints and model in primary:
            continue
        primary[model] = alias
    return {alias: primary[model] for alias, model in table.items()}


def teacher_models(cfg: OnPolicyDistillationConfig) -> dict[str, str]:
    """Serving alias -> model name: the teachers to load (one per distinct model when deduplicating).

    Examples:
        >>> teacher_models(OnPolicyDistillationConfig(True, {"a": "m1", "b": "m2", "c": "m1"}))
        {'a': 'm1', 'b': 'm2'}
    """
    table = cfg.teacher_model_by_agent_name
    return {alias: table[alias] for alias in dict.fromkeys(teacher_groups(cfg).values())}


@torch.no_grad()
def routed_teacher_logprobs(teachers: Mapping[str, torch.nn.Module], input_ids: torch.Tensor, group_keys: Sequence[str],
                            batch_size: int) -> torch.Tensor:
    """Each sample's log-probs of its own tokens under the teacher it is routed to.

    Args:
        teachers: Serving alias -> frozen teacher model.
        input_ids: ``[B, T]`` the student's sequences.
        group_keys: ``[B]`` serving alias of each sample (from :func:`teacher_groups`).
        batch_size: Rows per teacher forward pass.

    Returns:
        ``[B, T]`` token-aligned log-probs (column 0 is 0), each row from one teacher only.

    Examples:
        >>> from rl_lab.config import ModelSizeConfig
        >>> from rl_lab.models import build_model
        >>> a, b = (build_model(ModelSizeConfig(hidden_size=16, num_layers=1), 12) for _ in range(2))
        >>> ids = torch.randint(0, 12, (3, 5))
        >>> out = routed_teacher_logprobs({"a": a, "b": b}, ids, ["a", "b", "a"], batch_size=2)
        >>> torch.allclose(out[1], compute_logprobs(b, ids[1:2])[0]), torch.allclose(out[2], compute_logprobs(a, ids[2:])[0])
        (True, True)
    """
    rows: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(group_keys):
        rows[key].append(i)
    out = torch.zeros(input_ids.shape, dtype=torch.float32, device=input_ids.device)
    for key, idx in rows.items():
        sub = input_ids[idx]
        out[idx] = torch.cat([compute_logprobs(teachers[key], sub[i : i + batch_size]).float()
                              for i in range(0, len(sub), batch_size)])
    return out


def teacher_routing_metrics(aliases: Sequence[str], teacher_model_by_agent_name: Mapping[str, str]) -> dict[str, float]:
    """How many teachers a batch used: NeMo RL's ``on_policy_distillation/teacher_*`` diagnostics.

    Args:
        aliases: One alias per sample.
        teacher_model_by_agent_name: Alias -> model.

    Returns:
        ``teacher_alias_unique``, ``teacher_model_unique`` and
        ``teacher_alias_to_model_compression`` (distinct models / distinct aliases).

    Examples:
        >>> teacher_routing_metrics(["a", "b", "c", "a"], {"a": "m1", "b": "m2", "c": "m1"})["teacher_alias_to_model_compression"]
        0.6666666666666666
    """
    distinct = set(aliases)
    models = {teacher_model_by_agent_name[a] for a in distinct}
    return {"teacher_alias_unique": float(len(distinct)), "teacher_model_unique": float(len(models)),
            "teacher_alias_to_model_compression": len(models) / max(len(distinct), 1)}


def agent_refs_of(data: Sequence[Mapping]) -> list[dict[str, str]]:
    """Each datum's ``agent_ref``; a datum without one gets the name ``""`` (it then takes the default teacher).

    Examples:
        >>> agent_refs_of([{"agent_ref": {"name": "math"}}, {}])
        [{'name': 'math'}, {'name': ''}]
    """
    return [dict(d.get("agent_ref") or {"name": ""}) for d in data]


def gap_metrics(teacher_logprobs: torch.Tensor, prev_logprobs: torch.Tensor, token_mask: torch.Tensor,
                group_keys: Sequence[str]) -> dict[str, float]:
    """Mean teacher-minus-student log-prob gap over the trained tokens, overall and per serving alias.

    Args:
        teacher_logprobs: ``[B, T]`` routed teacher log-probs.
        prev_logprobs: ``[B, T]`` the policy's.
        token_mask: ``[B, T]`` trained tokens.
        group_keys: ``[B]`` serving alias of each sample.

    Returns:
        ``teacher_student_logprob_gap_mean`` (NeMo RL's metric) and
        ``teacher_student_logprob_gap_mean/<alias>`` per alias.

    Examples:
        >>> t = torch.tensor([[0.0, -0.5, -0.5], [0.0, -1.0, 0.0]])
        >>> s = torch.tensor([[0.0, -1.0, -2.0], [0.0, -1.0, 0.0]])
        >>> m = torch.tensor([[0, 1, 1], [0, 1, 0]])
        >>> gap_metrics(t, s, m, ["a", "b"])  # a: (0.5 + 1.5) / 2 = 1.0; b: 0; all: (0.5 + 1.5 + 0) / 3
        {'teacher_student_logprob_gap_mean': 0.6666666865348816, 'teacher_student_logprob_gap_mean/a': 1.0, 'teacher_student_logprob_gap_mean/b': 0.0}
    """
    gap, mask = teacher_logprobs - prev_logprobs, token_mask.bool()
    out = {"teacher_student_logprob_gap_mean": gap[mask].mean().item()}
    for key in dict.fromkeys(group_keys):
        rows = torch.tensor([k == key for k in group_keys])
        out[f"teacher_student_logprob_gap_mean/{key}"] = gap[rows][mask[rows]].mean().item()
    return out


def load_teachers(cfg: OnPolicyDistillationConfig | None, teachers: Mapping[str, torch.nn.Module] | None, device: str | torch.device,
                  vocab_size: int) -> dict[str, torch.nn.Module]:
    """Serving alias -> a frozen copy of its teacher on ``device`` (empty when distillation is off).

    Args:
        cfg: The ``on_policy_distillation`` section (None: off).
        teachers: Model name (a value of ``teacher_model_by_agent_name``) -> model;
            :func:`rl_lab.run.train` fills it from the model cache.
        device: Where the policy is.
        vocab_size: The policy tokenizer's size; every teacher must have as many output tokens.

    Returns:
        ``{serving alias: teacher}``, one per model actually served (:func:`teacher_models`).

    Raises:
        ConfigError: A teacher is not given, or its vocabulary differs from the policy's.
    """
    if cfg is None or not cfg.enabled:
        return {}
    given = dict(teachers or {})
    missing = [name for name in teacher_models(cfg).values() if name not in given]
    if missing:
        example = ", ".join(f"{n!r}: get_checkpoint({n!r})" for n in missing)
        raise ConfigError(f"on_policy_distillation.teacher_model_by_agent_name names {missing}, but no such teacher was "
                          f"passed: pass teachers={{{example}}} (rl_lab.model_cache), or train with rl_lab.run.train(...), "
                          "which does that")
    out = {}
    for alias, name in teacher_models(cfg).items():
        model = given[name]
        vocab = model.get_output_embeddings().weight.shape[0]
        if vocab != vocab_size:
            raise ConfigError(f"on_policy_distillation.teacher_model_by_agent_name.{alias}={name!r}: the teacher has {vocab} "
                              f"output tokens, the policy's tokenizer {vocab_size}; teachers must share the student's tokenizer")
        out[alias] = copy.deepcopy(model).to(device).eval().requires_grad_(False)
    return out
