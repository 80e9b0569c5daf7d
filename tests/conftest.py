"""Test configuration of the unit and property tests, and the built book they share."""

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pytest
from book_pages import HTML, ROOT
from filelock import FileLock
from hypothesis import settings

from shiftlab.book.bench import book_build_command
from shiftlab.book.execution import cache_path, clear_cache, use_cache
from shiftlab.exercises import _core
from shiftlab.exercises._core import EXPECT_ENV

# Property tests explore many cases, but the same ones on every run: CI is deterministic.
settings.register_profile("course", deadline=None, derandomize=True, max_examples=60)
# Fewer cases for tests/book/test_cpu_paths.py, which reruns the law tests under several CPU paths.
settings.register_profile("cpu-paths", deadline=None, derandomize=True, max_examples=8)
settings.load_profile("course")

matplotlib.use("Agg")  # no display: figures are drawn off screen

BUILD = ROOT / "_build"


@pytest.fixture(autouse=True)
def no_open_figures():
    """Every test starts with no pyplot figure open, so a test can check that the helper it
    calls leaves none behind, whatever the tests before it did."""
    plt.close("all")
    yield


@pytest.fixture(autouse=True)
def no_ipython_shell_left_behind():
    """A test that creates IPython's shell (``shiftlab.book.glue`` formats its value with it)
    removes it again, so the tests after it run outside IPython, as a script does."""
    from IPython.core.interactiveshell import InteractiveShell

    before = InteractiveShell.initialized()
    yield
    if not before and InteractiveShell.initialized():
        InteractiveShell.clear_instance()


@pytest.fixture(autouse=True)
def fresh_exercise_session(monkeypatch):
    """Every test starts as a learner's fresh session: no exercise checked yet, and no
    ``SHIFTLAB_EXPECT`` (the variable the notebook tests set for solutions and lessons)."""
    monkeypatch.delenv(EXPECT_ENV, raising=False)
    monkeypatch.setattr(_core, "_results", {})


@pytest.fixture(scope="session")
def test_run_id(request) -> str:
    """An id shared by the workers of this test run (pytest-xdist's), new on every run."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["testrunuid"] if workerinput else uuid.uuid4().hex


@pytest.fixture(scope="session")
def built_book(test_run_id) -> Path:
    """The HTML book, built once per test run with the README's command (the log's end is
    shown if the build fails). test_book.py checks the pages, test_browser.py drives them, the
    student edition reuses its executed notebooks.

    The first worker to ask builds it, from an empty jupyter-cache, so every notebook is
    executed with today's code; a worker that asks later waits for the lock and reuses the
    build, or its failure, instead of building again.
    """
    BUILD.mkdir(parents=True, exist_ok=True)
    with FileLock(BUILD / "book.lock"):
        stamp = BUILD / "book-test-run.json"
        built = json.loads(stamp.read_text(encoding="utf-8")) if stamp.is_file() else {}
        if built.get("test_run") != test_run_id:
            stamp.unlink(missing_ok=True)
            clear_cache(use_cache(cache_path(ROOT)))
            result = subprocess.run(book_build_command(), cwd=ROOT, capture_output=True,
                                    text=True)
            built = {"test_run": test_run_id, "returncode": result.returncode,
                     "log": result.stdout + result.stderr}
            stamp.write_text(json.dumps(built), encoding="utf-8")
    assert built["returncode"] == 0, built["log"][-6000:]
    return HTML


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking"]


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$SHIFTLAB_CHROMIUM``, else ``chromium`` on the PATH."""
    explicit = os.environ.get("SHIFTLAB_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium (or ``$SHIFTLAB_CHROMIUM``) through playwright, never playwright's
    own download. Without one the test is skipped, except under CI (``CI`` set)."""
    executable = chromium_executable()
    if executable is None:
        message = "no Chromium: install Debian's chromium or set SHIFTLAB_CHROMIUM"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
