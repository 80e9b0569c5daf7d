"""A small classification task whose answer does not depend on position: which glyph is it?

Each image is a noisy ``size x size`` canvas with one 3x3 glyph, a ``plus`` (class 0) or a
diagonal ``cross`` (class 1), pasted at a uniformly random position on the torus (it may wrap
around the border):

    x = T_p g_label + noise,    p uniform on Z_H x Z_W,   noise iid N(0, σ²)

Because ``p`` is uniform, a circular shift of the data set is another sample of the same task:
a classifier that changes its answer when the image is shifted is wrong to do so. With
``wrap=False`` the glyph lies wholly inside the image (``p`` uniform on ``[0, size - 3]²``): no
glyph is split by the border, which would favour networks that pad circularly. Everything is
generated from a seed: nothing is downloaded.
"""

from __future__ import annotations

import torch

from shiftlab import _validate

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
    size = _validate.positive_int(size, "size")
    if size < 3:
        raise ValueError(f"size must be at least 3, the size of a glyph, got {size}")
    noise = _validate.non_negative_float(noise, "noise")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    if not isinstance(wrap, bool):
        raise TypeError(f"wrap must be a bool, got {wrap!r}")
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
