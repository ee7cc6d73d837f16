"""The pages refcheck reads: which text of a page is scanned, and ``bookkit refcheck`` over page files.

:func:`page_text` is shared by the extension (``source-read``), ``bookkit refcheck``,
``bookkit drift`` and the tests that load the book's commands with NeMo RL's own loader,
so all of them see a page, and a notebook's cells, the same way.
"""

from __future__ import annotations

from pathlib import Path

from bookkit.core.pages import FrontMatterError, notebook_cells, parse_markdown, parse_notebook
from bookkit.refcheck.scan import Index, scan


def page_text(path: Path, source: str) -> tuple[str, bool, list[str]]:
    """The text to scan (notebook: cell sources, joined), whether the page opted in,
    and for notebooks a "cell N, line M" label per line of that text."""
    is_nb = path.suffix == ".ipynb"
    try:
        fm = parse_notebook(path, source) if is_nb else parse_markdown(path, source)
        enabled = fm.data.get("refcheck", True) is not False
    except FrontMatterError:  # bookkit.content.frontmatter reports it
        enabled = True
    if not is_nb:
        return source, enabled, []
    texts = [src for _, src in notebook_cells(source)]
    labels = [f"cell {i}, line {j}" for i, t in enumerate(texts, 1)
              for j in range(1, len(t.split("\n")) + 1)]
    return "\n".join(texts), enabled, labels


def main(argv: list[str] | None = None) -> int:
    """``bookkit refcheck [PATH ...]``: the page check without a Sphinx build (exit 1 on findings)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="bookkit refcheck", description=main.__doc__)
    parser.add_argument("paths", nargs="*", default=["book"], help="pages or folders (default: book)")
    parser.add_argument("--manifest", default="book/_data/nemo_rl/v0.7.0.json")
    args = parser.parse_args(argv)

    index = Index(json.loads(Path(args.manifest).read_text(encoding="utf-8")))
    files: list[Path] = []
    for given in map(Path, args.paths):
        found = given.rglob("*") if given.is_dir() else [given]
        files += sorted(p for p in found if p.suffix in (".md", ".ipynb") and "_build" not in p.parts)
    count = 0
    for path in files:
        text, enabled, labels = page_text(path, path.read_text(encoding="utf-8"))
        for f in scan(text, index) if enabled else []:
            where = f" [{labels[f.line - 1]}]" if f.line <= len(labels) else ""
            print(f"{path}:{f.line}: {f.message(index.tag)}{where}")
            count += 1
    print(f"{count} unknown reference(s) in {len(files)} page(s)")
    return 1 if count else 0
