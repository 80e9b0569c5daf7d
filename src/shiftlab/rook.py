"""The rook experiment of Kayhan & van Gemert (CVPR 2020): can a CNN with a global max pool tell
where an object is?

Two 32 x 32 images hold the same 16 x 13 rook patch ``R``, at the top left (label 0) or at the
bottom right (label 1) of a black canvas; the second is the first translated by ``t = (16, 19)``:

    x_0 = R at (0, 0),    x_1 = T_t x_0,    t = (32 - 16, 32 - 13)

The network has one 5 x 5 filter ``w`` and no bias:

    f(x) = A · max_{i, j} ReLU(w ⋆ x)[i, j] + c          A: (2, 1), c: (2,)

With circular padding or full convolution (``k - 1`` zeros) the feature maps of ``x_0`` and
``x_1`` hold the same multiset of values, so ``f(x_0) = f(x_1)`` for every ``w``: the network
cannot beat 50%. With same padding (2 zeros) the border cuts off different responses in the two
images, and one filter suffices to separate them. ``RookNet`` with more layers (``channels``) is
the bias-free CNN of the quadrant experiment (``shiftlab.quadrant``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from torch import nn

from shiftlab import _validate
from shiftlab.layers import PADDINGS, conv2d, pad

ROOK = "\u265c"
"""♜, BLACK CHESS ROOK: drawn from the DejaVu Sans font that ships with matplotlib."""

PATCH_SHAPE = (16, 13)
"""Rows and columns of the rook patch, as in the paper."""

CANVAS = 32
"""Side of the black canvas, as in the paper."""

LABELS = ("top left", "bottom right")
"""Label 0: the patch at the top left (the paper's class 1); label 1: at the bottom right."""


def rook_patch(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The rook glyph ♜ rasterised to ``PATCH_SHAPE``: ``(16, 13)``, ink 1, background 0.

    The glyph is drawn large (anti-aliased), cropped to its ink and area-averaged down, so the
    ink touches all four sides of the patch, as a tight crop of a photographed rook would.
    """
    _float_dtype(dtype)
    font = FT2Font(font_manager.findfont("DejaVu Sans", fallback_to_default=False))
    font.set_size(200, 72)
    font.set_text(ROOK, 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    bitmap = np.asarray(font.get_image(), dtype=np.float64) / 255.0
    rows, columns = np.nonzero(bitmap)
    ink = bitmap[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    patch = F.interpolate(torch.from_numpy(ink)[None, None], size=PATCH_SHAPE, mode="area")
    return patch[0, 0].clamp(0, 1).to(dtype)


def place(patch: torch.Tensor, size: int, corner: tuple[int, int]) -> torch.Tensor:
    """A black ``(size, size)`` canvas with ``patch``'s top-left pixel at ``corner``."""
    patch = _validate.image_tensor(patch, "patch", ranks=(2,))
    size = _validate.positive_int(size, "size")
    top, left = _validate.offset(corner, "corner")
    height, width = patch.shape
    if not (0 <= top <= size - height and 0 <= left <= size - width):
        raise ValueError(
            f"corner must keep the {height}x{width} patch inside the {size}x{size} canvas, "
            f"got {(top, left)}"
        )
    canvas = torch.zeros(size, size, dtype=patch.dtype)
    canvas[top : top + height, left : left + width] = patch
    return canvas


def corner_pair(patch: torch.Tensor, size: int, border: int = 0) -> torch.Tensor:
    """``patch`` in the top-left and in the bottom-right corner of a black canvas: ``(2, 1, S, S)``.

    The canvas is ``size x size`` with ``border`` more black pixels on all four sides, so
    ``S = size + 2 · border``; image 0 has the patch's top-left pixel at ``(border, border)``,
    image 1 its bottom-right pixel at ``(border + size − 1, border + size − 1)``.
    """
    patch = _validate.image_tensor(patch, "patch", ranks=(2,))
    size = _validate.positive_int(size, "size")
    border = _validate.integer(border, "border")
    if border < 0:
        raise ValueError(f"border must be >= 0, got {border}")
    height, width = patch.shape
    if height > size or width > size:
        raise ValueError(f"size must be at least the patch's sides {tuple(patch.shape)}, "
                         f"got {size}")
    side = size + 2 * border
    far = (border + size - height, border + size - width)
    return torch.stack([place(patch, side, (border, border)), place(patch, side, far)])[:, None]


def rook_images(
    *, border: int = 0, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two images of the experiment and their labels: ``(2, 1, S, S)`` and ``tensor([0, 1])``.

    Image 0 has the rook at the top left of the 32 x 32 canvas, image 1 at the bottom right;
    ``border`` black pixels are added on all four sides, so ``S = 32 + 2 · border``.
    """
    return corner_pair(rook_patch(dtype), CANVAS, border), torch.tensor([0, 1])


def pooled_features(weight: torch.Tensor, images: torch.Tensor, padding: str) -> torch.Tensor:
    """``max_{i,j} ReLU(w_f ⋆ x_n)[i, j]`` for a bank of filters: ``(F, N)``.

    weight: ``(F, 1, k, k)``, one filter per row; images: ``(N, 1, H, W)``.
    """
    weight = _validate.image_tensor(weight, "weight", ranks=(4,))
    images = _validate.image_tensor(images, "images", ranks=(4,))
    return torch.relu(conv2d(images, weight, padding=padding)).amax(dim=(-2, -1)).T


@dataclass(frozen=True)
class RookNetConfig:
    """A bias-free CNN: ``[conv k x k (padding) → ReLU] × L → global max pool → linear``.

    The default is the paper's network: one 5 x 5 filter with same padding.
    """

    channels: tuple[int, ...] = (1,)
    kernel_size: int = 5
    padding: str = "same"
    classes: int = 2
    in_channels: int = 1

    def __post_init__(self) -> None:
        if (not isinstance(self.channels, tuple) or not self.channels
                or not all(isinstance(c, int) and c > 0 for c in self.channels)):
            raise ValueError(f"channels must be a tuple of positive ints, got {self.channels!r}")
        if _validate.positive_int(self.kernel_size, "kernel_size") % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        _validate.one_of(self.padding, "padding", PADDINGS)
        _validate.positive_int(self.classes, "classes")
        _validate.positive_int(self.in_channels, "in_channels")

    @property
    def receptive_radius(self) -> int:
        """How far one output pixel sees: ``r = L · (k - 1) / 2`` (a ``(2r + 1)²`` field)."""
        return len(self.channels) * (self.kernel_size - 1) // 2


class RookNet(nn.Module):
    """``forward(x) = A · max_{i,j} features(x)[:, :, i, j] + c`` for ``x: (N, C, H, W)``.

    Weights are drawn as PyTorch draws them by default (uniform, ``±1/√fan_in``), from a
    seeded generator: the same config and seed give the same network.
    """

    def __init__(self, config: RookNetConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        self.config = config or RookNetConfig()
        generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
        k = self.config.kernel_size
        widths = (self.config.in_channels, *self.config.channels)
        self.weights = nn.ParameterList(
            nn.Parameter(_uniform((c_out, c_in, k, k), c_in * k * k, generator))
            for c_in, c_out in itertools.pairwise(widths)
        )
        self.head = nn.Linear(widths[-1], self.config.classes)
        with torch.no_grad():
            self.head.weight.copy_(_uniform(self.head.weight.shape, widths[-1], generator))
            self.head.bias.copy_(_uniform(self.head.bias.shape, widths[-1], generator))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before the pool: ``(N, channels[-1], H', W')``, all ``>= 0``."""
        x = _validate.image_tensor(x, ranks=(4,))
        for weight in self.weights:
            x = torch.relu(conv2d(x, weight, padding=self.config.padding))
        return x

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The global max pool of the features: ``(N, channels[-1])``."""
        return self.features(x).amax(dim=(-2, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits): ``(N, classes)``."""
        return self.head(self.pooled(x))


@contextmanager
def single_thread() -> Iterator[None]:
    """Run the enclosed PyTorch code on one thread, then restore the thread count.

    The experiments of this chapter are thousands of operations on tensors of a few thousand
    numbers. Splitting each over several threads costs more than it saves, and on a machine whose
    cores are busy it makes them ten times slower; one thread also makes the rounding independent
    of the machine's core count.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _uniform(shape: tuple[int, ...] | torch.Size, fan_in: int,
             generator: torch.Generator) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def _float_dtype(dtype: object) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")


@dataclass
class RookRuns:
    """The training history of several one-filter ``RookNet``s, one per seed.

    ``filters[e, r]`` is the 5 x 5 filter of run ``r`` after epoch ``e`` (``e = 0``: at
    initialisation), ``heads[e, r]`` its ``(A, c)`` as a ``(2, 2)`` tensor ``[A | c]``,
    ``pooled[e, r, n]`` the pooled feature of image ``n`` and ``accuracy[e, r]`` the fraction of
    the two images classified right.
    """

    padding: str
    seeds: tuple[int, ...]
    filters: torch.Tensor = field(repr=False)
    heads: torch.Tensor = field(repr=False)
    pooled: torch.Tensor = field(repr=False)
    accuracy: torch.Tensor = field(repr=False)

    def net(self, run: int, epoch: int = -1) -> RookNet:
        """The ``RookNet`` of run ``run`` after ``epoch`` (default: the last)."""
        net = RookNet(RookNetConfig(padding=self.padding))
        with torch.no_grad():
            net.weights[0].copy_(self.filters[epoch, run][None, None])
            net.head.weight.copy_(self.heads[epoch, run][:, :1])
            net.head.bias.copy_(self.heads[epoch, run][:, 1])
        return net


def train_rook_runs(
    padding: str,
    seeds: tuple[int, ...] | list[int] = (0, 1, 2, 3, 4),
    *,
    epochs: int = 100,
    lr: float = 0.1,
    momentum: float = 0.9,
    border: int = 0,
) -> RookRuns:
    """Train one ``RookNet`` per seed on the two rook images; return the history.

    The paper's recipe: SGD with momentum, batch size 1 (one image per step, in a random order
    every epoch), cross-entropy. Run ``r`` starts from ``RookNet(seed=seeds[r])`` and visits the
    images in the order of ``shiftlab.training.train(..., batch_size=1, seed=seeds[r])``, so it
    is that call; ``train_rook_experiment`` computes all runs at once.
    """
    return train_rook_experiment((padding,), seeds, epochs=epochs, lr=lr, momentum=momentum,
                                 border=border)[padding]


def train_rook_experiment(
    paddings: tuple[str, ...] | list[str],
    seeds: tuple[int, ...] | list[int] = (0, 1, 2, 3, 4),
    *,
    epochs: int = 100,
    lr: float = 0.1,
    momentum: float = 0.9,
    border: int = 0,
) -> dict[str, RookRuns]:
    """``train_rook_runs`` for every padding, all runs in one computation: ``{padding: runs}``.

    Each step multiplies every 5 x 5 window of the image each run sees with that run's filter:
    one batched matrix product for all paddings and seeds. The momentum update is
    ``torch.optim.SGD``'s, ``v ← μ v + ∇L``, ``θ ← θ − lr · v``, written out: ``torch.optim``
    imports its compiler on first use, which takes longer than all these runs.
    """
    if isinstance(paddings, str) or not paddings:
        raise ValueError(f"paddings must be a non-empty list of padding names, got {paddings!r}")
    for padding in paddings:
        _validate.one_of(padding, "paddings[k]", PADDINGS)
    seeds = tuple(_validate.integer(s, "seeds[k]") for s in seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    epochs = _validate.positive_int(epochs, "epochs")
    lr = _validate.non_negative_float(lr, "lr")
    momentum = _validate.non_negative_float(momentum, "momentum")
    with single_thread():
        history = _train(tuple(paddings), seeds, epochs, lr, momentum, border)
    n = len(seeds)
    return {p: RookRuns(p, seeds, *(v[:, k * n : (k + 1) * n] for v in history))
            for k, p in enumerate(paddings)}


def _windows(images: torch.Tensor, paddings: tuple[str, ...]) -> torch.Tensor:
    """Every 5 x 5 window of each padded image as a row: ``(P, 2, L, 25)``.

    Paddings give different numbers of windows; the shorter lists repeat their first window,
    which changes no maximum.
    """
    rows = [F.unfold(pad(images, (5, 5), p), 5).transpose(1, 2) for p in paddings]
    longest = max(r.shape[1] for r in rows)
    return torch.stack([torch.cat([r, r[:, :1].expand(-1, longest - r.shape[1], -1)], dim=1)
                        for r in rows])


def _train(paddings: tuple[str, ...], seeds: tuple[int, ...], epochs: int, lr: float,
           momentum: float, border: int) -> list[torch.Tensor]:
    """Runs ``k · len(seeds) + s`` is padding ``k``, seed ``s``; returns the stacked history."""
    images, labels = rook_images(border=border)
    nets = [RookNet(RookNetConfig(padding=p), seed=s) for p in paddings for s in seeds]
    runs = len(nets)
    windows = _windows(images, paddings)
    of_run = torch.arange(len(paddings)).repeat_interleave(len(seeds))  # padding of each run
    # Run r's filter is row r of a (R, 25) matrix, its head row r of A and c.
    filters = torch.stack([n.weights[0].detach().reshape(25) for n in nets]).requires_grad_()
    scale = torch.stack([n.head.weight.detach()[:, 0] for n in nets]).requires_grad_()
    offset = torch.stack([n.head.bias.detach() for n in nets]).requires_grad_()
    params = [filters, scale, offset]
    velocities = [torch.zeros_like(p) for p in params]
    orders = [torch.Generator().manual_seed(s) for _ in paddings for s in seeds]
    history: list[list[torch.Tensor]] = [[], [], [], []]

    def record() -> None:
        with torch.no_grad():
            responses = windows[of_run] @ filters[:, None, :, None]  # (R, 2, L, 1)
            pooled = torch.relu(responses[..., 0]).amax(dim=-1)  # (R, 2)
            logits = scale[:, None, :] * pooled[:, :, None] + offset[:, None, :]  # (R, 2, 2)
        history[0].append(filters.detach().reshape(runs, 5, 5).clone())
        history[1].append(torch.stack([scale.detach(), offset.detach()], dim=-1).clone())
        history[2].append(pooled)
        history[3].append((logits.argmax(-1) == labels).double().mean(-1))

    record()
    for _ in range(epochs):
        order = torch.stack([torch.randperm(2, generator=g) for g in orders])  # (R, 2)
        for step in range(2):
            pick = order[:, step]  # the image each run sees in this step
            responses = windows[of_run, pick] @ filters[:, :, None]  # (R, L, 1)
            pooled = torch.relu(responses[..., 0]).amax(dim=-1)
            logits = scale * pooled[:, None] + offset
            # Summing the runs' losses gives each run exactly its own gradient.
            loss = F.cross_entropy(logits, labels[pick], reduction="sum")
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():  # torch.optim.SGD's update, written out (see the docstring)
                for p, v, g in zip(params, velocities, grads, strict=True):
                    v.mul_(momentum).add_(g)
                    p.add_(v, alpha=-lr)
        record()
    return [torch.stack(v) for v in history]


PAPER_SAME_RUNS = (5, 5)
"""Kayhan & van Gemert (2020): same convolution classifies both rook images correctly in 5 of 5
runs."""
