"""The figures of the chapter on restoring invariance: filter gains, three downsamplers under a
shift, and the consistency of the network variants.

Lines differ by marker and dash as well as colour, so the figures read in grayscale; functions
return the figure closed, or ``(fig, update)`` for ``sliders.slider``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from shiftlab import _validate
from shiftlab.figures.panels import image_panel
from shiftlab.stride import shifted_copy_error
from shiftlab.transforms import shift

_STYLES = ("-", "--", "-.", ":")
_MARKERS = "osd^v<>"


def gain_curves(
    curves: Mapping[str, tuple[torch.Tensor, torch.Tensor]], *, limit: float | None = None,
    title: str = "",
) -> Figure:
    """Gains against frequency, ``{label: (ω, gain)}``, with the frequency ``limit`` that a
    downsampled grid can carry marked and the range beyond it shaded."""
    if not _validate.mapping(curves, "curves", nonempty=False):
        raise ValueError("curves must name at least one (ω, gain) pair")
    limit = _validate.optional_real(limit, "limit", low=0)
    _validate.text(title, "title")
    checked = {}
    for label, pair in curves.items():
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(f"curves[{label!r}] must be a pair (ω, gain) of 1-D tensors, got "
                            f"{type(pair).__name__}")
        omega, gain = (torch.tensor(_validate.reals(v, f"curves[{label!r}]"),
                                    dtype=torch.float64) for v in pair)
        if omega.shape != gain.shape:
            raise ValueError(f"curves[{label!r}] must pair one gain with each ω, got "
                             f"{len(omega)} and {len(gain)}")
        checked[label] = (omega, gain)
    curves = checked
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for k, (label, (omega, gain)) in enumerate(curves.items()):
        color = plt.cm.viridis(0.9 * k / max(1, len(curves) - 1))
        ax.plot(omega.numpy(), gain.numpy(), _STYLES[k % len(_STYLES)], color=color,
                linewidth=1.8, label=label)
    if limit is not None:
        ax.axvspan(limit, np.pi, color="0.85", zorder=0)
        ax.annotate("aliases on a\nstride-2 grid", (0.5 * (limit + np.pi), 0.86),
                    ha="center", va="top", fontsize=9)
    ax.set_xlim(0, np.pi)
    ax.set_ylim(0, 1.05)
    ax.set_xticks([0, np.pi / 4, np.pi / 2, 3 * np.pi / 4, np.pi],
                  ["0", "π/4", "π/2", "3π/4", "π"])
    ax.set_xlabel("frequency ω (radians per pixel)")
    ax.set_ylabel("gain |B(ω)|")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def downsampling_explorer(
    x: torch.Tensor,
    downsamplers: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    shifts: Sequence[tuple[int, int]],
    *,
    title: str = "",
) -> tuple[Figure, Callable[[tuple[int, int]], None], dict[str, list[float]]]:
    """A figure for ``slider``: the shifted ``(H, W)`` image ``x``, the output of each
    downsampler, and each one's error against the best shifted copy of its unshifted output
    (``stride.shifted_copy_error``) for every shift, with the current shift marked.
    Returns ``(fig, update, errors)`` with ``errors[name][k]`` the error at ``shifts[k]``.
    """
    x = _validate.values(_validate.image_tensor(x, ranks=(2,)), "x").detach().cpu()
    _validate.mapping(downsamplers, "downsamplers")
    shifts = _validate.offsets(shifts, "shifts")
    _validate.text(title, "title")
    for name, f in downsamplers.items():
        _validate.function(f, f"downsamplers[{name!r}]")
    errors = {name: [float(shifted_copy_error(f, x, t)) for t in shifts]
              for name, f in downsamplers.items()}
    n = len(downsamplers) + 1
    fig = plt.figure(figsize=(2.2 * n, 5.0))
    grid = fig.add_gridspec(2, n, height_ratios=[1.0, 0.9])
    low, high = float(x.min()), float(x.max())
    input_ax = fig.add_subplot(grid[0, 0])
    input_art = image_panel(input_ax, x, "input", vmin=low, vmax=high)
    panels = []
    for k, (name, f) in enumerate(downsamplers.items()):
        ax = fig.add_subplot(grid[0, k + 1])
        panels.append((ax, image_panel(ax, f(x), name, vmin=low, vmax=high), name, f))
    curve_ax = fig.add_subplot(grid[1, :])
    steps = np.arange(len(shifts))
    dots = []
    for k, (name, values) in enumerate(errors.items()):
        (line,) = curve_ax.plot(steps, values, _STYLES[k % len(_STYLES)],
                                marker=_MARKERS[k % len(_MARKERS)], markersize=4, label=name)
        dots.append((curve_ax.plot([], [], _MARKERS[k % len(_MARKERS)],
                                   color=line.get_color(), markersize=10)[0], values))
    cursor = curve_ax.axvline(0, color="gray", linewidth=1)
    top = max(max(values) for values in errors.values()) or 1.0
    curve_ax.set_ylim(-0.05 * top, 1.15 * top)
    horizontal = all(dy == 0 for dy, _ in shifts)
    curve_ax.set_xticks(steps, [str(t[1]) if horizontal else str(t) for t in shifts],
                        fontsize=8)
    curve_ax.set_xlabel("shift dx (dy = 0)" if horizontal else "shift (dy, dx)")
    curve_ax.set_ylabel("error of the best\nshifted copy")
    curve_ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()

    def update(t: tuple[int, int]) -> None:
        k = shifts.index(_validate.offset(t))
        moved = shift(x, shifts[k])
        input_art.set_data(moved.numpy())
        input_ax.set_title(f"input shifted by {shifts[k]}", fontsize=9)
        for ax, art, name, f in panels:
            art.set_data(f(moved).detach().numpy())
            error = errors[name][k]
            ax.set_title(f"{name}\nerror {error:.2f}" if error else f"{name}\nexact copy",
                         fontsize=9)
        for dot, values in dots:
            dot.set_data([k], [values[k]])
        cursor.set_xdata([k, k])

    update(shifts[0])
    return fig, update, errors


def consistency_bars(
    rows: Mapping[str, Mapping[str, torch.Tensor]], columns: Sequence[str], *, title: str = "",
) -> Figure:
    """Grouped horizontal bars, one group per row (network variant), one bar per column, in
    percent: the bar is the mean over the seeds, annotated with its value, a line spans the
    lowest to the highest seed and every seed is a dot; a line marks 100 %.

    rows: ``{variant: {column: values}}`` with ``values`` one number per seed (a tensor)."""
    if not _validate.mapping(rows, "rows", nonempty=False) or not _validate.sequence(
            columns, "columns", nonempty=False):
        raise ValueError("rows and columns must not be empty")
    _validate.text(title, "title")
    for name, row in rows.items():
        _validate.mapping(row, f"rows[{name!r}]")
        for column in columns:
            if column not in row:
                raise ValueError(f"rows[{name!r}] must have every column of columns, missing "
                                 f"{column!r}")
            _validate.reals(torch.as_tensor(row[column]).flatten().detach().cpu()
                              if isinstance(row[column], torch.Tensor) else row[column],
                              f"rows[{name!r}][{column!r}]")
    names = list(rows)
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(names) * len(columns) / 2 + 1.5))
    height = 0.8 / len(columns)
    hatches = ("", "//", "..", "xx")
    for c, column in enumerate(columns):
        values = [100 * torch.as_tensor(rows[name][column], dtype=torch.float64).flatten()
                  for name in names]
        means = [float(v.mean()) for v in values]
        y = np.arange(len(names)) + (c - (len(columns) - 1) / 2) * height
        bars = ax.barh(y, means, height, label=column, hatch=hatches[c % len(hatches)],
                       color=plt.cm.viridis(0.25 + 0.5 * c / max(1, len(columns) - 1)),
                       edgecolor="white")
        for k, (bar, v) in enumerate(zip(bars, values, strict=True)):
            centre = bar.get_y() + height / 2
            ax.plot([float(v.min()), float(v.max())], [centre, centre], color="black",
                    linewidth=1, zorder=3)
            ax.plot(v.numpy(), np.full(len(v), centre), "o", color="black", markersize=2.5,
                    zorder=4)
            ax.annotate(f"{means[k]:.1f}", (float(v.max()), centre), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=8,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
                        zorder=5)
    ax.axvline(100, color="black", linewidth=1, linestyle="--", zorder=2)
    ax.set_yticks(np.arange(len(names)), names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 117)
    ax.set_xlabel("% of (image, pair of shifts) with the same top-1 class "
                  "(bar: mean; dots: seeds)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def aliasing_figure(
    sizes: Sequence[int], measured: Mapping[str, Sequence[float]], *,
    predicted: Sequence[float] | None = None, title: str = "",
) -> Figure:
    """The aliased energy fraction against the filter size ``k``, on a log axis: the values
    ``predicted`` for noise as a line, each entry of ``measured`` (``{label: values at sizes}``)
    as markers; the ideal low-pass, at 0, is noted."""
    sizes = [_validate.positive_int(k, "sizes[k]") for k in _validate.sequence(sizes, "sizes")]
    _validate.mapping(measured, "measured")
    for label, values in measured.items():
        if len(_validate.reals(values, f"measured[{label!r}]")) != len(sizes):
            raise ValueError(f"measured[{label!r}] must have one value per entry of sizes "
                             f"({len(sizes)}), got {len(values)}")
    if predicted is not None and len(_validate.reals(predicted, "predicted")) != len(sizes):
        raise ValueError(f"predicted must have one value per entry of sizes ({len(sizes)}), got "
                         f"{len(predicted)}")
    _validate.text(title, "title")
    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    if predicted is not None:
        ax.plot(list(sizes), list(predicted), "-", color="0.6", linewidth=3,
                label="noise, proposition", zorder=1)
    for k, (label, values) in enumerate(measured.items()):
        ax.plot(list(sizes), list(values), _STYLES[(k + 1) % len(_STYLES)],
                marker=_MARKERS[k % len(_MARKERS)], markersize=6, linewidth=1,
                color=plt.cm.viridis(0.8 * k / max(1, len(measured) - 1)), label=label,
                zorder=2)
    ax.set_yscale("log")
    ax.set_xticks(list(sizes), [f"b_{k}" for k in sizes])
    ax.set_xlabel("binomial filter before the stride (b_1: no blur)")
    ax.set_ylabel("aliased energy fraction")
    ax.annotate("ideal low-pass: 0 (below the axis)", (0.02, 0.04), xycoords="axes fraction",
                ha="left", fontsize=8)
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig
