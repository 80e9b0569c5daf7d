"""Root pytest configuration: what the exercise notebooks that nbval runs must report.

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


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if isinstance(item, IPyNbCell):
        os.environ.pop(EXPECT_ENV, None)
