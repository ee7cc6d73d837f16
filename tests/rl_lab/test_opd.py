"""Multi-teacher on-policy distillation (rl_lab.opd): routing, deduplication, routed log-probs, GRPO with opd."""

from __future__ import annotations

import math

import pytest
import torch

from rl_lab.config import ConfigError, ModelSizeConfig, OnPolicyDistillationConfig, load_recipe
from rl_lab.generation import compute_logprobs
from rl_lab.grpo import grpo_step, train_grpo
from rl_lab.models import build_model
from rl_lab.opd import (agent_refs_of, gap_metrics, load_teachers, resolve_reference_aliases, routed_teacher_logprobs,
                        teacher_groups, teacher_models, teacher_routing_metrics)

TABLE = {"math": "m1", "code": "m2", "math_copy": "m1"}


def test_defaults_are_nemo_rls() -> None:
    cfg = OnPolicyDistillationConfig()
    assert (cfg.enabled, dict(cfg.teacher_model_by_agent_name), cfg.default_teacher_alias, cfg.strict_agent_name_match,
            cfg.deduplicate_shared_teacher_checkpoints, cfg.non_colocated_teachers) == (False, {}, None, False, True, None)


def test_routing_falls_back_to_the_default_alias() -> None:
    refs = [{"name": "code"}, {"name": "chat"}, {"name": "math"}]  # chat is unmapped -> default "math"
    assert resolve_reference_aliases(refs, TABLE, "math") == ["code", "math", "math"]


def test_strict_matching_and_a_missing_default_are_errors() -> None:
    with pytest.raises(ConfigError, match="agent 'chat'.*strict_agent_name_match"):
        resolve_reference_aliases([{"name": "chat"}], TABLE, "math", strict_agent_name_match=True)
    with pytest.raises(ConfigError, match="no on_policy_distillation.default_teacher_alias"):
        resolve_reference_aliases([{"name": "chat"}], TABLE)


def test_config_checks_its_default_alias_and_its_map() -> None:
    with pytest.raises(ConfigError, match="default_teacher_alias='chat' is not a key"):
        OnPolicyDistillationConfig(True, TABLE, "chat")
    OnPolicyDistillationConfig(True, TABLE, "chat", strict_agent_name_match=True)  # strict: never used, so allowed
    with pytest.raises(ConfigError, match="needs at least one teacher"):
        OnPolicyDistillationConfig(True, {})
    with pytest.raises(ConfigError, match="strings"):
        OnPolicyDistillationConfig(True, {"math": 3})


def test_loader_names_the_override_of_a_bad_alias() -> None:
    with pytest.raises(ConfigError, match=r"default_teacher_alias='chat'.*source: override"):
        load_recipe("grpo_math", ["on_policy_distillation.enabled=true",
                                  "on_policy_distillation.teacher_model_by_agent_name={math: sft-addition-teacher}",
                                  "on_policy_distillation.default_teacher_alias=chat"])


def test_deduplication_shares_one_teacher_per_model() -> None:
    # m1 is named by math (first) and math_copy: one teacher, served under "math"
    on = OnPolicyDistillationConfig(True, TABLE)
    assert teacher_groups(on) == {"math": "math", "code": "code", "math_copy": "math"}
    assert teacher_models(on) == {"math": "m1", "code": "m2"}
    # without deduplication the last alias naming m1 (math_copy) serves both
    off = OnPolicyDistillationConfig(True, TABLE, deduplicate_shared_teacher_checkpoints=False)
    assert teacher_groups(off) == {"math": "math_copy", "code": "code", "math_copy": "math_copy"}


def test_routing_metrics() -> None:
    # aliases {math, code, math_copy} = 3, models {m1, m2} = 2 -> compression 2/3
    out = teacher_routing_metrics(["math", "code", "math_copy", "math"], TABLE)
    assert out == {"teacher_alias_unique": 3.0, "teacher_model_unique": 2.0, "teacher_alias_to_model_compression": 2 / 3}


