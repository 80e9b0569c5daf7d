"""What the checker tests share: the stub of a lesson, as the lesson generator writes it, and the
right answer of every checker, gathered from the ``CHECKS`` list of every
``tests/exercises/test_exercises*.py`` module (a new chapter's module is found by its name)."""

import importlib
import pkgutil
from pathlib import Path

import pytest

import shiftlab.exercises
from shiftlab.exercises import _core


def stub(*args):
    raise NotImplementedError("Exercise: replace this line with your code")


def checker_test_modules():
    """The modules ``tests/exercises/test_exercises*.py``, imported."""
    folder = Path(__file__).parent / "exercises"
    return [importlib.import_module(path.stem)
            for path in sorted(folder.glob("test_exercises*.py"))]


def right_answers():
    """``(checker, right answer)`` for every checker that a test module lists, as pytest params
    with the exercise number as id."""
    return [
        pytest.param(check, answer,
                     id=check.exercise_name.split(":")[0].removeprefix("Exercise "))
        for module in checker_test_modules()
        for check, answer in module.CHECKS
    ]


def registered_checkers():
    """Every checker of the package: import every ``shiftlab.exercises`` module, then read the
    registry that ``@exercise`` fills."""
    for info in pkgutil.iter_modules(shiftlab.exercises.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"shiftlab.exercises.{info.name}")
    return list(_core.checkers().values())
