"""The figures of the chapter between the pixels: a sub-pixel shift explorer, spectra before and
after a ReLU, error curves against the shift, and flip rates of the trained classifiers.

Lines differ by marker and dash as well as colour, so the figures read in grayscale; functions
return the figure closed, or ``(fig, update, errors)`` for ``sliders.slider``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from shiftlab import _validate
from shiftlab.figures.panels import ZERO_ON_LOG_AXIS, image_panel
from shiftlab.subpixel import error_curve, fourier_shift

_STYLES = ("-", "--", "-.", ":")
_MARKERS = "osd^v<>"


def _color(k: int, n: int) -> tuple:
    return plt.cm.viridis(0.9 * k / max(1, n - 1))


def subpixel_explorer(
    x: torch.Tensor, f: Callable[[torch.Tensor], torch.Tensor], ts: Sequence[float], *,
    title: str = "",
) -> tuple[Figure, Callable[[float], None], torch.Tensor]:
    """A figure for ``slider`` over the horizontal shift ``t``: the shifted image ``T_t x``,
    ``f(T_t x)``, ``T_t f(x)``, their difference, and the relative error against ``t`` with the
    current ``t`` marked. x: one image ``(1, 1, H, W)``. Returns ``(fig, update, errors)``."""
    x = _validate.values(_validate.image_tensor(x, ranks=(4,)), "x")
    _validate.function(f, "f")
    ts = _validate.reals(ts, "ts")
    title = _validate.text(title, "title")
    errors = error_curve(f, x, ts)
    with torch.no_grad():
        fx = f(x)
    fig = plt.figure(figsize=(10.4, 5.4))
    grid = fig.add_gridspec(2, 4, height_ratios=[1.0, 0.8])
    axes = [fig.add_subplot(grid[0, k]) for k in range(4)]
    low, high = float(fx.min()), float(fx.max())
    bound = max(abs(low), abs(high)) * 0.25 or 1.0
    artists = [
        image_panel(axes[0], x[0, 0], "input moved by t, T_t x"),
        image_panel(axes[1], fx[0, 0], "f(T_t x)", cmap="viridis", vmin=low, vmax=high),
        image_panel(axes[2], fx[0, 0], "T_t f(x)", cmap="viridis", vmin=low, vmax=high),
        image_panel(axes[3], fx[0, 0] * 0, "difference", cmap="RdBu_r", vmin=-bound,
                    vmax=bound),
    ]
    curve = fig.add_subplot(grid[1, :])
    floor = np.maximum(errors.numpy(), ZERO_ON_LOG_AXIS)
    curve.semilogy(ts, floor, "o-", color=_color(0, 2), markersize=4)
    marker, = curve.semilogy([ts[0]], [floor[0]], "s", color="black", markersize=9,
                             fillstyle="none")
    curve.set_xlabel("shift t (pixels)")
    curve.set_ylabel("relative error")
    curve.set_title("‖f(T_t x) − T_t f(x)‖ / ‖T_t f(x)‖", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()

    def update(t: float) -> None:
        with torch.no_grad():
            moved = fourier_shift(x, (0.0, t))
            lhs, rhs = f(moved), fourier_shift(fx, (0.0, t))
        for artist, image in zip(artists, (moved, lhs, rhs, lhs - rhs), strict=True):
            artist.set_data(image[0, 0].numpy())
        k = ts.index(t)
        marker.set_data([t], [floor[k]])
        axes[3].set_title(f"difference (error {float(errors[k]):.1e})", fontsize=10)

    plt.close(fig)
    return fig, update, errors


def spectra(
    maps: Mapping[str, torch.Tensor], *, band: float | None = None, title: str = "",
) -> Figure:
    """The log power spectrum of each ``(H, W)`` map, zero frequency in the centre, with the
    square ``|ω_y|, |ω_x| < band`` (radians per pixel of the map) outlined."""
    maps = _validate.mapping(maps, "maps")
    band = _validate.optional_real(band, "band", low=0)
    title = _validate.text(title, "title")
    fig, axes = plt.subplots(1, len(maps), figsize=(3.4 * len(maps), 3.6), squeeze=False)
    for ax, (label, image) in zip(axes[0], maps.items(), strict=True):
        image = _validate.image_tensor(image, f"maps[{label!r}]", ranks=(2,)).double()
        power = torch.fft.fftshift(torch.fft.fft2(image).abs().square())
        logp = torch.log10(power + power.max() * 1e-12)
        extent = (-np.pi, np.pi, -np.pi, np.pi)
        ax.imshow(logp.numpy(), cmap="magma", extent=extent, origin="lower",
                  vmin=float(logp.max()) - 10, vmax=float(logp.max()))
        if band is not None:
            ax.add_patch(Rectangle((-band, -band), 2 * band, 2 * band, fill=False,
                                   edgecolor="white", linestyle="--", linewidth=1.4))
        ax.set_xticks([-np.pi, 0, np.pi], ["−π", "0", "π"])
        ax.set_yticks([-np.pi, 0, np.pi], ["−π", "0", "π"])
        ax.set_xlabel("ω_x (radians per pixel)")
        ax.set_ylabel("ω_y")
        ax.set_title(label, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def error_curves(
    ts: Sequence[float], curves: Mapping[str, torch.Tensor], *, xlabel: str = "shift t (pixels)",
    ylabel: str = "relative error", title: str = "",
) -> Figure:
    """Errors against the shift, one line per ``{label: errors}``, on a log axis (0 drawn at
    ``ZERO_ON_LOG_AXIS``)."""
    ts = _validate.reals(ts, "ts")
    curves = _validate.mapping(curves, "curves")
    xlabel = _validate.text(xlabel, "xlabel")
    ylabel = _validate.text(ylabel, "ylabel")
    title = _validate.text(title, "title")
    fig, ax = plt.subplots(figsize=(7.8, 3.6))
    for k, (label, values) in enumerate(curves.items()):
        values = np.maximum(torch.as_tensor(values).double().numpy(), ZERO_ON_LOG_AXIS)
        ax.semilogy(list(ts), values, _STYLES[k % 4], marker=_MARKERS[k % 7], markersize=4,
                    color=_color(k, len(curves)), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def flip_curves(
    taus: Sequence[float], rates: Mapping[str, torch.Tensor], *, title: str = "",
) -> Figure:
    """Flip rates against the shift: ``{name: (R, len(taus)) rates of R seeds}`` as the mean
    over seeds with a band of ± one standard deviation."""
    taus = _validate.reals(taus, "taus")
    rates = _validate.mapping(rates, "rates")
    title = _validate.text(title, "title")
    fig, ax = plt.subplots(figsize=(7.8, 3.6))
    for k, (name, values) in enumerate(rates.items()):
        values = 100 * torch.as_tensor(values).double()
        mean, sd = values.mean(0).numpy(), values.std(0).numpy()
        color = _color(k, len(rates))
        ax.plot(list(taus), mean, _STYLES[k % 4], marker=_MARKERS[k % 7], markersize=4,
                color=color, label=name)
        ax.fill_between(list(taus), np.maximum(mean - sd, 0), mean + sd, color=color,
                        alpha=0.15)
    ax.set_xlabel("shift τ along both axes (pixels)")
    ax.set_ylabel("top-1 changed (% of test images)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig
