"""Grading a class with nbgrader: the solution notebooks as an nbgrader *source* course.

    python -m shiftlab.book.grading source OUT_DIR              # every chapter, one assignment each
    python -m shiftlab.book.grading source OUT_DIR 01_invariance_equivariance --assignment ps1
    python -m shiftlab.book.grading source OUT_DIR --force      # OUT_DIR is not empty: write anyway

writes ``OUT_DIR/nbgrader_config.py`` and ``OUT_DIR/source/ASSIGNMENT/NN_name.ipynb``, the input
of nbgrader's own commands (run in ``OUT_DIR``): ``nbgrader generate_assignment``, ``nbgrader
autograde``, ``nbgrader export``. Each solution notebook ``solutions/NN_name.ipynb`` becomes an
nbgrader source notebook in which

- every code cell with a ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block (nbgrader's own
  markers) is an *autograded answer* cell; nbgrader replaces the block with the same
  ``raise NotImplementedError(...)`` stub as the lesson, so the released notebook is the lesson;
- every check cell (the cell that calls the exercise's checker) is a locked *autograder test*
  cell worth ``points``. Its hidden part (between nbgrader's ``BEGIN HIDDEN TESTS`` and
  ``END HIDDEN TESTS`` lines, left out of the release and put back by ``nbgrader autograde``)
  sets ``SHIFTLAB_EXPECT=solved``, so a pending exercise (the stub) raises instead of printing ⏳
  and scores 0, and imports the checker again, so a learner who rebinds its name gains nothing;
- every other code cell is locked *read-only*: ``nbgrader autograde`` restores it, so the grade
  depends on the answer cells alone;
- the cells tagged ``solution`` (the worked explanations, and code cells that demonstrate a
  solution) are left out, as the lesson generator leaves them out. They explain the
  answer, so they must not reach the learners; and no exercise asks for a written explanation, so
  turning them into manually graded answers would grade a question nobody was asked and turn an
  autograded assignment into one that waits for a person. The instructor has them in
  ``solutions/``.

The command writes only into OUT_DIR, refuses an OUT_DIR that is not empty unless ``--force`` is
given (then it overwrites only the files it writes, and deletes nothing), and never touches
the repository's notebooks.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from IPython.display import Markdown

from shiftlab import _validate
from shiftlab.book.authoring import BEGIN, SOLUTION_TAG, STUB, notebook_text, stub_solutions
from shiftlab.book.course import course_root, lesson_exercises, notebook_checkers
from shiftlab.book.edition import plain_notebook, read_book
from shiftlab.exercises import EXPECT_ENV

POINTS_PER_EXERCISE = 1
"""Points of one exercise (one autograder test cell) unless ``--points`` says otherwise."""

CELL_TIMEOUT = 120
"""Seconds ``nbgrader autograde`` waits for one cell before it interrupts it (nbgrader's default
is 30); a learner's endless loop costs this much and scores 0 for that cell."""

COURSE_ID = "shiftlab"

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"

NAME = re.compile(r"^[A-Za-z0-9_-]+$")
"""What nbgrader accepts as an assignment name and a grade id."""


class GradingError(ValueError):
    """A solution notebook cannot be turned into an nbgrader notebook; the message says why."""


@dataclass(frozen=True)
class GradedExercise:
    """One autograded exercise of a source notebook: ``number`` ("1.2"), ``title``, ``points``."""

    number: str
    title: str
    points: int

    def __post_init__(self) -> None:
        _validate.text(self.number, "number")
        _validate.text(self.title, "title")
        _validate.positive_int(self.points, "points", high=1000)


def grade_id(number: str, suffix: str = "") -> str:
    """nbgrader's id of exercise ``number`` ("1.2" -> ``exercise_1_2``) and of its answer cells."""
    _validate.text(number, "number")
    _validate.text(suffix, "suffix")
    return "exercise_" + number.replace(".", "_") + (f"_{suffix}" if suffix else "")


def _nbgrader(grade_id: str, *, grade: bool = False, solution: bool = False,
              locked: bool = False, points: int | None = None) -> dict:
    """The ``nbgrader`` cell metadata (schema version 3, nbgrader 0.9)."""
    metadata = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
                "solution": solution, "task": False}
    if points is not None:
        metadata["points"] = points
    return metadata


def hidden_test(checker_module: str, checker_name: str) -> str:
    """The hidden head of an autograder test cell (see the module docstring)."""
    _validate.text(checker_module, "checker_module")
    _validate.text(checker_name, "checker_name")
    return "\n".join([
        HIDDEN_BEGIN,
        "# Put back by `nbgrader autograde`: under grading a pending exercise is an error and",
        "# scores 0, and the checker is the course's, whatever the notebook bound to its name.",
        "import os",
        f'os.environ["{EXPECT_ENV}"] = "solved"',
        f"from {checker_module} import {checker_name}",
        HIDDEN_END,
    ])


def _called_checkers(source: str, checkers: dict) -> list[str]:
    return [name for name in checkers if re.search(rf"\b{name}\s*\(", source)]


