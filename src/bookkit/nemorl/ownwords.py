"""Shared word runs between the book's prose and another set of Markdown pages.

The book explains NeMo RL in its own words. :func:`shared_runs` finds every run of
``n`` or more consecutive words that a book page shares with a reference page (NeMo
RL's ``docs/**/*.md``), outside code: fenced blocks, inline code, math, URLs, HTML
comments and tags, and MyST directive options are left out, so names, keys and
commands (facts both sides must spell the same way) never count. Words are
compared case-insensitively, ignoring punctuation.

Shingles of ``n`` words are hashed once per reference corpus (:class:`Corpus`), so a
book of a hundred pages checks in well under a second.

Examples:
    >>> ref = Corpus.from_texts({"docs/a.md": "The quick brown fox jumps over the lazy dog today."}, n=8)
    >>> runs = ref.shared_runs("Note: the quick brown fox jumps over the lazy dog, twice.")
    >>> [(r.line, r.length, r.source) for r in runs]
    [(1, 9, 'docs/a.md')]
    >>> ref.shared_runs("`the quick brown fox jumps over the lazy dog`")
    []
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bookkit.core.pages import notebook_cells

FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(?:\{([\w:-]+)\}|([\w+-]+))?")
OPTION_RE = re.compile(r"^\s*:[\w-]+:")
PROSE_DIRECTIVES = {  # fenced directives whose body is prose, not code
    "note", "tip", "warning", "important", "admonition", "seealso", "dropdown", "caution",
    "attention", "hint", "danger", "error", "card", "grid-item-card", "grid", "tab-set", "tab-item",
    "list-table", "figure", "glossary", "margin", "sidebar", "topic", "only-audience",
}
STRIP_RES = (
    re.compile(r"<!--.*?-->"),
    re.compile(r"\{[\w:-]+\}`[^`]*`"),     # roles
    re.compile(r"(`+).+?\1"),              # inline code
    re.compile(r"\$[^$\n]+\$"),            # inline math
    re.compile(r"\]\([^)]*\)"),            # link targets
    re.compile(r"https?://\S+"),
    re.compile(r"<[^>\n]+>"),              # HTML tags
)
CELL = "|"  # a table cell boundary: no run crosses it (a row of names is not a sentence)
WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Run:
    line: int       # 1-based line where the shared run starts on the checked page
    length: int     # words in the run
    source: str     # the reference page that has the same run
    source_line: int
    text: str       # the run's words, for the message


def prose_words(text: str) -> list[tuple[str, int]]:
    """``(word, line)`` for every prose word of a Markdown page (code and markup removed)."""
    words: list[tuple[str, int]] = []
    fences: list[tuple[str, bool]] = []  # (marker, body is code) of the open fences
    math = comment = False
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        match = FENCE_RE.match(line)
        if fences and fences[-1][1]:  # inside code: only its closing fence matters
            if match and _closes(stripped, fences[-1][0]):
                fences.pop()
            continue
        if match:
            if fences and _closes(stripped, fences[-1][0]):
                fences.pop()
            else:
                name = match.group(2) or match.group(3) or ""
                fences.append((match.group(1), name not in PROSE_DIRECTIVES))
            continue
        if stripped.startswith("$$"):
            if stripped == "$$" or not stripped.endswith("$$") or len(stripped) < 4:
                math = not math
            continue
        if math:
            continue
        if comment or ("<!--" in line and "-->" not in line):
            comment = "-->" not in line
            continue
        if OPTION_RE.match(line):
            continue
        for pattern in STRIP_RES:
            line = pattern.sub(" ", line)
        if not stripped.startswith(CELL):
            words += [(w, no) for w in WORD_RE.findall(line.lower())]
            continue
        for cell in line.lower().split(CELL):
            words += [(w, no) for w in WORD_RE.findall(cell)] + [(CELL, no)]
    return words


def _closes(stripped: str, marker: str) -> bool:
    """Whether a fence line closes an open fence with ``marker``."""
    return stripped.startswith(marker) and not stripped.strip(marker[0])


def notebook_text(source: str) -> str:
    """A notebook's Markdown cells joined (code cells left out, line count kept per cell)."""
    return "\n".join(text if kind == "markdown" else "\n" * text.count("\n") for kind, text in notebook_cells(source))


class Corpus:
    """Hashed ``n``-word shingles of reference pages, with where each first occurs."""

    def __init__(self, n: int = 8):
        self.n = n
        self.where: dict[int, tuple[str, int, int]] = {}  # hash -> (page, line, word index)
        self.words: dict[str, list[tuple[str, int]]] = {}

    @classmethod
    def from_texts(cls, pages: dict[str, str], n: int = 8) -> "Corpus":
        corpus = cls(n)
        for name, text in sorted(pages.items()):
            corpus.add(name, text)
        return corpus

    @classmethod
    def from_folder(cls, root: Path, pattern: str = "docs/**/*.md", n: int = 8) -> "Corpus":
        return cls.from_texts({p.relative_to(root).as_posix(): p.read_text(encoding="utf-8", errors="replace")
                               for p in sorted(root.glob(pattern))}, n)

    def add(self, name: str, text: str) -> None:
        words = prose_words(text)
        self.words[name] = words
        for i in range(len(words) - self.n + 1):
            shingle = tuple(w for w, _ in words[i:i + self.n])
            if CELL not in shingle:
                self.where.setdefault(hash(shingle), (name, words[i][1], i))

    def shared_runs(self, text: str) -> list[Run]:
        """Every maximal run of ``n`` or more words the text shares with one reference page."""
        words = prose_words(text)
        runs: list[Run] = []
        i = 0
        while i <= len(words) - self.n:
            shingle = tuple(w for w, _ in words[i:i + self.n])
            hit = None if CELL in shingle else self.where.get(hash(shingle))
            if hit is None:
                i += 1
                continue
            source, source_line, j = hit
            ref = self.words[source]
            length = self.n
            while i + length < len(words) and j + length < len(ref) \
                    and words[i + length][0] == ref[j + length][0] != CELL:
                length += 1
            runs.append(Run(words[i][1], length, source, source_line,
                            " ".join(w for w, _ in words[i:i + length])))
            i += length
        return runs
