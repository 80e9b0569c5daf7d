"""Helpers for the book's pages: numbers computed in a notebook, quoted in its prose.

``glue("name", value)`` stores a value so a markdown cell can write ``{glue:text}`name:.2e```
and the built page shows the number the code measured, never a number typed by hand.
"""

from __future__ import annotations

from typing import Any


def glue(name: str, value: Any) -> None:
    """Store ``value`` under ``name`` for the prose of the book (myst-nb's glue), without output.

    In Jupyter the value travels, invisible, in the cell's output; the book build reads it there.
    Where myst-nb is not installed (Colab) there is no book to build, and nothing is stored; in
    the course's environment it always is, and a prose reference to a missing value fails the
    book build.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier-like string, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=False)
