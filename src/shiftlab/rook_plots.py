"""The figures of the rook chapter: the learned filter over training, accuracy against the border.

Filters are drawn in gray centred on 0 (light = positive, dark = negative), feature maps in
viridis (both read in grayscale); functions return the figure closed, or ``(fig, update)`` for
``sliders.slider``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from shiftlab import _validate
from shiftlab.plotting import PANEL_INCHES, image_panel
from shiftlab.quadrant import BorderSweep
from shiftlab.rook import LABELS, RookRuns, rook_patch


def rook_training_explorer(
    runs: RookRuns, images: torch.Tensor, epochs: Sequence[int], *, run: int = 0,
    title: str = "",
) -> tuple[Figure, object]:
    """A figure for ``slider`` over ``epochs``: run ``run``'s filter, the feature maps
    ``ReLU(w ⋆ x)`` of both rook images (the rook outlined, the global max marked) and the
    pooled features of both images over all epochs, the current one marked.

    images: the ``(2, 1, H, W)`` rook images the runs were trained on.
    Returns ``(fig, update)``; ``update(epoch)`` redraws for that epoch.
    """
    _validate.image_tensor(images, "images", ranks=(4,))
    epochs = [_validate.integer(e, "epochs[k]") for e in epochs]
    last = len(runs.filters) - 1
    if not 0 <= _validate.integer(run, "run") < len(runs.seeds):
        raise ValueError(f"run must lie in 0 ... {len(runs.seeds) - 1}, got {run}")
    if not epochs or not all(0 <= e <= last for e in epochs):
        raise ValueError(f"epochs must lie in 0 ... {last}, got {epochs}")
    maps = {e: runs.net(run, e).features(images).detach()[:, 0] for e in epochs}
    bound = float(runs.filters[epochs, run].abs().max())
    height, width = rook_patch().shape
    boxes = [(0, 0), (images.shape[-2] - height, images.shape[-1] - width)]

    fig = plt.figure(figsize=(3 * PANEL_INCHES, 2 * PANEL_INCHES + 0.4))
    grid = fig.add_gridspec(2, 3, height_ratios=[1.15, 0.85])
    axes = [fig.add_subplot(grid[0, k]) for k in range(3)] + [fig.add_subplot(grid[1, :])]
    filter_art = image_panel(axes[0], runs.filters[epochs[0], run], vmin=-bound, vmax=bound)
    map_arts, marks = [], []
    for ax, (top, left) in zip(axes[1:3], boxes, strict=True):
        map_arts.append(image_panel(ax, maps[epochs[0]][0], cmap="viridis", vmin=0, vmax=1))
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False,
                               edgecolor="white", linestyle="--", linewidth=1))
        marks.append(ax.plot([], [], "+", color="red", markersize=14, markeredgewidth=2)[0])
    pooled = runs.pooled[:, run].numpy()
    steps = np.arange(len(pooled))
    for n, style in enumerate(("-", "--")):
        axes[3].plot(steps, pooled[:, n], style, linewidth=1.5, label=f"rook {LABELS[n]}")
    cursor = axes[3].axvline(epochs[0], color="gray", linewidth=1)
    axes[3].set_xlabel("epoch")
    axes[3].set_ylabel("pooled feature")
    axes[3].legend(fontsize=8, loc="center right")
    axes[3].set_title("global max of ReLU(w ⋆ x) for each image", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(h_pad=2.0, rect=(0, 0, 1, 0.98))

    def update(epoch: int) -> None:
        weight = runs.filters[epoch, run]
        filter_art.set_data(weight.numpy())
        axes[0].set_title(f"filter w, epoch {epoch}", fontsize=10)
        top = float(maps[epoch].max()) or 1.0
        for n, (ax, art, mark) in enumerate(zip(axes[1:3], map_arts, marks, strict=True)):
            feature = maps[epoch][n]
            art.set_data(feature.numpy())
            art.set_clim(0, top)
            peak = float(feature.max())
            i, j = divmod(int(feature.argmax()), feature.shape[-1])
            mark.set_data(*(([j], [i]) if peak > 0 else ([], [])))
            ax.set_title(f"{LABELS[n]}: max {peak:.2f}", fontsize=10)
        cursor.set_xdata([epoch, epoch])

    update(epochs[0])
    return fig, update


def border_sweep_figure(
    sweep: BorderSweep, *, title: str = "", chance: float = 0.5
) -> Figure:
    """Test accuracy against the border width, one panel per training mode, one line per
    padding; the chance level and the receptive field's reach ``r`` are marked."""
    reach = sweep.config.receptive_radius
    trainings = list(sweep.accuracy)
    fig, axes = plt.subplots(1, len(trainings), figsize=(3.6 * len(trainings), 3.3),
                             sharey=True, squeeze=False)
    styles = {"same": ("o-", "black"), "full": ("s--", "0.55")}
    for ax, training in zip(axes[0], trainings, strict=True):
        for padding, values in sweep.accuracy[training].items():
            marker, colour = styles.get(padding, ("^:", "0.3"))
            ax.plot(sweep.borders, values, marker, color=colour, linewidth=1.5,
                    label=f"{padding} padding")
        ax.axhline(chance, color="0.4", linestyle=":", linewidth=1)
        ax.text(sweep.borders[-1], chance - 0.03, "chance", ha="right", va="top", fontsize=8)
        ax.axvline(reach, color="0.4", linestyle="-.", linewidth=1)
        ax.text(reach + 0.08, 0.98, f"reach r = {reach}", ha="left", va="top", fontsize=8)
        ax.set_xticks(sweep.borders)
        ax.set_xlabel("border width b (pixels)")
        ax.set_ylim(0.4, 1.02)
        ax.set_title(training, fontsize=10)
    axes[0, 0].set_ylabel("test accuracy")
    axes[0, 0].legend(fontsize=8, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def paper_table(rows: Mapping[str, Sequence[float]], borders: Sequence[int]) -> dict:
    """``{name: {"b = m": value}}`` for ``plotting.markdown_table``, from rows of numbers."""
    return {name: {f"b = {b}": v for b, v in zip(borders, values, strict=True)}
            for name, values in rows.items()}
