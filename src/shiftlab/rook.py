"""The rook experiment of Kayhan & van Gemert (CVPR 2020): can a CNN with a global max pool tell
where an object is?

Two 32 x 32 images hold the same 16 x 13 rook patch ``R``, at the top left (label 0) or at the
bottom right (label 1) of a black canvas; the second is the zero-fill translation (``Z_t`` of
chapter 1) of the first by ``t = (16, 19)``:

    x_0 = R at (0, 0),    x_1 = Z_t x_0,    t = (32 - 16, 32 - 13)

The network has one 5 x 5 filter ``w`` and no bias:

    f(x) = A · max_{i, j} ReLU(w ⋆ x)[i, j] + c          A: (2, 1), c: (2,)

With circular padding or full convolution (``k - 1`` zeros) the feature maps of ``x_0`` and
``x_1`` hold the same multiset of values, so ``f(x_0) = f(x_1)`` for every ``w``: the network
cannot beat 50%. With same padding (2 zeros) the border cuts off different responses in the two
images, and one filter suffices to separate them; training finds such a filter in most runs,
and in the others the filter dies (its ReLU stops firing on both images). ``RookNet`` with more
layers (``channels``) is the CNN of the quadrant experiment (``shiftlab.quadrant``), bias-free
unless configured with ``bias=True``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from torch import nn

from shiftlab import _validate
from shiftlab.layers import PADDINGS, conv2d
from shiftlab.training import train_runs

ROOK = "\u265c"
"""♜, BLACK CHESS ROOK: drawn from the DejaVu Sans font that ships with matplotlib."""

PATCH_SHAPE = (16, 13)
"""Rows and columns of the rook patch, as in the paper."""

CANVAS = 32
"""Side of the black canvas, as in the paper."""

MAX_SIDE = 4096
"""The largest canvas side (and border) of ``place`` and ``corner_pair``."""

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
    size = _validate.positive_int(size, "size", high=MAX_SIDE)
    top, left = _validate.offset(corner, "corner")
    height, width = patch.shape
    if not (0 <= top <= size - height and 0 <= left <= size - width):
        raise ValueError(
            f"corner must keep the {height}x{width} patch inside the {size}x{size} canvas, "
            f"got {(top, left)}"
        )
    canvas = torch.zeros(size, size, dtype=patch.dtype, device=patch.device)
    canvas[top : top + height, left : left + width] = patch
    return canvas


def corner_pair(patch: torch.Tensor, size: int, border: int = 0) -> torch.Tensor:
    """``patch`` in the top-left and in the bottom-right corner of a black canvas: ``(2, 1, S, S)``.

    The canvas is ``size x size`` with ``border`` more black pixels on all four sides, so
    ``S = size + 2 · border``; image 0 has the patch's top-left pixel at ``(border, border)``,
    image 1 its bottom-right pixel at ``(border + size − 1, border + size − 1)``.
    """
    patch = _validate.image_tensor(patch, "patch", ranks=(2,))
    size = _validate.positive_int(size, "size", high=MAX_SIDE)
    border = _validate.non_negative_int(border, "border", high=MAX_SIDE)
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
    border = _validate.non_negative_int(border, "border", high=MAX_SIDE)
    return corner_pair(rook_patch(dtype), CANVAS, border), torch.tensor([0, 1])


def pooled_features(weight: torch.Tensor, images: torch.Tensor, padding: str) -> torch.Tensor:
    """``max_{i,j} ReLU(w_f ⋆ x_n)[i, j]`` for a bank of filters: ``(F, N)``.

    weight: ``(F, 1, k, k)``, one filter per row; images: ``(N, 1, H, W)``.
    """
    weight = _validate.image_tensor(weight, "weight", ranks=(4,))
    images = _validate.image_tensor(images, "images", ranks=(4,))
    if images.dtype != weight.dtype or images.device != weight.device:
        raise TypeError(f"images must have the dtype and device of weight, {weight.dtype} on "
                        f"{weight.device}, got {images.dtype} on {images.device}")
    return torch.relu(conv2d(images, weight, padding=padding)).amax(dim=(-2, -1)).T


@dataclass(frozen=True)
class RookNetConfig:
    """A CNN ``[conv k x k (padding) (+ bias) → ReLU] × L → global max pool → linear``.

    The default is the paper's network: one 5 x 5 filter with same padding and no bias.
    """

    channels: tuple[int, ...] = (1,)
    kernel_size: int = 5
    padding: str = "same"
    classes: int = 2
    in_channels: int = 1
    bias: bool = False  # a bias in every conv layer: black is then not 0 inside the network

    def __post_init__(self) -> None:
        if not isinstance(self.channels, tuple) or not self.channels:
            raise ValueError(f"channels must be a non-empty tuple of ints, got "
                             f"{self.channels!r}")
        if len(self.channels) > 64:
            raise ValueError(f"channels must have at most 64 layers, got {len(self.channels)}")
        for i, c in enumerate(self.channels):
            _validate.positive_int(c, f"channels[{i}]", high=1024)
        if _validate.positive_int(self.kernel_size, "kernel_size", high=63) % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        _validate.one_of(self.padding, "padding", PADDINGS)
        _validate.positive_int(self.classes, "classes", high=1024)
        _validate.positive_int(self.in_channels, "in_channels", high=1024)
        _validate.boolean(self.bias, "bias")

    @property
    def receptive_radius(self) -> int:
        """How far one output pixel sees: ``r = L · (k - 1) / 2`` (a ``(2r + 1)²`` field)."""
        return len(self.channels) * (self.kernel_size - 1) // 2


class RookNet(nn.Module):
    """``forward(x) = A · max_{i,j} features(x)[:, :, i, j] + c`` for ``x: (N, C, H, W)``.

    Weights (and biases) are drawn as PyTorch draws them by default (uniform, ``±1/√fan_in``),
    from a seeded generator: the same config and seed give the same network.
    """

    def __init__(self, config: RookNetConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        if config is not None and not isinstance(config, RookNetConfig):
            raise TypeError(f"config must be a RookNetConfig or None, got {type(config).__name__}")
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
        # drawn last, so that a network with biases has the weights of the one without
        self.biases = nn.ParameterList(
            nn.Parameter(_uniform((c_out,), c_in * k * k, generator))
            for c_in, c_out in itertools.pairwise(widths)
        ) if self.config.bias else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before the pool: ``(N, channels[-1], H', W')``, all ``>= 0``."""
        x = _validate.network_input(x, self)
        if x.shape[1] != self.config.in_channels:
            raise ValueError(f"x must have in_channels = {self.config.in_channels} channels "
                             f"(axis 1), got shape {tuple(x.shape)}")
        for layer, weight in enumerate(self.weights):
            x = conv2d(x, weight, padding=self.config.padding)
            if self.biases is not None:
                x = x + self.biases[layer][:, None, None]
            x = torch.relu(x)
        return x

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The global max pool of the features: ``(N, channels[-1])``."""
        return self.features(x).amax(dim=(-2, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits): ``(N, classes)``."""
        return self.head(self.pooled(x))


