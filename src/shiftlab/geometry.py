"""Rotations by quarter turns and zooms: transformations that convolution does *not* commute with.

An image is ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``; the last two axes are space.

- ``rotate90`` (``k`` quarter turns, counter-clockwise):  for ``k = 1``,
  ``(R x)[i, j] = x[j, W - 1 - i]`` and ``(H, W) -> (W, H)``. Quarter turns form a group:
  ``R^a R^b = R^{a+b}`` and ``R^4 = id``.
- ``zoom`` (integer factor ``s``, nearest neighbour): ``(S_s x)[i, j] = x[i // s, j // s]``,
  ``(H, W) -> (sH, sW)``: every pixel becomes an ``s x s`` block.
- ``rotation_average(w) = (1/4) Σ_k R^k w``: a kernel with ``R w = w``. A convolution with such a
  kernel (odd size, square image) commutes with ``R``; with a generic kernel it does not.

``Rotate90`` and ``Zoom`` are the same maps as callables with a readable name, like
``shiftlab.transforms.Shift``, to hand to ``shiftlab.metrics.equivariance_error``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from shiftlab import _validate

_RANKS = (2, 3, 4)


def rotate90(x: torch.Tensor, k: int = 1) -> torch.Tensor:
    """Rotate by ``k`` quarter turns counter-clockwise: ``(R x)[i, j] = x[j, W - 1 - i]`` for k = 1.

    x: ``(..., H, W)`` with 2 to 4 axes; returns ``(..., W, H)`` for odd ``k``.
    Any integer ``k`` is allowed: ``k`` and ``k + 4`` are the same rotation, ``-1`` is clockwise.
    """
    x = _validate.image_tensor(x, ranks=_RANKS)
    k = _validate.integer(k, "k")
    return torch.rot90(x, k, dims=(-2, -1))


def zoom(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest-neighbour zoom by an integer ``factor`` s: ``(S_s x)[i, j] = x[i // s, j // s]``.

    x: ``(..., H, W)`` with 2 to 4 axes; returns ``(..., sH, sW)``.
    """
    x = _validate.image_tensor(x, ranks=_RANKS)
    factor = _validate.positive_int(factor, "factor")
    return x.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


def rotation_average(weight: torch.Tensor) -> torch.Tensor:
    """The average of a kernel over the four quarter turns, ``(1/4) Σ_{k=0}^{3} R^k w``.

    weight: ``(k, k)`` or a filter bank ``(O, C, k, k)`` with square filters; returns the same
    shape, with ``rotate90(result) == result`` bit for bit: the four values of each orbit of
    taps are added in sorted order, so every tap of the orbit gets the same rounded sum, on
    every CPU. An oriented filter (an edge detector) averages to zero: its rotations cancel.
    """
    weight = _validate.image_tensor(weight, "weight")
    if weight.shape[-2] != weight.shape[-1]:
        raise ValueError(
            f"weight must have square filters (k, k), got shape {tuple(weight.shape)}"
        )
    orbit = torch.stack([rotate90(weight, k) for k in range(4)]).sort(dim=0).values
    return (((orbit[0] + orbit[1]) + orbit[2]) + orbit[3]) / 4


@dataclass(frozen=True)
class Rotate90:
    """``k`` quarter turns counter-clockwise as a callable: ``Rotate90(1)(x) == rotate90(x, 1)``."""

    k: int = 1

    def __post_init__(self) -> None:
        _validate.integer(self.k, "k")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return rotate90(x, self.k)

    def inverse(self) -> Rotate90:
        """``R_k^{-1} = R_{-k}``."""
        return Rotate90(-self.k)

    def __repr__(self) -> str:
        return f"Rotate90(k={self.k})"


@dataclass(frozen=True)
class Zoom:
    """The nearest-neighbour zoom as a callable: ``Zoom(2)(x) == zoom(x, 2)``."""

    factor: int = 2

    def __post_init__(self) -> None:
        _validate.positive_int(self.factor, "factor")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return zoom(x, self.factor)

    def __repr__(self) -> str:
        return f"Zoom(factor={self.factor})"
