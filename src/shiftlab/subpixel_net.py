"""A trained classifier between the pixels (chapter 8): how often a sub-pixel shift of the
input changes its top-1 class, for chapter 7's downsamplers and an alias-free network.

    x → [conv (circular) → + bias → ReLU_m, downsample by 2] × L → global average → linear

``AliasFreeNet`` does the ReLU and the downsampling of each layer the alias-free way
(``subpixel.alias_free_relu`` with ``m``): upsample by ``m``, ReLU, ideal low-pass filter to the
coarse grid's band, sample. Chapter 7's ``DownsamplingNet`` gives the baseline (stride 2),
BlurPool and APS. ``flip_rates`` measures, for each fractional shift ``τ``, the fraction of test
images whose top-1 class under ``T_(τ, τ)`` (``subpixel.fourier_shift``) differs from the
unshifted one:

    p(τ) = P_x [ argmax f(T_(τ,τ) x) ≠ argmax f(x) ]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from shiftlab import _validate
from shiftlab.layers import conv2d
from shiftlab.models import ConvStack
from shiftlab.subpixel import _fft_image, fourier_shift, real_offset, resample_matrix

KARRAS_2021 = {
    "StyleGAN2, AFHQv2": 13.83,
    "StyleGAN3-T, AFHQv2": 60.15,
    "StyleGAN3-R, AFHQv2": 64.89,
    "StyleGAN2 + simplified generator, FFHQ-U ablation": 19.47,
    "... + non-critical sampling, FFHQ-U ablation": 43.90,
    "... + rotation equivariance (StyleGAN3-R), FFHQ-U ablation": 66.65,
}
"""Karras et al. (2021), EQ-T in dB (PSNR of a generator's output under random translations
against the translated output; higher is more equivariant), for a few configurations of their
tables: the AFHQv2 results and rows of the FFHQ-U ablation (each row adds to the one above)."""


@dataclass(frozen=True)
class AliasFreeConfig:
    """E.g. ``AliasFreeConfig(channels=(4, 8), m=2)``: the fields ``ConvStack`` reads, and m."""

    channels: tuple[int, ...] = (4, 8)  # output channels of each conv layer
    kernel_size: int = 3
    m: int = 2  # the upsampling factor of the filtered ReLU
    global_pool: str = "avg"  # "avg" or "max"
    classes: int = 2
    in_channels: int = 1

    def __post_init__(self) -> None:
        if not self.channels or not all(
            isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in self.channels
        ):
            raise ValueError(f"channels must be positive ints, got {self.channels!r}")
        for k, c in enumerate(self.channels):
            _validate.positive_int(c, f"channels[{k}]")
        _validate.positive_int(self.kernel_size, "kernel_size")
        _validate.positive_int(self.m, "m")
        _validate.one_of(self.global_pool, "global_pool", ("avg", "max"))
        _validate.positive_int(self.classes, "classes")
        _validate.positive_int(self.in_channels, "in_channels")


class AliasFreeNet(ConvStack):
    """Circular convolutions, each followed by the filtered ReLU that also halves the grid
    (``alias_free_relu(x, m, size=(⌈H/2⌉, ⌈W/2⌉))``); then a global pool and a linear head.
    The same seed gives the same initial weights as ``DownsamplingNet`` of the same shape."""

    def __init__(self, config: AliasFreeConfig | None = None, *, seed: int = 0) -> None:
        super().__init__(config or AliasFreeConfig(), seed=seed)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before the global pool, ``(N, channels[-1], H', W')``."""
        x = self._checked(x)
        m = self.config.m
        for weight, bias in zip(self.weights, self.biases, strict=True):
            x = conv2d(x, weight, padding="circular") + bias[:, None, None]
            height, width = x.shape[-2:]
            # alias_free_relu(x, m, size=(⌈H/2⌉, ⌈W/2⌉)) as products with resample's matrices:
            # the same linear maps as its FFTs, and much faster to train through
            up_y, up_x = (resample_matrix(n, m * n, x.dtype) for n in (height, width))
            down_y = resample_matrix(m * height, -(-height // 2), x.dtype)
            down_x = resample_matrix(m * width, -(-width // 2), x.dtype)
            x = torch.relu(up_y @ x @ up_x.T)
            x = down_y @ x @ down_x.T
        return x


@torch.no_grad()
def flip_rates(
    model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, taus: Sequence[float]
) -> torch.Tensor:
    """The fraction of ``images`` whose top-1 class changes under ``T_(τ, τ)``, for each τ.

    images: ``(N, C, H, W)``. A model that returns ``(N, K)`` gives ``(len(taus),)``; one that
    returns ``(R, N, K)``, ``R`` networks at once (``training.Runs.logits``), gives
    ``(R, len(taus))``. float64.
    """
    _validate.function(model, "model")
    images = _fft_image(_validate.input_of(model, images, "images"), "images", ranks=(4,))
    if isinstance(taus, str) or not isinstance(taus, Sequence) or not 1 <= len(taus) <= 65:
        raise ValueError(f"taus must be a sequence of 1 to 65 real shifts, got {taus!r:.60}")
    taus = [real_offset((tau, tau), "taus[k]")[0] for tau in taus]
    before = model(images).argmax(dim=-1)
    rates = [(model(fourier_shift(images, (tau, tau))).argmax(dim=-1) != before)
             .double().mean(dim=-1) for tau in taus]
    return torch.stack(rates, dim=-1)
