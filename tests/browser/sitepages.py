"""Which built pages the browser suites visit: section landings from _toc.yml and a notebook with a live widget."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "book" / "notebooks"


def section_landings() -> list[str]:
    """Every chapter of _toc.yml (a part's landing page) as a site path."""
    toc = yaml.safe_load((REPO / "book" / "_toc.yml").read_text(encoding="utf-8"))
    return [f"{c['file']}.html" for part in toc["parts"] for c in part["chapters"]]


def widget_notebook(site_html: Path) -> str:
    """The first built notebook page whose source links two widgets with jslink (skips if none)."""
    for nb in sorted(NOTEBOOKS.glob("*.ipynb")):
        if "jslink" in nb.read_text(encoding="utf-8") and (site_html / "notebooks" / f"{nb.stem}.html").is_file():
            return f"notebooks/{nb.stem}.html"
    pytest.skip(f"no notebook with a jslink widget is built under {site_html / 'notebooks'} "
                f"(sources: {sorted(p.name for p in NOTEBOOKS.glob('*.ipynb')) or 'none in book/notebooks/'})")