def source_notebook(solution: nbformat.NotebookNode, name: str,
                    points: int = POINTS_PER_EXERCISE
                    ) -> tuple[nbformat.NotebookNode, list[GradedExercise]]:
    """The nbgrader source notebook made from ``solution`` (left unchanged), and its exercises.

    name: the notebook's file name, for messages. points: what each exercise is worth.
    """
    _validate.notebook(solution, "solution")
    _validate.text(name, "name")
    _validate.positive_int(points, "points", high=1000)
    if isinstance(points, bool) or not isinstance(points, int):
        raise TypeError(f"points must be an int, got {type(points).__name__}")
    if points < 1:
        raise ValueError(f"points must be at least 1, got {points}")
    code = "\n".join(cell.source for cell in solution.cells if cell.cell_type == "code")
    checkers = notebook_checkers(code)
    if not checkers:
        raise GradingError(f"{name} calls no checker of shiftlab.exercises: nothing to grade")
    notebook = copy.deepcopy(solution)
    cells, exercises, answers = [], [], []
    for index, original in enumerate(solution.cells):
        where = f"{name}, cell {index}"
        if SOLUTION_TAG in original.get("metadata", {}).get("tags", []):
            continue  # left out of the release, as out of the lesson
        cell = copy.deepcopy(original)
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        called = _called_checkers(cell.source, checkers)
        has_answer = any(BEGIN.match(line) for line in cell.source.splitlines())
        if has_answer:
            stub_solutions(cell.source, where)  # the same structure checks as the lessons
            if called:
                raise GradingError(f"{where}: a solution block and a check cell in one cell; "
                                   "put the checker call in a cell of its own")
            answers.append(cell)
        elif called:
            if len(called) > 1:
                raise GradingError(f"{where}: one check cell per exercise, this one calls "
                                   f"{', '.join(called)}")
            checker = checkers[called[0]]
            number, _, title = checker.exercise_name.removeprefix("Exercise ").partition(": ")
            if any(exercise.number == number for exercise in exercises):
                raise GradingError(f"{where}: exercise {number} is checked twice")
            if not answers:
                raise GradingError(f"{where}: the check of exercise {number} follows no "
                                   "# BEGIN SOLUTION cell")
            for count, answer in enumerate(answers, start=1):
                answer.metadata["nbgrader"] = _nbgrader(
                    grade_id(number, "answer" if count == 1 else f"answer_{count}"),
                    solution=True)
            answers = []
            cell.source = hidden_test(checker.__module__, called[0]) + "\n" + cell.source
            cell.metadata["nbgrader"] = _nbgrader(grade_id(number), grade=True, locked=True,
                                                  points=points)
            exercises.append(GradedExercise(number, title, points))
        else:
            cell.metadata["nbgrader"] = _nbgrader(f"readonly_{cell.get('id', index)}",
                                                  locked=True)
    if answers:
        raise GradingError(f"{name}: a # BEGIN SOLUTION cell after the last check cell has "
                           "no check cell")
    notebook.cells = cells
    notebook.metadata.pop("widgets", None)
    notebook.metadata["shiftlab"] = {
        "generated_from": f"solutions/{name}",
        "note": "generated by `python -m shiftlab.book.grading source`; edit the solution instead",
    }
    return notebook, exercises


def nbgrader_config() -> str:
    """The text of ``nbgrader_config.py`` for the generated course."""
    return f'''"""nbgrader's configuration of the shiftlab course, written by
`python -m shiftlab.book.grading source`. Run nbgrader's commands in this folder (see the
instructor guide of the book: "Grading a class with nbgrader")."""

c = get_config()  # noqa: F821 (nbgrader's config loader provides get_config)

c.CourseDirectory.course_id = "{COURSE_ID}"

# The released answer cells get the same stub as the course's lessons/.
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}

# A submission that deleted an autograder test cell is graded on the source's copy, which
# nbgrader puts back (the default, False, would leave that exercise without a grade).
c.OverwriteCells.add_missing_cells = True

# Seconds a cell may run before nbgrader interrupts it (nbgrader's default: 30).
c.Execute.timeout = {CELL_TIMEOUT}
'''


def _solution_paths(root: Path, names: list[str] | None) -> list[Path]:
    solutions = sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if not solutions:
        raise GradingError(f"no solution notebooks in {root / 'solutions'}")
    if not names:
        return solutions
    wanted = {Path(name).stem for name in names}
    unknown = wanted - {path.stem for path in solutions}
    if unknown:
        raise GradingError(f"no solution notebook for {sorted(unknown)} in {root / 'solutions'}")
    return [path for path in solutions if path.stem in wanted]


