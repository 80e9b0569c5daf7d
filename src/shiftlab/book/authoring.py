"""Authoring tools: generate the notebooks a learner is given, ``lessons/`` and ``notebooks/``.

**Lessons.** The solution notebooks are the single source of every exercise. In them

- solution code sits between a ``# BEGIN SOLUTION`` and an ``# END SOLUTION`` line, always inside
  a function (so the untouched lesson still runs top to bottom);
- markdown cells that explain a solution carry the cell tag ``solution``.

The lesson is the same notebook with each solution block replaced by
``raise NotImplementedError(...)`` at the block's indentation, the ``solution`` cells dropped, no
outputs, and its prose in plain Markdown (``shiftlab.book.edition``), since learners open it in
JupyterLab or Colab, which do not read MyST.

**The Jupyter edition** (``notebooks/book/``, ``notebooks/solutions/``): the chapters and the
solutions with their prose in plain Markdown, for JupyterLab, Binder, Colab and GitHub; the
book's launch and download buttons serve it (``shiftlab.book.edition``).

Run from the repository root::

    python -m shiftlab.book.authoring notebooks          # write lessons/ and notebooks/
    python -m shiftlab.book.authoring notebooks --check  # exit 1 if either is out of date
    python -m shiftlab.book.authoring lessons            # only lessons/ (--check, names as well)
    python -m shiftlab.book.authoring lessons 02_convolution   # only this lesson
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

from shiftlab import _validate
from shiftlab.book.edition import Book, EditionError, generate_edition, plain_notebook, read_book

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
SOLUTION_TAG = "solution"
STUB = 'raise NotImplementedError("Exercise: replace this line with your code")'


class AuthoringError(ValueError):
    """A solution notebook breaks the conventions above; the message names the cell and line."""


def stub_solutions(source: str, where: str = "cell") -> str:
    """Replace every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block by a stub line."""
    _validate.text(source, "source")
    _validate.text(where, "where")
    out: list[str] = []
    indent: str | None = None
    start = 0
    for number, line in enumerate(source.splitlines(), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if indent is not None:
                raise AuthoringError(f"{where}, line {number}: BEGIN SOLUTION inside another block")
            indent, start = begin["indent"], number
            if not indent:
                raise AuthoringError(
                    f"{where}, line {number}: a solution block at the top level of a cell would "
                    "make the lesson fail when run; put it inside a function"
                )
            out.append(indent + STUB)
        elif end:
            if indent is None:
                raise AuthoringError(f"{where}, line {number}: END SOLUTION without BEGIN")
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise AuthoringError(f"{where}, line {start}: BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out)


def lesson_from_solution(solution: nbformat.NotebookNode, name: str,
                         book: Book | None = None) -> nbformat.NotebookNode:
    """The lesson notebook generated from a solution notebook (which is left unchanged).

    book: the course's links and numbers (``shiftlab.book.edition.read_book``); with it the prose is
    written in plain Markdown, as the repository's lessons are.
    """
    _validate.notebook(solution, "solution")
    _validate.text(name, "name")
    if book is not None and not isinstance(book, Book):
        raise TypeError(f"book must be an edition.Book or None, got {type(book).__name__}")
    lesson = copy.deepcopy(solution)
    cells = []
    blocks = 0
    for index, cell in enumerate(solution.cells):
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        cell = copy.deepcopy(cell)
        if cell.cell_type == "code":
            blocks += sum(bool(BEGIN.match(line)) for line in cell.source.splitlines())
            cell.source = stub_solutions(cell.source, f"{name}, cell {index}")
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    if blocks == 0:
        raise AuthoringError(f"{name} has no # BEGIN SOLUTION block: nothing to turn into a lesson")
    lesson.cells = cells
    if book is not None:
        try:
            lesson = plain_notebook(lesson, book, f"solutions/{Path(name).stem}",
                                    f"solutions/{name}")
        except EditionError as error:
            raise AuthoringError(str(error)) from error
    lesson.metadata.pop("widgets", None)
    lesson.metadata["shiftlab"] = {
        "generated_from": f"solutions/{name}",
        "note": ("generated by `python -m shiftlab.book.authoring lessons`; edit the solution "
                 "instead"),
    }
    return lesson


def notebook_text(notebook: nbformat.NotebookNode) -> str:
    """The notebook as stored in the repository: nbformat's JSON and a final newline."""
    _validate.notebook(notebook, "notebook")
    return nbformat.writes(notebook) + "\n"


def generate_lessons(root: Path, names: list[str] | None = None) -> dict[Path, str]:
    """Map each ``lessons/NAME.ipynb`` path to the text generated from ``solutions/NAME.ipynb``.

    names: only these notebooks (file names or stems, e.g. ``01_invariance_equivariance``).
    """
    root = _validate.path(root, "root", exists="dir")
    if names is not None:
        names = [_validate.text(name, "names[k]")
                 for name in _validate.sequence(names, "names", nonempty=False)]
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    if names:
        wanted = {Path(name).stem for name in names}
        unknown = wanted - {path.stem for path in solutions}
        if unknown:
            raise AuthoringError(f"no solution notebook for {sorted(unknown)} in solutions/")
        solutions = [path for path in solutions if path.stem in wanted]
    if not solutions:
        raise AuthoringError(f"no solution notebooks in {root / 'solutions'}")
    book = _book(root)
    return {
        root / "lessons" / path.name: notebook_text(
            lesson_from_solution(nbformat.read(path, as_version=4), path.name, book)
        )
        for path in solutions
    }


def _book(root: Path) -> Book:
    try:
        return read_book(root)
    except (EditionError, OSError) as error:
        raise AuthoringError(f"cannot read the course in {root}: {error}") from error


def generate_notebooks(root: Path) -> dict[Path, str]:
    """Every generated notebook: ``lessons/`` and the Jupyter edition ``notebooks/``."""
    root = _validate.path(root, "root", exists="dir")
    generated = generate_lessons(root)
    try:
        generated.update(generate_edition(root, notebook_text, _book(root)))
    except EditionError as error:
        raise AuthoringError(str(error)) from error
    return generated


def stale_notebooks(root: Path) -> list[str]:
    """Generated notebooks that differ from what ``generate_notebooks`` writes, or whose source
    is gone."""
    root = _validate.path(root, "root", exists="dir")
    generated = generate_notebooks(root)
    stale = [str(path.relative_to(root)) for path, text in generated.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    from shiftlab.book.edition import EDITION_DIR

    existing = set((root / "lessons").glob("*.ipynb")) | set((root / EDITION_DIR).rglob("*.ipynb"))
    return stale + [f"{path.relative_to(root)} (no source any more)"
                    for path in sorted(existing - set(generated))]


def stale_lessons(root: Path, names: list[str] | None = None) -> list[str]:
    """Lessons that differ from what ``generate_lessons`` writes, or have no solution any more."""
    root = _validate.path(root, "root", exists="dir")
    if names is not None:
        names = [_validate.text(name, "names[k]")
                 for name in _validate.sequence(names, "names", nonempty=False)]
    generated = generate_lessons(root, names)
    stale = [
        str(path.relative_to(root))
        for path, text in generated.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    orphans = set() if names else set((root / "lessons").glob("*.ipynb")) - set(generated)
    return stale + [
        f"{path.relative_to(root)} (no solutions/{path.name})" for path in sorted(orphans)
    ]


def main(argv: list[str] | None = None) -> int:
    argv = _validate.argv(argv)
    parser = argparse.ArgumentParser(prog="python -m shiftlab.book.authoring", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    lessons = commands.add_parser("lessons", help="generate lessons/ from solutions/")
    lessons.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if lessons/ is out of date")
    lessons.add_argument("--root", type=Path, default=Path.cwd(),
                         help="the repository root (default: the current directory)")
    lessons.add_argument("names", nargs="*",
                         help="only these solution notebooks (default: all of them)")
    every = commands.add_parser("notebooks",
                                help="generate lessons/ and the Jupyter edition notebooks/")
    every.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 if a generated notebook is out of date")
    every.add_argument("--root", type=Path, default=Path.cwd(),
                       help="the repository root (default: the current directory)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.command == "notebooks":
        return _notebooks(root, args.check)
    if args.check:
        stale = stale_lessons(root, args.names)
        for path in stale:
            print(f"out of date: {path}")
        if stale:
            print("run `python -m shiftlab.book.authoring lessons` to regenerate them")
        return 1 if stale else 0
    (root / "lessons").mkdir(exist_ok=True)
    for path, text in generate_lessons(root, args.names).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(root)}")
    return 0


def _notebooks(root: Path, check: bool) -> int:
    if check:
        stale = stale_notebooks(root)
        for path in stale:
            print(f"out of date: {path}")
        if stale:
            print("run `python -m shiftlab.book.authoring notebooks` to regenerate them")
        return 1 if stale else 0
    for path, text in generate_notebooks(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(root)}")
    from shiftlab.book.edition import EDITION_DIR

    generated = set(generate_notebooks(root))
    for path in sorted(set((root / EDITION_DIR).rglob("*.ipynb")) - generated):
        print(f"no source any more: {path.relative_to(root)} (delete it if it is not yours)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
