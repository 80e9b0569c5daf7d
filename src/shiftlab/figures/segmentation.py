"""The figures of the chapter on equivariant dense prediction: glyph canvases with their masks,
and the masks of several networks under a shift of their input (for ``sliders.slider``).

Masks are drawn with three gray levels (background black, plus gray, cross white), so they read
in grayscale; functions return the figure closed, or ``(fig, update, changed)`` for a slider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from shiftlab import _validate
from shiftlab.figures.panels import PANEL_INCHES, image_panel
from shiftlab.transforms import shift

MASK_COLORS = "gray"
"""Class k of K is drawn at gray level k / (K - 1): background black, the last class white."""


def _mask_panel(ax: plt.Axes, mask: torch.Tensor, title: str, classes: int):
    return image_panel(ax, mask.float(), title, cmap=MASK_COLORS, vmin=0, vmax=classes - 1)


def masks_figure(images: torch.Tensor, masks: torch.Tensor, *, classes: int = 3,
                 title: str = "") -> Figure:
    """Each image of ``images`` ``(n, 1, H, W)`` above its mask ``(n, H, W)``."""
    images = _validate.values(_validate.image_tensor(images, "images", ranks=(4,)), "images")
    if not isinstance(masks, torch.Tensor) or masks.shape != (len(images), *images.shape[-2:]):
        raise ValueError(f"masks must have shape {(len(images), *images.shape[-2:])}, got "
                         f"{getattr(masks, 'shape', masks)!r}")
    _validate.values(masks, "masks")
    classes = _validate.positive_int(classes, "classes")
    title = _validate.text(title, "title")
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(0.75 * PANEL_INCHES * n, 1.75 * PANEL_INCHES),
                             squeeze=False)
    for k in range(n):
        image_panel(axes[0, k], images[k, 0], f"image {k + 1}")
        _mask_panel(axes[1, k], masks[k], f"mask {k + 1}", classes)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def mask_explorer(
    x: torch.Tensor,
    nets: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    shifts: Sequence[tuple[int, int]],
    *,
    title: str = "",
) -> tuple[Figure, Callable[[tuple[int, int]], None], dict[str, list[int]]]:
    """A figure for ``slider``: the shifted image ``x`` ``(1, C, H, W)`` and the mask of each
    network (``argmax`` of its class scores), titled with the number of pixels in which the mask
    of the shifted image differs from the shifted mask. Returns ``(fig, update, changed)`` with
    ``changed[name][k]`` that number at ``shifts[k]``."""
    x = _validate.image_tensor(x, ranks=(4,))
    if len(x) != 1:
        raise ValueError(f"x must hold one image, (1, C, H, W), got shape {tuple(x.shape)}")
    x = _validate.values(x, "x").detach()  # only drawn: no gradient
    nets = _validate.mapping(nets, "nets")
    shifts = _validate.offsets(shifts, "shifts")
    title = _validate.text(title, "title")
    with torch.no_grad():
        first = {name: net(x) for name, net in nets.items()}
        classes = next(iter(first.values())).shape[1]
        masks = {name: [net(shift(x, t))[0].argmax(dim=0) for t in shifts]
                 for name, net in nets.items()}
    changed = {name: [int((m != shift(first[name][0].argmax(dim=0), t)).sum())
                      for m, t in zip(masks[name], shifts, strict=True)]
               for name in nets}
    fig, axes = plt.subplots(1, len(nets) + 1,
                             figsize=(0.85 * PANEL_INCHES * (len(nets) + 1), PANEL_INCHES + 0.7),
                             squeeze=False)
    input_art = image_panel(axes[0, 0], x[0, 0], "input")
    arts = [_mask_panel(ax, masks[name][0], name, classes)
            for ax, name in zip(axes[0, 1:], nets, strict=True)]
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()

    def update(t: tuple[int, int]) -> None:
        k = shifts.index(_validate.offset(t))
        input_art.set_data(shift(x, shifts[k])[0, 0].numpy())
        axes[0, 0].set_title(f"input shifted by {shifts[k]}", fontsize=9)
        for ax, art, name in zip(axes[0, 1:], arts, nets, strict=True):
            art.set_data(masks[name][k].float().numpy())
            off = changed[name][k]
            ax.set_title(f"{name} mask:\n" + (f"{off} pixels off the shift" if off
                                              else "follows the shift"), fontsize=9)

    update(shifts[0])
    plt.close(fig)
    return fig, update, changed