def source_course(root: Path, names: list[str] | None = None, assignment: str | None = None,
                  points: int = POINTS_PER_EXERCISE
                  ) -> tuple[dict[Path, str], dict[str, list[GradedExercise]]]:
    """The files of the nbgrader source course, relative to its folder, with their text; and
    the exercises of each source notebook.

    names: only these solution notebooks (stems or file names; default all). assignment: put
    them all into one assignment of this name (default: one assignment per notebook, named
    after it).
    """
    root = _validate.path(root, "root", exists="dir")
    if names is not None:
        names = [_validate.text(name, "names[k]")
                 for name in _validate.sequence(names, "names", nonempty=False)]
    if assignment is not None:
        _validate.text(assignment, "assignment")
    _validate.positive_int(points, "points", high=1000)
    if assignment is not None and not NAME.match(assignment):
        raise ValueError(f"assignment must be letters, digits, '_' or '-' (nbgrader's rule), "
                         f"got {assignment!r}")
    files: dict[Path, str] = {Path("nbgrader_config.py"): nbgrader_config()}
    graded: dict[str, list[GradedExercise]] = {}
    course = read_book(root)
    for path in _solution_paths(root, names):
        # The prose in plain Markdown, as in lessons/: learners open the release in Jupyter.
        solution = plain_notebook(nbformat.read(path, as_version=4), course,
                                  f"solutions/{path.stem}", f"solutions/{path.name}")
        notebook, exercises = source_notebook(solution, path.name,
                                              points)
        folder = assignment or path.stem
        files[Path("source") / folder / path.name] = notebook_text(notebook)
        graded[f"{folder}/{path.stem}"] = exercises
    return files, graded


def grading_table(root: Path | None, points: int = POINTS_PER_EXERCISE) -> Markdown:
    """The assignments ``python -m shiftlab.book.grading source`` makes, one per chapter, with their
    autograded exercises and points, as a Markdown table.

    Read from ``root/lessons``, which are generated from the solutions and have the same check
    cells (a test holds them to it), so the table is right in the student edition of the book
    too, which has no ``solutions/``.
    """
    if root is not None:
        root = _validate.path(root, "root", exists="dir")
    _validate.positive_int(points, "points", high=1000)
    lessons = [] if root is None else sorted((Path(root) / "lessons").glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        raise FileNotFoundError(
            "no lesson notebooks in the course repository's lessons/: the grading table is "
            "read from them (open this page from a clone, or on Binder)")
    lines = ["| assignment | autograded exercises | points |", "|---|---|---|"]
    for lesson in lessons:
        numbers = [exercise.number for exercise in lesson_exercises(lesson)]
        lines.append(f"| `{lesson.stem}` | {', '.join(numbers)} | {points * len(numbers)} |")
    return Markdown("\n".join(lines))


def write_source_course(root: Path, out_dir: Path, names: list[str] | None = None,
                        assignment: str | None = None, points: int = POINTS_PER_EXERCISE,
                        force: bool = False) -> list[Path]:
    """Write ``source_course`` into ``out_dir``; return the paths written.

    An ``out_dir`` that exists and is not empty is refused unless ``force``; then only the
    files of the course are overwritten and nothing is deleted.
    """
    root = _validate.path(root, "root", exists="dir")
    out_dir = _validate.path(out_dir, "out_dir")
    if names is not None:
        names = [_validate.text(name, "names[k]")
                 for name in _validate.sequence(names, "names", nonempty=False)]
    if assignment is not None:
        _validate.text(assignment, "assignment")
    _validate.positive_int(points, "points", high=1000)
    force = _validate.boolean(force, "force")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise GradingError(f"{out_dir} is a file, not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise GradingError(f"{out_dir} is not empty; name an empty or new folder, or pass "
                           "--force to overwrite the course files in it (nothing is deleted)")
    files, _ = source_course(root, names, assignment, points)
    written = []
    for relative, text in files.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    argv = _validate.argv(argv)
    parser = argparse.ArgumentParser(prog="python -m shiftlab.book.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    source = commands.add_parser("source", help="write an nbgrader source course")
    source.add_argument("out_dir", type=Path, help="the course folder to write (new or empty)")
    source.add_argument("names", nargs="*",
                        help="only these solution notebooks (default: all of them)")
    source.add_argument("--assignment", help="one assignment of this name for all the notebooks "
                        "(default: one assignment per notebook, named after it)")
    source.add_argument("--points", type=int, default=POINTS_PER_EXERCISE,
                        help=f"points per exercise (default: {POINTS_PER_EXERCISE})")
    source.add_argument("--force", action="store_true",
                        help="write into a folder that is not empty (overwrites the course "
                        "files, deletes nothing)")
    source.add_argument("--root", type=Path, default=None,
                        help="the repository (default: the one around the current directory)")
    args = parser.parse_args(argv)
    root = args.root.resolve() if args.root else course_root()
    if root is None:
        parser.error("run this inside the course repository, or pass --root")
    try:
        written = write_source_course(root, args.out_dir, args.names, args.assignment,
                                      args.points, args.force)
    except (GradingError, ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    assignments = sorted({path.parent.name for path in written if path.suffix == ".ipynb"})
    print(f"next, in {args.out_dir}: " + "; ".join(
        f"nbgrader generate_assignment {name}" for name in assignments))
    return 0


if __name__ == "__main__":
    sys.exit(main())
