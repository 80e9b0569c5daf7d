"""Invariance learned from data (chapter 9): shift augmentation, the photographer's bias, parts.

The data are scikit-learn's handwritten digits centred on a ``CANVAS x CANVAS`` canvas of zeros
(``shiftlab.data.digits_on_canvas``): ``MARGIN`` pixels of background on every side, so a shift
``t`` with ``|dy|, |dx| <= MARGIN`` moves the whole digit and nothing leaves the canvas. Such a
shift is at once a circular shift and a zero-fill translation of the canvas, pure data movement.

- ``moved(images, a, seed=...)``: every image shifted by its own random ``t`` in ``[-a, a]²``,
  the *random-shift augmentation* of a training set (``copies`` draws side by side);
- ``train_variants``: the chapter's networks (``VARIANTS``, chapter 7's ``DownsamplingNet``;
  ``DenseHeadNet``, the baseline read by a dense layer) trained from several seeds at once, on
  centred digits or on digits moved anew every epoch;
- ``gradient_gap``: how far a network's loss gradient on moved digits is from that on the
  centred ones (zero, up to rounding, for a network invariant to the moves);
- ``table_row``: accuracy on centred and on moved digits, and consistency, for each run;
- ``predictions_by_shift``: the top-1 class of every digit after each of a list of shifts;
  from it ``changed_fraction`` (how often the class changes: ``flip_rates``) and
  ``accuracy_of`` (test accuracy at each shift: ``accuracy_by_shift``, how far learned
  invariance reaches);
- ``displace_part`` and ``part_sensitivity``: move ONE part of a digit (rows of the canvas) and
  measure how much the feature maps, the pooled features and the prediction change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from shiftlab import _validate
from shiftlab.consistency import shift_each
from shiftlab.data import DIGIT_SIDE
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.restoring import DownsamplingConfig, DownsamplingNet
from shiftlab.training import Runs, train_runs
from shiftlab.transforms import shift

CANVAS = 16
"""The side of the canvas: a digit (8 x 8) with 4 pixels of background on every side."""

MARGIN = (CANVAS - DIGIT_SIDE) // 2

TOP_HALF = (MARGIN, MARGIN + DIGIT_SIDE // 2)
"""The rows ``[start, stop)`` of the canvas that hold the upper half of a centred digit."""

WIDTHS = (16, 32)
"""The channels of the chapter's two convolutions."""

_POOL_HEAD = {"classes": 10, "global_pool": "max"}
_SMALL = {"channels": WIDTHS, **_POOL_HEAD}

VARIANTS: dict[str, DownsamplingConfig] = {
    "baseline": DownsamplingConfig("stride", "same", **_SMALL),
    "blur": DownsamplingConfig("blur", "same", blur_size=2, **_SMALL),
    "APS": DownsamplingConfig("aps", "circular", **_SMALL),
    "circular": DownsamplingConfig("stride", "circular", **_SMALL),
}
"""The chapter's four networks: two 3 x 3 convolutions (16 and 32 channels), each followed by a
ReLU and a downsampling by 2 (stride, BlurPool with the box filter [1, 1]/2, or APS), a global
max pool and a linear layer to the 10 classes. Total stride 4."""

TOTAL_STRIDE = 4

RECIPE = {"epochs": 3, "lr": 0.01, "batch_size": 32, "optimizer": "adam", "history": True}
"""How the chapter trains every network: Adam with step 0.01, 3 epochs in batches of 32, keeping
the weights after every epoch (``Runs.snapshots``) for the learning curves."""

LOCAL_POOL = ConvNetConfig(channels=WIDTHS, padding="same", local_pool=True, **_POOL_HEAD)
"""The baseline with local max pooling instead of strides: each 3 x 3 convolution (stride 1) and
its ReLU is followed by a 2 x 2 max pool with stride 2. Same widths, same total stride 4."""


