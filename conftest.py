"""Root pytest configuration: what the notebooks that nbval runs must report, and on which CPU path.

It lives at the root because nbval collects notebooks in book/, lessons/ and solutions/, outside
tests/, and a conftest only reaches the items below its folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from nbval.plugin import IPyNbCell

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
paths: tests/test_cpu_paths.py). MKL, oneDNN and PyTorch read these variables when they load,
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
