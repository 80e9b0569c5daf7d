"""The figures of the pooling chapter: surviving pooled values, survivor counts, shift maps.

Maps over shifts are drawn in gray (light = large), annotated with their numbers so they read
without colour; functions return the figure closed, or ``(fig, update)`` for ``sliders.slider``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from shiftlab import _validate
from shiftlab.figures.panels import PANEL_INCHES, image_panel
from shiftlab.layers import max_pool
from shiftlab.pooling import surviving
from shiftlab.transforms import shift


def shift_map_panel(
    ax: Axes, values: torch.Tensor, *, title: str = "", fmt: str = "{:.2f}",
    vmax: float | None = None,
) -> None:
    """Draw ``values[dy, dx]``, a number per shift, as annotated gray cells with labelled axes."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    values = _validate.image_tensor(values, "values", ranks=(2,))
    values = _validate.values(values, "values").detach().cpu().double()
    _validate.text(title, "title")
    _validate.text(fmt, "fmt")
    vmax = _validate.optional_real(vmax, "vmax")
    top = float(values.max()) if vmax is None else vmax
    top = top or 1.0
    ax.imshow(values.numpy(), cmap="gray", vmin=0, vmax=top, interpolation="nearest")
    rows, columns = values.shape
    size = 8 if max(rows, columns) <= 4 else 6.5
    for dy in range(rows):
        for dx in range(columns):
            value = float(values[dy, dx])
            ax.text(dx, dy, fmt.format(value), ha="center", va="center", fontsize=size,
                    color="black" if value > 0.5 * top else "white")
    ax.set_xticks(range(columns))
    ax.set_yticks(range(rows))
    ax.tick_params(labelsize=7, length=0)
    ax.set_xlabel("shift dx", fontsize=9)
    ax.set_ylabel("shift dy", fontsize=9)
    ax.set_title(title, fontsize=10)


def survival_explorer(
    x: torch.Tensor,
    shifts: Sequence[tuple[int, int]],
    fractions: torch.Tensor,
    *,
    size: int = 2,
    title: str = "",
) -> tuple[Figure, object]:
    """A figure for ``slider``: a shifted ``(H, W)`` image with its pooling windows; its pooled
    values, white where they survived the shift and dark where they changed; and
    ``fractions[dy, dx]`` (measured on many images) with the current shift outlined.
    Returns ``(fig, update)``; ``update(t)`` redraws for shift ``t``."""
    x = _validate.values(_validate.image_tensor(x, ranks=(2,)), "x").detach().cpu()
    shifts = _validate.offsets(shifts, "shifts")
    fractions = _validate.image_tensor(fractions, "fractions", ranks=(2,))
    fractions = _validate.values(fractions, "fractions").detach().cpu()
    size = _validate.positive_int(size, "size")
    if x.shape[0] % size or x.shape[1] % size:
        raise ValueError(f"size must divide the sides of x {tuple(x.shape)}, got {size}")
    _validate.text(title, "title")
    pooled = max_pool(x, size)
    fig, (ax_in, ax_pool, ax_frac) = plt.subplots(
        1, 3, figsize=(3 * PANEL_INCHES + 0.6, PANEL_INCHES + 0.8)
    )
    input_art = image_panel(ax_in, x, "", vmin=float(x.min()), vmax=float(x.max()))
    for k in range(size, x.shape[0], size):
        ax_in.axhline(k - 0.5, color="tab:orange", linewidth=2)
    for k in range(size, x.shape[1], size):
        ax_in.axvline(k - 0.5, color="tab:orange", linewidth=2)
    kept_art = image_panel(ax_pool, pooled, "", vmin=0, vmax=1, cmap="gray")
    labels = [[ax_pool.text(j, i, "", ha="center", va="center", fontsize=10)
               for j in range(pooled.shape[1])] for i in range(pooled.shape[0])]
    shift_map_panel(ax_frac, fractions, title="fraction that survives")
    outline = Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="tab:orange", linewidth=3)
    ax_frac.add_patch(outline)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()

    def update(t: tuple[int, int]) -> None:
        dy, dx = _validate.offset(t)
        moved = shift(x, (dy, dx))
        new = max_pool(moved, size)
        kept = surviving(x, (dy, dx), size)
        input_art.set_data(moved.numpy())
        ax_in.set_title(f"input shifted by {(dy, dx)}", fontsize=10)
        kept_art.set_data(kept.double().numpy())
        for i, row in enumerate(labels):
            for j, text in enumerate(row):
                text.set_text(f"{float(new[i, j]):.1f}")
                text.set_color("black" if kept[i, j] else "white")
        ax_pool.set_title(f"pooled: {int(kept.sum())} of {kept.numel()} survive (white)",
                          fontsize=10)
        outline.set_xy((dx % fractions.shape[1] - 0.5, dy % fractions.shape[0] - 0.5))

    update(shifts[0])
    return fig, update


