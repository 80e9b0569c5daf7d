"""Invariance learned from data (chapter 9): shift augmentation, the photographer's bias, parts.

The data are scikit-learn's handwritten digits centred on a ``CANVAS x CANVAS`` canvas of zeros
(``shiftlab.data.digits_on_canvas``): ``MARGIN`` pixels of background on every side, so a shift
``t`` with ``|dy|, |dx| <= MARGIN`` moves the whole digit and nothing leaves the canvas. Such a
shift is at once a circular shift and a zero-fill translation of the canvas, pure data movement.

- ``moved(images, a, seed=...)``: every image shifted by its own random ``t`` in ``[-a, a]²``,
  the *random-shift augmentation* of a training set (drawn once; ``copies`` draws side by side);
- ``train_variants``: the chapter's networks (``VARIANTS``, chapter 7's ``DownsamplingNet``)
  trained from several seeds at once, on centred or on moved digits;
- ``table_row``: accuracy on centred and on moved digits, and consistency, for each run;
- ``flip_rates``: how often the top-1 class changes after each of a list of shifts;
- ``accuracy_by_shift``: test accuracy on the digits moved by each of a list of shifts: how far
  learned invariance reaches;
- ``displace_part`` and ``part_sensitivity``: move ONE part of a digit (rows of the canvas) and
  measure how much the feature maps, the pooled features and the prediction change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from shiftlab import _validate
from shiftlab.consistency import consistency, shift_each
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

_POOL_HEAD = {"classes": 10, "global_pool": "max"}
_SMALL = {"channels": (8, 16), **_POOL_HEAD}

VARIANTS: dict[str, DownsamplingConfig] = {
    "baseline": DownsamplingConfig("stride", "same", **_SMALL),
    "blur": DownsamplingConfig("blur", "same", blur_size=2, **_SMALL),
    "APS": DownsamplingConfig("aps", "circular", **_SMALL),
    "circular": DownsamplingConfig("stride", "circular", **_SMALL),
}
"""The chapter's four networks: two 3 x 3 convolutions (8 and 16 channels), each followed by a
ReLU and a downsampling by 2 (stride, BlurPool with the box filter [1, 1]/2, or APS), a global
max pool and a linear layer to the 10 classes. Total stride 4."""

TOTAL_STRIDE = 4

RECIPE = {"epochs": 3, "lr": 0.02, "batch_size": 32, "optimizer": "adam"}
"""How the chapter trains every network: Adam, 3 epochs in batches of 32."""

LOCAL_POOL = ConvNetConfig(channels=(8, 16), padding="same", local_pool=True, **_POOL_HEAD)
"""The baseline with local max pooling instead of strides: each 3 x 3 convolution (stride 1) and
its ReLU is followed by a 2 x 2 max pool with stride 2. Same widths, same total stride 4."""


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


def network(config: DownsamplingConfig | ConvNetConfig, seed: int = 0) -> nn.Module:
    """The network of ``config``: ``DownsamplingNet`` or ``shiftlab.models.ConvNet``."""
    if isinstance(config, DownsamplingConfig):
        return DownsamplingNet(config, seed=seed)
    if isinstance(config, ConvNetConfig):
        return ConvNet(config, seed=seed)
    raise TypeError(f"config must be a DownsamplingConfig or a ConvNetConfig, got {config!r:.80}")


def train_variants(
    variants: Mapping[str, DownsamplingConfig | ConvNetConfig],
    train_set: tuple[torch.Tensor, torch.Tensor],
    *,
    max_shift: int = 0,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    shift_seed: int = 0,
    **recipe: object,
) -> dict[str, Runs]:
    """Train ``network(config, s)`` for every variant and seed at once (``train_runs``).

    With ``max_shift = a > 0`` the training digits are ``moved(images, a, seed=shift_seed)``:
    the same moved digits for every variant and seed. ``recipe`` overrides ``RECIPE``.
    """
    variants = _validate.mapping(variants, "variants")
    for name, config in variants.items():
        if not isinstance(config, DownsamplingConfig | ConvNetConfig):
            raise TypeError(f"variants[{name!r}] must be a DownsamplingConfig or a "
                            f"ConvNetConfig, got {config!r:.80}")
    images, labels = _pair(train_set, "train_set")
    images = _validate.image_tensor(images, "train_set[0]", ranks=(4,))
    max_shift = _validate.non_negative_int(max_shift, "max_shift")
    shift_seed = _validate.integer(shift_seed, "shift_seed")
    if max_shift:
        images = moved(images, max_shift, seed=shift_seed)
    options = {**RECIPE, **recipe}
    return {name: train_runs(lambda s, c=config: network(c, s), seeds, images, labels,
                             **options)  # type: ignore[arg-type]
            for name, config in variants.items()}


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
def flip_rates(model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
               shifts: Sequence[tuple[int, int]]) -> torch.Tensor:
    """For each shift ``t``, the fraction of ``images`` whose top-1 class of ``T_t x`` differs
    from that of ``x`` (circular shifts): ``(len(shifts),)``, or ``(R, len(shifts))`` for a
    model that returns ``(R, N, K)`` (``Runs.logits``). float64."""
    _validate.function(model, "model")
    images = _validate.input_of(model, images, "images")
    offsets = _offsets(shifts)
    before = _scores(model, images).argmax(-1)
    rates = [(_scores(model, shift(images, t)).argmax(-1) != before).double().mean(-1)
             for t in offsets]
    return torch.stack(rates, dim=-1)


@torch.no_grad()
def accuracy_by_shift(model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                      labels: torch.Tensor, shifts: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Test accuracy on ``images`` shifted circularly by each ``t`` in ``shifts``:
    ``(len(shifts),)``, or ``(R, len(shifts))`` for a model that returns ``(R, N, K)``
    (``Runs.logits``). float64."""
    _validate.function(model, "model")
    images = _validate.input_of(model, images, "images")
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(images),):
        raise ValueError(f"labels must be a tensor of shape ({len(images)},), got {labels!r:.60}")
    if images.device != labels.device:
        raise ValueError(f"labels must be on the device of images, {images.device}, got "
                         f"{labels.device}")
    offsets = _offsets(shifts)
    rows = [(_scores(model, shift(images, t)).argmax(-1) == labels).double().mean(-1)
            for t in offsets]
    return torch.stack(rows, dim=-1)


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
    shift up to ``±margin`` (``moved``, seeded with ``seed + 2``); and the consistency under two
    random moves up to ``±margin`` (``consistency.consistency``, crop-shifts of the canvas
    padded with ``margin`` zeros, which on these images are those moves), one pair per digit.
    """
    if not isinstance(runs, Runs):
        raise TypeError(f"runs must be shiftlab.training.Runs, got {type(runs).__name__}")
    images, labels = _pair(test_set, "test_set")
    images = _validate.image_tensor(images, "test_set[0]", ranks=(4,))
    margin = _validate.non_negative_int(margin, "margin", high=min(images.shape[-2:]) - 1)
    seed = _validate.integer(seed, "seed")
    scenes = torch.nn.functional.pad(images, (margin,) * 4)
    return {
        "accuracy": runs.accuracy(images, labels),
        "moved accuracy": runs.accuracy(moved(images, margin, seed=seed + 2), labels),
        "consistency": consistency(runs.logits, scenes, kind="crop", margin=margin, pairs=1,
                                   seed=seed),
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
