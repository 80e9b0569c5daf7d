"""What convolution does and does not commute with (chapter 2): rotations and zooms, and the
circular convolution computed through the Fourier transform.

Rotations by quarter turns and zooms are transformations that convolution does *not* commute with.

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

``fft_conv2d`` is circular convolution through the Fourier transform: the same law, rounded
differently.

``conv2d(x, w, padding="circular")`` computes, for a ``k_h x k_w`` filter and ``p = (k - 1) // 2``,

    y[o, i, j] = Σ_c Σ_{u, v} w[o, c, u, v] · x[c, (i + u − p_h) mod H, (j + v − p_w) mod W].

Placing the filter in an ``H x W`` array,

    K[o, c, (u − p_h) mod H, (v − p_w) mod W] = w[o, c, u, v],

makes this a cross-correlation on the torus, ``y[o] = Σ_c Σ_a K[o, c, a] · x[c, i + a]``, which
the discrete Fourier transform turns into a product at every frequency:

    ŷ[o] = Σ_c conj(K̂[o, c]) · x̂[c].

Mathematically ``fft_conv2d`` and the direct ``conv2d`` are the same map, so both commute with
circular shifts. Numerically they differ: the direct sum adds at most ``C k_h k_w`` products per
pixel, while the FFT mixes all pixels, so its rounding depends on where the content sits.
``fft_equivariance_bound`` says how much: an FFT of ``N`` points passes every value through
``log2 N`` butterfly stages, each rounding by at most ``η ≈ (1 + 4√2) u``, so its relative error
is at most about ``η log2 N`` (Higham 2002, §24.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from shiftlab import _validate
from shiftlab.layers import image_and_filter
from shiftlab.metrics import unit_roundoff

_RANKS = (2, 3, 4)
MAX_ZOOM = 64
"""The largest zoom factor: each pixel becomes at most a 64 x 64 block."""
MAX_ZOOMED = 2**26
"""The most values a zoomed image may have (256 MB in float32)."""


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
    factor = _validate.positive_int(factor, "factor", high=MAX_ZOOM)
    if x.numel() * factor**2 > MAX_ZOOMED:
        raise ValueError(f"factor must keep the zoomed image at most {MAX_ZOOMED} values "
                         f"(x has {x.numel()}), got {factor}")
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
        _validate.positive_int(self.factor, "factor", high=MAX_ZOOM)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return zoom(x, self.factor)

    def __repr__(self) -> str:
        return f"Zoom(factor={self.factor})"


def fft_conv2d(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Circular convolution (cross-correlation) of ``x`` with ``weight`` computed with the FFT.

    x: ``(H, W)`` with weight ``(k_h, k_w)``, or ``(N, C, H, W)`` with weight ``(O, C, k_h, k_w)``;
    the filter must fit in the image. Returns ``(H, W)`` or ``(N, O, H, W)``, equal to
    ``conv2d(x, weight, padding="circular")`` up to rounding.
    """
    x, weight, single = image_and_filter(x, weight)
    height, width = x.shape[-2:]
    k_h, k_w = weight.shape[-2:]
    if k_h > height or k_w > width:
        raise ValueError(
            f"weight must fit in the image {(height, width)}, got a {k_h}x{k_w} kernel"
        )
    kernel = torch.zeros(*weight.shape[:2], height, width, dtype=x.dtype, device=x.device)
    kernel[..., :k_h, :k_w] = weight
    kernel = torch.roll(kernel, shifts=(-((k_h - 1) // 2), -((k_w - 1) // 2)), dims=(-2, -1))
    spectrum = torch.einsum(
        "nchw,ochw->nohw", torch.fft.rfft2(x), torch.fft.rfft2(kernel).conj()
    )
    y = torch.fft.irfft2(spectrum, s=(height, width))
    return y[0, 0] if single else y


def fft_equivariance_bound(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The largest relative equivariance error rounding can give ``fft_conv2d(x, weight)``.

    Both sides of ``fft_conv2d(T_t x) = T_t fft_conv2d(x)`` use the same filter spectrum ``K̂``
    (rounded, but the same map on both sides), so only the rounding of the image's FFT, of the
    products and their sum over the channels, and of the inverse FFT differ. With
    ``a = η log2(HW)``, ``η = u + γ_4 (√2 + u)`` the error of one butterfly stage, and
    ``s_o = Σ_c ‖x_c‖ max |K̂_oc|`` (which bounds ``‖y_o‖``), each side is off by at most
    ``(2 a + (C + 3) u) s_o`` in output channel ``o``; the bound is twice that, relative to
    ``‖y‖``. This is Higham's bound for radix-2 FFTs (Theorem 24.2); the mixed-radix and
    Bluestein FFTs that libraries use for other sizes have bounds of the same form.
    x, weight: as for ``fft_conv2d``; returns one bound per sample, shape ``(N,)`` (0-dim for a
    single image).
    """
    x, weight, single = image_and_filter(x, weight)
    height, width = x.shape[-2:]
    k_h, k_w = weight.shape[-2:]
    if k_h > height or k_w > width:
        raise ValueError(
            f"weight must fit in the image {(height, width)}, got a {k_h}x{k_w} kernel"
        )
    u = unit_roundoff(x.dtype)
    eta = u + 4 * u / (1 - 4 * u) * (2**0.5 + u)
    per_side = 2 * eta * math.log2(height * width) + (x.shape[1] + 3) * u
    kernel = torch.zeros(*weight.shape[:2], height, width, dtype=x.dtype, device=x.device)
    kernel[..., :k_h, :k_w] = weight
    spectrum_max = torch.fft.fft2(kernel).abs().amax(dim=(-2, -1))  # (O, C)
    image_norms = torch.linalg.vector_norm(x, dim=(-2, -1))  # (N, C)
    scale = torch.linalg.vector_norm(image_norms @ spectrum_max.T, dim=1)  # (N,)
    y = fft_conv2d(x, weight)
    norms = torch.linalg.vector_norm(y.flatten(1), dim=1)
    bound = 2 * per_side * scale / torch.where(norms == 0, torch.ones_like(norms), norms)
    bound = torch.where(norms == 0, torch.full_like(bound, float("inf")), bound)
    return bound[0] if single else bound
