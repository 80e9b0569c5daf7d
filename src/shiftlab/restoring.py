"""Restoring invariance (chapter 7): adaptive polyphase sampling, and a small CNN whose
downsampling is pluggable, to compare the remedies for lost invariance.

    x → [conv (padding, stride 1) → + bias → ReLU → downsample] × L → global pool → linear

The ``downsample`` step halves the feature map in one of three ways:

- ``"stride"``: keep every second sample, ``D_2``: the baseline, a stride-2 convolution;
- ``"blur"``: BlurPool, ``D_2 (B * ·)`` with a binomial filter (``shiftlab.antialias``);
- ``"aps"``: adaptive polyphase sampling, the component of largest norm (``aps_downsample``).

and ``padding`` decides the border: ``"same"`` (zeros, size kept), ``"full"`` (``k - 1`` zeros
on every side, the map grows by ``k - 1``) or ``"circular"`` (the torus). With circular padding
and ``"aps"`` every layer satisfies ``f(T_t x) = T_q f(x)`` for every shift ``t``, so the
classifier is invariant to every circular shift; ``shiftlab.models.ConvNet`` has no blur and no
APS, which is why this network exists.

*Adaptive polyphase sampling* (APS, ``aps_downsample``): downsample by keeping the polyphase
component of largest norm, so that the samples kept follow the content instead of the grid
(Chaman & Dokmanić 2021).

With the polyphase components ``P_a x`` of chapter 3 (``stride.polyphase``),

    a*(x) = argmax_a ‖P_a x‖          (ties: the first a in the order (0,0), (0,1), ...)
    APS_s(x) = P_{a*(x)} x            x: (N, C, H, W) -> (N, C, H/s, W/s)

The norm is taken over all channels of a sample together, so every channel keeps the same
samples. A circular shift ``T_t`` permutes the components and shifts each one
(``P_a T_t = T_q P_{(a - t) mod s}``), and shifts keep norms; so the largest component of
``T_t x`` is the largest of ``x``, moved. Whenever the largest is unique,

    APS_s(T_t x) = T_q APS_s(x),   a' = (a* + t) mod s,   q = (t + a* - a') / s

for EVERY shift t, not only for t in ``sZ x sZ`` as with a fixed stride.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from shiftlab import _validate
from shiftlab.antialias import blur_pool
from shiftlab.layers import conv2d
from shiftlab.models import MAX_KERNEL, MAX_WIDTH, ConvStack, _widths
from shiftlab.stride import component_norms, phase_after_shift, polyphase


def aps_phase(x: torch.Tensor, s: int = 2) -> torch.Tensor:
    """The component APS keeps, ``a*(x) = (a_y, a_x)``: shape ``(2,)`` for an ``(H, W)`` image,
    ``(N, 2)`` for a batch (``torch.long``). Ties go to the first in row-major order."""
    with torch.no_grad():  # a choice, not a function to differentiate: no graph for the norms
        norms = component_norms(x, s)
    # argmax returns the first of equal maxima: the deterministic tie-break
    k = norms.flatten(start_dim=-2).argmax(dim=-1)
    return torch.stack([k // s, k % s], dim=-1)


def aps_downsample(x: torch.Tensor, s: int = 2) -> torch.Tensor:
    """``APS_s(x) = P_{a*(x)} x``: the polyphase component of largest norm, per sample.

    x: ``(H, W)`` or ``(N, C, H, W)`` with ``H`` and ``W`` multiples of ``s``;
    returns ``(H/s, W/s)`` or ``(N, C, H/s, W/s)``.
    """
    phase = aps_phase(x, s)
    parts = polyphase(x, s)
    if x.dim() == 2:
        return parts[phase[0], phase[1]]
    samples = torch.arange(len(x), device=x.device)
    # parts[n, :, a_y(n), a_x(n)] for every sample n
    return parts.movedim(1, 3)[samples, phase[:, 0], phase[:, 1]]


def aps_output_shift(x: torch.Tensor, t: tuple[int, int], s: int = 2) -> tuple[int, int]:
    """The shift ``q`` with ``APS_s(T_t x) = T_q APS_s(x)``, for one ``(H, W)`` image ``x``.

    ``a' = (a*(x) + t) mod s`` is the component kept after the shift and
    ``q = (t + a* - a') / s``; it holds when the largest component of ``x`` is unique.
    """
    x = _validate.values(_validate.image_tensor(x, ranks=(2,)), "x")
    dy, dx = _validate.offset(t)
    s = _validate.positive_int(s, "s")
    a_y, a_x = (int(v) for v in aps_phase(x, s))
    kept = ((a_y + dy) % s, (a_x + dx) % s)
    _, q = phase_after_shift(kept, (dy, dx), s)  # chapter 3: it holds component a* of x
    return q


DOWNSAMPLERS = ("stride", "blur", "aps")
NET_PADDINGS = ("same", "full", "circular")


@dataclass(frozen=True)
class DownsamplingConfig:
    """One variant, e.g. ``DownsamplingConfig(downsample="aps", padding="circular")``."""

    downsample: str = "stride"  # one of DOWNSAMPLERS
    padding: str = "same"  # one of NET_PADDINGS
    channels: tuple[int, ...] = (4, 8)  # output channels of each conv layer
    kernel_size: int = 3
    blur_size: int = 3  # taps of the binomial filter of "blur"
    global_pool: str = "max"  # "avg" or "max"
    classes: int = 2
    in_channels: int = 1

    def __post_init__(self) -> None:
        _validate.one_of(self.downsample, "downsample", DOWNSAMPLERS)
        _validate.one_of(self.padding, "padding", NET_PADDINGS)
        _widths(self.channels)
        _validate.positive_int(self.kernel_size, "kernel_size", high=MAX_KERNEL)
        _validate.positive_int(self.blur_size, "blur_size", high=MAX_KERNEL)
        _validate.one_of(self.global_pool, "global_pool", ("avg", "max"))
        _validate.positive_int(self.classes, "classes", high=MAX_WIDTH)
        _validate.positive_int(self.in_channels, "in_channels", high=MAX_WIDTH)
        if self.downsample == "aps" and self.padding == "full":
            raise ValueError(
                "downsample='aps' needs a padding that keeps the size ('same' or 'circular'): "
                "full padding makes the sides odd, and APS needs sides divisible by 2"
            )

    @property
    def blur_padding(self) -> str:
        """The blur's own padding: the torus with circular padding, else mirrored borders
        (as in Zhang's BlurPool), so that the blur itself adds no zeros."""
        return "circular" if self.padding == "circular" else "reflect"


class DownsamplingNet(ConvStack):
    """Convolutions, each followed by a ReLU and a downsampling by 2 (stride, BlurPool or APS);
    then a global pool and a linear head. The same seed gives the same initial weights as
    ``shiftlab.models.ConvNet`` of the same shape."""

    def __init__(self, config: DownsamplingConfig | None = None, *, seed: int = 0) -> None:
        if config is not None and not isinstance(config, DownsamplingConfig):
            raise TypeError(f"config must be a DownsamplingConfig or None, got "
                            f"{type(config).__name__}")
        super().__init__(config or DownsamplingConfig(), seed=seed)

    def downsample(self, x: torch.Tensor) -> torch.Tensor:
        """Halve a feature map ``(N, C, H, W)`` the configured way."""
        x = _validate.image_tensor(x, ranks=(4,))
        if self.config.downsample == "stride":
            return x[..., ::2, ::2]
        if self.config.downsample == "blur":
            return blur_pool(x, 2, self.config.blur_size, self.config.blur_padding)
        if x.shape[-2] % 2 or x.shape[-1] % 2:
            raise ValueError(
                f"APS needs feature maps with even sides, got {tuple(x.shape[-2:])}: use an "
                f"input whose sides are multiples of 2^{len(self.config.channels)}"
            )
        return aps_downsample(x, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before the global pool, ``(N, channels[-1], H', W')``."""
        x = self._checked(x)
        strided = self.config.downsample == "stride"
        for weight, bias in zip(self.weights, self.biases, strict=True):
            # a stride-2 convolution is D_2 of the stride-1 one (chapter 3), at a quarter of
            # the cost; the bias and the ReLU act pixel by pixel, so they commute with D_2
            x = conv2d(x, weight, padding=self.config.padding, stride=2 if strided else 1)
            x = torch.relu(x + bias[:, None, None])
            if not strided:
                x = self.downsample(x)
        return x


@torch.no_grad()
def median_split(model: nn.Module, images: torch.Tensor) -> nn.Module:
    """Move the decision threshold of a two-class ``model`` to the median of ``images``.

    ``model`` ends in a linear layer ``model.head`` with two outputs (``DownsamplingNet``,
    ``shiftlab.models.ConvNet``). Its bias is set so that ``score₁ − score₀`` has median 0 on
    ``images``: the model then puts half of them in each class. An untrained network puts nearly
    all of them in one class, and a constant answer is trivially consistent; split at the
    median, every image whose answer a shift can flip is near the threshold. Returns ``model``
    (changed in place).
    """
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Linear) or head.out_features != 2:
        raise TypeError(
            f"model must end in a linear layer model.head with 2 outputs, got {model!r:.80}"
        )
    images = _validate.values(_validate.network_input(images, model, "images"), "images")
    scores = model(images)
    if not isinstance(scores, torch.Tensor) or scores.shape != (len(images), 2):
        raise ValueError(f"model must return scores of shape ({len(images)}, 2), got "
                         f"{getattr(scores, 'shape', type(scores).__name__)}")
    _validate.finite_values(scores, "model(images) (the scores)")
    model.head.bias[1] -= (scores[:, 1] - scores[:, 0]).median()
    return model
