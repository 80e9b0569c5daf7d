"""Helpers for the book's pages: numbers computed in a notebook, quoted in its prose.

``glue("name", value)`` stores a value so a markdown cell can write ``{glue:text}`name:.2e```
and the built page shows the number the code measured, never a number typed by hand.

The Jupyter edition of a notebook (``shiftlab.book.edition``) cannot run MyST: there, a passage that
quotes glued numbers is a hidden code cell that calls ``paste("... {{name:.2e}} ...")``, which
shows the passage as Markdown with the values this kernel glued, formatted as the book formats
them (``format_glued``). The book lets a passage quote a value glued further down; ``paste``
then shows "…" in its place, and the ``glue`` that computes it updates the passage.
"""

from __future__ import annotations

import re
from ast import literal_eval
from typing import Any

from IPython.core.formatters import format_display_data
from IPython.display import DisplayHandle, Markdown, display

import shiftlab.figures  # noqa: F401  (in IPython: every figure shown carries its alt text)
from shiftlab import _validate

GLUE_PREFIX = "application/papermill.record/"
"""The MIME prefix under which myst-nb's glue (the scrapbook format) keeps a hidden value."""

SLOT = re.compile(r"\{\{(?P<name>[A-Za-z_]\w*)(?::(?P<fmt>[^{}]*))?\}\}")
"""A glued value in a passage for ``paste``: ``{{name}}`` or ``{{name:fmt}}``."""

MISSING = "…"
"""What a passage shows for a value that is glued further down, until it is."""

_glued: dict[str, str] = {}
"""The text/plain form of every value glued in this kernel, by name (for ``paste``)."""

_waiting: list[tuple[str, DisplayHandle]] = []
"""Passages shown before all their values were glued, to update when they are."""


def glue(name: str, value: Any) -> None:
    """Store ``value`` under ``name`` for the prose of the book, without showing it.

    This writes what ``myst_nb.glue(name, value, display=False)`` writes: the value's display
    forms under ``GLUE_PREFIX`` with ``scrapbook`` metadata naming it. It does not import
    myst-nb, whose glue module takes seconds to import, and it works where myst-nb is absent
    (Colab). A prose reference to a name that was never glued fails the book build. The value's
    text is also kept in this kernel, for ``paste``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier-like string, got {name!r}")
    bundle, metadata = format_display_data(value)
    _glued[name] = bundle.get("text/plain", repr(value))
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    display({GLUE_PREFIX + mime: data for mime, data in bundle.items()}, raw=True,
            metadata=metadata)
    for waiting in list(_waiting):
        template, handle = waiting
        if f"{{{{{name}" in template:
            text, missing = _fill(template)
            handle.update(Markdown(text))
            if not missing:
                _waiting.remove(waiting)


def format_glued(text: str, fmt: str) -> str:
    """The text the book shows for a glued value whose text/plain form is ``text``:
    myst-nb's ``{glue:text}`` rule (a literal is evaluated, then formatted by its type
    letter; no format means ``str``)."""
    _validate.text(text, "text")
    _validate.text(fmt, "fmt")
    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt == "":
        return str(value)
    kind = fmt[-1]
    try:
        if kind == "s":
            value = str(value)
        elif kind in "bcdoxX":
            value = int(value)
        elif kind in "eEfFgGn%":
            value = float(value)
        return format(value, fmt)
    except (TypeError, ValueError) as error:
        raise ValueError(f"fmt {fmt!r} cannot format the glued text {text!r}: {error}") from None


def _fill(template: str) -> tuple[str, list[str]]:
    missing: list[str] = []

    def value(match: re.Match) -> str:
        if match["name"] not in _glued:
            missing.append(match["name"])
            return MISSING
        return format_glued(_glued[match["name"]], match["fmt"] or "")

    return SLOT.sub(value, template).strip(), missing


def pasted(template: str) -> str:
    """``template`` with every ``{{name:fmt}}`` replaced by the glued value, as in the book
    (``MISSING`` for a value not glued yet)."""
    if not isinstance(template, str):
        raise TypeError(f"template must be a str, got {type(template).__name__}")
    return _fill(template)[0]


def paste(template: str) -> None:
    """Show ``template`` as Markdown with this kernel's glued values (see ``pasted``); a value
    glued later is filled in when it is."""
    if not isinstance(template, str):
        raise TypeError(f"template must be a str, got {type(template).__name__}")
    text, missing = _fill(template)
    if not missing:
        display(Markdown(text))
        return
    handle = display(Markdown(text), display_id=True)
    _waiting.append((template, handle))
