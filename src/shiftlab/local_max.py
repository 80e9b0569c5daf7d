"""Is this pixel the maximum of its 3 x 3 neighbourhood? A translation-equivariant question.

The answer at every pixel is a map of booleans,

    m(x)[i, j] = ( x[i, j] == max_{|a|, |b| <= 1} x[i + a, j + b] ),

a max over a sliding window (stride 1) followed by a pointwise comparison: it commutes with
circular shifts, so an equivariant network can compute it. Here it is computed three ways:

- ``local_max_map``: the definition (circular padding, so it is exact on the torus);
- ``hand_built_detector``: a CNN with fixed weights, 8 difference filters ``x_n - x_c``, a ReLU
  and a sum: ``s(x) = Σ_n relu(x_n - x_c)`` is 0 exactly when the centre is the maximum;
- ``LocalMaxNet``: the same shape of CNN with learned weights (``train_detector``), several
  independently seeded copies trained side by side.

``WindowNet`` is the small network of the reader's question (chapter 2): two 2 x 2 same-padded
convolutions on a 3 x 3 window and a dense layer, with one of three heads: ``"flatten"`` (a
flatten before the dense layer: one answer per window), ``"per pixel"`` (the reader's Keras model
as written, without a flatten: the dense layer acts on the channels of every pixel, a 1 x 1
convolution, one answer per pixel) and ``"invariant"`` (circular padding and a global average
pool: the same logits for every circular shift of the window, which no training can undo).
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
    filters = torch.zeros(len(NEIGHBOURS), 1, 3, 3, dtype=_validate.float_dtype(dtype))
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
    filters = difference_filters(x.dtype).to(x.device)
    hidden = torch.relu(conv2d(x, filters, padding="circular"))
    ones = torch.ones(1, len(NEIGHBOURS), 1, 1, dtype=x.dtype, device=x.device)
    return conv2d(hidden, ones, padding="circular") == 0


class LocalMaxNet(nn.Module):
    """``logit = w_2 ⋆ relu(w_1 ⋆ x + b_1) + b_2``: a 3 x 3 layer of ``hidden`` channels and a
    1 x 1 read-out, circular padding, so the logit map is shift equivariant.

    ``copies`` independent detectors side by side: copy ``k`` starts from the weights of
    ``LocalMaxNet(hidden, seed=seed + k)`` and shares nothing with the others, so training them
    together (``train_detector``) trains each as if alone. x: ``(N, 1, H, W)``; returns the
    logits ``(N, copies, H, W)``.
    """

    def __init__(self, hidden: int = 16, *, seed: int = 0, copies: int = 1) -> None:
        super().__init__()
        self.hidden = _validate.positive_int(hidden, "hidden", high=4096)
        self.copies = _validate.positive_int(copies, "copies", high=1024)
        seed = _validate.integer(seed, "seed")
        first, second = [], []
        for k in range(self.copies):
            generator = torch.Generator().manual_seed(seed + k)
            first.append(torch.randn(hidden, 1, 3, 3, generator=generator) / 3)
            second.append(torch.randn(hidden, generator=generator) / math.sqrt(hidden))
        self.w1 = nn.Parameter(torch.cat(first))            # (copies · hidden, 1, 3, 3)
        self.b1 = nn.Parameter(torch.zeros(self.copies * hidden))
        self.w2 = nn.Parameter(torch.stack(second))          # (copies, hidden): 1 x 1 read-outs
        self.b2 = nn.Parameter(torch.zeros(self.copies))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _validate.network_input(x, self)
        hidden = torch.relu(conv2d(x, self.w1, padding="circular") + self.b1[:, None, None])
        hidden = hidden.unflatten(1, (self.copies, self.hidden))  # (N, copies, hidden, H, W)
        return torch.einsum("nkchw,kc->nkhw", hidden, self.w2) + self.b2[:, None, None]


def train_detector(
    net: nn.Module, images: torch.Tensor, targets: torch.Tensor, *, steps: int = 200,
    lr: float = 0.1,
) -> list[float]:
    """Fit a per-pixel detector: Adam on the whole batch, binary cross-entropy of the logits.

    images: ``(N, 1, H, W)``; targets: a bool map of the same shape. ``net`` returns logits
    ``(N, K, H, W)`` for ``K`` independent detectors (``LocalMaxNet(copies=K)``); the loss is the
    sum of their mean losses, so each gets the gradient it would get alone (Adam treats every
    weight on its own). Returns the loss per step, per detector (the mean over the K).
    """
    net = _validate.module(net, "net")
    images = _validate.network_input(images, net, "images")
    if not isinstance(targets, torch.Tensor) or targets.shape != images.shape:
        raise ValueError(f"targets must be a tensor of shape {tuple(images.shape)}, like images")
    if targets.is_complex():
        raise TypeError(f"targets must be a bool or real map (1 at a local maximum), got "
                        f"{targets.dtype}")
    if targets.device != images.device:
        raise ValueError(f"targets must be on the device of images, {images.device}, got "
                         f"{targets.device}")
    steps = _validate.positive_int(steps, "steps", high=100_000)
    lr = _validate.positive_float(lr, "lr")
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    labels = targets.to(images.dtype)
    history = []
    for _ in range(steps):
        logits = net(images)
        per_pixel = F.binary_cross_entropy_with_logits(
            logits, labels.expand_as(logits), reduction="none")
        loss = per_pixel.mean(dim=(0, 2, 3)).sum()  # one mean loss per detector, summed
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item() / logits.shape[1])
    return history


def detector_scores(logits: torch.Tensor, truth: torch.Tensor) -> dict[str, torch.Tensor]:
    """Pixel accuracy and recall (the share of true maxima found) of each detector.

    logits: ``(N, K, H, W)`` from ``K`` detectors; truth: the bool map ``(N, 1, H, W)``.
    Returns ``{"accuracy": (K,), "recall": (K,)}``; a pixel is found where its logit is > 0.
    """
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be an (N, K, H, W) tensor, got {type(logits).__name__}")
    logits = _validate.image_tensor(logits, "logits", ranks=(4,))
    if not isinstance(truth, torch.Tensor) or truth.dtype != torch.bool or (
            truth.shape != (len(logits), 1, *logits.shape[2:])):
        raise ValueError(
            f"truth must be a bool tensor of shape {(len(logits), 1, *logits.shape[2:])}, got "
            f"{truth!r:.60}"
        )
    if truth.device != logits.device:
        raise ValueError(f"truth must be on the device of logits, {logits.device}, got "
                         f"{truth.device}")
    if _validate.readable(truth) and not bool(truth.any()):
        raise ValueError("truth must mark at least one maximum (the recall's denominator), got "
                         "none")
    found = logits > 0
    accuracy = (found == truth).double().mean(dim=(0, 2, 3))
    recall = (found & truth).double().sum(dim=(0, 2, 3)) / truth.double().sum()
    return {"accuracy": accuracy, "recall": recall}


def centred_windows(n: int, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random 3 x 3 windows ``(n, 1, 3, 3)`` and labels ``(n,)``: 1 if the centre is the
    maximum, else 0; even-numbered windows are positive (their maximum moved to the centre),
    odd-numbered ones negative (moved off the centre, if it was there)."""
    n = _validate.positive_int(n, "n", high=100_000)  # one Python step per window
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


