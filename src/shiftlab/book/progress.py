"""A progress bar for the longer experiments that reads right live in Jupyter and in the book.

``progress(iterable, desc=...)`` is tqdm's bar. In a Jupyter kernel it is one notebook output
that is *updated in place* (an IPython display handle) with two forms:

- ``text/html``: an HTML ``<progress>`` element and tqdm's counter, elapsed time and rate;
- ``text/plain``: tqdm's usual one-line bar.

The saved notebook keeps only the last update, so the built book shows the finished bar
("12/12 [00:03, ...]"), not a pile of intermediate lines or a dead widget. Outside a kernel (a
script, the tests) it is tqdm's ordinary text bar on stderr.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from IPython import get_ipython
from IPython.display import display
from tqdm.std import tqdm as std_tqdm

from shiftlab import _validate

_BAR = "<bar/>"


class NotebookProgress(std_tqdm):
    """tqdm drawn as one updatable notebook output (HTML ``<progress>`` and plain text)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["gui"] = True  # tqdm computes, this class draws
        super().__init__(*args, **kwargs)
        self._handle = None
        if not self.disable:
            self._handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> dict[str, str]:
        meter = self.format_dict
        plain = self.format_meter(**meter)
        meter["bar_format"] = (meter["bar_format"] or "{l_bar}{bar}{r_bar}").replace(
            "{bar}", _BAR)
        left, _, right = (re.sub(r"\|?<bar/>\|?", _BAR, self.format_meter(**meter))
                          .partition(_BAR))
        total = self.total or 1
        value = min(self.n, total)
        markup = (
            '<div class="shiftlab-progress" style="display:flex;align-items:center;'
            'gap:0.5em;font-family:monospace;font-size:0.9em;">'
            f"<span>{html.escape(left.strip())}</span>"
            f'<progress value="{value}" max="{total}" style="width:12em;"></progress>'
            f"<span>{html.escape(right.strip())}</span></div>"
        )
        return {"text/plain": plain, "text/html": markup}

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Redraw the output in place (tqdm calls this as the loop advances)."""
        if self._handle is not None:
            self._handle.update(self._bundle(), raw=True)
        return True

    def close(self) -> None:
        """Stop the bar and draw its final state: the count, total time and mean rate."""
        if self.disable:
            return
        super().close()
        self.display()


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel, which can update an output in place."""
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress(iterable: Iterable, *, desc: str = "", unit: str = "it",
             total: int | None = None, disable: bool = False) -> std_tqdm:
    """tqdm over ``iterable``: an in-place notebook output in Jupyter, text on stderr elsewhere."""
    if not isinstance(iterable, Iterable):
        raise TypeError(f"iterable must be iterable, got {type(iterable).__name__}")
    if total is not None:
        _validate.non_negative_int(total, "total")
    disable = _validate.boolean(disable, "disable")
    if not isinstance(desc, str) or not isinstance(unit, str):
        raise TypeError(f"desc and unit must be str, got {desc!r} and {unit!r}")
    bar = NotebookProgress if in_notebook() else std_tqdm
    return bar(iterable, desc=desc, unit=unit, total=total, disable=disable)
