"""One call, one slider that works everywhere: in the book, in JupyterLab, Colab and VS Code.

``slider(fig, update, values)`` draws the figure once per value (``update(v)`` changes its
artists, as in matplotlib's ``FuncAnimation``) and returns a ``Slider``. Displayed in a notebook,
it is HTML: every frame as an ``<img>`` with its alt text, and an ``<input type="range">`` whose
``oninput`` shows one of them. It needs no kernel and no external script, so the same output

- works in the static HTML book;
- works in JupyterLab, Notebook, Colab and VS Code while the kernel runs, and after the notebook
  is saved, closed and opened again without a kernel (an ipywidgets slider would show "Error
  displaying widget: model not found" there, since JupyterLab does not save widget state by
  default; all frames are pre-rendered, so a kernel round trip would add nothing);
- takes the arrow keys for itself: JupyterLab's notebook shortcuts would otherwise move to the
  next cell when a learner presses an arrow key on the slider;
- shows each frame at its natural size, never stretched to the width of the output (at most the
  width of the output and three quarters of the window's height), so it stays crisp and fits a
  768-pixel-high screen with its control.

Each frame's alt text says what it shows: the figure's title, panels and axes
(``shiftlab.figures.alt_text``) and the slider's position.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from shiftlab import _validate
from shiftlab.figures.alt_text import alt_text

MAX_FRAMES = 65
"""Each frame is a PNG in the page; more than this would break the 3 MB page budget."""

_SHOW_FRAME = (
    "var r=this.closest('.shiftlab-slider'),k=+this.value;"
    "r.querySelectorAll('img.shiftlab-frame').forEach(function(f,i){"
    "f.style.display=i===k?'':'none';"
    "if(i===k){r.querySelector('output').textContent=f.dataset.label;}});"
)


FRAME_STYLE = "max-width:100%;max-height:75vh;width:auto;height:auto;"
"""Natural size, shrunk (never grown) to the output's width and 3/4 of the window's height."""

_KEEP_KEYS = (
    "if(/^(Arrow|Page|Home$|End$)/.test(event.key)&&!event.ctrlKey&&!event.metaKey)"
    "{event.stopPropagation();}"
)
"""The keys that move a range input stop there, so that JupyterLab's notebook shortcuts (which
would move to the next cell) do not take them; every other key (Ctrl+S, Escape) goes on."""


class Slider:
    """Pre-rendered frames of a figure, one per slider position, with their labels and alt
    texts."""

    def __init__(self, frames: list[bytes], labels: list[str], label: str,
                 descriptions: list[str] | None = None) -> None:
        frames = _validate.sequence(frames, "frames")
        if not all(isinstance(png, bytes) for png in frames):
            raise TypeError("frames must be a list of PNG images (bytes)")
        labels = _validate.sequence(labels, "labels", length=len(frames))
        if not all(isinstance(text, str) for text in labels):
            raise TypeError("labels must be a list of str, one per frame")
        _validate.text(label, "label")
        if descriptions is not None:
            descriptions = _validate.sequence(descriptions, "descriptions", length=len(frames))
            if not all(isinstance(text, str) for text in descriptions):
                raise TypeError("descriptions must be a list of str, one per frame")
        self.frames = frames
        self.labels = labels
        self.label = label
        self.descriptions = descriptions or [""] * len(frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        return f"<Slider over {self.label}: {len(self)} frames, {', '.join(self.labels)}>"

    @property
    def uid(self) -> str:
        """A short id derived from the frames, so the same notebook gives the same HTML."""
        digest = hashlib.sha1(b"".join(self.frames)).hexdigest()
        return f"shiftlab-slider-{digest[:12]}"

    def alt(self, index: int) -> str:
        """The alt text of frame ``index``: what the figure shows, at which position."""
        index = _validate.integer(index, "index")
        if not -len(self) <= index < len(self):
            raise ValueError(f"index must lie in 0 ... {len(self) - 1}, got {index}")
        where = f"{self.label} = {self.labels[index]}"
        description = self.descriptions[index]
        return f"{description} Slider position: {where}." if description else where

    def html(self) -> str:
        """The slider: all frames as ``<img>`` and a range input that picks one."""
        uid, label = self.uid, html.escape(self.label)
        images = "\n".join(
            f'<img class="shiftlab-frame" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode("ascii")}" alt="{html.escape(self.alt(i))}" '
            f'data-label="{html.escape(text)}" style="{FRAME_STYLE}'
            f'{"" if i == 0 else "display:none;"}">'
            for i, (png, text) in enumerate(zip(self.frames, self.labels, strict=True))
        )
        return (
            f'<div class="shiftlab-slider" id="{uid}" data-lm-suppress-shortcuts="true">'
            f'\n{images}\n'
            '<div class="shiftlab-slider-controls" '
            'style="display:flex;align-items:center;gap:0.75em;max-width:40em;">'
            f'<label for="{uid}-input" style="white-space:nowrap;">{label}</label>'
            f'<input id="{uid}-input" type="range" min="0" max="{len(self) - 1}" step="1" '
            f'value="0" style="flex:1;" oninput="{_SHOW_FRAME}" '
            f'onkeydown="{_KEEP_KEYS}">'
            f'<output for="{uid}-input" style="min-width:4em;">'
            f"{html.escape(self.labels[0])}</output></div>\n</div>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"text/html": self.html(), "text/plain": repr(self)}


def slider(
    fig: Figure,
    update: Callable[[Any], object],
    values: Sequence[Any],
    *,
    label: str = "value",
    fmt: Callable[[Any], str] = str,
    dpi: int = 80,
) -> Slider:
    """Render ``fig`` after ``update(v)`` for each ``v`` in ``values``; return the ``Slider``.

    fig: the matplotlib figure; it is closed afterwards, so it is not shown a second time.
    update: changes the figure's artists to show value ``v`` (its return value is ignored).
    values: the slider positions, 1 to ``MAX_FRAMES`` of them, in order.
    label: the name shown beside the slider; ``fmt(v)`` is the text shown for a position.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    _validate.function(update, "update")
    _validate.function(fmt, "fmt")
    if isinstance(values, str) or not isinstance(values, Sequence | range):
        raise TypeError(
            f"values must be a sequence (a list or a range), got {type(values).__name__}"
        )
    if not 1 <= len(values) <= MAX_FRAMES:
        raise ValueError(f"values must have 1 to {MAX_FRAMES} entries, got {len(values)}")
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__}")
    dpi = _validate.positive_int(dpi, "dpi", high=600)
    frames, labels, descriptions = [], [], []
    try:
        for value in values:
            update(value)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
            frames.append(buffer.getvalue())
            labels.append(fmt(value))
            descriptions.append(alt_text(fig))
    finally:
        plt.close(fig)
    return Slider(frames, labels, label, descriptions)
