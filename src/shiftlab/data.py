"""Images for the experiments, generated or shipped with matplotlib: nothing is downloaded.

Every random function takes a ``seed`` and draws from its own ``torch.Generator``, so a notebook
gives the same numbers on every run whatever else it has drawn before.

``glyph_images``: a small classification task whose answer does not depend on position
(chapter 4). Each image is a noisy ``size x size`` canvas with one 3x3 glyph, a ``plus``
(class 0) or a diagonal ``cross`` (class 1), pasted at a uniformly random position on the
torus (it may wrap around the border):

    x = T_p g_label + noise,    p uniform on Z_H x Z_W,   noise iid N(0, σ²)

Because ``p`` is uniform, a circular shift of the data set is another sample of the same task:
a classifier that changes its answer when the image is shifted is wrong to do so. With
``wrap=False`` the glyph lies wholly inside the image (``p`` uniform on ``[0, size - 3]²``): no
glyph is split by the border, which would favour networks that pad circularly. Everything is
generated from a seed: nothing is downloaded.

``digits_on_canvas``: real handwriting (chapter 9), the 1,797 8x8 digits that ship with
scikit-learn (``sklearn.datasets.load_digits``, no download), each pasted on a larger canvas of
zeros, centred or moved by a random offset that keeps the whole digit on the canvas.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path

import matplotlib.cbook
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from shiftlab import _validate

MAX_SIDE = 4096
"""The largest side of a generated image."""
MAX_VALUES = 2**26
"""The most values a generated batch may hold (256 MB in float32)."""


def _count(name: str, *sizes: int) -> None:
    """Refuse a batch of more than ``MAX_VALUES`` values before drawing it."""
    total = 1
    for size in sizes:
        total *= size
    if total > MAX_VALUES:
        raise ValueError(f"{name} asks for {total} values, more than {MAX_VALUES}: ask for fewer "
                         "or smaller images")


def sample_image(size: int = 64, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A natural photograph (Grace Hopper, shipped with matplotlib) as a ``(size, size)`` image.

    Grayscale, the central square cropped, resized with anti-aliasing, values in ``[0, 1]``.
    """
    size = _validate.positive_int(size, "size", high=MAX_SIDE)
    dtype = _validate.float_dtype(dtype)
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file, Image.open(file) as jpeg:
        rgb = np.asarray(jpeg)  # what matplotlib's imread returns for a JPEG
    gray = torch.from_numpy(np.asarray(rgb, dtype=np.float64).mean(axis=-1) / 255.0)
    height, width = gray.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = gray[top : top + side, left : left + side]
    small = F.interpolate(square[None, None], size=(size, size), mode="area")[0, 0]
    return small.clamp(0, 1).to(dtype)


