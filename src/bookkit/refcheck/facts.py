"""Checks of :mod:`bookkit.refcheck` that need more than a name lookup (pure functions, no Sphinx).

Each catches a kind of mistake a page can make about NeMo RL while every name in it exists:

``worker``
    an ``NRL_NSYS_WORKER_PATTERNS`` entry that matches no worker NeMo RL profiles
    (manifest ``workers``), or, on a command whose ``--config`` the manifest has
    defaults for, patterns that name policy workers but not the one that config
    starts (``policy.megatron_cfg.enabled`` selects ``megatron_policy_worker``, else
    ``policy.dtensor_cfg._v2`` selects ``dtensor_policy_worker_v2`` over
    ``dtensor_policy_worker``; ``key=value`` overrides on the command count): such a
    command profiles no policy worker at all.
``flag``
    an option a script's argparse parser does not declare (manifest ``script_args``;
    a unique prefix is accepted, as argparse does).
``override``
    ``key=value`` arguments given to a script that accepts no extra arguments
    (``convert_dcp_to_hf.py`` reads the saved config instead).
``reexport``
    a list or table introduced by a line such as "importable from `nemo_rl.pkg`:" (or
    "all in", "available from", "exported by" ... ending with a colon) whose first
    column names something ``nemo_rl.pkg`` does not define or re-export.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from typing import Any, Iterator

import yaml

from bookkit.core.suggest import closest
from bookkit.refcheck.scan import FENCE_RE, Finding, Index, tokens_of

PATTERN_VAR = "NRL_NSYS_WORKER_PATTERNS"
LISTING_RE = re.compile(
    r"\b(?:importable|import|imported|available|all|exported|re-exported|re-exports?)\b[^`:]*?"
    r"\b(?:from|in|by)\s+`(nemo_rl(?:\.\w+)*)`", re.I)
FIRST_CODE_RE = re.compile(r"`([A-Za-z_]\w*)`")
SCRIPT_RE = re.compile(r"^(?:\./)?((?:examples|tools)/[\w./-]+\.py)$")
KEY_VALUE_RE = re.compile(r"^[+~]{0,2}[A-Za-z_][\w\-.]*=")
POLICY_FAMILIES = {  # the policy worker a config starts -> the names its workers report
    "megatron_policy_worker": {"megatron_policy_worker", "megatron_quant_policy_worker"},
    "dtensor_policy_worker_v2": {"dtensor_policy_worker_v2"},
    "dtensor_policy_worker": {"dtensor_policy_worker"},
}

MESSAGES = {
    "worker": "{var} entry {name!r} matches no NeMo RL worker (workers of the {tag} manifest: {context})",
    "worker-selected": "{var} {name!r} profiles no policy worker: {context}",
    "flag": "{name!r} is not an option of {context} (argparse rejects it; {tag} manifest)",
    "override": "{name!r}: {context} accepts no key=value overrides (argparse rejects them; {tag} manifest)",
    "reexport": "{name!r} is not importable from {context} (neither defined nor re-exported there in the "
                "{tag} manifest)",
}


def message(finding: Finding, tag: str) -> str:
    text = MESSAGES[finding.kind].format(var=PATTERN_VAR, name=finding.name, context=finding.context, tag=tag)
    return text + (f"; did you mean {finding.suggestion!r}?" if finding.suggestion else "")


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def selected_policy_worker(config: str, tokens: list[str], index: Index) -> tuple[str, str] | None:
    """(worker name, why) for the policy worker a command's config starts, when the manifest knows."""
    defaults = index.config_defaults.get(config)
    if defaults is None:
        return None
    overrides = {t.split("=", 1)[0].lstrip("+"): _scalar(t.split("=", 1)[1]) for t in tokens if KEY_VALUE_RE.match(t)}

    def get(key: str) -> Any:
        return overrides.get(key, defaults.get(key))

    if get("policy.megatron_cfg.enabled") is True:
        return "megatron_policy_worker", "policy.megatron_cfg.enabled is true"
    if get("policy.dtensor_cfg.enabled") is not True:
        return None
    if get("policy.dtensor_cfg._v2") is True:
        return "dtensor_policy_worker_v2", "policy.dtensor_cfg._v2 is true"
    return "dtensor_policy_worker", "policy.dtensor_cfg._v2 is false"


