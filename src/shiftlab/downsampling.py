"""A small CNN whose downsampling is pluggable, to compare the remedies for lost invariance.

    x → [conv (padding, stride 1) → + bias → ReLU → downsample] × L → global pool → linear

The ``downsample`` step halves the feature map in one of three ways:

- ``"stride"``: keep every second sample, ``D_2``: the baseline, a stride-2 convolution;
- ``"blur"``: BlurPool, ``D_2 (B * ·)`` with a binomial filter (``shiftlab.antialias``);
- ``"aps"``: adaptive polyphase sampling, the component of largest norm (``shiftlab.aps``).

and ``padding`` decides the border: ``"same"`` (zeros, size kept), ``"full"`` (``k - 1`` zeros
on every side, the map grows by ``k - 1``) or ``"circular"`` (the torus). With circular padding
and ``"aps"`` every layer satisfies ``f(T_t x) = T_q f(x)`` for every shift ``t``, so the
classifier is invariant to every circular shift; ``shiftlab.models.ConvNet`` has no blur and no
APS, which is why this network exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from shiftlab import _validate
from shiftlab.antialias import blur_pool
from shiftlab.aps import aps_downsample
from shiftlab.layers import conv2d
from shiftlab.models import ConvStack

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
        if not self.channels or not all(
            isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in self.channels
        ):
            raise ValueError(f"channels must be positive ints, got {self.channels!r}")
        _validate.positive_int(self.kernel_size, "kernel_size")
        _validate.positive_int(self.blur_size, "blur_size")
        _validate.one_of(self.global_pool, "global_pool", ("avg", "max"))
        _validate.positive_int(self.classes, "classes")
        _validate.positive_int(self.in_channels, "in_channels")
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
        super().__init__(config or DownsamplingConfig(), seed=seed)

    def downsample(self, x: torch.Tensor) -> torch.Tensor:
        """Halve a feature map ``(N, C, H, W)`` the configured way."""
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


def fit(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    steps: int,
    lr: float = 0.05,
    betas: tuple[float, float] = (0.9, 0.999),
) -> list[float]:
    """Full-batch Adam on the cross-entropy; returns the loss of every step.

        m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,   θ ← θ − η m̂ / (√v̂ + 1e-8)

    with ``g = ∇L(θ)`` on the whole data set and ``m̂, v̂`` corrected for their start at 0.
    images: ``(N, C, H, W)``; labels: ``(N,)`` class indices (``torch.long``). One batch, so
    nothing is random: the same model and data give the same weights. Written out rather than
    ``torch.optim.Adam``, whose first step imports PyTorch's compiler stack, which takes longer
    than training these networks; Adam rather than plain gradient descent because one step
    size then suits every variant.
    """
    images = _validate.image_tensor(images, "images", ranks=(4,))
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long:
        raise TypeError(f"labels must be a tensor of dtype torch.long, got {labels!r:.60}")
    if labels.shape != (len(images),):
        raise ValueError(
            f"labels must have shape ({len(images)},), one per image, got {tuple(labels.shape)}"
        )
    steps = _validate.positive_int(steps, "steps")
    lr = _validate.non_negative_float(lr, "lr")
    beta1, beta2 = (_validate.non_negative_float(b, "betas") for b in betas)
    if not (beta1 < 1 and beta2 < 1):
        raise ValueError(f"betas must lie in [0, 1), got {betas}")
    parameters = [p for p in model.parameters() if p.requires_grad]
    first = [torch.zeros_like(p) for p in parameters]
    second = [torch.zeros_like(p) for p in parameters]
    history = []
    model.train()
    for step in range(1, steps + 1):
        loss = F.cross_entropy(model(images), labels)
        gradients = torch.autograd.grad(loss, parameters)
        with torch.no_grad():
            for p, m, v, g in zip(parameters, first, second, gradients, strict=True):
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
                p.sub_(lr * m_hat / (v_hat.sqrt() + 1e-8))
        history.append(loss.item())
    model.eval()
    return history


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
    images = _validate.image_tensor(images, "images", ranks=(4,))
    scores = model(images)
    model.head.bias[1] -= (scores[:, 1] - scores[:, 0]).median()
    return model
