"""Lessons are generated from solutions, exactly; notebooks are stored clean; a wrong or missing
answer in a solution fails, an untouched lesson runs and reports its exercises pending."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from shiftlab.book.authoring import (
    STUB,
    AuthoringError,
    lesson_from_solution,
    main,
    notebook_text,
    stale_lessons,
    stub_solutions,
)
from shiftlab.book.bench import execute_notebook
from shiftlab.exercises import EXPECT_ENV

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for folder in ("book", "lessons", "solutions")
                   for p in (ROOT / folder).glob("*.ipynb"))


def test_a_solution_block_becomes_a_stub_at_its_indentation():
    source = "\n".join([
        "def f(x):",
        "    y = 1",
        "    # BEGIN SOLUTION",
        "    for i in range(3):",
        "        y += x",
        "    return y",
        "    # END SOLUTION",
        "",
        "def g():",
        "        # BEGIN SOLUTION",
        "        return 2",
        "        # END SOLUTION",
        "print(f(1))",
    ])
    assert stub_solutions(source).splitlines() == [
        "def f(x):", "    y = 1", "    " + STUB, "", "def g():", "        " + STUB, "print(f(1))",
    ]


@pytest.mark.parametrize(("source", "problem"), [
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION", "top level"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1", "without END"),
    ("def f():\n    return 1\n    # END SOLUTION", "without BEGIN"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION", "inside"),
])
def test_broken_solution_blocks_are_refused_with_the_line(source, problem):
    with pytest.raises(AuthoringError, match=problem):
        stub_solutions(source)


def _solution_notebook(answer_body: str) -> nbformat.NotebookNode:
    """A one-exercise solution notebook in the course's conventions."""
    cells = [
        nbformat.v4.new_markdown_cell("# A tiny exercise"),
        nbformat.v4.new_code_cell(
            "import torch\nfrom shiftlab.exercises import summary\n"
            "from shiftlab.exercises.invariance import check_circular_shift"),
        nbformat.v4.new_code_cell(
            "def circular_shift(x, dy, dx):\n    # BEGIN SOLUTION\n"
            f"    {answer_body}\n    # END SOLUTION"),
        nbformat.v4.new_markdown_cell("Why: `torch.roll` is the circular shift."),
        nbformat.v4.new_code_cell("check_circular_shift(circular_shift)"),
        nbformat.v4.new_code_cell("summary()"),
    ]
    cells[3].metadata["tags"] = ["solution"]
    cells[2].outputs = [nbformat.v4.new_output("stream", text="old output")]
    cells[2].execution_count = 3
    return nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def test_a_lesson_drops_solution_cells_and_outputs_and_keeps_everything_else():
    solution = _solution_notebook("return torch.roll(x, (dy, dx), (-2, -1))")
    lesson = lesson_from_solution(solution, "tiny.ipynb")
    assert len(lesson.cells) == len(solution.cells) - 1
    assert STUB in lesson.cells[2].source and "torch.roll" not in lesson.cells[2].source
    assert all(not cell.get("outputs") and not cell.get("execution_count")
               for cell in lesson.cells if cell.cell_type == "code")
    assert [c.source for c in lesson.cells][3:] == [c.source for c in solution.cells][4:]
    assert lesson.metadata["shiftlab"]["generated_from"] == "solutions/tiny.ipynb"
    assert "torch.roll" in solution.cells[2].source  # the solution is left as it was


def test_a_solution_notebook_without_solution_blocks_is_refused():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    with pytest.raises(AuthoringError, match="no # BEGIN SOLUTION"):
        lesson_from_solution(notebook, "empty.ipynb")


def _run(notebook, tmp_path, expect):
    path = tmp_path / "notebook.ipynb"
    path.write_text(notebook_text(notebook), encoding="utf-8")
    executed, _ = execute_notebook(path, env={EXPECT_ENV: expect})
    return "".join(output.get("text", "") for cell in executed.cells if cell.cell_type == "code"
                   for output in cell.outputs)


