"""Benchmark: how long each notebook takes, how long the book takes to build, how big its pages are.

Run from the repository root::

    python -m shiftlab.bench                 # notebooks, book build, page sizes
    python -m shiftlab.bench --skip-book     # notebooks only
    python -m shiftlab.bench --skip-notebooks --skip-book   # sizes of an existing _build/html

Budgets (from the course plan): every notebook ≤ 20 s on a 2-core machine, every chapter page
≤ 3 MB. The script reports and flags; it does not fail, because a time depends on the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK_DIRS = ("book", "solutions", "lessons")
NOTEBOOK_BUDGET_S = 20.0
PAGE_BUDGET_BYTES = 3_000_000
BOOK_BUILD_ARGUMENTS = ("build", ".", "--all", "--warningiserror", "--nitpick", "--keep-going")
"""The README's build command is ``jupyter-book`` with these arguments: every warning is an
error, so broken links and failed notebooks stop the build."""


def book_build_command() -> list[str]:
    """The README's build command, with the ``jupyter-book`` installed beside this Python."""
    beside = Path(sys.executable).with_name("jupyter-book")
    return [str(beside) if beside.exists() else "jupyter-book", *BOOK_BUILD_ARGUMENTS]


def execute_notebook(
    path: Path, *, env: dict[str, str] | None = None, timeout: int = 600
) -> tuple[nbformat.NotebookNode, float]:
    """Run every cell of the notebook at ``path`` in its own folder; return it and the seconds.

    ``env`` adds environment variables for the kernel (e.g. ``SHIFTLAB_EXPECT``). An error in a
    cell raises ``nbclient.exceptions.CellExecutionError``.
    """
    notebook = nbformat.read(path, as_version=4)
    kernel_env = {**os.environ, **(env or {})}
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute(env=kernel_env)
    return notebook, time.perf_counter() - start


def notebooks(root: Path) -> list[Path]:
    """Every notebook of the course, chapters first, then solutions, then lessons."""
    return [path for folder in NOTEBOOK_DIRS for path in sorted((root / folder).glob("*.ipynb"))]


def build_book(root: Path) -> float:
    """Build the HTML book into ``root/_build/html`` with the README's command; return seconds."""
    start = time.perf_counter()
    subprocess.run(book_build_command(), cwd=root, check=True)
    return time.perf_counter() - start


def page_sizes(html_root: Path) -> dict[str, tuple[int, int]]:
    """For each built page of the book: its HTML bytes, and those plus the images it loads."""
    sizes = {}
    for folder in NOTEBOOK_DIRS:
        for page in sorted((html_root / folder).glob("*.html")):
            text = page.read_text(encoding="utf-8")
            images = {
                (page.parent / source).resolve()
                for source in re.findall(r'<img[^>]+src="(?!data:)([^"#?]+)"', text)
            }
            extra = sum(image.stat().st_size for image in images if image.is_file())
            html_bytes = len(text.encode())
            sizes[str(page.relative_to(html_root))] = (html_bytes, html_bytes + extra)
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shiftlab.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root")
    parser.add_argument("--skip-notebooks", action="store_true", help="do not time the notebooks")
    parser.add_argument("--skip-book", action="store_true", help="do not build the book")
    args = parser.parse_args(argv)
    root = args.root.resolve()

    if not args.skip_notebooks:
        print(f"{'notebook':52} {'seconds':>8}")
        for path in notebooks(root):
            _, seconds = execute_notebook(path)
            flag = "  over budget" if seconds > NOTEBOOK_BUDGET_S else ""
            print(f"{path.relative_to(root)!s:52} {seconds:8.1f}{flag}", flush=True)
    if not args.skip_book:
        seconds = build_book(root)
        command = " ".join(["jupyter-book", *BOOK_BUILD_ARGUMENTS])
        print(f"\nbook build ({command}): {seconds:.1f} s", flush=True)
    html_root = root / "_build" / "html"
    if html_root.is_dir():
        print(f"\n{'page':52} {'HTML MB':>8} {'+ images MB':>12}")
        for page, (html_bytes, total) in page_sizes(html_root).items():
            flag = "  over budget" if total > PAGE_BUDGET_BYTES else ""
            print(f"{page:52} {html_bytes / 1e6:8.2f} {total / 1e6:12.2f}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
