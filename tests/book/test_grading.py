"""Grading a class with nbgrader: the source course that ``python -m shiftlab.book.grading source``
writes, and nbgrader's own commands run on it end to end with its SQLite gradebook.

The end-to-end tests (marked ``slow``) grade five submissions of chapter 1 with
``nbgrader generate_assignment``, ``nbgrader autograde`` and ``nbgrader export``: the solutions
score full marks, the untouched release zero, one wrong exercise loses exactly its points, and a
submission that edited or deleted its check cells is graded on the source's check cells.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from shiftlab.book.authoring import STUB
from shiftlab.book.course import lesson_exercises
from shiftlab.book.grading import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    GradingError,
    grade_id,
    grading_table,
    main,
    source_course,
    source_notebook,
    write_source_course,
)
from shiftlab.exercises import EXPECT_ENV

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
CHAPTER = "01_invariance_equivariance"
"""The chapter graded end to end (five exercises, about 5 s per submission)."""


def nbgrader_cells(notebook, **wanted):
    """The cells whose ``nbgrader`` metadata has every key of ``wanted`` with that value."""
    return [cell for cell in notebook.cells
            if all(cell.metadata.get("nbgrader", {}).get(key) == value
                   for key, value in wanted.items())]


def tiny_solution(*cells):
    """A solution notebook of the given (cell type, source, tags) cells."""
    notebook = nbformat.v4.new_notebook()
    for kind, source, tags in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        notebook.cells.append(make(source, metadata={"tags": list(tags)}))
    return notebook


IMPORT = ("code", "from shiftlab.exercises.invariance import check_circular_shift", ())
ANSWER = ("code", "def circular_shift(x, dy, dx):\n    # BEGIN SOLUTION\n    return x\n"
          "    # END SOLUTION", ())
CHECK = ("code", "check_circular_shift(circular_shift)", ())


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.stem)
def test_every_exercise_of_a_solution_becomes_one_locked_graded_test_cell(path):
    notebook, exercises = source_notebook(nbformat.read(path, as_version=4), path.name, points=3)
    tests = nbgrader_cells(notebook, grade=True)
    expected = [exercise.number for exercise in lesson_exercises(path)]
    assert [exercise.number for exercise in exercises] == expected
    assert [cell.metadata.nbgrader["grade_id"] for cell in tests] == [grade_id(n) for n in expected]
    for cell in tests:
        assert cell.metadata.nbgrader["locked"] and not cell.metadata.nbgrader["solution"]
        assert cell.metadata.nbgrader["points"] == 3
        hidden = cell.source.split(HIDDEN_END + "\n")[0]
        assert cell.source.startswith(HIDDEN_BEGIN)
        assert f'os.environ["{EXPECT_ENV}"] = "solved"' in hidden


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.stem)
def test_answer_cells_are_solution_cells_and_every_other_code_cell_is_locked(path):
    solution = nbformat.read(path, as_version=4)
    notebook, _ = source_notebook(solution, path.name)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            assert "nbgrader" not in cell.metadata
            continue
        meta = cell.metadata.nbgrader
        if "# BEGIN SOLUTION" in cell.source:
            assert meta["solution"] and not meta["grade"] and not meta["locked"]
            assert meta["grade_id"].endswith("_answer")
        else:
            assert meta["locked"] and not meta["solution"]
        assert cell.outputs == [] and cell.execution_count is None
    ids = [cell.metadata.nbgrader["grade_id"] for cell in notebook.cells
           if "nbgrader" in cell.metadata]
    assert len(ids) == len(set(ids)), "nbgrader needs a unique grade_id per cell"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.stem)
def test_worked_explanations_are_left_out_and_the_solution_is_unchanged(path):
    solution = nbformat.read(path, as_version=4)
    before = copy.deepcopy(solution)
    notebook, _ = source_notebook(solution, path.name)
    assert solution == before
    tagged = [cell for cell in solution.cells if "solution" in cell.metadata.get("tags", [])]
    assert tagged, "the solutions explain their answers in cells tagged 'solution'"
    assert len(notebook.cells) == len(solution.cells) - len(tagged)
    sources = {cell.source for cell in notebook.cells}
    assert not any(cell.source in sources for cell in tagged)


def test_the_hidden_head_makes_a_pending_exercise_an_error_and_imports_the_real_checker(
        monkeypatch):
    monkeypatch.setenv(EXPECT_ENV, "")  # a learner's session; put back after the test
    notebook, _ = source_notebook(tiny_solution(IMPORT, ANSWER, CHECK), "tiny.ipynb")
    (test,) = nbgrader_cells(notebook, grade=True)
    fake_checker = "def check_circular_shift(answer):\n    print('✅ passed')\n"
    stub = "def circular_shift(x, dy, dx):\n    raise NotImplementedError\n"
    scope: dict = {}
    exec(fake_checker + stub, scope)  # what a learner's answer cell might do
    with pytest.raises(AssertionError, match="still a stub"):
        exec(test.source, scope)


def test_a_check_cell_without_an_answer_before_it_is_refused():
    with pytest.raises(GradingError, match="follows no # BEGIN SOLUTION cell"):
        source_notebook(tiny_solution(IMPORT, CHECK), "tiny.ipynb")


def test_an_answer_without_a_check_cell_is_refused():
    with pytest.raises(GradingError, match="has no check cell"):
        source_notebook(tiny_solution(IMPORT, ANSWER, CHECK, ANSWER), "tiny.ipynb")


def test_a_notebook_without_a_checker_is_refused():
    with pytest.raises(GradingError, match="calls no checker"):
        source_notebook(tiny_solution(ANSWER), "tiny.ipynb")


def test_a_code_cell_tagged_solution_is_left_out_of_the_release_as_of_the_lesson():
    tagged = ("code", "x = 1", ("solution",))
    notebook, exercises = source_notebook(tiny_solution(IMPORT, tagged, ANSWER, CHECK),
                                          "tiny.ipynb")
    assert all(cell.source != "x = 1" for cell in notebook.cells)
    assert len(exercises) == 1


def test_an_answer_and_its_check_in_one_cell_are_refused():
    both = ("code", ANSWER[1] + "\ncheck_circular_shift(circular_shift)", ())
    with pytest.raises(GradingError, match="in one cell"):
        source_notebook(tiny_solution(IMPORT, both), "tiny.ipynb")


@pytest.mark.parametrize("points, error", [(0, ValueError), (1.5, TypeError), (True, TypeError)])
def test_points_must_be_a_positive_int(points, error):
    with pytest.raises(error, match="points"):
        source_notebook(tiny_solution(IMPORT, ANSWER, CHECK), "tiny.ipynb", points=points)


def test_an_assignment_name_nbgrader_rejects_is_refused():
    with pytest.raises(ValueError, match="assignment"):
        source_course(ROOT, [CHAPTER], assignment="problem set 1")


def test_an_unknown_notebook_name_is_refused():
    with pytest.raises(GradingError, match="no solution notebook for"):
        source_course(ROOT, ["99_nothing"])


def test_one_assignment_per_notebook_unless_one_is_named():
    files, _ = source_course(ROOT, [CHAPTER, "02_convolution_equivariance"])
    assert Path("source", CHAPTER, f"{CHAPTER}.ipynb") in files
    files, graded = source_course(ROOT, [CHAPTER, "02_convolution_equivariance"], "ps1")
    assert sorted(path.parent for path in files if path.suffix == ".ipynb") == [
        Path("source", "ps1")] * 2
    assert sorted(graded) == [f"ps1/{CHAPTER}", "ps1/02_convolution_equivariance"]


def test_the_config_gives_the_released_answers_the_lessons_stub():
    files, _ = source_course(ROOT, [CHAPTER])
    config = files[Path("nbgrader_config.py")]
    assert repr(STUB) in config
    assert "c.OverwriteCells.add_missing_cells = True" in config


def test_a_non_empty_folder_is_refused_and_force_deletes_nothing(tmp_path):
    mine = tmp_path / "notes.txt"
    mine.write_text("the instructor's own file")
    with pytest.raises(GradingError, match="not empty"):
        write_source_course(ROOT, tmp_path, [CHAPTER])
    assert sorted(tmp_path.iterdir()) == [mine]
    written = write_source_course(ROOT, tmp_path, [CHAPTER], force=True)
    assert mine.read_text() == "the instructor's own file"
    assert sorted(path.relative_to(tmp_path) for path in written) == [
        Path("nbgrader_config.py"), Path("source", CHAPTER, f"{CHAPTER}.ipynb")]


def test_a_file_is_not_a_course_folder(tmp_path):
    path = tmp_path / "course"
    path.write_text("")
    with pytest.raises(GradingError, match="is a file"):
        write_source_course(ROOT, path, [CHAPTER])


def test_the_command_refuses_a_non_empty_folder_with_exit_1(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("")
    assert main(["source", str(tmp_path), CHAPTER, "--root", str(ROOT)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["source", str(tmp_path / "new"), CHAPTER, "--root", str(ROOT)]) == 0
    assert (tmp_path / "new" / "source" / CHAPTER / f"{CHAPTER}.ipynb").is_file()


def test_the_guide_table_lists_what_the_command_grades_in_every_chapter():
    _, graded = source_course(ROOT)
    rows = grading_table(ROOT).data.splitlines()[2:]
    assert len(rows) == len(graded) == len(SOLUTIONS)
    for row, (key, exercises) in zip(rows, graded.items(), strict=True):
        _, name, numbers, points, _ = row.split("|")
        assert name.strip() == f"`{key.split('/')[0]}`"
        assert numbers.strip() == ", ".join(exercise.number for exercise in exercises)
        assert int(points) == sum(exercise.points for exercise in exercises)


def test_the_guide_table_needs_no_solutions(tmp_path):
    shutil.copytree(ROOT / "lessons", tmp_path / "lessons")  # the student edition's sources
    assert grading_table(tmp_path).data == grading_table(ROOT).data


def test_the_guide_table_needs_the_repository():
    with pytest.raises(FileNotFoundError, match="lessons/"):
        grading_table(None)


# --- nbgrader end to end ----------------------------------------------------------------------

def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in ``course`` as an instructor would: its nbgrader_config.py, no
    user-wide Jupyter configuration, and no SHIFTLAB_EXPECT (the hidden tests must set it)."""
    env = {key: value for key, value in os.environ.items() if key != EXPECT_ENV}
    env["JUPYTER_CONFIG_DIR"] = str(course / ".jupyter")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True)


