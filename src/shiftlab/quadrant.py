"""The quadrant experiment in miniature: how far from the border can a CNN still tell where?

Kayhan & van Gemert paste a photograph into the top-left or the bottom-right quadrant of a black
canvas (two classes) and add ``b`` black pixels on all four sides. Here the photographs are
small crops of matplotlib's sample photograph, train crops from its left half and test crops
from its right half (disjoint pixels), each pasted in both quadrants:

    x_0 = patch at (b, b),   x_1 = patch at (b + C - P, b + C - P),   side S = C + 2b

The network is ``rook.RookNet`` with ``L`` ``k x k`` layers, whose output pixels see
``r = L (k - 1) / 2`` pixels in every direction. Without biases black stays black in every layer,
so zero padding is just more black: the border matters only by cutting off responses that would
fall outside the image. From ``b >= r`` on, nothing is cut, the feature maps of ``x_0`` and
``x_1`` hold the same values, and no read-out can beat 50%. With biases black is not 0 inside
the network and the border is seen ``r`` pixels inwards, while the photograph is seen ``r``
pixels outwards: the two meet while ``b < 2r``, and from ``b >= 2r`` on the values agree again.
Full convolution cuts nothing for any ``b``, without biases. Every accuracy is measured over
several seeds (``seeds``), each a network trained from scratch or a frozen random one.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

from shiftlab import _validate
from shiftlab.data import sample_image
from shiftlab.layers import PADDINGS
from shiftlab.rook import RookNet, RookNetConfig, corner_pair
from shiftlab.training import train_runs

PATCH = 6
"""Side of a photograph crop."""

CANVAS = 2 * PATCH
"""Side of the canvas before the border: the crop fills one quadrant."""

SPLITS = ("train", "test")

MAX_SIDE = 4096
"""The largest photograph, crop, canvas or border side."""


def photo_patches(
    n: int, *, split: str = "train", size: int = PATCH, photo_size: int = 96, seed: int = 0
) -> torch.Tensor:
    """``n`` random ``size x size`` crops of the sample photograph: ``(n, size, size)``.

    The photograph (``data.sample_image(photo_size)``) is split down the middle: ``"train"``
    crops come from its left half, ``"test"`` crops from its right half, so no pixel is in both.
    """
    n = _validate.positive_int(n, "n", high=100_000)
    _validate.one_of(split, "split", SPLITS)
    size = _validate.positive_int(size, "size", high=MAX_SIDE)
    photo = sample_image(_validate.positive_int(photo_size, "photo_size", high=MAX_SIDE))
    half = photo.shape[1] // 2
    if size > half:
        raise ValueError(f"size must fit in half the photograph ({half} columns), got {size}")
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    top = torch.randint(0, photo.shape[0] - size + 1, (n,), generator=generator)
    left = torch.randint(0, half - size + 1, (n,), generator=generator)
    left = left + (half if split == "test" else 0)
    return torch.stack([photo[i : i + size, j : j + size]
                        for i, j in zip(top.tolist(), left.tolist(), strict=True)])


def quadrant_images(
    patches: torch.Tensor, *, border: int = 0, canvas: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each patch in the top-left quadrant (label 0) and in the bottom-right one (label 1).

    patches: ``(n, P, P)``; returns images ``(2n, 1, S, S)`` with ``S = canvas + 2 · border``
    (``canvas`` defaults to ``2P``) and labels ``(2n,)``: the ``n`` top-left images first.
    """
    patches = _square_patches(patches, "patches")
    border = _validate.non_negative_int(border, "border", high=MAX_SIDE)
    side = patches.shape[-1]
    canvas = 2 * side if canvas is None else _validate.positive_int(canvas, "canvas",
                                                                     high=MAX_SIDE)
    if len(patches) * 2 * (canvas + 2 * border) ** 2 > 2**26:
        raise ValueError(f"border makes {2 * len(patches)} images of side "
                         f"{canvas + 2 * border}: more than {2**26} pixels, got {border}")
    if canvas < side:
        raise ValueError(f"canvas must be at least the patch side {side}, got {canvas}")
    pairs = torch.stack([corner_pair(p, canvas, border) for p in patches])  # (n, 2, 1, S, S)
    labels = torch.arange(2).repeat_interleave(len(patches))
    return pairs.transpose(0, 1).flatten(0, 1), labels


