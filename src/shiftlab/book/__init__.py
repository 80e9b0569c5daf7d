"""Helpers for the book's pages: numbers computed in a notebook, quoted in its prose.

``glue("name", value)`` stores a value so a markdown cell can write ``{glue:text}`name:.2e```
and the built page shows the number the code measured, never a number typed by hand.
"""

from __future__ import annotations

from typing import Any

from IPython.core.formatters import format_display_data
from IPython.display import display

GLUE_PREFIX = "application/papermill.record/"
"""The MIME prefix under which myst-nb's glue (the scrapbook format) keeps a hidden value."""


def glue(name: str, value: Any) -> None:
    """Store ``value`` under ``name`` for the prose of the book, without showing it.

    This writes what ``myst_nb.glue(name, value, display=False)`` writes: the value's display
    forms under ``GLUE_PREFIX`` with ``scrapbook`` metadata naming it. It does not import
    myst-nb, whose glue module takes seconds to import, and it works where myst-nb is absent
    (Colab). A prose reference to a name that was never glued fails the book build.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier-like string, got {name!r}")
    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    display({GLUE_PREFIX + mime: data for mime, data in bundle.items()}, raw=True,
            metadata=metadata)