def _uniform(shape: tuple[int, ...] | torch.Size, fan_in: int,
             generator: torch.Generator) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def _float_dtype(dtype: object) -> None:
    _validate.float_dtype(dtype)


ORDERS = ("fixed", "shuffled")
"""How the two images are fed to the network, one per step. ``"fixed"``: the top-left image then
the bottom-right one in every epoch, as the authors' notebook does (its data loader has
``shuffle=False``); ``"shuffled"``: a new random order in every epoch."""

SEEDS = tuple(range(50))
"""The seeds of the chapter's runs: fifty per padding and order."""


@dataclass
class RookRuns:
    """The training history of one-filter ``RookNet``s, one run per seed, all with one padding
    and one order of the images.

    ``filters[e, r]`` is the 5 x 5 filter of run ``r`` after epoch ``e`` (``e = 0``: at
    initialisation), ``heads[e, r]`` its ``(A, c)`` as a ``(2, 2)`` tensor ``[A | c]``,
    ``pooled[e, r, n]`` the pooled feature of image ``n`` and ``accuracy[e, r]`` the fraction of
    the two images classified right.
    """

    padding: str
    order: str
    seeds: tuple[int, ...]
    filters: torch.Tensor = field(repr=False)
    heads: torch.Tensor = field(repr=False)
    pooled: torch.Tensor = field(repr=False)
    accuracy: torch.Tensor = field(repr=False)

    def __post_init__(self) -> None:
        _validate.one_of(self.padding, "padding", PADDINGS)
        _validate.one_of(self.order, "order", ORDERS)
        if not isinstance(self.seeds, tuple):
            raise TypeError(f"seeds must be a tuple of ints, got {self.seeds!r}")
        for seed in self.seeds:
            _validate.integer(seed, "seeds[k]")
        for name in ("filters", "heads", "pooled", "accuracy"):
            value = getattr(self, name)
            if not isinstance(value, torch.Tensor) or value.dim() < 2:
                raise TypeError(f"{name} must be a tensor (epochs + 1, runs, ...), got "
                                f"{value!r:.60}")

    def net(self, run: int, epoch: int = -1) -> RookNet:
        """The ``RookNet`` of run ``run`` after ``epoch`` (default: the last)."""
        runs, epochs = self.filters.shape[1], self.filters.shape[0]
        run = _validate.integer(run, "run")
        if not 0 <= run < runs:
            raise ValueError(f"run must lie in 0 ... {runs - 1}, got {run}")
        epoch = _validate.integer(epoch, "epoch")
        if not -epochs <= epoch < epochs:
            raise ValueError(f"epoch must lie in -{epochs} ... {epochs - 1}, got {epoch}")
        net = RookNet(RookNetConfig(padding=self.padding))
        with torch.no_grad():
            net.weights[0].copy_(self.filters[epoch, run][None, None])
            net.head.weight.copy_(self.heads[epoch, run][:, :1])
            net.head.bias.copy_(self.heads[epoch, run][:, 1])
        return net

    def perfect(self) -> torch.Tensor:
        """Which runs end with both images classified right: ``(R,)`` bool."""
        return self.accuracy[-1] == 1

    def dead(self) -> torch.Tensor:
        """Which runs end with a *dead filter*, one whose ReLU fires on neither image (both
        pooled features 0): ``(R,)`` bool. Its gradient is 0, so it never recovers."""
        return (self.pooled[-1] == 0).all(dim=-1)

    def died(self) -> torch.Tensor:
        """The first epoch from which the filter of each run stays dead: ``(R,)``, ``-1`` for
        the runs whose filter fires at the end."""
        alive = (self.pooled > 0).any(dim=-1)  # (E + 1, R)
        epochs = torch.arange(len(alive), device=alive.device)[:, None]
        last_alive = torch.where(alive, epochs, -1).amax(dim=0)
        return torch.where(self.dead(), last_alive + 1, -1)


