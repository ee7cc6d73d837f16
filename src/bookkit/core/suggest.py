"""The one "did you mean" of bookkit: the known name closest to an unknown one.

Every warning about an unknown name (a front-matter value, a document, a NeMo RL name,
path or config key, a recipe) names its closest known neighbour with :func:`closest`.
The browser's config checker (``static/bookkit-checkconfig-core.js``) has the same rule,
function for function, so both suggest the same key.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Iterable

#: Least similarity (difflib ratio, exclusive) of a suggestion, unless a caller asks otherwise.
CUTOFF = 0.6


def closest(name: str, candidates: Iterable[str], cutoff: float = CUTOFF) -> str | None:
    """The candidate most similar to ``name`` with a ratio above ``cutoff`` (ties: the smallest), or None."""
    best, score = None, cutoff
    for cand in sorted(set(candidates)):
        matcher = SequenceMatcher(None, name, cand, autojunk=False)
        # The quick ratios are upper bounds of the ratio: they only skip what cannot win.
        if matcher.real_quick_ratio() > score and matcher.quick_ratio() > score and matcher.ratio() > score:
            best, score = cand, matcher.ratio()
    return best
