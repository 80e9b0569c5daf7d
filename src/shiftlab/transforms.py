"""Translations of images: circular shift, zero-fill translation and crop-shift.

An image is a tensor ``x`` of shape ``(H, W)`` or ``(N, C, H, W)``; the last two axes are space,
rows ``i`` (down) and columns ``j`` (right). Every translation here moves the *content* by
``t = (dy, dx)``: what was at ``(i, j)`` ends up at ``(i + dy, j + dx)``. They differ in what
happens at the border.

- ``shift`` (circular):       (T_t x)[i, j] = x[(i - dy) mod H, (j - dx) mod W]
  The image lives on a torus. Shifts form a group: T_a T_b = T_{a+b}, T_(H, W) = identity,
  and T_{-t} undoes T_t.
- ``translate`` (zero fill):  (T_t x)[i, j] = x[i - dy, j - dx] if that pixel exists, else 0
  What leaves the frame is lost and zeros come in: not invertible, so not a group action.
- ``crop_shift``:             (T_t x)[i, j] = x[m + i - dy, m + j - dx]
  A camera looking at the central (H - 2m) x (W - 2m) window of a larger scene ``x`` moves by
  -t: new scene content comes in at the border, as in a real photograph.

The classes ``Shift``, ``Translate``, ``CropShift`` and ``Identity`` are the same maps as callable
objects with a readable name, to hand to the measures in ``shiftlab.metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from shiftlab import _validate


def _image(x: Any, name: str = "x") -> torch.Tensor:
    x = _validate.any_tensor(x, name)
    if x.dim() not in (2, 4):
        raise ValueError(f"{name} must have shape (H, W) or (N, C, H, W), got {tuple(x.shape)}")
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f"{name} must have a real numeric dtype (float or int), got {x.dtype}")
    return x


def shift(x: torch.Tensor, t: tuple[int, int]) -> torch.Tensor:
    """Circular shift by ``t = (dy, dx)``: ``(T_t x)[i, j] = x[(i - dy) mod H, (j - dx) mod W]``.

    x: ``(H, W)`` or ``(N, C, H, W)``; returns a new tensor of the same shape.
    Any integers are allowed: ``t`` and ``t + (H, W)`` are the same shift.
    """
    x = _image(x)
    dy, dx = _validate.offset(t)
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))


def translate(x: torch.Tensor, t: tuple[int, int]) -> torch.Tensor:
    """Zero-fill translation by ``t = (dy, dx)``: content moves, vacated pixels become 0.

    ``(T_t x)[i, j] = x[i - dy, j - dx]`` where ``0 <= i - dy < H`` and ``0 <= j - dx < W``, else 0.
    x: ``(H, W)`` or ``(N, C, H, W)``; a translation by ``|dy| >= H`` or ``|dx| >= W`` gives zeros.
    """
    x = _image(x)
    dy, dx = _validate.offset(t)
    height, width = x.shape[-2:]
    out = torch.zeros_like(x)
    if abs(dy) >= height or abs(dx) >= width:
        return out
    rows_dst, rows_src = _overlap(dy, height)
    cols_dst, cols_src = _overlap(dx, width)
    out[..., rows_dst, cols_dst] = x[..., rows_src, cols_src]
    return out


def _overlap(d: int, n: int) -> tuple[slice, slice]:
    """Destination and source index ranges of a 1-D translation by ``d`` of ``n`` samples."""
    if d >= 0:
        return slice(d, n), slice(0, n - d)
    return slice(0, n + d), slice(-d, n)


def center_crop(x: torch.Tensor, margin: int) -> torch.Tensor:
    """Remove ``margin`` pixels on each of the four sides: ``(H, W) -> (H - 2m, W - 2m)``."""
    x = _image(x)
    margin = _validate.integer(margin, "margin")
    height, width = x.shape[-2:]
    if margin < 0 or 2 * margin >= min(height, width):
        raise ValueError(
            f"margin must satisfy 0 <= margin < min(H, W) / 2 = {min(height, width) / 2} "
            f"for x of shape {tuple(x.shape)}, got {margin}"
        )
    return x[..., margin : height - margin, margin : width - margin]


def crop_shift(x: torch.Tensor, t: tuple[int, int], margin: int) -> torch.Tensor:
    """Crop-shift: the central window of a larger scene ``x``, content moved by ``t``.

    ``(T_t x)[i, j] = x[m + i - dy, m + j - dx]`` for ``0 <= i < H - 2m``, ``0 <= j < W - 2m``.
    Equals ``center_crop(shift(x, t), m)`` whenever ``|dy|, |dx| <= m``; no pixel is invented.
    x: ``(H, W)`` or ``(N, C, H, W)``; returns ``(..., H - 2m, W - 2m)``.
    """
    x = _image(x)
    dy, dx = _validate.offset(t)
    window = center_crop(x, margin)
    if abs(dy) > margin or abs(dx) > margin:
        raise ValueError(
            f"t must satisfy |dy|, |dx| <= margin = {margin} so the window stays inside the "
            f"scene, got t = {(dy, dx)}"
        )
    height, width = window.shape[-2:]
    top, left = margin - dy, margin - dx
    return x[..., top : top + height, left : left + width]


def align_peak_to_even(x: torch.Tensor) -> torch.Tensor:
    """Move ``x`` one column to the left when its largest pixel sits in an odd column.

    ``f(x) = T_(0, -p) x`` with ``p = (column of the largest pixel) mod 2``; x: ``(H, W)``, of
    even width (so that a shift by one column always changes the parity). A shift of the input
    comes out as a shift of the output, ``f(T_t x) = T_q f(x)``, but by a
    ``q`` that depends on ``x`` (on ``p``): ``f`` follows every shift, and yet it is not
    equivariant, because no output transformation fixed by ``t`` alone works (chapter 1).
    Adaptive polyphase sampling picks its samples the same way.
    """
    x = _image(x)
    if x.dim() != 2:
        raise ValueError(f"x must have shape (H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must have a floating-point dtype, got {x.dtype}")
    _validate.values(x, "x")
    _validate.finite_values(x, "x")
    column = int(x.argmax()) % x.shape[-1]
    return shift(x, (0, -(column % 2)))


@dataclass(frozen=True)
class Shift:
    """The circular shift ``T_t`` as a callable: ``Shift(1, 2)(x) == shift(x, (1, 2))``."""

    dy: int
    dx: int

    def __post_init__(self) -> None:
        _validate.offset((self.dy, self.dx), "Shift(dy, dx)")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return shift(x, (self.dy, self.dx))

    def inverse(self) -> Shift:
        """``T_t^{-1} = T_{-t}``."""
        return Shift(-self.dy, -self.dx)

    def __repr__(self) -> str:
        return f"Shift(dy={self.dy}, dx={self.dx})"


@dataclass(frozen=True)
class Translate:
    """The zero-fill translation as a callable: ``Translate(1, 2)(x) == translate(x, (1, 2))``."""

    dy: int
    dx: int

    def __post_init__(self) -> None:
        _validate.offset((self.dy, self.dx), "Translate(dy, dx)")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return translate(x, (self.dy, self.dx))

    def __repr__(self) -> str:
        return f"Translate(dy={self.dy}, dx={self.dx})"


@dataclass(frozen=True)
class CropShift:
    """The crop-shift as a callable: ``CropShift(1, 2, m)(x) == crop_shift(x, (1, 2), m)``."""

    dy: int
    dx: int
    margin: int

    def __post_init__(self) -> None:
        _validate.offset((self.dy, self.dx), "CropShift(dy, dx)")
        margin = _validate.integer(self.margin, "margin")
        if abs(self.dy) > margin or abs(self.dx) > margin:
            raise ValueError(f"CropShift needs |dy|, |dx| <= margin = {margin}, got {self!r}")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return crop_shift(x, (self.dy, self.dx), self.margin)

    def __repr__(self) -> str:
        return f"CropShift(dy={self.dy}, dx={self.dx}, margin={self.margin})"


class Identity:
    """The identity map ``x -> x``: the output transformation that turns equivariance into
    invariance."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def __repr__(self) -> str:
        return "Identity()"
