"""Figures of chapter 2: where an equivariance law holds, and where it breaks.

- ``equivariance_row``: the two sides of ``f(g x) = g' f(x)`` side by side, and their difference
  as a map over positions;
- ``error_curves``: errors against a parameter (the depth of a network) on a log axis, with
  the errors that are exactly 0 drawn on a floor of their own;
- ``moving_maps_explorer``: a row of maps for ``shiftlab.figures.sliders.slider`` with a cross that
  follows one point of the content.

Images are gray, feature maps viridis, differences magma (all read in grayscale). Functions return
the ``Figure``, closed, so a notebook shows it once: as the cell's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from shiftlab import _validate
from shiftlab.figures.panels import PANEL_INCHES, ZERO_ON_LOG_AXIS, image_panel

Transform = Callable[[torch.Tensor], torch.Tensor]


def equivariance_row(
    x: torch.Tensor,
    f: Transform,
    g: Transform,
    g_out: Transform | None = None,
    *,
    g_name: str = "g",
    title: str = "",
) -> Figure:
    """Four panels: ``g x``, ``f(g x)``, ``g' f(x)`` and the map ``|f(g x) − g' f(x)|``.

    x: an ``(H, W)`` image; f: a map of ``(H, W)`` images; g, g_out: transformations of the input
    and of the output (``g_out`` defaults to ``g``); ``g_name`` names ``g`` in the panel titles.
    The two middle panels share one colour scale; the difference panel's title gives its maximum.
    """
    x = _validate.values(_validate.image_tensor(x, ranks=(2,)), "x")
    _validate.function(f, "f")
    _validate.function(g, "g")
    g_out = g if g_out is None else _validate.function(g_out, "g_out")
    _validate.text(g_name, "g_name")
    _validate.text(title, "title")
    with torch.no_grad():
        lhs, rhs = f(g(x)), g_out(f(x))
    if not isinstance(lhs, torch.Tensor) or not isinstance(rhs, torch.Tensor) or \
            lhs.shape != rhs.shape or lhs.dim() != 2:
        raise ValueError(
            f"f(g x) and g'(f(x)) must be (H, W) images of one shape, got {tuple(lhs.shape)} "
            f"and {tuple(rhs.shape)}"
        )
    difference = (lhs - rhs).abs()
    largest = float(difference.max())
    bound = max(float(lhs.abs().max()), float(rhs.abs().max())) or 1.0
    fig, axes = plt.subplots(1, 4, figsize=(4 * PANEL_INCHES, PANEL_INCHES + 0.6))
    image_panel(axes[0], g(x), f"{g_name} x")
    image_panel(axes[1], lhs, f"f({g_name} x)", cmap="viridis", vmin=-bound, vmax=bound)
    image_panel(axes[2], rhs, f"{g_name}' f(x)", cmap="viridis", vmin=-bound, vmax=bound)
    image_panel(axes[3], difference, f"|difference|, max {largest:.1e}", cmap="magma",
                vmin=0, vmax=largest or 1.0)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def error_curves(
    steps: Sequence[Any],
    curves: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    tolerance: float | None = None,
    title: str = "",
) -> Figure:
    """Relative errors against ``steps`` on a log axis, one line per entry of ``curves``.

    An error of exactly 0 is drawn at ``ZERO_ON_LOG_AXIS`` and the axis labels that level
    "exactly 0"; ``tolerance`` draws the "exact" threshold as a dashed line.
    """
    steps = list(_validate.sequence(steps, "steps"))
    if not _validate.mapping(curves, "curves", nonempty=False):
        raise ValueError("curves must name at least one curve")
    _validate.text(xlabel, "xlabel")
    _validate.text(title, "title")
    tolerance = _validate.optional_real(tolerance, "tolerance", low=0)
    for name, values in curves.items():
        if len(_validate.reals(values, f"curves[{name!r}]")) != len(steps):
            raise ValueError(
                f"curves[{name!r}] must have one value per step ({len(steps)}, the entries of "
                f"steps), got {len(values)}"
            )
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    markers = "osD^v"
    for n, (name, values) in enumerate(curves.items()):
        heights = [max(float(v), ZERO_ON_LOG_AXIS) for v in values]
        # Hollow markers of decreasing size: curves that coincide stay visible, nested.
        ax.plot(range(len(steps)), heights, marker=markers[n % len(markers)], label=name,
                color=plt.cm.viridis(0.85 * n / max(1, len(curves) - 1)), linewidth=1.5,
                markersize=max(4, 11 - 3 * n), markerfacecolor="none", markeredgewidth=1.5)
    if tolerance is not None:
        ax.axhline(tolerance, color="black", linestyle="--", linewidth=1)
        ax.annotate(f"exact: ≤ {tolerance:.1e}", (len(steps) - 1, tolerance), ha="right",
                    va="bottom", fontsize=9)
    ax.set_yscale("log")
    ax.set_ylim(ZERO_ON_LOG_AXIS / 10, 10)
    ticks = [ZERO_ON_LOG_AXIS, 1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 1.0]
    ax.set_yticks(ticks, ["exactly 0", "1e-15", "1e-12", "1e-9", "1e-6", "1e-3", "1"])
    ax.minorticks_off()
    ax.set_xticks(range(len(steps)), [str(s) for s in steps])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("relative equivariance error")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def moving_maps_explorer(
    maps_at: Callable[[Any], Sequence[torch.Tensor]],
    values: Sequence[Any],
    titles: Sequence[str],
    *,
    marker_at: Callable[[Any], tuple[int, int]] | None = None,
    title: str = "",
) -> tuple[Figure, Callable[[Any], None]]:
    """A row of ``(H, W)`` maps for ``slider``: ``maps_at(v)`` gives them for slider value ``v``.

    The first map is drawn in gray (the input), the others in viridis; each panel keeps one colour
    scale over all ``values``, so a change of colour is a change of value. ``marker_at(v)`` gives
    the ``(i, j)`` of a red cross drawn in every panel, e.g. one point of the content as it moves.
    Returns ``(fig, update)``; ``update(v)`` redraws for value ``v``.
    """
    _validate.function(maps_at, "maps_at")
    values = list(_validate.sequence(values, "values"))
    _validate.sequence(titles, "titles")
    if marker_at is not None:
        _validate.function(marker_at, "marker_at")
    _validate.text(title, "title")
    frames = {k: [_validate.values(_validate.image_tensor(m, "maps_at(v)", ranks=(2,)),
                                   "maps_at(v)").detach().cpu()
                  for m in _validate.sequence(maps_at(v), "maps_at(v)")]
              for k, v in enumerate(values)}
    if len(frames[0]) != len(titles):
        raise ValueError(f"maps_at gave {len(frames[0])} maps for {len(titles)} titles")
    limits = [
        (min(float(frames[k][p].min()) for k in frames), max(float(frames[k][p].max())
                                                             for k in frames))
        for p in range(len(titles))
    ]
    fig, axes = plt.subplots(
        1, len(titles), figsize=(PANEL_INCHES * len(titles), PANEL_INCHES + 0.5), squeeze=False
    )
    artists = [
        image_panel(ax, frames[0][p], text, cmap="gray" if p == 0 else "viridis",
                    vmin=low, vmax=high)
        for p, (ax, text, (low, high)) in enumerate(zip(axes[0], titles, limits, strict=True))
    ]
    crosses = [ax.plot([], [], "+", color="red", markersize=14, markeredgewidth=2)[0]
               for ax in axes[0]]
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()

    def update(value: Any) -> None:
        k = values.index(value)
        for artist, image in zip(artists, frames[k], strict=True):
            artist.set_data(np.asarray(image))
        if marker_at is not None:
            i, j = marker_at(value)
            for cross in crosses:
                cross.set_data([j], [i])

    update(values[0])
    return fig, update
