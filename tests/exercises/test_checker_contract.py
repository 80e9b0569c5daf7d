"""The contract of COURSE.md section 4, for every checker of every chapter at once.

Each ``tests/exercises/test_exercises*.py`` module lists its checkers with a right answer in
``CHECKS`` (found by the module's name: a new chapter's module needs no registration here) and
tests the wrong answers of its own chapter; the four promises below hold for all of them: a
right answer passes (✅, on stdout only, and the checker returns None), an untouched stub is
pending (⏳), a stub fails in a solution notebook, and a right answer fails in an untouched
lesson (a lesson that leaks its solution). ``test_checker_cheats.py`` tries every cheat on them.
"""

import pytest
from checkers import registered_checkers, right_answers, stub

from shiftlab.exercises import _core
from shiftlab.exercises._core import EXPECT_ENV, ExerciseError

CHECKS = right_answers()


def test_every_checker_of_the_package_is_tested_here():
    tested = {param.values[0] for param in CHECKS}
    missing = [check.exercise_name for check in registered_checkers() if check not in tested]
    assert missing == [], f"checkers without a right answer in a CHECKS list: {missing}"
    assert len(tested) == len(CHECKS), "a checker is listed twice"


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_a_right_answer_passes(check, answer, capsys):
    assert check(answer) is None  # nbgrader would take a returned number for partial credit
    out, err = capsys.readouterr()
    assert "✅" in out
    assert err == ""  # nbgrader gives 0 to a cell that writes to stderr
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
