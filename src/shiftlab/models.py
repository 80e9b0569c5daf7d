"""Small convolutional networks built from the course's layers, configured by one small object.

    x → [conv (padding, stride) → ReLU → local max pool?] × L → global pool → linear → logits

Each piece is one a chapter studies: the padding decides what happens at the border, strides
and local pooling decide which shifts survive, the global pool makes the output invariant.
Weights are drawn from a seeded generator, so the same config and seed give the same network.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from shiftlab import _validate
from shiftlab.layers import PADDINGS, conv2d, global_avg_pool, global_max_pool, max_pool


@dataclass(frozen=True)
class ConvNetConfig:
    """The whole architecture in one line, e.g. ``ConvNetConfig(channels=(8, 16), stride=2)``."""

    channels: tuple[int, ...] = (8, 16)  # output channels of each conv layer
    kernel_size: int = 3
    padding: str = "circular"  # one of layers.PADDINGS
    stride: int = 1  # of every conv layer
    local_pool: bool = False  # 2x2 max pooling with stride 2 after every conv layer
    global_pool: str = "avg"  # "avg" or "max"
    classes: int = 2
    in_channels: int = 1

    def __post_init__(self) -> None:
        _widths(self.channels)
        _validate.positive_int(self.kernel_size, "kernel_size", high=MAX_KERNEL)
        _validate.one_of(self.padding, "padding", PADDINGS)
        _validate.positive_int(self.stride, "stride", high=MAX_KERNEL)
        _validate.boolean(self.local_pool, "local_pool")
        _validate.one_of(self.global_pool, "global_pool", ("avg", "max"))
        _validate.positive_int(self.classes, "classes", high=MAX_WIDTH)
        _validate.positive_int(self.in_channels, "in_channels", high=MAX_WIDTH)


MAX_WIDTH = 1024
"""The most channels (or classes) a layer of the course's networks may have."""
MAX_KERNEL = 64
"""The largest filter side (and stride) of the course's networks."""
MAX_LAYERS = 64
"""The most convolution layers a network of the course may have."""


def _widths(channels: Any, name: str = "channels") -> tuple[int, ...]:
    """Check ``channels``, the output channels of each convolution layer: a non-empty tuple or
    list of ints in ``1 ... MAX_WIDTH``, at most ``MAX_LAYERS`` of them."""
    if not isinstance(channels, tuple | list) or not channels:
        raise ValueError(f"{name} must be positive ints, a non-empty tuple (one per layer), "
                         f"got {channels!r}")
    if len(channels) > MAX_LAYERS:
        raise ValueError(f"{name} must have at most {MAX_LAYERS} layers, got {len(channels)}")
    for i, c in enumerate(channels):
        _validate.integer(c, f"{name}[{i}]")
        if not 1 <= c <= MAX_WIDTH:
            raise ValueError(f"{name} must be positive ints (at most {MAX_WIDTH}), got "
                             f"{channels!r}")
    return tuple(int(c) for c in channels)


class StackConfig(Protocol):
    """What ``ConvStack`` reads from a network's configuration."""

    in_channels: int
    channels: tuple[int, ...]
    kernel_size: int
    classes: int
    global_pool: str