def gaussian_images(
    n: int,
    size: int | tuple[int, int],
    *,
    channels: int = 1,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``n`` images of iid standard normal pixels, shape ``(n, channels, H, W)``."""
    n = _validate.positive_int(n, "n")
    channels = _validate.positive_int(channels, "channels")
    height, width = _size(size)
    dtype = _validate.float_dtype(dtype)
    _count("n x channels x H x W", n, channels, height, width)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    return torch.randn(n, channels, height, width, generator=generator, dtype=dtype)


def integer_images(
    n: int,
    size: int | tuple[int, int],
    *,
    low: int = -8,
    high: int = 8,
    channels: int = 1,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``n`` images of iid integers drawn uniformly from ``low ... high``, held in ``dtype``:
    shape ``(n, channels, H, W)``.

    On such images every sum of a few thousand small-integer products is again an integer that
    the float holds exactly (float32 below 2^24, float64 below 2^53): nothing is rounded, so a
    law holds bit for bit in any order of the additions, on every CPU.
    """
    n = _validate.positive_int(n, "n")
    channels = _validate.positive_int(channels, "channels")
    low, high = _validate.integer(low, "low"), _validate.integer(high, "high")
    if low > high:
        raise ValueError(f"low must be at most high, got low = {low} and high = {high}")
    dtype = _validate.float_dtype(dtype)
    height, width = _size(size)
    _count("n x channels x H x W", n, channels, height, width)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    values = torch.randint(low, high + 1, (n, channels, height, width), generator=generator)
    return values.to(dtype)


def random_kernel(
    out_channels: int = 1,
    in_channels: int = 1,
    size: int = 3,
    *,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A random filter bank, iid normal, shape ``(out_channels, in_channels, size, size)``."""
    shape = (
        _validate.positive_int(out_channels, "out_channels"),
        _validate.positive_int(in_channels, "in_channels"),
        _validate.positive_int(size, "size", high=MAX_SIDE),
        size,
    )
    dtype = _validate.float_dtype(dtype)
    _count("out_channels x in_channels x size x size", *shape)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    return torch.randn(*shape, generator=generator, dtype=dtype)


def random_conv_cases(
    n: int, *, seed: int = 0, dtype: torch.dtype = torch.float32
) -> list[tuple[torch.Tensor, torch.Tensor, tuple[int, int]]]:
    """``n`` random convolution problems ``(x, w, t)``, for testing a law on many shapes.

    Each has a filter of 1 to 5 rows and columns (even sizes too), an image of up to 24 x 24
    that the filter fits in, 1 to 3 images, 1 to 3 input and output channels, iid normal
    values, and a shift ``t = (dy, dx)`` as large as the image: x ``(N, C, H, W)``,
    w ``(O, C, k_h, k_w)``.
    """
    n = _validate.positive_int(n, "n", high=100_000)
    dtype = _validate.float_dtype(dtype)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    cases = []
    for _ in range(n):
        k_h, k_w = torch.randint(1, 6, (2,), generator=generator).tolist()
        height = int(torch.randint(max(k_h, 2), 25, (1,), generator=generator))
        width = int(torch.randint(max(k_w, 2), 25, (1,), generator=generator))
        images, c_in, c_out = torch.randint(1, 4, (3,), generator=generator).tolist()
        x = torch.randn(images, c_in, height, width, generator=generator, dtype=dtype)
        w = torch.randn(c_out, c_in, k_h, k_w, generator=generator, dtype=dtype)
        dy = int(torch.randint(-height, height + 1, (1,), generator=generator))
        dx = int(torch.randint(-width, width + 1, (1,), generator=generator))
        cases.append((x, w, (dy, dx)))
    return cases


def _size(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, tuple | list):
        if len(size) != 2:
            raise ValueError(f"size must be an int or a pair (H, W), got {size!r}")
        height = _validate.positive_int(size[0], "size[0]", high=MAX_SIDE)
        return height, _validate.positive_int(size[1], "size[1]", high=MAX_SIDE)
    side = _validate.positive_int(size, "size", high=MAX_SIDE)
    return side, side


GLYPHS: dict[str, torch.Tensor] = {
    "plus": torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]]),
    "cross": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]),
}
"""The two classes, in label order: ``plus`` is 0 and ``cross`` is 1. Both have 5 lit pixels."""

CLASSES = tuple(GLYPHS)


def glyph_images(
    n: int,
    size: int = 16,
    *,
    noise: float = 0.3,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    wrap: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` glyph images and their labels: ``(n, 1, size, size)`` and ``(n,)`` (torch.long).

    Labels are drawn uniformly from ``CLASSES``; the glyph's top-left corner is uniform on the
    ``size x size`` torus (``wrap=True``) or on ``[0, size - 3]²``, so that the glyph never
    wraps around the border (``wrap=False``); ``noise`` is the standard deviation of the added
    Gaussian noise.
    """
    n = _validate.positive_int(n, "n")
    size = _validate.positive_int(size, "size", high=MAX_SIDE)
    _count("n x size x size", n, size, size)
    if size < 3:
        raise ValueError(f"size must be at least 3, the size of a glyph, got {size}")
    noise = _validate.non_negative_float(noise, "noise")
    dtype = _validate.float_dtype(dtype)
    wrap = _validate.boolean(wrap, "wrap")
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    labels = torch.randint(0, len(CLASSES), (n,), generator=generator)
    corners = torch.randint(0, size if wrap else size - 2, (n, 2), generator=generator)
    stamps = torch.zeros(len(CLASSES), size, size, dtype=dtype)
    for k, glyph in enumerate(GLYPHS.values()):
        stamps[k, :3, :3] = glyph
    # Pixel (i, j) of image k shows stamp pixel ((i - p_y) mod H, (j - p_x) mod W): T_p.
    rows = (torch.arange(size) - corners[:, :1]) % size
    columns = (torch.arange(size) - corners[:, 1:]) % size
    clean = stamps[labels[:, None, None], rows[:, :, None], columns[:, None, :]]
    images = clean + noise * torch.randn(n, size, size, generator=generator, dtype=dtype)
    return images[:, None], labels


DIGIT_SIDE = 8
"""The side of scikit-learn's digits: 8 x 8 pixels with 17 grey levels, 0 ... 16."""

DIGIT_COUNT = 1797
"""How many digits scikit-learn's set holds."""

DIGIT_SPLITS = ("train", "test", "all")


@functools.cache
def _digit_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits, ``(1797, 8, 8)`` grey levels / 16 and ``(1797,)`` labels: what
    ``load_digits()`` returns, read from the file it reads (scikit-learn's
    ``datasets/data/digits.csv.gz``: 64 grey levels and the label per row) without importing
    scikit-learn, which takes about a second (it imports SciPy)."""
    spec = importlib.util.find_spec("sklearn")
    table = None
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt") as rows:
                table = np.loadtxt(rows, delimiter=",", dtype=np.float64)
    if table is None or table.shape != (DIGIT_COUNT, DIGIT_SIDE * DIGIT_SIDE + 1):
        from sklearn.datasets import load_digits  # the file moved: ask scikit-learn

        digits = load_digits()
        return np.asarray(digits.images, dtype=np.float64) / 16.0, np.asarray(digits.target)
    images = table[:, :-1].reshape(-1, DIGIT_SIDE, DIGIT_SIDE) / 16.0
    return images, table[:, -1].astype(np.int64)


def digits_on_canvas(
    size: int = 24,
    *,
    split: str = "train",
    test_fraction: float = 0.25,
    max_shift: int = 0,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Handwritten digits on a ``size x size`` canvas: images ``(n, 1, size, size)`` in
    ``[0, 1]`` and their labels ``(n,)`` (``torch.long``, the digit 0 ... 9).

    scikit-learn's 1,797 digits (8 x 8, grey levels 0 ... 16 divided by 16, which every float
    format holds exactly) are split once, by a permutation drawn from the fixed seed 0, into a
    test set of ``round(1797 * test_fraction)`` digits and a training set of the others;
    ``split`` picks ``"train"``, ``"test"`` or ``"all"`` (the data set's own order). Each digit's
    top-left corner sits at ``(size - 8) // 2 + (dy, dx)`` on a canvas of zeros: centred for
    ``max_shift=0``, else ``dy, dx`` uniform in ``-max_shift ... max_shift``, drawn per digit
    from a generator seeded with ``seed``. The digit must stay whole on the canvas:
    ``max_shift <= (size - 8) // 2``.
    Within that range a move of the digit is both a zero-fill translation and a circular shift
    of the centred canvas (``shiftlab.transforms.shift``): pure data movement, exact.
    """
    size = _validate.positive_int(size, "size", high=128)  # 1,797 canvases: bounded memory
    if size < DIGIT_SIDE:
        raise ValueError(f"size must be at least {DIGIT_SIDE}, the side of a digit, got {size}")
    _validate.one_of(split, "split", DIGIT_SPLITS)
    test_fraction = _validate.non_negative_float(test_fraction, "test_fraction")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    max_shift = _validate.integer(max_shift, "max_shift")
    low = (size - DIGIT_SIDE) // 2  # room above and left of a centred digit (<= below, right)
    if not 0 <= max_shift <= low:
        raise ValueError(
            f"max_shift must lie in 0 ... {low} so that every digit stays whole on a "
            f"{size} x {size} canvas, got {max_shift}"
        )
    seed = _validate.integer(seed, "seed")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    pixels, targets = _digit_arrays()
    if split != "all":
        order = torch.randperm(len(pixels), generator=torch.Generator().manual_seed(0))
        n_test = round(len(pixels) * test_fraction)
        chosen = order[:n_test] if split == "test" else order[n_test:]
        pixels, targets = pixels[chosen.numpy()], targets[chosen.numpy()]
    n = len(pixels)
    generator = torch.Generator().manual_seed(seed)
    offsets = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator)
    canvas = torch.zeros(n, 1, size, size, dtype=dtype)
    digits = torch.from_numpy(pixels).to(dtype)
    for k, (dy, dx) in enumerate(offsets.tolist()):
        top, left = low + dy, low + dx
        canvas[k, 0, top : top + DIGIT_SIDE, left : left + DIGIT_SIDE] = digits[k]
    return canvas, torch.from_numpy(targets).long()
