"""Consistency: how often a classifier gives the same top-1 class to two random shifts of an image.

Zhang (2019) measures practical shift invariance by the fraction of test images whose top-1
prediction is the same for two random shifts:

    consistency = P_{x, t₁, t₂} [ argmax f(T_{t₁} x) = argmax f(T_{t₂} x) ]

with ``t₁, t₂`` drawn independently for every image. We measure it under two kinds of shift:

- ``"circular"``: ``T_t`` is the circular shift of a test image, ``t`` uniform on the torus;
- ``"crop"``: ``T_t`` is the crop-shift of a larger scene, ``|dy|, |dx| <= margin``: new content
  enters at the border, as when a camera moves (Zhang's random crops).

``glyph_scenes`` makes scenes for the crop-shift: chapter 4's glyphs on a larger noisy canvas,
placed so that every view shows the whole glyph, so a change of answer is never explained by the
glyph leaving the frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from shiftlab import _validate
from shiftlab.data import GLYPHS
from shiftlab.restoring import DownsamplingConfig, DownsamplingNet
from shiftlab.training import Recipe, Runs, train_runs

SHIFT_KINDS = ("circular", "crop")

ZHANG_2019 = {
    "ResNet-50": {"baseline": (76.16, 89.20), "Rect-2": (76.81, 89.96), "Bin-5": (77.04, 91.31)},
    "VGG16": {"baseline": (71.59, 88.52), "Rect-2": (72.15, 89.24), "Bin-5": (72.33, 90.19)},
}
"""Zhang (2019) on ImageNet: (top-1 accuracy %, consistency % under shifts of the crop), without
and with BlurPool (the 2-tap box filter Rect-2 = [1, 1]/2, the 5-tap binomial filter Bin-5)."""

AZULAY_WEISS_2019 = {
    "crop": {"VGG16": 0.062, "ResNet-50": 0.061, "DenseNet-121": 0.068},
    "black canvas": {"VGG16": 0.18, "ResNet-50": 0.20, "DenseNet-121": 0.19},
    "crop, Keras": {"VGG16": 0.05, "ResNet-50": 0.14},
    "black canvas, Keras": {"VGG16": 0.11, "ResNet-50": 0.29},
}
"""Azulay & Weiss (2019), Table 1: P(top-1 change) of ImageNet classifiers (PyTorch's, and
Keras's where marked) when the input moves by one pixel diagonally. "crop": two 224 x 224
crops of a photograph one pixel apart; "black canvas": the photograph shrunk and pasted into a
black 224 x 224 canvas, then pasted one pixel further down and right."""

KAYHAN_2020 = {"S": 86.43, "F": 88.38, "S+Blur": 88.32, "F+Blur": 90.03}
"""Kayhan & van Gemert (2020), ResNet-18: consistency % with same (S) or full (F) convolution,
without and with Zhang's blur. Not on ImageNet's 1000 classes: the networks were trained and
tested on the 200 classes of ImageNet-A (the authors' repository, experiment 3)."""

_RN50, _VGG = ZHANG_2019["ResNet-50"], ZHANG_2019["VGG16"]
PAPERS = {
    "baseline": f"ResNet-50 {_RN50['baseline'][0]:.2f} / {_RN50['baseline'][1]:.2f}, "
                f"VGG16 {_VGG['baseline'][0]:.2f} / {_VGG['baseline'][1]:.2f} (Zhang, "
                f"ImageNet); ResNet-18 S — / {KAYHAN_2020['S']:.2f} (Kayhan, ImageNet-A "
                f"classes)",
    "blur": f"Bin-5: ResNet-50 {_RN50['Bin-5'][0]:.2f} / {_RN50['Bin-5'][1]:.2f}, "
            f"VGG16 {_VGG['Bin-5'][0]:.2f} / {_VGG['Bin-5'][1]:.2f} (Zhang, ImageNet); "
            f"ResNet-18 S+Blur — / {KAYHAN_2020['S+Blur']:.2f} (Kayhan, ImageNet-A classes)",
    "APS": "— / 100 under circular shifts, by construction (Chaman & Dokmanić)",
    "full": f"ResNet-18 F — / {KAYHAN_2020['F']:.2f} (Kayhan, ImageNet-A classes)",
    "circular": "not measured",
    "blur + full": f"ResNet-18 F+Blur — / {KAYHAN_2020['F+Blur']:.2f} (Kayhan, ImageNet-A "
                   f"classes)",
}
"""The papers' "accuracy / consistency" (%) for each network of the chapter's table, as text
(— where a paper gives no number), with the data set each was measured on."""


def shift_each(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Shift image ``n`` circularly by ``shifts[n] = (dy, dx)``: ``(N, C, H, W)`` -> same shape."""
    x = _validate.image_tensor(x, ranks=(4,))
    shifts = _shift_table(shifts, len(x), x.device, "x")
    height, width = x.shape[-2:]
    device = x.device
    # (T_t x)[i, j] = x[(i - dy) mod H, (j - dx) mod W], one t per image
    rows = (torch.arange(height, device=device) - shifts[:, :1]) % height  # (N, H)
    columns = (torch.arange(width, device=device) - shifts[:, 1:]) % width  # (N, W)
    samples = torch.arange(len(x), device=device)[:, None, None, None]
    channels = torch.arange(x.shape[1], device=device)[None, :, None, None]
    return x[samples, channels, rows[:, None, :, None], columns[:, None, None, :]]


def crop_each(scenes: torch.Tensor, shifts: torch.Tensor, margin: int) -> torch.Tensor:
    """The crop-shift of scene ``n`` by ``shifts[n]``: ``(N, C, H, W) -> (N, C, H - 2m, W - 2m)``.

    View ``n`` is ``crop_shift(scenes[n], shifts[n], margin)``: ``x[m + i - dy, m + j - dx]``.
    """
    scenes = _validate.image_tensor(scenes, "scenes", ranks=(4,))
    shifts = _shift_table(shifts, len(scenes), scenes.device, "scenes")
    margin = _validate.integer(margin, "margin")
    height, width = scenes.shape[-2] - 2 * margin, scenes.shape[-1] - 2 * margin
    if margin < 0 or min(height, width) < 1:
        raise ValueError(
            f"margin must satisfy 0 <= margin < min(H, W) / 2 for scenes of shape "
            f"{tuple(scenes.shape)}, got {margin}"
        )
    if _validate.readable(shifts) and shifts.abs().max() > margin:
        raise ValueError(f"shifts must satisfy |dy|, |dx| <= margin = {margin}")
    device = scenes.device
    rows = margin - shifts[:, :1] + torch.arange(height, device=device)  # (N, H - 2m)
    columns = margin - shifts[:, 1:] + torch.arange(width, device=device)
    samples = torch.arange(len(scenes), device=device)[:, None, None, None]
    channels = torch.arange(scenes.shape[1], device=device)[None, :, None, None]
    return scenes[samples, channels, rows[:, None, :, None], columns[:, None, None, :]]


def _shift_table(shifts: object, n: int, device: torch.device, images: str) -> torch.Tensor:
    if not isinstance(shifts, torch.Tensor) or shifts.dtype != torch.long:
        raise TypeError(f"shifts must be a torch.long tensor of shape ({n}, 2), got {shifts!r:.60}")
    if shifts.shape != (n, 2):
        raise ValueError(
            f"shifts must have shape ({n}, 2), one (dy, dx) per image, got {tuple(shifts.shape)}"
        )
    if shifts.device != device:
        raise ValueError(f"shifts must be on the device of {images}, {device}, got "
                         f"{shifts.device}")
    return shifts


@torch.no_grad()
def consistency(
    model: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    *,
    kind: str = "circular",
    margin: int = 0,
    pairs: int = 10,
    seed: int = 0,
) -> float | torch.Tensor:
    """The fraction of (image, pair of shifts) on which the top-1 class of ``model`` agrees.

    images: test images ``(N, C, H, W)`` for ``kind="circular"`` (shifts uniform on the
    ``H x W`` torus), or scenes ``(N, C, H + 2m, W + 2m)`` for ``kind="crop"`` (shifts uniform
    in ``[-m, m]²``, ``m = margin``). ``pairs`` independent pairs are drawn per image from a
    generator seeded with ``seed``; the result is a float in ``[0, 1]``. A model that returns
    ``(R, N, K)``, ``R`` networks at once (``shiftlab.training.Runs.logits``), gets an
    ``(R,)`` float64 tensor: every network sees the same shifts.
    """
    _validate.function(model, "model")
    images = _validate.values(_validate.input_of(model, images, "images"), "images")
    _validate.one_of(kind, "kind", SHIFT_KINDS)
    margin = _validate.non_negative_int(margin, "margin")
    pairs = _validate.positive_int(pairs, "pairs", high=10_000)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    n, device = len(images), images.device
    if kind == "circular":
        if margin != 0:
            raise ValueError(f"margin must be 0 for circular shifts (it is the crop's), got "
                             f"{margin}")
        sizes = torch.tensor(images.shape[-2:])

        def view(shifts: torch.Tensor) -> torch.Tensor:
            return shift_each(images, shifts.to(device))

        def draw() -> torch.Tensor:
            return (torch.rand(n, 2, generator=generator) * sizes).long()
    else:
        if margin < 1:
            raise ValueError("margin must be >= 1 for kind='crop': with margin 0 the views "
                             f"cannot move and every pair agrees, got {margin}")
        if 2 * margin >= min(images.shape[-2:]):
            raise ValueError(f"margin must satisfy 2 * margin < min(H, W) for scenes of shape "
                             f"{tuple(images.shape)}, got {margin}")

        def view(shifts: torch.Tensor) -> torch.Tensor:
            return crop_each(images, shifts.to(device), margin)

        def draw() -> torch.Tensor:
            return torch.randint(-margin, margin + 1, (n, 2), generator=generator)

    agree: torch.Tensor | float = 0.0
    for _ in range(pairs):
        first, second = model(view(draw())), model(view(draw()))
        for scores in (first, second):
            if not isinstance(scores, torch.Tensor) or scores.dim() not in (2, 3) or \
                    scores.shape[-2] != n:
                raise ValueError(f"model must return class scores (N, K) or (R, N, K) with "
                                 f"N = {n}, got {getattr(scores, 'shape', type(scores).__name__)}")
            _validate.finite_values(scores, "model(images) (the class scores)")
        agree = agree + (first.argmax(dim=-1) == second.argmax(dim=-1)).double().sum(dim=-1)
    fraction = agree / (n * pairs)
    return fraction.item() if fraction.dim() == 0 else fraction


def glyph_scenes(
    n: int,
    size: int = 16,
    margin: int = 4,
    *,
    noise: float = 0.3,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` noisy scenes ``(n, 1, size + 2m, size + 2m)`` with one glyph each, and the labels.

    The glyphs and labels are those of ``shiftlab.data`` (plus 0, cross 1). The glyph's
    top-left corner is uniform on ``[2m, size - 3]²`` in scene coordinates, so every crop-shift
    view ``crop_shift(scene, t, m)`` with ``|dy|, |dx| <= m`` shows it whole.
    """
    n = _validate.positive_int(n, "n")
    size = _validate.positive_int(size, "size", high=4096)
    margin = _validate.integer(margin, "margin")
    if margin < 0 or size < 2 * margin + 3:
        raise ValueError(
            f"margin must satisfy 0 <= 2 * margin <= size - 3 = {size - 3}, so that the glyph "
            f"fits in every view, got margin = {margin} for size = {size}"
        )
    noise = _validate.non_negative_float(noise, "noise")
    dtype = _validate.float_dtype(dtype)
    if n * (size + 2 * margin) ** 2 > 2**26:
        raise ValueError(f"n must keep the scenes at most {2**26} pixels in all, got n = {n} "
                         f"scenes of side {size + 2 * margin}")
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    side = size + 2 * margin
    labels = torch.randint(0, len(GLYPHS), (n,), generator=generator)
    corners = torch.randint(2 * margin, size - 2, (n, 2), generator=generator)
    scenes = noise * torch.randn(n, 1, side, side, generator=generator, dtype=dtype)
    stamps = torch.stack(list(GLYPHS.values())).to(dtype)
    for k in range(n):
        top, left = corners[k].tolist()
        scenes[k, 0, top : top + 3, left : left + 3] += stamps[labels[k]]
    return scenes, labels


COLUMNS = ("accuracy", "circular", "crop", "untrained")
"""The columns of the chapter's table: test accuracy, consistency under circular shifts and
under crop-shifts, and circular consistency before training (split at the median)."""


def consistency_table(
    variants: Mapping[str, DownsamplingConfig],
    train_set: tuple[torch.Tensor, torch.Tensor],
    test_set: tuple[torch.Tensor, torch.Tensor],
    scenes: torch.Tensor,
    *,
    margin: int,
    epochs: int,
    lr: float = 0.02,
    batch_size: int = 64,
    pairs: int = 4,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Runs]]:
    """Train every variant from every seed and measure it: the chapter's one table.

    For each ``name: config``, the networks ``DownsamplingNet(config, seed=s)`` for ``s`` in
    ``seeds`` are trained together (``training.train_runs``, Adam on minibatches); row
    ``rows[name][column]`` holds one value per seed, ``(len(seeds),)`` float64, for each of
    ``COLUMNS``. Every network of one seed starts from the same weights where the shapes agree
    and sees the same shifts. Returns ``(rows, trained runs)``.
    """
    if not isinstance(variants, Mapping):
        raise TypeError(f"variants must be a mapping {{name: DownsamplingConfig}}, got "
                        f"{type(variants).__name__}")
    if not variants:
        raise ValueError("variants must name at least one DownsamplingConfig")
    for name, config in variants.items():
        if not isinstance(config, DownsamplingConfig):
            raise TypeError(f"variants[{name!r}] must be a DownsamplingConfig, got {config!r}")
    images, labels = _labelled(train_set, "train_set")
    test_images, test_labels = _labelled(test_set, "test_set")
    # everything checked before any network is trained
    scenes = _validate.image_tensor(scenes, "scenes", ranks=(4,))
    if scenes.dtype != test_images.dtype or scenes.device != test_images.device:
        raise TypeError(f"scenes must have the dtype and device of the test images, "
                        f"{test_images.dtype} on {test_images.device}, got {scenes.dtype} on "
                        f"{scenes.device}")
    margin = _validate.positive_int(margin, "margin")
    if 2 * margin >= min(scenes.shape[-2:]):
        raise ValueError(f"margin must satisfy 2 * margin < min(H, W) for scenes of shape "
                         f"{tuple(scenes.shape)}, got {margin}")
    if scenes.shape[-2] - 2 * margin != test_images.shape[-2] or \
            scenes.shape[-1] - 2 * margin != test_images.shape[-1] or \
            scenes.shape[1] != test_images.shape[1]:
        raise ValueError(f"scenes less the margin must have the shape of the test images, "
                         f"{tuple(test_images.shape[1:])}, got scenes {tuple(scenes.shape[1:])} "
                         f"with margin {margin}")
    Recipe(epochs, lr, batch_size, "adam")
    pairs = _validate.positive_int(pairs, "pairs", high=10_000)
    rows: dict[str, dict[str, torch.Tensor]] = {}
    trained: dict[str, Runs] = {}
    for name, config in variants.items():
        runs = train_runs(lambda s, c=config: DownsamplingNet(c, seed=s), seeds, images, labels,
                          epochs=epochs, lr=lr, batch_size=batch_size, optimizer="adam",
                          history=True)
        untrained = _median_split(runs, test_images)
        rows[name] = {
            "accuracy": runs.accuracy(test_images, test_labels),
            "circular": consistency(runs.logits, test_images, pairs=pairs, seed=0),
            "crop": consistency(runs.logits, scenes, kind="crop", margin=margin, pairs=pairs,
                                seed=0),
            "untrained": consistency(untrained, test_images, pairs=pairs, seed=0),
        }
        trained[name] = runs
    return rows, trained


def _labelled(pair: object, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise TypeError(f"{name} must be a pair (images, labels), got {type(pair).__name__}")
    images, labels = pair
    _validate.image_tensor(images, f"{name}[0] (images)", ranks=(4,))
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long or \
            labels.shape != (len(images),):
        raise TypeError(f"{name}[1] (labels) must be a torch.long tensor of shape "
                        f"({len(images)},), got {labels!r:.60}")
    return images, labels


def _median_split(runs: Runs, images: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """The untrained networks of ``runs`` (epoch 0), each split at its median on ``images``
    (``median_split``): a function returning their scores ``(R, N, 2)``."""
    start = runs.logits(images, epoch=0)
    offset = (start[..., 1] - start[..., 0]).median(dim=-1).values  # (R,)

    def scores(x: torch.Tensor) -> torch.Tensor:
        logits = runs.logits(x, epoch=0)
        return torch.stack([logits[..., 0], logits[..., 1] - offset[:, None]], dim=-1)

    return scores
