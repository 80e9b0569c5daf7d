"""Test configuration of the unit and property tests, and the built book they share."""

import subprocess
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pytest
from book_pages import HTML, ROOT
from hypothesis import settings

from shiftlab.bench import book_build_command
from shiftlab.exercises import _core
from shiftlab.exercises._core import EXPECT_ENV

# Property tests explore many cases, but the same ones on every run: CI is deterministic.
settings.register_profile("course", deadline=None, derandomize=True, max_examples=60)
# Fewer cases for tests/test_cpu_paths.py, which reruns the law tests under several CPU paths.
settings.register_profile("cpu-paths", deadline=None, derandomize=True, max_examples=8)
settings.load_profile("course")

matplotlib.use("Agg")  # no display: figures are drawn off screen


@pytest.fixture(autouse=True)
def no_open_figures():
    """Every test starts with no pyplot figure open, so a test can check that the helper it
    calls leaves none behind, whatever the tests before it did."""
    plt.close("all")
    yield


@pytest.fixture(autouse=True)
def fresh_exercise_session(monkeypatch):
    """Every test starts as a learner's fresh session: no exercise checked yet, and no
    ``SHIFTLAB_EXPECT`` (the variable the notebook tests set for solutions and lessons)."""
    monkeypatch.delenv(EXPECT_ENV, raising=False)
    monkeypatch.setattr(_core, "_results", {})


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The HTML book, built once per test run with the README's command (the log's end is
    shown if the build fails). test_book.py checks the pages, test_browser.py drives them."""
    result = subprocess.run(book_build_command(), cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return HTML
