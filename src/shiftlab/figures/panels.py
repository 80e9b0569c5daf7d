"""The pieces every figure shares, so a notebook cell shows the experiment, not matplotlib plumbing:
an image panel, a row of images, a table in Markdown.

Images are drawn in gray, feature maps in viridis (both read in grayscale), errors on a log axis.
Functions return the ``Figure``, closed, so a notebook shows it once: as the cell's value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from shiftlab import _validate

PANEL_INCHES = 2.6
"""Width of one image panel; four panels fill the width of a book page."""

ZERO_ON_LOG_AXIS = 1e-18
"""Where an error of exactly 0 is drawn on a log axis (and labelled "0")."""


def image_panel(
    ax: Axes, image: torch.Tensor, title: str = "", *, cmap: str = "gray", signed: bool = False,
    vmin: float | None = None, vmax: float | None = None,
) -> AxesImage:
    """Draw one ``(H, W)`` image on ``ax`` without ticks; ``signed`` centres the colours on 0."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    image = _validate.image_tensor(image, "image", ranks=(2,))
    image = _validate.values(image, "image").detach().cpu()
    _validate.text(title, "title")
    _validate.text(cmap, "cmap")
    signed = _validate.boolean(signed, "signed")
    vmin = _validate.optional_real(vmin, "vmin")
    vmax = _validate.optional_real(vmax, "vmax")
    if signed and vmin is None and vmax is None:
        bound = float(image.abs().max()) or 1.0
        vmin, vmax = -bound, bound
    artist = ax.imshow(image.numpy(), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return artist


def show_images(
    images: Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    *,
    title: str = "",
    cmap: str = "gray",
    signed: bool = False,
) -> Figure:
    """A row of ``(H, W)`` images with their titles and a figure title that states the finding."""
    _validate.sequence(images, "images")
    titles = [""] * len(images) if titles is None else list(_validate.sequence(titles, "titles"))
    _validate.text(title, "title")
    signed = _validate.boolean(signed, "signed")
    for k, image in enumerate(images):
        _validate.values(_validate.image_tensor(image, f"images[{k}]", ranks=(2,)), "images")
    if len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}")
    fig, axes = plt.subplots(
        1, len(images), figsize=(PANEL_INCHES * len(images), PANEL_INCHES + 0.5), squeeze=False
    )
    for ax, image, text in zip(axes[0], images, titles, strict=True):
        image_panel(ax, image, text, cmap=cmap, signed=signed)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def markdown_table(
    rows: Mapping[str, Mapping[str, Any]], *, first: str = "function", percent: Sequence[str] = ()
) -> Markdown:
    """A table as Markdown, rendered by Jupyter and by the book alike.

    rows: ``{row name: {column: value}}``; the columns named in ``percent`` are shown as
    percentages, other floats in scientific notation, ``None`` as a dash.
    """
    _validate.mapping(rows, "rows")
    _validate.text(first, "first")
    percent = _validate.sequence(percent, "percent", nonempty=False)
    for name, row in rows.items():
        _validate.mapping(row, f"rows[{name!r}]", nonempty=False)
    columns = list(next(iter(rows.values())))

    def cell(column: str, value: Any) -> str:
        if value is None:
            return "—"
        if column in percent:
            return f"{100 * value:.1f}%"
        if isinstance(value, float):
            return f"{value:.1e}"
        return str(value)

    lines = [
        "| " + " | ".join([first, *columns]) + " |",
        "|" + "---|" * (len(columns) + 1),
        *(
            "| " + " | ".join([name, *(cell(c, row[c]) for c in columns)]) + " |"
            for name, row in rows.items()
        ),
    ]
    return Markdown("\n".join(lines))