def _check_workers(no: int, tokens: list[str], config: str | None, index: Index) -> Iterator[Finding]:
    values = [t.split("=", 1)[1] for t in tokens if t.startswith(PATTERN_VAR + "=")]
    if not values or not index.workers:
        return
    patterns = [p.strip() for v in values for p in v.split(",") if p.strip()]
    for pattern in patterns:
        if not any(fnmatch.fnmatch(w, pattern) for w in index.workers):
            yield Finding(no, "worker", pattern, closest(pattern, index.workers), ", ".join(index.workers))
    selected = selected_policy_worker(config, tokens, index) if config else None
    if selected is None:
        return
    name, why = selected
    matched = {w for p in patterns for w in index.workers if fnmatch.fnmatch(w, p)}
    policy = {w for w in matched if "policy_worker" in w}
    if policy and not policy & POLICY_FAMILIES[name]:
        yield Finding(no, "worker-selected", ",".join(patterns), name,
                      f"{config} starts {name} ({why}), which no pattern matches")


def _check_script(no: int, tokens: list[str], index: Index) -> Iterator[Finding]:
    for i, tok in enumerate(tokens):
        match = SCRIPT_RE.match(tok)
        facts = index.script_args.get(match.group(1)) if match else None
        if facts is not None:
            break
    else:
        return
    script, flags = match.group(1), facts["flags"]
    for tok in tokens[i + 1:]:
        if tok in ("|", "&&", ";", "||", ">", "2>&1") or tok.startswith((">", "|")):
            break  # the next command of a pipeline or list
        if tok.startswith("-") and tok != "-" and not tok.startswith("---"):
            flag = tok.split("=", 1)[0]
            prefixed = [f for f in flags if f.startswith(flag)] if facts.get("abbrev", True) and flag.startswith("--") else []
            if flag not in flags and len(prefixed) != 1:
                accepted = ", ".join(f for f in flags if f not in ("-h", "--help")) or "no options"
                yield Finding(no, "flag", flag, closest(flag, flags), f"{script}, which accepts {accepted}")
        elif KEY_VALUE_RE.match(tok) and not facts["extra_args"] and not facts["positionals"]:
            yield Finding(no, "override", tok.split("=", 1)[0], None, script)


def _commands(text: str) -> Iterator[list[str]]:
    """The words of a command line, and separately those of each quoted command inside it
    (``COMMAND="uv run examples/run_sft.py ..." sbatch --nodes=1 ray.sub``)."""
    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        words = text.split()
    yield [w for w in words if " " not in w]
    for word in words:
        if " " in word:
            yield from _commands(word.split("=", 1)[1] if re.match(r"^\w+=", word) else word)


def check_command(no: int, text: str, index: Index) -> Iterator[Finding]:
    """Worker patterns, script options and overrides on one logical command line."""
    if PATTERN_VAR not in text and ".py" not in text:
        return
    for words in _commands(text):
        yield from _check_script(no, words, index)
    tokens = tokens_of(text)
    config = next((t.split("=", 1)[1] if "=" in t else tokens[j + 1]
                   for j, t in enumerate(tokens[:-1] if tokens else []) if t.split("=", 1)[0] == "--config"), None)
    yield from _check_workers(no, tokens, config and config.removeprefix("./"), index)


def check_listings(lines: list[str], index: Index) -> Iterator[Finding]:
    """Names in the first column of a list or table that a line claims a package exports."""
    fence = None
    module = None
    for no, line in enumerate(lines, 1):
        match = FENCE_RE.match(line)
        if match and fence is None:
            fence = match.group(2)
            continue
        if fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
            continue
        stripped = line.strip()
        claims = LISTING_RE.findall(line)
        if claims and stripped.endswith(":"):
            module, seen = claims[-1], False
            continue
        if module is None:
            continue
        if not stripped:
            if seen:
                module = None
            continue
        if not (stripped.startswith("|") or re.match(r"^([-*+]|\d+\.)\s", stripped)):
            module = None
            continue
        seen = True
        first = stripped.strip("|").split("|")[0] if stripped.startswith("|") else stripped
        code = FIRST_CODE_RE.search(first)
        if code and not index.known_name(f"{module}.{code.group(1)}"):
            name = code.group(1)
            elsewhere = sorted(d for d in index.dotted if d.endswith("." + name))
            pool = [d.rsplit(".", 1)[1] for d in index.dotted if d.count(".") == module.count(".") + 1
                    and d.startswith(module + ".")]
            yield Finding(no, "reexport", name, elsewhere[0] if elsewhere else closest(name, pool), f"`{module}`")
