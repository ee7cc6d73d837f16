"""Recipe loading, overrides and the ConfigError messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rl_lab.config import ConfigError, GRPORecipe, list_recipes, load_recipe, nemo_rl_keys, parse_override
from rl_lab.train import main


def test_all_recipes_load_as_frozen_typed_configs() -> None:
    for name in list_recipes():
        cfg = load_recipe(name, profile="smoke")
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.rl_lab.algorithm = "x"  # frozen
        assert not any(k.startswith("rl_lab.") for k in nemo_rl_keys(cfg))


def test_python_overrides_parse_yaml_scalars() -> None:
    cfg = load_recipe(
        "grpo_math",
        overrides=["grpo.num_prompts_per_step=8", "loss_fn.ratio_clip_c=3", "policy.optimizer.kwargs.lr=3e-4",
                   "grpo.normalize_rewards=false", "policy.generation.stop_strings=['x']"],
        profile="smoke",
    )
    assert isinstance(cfg, GRPORecipe)
    assert cfg.grpo.num_prompts_per_step == 8
    assert cfg.loss_fn.ratio_clip_c == 3.0 and isinstance(cfg.loss_fn.ratio_clip_c, float)
    assert cfg.policy.optimizer.kwargs.lr == 3e-4
    assert cfg.grpo.normalize_rewards is False
    assert cfg.policy.generation.stop_strings == ("x",)
    assert parse_override("++loss_fn.ratio_clip_c=null") == ("loss_fn.ratio_clip_c", None)


def test_unknown_override_key_message() -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe("grpo_math", overrides=["grpo.num_prompt_per_step=8"], profile="smoke")
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "unknown config key grpo.num_prompt_per_step" in msg
    assert "override 'grpo.num_prompt_per_step=8'" in msg
    assert "did you mean grpo.num_prompts_per_step?" in msg


def test_wrong_type_message_names_key_and_type() -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe("grpo_math", overrides=["grpo.num_prompts_per_step=many"], profile="smoke")
    msg = str(info.value)
    assert "grpo.num_prompts_per_step expects int" in msg and "'many'" in msg and "override" in msg
    with pytest.raises(ConfigError, match="loss_fn.token_level_loss expects bool"):
        load_recipe("grpo_math", overrides=["loss_fn.token_level_loss=3"], profile="smoke")


def test_typo_in_recipe_file_names_file_and_line(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "src/rl_lab/recipes/sft_addition.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  val_period:", "  val_perod:", 1))
    line = 1 + bad.read_text().splitlines().index("  val_perod: 200")
    with pytest.raises(ConfigError) as info:
        load_recipe(bad, profile="smoke")
    msg = str(info.value)
    assert f"bad.yaml:{line}" in msg and "did you mean sft.val_period?" in msg


def test_unknown_recipe_and_bad_override_syntax() -> None:
    with pytest.raises(ConfigError, match="did you mean grpo_math"):
        load_recipe("grpo_mat")
    with pytest.raises(ConfigError, match="key=value"):
        load_recipe("grpo_math", overrides=["grpo.max_num_steps"])


def test_cli_reports_config_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grpo_math", "grpo.max_num_step=5"]) == 2
    assert "did you mean grpo.max_num_steps?" in capsys.readouterr().err
    assert main(["--list"]) == 0
    assert "grpo_math" in capsys.readouterr().out


def test_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    from rl_lab.profiles import configure_threads, describe_run, resolve_profile

    monkeypatch.setenv("RL_LAB_PROFILE", "bogus")
    with pytest.raises(ValueError, match="RL_LAB_PROFILE"):
        resolve_profile()
    monkeypatch.setenv("RL_LAB_PROFILE", "full")
    cfg = load_recipe("sft_addition")
    assert cfg.policy.precision == "bfloat16" and cfg.rl_lab.model.hidden_size == 512
    monkeypatch.delenv("RL_LAB_PROFILE")
    monkeypatch.delenv("RL_LAB_THREADS", raising=False)
    assert configure_threads() == 1
    line = describe_run("smoke", echo=False)
    assert line.startswith("rl_lab profile=smoke device=cpu (") and "threads=1" in line and "torch=" in line
    monkeypatch.setenv("RL_LAB_THREADS", "zero")
    with pytest.raises(ValueError, match="RL_LAB_THREADS"):
        configure_threads()


def test_cli_runs_a_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sft_addition", "sft.max_num_steps=1", "sft.val_at_end=false", "logger.log_dir=null",
            "rl_lab.model.hidden_size=32", "rl_lab.model.num_layers=1", "--no-progress", "--profile", "smoke"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("rl_lab profile=smoke device=cpu")
