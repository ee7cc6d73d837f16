"""The real book's table of contents: eight parts in order, every entry exists, every page listed."""

from __future__ import annotations

from pathlib import Path

import yaml

from bookhelpers import BOOK, PARTS, entries, toc
from bookkit.core.pages import SOURCE_SUFFIXES


def test_eight_parts_in_order_with_captions_and_folders():
    data = toc()
    assert data["format"] == "jb-book"
    assert [p["caption"] for p in data["parts"]] == [c for c, _ in PARTS]
    for part, (_, folder) in zip(data["parts"], PARTS):
        files = entries(part["caption"])
        assert files, f"part {part['caption']} is empty"
        # Learning Resources also lists the notebooks (book/notebooks/) under its tutorials and examples.
        allowed = (folder + "/", "notebooks/") if folder == "learning-resources" else (folder + "/",)
        assert all(f.startswith(allowed) for f in files), (part["caption"], files)
        assert part["chapters"][0]["file"] == f"{folder}/index"


def test_only_toc_files_are_built():
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    assert config["only_build_toc_files"] is True


def test_every_toc_entry_exists():
    files = [toc()["root"], *entries()]
    missing = [f for f in files if not any((BOOK / f"{f}{s}").exists() for s in SOURCE_SUFFIXES)]
    assert not missing, f"toc entries with no source file: {missing}"
    assert len(files) == len(set(files)), "a page is listed twice in _toc.yml"


def test_every_page_is_in_the_toc():
    listed = {toc()["root"], *entries()}
    skip = ("_build", "_templates", "_data", ".ipynb_checkpoints")
    pages = [p for p in BOOK.rglob("*") if p.suffix in SOURCE_SUFFIXES
             and not any(part in skip or part.startswith(".") for part in p.relative_to(BOOK).parts)
             and p.name != "README.md"]
    generated = [p for p in pages if (p.parent / ".generated").exists() or "/_generated/" in p.as_posix()]
    orphans = sorted(str(p.relative_to(BOOK)) for p in pages
                     if p not in generated and p.relative_to(BOOK).with_suffix("").as_posix() not in listed)
    assert not orphans, f"pages not in _toc.yml: {orphans}"
