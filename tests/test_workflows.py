"""GitHub workflows (.github/workflows/): valid YAML, every make target, script and path they name exists,
and the cheap local commands they run pass here."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
# Paths a workflow creates itself (build outputs, checkouts, the venv): not expected in the tree.
GENERATED = ("book/_build", "public", ".venv", "test-artifacts", "nemo-rl", "node_modules")


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def steps(data: dict):
    for job_name, job in data["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.M)) - {".PHONY"}


def commands(run: str) -> list[list[str]]:
    """Each shell command of a run: block as tokens (variables and redirections left as they are)."""
    out = []
    for line in run.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            part = part.strip()
            if part and not part.startswith("#"):
                try:
                    out.append(shlex.split(part))
                except ValueError:
                    out.append(part.split())
    return out


def test_the_three_workflows_exist():
    assert {p.name for p in FILES} >= {"pr.yml", "main.yml", "gpu-notebooks.yml"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_workflow_is_valid(path):
    data = load(path)
    assert data.get("name") and data.get("on") and data.get("jobs"), f"{path.name}: name, on and jobs are required"
    for job_name, job in data["jobs"].items():
        assert job.get("runs-on"), f"{path.name}: job {job_name} has no runs-on"
        assert job.get("steps"), f"{path.name}: job {job_name} has no steps"
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), f"{path.name}/{job_name}: a step has run or uses: {step}"
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+", step["uses"]), \
                    f"{path.name}/{job_name}: pin {step['uses']!r} to a major version (owner/action@vN)"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_make_targets_scripts_and_paths_exist(path):
    targets = make_targets()
    markers = {m.split(":")[0] for m in tomllib.loads((ROOT / "pyproject.toml").read_text())
               ["tool"]["pytest"]["ini_options"]["markers"]}
    problems = []
    for job_name, step in steps(load(path)):
        for cmd in commands(step.get("run", "")):
            words = [w for w in cmd if "=" not in w or w.startswith("-")]  # drop VAR=value prefixes
            if words[:1] == ["make"]:
                problems += [f"make {t}" for t in words[1:] if not t.startswith("-") and t not in targets]
            for i, word in enumerate(words):
                if word == "-m" and i > 0 and words[i - 1] == "pytest":
                    continue
                if i > 0 and words[i - 1] == "-m" and "pytest" in words[:i]:
                    used = set(re.findall(r"[a-z_]+", word)) - {"not", "and", "or"}
                    problems += [f"pytest marker {m!r}" for m in used - markers]
                    continue
                if re.fullmatch(r"[\w.-]+(/[\w.*-]*)+", word) and not word.startswith(("-", "http")):
                    rel = word.rstrip("/")
                    if rel.startswith(GENERATED) or rel.startswith("/"):
                        continue
                    if not (ROOT / rel).exists():
                        problems.append(f"path {word}")
        for key in ("path",):
            value = (step.get("with") or {}).get(key)
            if value and not str(value).startswith(GENERATED) and not (ROOT / str(value)).exists():
                problems.append(f"with.{key} {value}")
    assert not problems, f"{path.name}: missing {problems}"


def test_make_targets_the_workflows_use_dry_run_here():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    used = set()
    for path in FILES:
        for _, step in steps(load(path)):
            for cmd in commands(step.get("run", "")):
                words = [w for w in cmd if "=" not in w]
                if words[:1] == ["make"]:
                    used.update(w for w in words[1:] if not w.startswith("-"))
    assert {"book", "setup", "browser-deps", "notebooks-full"} <= used
    for target in sorted(used):
        out = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 0, f"make -n {target}: {out.stderr}"


def test_pr_workflow_runs_the_strict_smoke_build_the_tests_and_the_browser_suite():
    data = load(WORKFLOWS / "pr.yml")
    job = data["jobs"]["build-and-test"]
    assert job["env"]["RL_LAB_PROFILE"] == "smoke"
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "make book" in runs and "-m browser" in runs and '-m "not browser"' in runs
    assert "-W -n" in (ROOT / "Makefile").read_text()  # `make book` is the strict build
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert any(s["with"]["path"] == "book/_build/html" for s in uploads)
    # the browser tests it runs collect here
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "browser", "tests/browser"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "test_site.py" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]


def test_main_workflow_builds_against_the_pinned_nemo_rl_and_publishes_versions(tmp_path):
    data = load(WORKFLOWS / "main.yml")
    tag = data["env"]["NEMO_RL_TAG"]
    assert (ROOT / "book" / "_data" / "nemo_rl" / f"{tag}.json").is_file(), f"no facts manifest for {tag}"
    build = data["jobs"]["build"]
    assert build["env"]["NEMO_RL_SRC"].endswith("/nemo-rl")
    checkout = next(s for s in build["steps"] if (s.get("with") or {}).get("repository") == "NVIDIA-NeMo/RL")
    assert checkout["with"]["ref"] == "${{ env.NEMO_RL_TAG }}" and checkout["with"]["path"] == "nemo-rl"
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())["sphinx"]["config"]
    versions = {v["version"] for v in config["bookkit_versions"]}
    preferred = next(v["version"] for v in config["bookkit_versions"] if v.get("preferred"))
    assert data["env"]["PREFERRED_VERSION"] == preferred
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    for version in versions:
        assert f"BOOK_VERSION={version} make book" in runs and f"public/{version}" in runs
    # the site-root step, run here on a stand-in build
    root_step = next(s for s in build["steps"] if s.get("name", "").startswith("Site root"))
    (tmp_path / "public" / preferred).mkdir(parents=True)
    for name in ("versions1.json", "404.html"):
        (tmp_path / "public" / preferred / name).write_text(name)
    subprocess.run(["bash", "-euo", "pipefail", "-c", root_step["run"]], cwd=tmp_path, check=True,
                   env={"PATH": "/usr/bin:/bin", "PREFERRED_VERSION": preferred})
    index = (tmp_path / "public" / "index.html").read_text()
    assert f'url={preferred}/"' in index and (tmp_path / "public" / "404.html").read_text() == "404.html"
    assert (tmp_path / "public" / "versions1.json").is_file() and (tmp_path / "public" / ".nojekyll").is_file()


def test_gpu_workflow_documents_its_runner_and_runs_make_notebooks_full():
    text = (WORKFLOWS / "gpu-notebooks.yml").read_text()
    data = load(WORKFLOWS / "gpu-notebooks.yml")
    job = data["jobs"]["notebooks-full"]
    assert job["runs-on"] == ["self-hosted", "linux", "x64", "gpu-h100"]
    assert "24 GB" in text and "CUDA 12" in text  # the hardware it needs is written down
    assert job["env"]["RL_LAB_PROFILE"] == "full" and data["on"].get("schedule")
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "make notebooks-full" in runs
    assert "book/_build/executed-full" in (ROOT / "Makefile").read_text()
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "book/_build/executed-full"
    pin = re.search(r'"(torch==[^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pin, "the CUDA install step reads the torch pin from pyproject.toml"


def test_pr_workflow_runs_the_fresh_clone_check_under_other_numerics():
    job = load(WORKFLOWS / "pr.yml")["jobs"]["fresh-clone"]
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert ".ci/fresh-clone ${{ matrix.numerics }}" in runs
    numerics = " ".join(job["strategy"]["matrix"]["numerics"])
    assert "ATEN_CPU_CAPABILITY=default" in numerics and "RL_LAB_THREADS=2" in numerics


def test_fresh_clone_runs_both_commands_in_a_clean_clone_with_an_empty_cache(tmp_path):
    # A stand-in `make` records where and how it ran; the real commands take many minutes.
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "make.log"
    (fake / "make").write_text(
        "#!/usr/bin/env bash\n"
        f"echo \"$1 cwd=$PWD head=$(git rev-parse HEAD) cache=$RL_LAB_CACHE "
        f"cache_files=$(ls -A \"$RL_LAB_CACHE\" | wc -l) build=$(test -e book/_build && echo yes || echo no) "
        f"cap=$ATEN_CPU_CAPABILITY threads=$RL_LAB_THREADS\" >> {log}\n")
    (fake / "make").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    env.pop("ATEN_CPU_CAPABILITY", None)
    env.pop("FRESH_KEEP", None)  # a caller's FRESH_KEEP=1 would keep the clone this test expects removed
    out = subprocess.run([str(ROOT / ".ci" / "fresh-clone"), "ATEN_CPU_CAPABILITY=default", "RL_LAB_THREADS=2"],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["book", "test"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    for line in lines:
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        assert fields["head"] == head and fields["cwd"] != str(ROOT) and fields["cwd"].startswith(str(tmp_path))
        assert fields["cache"].startswith(str(tmp_path)) and fields["build"] == "no"
        assert fields["cap"] == "default" and fields["threads"] == "2"
    assert lines[0].split("cache_files=")[1].startswith("0"), "the model cache starts empty"
    assert not list(tmp_path.glob("nemo-rl-book-fresh.*")), "the clone is removed afterwards"
    bad = subprocess.run([str(ROOT / ".ci" / "fresh-clone"), "oops"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "VAR=value" in bad.stderr


def test_main_workflow_proves_rl_lab_against_the_nemo_rl_checkout():
    build = load(WORKFLOWS / "main.yml")["jobs"]["build"]
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    assert "tests/rl_lab/test_nemo_rl_parity.py" in runs and build["env"]["NEMO_RL_SRC"].endswith("/nemo-rl")


def test_main_workflow_resolves_the_book_commands_with_nemo_rl_own_loader():
    build = load(WORKFLOWS / "main.yml")["jobs"]["build"]
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    assert "tests/bookkit/test_book_commands_nemo_rl.py" in runs and build["env"]["NEMO_RL_SRC"].endswith("/nemo-rl")
    test = [s.get("run", "") for s in build["steps"]].index(
        next(r for r in (s.get("run", "") for s in build["steps"]) if "test_book_commands_nemo_rl" in r))
    make_setup = next(i for i, s in enumerate(build["steps"]) if "make setup" in s.get("run", ""))
    assert make_setup < test  # the test dependencies (omegaconf, hydra-core) are installed first
