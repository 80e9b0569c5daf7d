"""Alt text for every figure: what it shows, read from the figure itself.

The course's figures state their finding in their title (STYLE.md), and their axes say what is
plotted. ``alt_text(fig)`` turns that into one sentence for a reader who cannot see the picture:
the title, then each panel's title, what it plots against what, its curves, and its colour
scale. Nothing has to be written by hand, so every chapter's figures get it, new ones too.

``register()`` (called when ``shiftlab.figures`` is imported in IPython) makes every matplotlib
figure that a notebook displays carry it: as the output's ``text/plain`` and as the ``alt`` of its
``image/png`` in the output's metadata. The book's Sphinx extension ``shiftlab.book.pages``
copies that into the ``<img alt>`` of the page; the kernel-free sliders
(``shiftlab.figures.sliders``) put it on each frame.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure


def _clean(text: str) -> str:
    return " ".join(text.replace("$", "").split())


def _is_colourbar(ax: Axes) -> bool:
    return getattr(ax, "_colorbar", None) is not None


def _panel(ax: Axes) -> str:
    """One panel in words: its title, what it plots, its curves."""
    words = _clean(ax.get_title())
    x, y = _clean(ax.get_xlabel()), _clean(ax.get_ylabel())
    if x and y:
        plotted = f"{y} against {x}"
    else:
        plotted = x or y
    if not plotted and ax.get_images():
        return f"{words} (image)" if words else "an image"
    if plotted:
        words = f"{words}: {plotted}" if words else plotted
    legend = ax.get_legend()
    labels = [_clean(text.get_text()) for text in legend.get_texts()] if legend else []
    if labels:
        words += f" (legend: {', '.join(labels)})"
    return words


def alt_text(fig: Figure) -> str:
    """A sentence that says what ``fig`` shows: its title, then its panels."""
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    panels = [ax for ax in axes if not _is_colourbar(ax)]
    suptitle = getattr(fig, "_suptitle", None)
    title = _clean(suptitle.get_text()) if suptitle is not None else ""
    described = [_panel(ax) for ax in panels]
    if not title and len(panels) == 1:
        title, described = _clean(panels[0].get_title()), [_panel(panels[0])]
        if described[0].startswith(title):
            described = [described[0][len(title):].lstrip(": ")]
    described = [text for text in described if text]
    scales = [_clean(ax.get_ylabel() or ax.get_xlabel()) for ax in axes if _is_colourbar(ax)]
    sentence = title.rstrip(".") if title else "A figure"
    if len(described) == 1:
        sentence += f". Plot of {described[0]}"
    elif described:
        sentence += f". {len(described)} panels: " + "; ".join(described)
    scales = [scale for scale in scales if scale]
    if scales:
        sentence += f". Colour scale: {', '.join(dict.fromkeys(scales))}"
    return sentence + "."


def _figure_bundle(fig: Figure, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
    text = alt_text(fig)
    return {"text/plain": text}, {"image/png": {"alt": text}}


def register(shell: Any = None) -> bool:
    """Give every figure displayed in the IPython ``shell`` (default: the running one) its alt
    text; return False outside IPython. The PNG itself still comes from matplotlib's inline
    backend."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython is a dependency
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.mimebundle_formatter.for_type(Figure, _figure_bundle)
    return True