def cell_by_id(notebook, grade):
    (cell,) = nbgrader_cells(notebook, grade_id=grade)
    return cell


def submissions(release: nbformat.NotebookNode, solution: nbformat.NotebookNode):
    """What five learners hand in, by student id."""
    answers = {cell.id: cell.source for cell in solution.cells}

    def solved():
        notebook = copy.deepcopy(release)
        for cell in nbgrader_cells(notebook, solution=True):
            cell.source = answers[cell.id]
        return notebook

    wrong_1_2 = "def my_equivariance_error(f, x, g, g_out):\n    return 0.0\n"
    one_wrong = solved()
    cell_by_id(one_wrong, "exercise_1_2_answer").source = wrong_1_2

    tampered = solved()
    # 1.1 right, its check cell deleted; 1.2 wrong, its check cell replaced by a ✅;
    # 1.3 wrong, and the answer cell rebinds the checker to one that always passes;
    # 1.4 still the stub, its check cell deleted; 1.5 right, its check cell stripped of its
    # nbgrader metadata and emptied.
    cell_by_id(tampered, "exercise_1_2_answer").source = wrong_1_2
    cell_by_id(tampered, "exercise_1_2").source = 'print("✅ Exercise 1.2: passed")'
    cell_by_id(tampered, "exercise_1_3_answer").source = (
        "def my_predictions():\n    return dict.fromkeys('abcdef', 'invariant')\n\n"
        "def check_predictions(answer):\n    print('✅ Exercise 1.3: passed')\n")
    cell_by_id(tampered, "exercise_1_4_answer").source = cell_by_id(
        release, "exercise_1_4_answer").source
    stripped = cell_by_id(tampered, "exercise_1_5")
    del stripped.metadata["nbgrader"]
    stripped.source = "pass"
    tampered.cells = [cell for cell in tampered.cells
                      if cell.metadata.get("nbgrader", {}).get("grade_id")
                      not in ("exercise_1_1", "exercise_1_4")]
    return {"solved": solved(), "untouched": copy.deepcopy(release), "one_wrong": one_wrong,
            "tampered": tampered}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """A course of chapter 1 generated, released, submitted by five learners, autograded and
    exported with nbgrader's commands. Returns the course folder."""
    course = tmp_path_factory.mktemp("course")
    assert main(["source", str(course), CHAPTER, "--root", str(ROOT)]) == 0
    result = nbgrader(course, "generate_assignment", CHAPTER)
    assert result.returncode == 0, result.stderr[-3000:]
    release = nbformat.read(course / "release" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / f"{CHAPTER}.ipynb", as_version=4)
    for student, notebook in submissions(release, solution).items():
        folder = course / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{CHAPTER}.ipynb")
    result = nbgrader(course, "autograde", CHAPTER)
    assert result.returncode == 0, result.stderr[-3000:]
    result = nbgrader(course, "export")
    assert result.returncode == 0, result.stderr[-3000:]
    return course


