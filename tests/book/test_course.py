"""The course as a whole: the plan, the chapters present, the map, and the instructor tables."""

from pathlib import Path

import nbformat
import pytest
from book_pages import ROOT
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from shiftlab.book.course import (
    DEPENDS_ON,
    MINUTES_PER_CODE_CELL,
    MINUTES_PER_EXERCISE,
    PLAN,
    READING_WORDS_PER_MINUTE,
    STAGES,
    chapter_table,
    chapters,
    course_map,
    course_root,
    exercise_minutes,
    exercise_table,
    lesson_exercises,
    lesson_time_table,
    lesson_times,
    reading_minutes,
)
from shiftlab.figures.panels import PANEL_INCHES

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def _notebook(path: Path, title: str, words: int = 0, code_cells: int = 0) -> Path:
    cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n" + "word " * words)]
    cells += [nbformat.v4.new_code_cell("x = 1") for _ in range(code_cells)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_the_plan_numbers_its_chapters_in_order_and_every_arrow_points_forward():
    assert [chapter.number for chapter in PLAN] == list(range(1, len(PLAN) + 1))
    assert all(chapter.name.startswith(f"{chapter.number:02d}_") for chapter in PLAN)
    assert {chapter.stage for chapter in PLAN} == set(STAGES)
    assert all(earlier < later for later, before in DEPENDS_ON.items() for earlier in before)


def test_chapters_present_are_found_by_number_with_their_own_title(tmp_path):
    (tmp_path / "_toc.yml").write_text("root: book/intro\n")
    _notebook(tmp_path / "book" / "01_another_name.ipynb", "A title of its own")
    _notebook(tmp_path / "book" / "99_extra.ipynb", "An extra chapter")
    found = chapters(tmp_path)
    assert found[0][0].name == "01_another_name" and found[0][0].title == "A title of its own"
    assert found[0][1] == tmp_path / "book" / "01_another_name.ipynb"
    assert all(path is None for _, path in found[1:len(PLAN)])
    assert found[-1][0].number == 99 and found[-1][0].title == "An extra chapter"
    assert [path for _, path in chapters(None)] == [None] * len(PLAN)


def test_the_chapter_table_links_only_the_chapters_that_exist(tmp_path):
    _notebook(tmp_path / "book" / "02_convolution.ipynb", "Convolution")
    table = chapter_table(tmp_path).data
    assert "[2. Convolution](02_convolution.ipynb)" in table
    assert table.count("](") == 1 and "{doc}" not in table
    assert table.count("*(in preparation)*") == len(PLAN) - 1


def test_the_course_map_draws_every_chapter_dashed_until_it_exists(tmp_path):
    _notebook(tmp_path / "book" / "01_x.ipynb", "First")
    fig = course_map(tmp_path, title="A map")
    axes = fig.axes[0]
    boxes = [patch for patch in axes.patches if isinstance(patch, FancyBboxPatch)]
    arrows = [patch for patch in axes.patches if isinstance(patch, FancyArrowPatch)]
    assert len(boxes) == len(PLAN)
    assert sum(box.get_linestyle() == "--" for box in boxes) == len(PLAN) - 1
    assert len(arrows) == sum(len(before) for before in DEPENDS_ON.values())
    assert fig.get_size_inches()[0] <= 4 * PANEL_INCHES  # no wider than a page
    texts = " ".join(text.get_text() for text in axes.texts)
    assert all(stage.split()[0] in texts for stage in STAGES)


def test_the_map_of_a_notebook_opened_alone_shows_the_plan():
    boxes = [patch for patch in course_map(None).axes[0].patches
             if isinstance(patch, FancyBboxPatch)]
    assert len(boxes) == len(PLAN) and all(box.get_linestyle() == "-" for box in boxes)


def test_the_course_root_is_the_folder_of_the_table_of_contents(tmp_path):
    assert course_root(ROOT / "tests" / "book") == ROOT
    assert course_root(tmp_path) is None


def test_reading_time_counts_prose_words_and_code_cells(tmp_path):
    path = _notebook(tmp_path / "n.ipynb", "T", words=2 * READING_WORDS_PER_MINUTE,
                     code_cells=4)
    # the title line adds 2 words ("#" and "T")
    expected = (2 * READING_WORDS_PER_MINUTE + 2) / READING_WORDS_PER_MINUTE \
        + 4 * MINUTES_PER_CODE_CELL
    assert reading_minutes(path) == pytest.approx(expected)


@pytest.mark.parametrize("count", [0, 1, 5, 12])
def test_exercise_minutes_grow_with_the_number_of_exercises(count):
    low, high = exercise_minutes(count)
    assert (low, high) == (count * MINUTES_PER_EXERCISE[0], count * MINUTES_PER_EXERCISE[1])
    assert low <= high


@pytest.mark.parametrize(("count", "error"), [(-1, ValueError), (2.0, TypeError),
                                              (True, TypeError), ("3", TypeError)])
def test_exercise_minutes_refuse_what_is_not_a_count(count, error):
    with pytest.raises(error, match="count must be"):
        exercise_minutes(count)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_every_exercise_of_a_lesson_is_found_with_what_its_checker_tests(lesson):
    exercises = lesson_exercises(lesson)
    headings = [cell.source for cell in nbformat.read(lesson, as_version=4).cells
                if cell.cell_type == "markdown" and cell.source.startswith("## Exercise ")]
    assert [f"## Exercise {e.number}: " for e in exercises] == \
        [heading.split(":")[0] + ": " for heading in headings]
    assert all(exercise.checks and "``" not in exercise.checks for exercise in exercises)


def test_the_instructor_tables_have_a_row_per_exercise_and_per_lesson():
    exercises = sum(len(lesson_exercises(lesson)) for lesson in LESSONS)
    assert exercise_table(ROOT).data.count("\n| ") == exercises
    times = lesson_times(ROOT)
    assert list(times) == [lesson.stem for lesson in LESSONS]
    for name, row in times.items():
        low, high = row["working"]
        assert row["exercises"] == len(lesson_exercises(ROOT / "lessons" / f"{name}.ipynb"))
        assert low % 5 == 0 and high % 5 == 0 and low <= high
        assert row["reading"] >= reading_minutes(ROOT / "book" / f"{name}.ipynb")
    assert lesson_time_table(ROOT).data.count("`lessons/") == len(LESSONS)


@pytest.mark.parametrize("where", ["empty folder", "no repository"])
def test_the_instructor_tables_need_the_repository(tmp_path, where):
    with pytest.raises(FileNotFoundError, match="no lesson notebooks"):
        exercise_table(tmp_path if where == "empty folder" else None)
