"""Figures of chapter 9 (invariance learned from data): curves over the shift and over the epochs
of training with their seed spread, and a slider that moves a row of test digits under three
networks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from shiftlab import _validate
from shiftlab.figures.panels import image_panel
from shiftlab.transforms import shift

_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v")


def _curves(ax: plt.Axes, values: Mapping[str, torch.Tensor], xs: Sequence[int],
            argument: str = "values") -> None:
    """One line per entry: the mean over the runs (rows), a band from the lowest to the highest."""
    for k, (name, table) in enumerate(values.items()):
        if not isinstance(table, torch.Tensor) or table.dim() != 2 or table.shape[1] != len(xs):
            raise ValueError(f"{argument}[{name!r}] must be a tensor of values (runs, "
                             f"len(steps) = {len(xs)}), got "
                             f"{getattr(table, 'shape', type(table).__name__)}")
        data = table.double().numpy()
        (line,) = ax.plot(xs, data.mean(0), _STYLES[k % len(_STYLES)],
                          marker=_MARKERS[k % len(_MARKERS)], markersize=5,
                          label=f"{name} (mean of {len(data)})")
        ax.fill_between(xs, data.min(0), data.max(0), color=line.get_color(), alpha=0.15,
                        linewidth=0)


def flip_curves(rates: Mapping[str, torch.Tensor], steps: Sequence[int], *, period: int,
                title: str) -> Figure:
    """P(top-1 changes) against a horizontal shift ``dx``: ``rates[name]`` is ``(runs, D)``,
    one column per ``steps[k]``; dotted lines at the multiples of ``period`` (the total stride).
    The band spans the lowest and highest run."""
    rates = _validate.mapping(rates, "rates")
    steps = [_validate.integer(s, "steps[k]") for s in _validate.sequence(steps, "steps")]
    period = _validate.positive_int(period, "period")
    title = _validate.text(title, "title")
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for multiple in range(min(steps) // period * period, max(steps) + 1, period):
        ax.axvline(multiple, color="gray", linestyle=":", linewidth=1)
    _curves(ax, rates, steps, "rates")
    ax.set_xticks(steps)
    ax.set_xlabel(f"shift dx in pixels (dy = 0); dotted: multiples of the total stride {period}")
    ax.set_ylabel("P(top-1 class changes)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def accuracy_curves(accuracies: Mapping[str, torch.Tensor], steps: Sequence[int], *,
                    title: str) -> Figure:
    """Test accuracy against a horizontal shift ``dx`` of the test digits: ``accuracies[name]``
    is ``(runs, D)``, one column per ``steps[k]``; band from the lowest to the highest run."""
    accuracies = _validate.mapping(accuracies, "accuracies")
    steps = [_validate.integer(s, "steps[k]") for s in _validate.sequence(steps, "steps")]
    title = _validate.text(title, "title")
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    _curves(ax, accuracies, steps, "accuracies")
    ax.set_xticks(steps)
    ax.set_xlabel("test digits shifted by dx pixels (dy = 0)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def learning_curves(panels: Mapping[str, Mapping[str, torch.Tensor]], *, title: str) -> Figure:
    """Test accuracy after each epoch, one panel per entry of ``panels`` (e.g. centred and moved
    test digits): ``panels[p][name]`` is ``(runs, epochs)``, column ``e`` measured after epoch
    ``e + 1``; the band spans the lowest and highest run."""
    panels = _validate.mapping(panels, "panels")
    title = _validate.text(title, "title")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.9 * len(panels) + 0.6, 3.9),
                             sharey=True, squeeze=False)
    for ax, (panel, curves) in zip(axes[0], panels.items(), strict=True):
        curves = _validate.mapping(curves, f"panels[{panel!r}]")
        lengths = {getattr(t, "shape", (0, 0))[-1] for t in curves.values()}
        if len(lengths) != 1 or not min(lengths):
            raise ValueError(f"panels[{panel!r}] must hold tensors (runs, epochs) with one "
                             f"number of epochs, got {sorted(lengths)}")
        epochs = list(range(1, lengths.pop() + 1))
        _curves(ax, curves, epochs, f"panels[{panel!r}]")
        ax.set_xticks(epochs)
        ax.set_xlabel("epochs of training")
        ax.set_title(_validate.text(panel, "panels' keys"), fontsize=10)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("test accuracy")
    axes[0, 0].set_ylim(0, 1.02)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=min(len(labels), 3),
               frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    plt.close(fig)
    return fig


def prediction_explorer(
    images: torch.Tensor,
    labels: torch.Tensor,
    predictors: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    shifts: Sequence[tuple[int, int]],
    *,
    title: str,
) -> tuple[Figure, Callable[[tuple[int, int]], None]]:
    """A figure for ``slider``: a row of digits ``(N, 1, H, W)`` shifted circularly by the
    slider's shift, each titled with its true class and every predictor's top-1 class (✓ when
    right). ``predictors[name]`` maps images ``(N, 1, H, W)`` to classes ``(N,)``."""
    images = _validate.values(_validate.image_tensor(images, "images", ranks=(4,)), "images")
    if images.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"images must be float32 or float64, got {images.dtype}")
    images = images.detach()  # only drawn: no gradient
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be a torch.Tensor of shape ({len(images)},), got "
                        f"{type(labels).__name__}")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), one per image, got "
                         f"{tuple(labels.shape)}")
    labels = _validate.finite_values(_validate.values(labels, "labels"), "labels")
    predictors = _validate.mapping(predictors, "predictors")
    shifts = _validate.offsets(shifts, "shifts")
    title = _validate.text(title, "title")
    for name, f in predictors.items():
        _validate.function(f, f"predictors[{name!r}]")
    answers = {t: {name: f(shift(images, t)).tolist() for name, f in predictors.items()}
               for t in shifts}
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(1.45 * n, 1.55 + 0.3 * len(predictors)))
    axes = np.atleast_1d(axes)
    arts = [image_panel(ax, images[k, 0], "", vmin=0, vmax=1) for k, ax in enumerate(axes)]
    fig.suptitle(title, fontsize=11)

    def update(t: tuple[int, int]) -> None:
        t = _validate.offset(t)
        moved = shift(images, t)
        for k, (ax, art) in enumerate(zip(axes, arts, strict=True)):
            art.set_data(moved[k, 0].numpy())
            truth = int(labels[k])
            lines = [f"digit {truth}"] + [
                f"{name}: {answers[t][name][k]} {'✓' if answers[t][name][k] == truth else '✗'}"
                for name in predictors]
            ax.set_title("\n".join(lines), fontsize=8)
        axes[0].set_ylabel(f"shift {t}", fontsize=8)

    update(shifts[0])
    fig.tight_layout()
    plt.close(fig)
    return fig, update
