"""The contract of COURSE.md section 4, for every checker of every chapter at once.

Each ``tests/exercises/test_exercises*.py`` module lists its checkers with a right answer in
``CHECKS`` and tests the wrong answers of its own chapter; the four promises below hold for all
of them: a right answer passes (✅), an untouched stub is pending (⏳), a stub fails in a solution
notebook, and a right answer fails in an untouched lesson (a lesson that leaks its solution).
"""

import importlib
import pkgutil

import pytest
import test_exercises
import test_exercises_augmentation
import test_exercises_boundary
import test_exercises_convolution
import test_exercises_pooling
import test_exercises_restoring
import test_exercises_rook
import test_exercises_stride
from checkers import stub

import shiftlab.exercises
from shiftlab.exercises import _core
from shiftlab.exercises._core import EXPECT_ENV, ExerciseError

MODULES = [
    test_exercises,
    test_exercises_convolution,
    test_exercises_stride,
    test_exercises_pooling,
    test_exercises_boundary,
    test_exercises_rook,
    test_exercises_restoring,
    test_exercises_augmentation,
]
CHECKS = [
    pytest.param(check, answer, id=check.exercise_name.split(":")[0].removeprefix("Exercise "))
    for module in MODULES
    for check, answer in module.CHECKS
]


def every_checker():
    """Every checker of the package: the functions that ``@exercise`` made."""
    for info in pkgutil.iter_modules(shiftlab.exercises.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"shiftlab.exercises.{info.name}")
        for value in vars(module).values():
            if hasattr(value, "exercise_name") and value.__module__ == module.__name__:
                yield value


def test_every_checker_of_the_package_is_tested_here():
    tested = {param.values[0] for param in CHECKS}
    missing = [check.exercise_name for check in every_checker() if check not in tested]
    assert missing == [], f"checkers without a right answer in a CHECKS list: {missing}"
    assert len(tested) == len(CHECKS), "a checker is listed twice"


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_a_right_answer_passes(check, answer, capsys):
    check(answer)
    assert "✅" in capsys.readouterr().out
    assert list(_core.results().values()) == ["passed"]


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_an_untouched_stub_is_reported_pending(check, answer, capsys):
    check(stub)
    assert "⏳" in capsys.readouterr().out
    assert list(_core.results().values()) == ["pending"]


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_a_stub_fails_in_a_solution_notebook(check, answer, monkeypatch):
    monkeypatch.setenv(EXPECT_ENV, "solved")
    with pytest.raises(ExerciseError, match="stub"):
        check(stub)


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_a_solution_fails_in_an_untouched_lesson(check, answer, monkeypatch):
    monkeypatch.setenv(EXPECT_ENV, "pending")
    with pytest.raises(ExerciseError, match="contains a solution"):
        check(answer)
