"""Is this pixel the maximum of its 3 x 3 neighbourhood? A translation-equivariant question.

The answer at every pixel is a map of booleans,

    m(x)[i, j] = ( x[i, j] == max_{|a|, |b| <= 1} x[i + a, j + b] ),

a max over a sliding window (stride 1) followed by a pointwise comparison: it commutes with
circular shifts, so an equivariant network can compute it. Here it is computed three ways:

- ``local_max_map``: the definition (circular padding, so it is exact on the torus);
- ``hand_built_detector``: a CNN with fixed weights, 8 difference filters ``x_n - x_c``, a ReLU
  and a sum: ``s(x) = Σ_n relu(x_n - x_c)`` is 0 exactly when the centre is the maximum;
- ``LocalMaxNet``: the same shape of CNN with learned weights (``train_detector``).

``WindowNet`` is the small network of the reader's question: two 2 x 2 same-padded convolutions
on a 3 x 3 window and a dense layer; with ``invariant=True`` it is made invariant to circular
shifts of the window (circular padding and a global average pool), which no training can undo.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from shiftlab import _validate
from shiftlab.layers import conv2d, global_avg_pool

NEIGHBOURS = tuple((a, b) for a in range(3) for b in range(3) if (a, b) != (1, 1))
"""The 8 taps of a 3 x 3 window other than the centre ``(1, 1)``."""


def local_max_map(x: torch.Tensor) -> torch.Tensor:
    """``x[p] == max of the 3 x 3 window around p`` (circular padding): a bool tensor like x.

    x: ``(H, W)`` or ``(N, C, H, W)`` with ``H, W >= 3``.
    """
    x = _validate.image_tensor(x)
    if min(x.shape[-2:]) < 3:
        raise ValueError(f"x must be at least 3 x 3, got shape {tuple(x.shape)}")
    batch = x[None, None] if x.dim() == 2 else x
    window_max = F.max_pool2d(F.pad(batch, (1, 1, 1, 1), mode="circular"), 3, stride=1)
    return (batch == window_max).reshape(x.shape)


def difference_filters(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The 8 filters ``x_n - x_c``, one per neighbour n of the centre c: ``(8, 1, 3, 3)``."""
    filters = torch.zeros(len(NEIGHBOURS), 1, 3, 3, dtype=dtype)
    for n, (a, b) in enumerate(NEIGHBOURS):
        filters[n, 0, a, b] = 1
        filters[n, 0, 1, 1] = -1
    return filters


def hand_built_detector(x: torch.Tensor) -> torch.Tensor:
    """A two-layer CNN with fixed weights: ``Σ_n relu(x_n - x_c) == 0``, a bool ``(N, 1, H, W)``.

    Layer 1: the 8 ``difference_filters`` (circular padding) and a ReLU; layer 2: a 1 x 1
    convolution with weights 1 (the sum). The sum is 0 exactly when no neighbour exceeds the
    centre.
    """
    x = _validate.image_tensor(x, ranks=(4,))
    if x.shape[1] != 1:
        raise ValueError(f"x must have one channel, got shape {tuple(x.shape)}")
    hidden = torch.relu(conv2d(x, difference_filters(x.dtype), padding="circular"))
    ones = torch.ones(1, len(NEIGHBOURS), 1, 1, dtype=x.dtype)
    return conv2d(hidden, ones, padding="circular") == 0


class LocalMaxNet(nn.Module):
    """``logit = w_2 ⋆ relu(w_1 ⋆ x + b_1) + b_2``: a 3 x 3 layer of ``hidden`` channels and a
    1 x 1 read-out, circular padding, so the logit map is shift equivariant. ``(N, 1, H, W)``."""

    def __init__(self, hidden: int = 16, *, seed: int = 0) -> None:
        super().__init__()
        hidden = _validate.positive_int(hidden, "hidden")
        generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
        self.w1 = nn.Parameter(torch.randn(hidden, 1, 3, 3, generator=generator) / 3)
        self.b1 = nn.Parameter(torch.zeros(hidden))
        self.w2 = nn.Parameter(torch.randn(1, hidden, 1, 1, generator=generator)
                               / math.sqrt(hidden))
        self.b2 = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(conv2d(x, self.w1, padding="circular") + self.b1[:, None, None])
        return conv2d(hidden, self.w2, padding="circular") + self.b2[:, None, None]


