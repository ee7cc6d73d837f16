"""Benchmark rl_lab's smoke profile: SFT tokens/s, GRPO seconds per step, peak RSS.

Run: ``python benchmarks/bench_rl_lab.py``. Prints a table; asserts nothing.
Uses a fresh random model (no cached checkpoint) so the numbers only measure
compute, and one thread (see ``rl_lab.profiles.configure_threads``).
"""

from __future__ import annotations

import os
import resource
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RL_LAB_PROFILE", "smoke")

from rl_lab.config import load_recipe  # noqa: E402
from rl_lab.data import load_task, sft_batch  # noqa: E402
from rl_lab.grpo import train_grpo  # noqa: E402
from rl_lab.profiles import configure_threads, describe_run  # noqa: E402
from rl_lab.sft import train_sft  # noqa: E402
from rl_lab.tokenizer import CharTokenizer  # noqa: E402


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 2**20


def bench_sft(steps: int = 60) -> dict[str, float]:
    """SFT tokens per second (all tokens of the padded batch rows, prompt included)."""
    cpu0 = time.process_time()
    result = train_sft("sft_addition", [f"sft.max_num_steps={steps}", "sft.val_at_end=false", "logger.log_dir=null"], progress=False)
    cpu = time.process_time() - cpu0
    tps = result.metric("train/tokens_per_sec")[5:]  # skip warm-up steps
    cfg = load_recipe("sft_addition")
    mean_len = float(sft_batch(load_task(cfg.rl_lab.task)[0], CharTokenizer())["input_lengths"].float().mean())
    tokens = steps * cfg.policy.train_global_batch_size * mean_len
    return {"tokens_per_s_wall": sum(tps) / len(tps), "tokens_per_cpu_s": tokens / cpu, "cpu_s": cpu, "wall_s": result.wall_time_s}


def bench_grpo(steps: int = 5) -> dict[str, float]:
    """GRPO seconds per step at 16 prompts x 8 generations on the math task."""
    cpu0 = time.process_time()
    result = train_grpo(
        "grpo_math",
        [f"grpo.max_num_steps={steps}", "grpo.num_prompts_per_step=16", "grpo.num_generations_per_prompt=8",
         "grpo.val_at_start=false", "grpo.val_at_end=false", "rl_lab.init_checkpoint=null", "logger.log_dir=null"],
        progress=False,
    )
    cpu = time.process_time() - cpu0
    times = result.metric("train/step_time_s")
    return {"s_per_step_wall": sum(times[1:]) / max(1, len(times) - 1), "cpu_s_per_step": cpu / steps}


def main() -> None:
    """Runs both benchmarks and prints the table."""
    configure_threads()
    describe_run("smoke")
    sft = bench_sft()
    grpo = bench_grpo()
    rows = [
        ("SFT tokens/s (wall, batch 128)", f"{sft['tokens_per_s_wall']:,.0f}"),
        ("SFT tokens/s (per CPU second, incl. setup)", f"{sft['tokens_per_cpu_s']:,.0f}"),
        ("SFT 60 steps: CPU s / wall s", f"{sft['cpu_s']:.1f} / {sft['wall_s']:.1f}"),
        ("GRPO s/step (wall, 16 prompts x 8)", f"{grpo['s_per_step_wall']:.2f}"),
        ("GRPO CPU s/step (incl. setup)", f"{grpo['cpu_s_per_step']:.2f}"),
        ("peak RSS (MiB)", f"{peak_rss_mib():.0f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  value")
    print(f"{'-' * width}  -----")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
