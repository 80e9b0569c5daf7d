"""The figures of the rook chapter: the learned filter over training, where every run ends, and
accuracy against the border, ours and the paper's.

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
from shiftlab.figures.panels import PANEL_INCHES, image_panel
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
    if not isinstance(runs, RookRuns):
        raise TypeError(f"runs must be a RookRuns, got {type(runs).__name__}")
    images = _validate.image_tensor(images, "images", ranks=(4,))
    if images.shape[:2] != (2, 1) or images.dtype != torch.float32 or images.device.type != "cpu":
        raise ValueError(f"images must be the two rook images, (2, 1, H, W) float32 on the CPU, "
                         f"got shape {tuple(images.shape)}, {images.dtype} on {images.device}")
    epochs = [_validate.integer(e, "epochs[k]") for e in _validate.sequence(epochs, "epochs")]
    _validate.text(title, "title")
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


def outcomes_figure(runs: Mapping[str, RookRuns], *, title: str = "") -> Figure:
    """Where every run ends: the pooled features of the two images (left), and the final filter
    of every run that failed (right), each titled with its seed and the epoch its filter died.

    runs: ``{label: RookRuns}``, one marker per label (e.g. the two orders of one padding).
    """
    _validate.mapping(runs, "runs")
    for label, r in runs.items():
        if not isinstance(r, RookRuns):
            raise TypeError(f"runs[{label!r}] must be a RookRuns, got {type(r).__name__}")
    _validate.text(title, "title")
    failed = [(label, r, k) for label, r in runs.items()
              for k in (~r.perfect()).nonzero().flatten().tolist()]
    columns = max(1, min(5, len(failed)))
    rows = max(2, -(-len(failed) // columns))
    fig = plt.figure(figsize=(8.2, max(4.0, 1.35 * rows + 1.0)))
    grid = fig.add_gridspec(rows, 1 + columns, width_ratios=[3.2] + [1.0] * columns,
                            wspace=0.45, hspace=0.75)
    ax = fig.add_subplot(grid[:, 0])
    markers = ("o", "x", "s", "+")
    top = max(float(r.pooled[-1].max()) for r in runs.values()) or 1.0
    for n, (label, r) in enumerate(runs.items()):
        pooled = r.pooled[-1].numpy()
        good = r.perfect().numpy()
        marker = markers[n % len(markers)]
        hollow = {"facecolors": "none"} if marker in "os" else {}
        ax.scatter(pooled[good, 0], pooled[good, 1], marker=marker, s=30, color="0.3",
                   label=f"{label}: 100% ({int(good.sum())} runs)", **hollow)
        ax.scatter(pooled[~good, 0], pooled[~good, 1], marker=marker, s=70,
                   color="tab:red", label=f"{label}: 50% ({int((~good).sum())} runs)", **hollow)
    ax.annotate("failed runs:\nboth features 0", (0, 0), xytext=(0.3 * top, 0.3 * top),
                fontsize=8, color="tab:red", arrowprops={"arrowstyle": "->", "color": "tab:red"})
    ax.set_xlim(-0.06 * top, 1.1 * top)
    ax.set_ylim(-0.06 * top, 1.1 * top)
    ax.set_xlabel("pooled feature, rook at top left")
    ax.set_ylabel("pooled feature, rook at bottom right")
    ax.legend(fontsize=7, loc="upper right", frameon=False)
    ax.set_title("one point per run, end of training", fontsize=9)
    bound = max((float(r.filters[-1, k].abs().max()) for _, r, k in failed), default=1.0)
    for n, (label, r, k) in enumerate(failed):
        sub = fig.add_subplot(grid[n // columns, 1 + n % columns])
        image_panel(sub, r.filters[-1, k], vmin=-bound, vmax=bound)
        sub.set_title(f"seed {r.seeds[k]}, {label}\ndead: epoch {int(r.died()[k])}",
                      fontsize=7)
    if failed:
        fig.text(0.98, 0.02, "filters of the failed runs: light taps positive, dark negative",
                 ha="right", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.86)
    plt.close(fig)
    return fig


def border_sweep_figure(
    sweep: BorderSweep, *, title: str = "", chance: float = 0.5
) -> Figure:
    """Test accuracy against the border width, one panel per training mode, one line per
    padding: the mean over the seeds with a bar from the lowest to the highest seed, every seed
    a small dot. The chance level and the receptive field's reach ``r`` are marked, and ``2r``
    for a network with biases."""
    if not isinstance(sweep, BorderSweep):
        raise TypeError(f"sweep must be a BorderSweep, got {type(sweep).__name__}")
    _validate.text(title, "title")
    chance = _validate.real(chance, "chance", low=0, high=1)
    reach = sweep.config.receptive_radius
    trainings = list(sweep.accuracy)
    fig, axes = plt.subplots(1, len(trainings), figsize=(3.7 * len(trainings), 3.4),
                             sharey=True, squeeze=False)
    styles = {"same": ("o-", "black"), "full": ("s--", "0.55")}
    borders = np.asarray(sweep.borders)
    for ax, training in zip(axes[0], trainings, strict=True):
        for k, (padding, values) in enumerate(sweep.accuracy[training].items()):
            marker, colour = styles.get(padding, ("^:", "0.3"))
            values = values.numpy()
            offset = 0.08 * (k - (len(sweep.paddings) - 1) / 2)
            x = borders + offset
            mean = values.mean(axis=1)
            ax.errorbar(x, mean, yerr=[mean - values.min(axis=1), values.max(axis=1) - mean],
                        fmt=marker, color=colour, linewidth=1.5, capsize=2,
                        label=f"{padding} padding")
            for j in range(values.shape[1]):
                ax.plot(x, values[:, j], ".", color=colour, markersize=3, alpha=0.6)
        ax.axhline(chance, color="0.4", linestyle=":", linewidth=1)
        ax.text(borders[-1], chance - 0.03, "chance", ha="right", va="top", fontsize=8)
        marks = [(reach, f"r = {reach}")]
        if sweep.config.bias:
            marks.append((2 * reach, f"2r = {2 * reach}"))
        for position, label in marks:
            ax.axvline(position, color="0.4", linestyle="-.", linewidth=1)
            ax.text(position + 0.08, 1.0, label, ha="left", va="top", fontsize=8)
        ax.set_xticks(sweep.borders)
        ax.set_xlabel("border width b (pixels)")
        ax.set_ylim(0.4, 1.04)
        ax.set_title(f"{training} ({len(sweep.seeds)} seeds)", fontsize=10)
    axes[0, 0].set_ylabel("test accuracy")
    axes[0, 0].legend(fontsize=8, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def paper_quadrant_figure(
    results: Mapping[str, Mapping[str, Sequence[float]]], borders: Sequence[int], *,
    title: str = "",
) -> Figure:
    """The paper's accuracies against the border, one panel per network, one line per weight
    setting: ``results[setting][network]`` at ``borders`` (drawn equally spaced)."""
    _validate.mapping(results, "results")
    borders = [_validate.non_negative_int(b, "borders[k]")
               for b in _validate.sequence(borders, "borders")]
    _validate.text(title, "title")
    networks = list(_validate.mapping(next(iter(results.values())), "results[setting]"))
    for setting, rows in results.items():
        _validate.mapping(rows, f"results[{setting!r}]")
        for network in networks:
            if network not in rows:
                raise ValueError(f"results[{setting!r}] must have every network, missing "
                                 f"{network!r}")
            if len(_validate.reals(rows[network], f"results[{setting!r}][{network!r}]")) \
                    != len(borders):
                raise ValueError(f"results[{setting!r}][{network!r}] must have one value per "
                                 f"entry of borders ({len(borders)})")
    fig, axes = plt.subplots(1, len(networks), figsize=(2.6 * len(networks) + 0.4, 3.0),
                             sharey=True, squeeze=False)
    styles = ("o-", "s--", "^:")
    greys = ("black", "0.45", "0.7")
    positions = np.arange(len(borders))
    for ax, network in zip(axes[0], networks, strict=True):
        for k, (setting, rows) in enumerate(results.items()):
            ax.plot(positions, rows[network], styles[k % 3], color=greys[k % 3], linewidth=1.5,
                    markersize=5, label=setting)
        ax.axhline(50, color="0.4", linestyle=":", linewidth=1)
        ax.set_xticks(positions, [str(b) for b in borders], fontsize=8)
        ax.set_xlabel("border b (pixels)")
        ax.set_ylim(45, 103)
        ax.set_title(network, fontsize=10)
    axes[0, 0].set_ylabel("test accuracy (%)")
    axes[0, -1].legend(fontsize=7, loc="lower left", frameon=False)  # where no line runs
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def paper_table(rows: Mapping[str, Sequence[float]], borders: Sequence[int]) -> dict:
    """``{name: {"b = m": value}}`` for ``plotting.markdown_table``, from rows of numbers."""
    _validate.mapping(rows, "rows")
    borders = [_validate.non_negative_int(b, "borders[k]")
               for b in _validate.sequence(borders, "borders")]
    for name, values in rows.items():
        if len(_validate.reals(values, f"rows[{name!r}]")) != len(borders):
            raise ValueError(f"rows[{name!r}] must have one value per entry of borders "
                             f"({len(borders)}), got {len(values)}")
    return {name: {f"b = {b}": v for b, v in zip(borders, values, strict=True)}
            for name, values in rows.items()}