class ConvStack(nn.Module):
    """``forward(x) = W · pool(features(x)) + b`` for x of shape ``(N, in_channels, H, W)``.

    The part every network of the course shares: seeded convolution filters, biases and a
    linear head (``initial_layers``), the check of the input, and the global pool before the
    head. A subclass says how its layers compute ``features``. ``config`` needs the fields
    ``in_channels``, ``channels``, ``kernel_size``, ``classes`` and ``global_pool``.
    """

    def __init__(self, config: StackConfig, *, seed: int = 0) -> None:
        super().__init__()
        for field in ("in_channels", "channels", "kernel_size", "classes", "global_pool"):
            if not hasattr(config, field):
                raise TypeError(f"config must be a network configuration with the field "
                                f"{field!r} (e.g. a ConvNetConfig), got {type(config).__name__}")
        self.config: Any = config
        self.weights, self.biases, self.head = initial_layers(
            (config.in_channels, *config.channels), config.kernel_size, config.classes, seed,
        )

    def _checked(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` if it is an ``(N, in_channels, H, W)`` image batch, else a ValueError."""
        x = _validate.network_input(x, self)
        if x.shape[1] != self.config.in_channels:
            raise ValueError(
                f"x must have in_channels = {self.config.in_channels} channels (axis 1), got shape "
                f"{tuple(x.shape)}"
            )
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before the global pool: each subclass computes its own."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits), ``(N, classes)``."""
        pool = global_avg_pool if self.config.global_pool == "avg" else global_max_pool
        return self.head(pool(self.features(x)))


class ConvNet(ConvStack):
    """Convolutions with a padding mode and a stride, each followed by a ReLU and optionally a
    2x2 max pool; then a global pool and a linear head."""

    def __init__(self, config: ConvNetConfig | None = None, *, seed: int = 0) -> None:
        if config is not None and not isinstance(config, ConvNetConfig):
            raise TypeError(f"config must be a ConvNetConfig or None, got {type(config).__name__}")
        super().__init__(config or ConvNetConfig(), seed=seed)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before the global pool, ``(N, channels[-1], H', W')``."""
        x = self._checked(x)
        for weight, bias in zip(self.weights, self.biases, strict=True):
            x = conv2d(x, weight, padding=self.config.padding, stride=self.config.stride)
            x = torch.relu(x + bias[:, None, None])
            if self.config.local_pool:
                x = max_pool(x, 2)
        return x


def initial_layers(
    widths: tuple[int, ...], kernel_size: int, classes: int, seed: int
) -> tuple[nn.ParameterList, nn.ParameterList, nn.Linear]:
    """The seeded initial parameters of a stack of convolutions and its linear head.

    ``widths = (in_channels, c_1, ..., c_L)``: filter ``l`` has shape ``(c_l, c_{l-1}, k, k)``
    and entries ``N(0, 2 / (c_{l-1} k²))`` (He initialisation, which keeps the scale of the
    features through the ReLUs); biases are 0; the head ``(classes, c_L)`` is uniform in
    ``±1/√c_L`` with bias 0. The same seed gives the same parameters, in every network built
    with this function.
    """
    if not isinstance(widths, tuple | list) or len(widths) < 2:
        raise TypeError(f"widths must be a tuple (in_channels, c_1, ..., c_L) of at least two "
                        f"ints, got {widths!r}")
    widths = (_validate.positive_int(widths[0], "widths[0]", high=MAX_WIDTH),
              *_widths(tuple(widths[1:]), "widths[1:]"))
    k = _validate.positive_int(kernel_size, "kernel_size", high=MAX_KERNEL)
    classes = _validate.positive_int(classes, "classes", high=MAX_WIDTH)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    weights = nn.ParameterList(
        nn.Parameter(torch.randn(c_out, c_in, k, k, generator=generator)
                     * math.sqrt(2.0 / (c_in * k * k)))
        for c_in, c_out in itertools.pairwise(widths)
    )
    biases = nn.ParameterList(nn.Parameter(torch.zeros(c)) for c in widths[1:])
    head = nn.Linear(widths[-1], classes)
    with torch.no_grad():
        bound = 1.0 / math.sqrt(widths[-1])
        head.weight.copy_((torch.rand(head.weight.shape, generator=generator) * 2 - 1) * bound)
        head.bias.zero_()
    return weights, biases, head


class SqueezeExcitation(nn.Module):
    """A squeeze-and-excitation block (Hu et al. 2018): a global pool in the middle of a network.

        s = σ(W₂ ReLU(W₁ avg(x) + b₁) + b₂),     y[n, c] = s[n, c] · x[n, c]

    x: ``(N, C, H, W)`` -> the same shape. The squeeze ``avg(x)`` is invariant to every circular
    shift, so the channel weights ``s`` do not move and ``y(T_t x) = T_t y(x)``: the block keeps
    the map, and its equivariance. Weights are drawn from a seeded generator.
    """

    def __init__(self, channels: int, reduction: int = 2, *, seed: int = 0) -> None:
        super().__init__()
        channels = _validate.positive_int(channels, "channels", high=MAX_WIDTH)
        hidden = max(1, channels // _validate.positive_int(reduction, "reduction"))
        generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
        self.squeeze = nn.Linear(channels, hidden)
        self.excite = nn.Linear(hidden, channels)
        with torch.no_grad():
            for layer in (self.squeeze, self.excite):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.copy_((torch.rand(layer.weight.shape, generator=generator) * 2 - 1)
                                   * bound)
                layer.bias.copy_((torch.rand(layer.bias.shape, generator=generator) * 2 - 1)
                                 * bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Every channel of ``x`` scaled by its weight in ``(0, 1)``: ``(N, C, H, W)``."""
        x = _validate.network_input(x, self)
        if x.shape[1] != self.squeeze.in_features:
            raise ValueError(
                f"x must have {self.squeeze.in_features} channels (axis 1), got shape "
                f"{tuple(x.shape)}"
            )
        weights = torch.sigmoid(self.excite(torch.relu(self.squeeze(global_avg_pool(x)))))
        return x * weights.to(x.dtype)[:, :, None, None]
