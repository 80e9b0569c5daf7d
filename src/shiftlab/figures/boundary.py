"""The figures of the boundary chapter: grids of numbers, grids of maps, error bands.

- ``number_grids``: small arrays drawn cell by cell with their numbers written in (what a
  padding mode puts beyond the frame, how often each tap sees a pixel), the frame outlined;
- ``map_grid``: rows x columns of maps (feature maps per padding mode, decoded positions);
- ``band_heatmaps``: error maps on a log colour scale, exact zeros black (every nonzero error
  is lighter), the predicted band outlined; ``band_explorer`` is the same figure for
  ``shiftlab.figures.sliders.slider``.

Numbers and maps are gray or viridis, errors magma: all read in grayscale. Functions return the
``Figure``, closed, so a notebook shows it once: as the cell's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from shiftlab import _validate
from shiftlab.figures.panels import PANEL_INCHES, image_panel

BAND_PANEL_INCHES = 2.1
"""Side of one error map: four of them and a colour bar fill the width of a book page."""

ERROR_FLOOR = 1e-4
"""Relative errors below this are drawn in the colour of this value; exact zeros are black."""


def _grid(value: Any, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):  # counts (ints) or values (floats), read on the CPU
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must hold real numbers (ints or floats), got {value.dtype}")
        value = _validate.values(value, name).detach().cpu()
    return _validate.image_tensor(torch.as_tensor(value).double(), name, ranks=(2,))


def number_grids(
    grids: Mapping[str, torch.Tensor],
    *,
    frames: Mapping[str, tuple[int, int, int, int]] | None = None,
    title: str = "",
    fmt: str = "{:g}",
    vmax: float | None = None,
    per_row: int = 3,
) -> Figure:
    """One panel per grid, each cell gray by value with its number written in.

    grids: ``{panel title: (h, w) values}``; panels of different sizes share one cell size,
    ``per_row`` panels to a row. frames: ``{panel title: (top, left, height, width)}``, a
    rectangle outlined in red (the image inside its padding). vmax: the value drawn white
    (default: the largest of all grids).
    """
    if not _validate.mapping(grids, "grids", nonempty=False):
        raise ValueError("grids must name at least one panel")
    if frames is not None:
        _validate.mapping(frames, "frames", nonempty=False)
    _validate.text(title, "title")
    _validate.text(fmt, "fmt")
    vmax = _validate.optional_real(vmax, "vmax")
    per_row = _validate.positive_int(per_row, "per_row", high=100)
    values = {name: _grid(grid, f"grids[{name!r}]") for name, grid in grids.items()}
    frames = dict(frames or {})
    unknown = set(frames) - set(values)
    if unknown:
        raise ValueError(f"frames names panels that are not in grids: {sorted(unknown)}")
    top = vmax if vmax is not None else max(float(v.max()) for v in values.values()) or 1.0
    rows = max(v.shape[0] for v in values.values())
    columns = max(v.shape[1] for v in values.values())
    n_columns = min(per_row, len(values))
    n_rows = -(-len(values) // n_columns)
    side = 2.4 if max(rows, columns) > 3 else 1.6
    fig, axes = plt.subplots(n_rows, n_columns, squeeze=False,
                             figsize=(side * n_columns + 0.4, side * n_rows + 0.6))
    font = 11 if max(rows, columns) <= 6 else 9
    for ax in axes.flat[len(values):]:
        ax.set_visible(False)
    for ax, (name, grid) in zip(axes.flat, values.items(), strict=False):
        h, w = grid.shape
        ax.imshow(grid.numpy(), cmap="gray", vmin=0, vmax=top, interpolation="nearest")
        for i in range(h):
            for j in range(w):
                value = float(grid[i, j])
                ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=font,
                        color="black" if value > 0.5 * top else "white")
        for edge in range(h + 1):  # thin cell borders: white cells stay visible on a page
            ax.plot([-0.5, w - 0.5], [edge - 0.5, edge - 0.5], color="0.6", linewidth=0.6)
        for edge in range(w + 1):
            ax.plot([edge - 0.5, edge - 0.5], [-0.5, h - 0.5], color="0.6", linewidth=0.6)
        # Centre the grid on a canvas of the largest size, so every cell has the same size.
        pad_y, pad_x = (rows - h) / 2, (columns - w) / 2
        ax.set_xlim(-0.5 - pad_x, w - 0.5 + pad_x)
        ax.set_ylim(h - 0.5 + pad_y, -0.5 - pad_y)
        if name in frames:
            i, j, fh, fw = frames[name]
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), fw, fh, fill=False, edgecolor="red",
                                   linewidth=2.5))
        ax.set_title(name, fontsize=11)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    plt.close(fig)
    return fig


def map_grid(
    rows: Mapping[str, Sequence[torch.Tensor]],
    columns: Sequence[str],
    *,
    title: str = "",
    cmap: str = "viridis",
    shared: bool = True,
) -> Figure:
    """A grid of ``(H, W)`` maps: one row per entry of ``rows`` (its name at the left), one
    column per title in ``columns``. With ``shared`` every column has one colour scale, so the
    same colour means the same value down a column."""
    if not _validate.mapping(rows, "rows", nonempty=False):
        raise ValueError("rows must name at least one row")
    _validate.sequence(columns, "columns")
    _validate.text(title, "title")
    _validate.text(cmap, "cmap")
    shared = _validate.boolean(shared, "shared")
    maps = {name: [_grid(m, f"rows[{name!r}]") for m in _validate.sequence(row, f"rows[{name!r}]")]
            for name, row in rows.items()}
    for name, row in maps.items():
        if len(row) != len(columns):
            raise ValueError(f"row {name!r} has {len(row)} maps for {len(columns)} columns")
    fig, axes = plt.subplots(len(maps), len(columns), squeeze=False,
                             figsize=(PANEL_INCHES * len(columns), PANEL_INCHES * len(maps) + 0.5))
    for c in range(len(columns)):
        column = [row[c] for row in maps.values()]
        low = min(float(m.min()) for m in column) if shared else None
        high = max(float(m.max()) for m in column) if shared else None
        for r, (name, row) in enumerate(maps.items()):
            ax = axes[r][c]
            image_panel(ax, row[c], columns[c] if r == 0 else "", cmap=cmap, vmin=low,
                        vmax=high if high != low else None)
            if c == 0:
                ax.set_ylabel(name, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


_ERROR_CMAP = ListedColormap(plt.get_cmap("magma")(np.linspace(0.25, 1.0, 192)))
_ERROR_CMAP = _ERROR_CMAP.with_extremes(bad="black", under=_ERROR_CMAP(0), over=_ERROR_CMAP(1.0))


def _shown(error: torch.Tensor) -> np.ma.MaskedArray:
    """Exact zeros masked (drawn black); other values clipped to ``[ERROR_FLOOR, 1]``."""
    values = error.detach().double().numpy()
    return np.ma.masked_equal(np.clip(values, ERROR_FLOOR, 1.0) * (values != 0), 0.0)


def _band_panel(ax: Axes, error: torch.Tensor, band: int | None, text: str) -> tuple[AxesImage,
                                                                                    Rectangle]:
    artist = ax.imshow(_shown(error), cmap=_ERROR_CMAP, norm=LogNorm(ERROR_FLOOR, 1.0),
                       interpolation="nearest")
    outline = Rectangle((0, 0), 0, 0, fill=False, edgecolor="white", linestyle="--",
                        linewidth=1.2)
    ax.add_patch(outline)
    _place_band(outline, tuple(error.shape), band)
    ax.set_title(text, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return artist, outline


def _place_band(outline: Rectangle, shape: tuple[int, ...], band: int | None) -> None:
    """Outline the pixels at distance ``>= band`` from the frame (hidden when band is None)."""
    if band is None:
        outline.set_visible(False)
        return
    height, width = shape
    outline.set_visible(True)
    outline.set_xy((band - 0.5, band - 0.5))
    outline.set_width(max(width - 2 * band, 0))
    outline.set_height(max(height - 2 * band, 0))


def _colourbar(fig: Figure, artist: AxesImage, **where: Any) -> None:
    bar = fig.colorbar(artist, **where)
    bar.set_label("relative error (black: 0)", fontsize=10)
    bar.ax.tick_params(labelsize=9)


def band_heatmaps(
    rows: Mapping[str, Sequence[torch.Tensor]],
    columns: Sequence[str],
    *,
    bands: Sequence[int | None] | None = None,
    title: str = "",
) -> Figure:
    """Error maps (relative, in ``[0, 1]``) on a log colour scale, rows x columns.

    ``bands[c]`` outlines, in every map of column ``c``, the pixels at distance ``>= bands[c]``
    from the frame: where the error should be 0 (up to rounding).
    """
    if not _validate.mapping(rows, "rows", nonempty=False):
        raise ValueError("rows must name at least one row")
    _validate.sequence(columns, "columns")
    _validate.text(title, "title")
    for name, row in rows.items():
        _validate.sequence(row, f"rows[{name!r}]")
    if bands is not None:
        _validate.sequence(bands, "bands")
        for k, band in enumerate(bands):
            if band is not None:
                _validate.non_negative_int(band, f"bands[{k}]")
    bands = list(bands) if bands is not None else [None] * len(columns)
    if len(bands) != len(columns):
        raise ValueError(f"bands must have one entry per column ({len(columns)}), got "
                         f"{len(bands)}")
    fig, axes = plt.subplots(len(rows), len(columns), squeeze=False, layout="constrained",
                             figsize=(BAND_PANEL_INCHES * len(columns) + 1.0,
                                      BAND_PANEL_INCHES * len(rows) + 0.6))
    artist = None
    for r, (name, row) in enumerate(rows.items()):
        if len(row) != len(columns):
            raise ValueError(f"row {name!r} has {len(row)} maps for {len(columns)} columns")
        for c, error in enumerate(row):
            error = _grid(error, f"rows[{name!r}][{c}]")
            artist, _ = _band_panel(axes[r][c], error, bands[c], columns[c] if r == 0 else "")
            if c == 0:
                axes[r][c].set_ylabel(name, fontsize=10)
    _colourbar(fig, artist, ax=axes, fraction=0.025, pad=0.02)
    if title:
        fig.suptitle(title, fontsize=11)
    plt.close(fig)
    return fig


def band_explorer(
    maps_at: Callable[[Any], Sequence[torch.Tensor]],
    values: Sequence[Any],
    titles: Sequence[str],
    *,
    band_at: Callable[[Any], int],
    title_at: Callable[[Any], str],
) -> tuple[Figure, Callable[[Any], None]]:
    """``band_heatmaps`` with one row, for ``slider``: ``maps_at(v)`` gives the error maps for
    slider value ``v``, ``band_at(v)`` the band to outline, ``title_at(v)`` the figure title.
    Returns ``(fig, update)``."""
    _validate.function(maps_at, "maps_at")
    values = list(_validate.sequence(values, "values", nonempty=False))
    if not values:
        raise ValueError("values must not be empty")
    _validate.sequence(titles, "titles")
    _validate.function(band_at, "band_at")
    _validate.function(title_at, "title_at")
    first = [_grid(m, "maps_at(v)") for m in maps_at(values[0])]
    if len(first) != len(titles):
        raise ValueError(f"maps_at gave {len(first)} maps for {len(titles)} titles")
    # A fixed layout: every frame is drawn with the same geometry, and quickly.
    fig, axes = plt.subplots(1, len(titles), squeeze=False,
                             figsize=(PANEL_INCHES * len(titles) + 1.2, PANEL_INCHES + 0.6))
    fig.subplots_adjust(left=0.02, right=0.86, bottom=0.03, top=0.8, wspace=0.06)
    panels = [_band_panel(ax, m, band_at(values[0]), text)
              for ax, m, text in zip(axes[0], first, titles, strict=True)]
    _colourbar(fig, panels[0][0], cax=fig.add_axes((0.885, 0.1, 0.015, 0.65)))
    heading = fig.suptitle("", fontsize=11)

    def update(value: Any) -> None:
        for (artist, outline), error in zip(panels, maps_at(value), strict=True):
            error = _grid(error, "maps_at(v)")
            artist.set_data(_shown(error))
            _place_band(outline, tuple(error.shape), band_at(value))
        heading.set_text(title_at(value))

    update(values[0])
    return fig, update


__all__ = ["ERROR_FLOOR", "band_explorer", "band_heatmaps", "map_grid", "number_grids"]