def scores(course: Path, student: str) -> dict[str, float]:
    """The autograded score of each test cell of the student's notebook, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(CHAPTER, CHAPTER, student)
        return {grade.name: grade.auto_score for grade in notebook.grades}


def exported(course: Path) -> dict[str, tuple[float, float]]:
    """``nbgrader export``'s grades.csv: (score, max_score) by student."""
    with open(course / "grades.csv", newline="", encoding="utf-8") as file:
        return {row["student_id"]: (float(row["score"]), float(row["max_score"]))
                for row in csv.DictReader(file)}


EXERCISES = [grade_id(f"1.{k}") for k in range(1, 6)]


@pytest.mark.slow
def test_the_released_notebook_is_the_lesson(graded_class):
    release = json.loads((graded_class / "release" / CHAPTER / f"{CHAPTER}.ipynb").read_text())
    lesson = json.loads((ROOT / "lessons" / f"{CHAPTER}.ipynb").read_text())
    assert [(cell["cell_type"], "".join(cell["source"])) for cell in release["cells"]] == [
        (cell["cell_type"], "".join(cell["source"])) for cell in lesson["cells"]]
    for cell in release["cells"]:
        marks = cell["metadata"].get("nbgrader", {})
        if marks.get("solution") or marks.get("grade"):  # answers and checks stay in place
            assert cell["metadata"]["deletable"] is False
        if marks.get("locked"):
            assert cell["metadata"]["editable"] is False


