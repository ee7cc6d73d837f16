"""Tokenizer, message logs, padding, packing, BatchedDataDict, environments, generation."""

from __future__ import annotations

import random

import torch

from rl_lab.config import ModelSizeConfig
from rl_lab.data import (
    BatchedDataDict,
    addition_split,
    build_message_log,
    message_logs_to_batch,
    pack_first_fit,
    pack_sequences,
    preference_pairs,
    sliding_puzzle_split,
)
from rl_lab.environments import EnvironmentReturn, MathEnvironment, SlidingPuzzleEnvironment, solved_board
from rl_lab.generation import compute_logprobs, generate, sample_next_token
from rl_lab.models import build_model
from rl_lab.tokenizer import CharTokenizer

TOK = CharTokenizer()


def test_chat_template_and_message_log_masks() -> None:
    msgs = [{"role": "user", "content": "12+34"}, {"role": "assistant", "content": "46"}]
    assert TOK.apply_chat_template(msgs) == "<|user|>12+34<|assistant|>46<|eos|>"
    log = build_message_log(msgs, TOK)
    assert log[0]["token_loss_mask"].sum() == 0
    assert TOK.decode(log[1]["token_ids"], skip_special_tokens=False) == "46<|eos|>"
    batch = message_logs_to_batch([log, build_message_log(msgs[:1] + [{"role": "assistant", "content": "7"}], TOK)])
    assert batch["input_ids"].shape == (2, 10)
    assert batch["token_mask"].sum(-1).tolist() == [3, 2]
    assert batch["input_ids"][1, -1].item() == TOK.pad_token_id  # right padding


def test_split_is_disjoint_and_pairs_differ() -> None:
    train, val = addition_split(val_size=50, zero_pad=True)
    assert not {d["messages"][0]["content"] for d in val} & {d["messages"][0]["content"] for d in train}
    assert all(len(d["answer"]) == 3 for d in val)
    assert all(p["chosen"] != p["rejected"] for p in preference_pairs(val))


def test_packing_first_fit() -> None:
    assert pack_first_fit([5, 3, 4, 2], 7) == [[0, 3], [2, 1]]
    packed, seg, bins = pack_sequences([torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])], 4)
    assert packed.tolist() == [[1, 2, 3, 4], [5, 6, 0, 0]]
    assert seg.tolist() == [[1, 1, 1, 2], [1, 1, 0, 0]]


def test_batched_data_dict() -> None:
    b = BatchedDataDict(x=torch.arange(6), tag=list("abcdef"))
    assert [c["tag"] for c in b.shard_by_batch_size(3)] == [list("abc"), list("def")]
    rep = b.slice(0, 2).repeat_interleave(3)
    assert rep["x"].tolist() == [0, 0, 0, 1, 1, 1] and rep["tag"] == list("aaabbb")
    assert b.select_indices([5, 0])["tag"] == ["f", "a"]
    merged = BatchedDataDict.from_batches([BatchedDataDict(y=torch.ones(1, 2)), BatchedDataDict(y=torch.ones(2, 3))])
    assert merged["y"].shape == (3, 3) and merged.size == 3


def test_math_environment_contract() -> None:
    logs = [[{"role": "user", "content": "1+2"}, {"role": "assistant", "content": a}] for a in ("3", "4")]
    out = MathEnvironment().step(logs, [{"answer": "3"}, {"answer": "3"}])
    assert isinstance(out, EnvironmentReturn)
    assert out._fields == ("observations", "metadata", "next_stop_strings", "rewards", "terminateds", "answers")
    assert out.rewards.tolist() == [1.0, 0.0] and out.terminateds.all()


def test_sliding_puzzle_multi_turn() -> None:
    env = SlidingPuzzleEnvironment()
    meta = {"board": (1, 2, 0, 3), "size": 2, "moves": 0, "max_moves": 3}  # blank bottom-left
    out = env.step([[{"role": "assistant", "content": "U"}]], [meta])  # legal but wrong
    assert out.rewards.tolist() == [0.0] and not out.terminateds[0]
    assert out.observations[0] == {"role": "user", "content": "_2|13"}
    out2 = env.step([[{"role": "assistant", "content": "D"}]], out.metadata)  # undo
    out3 = env.step([[{"role": "assistant", "content": "R"}]], out2.metadata)  # solve on move 3
    assert out3.rewards.tolist() == [1.0] and out3.terminateds[0]
    bad = env.step([[{"role": "assistant", "content": "D"}]], [meta])  # off the board
    assert bad.terminateds[0] and bad.rewards[0] == 0
    train, val = sliding_puzzle_split(2, 2, 4, 10, 5, seed=0)
    assert all(d["metadata"]["board"] != solved_board(2) for d in train + val)


def test_sampling_and_generation() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([[0.0, 0.0, 10.0, 9.0]])
    assert sample_next_token(logits, temperature=0).item() == 2
    draws = {sample_next_token(logits, top_k=1, generator=g).item() for _ in range(20)}
    assert draws == {2}
    draws = {sample_next_token(logits, top_p=0.5, generator=g).item() for _ in range(20)}
    assert draws == {2}  # token 2 alone holds > 50% of the mass
    model = build_model(ModelSizeConfig(hidden_size=32, num_layers=1, intermediate_size=64), TOK.vocab_size, seed=0)
    prompts = [TOK.apply_chat_template([{"role": "user", "content": c}], tokenize=True) for c in ("1+1", "12+34")]
    out = generate(model, prompts, TOK, max_new_tokens=4, temperature=1.0, generator=g)
    assert len(out.texts) == 2 and all(len(r) <= 4 for r in out.response_ids)
    # left-padded generation gives the same greedy continuation as generating alone
    alone = generate(model, prompts[:1], TOK, max_new_tokens=4, temperature=0)
    together = generate(model, prompts, TOK, max_new_tokens=4, temperature=0)
    assert alone.response_ids[0] == together.response_ids[0]
    ids = torch.tensor([prompts[1]])
    lp = compute_logprobs(model, ids)
    assert lp.shape == ids.shape and lp[0, 0] == 0 and (lp[0, 1:] < 0).all()
    stop = generate(model, prompts, TOK, max_new_tokens=4, temperature=1.0, stop_strings=["1"], generator=g)
    assert all(t.count("1") <= 1 and (not t or "1" not in t[:-1]) for t in stop.texts)


def test_word_problems_and_arithmetic_tasks() -> None:
    from rl_lab.config import TaskConfig
    from rl_lab.data import load_task

    for name in ("arithmetic", "word_problem", "puzzle_moves"):
        train, val = load_task(TaskConfig(name=name, train_size=30, val_size=10, seed=random.randint(0, 9)))
        assert len(train) == 30 and len(val) == 10
        for d in train[:5]:
            TOK.apply_chat_template(d["messages"], tokenize=True)  # every character is in the vocabulary


def test_evaluate_recipe_pass_at_k_keys() -> None:
    from rl_lab.run import evaluate_recipe

    model = build_model(ModelSizeConfig(hidden_size=32, num_layers=1, intermediate_size=64), TOK.vocab_size, seed=0)
    out = evaluate_recipe("eval_addition", overrides=["rl_lab.task.val_size=8"], model=model, profile="smoke")
    assert set(out) == {"accuracy", "pass@2"} and 0 <= out["accuracy"] <= out["pass@2"] <= 1
