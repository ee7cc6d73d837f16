"""bookkit releases: what changed between NeMo RL releases, and the committed pages being current."""

from __future__ import annotations

from pathlib import Path

from bookkit.nemorl import releases_page
from bookkit.nemorl.releases import counts, diff, grouped

ROOT = Path(__file__).resolve().parents[2]
A = "examples/configs/a.yaml"


def _m(tag, keys, defaults, extra_configs=(), modules=None, examples=()):
    configs = {A: sorted(keys), **{c: ["x"] for c in extra_configs}}
    return {"tag": tag, "configs": configs, "config_defaults": {A: defaults}, "modules": modules or {},
            "examples": list(examples)}


def test_renames_need_the_same_default_and_position():
    old = _m("v1", ["p", "p.chunk_size", "p.flag", "env", "env.mmau", "env.mmau.n", "env.mmau.r", "q", "q.lr"],
             {"p.chunk_size": 256, "p.flag": False, "env.mmau.n": 8, "env.mmau.r": [], "q.lr": 0.1})
    new = _m("v2", ["p", "p.fused_chunk_size", "p.other", "env", "env.vlm", "env.vlm.n", "env.vlm.r", "r", "r.lr"],
             {"p.fused_chunk_size": 256, "p.other": False, "env.vlm.n": 8, "env.vlm.r": [], "r.lr": 0.1})
    d = diff(old, new)
    renamed = {r: a for r, a, _ in d["keys"]["renamed"]}
    assert renamed == {"p.chunk_size": "p.fused_chunk_size", "env.mmau": "env.vlm", "env.mmau.n": "env.vlm.n",
                       "env.mmau.r": "env.vlm.r", "q": "r", "q.lr": "r.lr"}  # not p.flag -> p.other: unlike names
    assert d["keys"]["removed"][0] == ["env.mmau", 2]


def test_recipes_scripts_names_and_defaults():
    old = _m("v1", ["k"], {"k": 1}, ["examples/configs/gone.yaml"],
             {"nemo_rl.x": {"classes": ["A", "B"]}}, ["examples/run_a.py", "examples/util.py"])
    new = _m("v2", ["k"], {"k": 2}, ["examples/configs/new.yaml"],
             {"nemo_rl.x": {"classes": ["A"]}, "nemo_rl.y": {"functions": ["f"]}},
             ["examples/run_a.py", "examples/run_b.py", "examples/converters/c.py"])
    d = diff(old, new)
    assert d["recipes"] == {"added": ["examples/configs/new.yaml"], "removed": ["examples/configs/gone.yaml"]}
    assert d["scripts"] == {"added": ["examples/converters/c.py", "examples/run_b.py"], "removed": []}
    assert d["names"] == {"added": [["nemo_rl.y", 1]], "removed": [["nemo_rl.x.B", 0]]}
    assert d["defaults"] == [["k", 1, 2, [A]]]
    c = counts(d)
    assert c["public names added"] == 2 and c["defaults changed"] == 1 and c["recipes removed"] == 1


def test_grouped_folds_keys_under_a_new_section():
    assert grouped({"a", "a.b", "a.b.c", "d.e"}) == [["a", 2], ["d.e", 0]]


def test_committed_release_pages_are_current_and_in_the_toc(capsys):
    assert releases_page.main(["--data", str(ROOT / "book/_data/nemo_rl"),
                               "--out", str(ROOT / "book/references/releases"), "--check"]) == 0
    toc = (ROOT / "book/_toc.yml").read_text(encoding="utf-8")
    for name in releases_page.pages(ROOT / "book/_data/nemo_rl"):
        assert f"references/releases/{name.removesuffix('.md')}" in toc
    text = (ROOT / "book/references/releases/v0.7.0-to-main.md").read_text(encoding="utf-8")
    assert "| `grpo.num_val_generations_per_prompt` | `grpo.val_num_generations_per_prompt` |" in text
    assert "refcheck: false" in text and "7ea279abfbeb" in text


def test_check_reports_a_stale_page(tmp_path, capsys):
    assert releases_page.main(["--data", str(ROOT / "book/_data/nemo_rl"), "--out", str(tmp_path), "--check"]) == 1
    assert "run `bookkit releases` and commit" in capsys.readouterr().out