def train_rook_runs(
    padding: str,
    seeds: tuple[int, ...] | list[int] | range = SEEDS,
    *,
    order: str = "fixed",
    epochs: int = 100,
    lr: float = 0.1,
    momentum: float = 0.9,
    border: int = 0,
) -> RookRuns:
    """Train one ``RookNet`` per seed on the two rook images, all at once; return the history.

    The paper's recipe: SGD with momentum, batch size 1 (one image per step), cross-entropy,
    ``order`` one of ``ORDERS``. Run ``r`` is ``shiftlab.training.train(RookNet(seed=s), ...,
    batch_size=1, seed=s, shuffle=(order == "shuffled"))`` with ``s = seeds[r]``; all runs are
    computed together by ``shiftlab.training.train_runs``.
    """
    _validate.one_of(padding, "padding", PADDINGS)
    _validate.one_of(order, "order", ORDERS)
    if isinstance(seeds, str) or not isinstance(seeds, tuple | list | range):
        raise TypeError(f"seeds must be a tuple, list or range of ints, got {seeds!r}")
    images, labels = rook_images(border=border)
    config = RookNetConfig(padding=padding)
    runs = train_runs(lambda s: RookNet(config, seed=s), list(seeds), images, labels,
                      epochs=epochs, lr=lr, batch_size=1, momentum=momentum,
                      shuffle=order == "shuffled", history=True)
    snapshots = runs.snapshots or []
    filters = torch.stack([p["weights.0"][:, 0, 0] for p in snapshots])  # (E + 1, R, 5, 5)
    heads = torch.stack([torch.cat([p["head.weight"], p["head.bias"][..., None]], dim=-1)
                         for p in snapshots])  # (E + 1, R, 2, 2)
    bank = filters.reshape(-1, 1, *filters.shape[-2:])
    pooled = pooled_features(bank, images, padding).reshape(*filters.shape[:2], -1)
    logits = heads[..., None, :, 0] * pooled[..., None] + heads[..., None, :, 1]
    accuracy = (logits.argmax(-1) == labels).double().mean(-1)
    return RookRuns(padding, order, runs.seeds, filters, heads, pooled, accuracy)


def train_rook_experiment(
    paddings: tuple[str, ...] | list[str],
    seeds: tuple[int, ...] | list[int] | range = SEEDS,
    *,
    orders: tuple[str, ...] | list[str] = ORDERS,
    epochs: int = 100,
    lr: float = 0.1,
    momentum: float = 0.9,
) -> dict[tuple[str, str], RookRuns]:
    """``train_rook_runs`` for every padding and order: ``{(padding, order): runs}``."""
    if isinstance(paddings, str) or not isinstance(paddings, tuple | list):
        raise ValueError(f"paddings must be a tuple or list of padding names, got {paddings!r}")
    if not paddings:
        raise ValueError(f"paddings must be a non-empty list of padding names, got {paddings!r}")
    if isinstance(orders, str) or not isinstance(orders, tuple | list):
        raise ValueError(f"orders must be a tuple or list of {ORDERS}, got {orders!r}")
    if not orders:
        raise ValueError(f"orders must be a non-empty list of {ORDERS}, got {orders!r}")
    if isinstance(seeds, str) or not isinstance(seeds, tuple | list | range):
        raise TypeError(f"seeds must be a tuple, list or range of ints, got {seeds!r}")
    for padding in paddings:
        _validate.one_of(padding, "paddings[k]", PADDINGS)
    for order in orders:
        _validate.one_of(order, "orders[k]", ORDERS)
    return {(p, o): train_rook_runs(p, seeds, order=o, epochs=epochs, lr=lr, momentum=momentum)
            for p in paddings for o in orders}


PAPER_SAME_RUNS = (5, 5)
"""Kayhan & van Gemert (2020): same convolution classifies both rook images correctly in 5 of 5
runs (the authors' notebook, seeds 0-4, fixed order)."""

NOTEBOOK_RERUN = {"fixed": (17, 20), "shuffled": (15, 20)}
"""The authors' own notebook and rook images, rerun by us over seeds 0-19 (PyTorch 2.13, CPU):
runs at 100% in the notebook's fixed order, and with its data loader set to ``shuffle=True``.
Not computed here: their images are not part of the course (nothing is downloaded)."""