@dataclass(frozen=True)
class DenseHeadConfig:
    """The baseline's convolutions (stride 2, zero padding) read by a dense layer.

    The last feature map, ``channels[-1] x (size / 4) x (size / 4)``, is flattened and a linear
    layer maps it to the classes: the head of LeNet or VGG, not a global pool. Nothing in it is
    invariant to shifts, not even by the total stride; it takes ``size x size`` images only.
    """

    size: int = CANVAS
    channels: tuple[int, ...] = WIDTHS
    padding: str = "same"
    classes: int = 10

    def __post_init__(self) -> None:
        stride = 2 ** len(self.convolutions.channels)  # also checks channels, padding, classes
        size = _validate.positive_int(self.size, "size", high=512)
        if size % stride:
            raise ValueError(f"size must be a multiple of the total stride {stride}, got {size}")

    @property
    def convolutions(self) -> ConvNetConfig:
        """The convolutions as a ``ConvNetConfig`` (its global pool is not used)."""
        return ConvNetConfig(channels=self.channels, padding=self.padding, stride=2,
                             **{**_POOL_HEAD, "classes": self.classes})

    @property
    def features(self) -> int:
        """The length of the flattened feature map that the dense layer reads."""
        side = self.size // 2 ** len(self.channels)
        return self.channels[-1] * side * side


