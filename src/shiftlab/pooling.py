"""Local max pooling under shifts: which pooled values survive a shift, and how many.

Max pooling with an ``s x s`` window and stride ``s`` (``shiftlab.layers.max_pool``):

    y[i, j] = max_{0 <= u, v < s} x[s·i + u, s·j + v]

Write a shift as ``t = s·q + r`` with ``0 <= r < s`` (per axis). The window of output ``(i, j)``
after the shift is the window of ``(i - q_y, j - q_x)`` moved by ``r``, so the law we can hope for
is ``max_pool(T_t x) = T_q max_pool(x)``: exact when ``r = 0`` (``t`` in ``sZ x sZ``). Otherwise a
pooled value *survives* when it equals its counterpart in ``T_q max_pool(x)``. For iid continuous
pixels the old and new window share ``(s - r_y)(s - r_x)`` pixels out of ``2s² - shared``, and

    P(a value survives) = shared / (2s² - shared)        (1/3 for t = (0, 1), 1/7 for (1, 1))

because the largest of the union is equally likely to be any of its pixels. That needs all
three conditions: iid continuous pixels (photographs and ReLU maps have neighbours alike and
ties), a circular shift (a zero-fill translation brings in zeros at the border), and at least
two windows per axis (a single window is mapped onto itself).

A classifier ``h ∘ global pool ∘ Φ`` inherits the shifts that its backbone ``Φ`` is equivariant
to as invariances; ``changes_by_shift`` measures, shift by shift, what it does under the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import torch

from shiftlab import _validate
from shiftlab.layers import max_pool
from shiftlab.metrics import exact_tolerance, relative_error
from shiftlab.transforms import shift, translate


def pooled_shift(t: tuple[int, int], size: int = 2) -> tuple[int, int]:
    """The whole number of windows in ``t``: ``q = (dy // s, dx // s)``, the output's shift."""
    dy, dx = _validate.offset(t)
    size = _validate.positive_int(size, "size")
    return dy // size, dx // size


def surviving(
    x: torch.Tensor, t: tuple[int, int], size: int = 2, *, zero_fill: bool = False
) -> torch.Tensor:
    """Which pooled values survive the shift ``t``: ``max_pool(T_t x) == T_q max_pool(x)``.

    x: ``(H, W)`` or ``(N, C, H, W)`` with ``H`` and ``W`` multiples of ``size`` (so the windows
    tile the torus). ``zero_fill=True`` uses the zero-fill translation ``Z_t`` (and ``Z_q``)
    instead of the circular shift. Returns a bool tensor of the pooled shape
    ``(..., H / s, W / s)``. Max pooling only moves values, so the comparison is exact.
    """
    x = _validate.image_tensor(x)
    q = pooled_shift(t, size)
    zero_fill = _validate.boolean(zero_fill, "zero_fill")
    height, width = x.shape[-2:]
    if height % size or width % size:
        raise ValueError(
            f"x must have a height and width that are multiples of size = {size}, so that the "
            f"windows tile the image, got shape {tuple(x.shape)}"
        )
    move = translate if zero_fill else shift
    return max_pool(move(x, t), size) == move(max_pool(x, size), q)


def surviving_fraction(
    x: torch.Tensor, t: tuple[int, int], size: int = 2, *, zero_fill: bool = False
) -> float:
    """The fraction of the pooled values of ``x`` (all samples together) that survive ``t``."""
    _validate.values(_validate.image_tensor(x), "x")
    return surviving(x, t, size, zero_fill=zero_fill).double().mean().item()


def survival_probability(
    t: tuple[int, int], size: int = 2, sides: tuple[int, int] | None = None
) -> Fraction:
    """``shared / (2s² - shared)``: the probability that one pooled value of an image of iid
    continuous pixels survives the circular shift ``t``.

    Per axis, with ``r = d mod s``, the old and the new window share ``s - r`` rows (columns),
    or all ``s`` when that side of the image is a single window (``side = s``: the shift only
    permutes the window's own pixels); ``shared`` is the product. ``sides = (H, W)`` are the
    image's sides, multiples of ``s``; ``None`` means at least two windows per axis. It is 1
    when ``t`` is a multiple of the stride.
    """
    dy, dx = _validate.offset(t)
    size = _validate.positive_int(size, "size")
    if sides is not None:
        sides = _validate.offset(sides, "sides")
        if min(sides) < 1 or sides[0] % size or sides[1] % size:
            raise ValueError(
                f"sides must be positive multiples of size = {size} (the windows tile the "
                f"image), got {sides}"
            )
    windows = (2, 2) if sides is None else (sides[0] // size, sides[1] // size)
    overlap = [size if n == 1 else size - d % size for d, n in zip((dy, dx), windows,
                                                                    strict=True)]
    shared = overlap[0] * overlap[1]
    return Fraction(shared, 2 * size * size - shared)


def row_survival_probability(n: int, *, terms: int = 4000) -> float:
    """The probability that a whole row of ``n >= 2`` windows (2x2, stride 2) survives a shift
    by one pixel along the row, for iid continuous pixels:

        P_n = (2/π)^{2n} Σ_{k >= 0} (2k + 1)^{-2n}     (1/6, 1/15, 17/630, ... ≈ (4/π²)^n)

    Window ``j`` survives when the largest of its three column maxima is the shared column
    ``2j``, so the row survives when the ``2n`` column maxima, around the torus, have a peak at
    every even column. That probability is the trace of ``K^n`` for the kernel
    ``K(v, w) = 1 - max(v, w)`` on ``[0, 1]``, whose eigenvalues are ``4 / ((2k + 1)² π²)``.
    The sum is cut after ``terms`` terms (relative error below 1e-10 for ``n >= 2``).
    """
    n = _validate.positive_int(n, "n")
    if n < 2:
        raise ValueError(
            f"n must be at least 2: a row of one window is mapped onto itself, got {n}"
        )
    n = _validate.positive_int(n, "n", high=10**6)
    terms = _validate.positive_int(terms, "terms", high=10**7)
    odd = torch.arange(1, 2 * terms, 2, dtype=torch.float64)
    return (2 / math.pi) ** (2 * n) * odd.pow(-2 * n).sum().item()


@torch.no_grad()
def changes_by_shift(
    model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """What each circular shift ``(dy, dx)``, ``0 <= dy, dx < size``, does to a classifier.

    model: maps ``(N, C, H, W)`` to class scores ``(N, K)``, or to ``(R, N, K)`` for ``R``
    networks at once (``shiftlab.training.Runs.logits``); images: ``(N, C, H, W)``.
    Returns two float64 tensors, ``(size, size)`` or ``(R, size, size)``: the fraction of images
    whose predicted class (arg max) changes, and the fraction whose scores change at all, by a
    relative error above ``exact_tolerance`` of their dtype. The unshifted scores are computed
    once.
    """
    _validate.function(model, "model")
    images = _validate.input_of(model, images, "images")
    largest = max(images.shape[-2:])
    size = _validate.positive_int(size, "size", high=largest)  # larger sizes repeat shifts
    before = model(images)
    if (not isinstance(before, torch.Tensor) or before.dim() not in (2, 3)
            or before.shape[-2] != len(images)):
        raise ValueError(
            f"model must return class scores of shape (N, K) or (R, N, K) with "
            f"N = {len(images)}, got {getattr(before, 'shape', type(before).__name__)}"
        )
    _validate.finite_values(before, "model(images) (the class scores)")
    runs = before.shape[:-2]
    predictions = torch.zeros(*runs, size, size, dtype=torch.float64, device=before.device)
    scores = torch.zeros(*runs, size, size, dtype=torch.float64, device=before.device)
    tol = exact_tolerance(before.dtype)
    for dy in range(size):
        for dx in range(size):
            after = model(shift(images, (dy, dx)))
            _validate.finite_values(after, "model(images) (the class scores)")
            changed = (after.argmax(-1) != before.argmax(-1)).double().mean(-1)
            errors = relative_error(after.flatten(0, -2), before.flatten(0, -2),
                                    batched=True).view(*runs, -1)
            predictions[..., dy, dx] = changed
            scores[..., dy, dx] = (errors > tol).double().mean(-1)
    return predictions, scores