def _perturb(model: torch.nn.Module) -> None:
    """build_model initialises deterministically: make a second model that disagrees with the first."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))


def test_each_row_comes_from_its_own_teacher_only() -> None:
    torch.manual_seed(0)
    a, b = (build_model(ModelSizeConfig(hidden_size=16, num_layers=1), 12) for _ in range(2))
    _perturb(b)
    ids = torch.randint(0, 12, (4, 5))
    out = routed_teacher_logprobs({"a": a, "b": b}, ids, ["b", "a", "b", "a"], batch_size=1)
    assert torch.allclose(out[[1, 3]], compute_logprobs(a, ids[[1, 3]]), atol=1e-6)
    assert torch.allclose(out[[0, 2]], compute_logprobs(b, ids[[0, 2]]), atol=1e-6)
    assert not torch.allclose(out[0], compute_logprobs(a, ids[:1])[0])  # a's opinion of row 0 was not used


def test_gap_metrics_by_hand() -> None:
    teacher = torch.tensor([[0.0, -0.2, -0.4], [0.0, -3.0, -1.0]])
    student = torch.tensor([[0.0, -1.0, -1.0], [0.0, -1.0, -1.0]])
    mask = torch.tensor([[0, 1, 1], [0, 1, 1]])
    out = gap_metrics(teacher, student, mask, ["a", "b"])
    # a: (0.8 + 0.6) / 2 = 0.7; b: (-2 + 0) / 2 = -1; all: (0.8 + 0.6 - 2 + 0) / 4 = -0.15
    assert math.isclose(out["teacher_student_logprob_gap_mean/a"], 0.7, abs_tol=1e-6)
    assert math.isclose(out["teacher_student_logprob_gap_mean/b"], -1.0, abs_tol=1e-6)
    assert math.isclose(out["teacher_student_logprob_gap_mean"], -0.15, abs_tol=1e-6)


def test_agent_refs_default_to_the_empty_name() -> None:
    assert agent_refs_of([{"agent_ref": {"name": "x"}}, {"prompt": "1+1"}]) == [{"name": "x"}, {"name": ""}]


def test_teachers_must_share_the_vocabulary() -> None:
    cfg = OnPolicyDistillationConfig(True, {"math": "m1"})
    with pytest.raises(ConfigError, match="teacher_model_by_agent_name.math='m1'.*12 output tokens"):
        load_teachers(cfg, {"m1": build_model(ModelSizeConfig(hidden_size=16, num_layers=1), 12)}, "cpu", 20)


def _recipe(*extra: str):
    return load_recipe("grpo_math", ["grpo.num_prompts_per_step=4", "grpo.num_generations_per_prompt=2",
                                     "policy.train_global_batch_size=8", "policy.train_micro_batch_size=8",
                                     "rl_lab.init_checkpoint=null", "grpo.val_at_start=false", "grpo.val_at_end=false",
                                     "logger.log_dir=null", "grpo.max_num_steps=1", *extra], profile="smoke")


def test_opd_without_teachers_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="opd needs teachers: set on_policy_distillation.enabled=true"):
        train_grpo(_recipe("grpo.adv_estimator.name=opd"), progress=False)


def test_grpo_step_with_two_teachers_routes_by_agent() -> None:
    from rl_lab.data import load_task
    from rl_lab.environments import MathEnvironment
    from rl_lab.policy import build_policy

    cfg = _recipe("grpo.adv_estimator.name=opd", "loss_fn.reference_policy_kl_penalty=0.0", "loss_fn.disable_ppo_ratio=true",
                  "on_policy_distillation.enabled=true", "on_policy_distillation.default_teacher_alias=self",
                  "on_policy_distillation.teacher_model_by_agent_name={self: own-start, other: stranger}")
    policy = build_policy(cfg)
    stranger = build_model(cfg.rl_lab.model, policy.tokenizer.vocab_size)
    _perturb(stranger)
    teachers = load_teachers(cfg.on_policy_distillation, {"own-start": policy.model, "stranger": stranger}, "cpu",
                             policy.tokenizer.vocab_size)
    train, _ = load_task(cfg.rl_lab.task)
    prompts = [{**train[0], "agent_ref": {"name": "other"}}, train[1], train[2], {**train[3], "agent_ref": {"name": "other"}}]
    metrics = grpo_step(policy, teachers["self"], prompts, MathEnvironment(), cfg, teachers=teachers)
    # the "self" teacher is a copy of the policy before the update: its gap is exactly 0
    assert metrics["teacher_student_logprob_gap_mean/self"] == 0.0
    assert metrics["teacher_student_logprob_gap_mean/other"] != 0.0
    assert metrics["teacher_alias_unique"] == 2.0 and metrics["teacher_model_unique"] == 2.0


def test_a_teacher_not_passed_is_a_clear_error() -> None:
    cfg = OnPolicyDistillationConfig(True, {"math": "m1", "code": "m2"})
    with pytest.raises(ConfigError, match=r"names \['m2'\], but no such teacher was passed: pass teachers=\{'m2': "
                                          r"get_checkpoint\('m2'\)\}"):
        load_teachers(cfg, {"m1": build_model(ModelSizeConfig(hidden_size=16, num_layers=1), 20)}, "cpu", 20)


def test_run_train_fetches_each_named_teacher_once(monkeypatch) -> None:
    import rl_lab.run as run

    fetched, seen = [], {}
    monkeypatch.setattr(run, "get_checkpoint", lambda name, profile=None: fetched.append(name) or f"<{name}>")
    monkeypatch.setitem(run.TRAINERS, "grpo", lambda cfg, model, profile, **kw: seen.update(kw))
    cfg = _recipe("on_policy_distillation.enabled=true",
                  "on_policy_distillation.teacher_model_by_agent_name={a: m1, b: m2, c: m1}")
    run.train(cfg, teachers={"m2": "given"})
    # m1 is named twice and fetched once; m2 was passed and is not fetched
    assert fetched == ["m1"]
    assert seen["teachers"] == {"m1": "<m1>", "m2": "given"}