class DenseHeadNet(ConvNet):
    """``DenseHeadConfig``'s network: ``W · flatten(features(x)) + b``. The convolutions start
    from the weights of ``ConvNet(config.convolutions, seed)``; the dense layer is uniform in
    ``±1/√features`` (bias 0), from a generator of its own seeded with ``seed``."""

    def __init__(self, config: DenseHeadConfig | None = None, *, seed: int = 0) -> None:
        if config is not None and not isinstance(config, DenseHeadConfig):
            raise TypeError(f"config must be a DenseHeadConfig or None, got "
                            f"{type(config).__name__}")
        config = config or DenseHeadConfig()
        super().__init__(config.convolutions, seed=seed)
        self.dense = config
        generator = torch.Generator().manual_seed(_validate.integer(seed, "seed") + 2**32)
        bound = 1 / math.sqrt(config.features)
        self.head = nn.Linear(config.features, config.classes)
        with torch.no_grad():
            self.head.weight.copy_(
                (torch.rand(self.head.weight.shape, generator=generator) * 2 - 1) * bound)
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits), ``(N, classes)``."""
        x = self._checked(x)
        if tuple(x.shape[-2:]) != (self.dense.size,) * 2:
            raise ValueError(f"x must have {self.dense.size} x {self.dense.size} pixels, the size "
                             f"the dense layer was built for, got shape {tuple(x.shape)}")
        return self.head(self.features(x).flatten(1))


def moved(images: torch.Tensor, max_shift: int, *, seed: int = 0, copies: int = 1
          ) -> torch.Tensor:
    """Each image shifted circularly by its own ``(dy, dx)``, uniform in ``[-a, a]²``.

    images: ``(N, C, H, W)``; returns ``(copies * N, C, H, W)``: ``copies`` independent draws,
    one after the other (copy ``c`` of image ``n`` is row ``c * N + n``). With a background of
    zeros at least ``a`` pixels wide around the content, each is also the zero-fill translation.
    """
    images = _validate.values(_validate.image_tensor(images, "images", ranks=(4,)), "images")
    max_shift = _validate.integer(max_shift, "max_shift")
    if not 0 <= max_shift < min(images.shape[-2:]):
        raise ValueError(
            f"max_shift must lie in 0 ... {min(images.shape[-2:]) - 1}, got {max_shift}")
    copies = _validate.positive_int(copies, "copies", high=1024)
    if copies * images.numel() > 2**28:
        raise ValueError(f"copies * images.numel() must be at most 2**28 (memory), got copies = "
                         f"{copies} of {images.numel()} values")
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    batch = images.repeat(copies, 1, 1, 1)
    shifts = torch.randint(-max_shift, max_shift + 1, (len(batch), 2), generator=generator)
    return shift_each(batch, shifts)


Config = DownsamplingConfig | ConvNetConfig | DenseHeadConfig


def network(config: Config, seed: int = 0) -> nn.Module:
    """The network of ``config``: ``DownsamplingNet``, ``shiftlab.models.ConvNet`` or
    ``DenseHeadNet``."""
    if isinstance(config, DownsamplingConfig):
        return DownsamplingNet(config, seed=seed)
    if isinstance(config, ConvNetConfig):
        return ConvNet(config, seed=seed)
    if isinstance(config, DenseHeadConfig):
        return DenseHeadNet(config, seed=seed)
    raise TypeError(f"config must be a DownsamplingConfig, a ConvNetConfig or a DenseHeadConfig, "
                    f"got {config!r:.80}")


def train_variants(
    variants: Mapping[str, Config],
    train_set: tuple[torch.Tensor, torch.Tensor],
    *,
    max_shift: int = 0,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    shift_seed: int = 0,
    **recipe: object,
) -> dict[str, Runs]:
    """Train ``network(config, s)`` for every variant and seed at once (``train_runs``).

    With ``max_shift = a > 0``, random-shift augmentation drawn anew every epoch: the training
    digits of epoch ``e`` are ``moved(images, a, seed=shift_seed + e)``, the same for every
    variant and seed. ``recipe`` overrides ``RECIPE``.
    """
    variants = _validate.mapping(variants, "variants")
    for name, config in variants.items():
        if not isinstance(config, Config):
            raise TypeError(f"variants[{name!r}] must be a DownsamplingConfig, a ConvNetConfig "
                            f"or a DenseHeadConfig, got {config!r:.80}")
    images, labels = _pair(train_set, "train_set")
    images = _validate.image_tensor(images, "train_set[0]", ranks=(4,))
    max_shift = _validate.non_negative_int(max_shift, "max_shift")
    shift_seed = _validate.integer(shift_seed, "shift_seed")
    options = {**RECIPE, **recipe}
    if max_shift:
        options["augment"] = lambda x, epoch: moved(x, max_shift, seed=shift_seed + epoch)
    return {name: train_runs(lambda s, c=config: network(c, s), seeds, images, labels,
                             **options)  # type: ignore[arg-type]
            for name, config in variants.items()}


def gradient_gap(net: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                 changed: torch.Tensor) -> float:
    """``‖∇L(changed) − ∇L(images)‖ / ‖∇L(images)‖`` for the cross-entropy ``L`` of ``net``
    on a batch, the gradient taken with respect to all its parameters together.

    Zero up to rounding when ``net`` gives the same scores for ``changed`` as for ``images``:
    then a training step on the changed batch is the step on the original one.
    """
    _validate.module(net, "net")
    images = _validate.input_of(net, images, "images")
    changed = _validate.input_of(net, changed, "changed")
    if changed.shape != images.shape:
        raise ValueError(f"changed must have the shape of images {tuple(images.shape)}, got "
                         f"{tuple(changed.shape)}")
    _labels(labels, len(images), images.device)
    if labels.dtype != torch.long:
        raise ValueError(f"labels must be class indices (torch.long), got {labels.dtype}")
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("net must have parameters to train (requires_grad)")

    def gradient(x: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(net(x), labels)
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]).double()

    before, after = gradient(images), gradient(changed)
    return ((after - before).norm() / before.norm().clamp_min(1e-300)).item()


def _pair(value: object, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Check that ``value`` is a pair ``(images, labels)``."""
    if isinstance(value, str) or not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (images, labels), got {type(value).__name__} "
                        f"{value!r:.60}")
    return value[0], value[1]


def _scores(model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor
            ) -> torch.Tensor:
    scores = model(images)
    if (not isinstance(scores, torch.Tensor) or scores.dim() not in (2, 3)
            or scores.shape[-2] != len(images)):
        raise ValueError(
            f"model must return class scores of shape (N, K) or (R, N, K) with "
            f"N = {len(images)}, got {getattr(scores, 'shape', type(scores).__name__)}"
        )
    return scores


def _offsets(shifts: object) -> list[tuple[int, int]]:
    if isinstance(shifts, str) or not isinstance(shifts, Sequence) or not shifts:
        raise ValueError(f"shifts must be a non-empty sequence of pairs (dy, dx), got {shifts!r}")
    return [_validate.offset(t, "shifts[k]") for t in shifts]


