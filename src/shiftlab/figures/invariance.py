"""The figures of chapter 1: errors of many functions side by side, and what a shift does to a
feature map and to the numbers read off it.

- ``error_bars``: grouped bars of relative errors on a log axis, the "exact" tolerance a line;
- ``image_row_explorer``: a row of images for ``shiftlab.figures.slider``;
- ``shift_explorer``: a shifted input, its feature map and readouts against the shift, for
  ``slider``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from shiftlab import _validate
from shiftlab.figures.panels import PANEL_INCHES, ZERO_ON_LOG_AXIS, image_panel
from shiftlab.layers import global_avg_pool, global_max_pool
from shiftlab.transforms import shift


def error_bars(
    errors: Mapping[str, Mapping[str, float]], tolerance: float, *, title: str = ""
) -> Figure:
    """Grouped bars of relative errors on a log axis, with the "exact" tolerance as a line
    (``tolerance=0``: bit-for-bit equality, for integer-valued data; no line, a label).

    errors: ``{function name: {measure name: error}}``, e.g. invariance and equivariance error.
    An error of exactly 0 is drawn at ``ZERO_ON_LOG_AXIS`` and labelled 0; ``None`` (a measure
    that does not apply) gets no bar and the label n/a.
    """
    _validate.mapping(errors, "errors")
    tolerance = _validate.real(tolerance, "tolerance", low=0)
    _validate.text(title, "title")
    names = list(errors)
    measures = list(_validate.mapping(next(iter(errors.values())), f"errors[{names[0]!r}]"))
    for name, row in errors.items():
        if list(_validate.mapping(row, f"errors[{name!r}]")) != measures:
            raise ValueError(f"errors[{name!r}] must have the measures {measures}, got "
                             f"{list(row)}")
        for measure, value in row.items():
            if value is not None:
                _validate.real(value, f"errors[{name!r}][{measure!r}]", low=0, finite=False)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(names) + 2.5), 3.8))
    width = 0.8 / len(measures)
    for m, measure in enumerate(measures):
        values = [errors[name][measure] for name in names]
        x = np.arange(len(names)) + (m - (len(measures) - 1) / 2) * width
        heights = [max(0.0 if v is None else float(v), ZERO_ON_LOG_AXIS) for v in values]
        bars = ax.bar(x, heights, width, label=measure,
                      color=plt.cm.viridis(0.2 + 0.55 * m / max(1, len(measures) - 1)))
        for bar, value in zip(bars, values, strict=True):
            text = "n/a" if value is None else "0" if value == 0 else f"{float(value):.0e}"
            if value is None:
                bar.set_alpha(0)
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    if tolerance > 0:
        ax.axhline(tolerance, color="black", linestyle="--", linewidth=1)
        ax.annotate(f"exact: ≤ {tolerance:.1e}", (len(names) - 0.5, tolerance), ha="right",
                    va="bottom", fontsize=9)
    else:  # integer data: exact means an error of 0, bit for bit
        ax.annotate("exact: error 0, bit for bit", (len(names) - 0.5, ZERO_ON_LOG_AXIS * 30),
                    ha="right", va="bottom", fontsize=9)
    ax.set_yscale("log")
    ax.set_ylim(ZERO_ON_LOG_AXIS / 10, 100)
    ax.set_xticks(np.arange(len(names)), [textwrap.fill(name, 14) for name in names], fontsize=9)
    ax.set_ylabel("relative error (log scale)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def image_row_explorer(
    images_at: Callable[[Any], Sequence[torch.Tensor]],
    titles: Sequence[str],
    first: Any,
    *,
    title: str = "",
    cmap: str = "gray",
) -> tuple[Figure, Callable[[Any], None]]:
    """A row of image panels for ``slider``: ``images_at(v)`` gives the ``(H, W)`` images for
    slider value ``v``; colours are fixed by the images at ``first``. Returns ``(fig, update)``."""
    _validate.function(images_at, "images_at")
    _validate.sequence(titles, "titles")
    _validate.text(title, "title")
    _validate.text(cmap, "cmap")
    images = [_validate.values(_validate.image_tensor(image, "images_at(first)", ranks=(2,)),
                               "images_at(first)").detach().cpu()
              for image in _validate.sequence(images_at(first), "images_at(first)")]
    if len(images) != len(titles):
        raise ValueError(f"images_at gave {len(images)} images for {len(titles)} titles")
    fig, axes = plt.subplots(
        1, len(images), figsize=(PANEL_INCHES * len(images), PANEL_INCHES + 0.5), squeeze=False
    )
    low = min(float(image.min()) for image in images)
    high = max(float(image.max()) for image in images)
    artists = [
        image_panel(ax, image, text, cmap=cmap, vmin=low, vmax=high)
        for ax, image, text in zip(axes[0], images, titles, strict=True)
    ]
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()

    def update(value: Any) -> None:
        for artist, image in zip(artists, images_at(value), strict=True):
            artist.set_data(image.detach().cpu().numpy())

    return fig, update


def default_readouts(height: int, width: int) -> dict[str, Callable[[torch.Tensor], float]]:
    """Global max, global mean and the value at one fixed pixel of a feature map."""
    i = _validate.positive_int(height, "height") // 2
    j = _validate.positive_int(width, "width") // 2
    return {
        "global max pool": lambda y: float(global_max_pool(y)),
        "global average pool": lambda y: float(global_avg_pool(y)),
        f"feature at fixed pixel ({i}, {j})": lambda y: float(y[i, j]),
    }


def shift_explorer(
    x: torch.Tensor,
    feature: Callable[[torch.Tensor], torch.Tensor],
    shifts: Sequence[tuple[int, int]],
    *,
    readouts: Mapping[str, Callable[[torch.Tensor], float]] | None = None,
    marker: tuple[int, int] | None = None,
    title: str = "",
) -> tuple[Figure, Callable[[tuple[int, int]], None]]:
    """A figure for ``slider``: shifted input, its feature map, and readouts against the shift.

    x: an ``(H, W)`` image; feature: a map ``(H, W) -> (H, W)``; shifts: the slider positions.
    readouts: scalars read off the feature map (default: ``default_readouts``), plotted for every
    shift, with the current one marked. A red cross follows one point of the content (``marker``,
    default the centre) in both images, so the reader sees the feature map move with the input.
    Returns ``(fig, update)``; ``update(t)`` redraws for shift ``t``.
    """
    x = _validate.values(_validate.image_tensor(x, ranks=(2,)), "x").detach().cpu()
    _validate.function(feature, "feature")
    shifts = _validate.offsets(shifts, "shifts")
    if readouts is not None:
        for name, read in _validate.mapping(readouts, "readouts").items():
            _validate.function(read, f"readouts[{name!r}]")
    if marker is not None:
        marker = _validate.offset(marker, "marker")
    _validate.text(title, "title")
    height, width = x.shape
    maps = [feature(shift(x, t)) for t in shifts]
    if not all(isinstance(y, torch.Tensor) for y in maps):
        raise ValueError(f"feature must return an (H, W) tensor, got {type(maps[0]).__name__}")
    maps = [y.detach().cpu() for y in maps]
    if maps[0].shape != x.shape:
        raise ValueError(f"feature must map (H, W) to (H, W), got {tuple(maps[0].shape)}")
    readouts = default_readouts(height, width) if readouts is None else readouts
    curves = {name: [read(y) for y in maps] for name, read in readouts.items()}
    mark_i, mark_j = marker if marker is not None else (height // 2, width // 2)
    bound = max(float(y.abs().max()) for y in maps) or 1.0

    fig, (ax_in, ax_map, ax_read) = plt.subplots(
        1, 3, figsize=(3 * PANEL_INCHES + 1.6, PANEL_INCHES + 0.6),
        gridspec_kw={"width_ratios": [1, 1, 1.5]},
    )
    input_art = image_panel(ax_in, shift(x, shifts[0]), "input")
    map_art = image_panel(ax_map, maps[0], "feature map", cmap="viridis", vmin=-bound, vmax=bound)
    crosses = [ax.plot([], [], "+", color="red", markersize=14, markeredgewidth=2)[0]
               for ax in (ax_in, ax_map)]
    steps = np.arange(len(shifts))
    dots = []
    for name, values in curves.items():
        (line,) = ax_read.plot(steps, values, label=name, linewidth=1.5)
        dots.append(ax_read.plot([], [], "o", color=line.get_color(), markersize=7)[0])
    cursor = ax_read.axvline(0, color="gray", linewidth=1)
    ticks = steps[:: max(1, len(shifts) // 8)]
    if all(dy == 0 for dy, _ in shifts):
        ax_read.set_xticks(ticks, [str(shifts[k][1]) for k in ticks], fontsize=8)
        ax_read.set_xlabel("shift dx (dy = 0)")
    elif all(dx == 0 for _, dx in shifts):
        ax_read.set_xticks(ticks, [str(shifts[k][0]) for k in ticks], fontsize=8)
        ax_read.set_xlabel("shift dy (dx = 0)")
    else:
        ax_read.set_xticks(ticks, [str(shifts[k]) for k in ticks], fontsize=7, rotation=30)
        ax_read.set_xlabel("shift (dy, dx)")
    ax_read.set_ylabel("readout")
    ax_read.legend(fontsize=8, loc="best")
    ax_read.set_title("readouts as the input shifts", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()

    def update(t: tuple[int, int]) -> None:
        k = shifts.index(_validate.offset(t))
        dy, dx = shifts[k]
        input_art.set_data(shift(x, shifts[k]).numpy())
        map_art.set_data(maps[k].numpy())
        ax_in.set_title(f"input shifted by {shifts[k]}", fontsize=10)
        for cross in crosses:
            cross.set_data([(mark_j + dx) % width], [(mark_i + dy) % height])
        for dot, values in zip(dots, curves.values(), strict=True):
            dot.set_data([k], [values[k]])
        cursor.set_xdata([k, k])

    update(shifts[0])
    return fig, update