@pytest.mark.slow
def test_the_solutions_score_full_marks(graded_class):
    assert scores(graded_class, "solved") == dict.fromkeys(EXERCISES, 1.0)
    assert exported(graded_class)["solved"] == (5.0, 5.0)


@pytest.mark.slow
def test_the_untouched_release_scores_zero(graded_class):
    assert scores(graded_class, "untouched") == dict.fromkeys(EXERCISES, 0.0)
    assert exported(graded_class)["untouched"] == (0.0, 5.0)


@pytest.mark.slow
def test_one_wrong_exercise_loses_exactly_its_points(graded_class):
    assert scores(graded_class, "one_wrong") == {**dict.fromkeys(EXERCISES, 1.0),
                                                 "exercise_1_2": 0.0}
    assert exported(graded_class)["one_wrong"] == (4.0, 5.0)


@pytest.mark.slow
def test_edited_and_deleted_check_cells_are_graded_as_the_source_wrote_them(graded_class):
    assert scores(graded_class, "tampered") == {
        "exercise_1_1": 1.0, "exercise_1_2": 0.0, "exercise_1_3": 0.0, "exercise_1_4": 0.0,
        "exercise_1_5": 1.0}
    assert exported(graded_class)["tampered"] == (2.0, 5.0)
    graded = nbformat.read(graded_class / "autograded" / "tampered" / CHAPTER / f"{CHAPTER}.ipynb",
                           as_version=4)
    source = nbformat.read(graded_class / "source" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    for grade in EXERCISES:
        (cell,) = nbgrader_cells(graded, grade_id=grade)
        assert cell.source.endswith(cell_by_id(source, grade).source)
        assert HIDDEN_BEGIN in cell.source


@pytest.mark.slow
def test_a_submission_without_an_answer_and_its_check_is_not_scored_silently(graded_class):
    # nbgrader 0.9.6 cannot put back a test cell whose answer cell is gone too (KeyError in
    # OverwriteCells.add_missing_grade_cells): the command fails and records no score.
    release = nbformat.read(graded_class / "release" / CHAPTER / f"{CHAPTER}.ipynb",
                            as_version=4)
    release.cells = [cell for cell in release.cells
                     if cell.metadata.get("nbgrader", {}).get("grade_id")
                     not in ("exercise_1_2", "exercise_1_2_answer")]
    folder = graded_class / "submitted" / "gutted" / CHAPTER
    folder.mkdir(parents=True)
    nbformat.write(release, folder / f"{CHAPTER}.ipynb")
    result = nbgrader(graded_class, "autograde", CHAPTER, "--student", "gutted")
    assert result.returncode != 0
    assert "exercise_1_2_answer" in result.stderr
    assert set(scores(graded_class, "gutted").values()) == {None}