def test_an_untouched_lesson_runs_and_reports_its_exercises_pending(tmp_path):
    lesson = lesson_from_solution(_solution_notebook("return torch.roll(x, (dy, dx), (-2, -1))"),
                                  "tiny.ipynb")
    out = _run(lesson, tmp_path, "pending")
    assert "⏳ Exercise 1.1" in out and "0 of 1 passed" in out


def test_a_solution_with_a_missing_answer_fails(tmp_path):
    lesson = lesson_from_solution(_solution_notebook("return x"), "tiny.ipynb")
    with pytest.raises(CellExecutionError, match="still a stub"):
        _run(lesson, tmp_path, "solved")


def test_a_solution_with_a_wrong_answer_fails(tmp_path):
    with pytest.raises(CellExecutionError, match="ExerciseError"):
        _run(_solution_notebook("return torch.roll(x, (-dy, -dx), (-2, -1))"), tmp_path,
             "solved")


def test_a_lesson_that_leaks_its_solution_fails(tmp_path):
    with pytest.raises(CellExecutionError, match="contains a solution"):
        _run(_solution_notebook("return torch.roll(x, (dy, dx), (-2, -1))"), tmp_path,
             "pending")


def test_lessons_are_exactly_what_the_generator_produces():
    assert stale_lessons(ROOT) == []


def _course_without_lessons(destination: Path) -> None:
    """What the lesson generator reads: the solutions, and the book its links point into."""
    (destination / "_config.yml").write_bytes((ROOT / "_config.yml").read_bytes())
    for folder in ("solutions", "book"):
        (destination / folder).mkdir()
        for path in (ROOT / folder).glob("*.*"):
            (destination / folder / path.name).write_bytes(path.read_bytes())
    (destination / "lessons").mkdir()


def test_the_lesson_command_reports_and_repairs_a_stale_lesson(tmp_path, capsys):
    _course_without_lessons(tmp_path)
    for path in (ROOT / "lessons").glob("*.ipynb"):
        (tmp_path / "lessons" / path.name).write_bytes(path.read_bytes())
    arguments = ["lessons", "--root", str(tmp_path)]
    assert main([*arguments, "--check"]) == 0
    lesson = tmp_path / "lessons" / "01_invariance_equivariance.ipynb"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("Exercise 1.1", "Exercise 7"),
                      encoding="utf-8")
    assert main([*arguments, "--check"]) == 1
    assert lesson.name in capsys.readouterr().out
    assert main(arguments) == 0
    assert main([*arguments, "--check"]) == 0


def test_the_lesson_command_runs_as_a_module_and_finds_the_repository_in_sync():
    checked = subprocess.run(
        [sys.executable, "-m", "shiftlab.book.authoring", "lessons", "--check"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebooks_are_stored_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:80]
    assert "widgets" not in notebook["metadata"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_code_fits_the_width_of_a_book_page(path):
    notebook = nbformat.read(path, as_version=4)
    long = [line for cell in notebook.cells if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > 79]
    assert long == []


def test_every_solution_has_a_chapter_and_a_lesson():
    for solution in (ROOT / "solutions").glob("*.ipynb"):
        assert (ROOT / "book" / solution.name).exists()
        assert (ROOT / "lessons" / solution.name).exists()


def test_nbval_kernels_expect_solved_solutions_and_pending_lessons():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    expected_state = root_conftest.expected_state

    assert expected_state(ROOT / "solutions" / "01_x.ipynb") == "solved"
    assert expected_state(ROOT / "lessons" / "01_x.ipynb") == "pending"
    assert expected_state(ROOT / "book" / "01_x.ipynb") == ""


def test_the_lesson_command_can_regenerate_one_notebook(tmp_path):
    _course_without_lessons(tmp_path)
    broken = tmp_path / "solutions" / "99_broken.ipynb"
    broken.write_text(notebook_text(nbformat.v4.new_notebook()), encoding="utf-8")
    name = "01_invariance_equivariance"
    assert main(["lessons", "--root", str(tmp_path), name]) == 0
    assert (tmp_path / "lessons" / f"{name}.ipynb").exists()
    assert not (tmp_path / "lessons" / "99_broken.ipynb").exists()
    with pytest.raises(AuthoringError, match="99_nowhere"):
        main(["lessons", "--root", str(tmp_path), "99_nowhere"])