def _square_patches(patches: torch.Tensor, name: str) -> torch.Tensor:
    patches = _validate.image_tensor(patches, name, ranks=(3,))
    if patches.shape[-2] != patches.shape[-1]:
        raise ValueError(f"{name} must be square, (n, P, P), got shape {tuple(patches.shape)}")
    return patches


def _feature_matrix(value: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (n, d), got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {value.dtype}")
    if value.dim() != 2 or value.numel() == 0:
        raise ValueError(f"{name} must be a non-empty matrix (n, d), got shape "
                         f"{tuple(value.shape)}")
    return _validate.finite_values(value, name)


def linear_readout(
    train_features: torch.Tensor, train_labels: torch.Tensor, test_features: torch.Tensor,
    *, ridge: float = 1e-3,
) -> torch.Tensor:
    """Fit a linear read-out by least squares, predict the test labels: ``(n_test,)``.

    Features ``(n, d)`` are standardised with the training statistics; ``w`` minimises
    ``‖[F 1] w − y‖² + ridge · n ‖w‖²`` with ``y = ±1``; the prediction is ``[w · f > 0]``.
    Equal features give equal predictions, whatever the fit.
    """
    train_features = _feature_matrix(train_features, "train_features").double()
    test_features = _feature_matrix(test_features, "test_features").double()
    if len(train_features) < 2:
        raise ValueError(f"train_features must have at least 2 rows (they are standardised), "
                         f"got {len(train_features)}")
    if test_features.shape[1] != train_features.shape[1]:
        raise ValueError(f"test_features must have the {train_features.shape[1]} columns of "
                         f"train_features, got shape {tuple(test_features.shape)}")
    train_labels = _validate.label_tensor(train_labels, "train_labels", len(train_features))
    if _validate.readable(train_labels) and int(train_labels.max()) > 1:
        raise ValueError(f"train_labels must be 0 or 1, got {int(train_labels.max())}")
    for name, value in (("train_labels", train_labels), ("test_features", test_features)):
        if value.device != train_features.device:
            raise ValueError(f"{name} must be on the device of train_features, "
                             f"{train_features.device}, got {value.device}")
    ridge = _validate.non_negative_float(ridge, "ridge")
    device = train_features.device
    mean, spread = train_features.mean(0), train_features.std(0) + 1e-12

    def design(features: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(len(features), 1, dtype=torch.float64, device=device)
        return torch.cat([(features - mean) / spread, ones], dim=1)

    a = design(train_features)
    targets = 2.0 * train_labels.double() - 1
    gram = a.T @ a + ridge * len(a) * torch.eye(a.shape[1], dtype=torch.float64, device=device)
    weights = torch.linalg.solve(gram, a.T @ targets)
    return (design(test_features) @ weights > 0).long()


@dataclass
class BorderSweep:
    """Test accuracy over border widths and seeds: ``accuracy[training][padding][k, j]`` at
    ``borders[k]`` for the network built from ``seeds[j]``.

    ``training`` is ``"from scratch"`` (every weight trained) or ``"frozen random"`` (random
    convolutions, only a linear read-out trained); ``config`` is the network (its padding is
    replaced by each of ``paddings``).
    """

    borders: tuple[int, ...]
    paddings: tuple[str, ...]
    config: RookNetConfig
    seeds: tuple[int, ...]
    accuracy: dict[str, dict[str, torch.Tensor]]

    def __post_init__(self) -> None:
        for name in ("borders", "seeds"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                raise TypeError(f"{name} must be a tuple of ints, got {value!r}")
            for item in value:
                _validate.integer(item, f"{name}[k]")
        if not isinstance(self.paddings, tuple):
            raise TypeError(f"paddings must be a tuple of padding names, got {self.paddings!r}")
        for padding in self.paddings:
            _validate.one_of(padding, "paddings[k]", PADDINGS)
        if not isinstance(self.config, RookNetConfig):
            raise TypeError(f"config must be a RookNetConfig, got {type(self.config).__name__}")
        if not isinstance(self.accuracy, dict) or not all(
                isinstance(v, dict) and all(isinstance(t, torch.Tensor) for t in v.values())
                for v in self.accuracy.values()):
            raise TypeError(f"accuracy must be a dict {{training: {{padding: tensor}}}}, got "
                            f"{type(self.accuracy).__name__}")

    def mean(self, training: str, padding: str) -> torch.Tensor:
        """The mean accuracy over the seeds at every border: ``(len(borders),)``."""
        return self._runs(training, padding).mean(dim=1)

    def spread(self, training: str, padding: str) -> torch.Tensor:
        """The standard deviation over the seeds at every border: ``(len(borders),)``."""
        runs = self._runs(training, padding)
        if runs.shape[1] < 2:
            raise ValueError(f"seeds must be at least 2 for a spread, the sweep has "
                             f"{runs.shape[1]}")
        return runs.std(dim=1)

    def _runs(self, training: str, padding: str) -> torch.Tensor:
        _validate.one_of(training, "training", tuple(self.accuracy))
        _validate.one_of(padding, "padding", tuple(self.accuracy[training]))
        return self.accuracy[training][padding]


TRAININGS = ("from scratch", "frozen random")


def border_sweep(
    borders: Sequence[int],
    paddings: Sequence[str] = ("same", "full"),
    *,
    config: RookNetConfig | None = None,
    train_patches: torch.Tensor,
    test_patches: torch.Tensor,
    steps: int = 40,
    lr: float = 0.05,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    progress: Callable[..., Iterable] | None = None,
) -> BorderSweep:
    """Train and test at every border width and padding, for every seed.

    For each ``(padding, b)``: the networks ``RookNet(config, seed=s)`` trained from scratch
    (full-batch Adam for ``steps`` steps, all seeds at once with ``training.train_runs``), and
    the same networks frozen at their random start with a ``linear_readout`` on their pooled
    features. ``progress``, if given, wraps the loop over the settings, e.g.
    ``shiftlab.book.progress.progress`` for a progress bar: it is called as
    ``progress(settings, desc=..., unit=...)`` and must yield the settings in order.
    """
    for name, value in (("borders", borders), ("paddings", paddings), ("seeds", seeds)):
        if isinstance(value, str) or not isinstance(value, Sequence | range):
            raise TypeError(f"{name} must be a sequence, got {type(value).__name__} {value!r}")
    borders = tuple(_validate.non_negative_int(b, "borders[k]", high=MAX_SIDE) for b in borders)
    if not borders:
        raise ValueError(f"borders must be a non-empty list of ints >= 0, got {borders}")
    paddings = tuple(paddings)
    if not paddings:
        raise ValueError("paddings must not be empty")
    for padding in paddings:
        _validate.one_of(padding, "paddings[k]", PADDINGS)
    seeds = tuple(_validate.integer(s, "seeds[k]") for s in seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    steps = _validate.positive_int(steps, "steps", high=100_000)
    _validate.non_negative_float(lr, "lr")
    if config is not None and not isinstance(config, RookNetConfig):
        raise TypeError(f"config must be a RookNetConfig or None, got {type(config).__name__}")
    train_patches = _square_patches(train_patches, "train_patches")
    test_patches = _square_patches(test_patches, "test_patches")
    for name, patches in (("train_patches", train_patches), ("test_patches", test_patches)):
        if patches.dtype != torch.float32 or patches.device.type != "cpu":
            raise TypeError(f"{name} must be float32 on the CPU, like the weights of the "
                            f"RookNets trained here, got {patches.dtype} on {patches.device}")
    if train_patches.shape[1:] != test_patches.shape[1:]:
        raise ValueError(f"test_patches must have the patch size of train_patches, "
                         f"{tuple(train_patches.shape[1:])}, got {tuple(test_patches.shape[1:])}")
    if len(train_patches) * 2 * (2 * train_patches.shape[-1] + 2 * max(borders)) ** 2 > 2**26:
        raise ValueError(f"borders up to {max(borders)} make the training images larger than "
                         f"{2**26} pixels in all: use smaller borders")
    config = config or RookNetConfig(channels=(4, 4, 8), kernel_size=3)
    accuracy: dict[str, dict[str, list[torch.Tensor]]] = {t: {p: [] for p in paddings}
                                                         for t in TRAININGS}
    runs = [(p, b) for p in paddings for b in borders]
    if progress is not None:
        runs = _validate.function(progress, "progress")(runs, desc="border sweep", unit="setting")
    for padding, border in runs:
        net_config = dataclasses.replace(config, padding=padding)
        scratch, frozen = _accuracies(net_config, border, train_patches, test_patches,
                                      steps=steps, lr=lr, seeds=seeds)
        accuracy["from scratch"][padding].append(scratch)
        accuracy["frozen random"][padding].append(frozen)
    stacked = {t: {p: torch.stack(v) for p, v in by_padding.items()}
               for t, by_padding in accuracy.items()}
    return BorderSweep(borders, paddings, config, seeds, stacked)


def _accuracies(config: RookNetConfig, border: int, train_patches: torch.Tensor,
                test_patches: torch.Tensor, *, steps: int, lr: float,
                seeds: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Test accuracy of the networks trained from scratch and of the frozen random ones,
    one per seed: two ``(len(seeds),)`` tensors."""
    x_train, y_train = quadrant_images(train_patches, border=border)
    x_test, y_test = quadrant_images(test_patches, border=border)
    runs = train_runs(lambda s: RookNet(config, seed=s), seeds, x_train, y_train,
                      epochs=steps, lr=lr, batch_size=len(x_train), optimizer="adam")
    scratch = runs.accuracy(x_test, y_test)
    frozen = []
    with torch.no_grad():
        for seed in seeds:
            net = RookNet(config, seed=seed)
            guess = linear_readout(net.pooled(x_train), y_train, net.pooled(x_test))
            frozen.append((guess == y_test).double().mean())
    return scratch, torch.stack(frozen)


def multiply_adds(config: RookNetConfig, size: int) -> int:
    """Multiply-adds of one forward pass of ``RookNet(config)`` on one ``size x size`` image.

    Layer ``l`` costs ``k² · c_in · c_out · H_l · W_l``; same padding keeps ``H_l = size``,
    full convolution grows it by ``k - 1`` per layer, valid shrinks it by as much.
    """
    if not isinstance(config, RookNetConfig):
        raise TypeError(f"config must be a RookNetConfig, got {type(config).__name__}")
    size = _validate.positive_int(size, "size", high=10**6)
    k, total, side = config.kernel_size, 0, size
    widths = (config.in_channels, *config.channels)
    for c_in, c_out in itertools.pairwise(widths):
        if (config.padding == "valid" and side < k) or (config.padding in ("circular", "reflect") \
                and side < k):
            raise ValueError(f"size must let every layer run: a {k}x{k} filter with "
                             f"{config.padding} padding needs a map of at least {k} pixels, "
                             f"and size {size} leaves {side}")
        side += {"full": k - 1, "valid": 1 - k}.get(config.padding, 0)
        total += k * k * c_in * c_out * side * side
    return total


PAPER_BORDERS = (0, 16, 32, 64, 128, 256, 512)
"""Border widths (pixels) of Quadrant ImageNet in Kayhan & van Gemert (2020)."""

PAPER_QUADRANT = {
    "from scratch": {
        "BagNet-33": (100, 100, 50, 50, 50, 50, 50),
        "ResNet-18": (100, 100, 100, 100, 100, 100, 50),
        "DenseNet-121": (100, 100, 100, 100, 100, 100, 50),
    },
    "random frozen": {
        "BagNet-33": (99, 80, 50, 50, 50, 50, 50),
        "ResNet-18": (100, 100, 100, 81, 52, 50, 50),
        "DenseNet-121": (100, 100, 100, 100, 96, 50, 50),
    },
    "pretrained frozen": {
        "BagNet-33": (98, 96, 50, 50, 50, 50, 50),
        "ResNet-18": (98, 97, 96, 97, 94, 50, 50),
        "DenseNet-121": (99, 99, 99, 99, 99, 87, 50),
    },
}
"""Their test accuracy (%) at ``PAPER_BORDERS`` for the three weight settings of the paper:
every weight trained from scratch; random convolutions, frozen, with a trained read-out;
ImageNet-pretrained convolutions, frozen, with a trained read-out. Read off the figure of the
paper's repository (``images/4QI_results.png``), ±1 point."""

PAPER_DATA_EFFICIENCY = {
    "all of ImageNet": 0.1,
    "500 per class": 1.3,
    "250 per class": 3.2,
    "100 per class": 3.4,
    "50 per class": 4.8,
}
"""ResNet-50 on ImageNet: top-1 accuracy of full minus same convolution (points), by the number
of training images per class (Kayhan & van Gemert 2020)."""
