"""One call, two sliders: a live ipywidgets slider in Jupyter and a kernel-free one in the book.

``slider(fig, update, values)`` draws the figure once per value (``update(v)`` changes its
artists, as in matplotlib's ``FuncAnimation``) and returns a ``Slider``. Displayed in a notebook,
it hands the front end a MIME bundle with both versions:

- ``application/vnd.jupyter.widget-view+json``: an ipywidgets slider and image, preferred by
  JupyterLab, Notebook, VS Code and Colab when a kernel is running;
- ``text/html``: the same frames as ``<img>`` elements and an ``<input type="range">`` whose
  ``oninput`` shows one of them. It needs no kernel and no external script, so it works in the
  static HTML book (``_config.yml`` tells myst-nb to prefer it over the widget view).

Both show the same pre-rendered frames, so what a learner sees live is what a reader sees online.
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

MAX_FRAMES = 65
"""Each frame is a PNG in the page; more than this would break the 3 MB page budget."""

_SHOW_FRAME = (
    "var r=this.closest('.shiftlab-slider'),k=+this.value;"
    "r.querySelectorAll('img.shiftlab-frame').forEach(function(f,i){"
    "f.style.display=i===k?'':'none';"
    "if(i===k){r.querySelector('output').textContent=f.dataset.label;}});"
)


class Slider:
    """Pre-rendered frames of a figure, one per slider position, with their labels."""

    def __init__(self, frames: list[bytes], labels: list[str], label: str) -> None:
        self.frames = frames
        self.labels = labels
        self.label = label

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        return f"<Slider over {self.label}: {len(self)} frames, {', '.join(self.labels)}>"

    @property
    def uid(self) -> str:
        """A short id derived from the frames, so the same notebook gives the same HTML."""
        digest = hashlib.sha1(b"".join(self.frames)).hexdigest()
        return f"shiftlab-slider-{digest[:12]}"

    def html(self) -> str:
        """The kernel-free slider: all frames as ``<img>`` and a range input that picks one."""
        uid, label = self.uid, html.escape(self.label)
        images = "\n".join(
            f'<img class="shiftlab-frame" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode("ascii")}" alt="{label} = {html.escape(text)}" '
            f'data-label="{html.escape(text)}" style="max-width:100%;height:auto;'
            f'{"" if i == 0 else "display:none;"}">'
            for i, (png, text) in enumerate(zip(self.frames, self.labels, strict=True))
        )
        return (
            f'<div class="shiftlab-slider" id="{uid}">\n{images}\n'
            '<div class="shiftlab-slider-controls" '
            'style="display:flex;align-items:center;gap:0.75em;max-width:40em;">'
            f'<label for="{uid}-input" style="white-space:nowrap;">{label}</label>'
            f'<input id="{uid}-input" type="range" min="0" max="{len(self) - 1}" step="1" '
            f'value="0" style="flex:1;" oninput="{_SHOW_FRAME}">'
            f'<output for="{uid}-input" style="min-width:4em;">'
            f"{html.escape(self.labels[0])}</output></div>\n</div>"
        )

    def widget(self) -> Any:
        """The live slider: an ipywidgets ``SelectionSlider`` above an ``Image`` of the frame."""
        import ipywidgets

        image = ipywidgets.Image(value=self.frames[0], format="png")
        image.layout.max_width = "100%"
        control = ipywidgets.SelectionSlider(
            options=[(text, i) for i, text in enumerate(self.labels)],
            value=0,
            description=self.label,
            continuous_update=True,
            style={"description_width": "initial"},
            layout=ipywidgets.Layout(width="40em", max_width="100%"),
        )

        def show(change: dict) -> None:
            image.value = self.frames[change["new"]]

        control.observe(show, names="value")
        return ipywidgets.VBox([image, control])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        bundle = dict(self.widget()._repr_mimebundle_())
        bundle["text/html"] = self.html()
        bundle["text/plain"] = repr(self)
        return bundle


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
    dpi = _validate.positive_int(dpi, "dpi")
    frames, labels = [], []
    try:
        for value in values:
            update(value)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
            frames.append(buffer.getvalue())
            labels.append(fmt(value))
    finally:
        plt.close(fig)
    return Slider(frames, labels, label)
