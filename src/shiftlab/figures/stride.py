"""The figure of the stride chapter: what the nearest shifted copy of a strided map misses.

``stride_explorer`` shows, shift by shift, the shifted input, what the best shifted copy of
``f(x)`` misses of ``f(T_t x)`` (``shiftlab.stride.best_output_shift``), and error curves on a
log axis where an error of exactly 0 has its own tick. It returns ``(fig, update)`` for
``shiftlab.figures.slider``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from shiftlab import _validate
from shiftlab.figures.panels import PANEL_INCHES, image_panel
from shiftlab.stride import best_output_shift
from shiftlab.transforms import shift

Image = Callable[[torch.Tensor], torch.Tensor]


def stride_explorer(
    x: torch.Tensor,
    f: Image,
    shifts: Sequence[tuple[int, int]],
    curves: Mapping[str, Sequence[float]],
    *,
    floor: float = 1e-9,
    title: str = "",
) -> tuple[Figure, Callable[[tuple[int, int]], None]]:
    """A figure for ``slider``: the shifted input, what the nearest shifted copy of ``f(x)``
    misses of ``f(T_t x)``, and error curves against the shift.

    x: an ``(H, W)`` image; f: a map ``(H, W) -> (h, w)`` (e.g. a stride-2 layer);
    shifts: the slider positions; curves: ``{label: one error per shift}``, drawn on a log axis
    where an error of exactly 0 sits at ``floor`` and is labelled 0. Returns ``(fig, update)``.
    """
    x = _validate.values(_validate.image_tensor(x, ranks=(2,)), "x").detach().cpu()
    _validate.function(f, "f")
    shifts = _validate.offsets(shifts, "shifts")
    _validate.mapping(curves, "curves")
    for label, values in curves.items():
        if len(_validate.reals(values, f"curves[{label!r}]")) != len(shifts):
            raise ValueError(f"curves[{label!r}] must have one value per shift ({len(shifts)}), "
                             f"got {len(values)}")
    floor = _validate.positive_float(floor, "floor")
    if floor >= 1:
        raise ValueError(f"floor must be below 1 (the level drawn as an error of 0), got {floor}")
    _validate.text(title, "title")
    fx = f(x)
    if not isinstance(fx, torch.Tensor):
        raise ValueError(f"f must return an image tensor, got {type(fx).__name__}")
    misses = [
        (f(shift(x, t)).detach() - shift(fx.detach(), best_output_shift(f, x, t))).abs().cpu()
        for t in shifts
    ]
    worst = max(float(m.max()) for m in misses) or 1.0

    fig, axes = plt.subplots(
        1, 3, figsize=(2 * PANEL_INCHES + 4.2, PANEL_INCHES + 0.9),
        gridspec_kw={"width_ratios": [1, 1, 1.7]},
    )
    input_art = image_panel(axes[0], shift(x, shifts[0]), "input")
    miss_art = image_panel(axes[1], misses[0], "miss of the nearest\nshifted copy",
                           cmap="magma", vmin=0, vmax=worst)
    ax = axes[2]
    steps = np.arange(len(shifts))
    dots = []
    for (label, values), marker in zip(curves.items(), "osd^v", strict=False):
        shown = [max(float(v), floor) for v in values]
        (line,) = ax.plot(steps, shown, marker=marker, markersize=4, label=label, linewidth=1)
        dots.append((ax.plot([], [], marker, color=line.get_color(), markersize=10)[0], shown))
    cursor = ax.axvline(0, color="gray", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylim(floor / 3, 3)
    ax.set_yticks([floor, 1e-6, 1e-3, 1], ["0", "1e-6", "1e-3", "1"])
    ticks = steps[:: max(1, len(shifts) // 7)]
    ax.set_xticks(ticks, [str(shifts[k][1]) for k in ticks])
    ax.set_xlabel("shift dx (dy = 0)")
    ax.set_ylabel("error of the best output shift")
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(curves),
              frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()

    def update(t: tuple[int, int]) -> None:
        k = shifts.index(_validate.offset(t))
        input_art.set_data(shift(x, shifts[k]).numpy())
        miss_art.set_data(misses[k].numpy())
        axes[0].set_title(f"input shifted by {shifts[k]}", fontsize=10)
        for dot, shown in dots:
            dot.set_data([k], [shown[k]])
        cursor.set_xdata([k, k])

    update(shifts[0])
    return fig, update
