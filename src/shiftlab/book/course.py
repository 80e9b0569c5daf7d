"""The course as a whole: its plan, which chapters exist yet, its map and its exercises.

The front and back matter of the book are computed from the repository, so they stay right
while chapters are added: the introduction draws the map of the chapters present (and of those
still planned), the instructor guide lists every exercise with what its checker tests and a
planning estimate of the time a lesson takes.

The plan is ``PLAN`` (section 3 of the course plan). A chapter *exists* when the repository has
``book/NN_*.ipynb`` for its number; its title is then the notebook's first heading.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Markdown
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from shiftlab import _validate
from shiftlab.exercises import (
    augmentation,
    boundary,
    convolution,
    invariance,
    pooling,
    restoring,
    rook,
    segmentation,
    stride,
    subpixel,
)

CHECKER_MODULES = {module.__name__: module for module in (
    invariance, convolution, stride, pooling, boundary, rook, restoring, subpixel,
    augmentation, segmentation)}
"""The checker module of each chapter idea, by its import name: the modules a notebook's check
cells may import from (``notebook_checkers``). A chapter's new checker module is added here."""


@dataclass(frozen=True)
class Chapter:
    """One chapter of the plan: ``number``, file ``name`` (``NN_words``), title, claim, stage."""

    number: int
    name: str
    title: str
    claim: str
    stage: str

    def __post_init__(self) -> None:
        _validate.positive_int(self.number, "number", high=99)
        for name in ("name", "title", "claim", "stage"):
            _validate.text(getattr(self, name), name)


STAGES = (
    "When is it exact?",
    "What breaks it?",
    "What does it cost?",
    "How is it restored?",
    "How far does it reach?",
)
"""The five questions the chapters answer in turn; each chapter belongs to one."""

PLAN = (
    Chapter(1, "01_invariance_equivariance", "Invariance and equivariance",
            "Convolution is equivariant, not invariant; a global pool makes it invariant.",
            STAGES[0]),
    Chapter(2, "02_convolution_equivariance", "Convolution is translation equivariant",
            "A stride-1, circularly padded CNN is exactly equivariant; not to rotations.",
            STAGES[0]),
    Chapter(3, "03_stride_subgroups", "Stride and subgroups",
            "Stride s keeps equivariance only for shifts by multiples of s.",
            STAGES[1]),
    Chapter(4, "04_pooling", "Pooling: local and global",
            "Local max pooling is approximately invariant; global pooling exactly.",
            STAGES[1]),
    Chapter(5, "05_boundary_effects", "Boundary effects",
            "Zero padding breaks equivariance near the border and encodes position.",
            STAGES[1]),
    Chapter(6, "06_rook_experiment", "The rook experiment",
            "Padding lets a CNN with global max pooling tell where an object is.",
            STAGES[2]),
    Chapter(7, "07_restoring_invariance", "Restoring invariance",
            "Anti-aliasing, adaptive polyphase sampling and circular padding.",
            STAGES[3]),
    Chapter(8, "08_subpixel", "Between the pixels",
            "Convolution follows every sub-pixel shift; ReLU aliases; filtering restores it.",
            STAGES[4]),
    Chapter(9, "09_augmentation", "Invariance learned from data",
            "Augmentation teaches invariance only for the shifts seen; APS needs no lesson.",
            STAGES[4]),
    Chapter(10, "10_segmentation", "Equivariant dense prediction",
            "APS-U makes an encoder-decoder's mask follow every circular shift.",
            STAGES[4]),
)

DEPENDS_ON = {2: (1,), 3: (2,), 4: (2,), 5: (2,), 6: (4, 5), 7: (3, 6), 8: (7,), 9: (7,),
              10: (7,)}
"""Which chapters each chapter builds on directly: the arrows of the course map. What those build
on is implied (chapter 8 uses chapters 2 and 3 through 7; chapter 9, chapter 4)."""

READING_WORDS_PER_MINUTE = 150
"""Reading speed assumed for technical prose with formulas (slower than the ~250 of fiction)."""

MINUTES_PER_CODE_CELL = 0.5
"""Time assumed to run a code cell of a chapter and look at what it shows."""

MINUTES_PER_EXERCISE = (10, 20)
"""Time assumed per exercise: a learner who read the chapter, and one who needs the hints."""


def course_root(start: Path | str | None = None) -> Path | None:
    """The repository root above ``start`` (default: the working directory), or ``None``.

    The root is the first folder, going up, that holds ``_toc.yml``. Outside the repository
    (a notebook opened alone, e.g. on Colab) there is none.
    """
    if start is not None:
        start = _validate.path(start, "start")
    here = Path.cwd() if start is None else Path(start)
    for folder in (here.resolve(), *here.resolve().parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return None


def cells(path: Path) -> list[tuple[str, str]]:
    """``(cell type, source)`` of every cell of the notebook at ``path``.

    Read as plain JSON (nbformat 4): importing nbformat would cost the pages of the book that
    call this seconds of start-up for nothing.
    """
    path = _validate.path(path, "path", exists="file")
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    return [(cell["cell_type"], "".join(cell["source"]) if isinstance(cell["source"], list)
             else cell["source"]) for cell in notebook["cells"]]


def notebook_title(path: Path) -> str:
    """The text of the first ``# `` heading of the notebook at ``path`` ('' if there is none)."""
    path = _validate.path(path, "path", exists="file")
    for kind, source in cells(path):
        if kind == "markdown":
            found = re.search(r"^# (.+)$", source, flags=re.MULTILINE)
            if found:
                return found.group(1).strip()
    return ""


def chapters(root: Path | None) -> list[tuple[Chapter, Path | None]]:
    """Each chapter of the plan with its notebook in ``root/book`` (``None`` when not written).

    A notebook counts for chapter NN when its name starts with ``NN_``, so a chapter whose file
    name differs from the plan's is still found; its title is taken from the notebook. Numbered
    notebooks beyond the plan are added at the end. ``root=None`` gives the plan alone.
    """
    if root is not None:
        root = _validate.path(root, "root", exists="dir")
    notebooks = [] if root is None else sorted((Path(root) / "book").glob("[0-9][0-9]_*.ipynb"))
    found = {int(path.name[:2]): path for path in notebooks}
    result = []
    for chapter in PLAN:
        path = found.pop(chapter.number, None)
        if path is not None:
            chapter = Chapter(chapter.number, path.stem, notebook_title(path) or chapter.title,
                              chapter.claim, chapter.stage)
        result.append((chapter, path))
    for number, path in sorted(found.items()):
        result.append((Chapter(number, path.stem, notebook_title(path) or path.stem, "",
                               STAGES[-1]), path))
    return result


def chapter_table(root: Path | None) -> Markdown:
    """The chapters as a Markdown table; a chapter that exists links to its notebook.

    The links are plain Markdown to ``NN_name.ipynb`` beside the intro: the book turns them into
    links to the chapter's page, and JupyterLab opens the chapter's notebook (the intro of the
    Jupyter edition sits beside the chapters of the edition), so no MyST shows in Jupyter.
    """
    if root is not None:
        root = _validate.path(root, "root", exists="dir")
    lines = ["| chapter | the claim it tests |", "|---|---|"]
    for chapter, path in chapters(root):
        if path is not None:
            name = f"[{chapter.number}. {chapter.title}]({chapter.name}.ipynb)"
        else:
            name = f"{chapter.number}. {chapter.title} *(in preparation)*"
        lines.append(f"| {name} | {chapter.claim} |")
    return Markdown("\n".join(lines))


def course_map(root: Path | None, *, title: str = "") -> Figure:
    """The map of the course: one row per question of ``STAGES``, one box per chapter, and an
    arrow from a chapter to each chapter that builds on it (``DEPENDS_ON``). A planned chapter
    without a notebook is drawn dashed and marked "in preparation" (only when ``root`` is
    known)."""
    if root is not None:
        root = _validate.path(root, "root", exists="dir")
    _validate.text(title, "title")
    entries = chapters(root)
    rows = [[entry for entry in entries if entry[0].stage == stage] for stage in STAGES]
    slots = max(len(row) for row in rows)
    label_w, box_w, box_h, gap_x, gap_y = 1.45, 2.05, 1.2, 0.3, 0.45
    width = label_w + slots * box_w + (slots - 1) * gap_x
    height = len(rows) * box_h + (len(rows) - 1) * gap_y
    title_height = 0.3 * (title.count("\n") + 1) if title else 0.0
    fig, ax = plt.subplots(figsize=(width, height + title_height), layout="constrained")
    ax.set_xlim(-0.02, width + 0.02)
    ax.set_ylim(-0.02, height + 0.02)
    ax.axis("off")
    # lighter to darker: grayscale-safe
    shades = plt.get_cmap("Blues")([0.10, 0.20, 0.30, 0.40, 0.50])
    boxes = {}
    for index, (stage, row) in enumerate(zip(STAGES, rows, strict=True)):
        y = height - index * (box_h + gap_y) - box_h
        ax.text(0, y + box_h / 2, "\n".join(textwrap.wrap(stage, 12)), ha="left", va="center",
                fontsize=10, fontweight="bold")
        first = label_w + (slots - len(row)) * (box_w + gap_x) / 2  # centre the row
        for column, (chapter, path) in enumerate(row):
            x = first + column * (box_w + gap_x)
            planned = root is not None and path is None
            ax.add_patch(FancyBboxPatch(
                (x, y), box_w, box_h, boxstyle="round,pad=0,rounding_size=0.08",
                facecolor="white" if planned else shades[index],
                edgecolor="0.45" if planned else "0.15",
                linestyle="--" if planned else "-", linewidth=1.2))
            heading = f"{chapter.number}. {chapter.title}"
            claim = "(in preparation)" if planned else chapter.claim
            ax.text(x + 0.09, y + box_h - 0.09, "\n".join(textwrap.wrap(heading, 24)[:2]),
                    ha="left", va="top", fontsize=9, fontweight="bold",
                    color="0.4" if planned else "black")
            ax.text(x + 0.09, y + 0.08, "\n".join(textwrap.wrap(claim, 30)[:3]),
                    ha="left", va="bottom", fontsize=8, color="0.4" if planned else "0.1")
            boxes[chapter.number] = (x, y, index)
    for number, before in DEPENDS_ON.items():
        for earlier in before:
            if number not in boxes or earlier not in boxes:
                continue
            (x0, y0, row0), (x1, y1, row1) = boxes[earlier], boxes[number]
            if row0 == row1:  # side by side
                start, end = (x0 + box_w, y0 + box_h / 2), (x1, y1 + box_h / 2)
            elif row1 == row0 + 1:  # the next row: bottom to top
                start, end = (x0 + box_w / 2, y0), (x1 + box_w / 2, y1 + box_h)
            else:  # rows apart: into the side that faces the source, clear of the rows between
                side = x1 if x0 < x1 else x1 + box_w
                start, end = (x0 + box_w / 2, y0), (side, y1 + box_h / 2)
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11,
                                         color="0.3", linewidth=1.0, shrinkA=2, shrinkB=2))
    if title:
        fig.suptitle(title, fontsize=11)
    plt.close(fig)
    return fig


@dataclass(frozen=True)
class Exercise:
    """One exercise of a lesson: its ``number`` ("1.2"), ``title`` and what its checker tests."""

    number: str
    title: str
    checks: str

    def __post_init__(self) -> None:
        for name in ("number", "title", "checks"):
            _validate.text(getattr(self, name), name)


def _exercise_key(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", number))


def _markdown(docstring: str) -> str:
    """The first paragraph of a docstring on one line, with ``code`` as Markdown `code`."""
    paragraph = textwrap.dedent(docstring or "").strip().split("\n\n")[0]
    text = " ".join(paragraph.split()).replace("``", "`")
    return text.replace("|", "\\|")


def lesson_exercises(path: Path) -> list[Exercise]:
    """The exercises of the lesson (or solution) notebook at ``path``, in order.

    They are the checkers the notebook's check cells call, imported from the
    ``shiftlab.exercises`` modules the notebook imports; ``checks`` is the first paragraph of
    the checker's docstring.
    """
    path = _validate.path(path, "path", exists="file")
    code = "\n".join(source for kind, source in cells(path) if kind == "code")
    found: dict[str, Exercise] = {}
    for checker in notebook_checkers(code).values():
        label = checker.exercise_name
        number, _, title = label.removeprefix("Exercise ").partition(": ")
        found[label] = Exercise(number, title, _markdown(checker.__doc__))
    return sorted(found.values(), key=lambda exercise: _exercise_key(exercise.number))


def notebook_checkers(code: str) -> dict[str, Callable[..., None]]:
    """The checkers that ``code`` (a notebook's code cells) imports and calls, by their name.

    A checker is a function of a ``shiftlab.exercises`` module imported with
    ``from shiftlab.exercises.MODULE import ...`` that carries an ``exercise_name`` (see
    ``shiftlab.exercises.exercise``) and is called somewhere in ``code``.
    """
    _validate.text(code, "code")
    found: dict[str, Callable[..., None]] = {}
    for module_name in re.findall(r"from\s+(shiftlab\.exercises\.\w+)\s+import", code):
        if module_name not in CHECKER_MODULES:
            raise ValueError(f"{module_name} is not a checker module of CHECKER_MODULES")
        module = CHECKER_MODULES[module_name]
        for name, checker in vars(module).items():
            if getattr(checker, "exercise_name", None) and re.search(rf"\b{name}\s*\(", code):
                found[name] = checker
    return found


def reading_minutes(path: Path) -> float:
    """Minutes to read the chapter notebook at ``path`` and run its code cells.

    words / ``READING_WORDS_PER_MINUTE`` + code cells × ``MINUTES_PER_CODE_CELL``, where the
    words are those of the markdown cells.
    """
    path = _validate.path(path, "path", exists="file")
    notebook = cells(path)
    words = sum(len(source.split()) for kind, source in notebook if kind == "markdown")
    code_cells = sum(kind == "code" for kind, _ in notebook)
    return words / READING_WORDS_PER_MINUTE + code_cells * MINUTES_PER_CODE_CELL


def exercise_minutes(count: int) -> tuple[int, int]:
    """The planning range, in minutes, for a lesson of ``count`` exercises."""
    _validate.integer(count, "count", high=10_000)
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an int, got {type(count).__name__}")
    if count < 0:
        raise ValueError(f"count must be at least 0, got {count}")
    low, high = MINUTES_PER_EXERCISE
    return count * low, count * high


def _round5(minutes: float) -> int:
    """Up to the next multiple of 5 minutes: a plan, not a measurement."""
    return int(5 * math.ceil(minutes / 5))


def _lessons(root: Path | None) -> list[Path]:
    lessons = [] if root is None else sorted((Path(root) / "lessons").glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        raise FileNotFoundError(
            f"no lesson notebooks in {'the repository' if root is None else Path(root)}/lessons: "
            "the exercise tables are read from the course repository (open this page from a "
            "clone, or on Binder)"
        )
    return lessons


def exercise_table(root: Path | None) -> Markdown:
    """Every exercise of every lesson in ``root/lessons`` with what its checker tests."""
    if root is not None:
        root = _validate.path(root, "root", exists="dir")
    lines = ["| exercise | title | the checker tests that |", "|---|---|---|"]
    for lesson in _lessons(root):
        for exercise in lesson_exercises(lesson):
            lines.append(f"| {exercise.number} | {exercise.title} | {exercise.checks} |")
    return Markdown("\n".join(lines))


def lesson_times(root: Path | None) -> dict[str, dict[str, object]]:
    """For each lesson in ``root/lessons``: exercises, and planning estimates in minutes.

    ``reading`` is ``reading_minutes`` of the chapter, ``exercises`` the range of
    ``exercise_minutes``, each rounded up to 5 minutes.
    """
    if root is not None:
        root = _validate.path(root, "root", exists="dir")
    rows: dict[str, dict[str, object]] = {}
    for lesson in _lessons(root):
        count = len(lesson_exercises(lesson))
        chapter = lesson.parents[1] / "book" / lesson.name
        reading = _round5(reading_minutes(chapter)) if chapter.is_file() else None
        low, high = exercise_minutes(count)
        rows[lesson.stem] = {"exercises": count, "reading": reading,
                             "working": (_round5(low), _round5(high))}
    return rows


def lesson_time_table(root: Path | None) -> Markdown:
    """``lesson_times`` as a Markdown table."""
    if root is not None:
        root = _validate.path(root, "root", exists="dir")
    lines = ["| lesson | exercises | reading the chapter | working the exercises |",
             "|---|---|---|---|"]
    for name, row in lesson_times(root).items():
        low, high = row["working"]
        reading = "–" if row["reading"] is None else f"{row['reading']} min"
        lines.append(f"| `lessons/{name}.ipynb` | {row['exercises']} | {reading} "
                     f"| {low}–{high} min |")
    return Markdown("\n".join(lines))