def train_detector(
    net: nn.Module, images: torch.Tensor, targets: torch.Tensor, *, steps: int = 200,
    lr: float = 0.1,
) -> list[float]:
    """Fit a per-pixel detector: Adam on the whole batch, binary cross-entropy of the logits.

    images: ``(N, 1, H, W)``; targets: a bool map of the same shape. Returns the loss per step.
    """
    images = _validate.image_tensor(images, "images", ranks=(4,))
    if not isinstance(targets, torch.Tensor) or targets.shape != images.shape:
        raise ValueError(f"targets must be a tensor of shape {tuple(images.shape)}, like images")
    steps = _validate.positive_int(steps, "steps")
    lr = _validate.non_negative_float(lr, "lr")
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    labels = targets.to(images.dtype)
    history = []
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(net(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history


def centred_windows(n: int, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random 3 x 3 windows ``(n, 1, 3, 3)`` and labels ``(n,)``: 1 if the centre is the
    maximum, else 0; even-numbered windows are positive (their maximum moved to the centre),
    odd-numbered ones negative (moved off the centre, if it was there)."""
    n = _validate.positive_int(n, "n")
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    flat = torch.randn(n, 9, generator=generator)
    off_centre = torch.randint(0, 8, (n,), generator=generator)
    for k in range(n):
        top = int(flat[k].argmax())
        if k % 2 == 0:
            target = 4  # move the maximum to the centre
        elif top == 4:
            target = int(off_centre[k])
            target += target >= 4  # one of the 8 taps other than the centre
        else:
            continue
        flat[k, [top, target]] = flat[k, [target, top]]
    labels = (flat.argmax(dim=1) == 4).long()
    return flat.reshape(n, 1, 3, 3), labels


class WindowNet(nn.Module):
    """The reader's network for 3 x 3 windows, ``(N, 1, 3, 3) -> (N, 2)`` logits:

        conv 2x2 (c_1) -> ReLU -> conv 2x2 (c_2) -> ReLU -> flatten -> linear

    with 'same' zero padding (a 2 x 2 filter gets its one zero row and column after the image,
    as in Keras). ``invariant=True`` pads circularly and replaces the flatten with a global
    average pool: the logits are then the same for every circular shift of the window.
    """

    def __init__(self, channels: tuple[int, int] = (128, 64), *, invariant: bool = False,
                 seed: int = 0) -> None:
        super().__init__()
        c_1, c_2 = (_validate.positive_int(c, "channels") for c in channels)
        generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
        self.invariant = bool(invariant)
        self.padding = "circular" if self.invariant else "same"
        # He initialisation, as in shiftlab.models.ConvNet.
        self.w1 = nn.Parameter(torch.randn(c_1, 1, 2, 2, generator=generator) * math.sqrt(0.5))
        self.w2 = nn.Parameter(torch.randn(c_2, c_1, 2, 2, generator=generator)
                               * math.sqrt(2 / (4 * c_1)))
        self.b1, self.b2 = nn.Parameter(torch.zeros(c_1)), nn.Parameter(torch.zeros(c_2))
        inputs = c_2 if self.invariant else 9 * c_2
        self.head = nn.Linear(inputs, 2)
        with torch.no_grad():
            bound = 1 / math.sqrt(inputs)
            self.head.weight.copy_((torch.rand(2, inputs, generator=generator) * 2 - 1) * bound)
            self.head.bias.zero_()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before the head, ``(N, c_2, 3, 3)``."""
        x = _validate.image_tensor(x, ranks=(4,))
        if x.shape[1:] != (1, 3, 3):
            raise ValueError(f"x must have shape (N, 1, 3, 3), got {tuple(x.shape)}")
        h = torch.relu(conv2d(x, self.w1, padding=self.padding) + self.b1[:, None, None])
        return torch.relu(conv2d(h, self.w2, padding=self.padding) + self.b2[:, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.head(global_avg_pool(h) if self.invariant else h.flatten(1))


__all__ = [
    "NEIGHBOURS",
    "LocalMaxNet",
    "WindowNet",
    "centred_windows",
    "difference_filters",
    "hand_built_detector",
    "local_max_map",
    "train_detector",
]