@torch.no_grad()
def predictions_by_shift(model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                         shifts: Sequence[tuple[int, int]]) -> torch.Tensor:
    """The top-1 class of ``T_t x`` for each ``t`` in ``shifts`` (circular shifts) and each
    image: ``(len(shifts), N)``, or ``(R, len(shifts), N)`` for a model that returns
    ``(R, N, K)`` (``Runs.logits``). ``flip_rates`` and ``accuracy_by_shift`` read it."""
    _validate.function(model, "model")
    images = _validate.input_of(model, images, "images")
    offsets = _offsets(shifts)
    return torch.stack([_scores(model, shift(images, t)).argmax(-1) for t in offsets], dim=-2)


@torch.no_grad()
def flip_rates(model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
               shifts: Sequence[tuple[int, int]]) -> torch.Tensor:
    """For each shift ``t``, the fraction of ``images`` whose top-1 class of ``T_t x`` differs
    from that of ``x`` (circular shifts): ``(len(shifts),)``, or ``(R, len(shifts))`` for a
    model that returns ``(R, N, K)`` (``Runs.logits``). float64."""
    offsets = _offsets(shifts)
    predictions = predictions_by_shift(model, images, [(0, 0), *offsets])
    return changed_fraction(predictions)


def changed_fraction(predictions: torch.Tensor) -> torch.Tensor:
    """From ``predictions_by_shift`` whose first shift is ``(0, 0)``: for every later shift, the
    fraction of images whose class differs from the unshifted one. ``(S, N) -> (S - 1,)`` or
    ``(R, S, N) -> (R, S - 1)``, float64."""
    predictions = _predictions(predictions)
    return (predictions[..., 1:, :] != predictions[..., :1, :]).double().mean(-1)


