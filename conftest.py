"""Root pytest configuration: what the notebooks that nbval runs must report, on which CPU
path they run, and how the test command shares its work between the pytest-xdist workers.

It lives at the root because nbval collects notebooks in book/, lessons/ and solutions/, outside
tests/, and a conftest only reaches the items below its folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from nbval.plugin import IPyNbCell
from xdist.scheduler import LoadScopeScheduling

from shiftlab.exercises import EXPECT_ENV

EXPECTED_STATE = {"solutions": "solved", "lessons": "pending"}
"""Solution notebooks must pass every exercise; untouched lessons must report every one pending."""

NOTEBOOK_CPU_PATH = {
    "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
}
"""The CPU code path of the notebooks nbval runs: that of a CPU with AVX2 and no AVX-512.

This is not pinning a path to make numbers agree. The book build runs every notebook on the
machine's own path; nbval runs the same notebooks, with the same assertions, on this second
path, so that a claim that holds on one CPU only fails the tests (the law tests run on more
paths: tests/book/test_cpu_paths.py). MKL, oneDNN and PyTorch read these variables when they load,
so they must be set before the kernel starts."""

_saved: dict[str, str | None] = {}
"""This process's own values of the variables, put back after each notebook cell."""


def expected_state(notebook: Path) -> str:
    """The SHIFTLAB_EXPECT value for the kernel of ``notebook`` ('' for the chapters)."""
    return EXPECTED_STATE.get(Path(notebook).parent.name, "")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # nbval starts a notebook's kernel while setting up its first cell, and the kernel inherits
    # this process's environment at that moment.
    if isinstance(item, IPyNbCell):
        state = expected_state(item.path)
        if state:
            os.environ[EXPECT_ENV] = state
        _saved.update({name: os.environ.get(name) for name in NOTEBOOK_CPU_PATH})
        os.environ.update(NOTEBOOK_CPU_PATH)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if isinstance(item, IPyNbCell):
        os.environ.pop(EXPECT_ENV, None)
        for name, value in _saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _saved.clear()


# --- how the test command shares the work between its workers (pytest-xdist) ---------------

def pytest_configure(config: pytest.Config) -> None:
    # In each xdist worker, torch computes with one thread, and so do the notebook kernels the
    # worker starts (nbval's, the book build's). This is a budget for a run of two workers on
    # two cores: two workers of two threads each would fight for the cores, one each keeps both
    # busy. No result may depend on it (every law must hold under OMP_NUM_THREADS=1 and 2
    # alike), and a value the caller set is kept.
    if hasattr(config, "workerinput") and "OMP_NUM_THREADS" not in os.environ:
        import torch

        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


BOOK_FIXTURES = {"built_book", "student_book"}
"""Fixtures that build a book."""

BOOK_TESTS = (
    "tests/book/test_book.py", "tests/book/test_browser.py", "tests/book/test_publish.py",
)
"""The test files whose tests use ``BOOK_FIXTURES``."""

ONE_WORKER_FILES = ("tests/book/test_jupyterlab.py",)
"""Test files whose tests share one server (a module fixture), so they run on one worker."""


def xdist_group_of(nodeid: str) -> str:
    """The group of the test ``nodeid``; pytest-xdist runs a group on one worker, in order.

    A notebook's cells are one group (they share one kernel), and so are the tests of the built
    book (the full and the student edition, the browser), which follow the one build they
    share, and the tests of a file in ``ONE_WORKER_FILES`` (they share a JupyterLab); any other
    test is a group of its own, run by whichever worker is free.
    """
    path = nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        return path
    if path in BOOK_TESTS:
        return "book"
    if path in ONE_WORKER_FILES:
        return path
    return nodeid


class GroupScheduling(LoadScopeScheduling):
    """xdist's scheduling of whole scopes (largest first), with ``xdist_group_of`` as the scope.
    (xdist's own ``--dist loadgroup`` reads ``xdist_group`` marks through a node id suffix that
    pytest 9 no longer keeps.)"""

    def _split_scope(self, nodeid: str) -> str:
        return xdist_group_of(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") == "loadgroup":  # pyproject.toml's addopts
        return GroupScheduling(config, log)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    outside = [item.nodeid for item in items
               if BOOK_FIXTURES & set(getattr(item, "fixturenames", ()))
               and xdist_group_of(item.nodeid) != "book"]
    if outside:
        raise pytest.UsageError(
            f"{outside[0]} builds the book outside conftest.BOOK_TESTS; add its file there, so "
            "that it runs on the worker that builds the book")
