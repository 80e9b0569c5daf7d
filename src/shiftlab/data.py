"""Images for the experiments, generated or shipped with matplotlib: nothing is downloaded.

Every random function takes a ``seed`` and draws from its own ``torch.Generator``, so a notebook
gives the same numbers on every run whatever else it has drawn before.
"""

from __future__ import annotations

import matplotlib.cbook
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from shiftlab import _validate


def sample_image(size: int = 64, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A natural photograph (Grace Hopper, shipped with matplotlib) as a ``(size, size)`` image.

    Grayscale, the central square cropped, resized with anti-aliasing, values in ``[0, 1]``.
    """
    size = _validate.positive_int(size, "size")
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
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    height, width = _size(size)
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
        _validate.positive_int(size, "size"),
        size,
    )
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
    n = _validate.positive_int(n, "n")
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
        height = _validate.positive_int(size[0], "size[0]")
        return height, _validate.positive_int(size[1], "size[1]")
    side = _validate.positive_int(size, "size")
    return side, side
