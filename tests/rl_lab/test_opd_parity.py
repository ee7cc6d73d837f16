"""rl_lab.opd routes teachers as NeMo RL v0.7.0's ``nemo_rl.algorithms.opd`` does, called from ``NEMO_RL_SRC``.

Compared: the section's keys and defaults (``OnPolicyDistillationConfig``), the agent -> alias
routing with its fallback and strict mode (``resolve_reference_aliases``), the routing
diagnostics (``get_teacher_routing_metrics``), and the advantage of a batch whose rows come from
different teachers (``OPDAdvantageEstimator`` on rl_lab's routed log-probs). The shared-checkpoint
table (``create_teacher_worker_groups``) needs Ray and GPUs and is covered by hand-computed tests
in ``test_opd.py``.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from nemo_rl_import import import_nemo_rl
from rl_lab.advantages import AdvantageInputs, compute_advantages
from rl_lab.config import AdvEstimatorConfig, ConfigError, LossFnConfig, ModelSizeConfig, OnPolicyDistillationConfig
from rl_lab.models import build_model
from rl_lab.opd import resolve_reference_aliases, routed_teacher_logprobs, teacher_routing_metrics

TABLE = {"math": "ckpt/m1", "code": "ckpt/m2", "math_copy": "ckpt/m1"}
REFS = [{"name": n} for n in ("code", "chat", "math", "math_copy", "tool", "math")]


@pytest.fixture(scope="module")
def nemo():
    opd, adv = import_nemo_rl("nemo_rl.algorithms.opd", "nemo_rl.algorithms.advantage_estimator")
    return opd, adv


def test_keys_and_defaults_match(nemo) -> None:
    theirs = nemo[0].OnPolicyDistillationConfig().model_dump()
    ours = dataclasses.asdict(OnPolicyDistillationConfig())
    assert ours == theirs


@pytest.mark.parametrize("default", ["math", "code", None])
@pytest.mark.parametrize("strict", [False, True])
def test_routing_matches(nemo, default, strict) -> None:
    try:
        theirs = nemo[0].resolve_reference_aliases(REFS, TABLE, default_teacher_alias=default, strict_agent_name_match=strict)
    except ValueError:
        theirs = None
    try:
        ours = resolve_reference_aliases(REFS, TABLE, default, strict)
    except ConfigError:
        ours = None
    assert ours == theirs
    assert (ours is None) == (strict or default is None)  # both cases occur


def test_routing_metrics_match(nemo) -> None:
    for aliases in (["math", "code", "math_copy", "math"], ["math"], ["math", "math_copy"]):
        assert teacher_routing_metrics(aliases, TABLE) == {
            k.split("/")[1]: v for k, v in nemo[0].get_teacher_routing_metrics(aliases, TABLE).items()}


def test_advantage_of_a_routed_batch_matches(nemo) -> None:
    from parity_common import close

    torch.manual_seed(0)
    a, b = (build_model(ModelSizeConfig(hidden_size=16, num_layers=1), 12) for _ in range(2))
    with torch.no_grad():
        for p in b.parameters():
            p.add_(0.3 * torch.randn_like(p))
    ids = torch.randint(0, 12, (5, 6))
    teacher = routed_teacher_logprobs({"a": a, "b": b}, ids, ["a", "b", "b", "a", "b"], batch_size=2)
    student = torch.randn(5, 6).clamp(max=0) - 0.1
    mask = (torch.rand(5, 6) > 0.3).float()
    theirs = nemo[1].OPDAdvantageEstimator({"name": "opd"}, {}).compute_advantage(
        torch.arange(5), torch.zeros(5), mask, teacher_logprobs=teacher, prev_logprobs=student)
    ours = compute_advantages(AdvantageInputs(torch.zeros(5), torch.arange(5), mask, logprobs=student, teacher_logprobs=teacher),
                              AdvEstimatorConfig("opd"), LossFnConfig())
    close(ours, theirs, 1e-6)