WINDOW_HEADS = ("flatten", "per pixel", "invariant")
"""The heads of ``WindowNet``: one answer per window, one per pixel, or shift invariant."""


class WindowNet(nn.Module):
    """The reader's network for 3 x 3 windows:

        conv 2x2 (c_1) -> ReLU -> conv 2x2 (c_2) -> ReLU -> head

    with 'same' zero padding (a 2 x 2 filter gets its one zero row and column after the image,
    as in Keras), and one of the ``WINDOW_HEADS``:

    - ``"flatten"``: flatten, then a dense layer: logits ``(N, 2)``;
    - ``"per pixel"``: the model as the reader wrote it, a dense layer on a ``(3, 3, c_2)``
      tensor without a flatten, which Keras applies to the channels of each pixel: a 1 x 1
      convolution, logits ``(N, 2, 3, 3)``, one answer per pixel;
    - ``"invariant"``: circular padding and a global average pool before the dense layer:
      logits ``(N, 2)``, the same for every circular shift of the window.
    """

    def __init__(self, channels: tuple[int, int] = (128, 64), *, head: str = "flatten",
                 seed: int = 0) -> None:
        super().__init__()
        if not isinstance(channels, tuple | list) or len(channels) != 2:
            raise TypeError(f"channels must be a pair of ints (c_1, c_2), got {channels!r}")
        c_1, c_2 = (_validate.positive_int(c, "channels", high=1024) for c in channels)
        self.head_kind = _validate.one_of(head, "head", WINDOW_HEADS)
        generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
        self.padding = "circular" if head == "invariant" else "same"
        # He initialisation, as in shiftlab.models.ConvNet.
        self.w1 = nn.Parameter(torch.randn(c_1, 1, 2, 2, generator=generator) * math.sqrt(0.5))
        self.w2 = nn.Parameter(torch.randn(c_2, c_1, 2, 2, generator=generator)
                               * math.sqrt(2 / (4 * c_1)))
        self.b1, self.b2 = nn.Parameter(torch.zeros(c_1)), nn.Parameter(torch.zeros(c_2))
        inputs = 9 * c_2 if head == "flatten" else c_2
        self.head = nn.Linear(inputs, 2)
        with torch.no_grad():
            bound = 1 / math.sqrt(inputs)
            self.head.weight.copy_((torch.rand(2, inputs, generator=generator) * 2 - 1) * bound)
            self.head.bias.zero_()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before the head, ``(N, c_2, 3, 3)``."""
        x = _validate.network_input(x, self)
        if x.shape[1:] != (1, 3, 3):
            raise ValueError(f"x must have shape (N, 1, 3, 3), got {tuple(x.shape)}")
        h = torch.relu(conv2d(x, self.w1, padding=self.padding) + self.b1[:, None, None])
        return torch.relu(conv2d(h, self.w2, padding=self.padding) + self.b2[:, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        if self.head_kind == "flatten":
            return self.head(h.flatten(1))
        if self.head_kind == "invariant":
            return self.head(global_avg_pool(h))
        return self.head(h.movedim(1, -1)).movedim(-1, 1)  # the dense layer at every pixel


__all__ = [
    "NEIGHBOURS",
    "WINDOW_HEADS",
    "LocalMaxNet",
    "WindowNet",
    "centred_windows",
    "detector_scores",
    "difference_filters",
    "hand_built_detector",
    "local_max_map",
    "train_detector",
]