def survivor_histogram(
    counts: Mapping[str, torch.Tensor], total: int, expected: Mapping[str, float], *,
    title: str = "",
) -> Figure:
    """Histograms of the number of surviving pooled values per map, one per shift, with the
    expected count as a dashed line and the whole map (``total``) marked."""
    _validate.mapping(counts, "counts")
    total = _validate.positive_int(total, "total", high=100_000)
    _validate.mapping(expected, "expected")
    _validate.text(title, "title")
    for name, values in counts.items():
        if not isinstance(values, torch.Tensor) or values.dim() != 1 or values.numel() == 0:
            raise TypeError(f"counts[{name!r}] must be a non-empty 1-D tensor of counts, got "
                            f"{values!r:.60}")
        _validate.finite_values(_validate.values(values, f"counts[{name!r}]"), f"counts[{name!r}]")
        if name not in expected:
            raise ValueError(f"expected must have an entry for every key of counts, missing "
                             f"{name!r}")
        _validate.real(expected[name], f"expected[{name!r}]")
    counts = {name: values.detach().cpu() for name, values in counts.items()}
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    bins = np.arange(total + 2) - 0.5
    for k, (name, values) in enumerate(counts.items()):
        color = plt.cm.viridis(0.15 + 0.6 * k / max(1, len(counts) - 1))
        ax.hist(values.numpy(), bins=bins, color=color, alpha=0.75, label=name,
                hatch="//" if k % 2 else None)
        ax.axvline(expected[name], color=color, linestyle="--", linewidth=1.5)
    ax.axvline(total, color="black", linewidth=2)
    ax.annotate(f"whole map\n({total} of {total})", (total, ax.get_ylim()[1] * 0.9),
                ha="right", va="top", fontsize=8)
    ax.set_xlim(-0.5, total + 1)
    ax.set_xlabel(f"pooled values that survive, of the {total} in a map")
    ax.set_ylabel("number of maps")
    ax.legend(fontsize=8, loc="upper center", frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def shift_maps(
    maps: Mapping[str, torch.Tensor], *, title: str = "", fmt: str = "{:.0%}",
) -> Figure:
    """One annotated gray panel per entry: ``maps[name][dy, dx]``, on one shared scale."""
    _validate.mapping(maps, "maps")
    _validate.text(title, "title")
    _validate.text(fmt, "fmt")
    for name, values in maps.items():
        _validate.values(_validate.image_tensor(values, f"maps[{name!r}]", ranks=(2,)),
                         f"maps[{name!r}]")
    top = max(float(values.max()) for values in maps.values()) or 1.0
    fig, axes = plt.subplots(
        1, len(maps), figsize=(PANEL_INCHES * len(maps) + 0.6, PANEL_INCHES + 0.6),
        squeeze=False,
    )
    for ax, (name, values) in zip(axes[0], maps.items(), strict=True):
        shift_map_panel(ax, values, title=name, fmt=fmt, vmax=top)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig
