"""Local max pooling under shifts: which pooled values survive a shift, and how many.

Max pooling with an ``s x s`` window and stride ``s`` (``shiftlab.layers.max_pool``):

    y[i, j] = max_{0 <= u, v < s} x[s·i + u, s·j + v]

Write a shift as ``t = s·q + r`` with ``0 <= r < s`` (per axis). The window of output ``(i, j)``
after the shift is the window of ``(i - q_y, j - q_x)`` moved by ``r``, so the law we can hope for
is ``max_pool(T_t x) = T_q max_pool(x)``: exact when ``r = 0`` (``t`` in ``sZ x sZ``). Otherwise a
pooled value *survives* when it equals its counterpart in ``T_q max_pool(x)``. For iid continuous
pixels the old and new window share ``(s - r_y)(s - r_x)`` pixels out of ``2s² - shared``, and

    P(a value survives) = shared / (2s² - shared)        (1/3 for t = (0, 1), 1/7 for (1, 1))

because the largest of the union is equally likely to be any of its pixels.

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
from shiftlab.transforms import shift


def pooled_shift(t: tuple[int, int], size: int = 2) -> tuple[int, int]:
    """The whole number of windows in ``t``: ``q = (dy // s, dx // s)``, the output's shift."""
    dy, dx = _validate.offset(t)
    size = _validate.positive_int(size, "size")
    return dy // size, dx // size


def surviving(x: torch.Tensor, t: tuple[int, int], size: int = 2) -> torch.Tensor:
    """Which pooled values survive the circular shift ``t``: ``max_pool(T_t x) == T_q max_pool(x)``.

    x: ``(H, W)`` or ``(N, C, H, W)`` with ``H`` and ``W`` multiples of ``size`` (so the windows
    tile the torus). Returns a bool tensor of the pooled shape ``(..., H / s, W / s)``.
    """
    x = _validate.image_tensor(x)
    q = pooled_shift(t, size)
    height, width = x.shape[-2:]
    if height % size or width % size:
        raise ValueError(
            f"x must have a height and width that are multiples of size = {size}, so that the "
            f"windows tile the image, got shape {tuple(x.shape)}"
        )
    return max_pool(shift(x, t), size) == shift(max_pool(x, size), q)


def surviving_fraction(x: torch.Tensor, t: tuple[int, int], size: int = 2) -> float:
    """The fraction of the pooled values of ``x`` (all samples together) that survive ``t``."""
    return surviving(x, t, size).double().mean().item()


def survival_probability(t: tuple[int, int], size: int = 2) -> Fraction:
    """``shared / (2s² - shared)`` with ``shared = (s - r_y)(s - r_x)``, ``r = t mod s``.

    The probability that one pooled value of an image of iid continuous pixels survives the
    shift ``t``; it is 1 when ``t`` is a multiple of the stride.
    """
    dy, dx = _validate.offset(t)
    size = _validate.positive_int(size, "size")
    shared = (size - dy % size) * (size - dx % size)
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
    terms = _validate.positive_int(terms, "terms")
    odd = torch.arange(1, 2 * terms, 2, dtype=torch.float64)
    return (2 / math.pi) ** (2 * n) * odd.pow(-2 * n).sum().item()


@torch.no_grad()
def changes_by_shift(
    model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """What each circular shift ``(dy, dx)``, ``0 <= dy, dx < size``, does to a classifier.

    model: maps ``(N, C, H, W)`` to class scores ``(N, K)``; images: ``(N, C, H, W)``.
    Returns two ``(size, size)`` float64 tensors: the fraction of images whose predicted class
    (arg max) changes, and the fraction whose scores change at all, by a relative error above
    ``exact_tolerance`` of their dtype. The unshifted scores are computed once.
    """
    _validate.function(model, "model")
    images = _validate.image_tensor(images, "images", ranks=(4,))
    size = _validate.positive_int(size, "size")
    before = model(images)
    if not isinstance(before, torch.Tensor) or before.shape[:1] != images.shape[:1] \
            or before.dim() != 2:
        raise ValueError(
            f"model must return class scores of shape (N, K) = ({len(images)}, K), got "
            f"{getattr(before, 'shape', type(before).__name__)}"
        )
    predictions = torch.zeros(size, size, dtype=torch.float64)
    scores = torch.zeros(size, size, dtype=torch.float64)
    tol = exact_tolerance(before.dtype)
    for dy in range(size):
        for dx in range(size):
            after = model(shift(images, (dy, dx)))
            predictions[dy, dx] = (after.argmax(1) != before.argmax(1)).double().mean()
            errors = relative_error(after, before, batched=True)
            scores[dy, dx] = (errors > tol).double().mean()
    return predictions, scores
