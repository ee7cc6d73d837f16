"""Reading and writing the manifests in ``book/_data/nemo_rl/``: ``<release>.json`` or its gzip copy.

The branch manifest (``main.json.gz``) is committed compressed: 175 KB instead of 5.8 MB of JSON.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def dumps(manifest: dict) -> str:
    return json.dumps(manifest, indent=0, sort_keys=True, ensure_ascii=False) + "\n"


def load(path: str | Path) -> dict:
    """A manifest from ``<name>.json`` or its gzip copy ``<name>.json.gz``."""
    data = Path(path).read_bytes()
    return json.loads(gzip.decompress(data) if str(path).endswith(".gz") else data)


def manifest_file(folder: str | Path, release: str) -> Path:
    """``folder/<release>.json``, or ``<release>.json.gz`` where only the compressed copy exists
    (the branch manifest, several MB as JSON, is committed compressed)."""
    plain = Path(folder) / f"{release}.json"
    packed = plain.with_name(plain.name + ".gz")
    return packed if packed.is_file() and not plain.is_file() else plain


def encode(text: str, path: Path) -> bytes:
    """The bytes of ``text`` written to ``path``: gzip for ``.gz`` (no timestamp, so it is reproducible)."""
    data = text.encode("utf-8")
    return gzip.compress(data, compresslevel=9, mtime=0) if path.name.endswith(".gz") else data