@torch.no_grad()
def accuracy_by_shift(model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                      labels: torch.Tensor, shifts: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Test accuracy on ``images`` shifted circularly by each ``t`` in ``shifts``:
    ``(len(shifts),)``, or ``(R, len(shifts))`` for a model that returns ``(R, N, K)``
    (``Runs.logits``). float64."""
    _validate.function(model, "model")
    images = _validate.input_of(model, images, "images")
    _labels(labels, len(images), images.device)
    return accuracy_of(predictions_by_shift(model, images, shifts), labels)


def accuracy_of(predictions: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """From ``predictions_by_shift``: the fraction right at each shift, ``(S, N) -> (S,)`` or
    ``(R, S, N) -> (R, S)``, float64."""
    predictions = _predictions(predictions)
    _labels(labels, predictions.shape[-1], predictions.device, of="predictions")
    return (predictions == labels).double().mean(-1)


def _predictions(predictions: object) -> torch.Tensor:
    if not isinstance(predictions, torch.Tensor) or predictions.dtype != torch.long or \
            predictions.dim() not in (2, 3) or predictions.shape[-2] < 1:
        raise ValueError(f"predictions must be classes (torch.long) of shape (S, N) or "
                         f"(R, S, N), from predictions_by_shift, got {predictions!r:.60}")
    return predictions


def _labels(labels: object, n: int, device: torch.device, of: str = "images") -> None:
    if not isinstance(labels, torch.Tensor) or labels.shape != (n,):
        raise ValueError(f"labels must be a tensor of shape ({n},), one per image, got "
                         f"{labels!r:.60}")
    if labels.device != device:
        raise ValueError(f"labels must be on the device of {of}, {device}, got "
                         f"{labels.device}")


def displace_part(images: torch.Tensor, t: int, rows: tuple[int, int] = TOP_HALF
                  ) -> torch.Tensor:
    """Move one part of each image sideways: rows ``[start, stop)`` shift circularly by ``t``
    pixels along the row (right for ``t > 0``); every other row stays as it was.

    images: ``(N, C, H, W)`` -> the same shape. Pure data movement: on a digit with a margin
    of background, the upper half slides by ``t`` and the lower half stays put.
    """
    images = _validate.image_tensor(images, "images", ranks=(4,))
    t = _validate.integer(t, "t")
    if not isinstance(rows, tuple) or len(rows) != 2:
        raise TypeError(f"rows must be a pair (start, stop), got {rows!r}")
    start, stop = (_validate.integer(r, "rows") for r in rows)
    if not 0 <= start < stop <= images.shape[-2]:
        raise ValueError(
            f"rows must satisfy 0 <= start < stop <= H = {images.shape[-2]}, got {rows}")
    out = images.clone()
    out[..., start:stop, :] = torch.roll(images[..., start:stop, :], t, dims=-1)
    return out


COLUMNS = ("accuracy", "moved accuracy", "consistency")
"""The columns of the chapter's table (``table_row``)."""


def table_row(runs: Runs, test_set: tuple[torch.Tensor, torch.Tensor], *, margin: int = MARGIN,
              seed: int = 0) -> dict[str, torch.Tensor]:
    """One row of the chapter's table for trained ``runs``: one value per run, ``(R,)``.

    ``test_set`` holds centred digits with ``margin`` pixels of background. The columns
    (``COLUMNS``): the accuracy on them; the accuracy on the same digits each moved by a random
    shift up to ``±margin`` (``moved``, seeded with ``seed + 2``); and the consistency
    (Zhang 2019): the fraction of digits whose top-1 class is the same under that move and
    under a second one (seeded with ``seed + 3``), one pair per digit.
    """
    if not isinstance(runs, Runs):
        raise TypeError(f"runs must be shiftlab.training.Runs, got {type(runs).__name__}")
    images, labels = _pair(test_set, "test_set")
    images = _validate.image_tensor(images, "test_set[0]", ranks=(4,))
    margin = _validate.non_negative_int(margin, "margin", high=min(images.shape[-2:]) - 1)
    seed = _validate.integer(seed, "seed")
    _labels(labels, len(images), images.device)
    first, second = (runs.logits(moved(images, margin, seed=seed + k)).argmax(-1)
                     for k in (2, 3))
    return {
        "accuracy": runs.accuracy(images, labels),
        "moved accuracy": (first == labels).double().mean(-1),
        "consistency": (first == second).double().mean(-1),
    }


PART_MEASURES = ("feature map", "pooled features", "prediction")


@torch.no_grad()
def part_sensitivity(net: nn.Module, images: torch.Tensor, changed: torch.Tensor
                     ) -> dict[str, float]:
    """How much a network's answer moves when ``images`` become ``changed`` (same shape).

    ``net`` has ``features`` (the map before the global pool) and ``head`` (chapter 7's
    ``DownsamplingNet``, ``shiftlab.models.ConvNet``). Returns, for ``PART_MEASURES``: the mean
    relative change ``‖F(x') − F(x)‖ / ‖F(x)‖`` of the feature map, the same for the globally
    pooled features (what the linear head reads), and the fraction of top-1 predictions that
    change.
    """
    images = _validate.input_of(net, images, "images")
    changed = _validate.input_of(net, changed, "changed")
    if changed.shape != images.shape:
        raise ValueError(f"changed must have the shape of images {tuple(images.shape)}, got "
                         f"{tuple(changed.shape)}")
    if not callable(getattr(net, "features", None)) or not isinstance(getattr(net, "head", None),
                                                                        nn.Linear):
        raise TypeError(f"net must have a features method and a linear head, got {net!r:.80}")
    net.eval()
    maps, maps_after = net.features(images), net.features(changed)
    pool = torch.amax if net.config.global_pool == "max" else torch.mean
    pooled, pooled_after = pool(maps, dim=(-2, -1)), pool(maps_after, dim=(-2, -1))

    def relative(a: torch.Tensor, b: torch.Tensor) -> float:
        a, b = a.flatten(1).double(), b.flatten(1).double()
        return ((b - a).norm(dim=1) / a.norm(dim=1).clamp_min(1e-30)).mean().item()

    flips = (net.head(pooled).argmax(-1) != net.head(pooled_after).argmax(-1)).double()
    return {"feature map": relative(maps, maps_after),
            "pooled features": relative(pooled, pooled_after),
            "prediction": flips.mean().item()}
