"""Circular convolution through the Fourier transform: the same law, rounded differently.

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

import torch

from shiftlab.layers import image_and_filter
from shiftlab.metrics import unit_roundoff


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
    kernel = torch.zeros(*weight.shape[:2], height, width, dtype=x.dtype)
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
    kernel = torch.zeros(*weight.shape[:2], height, width, dtype=x.dtype)
    kernel[..., :k_h, :k_w] = weight
    spectrum_max = torch.fft.fft2(kernel).abs().amax(dim=(-2, -1))  # (O, C)
    image_norms = torch.linalg.vector_norm(x, dim=(-2, -1))  # (N, C)
    scale = torch.linalg.vector_norm(image_norms @ spectrum_max.T, dim=1)  # (N,)
    y = fft_conv2d(x, weight)
    norms = torch.linalg.vector_norm(y.flatten(1), dim=1)
    bound = 2 * per_side * scale / torch.where(norms == 0, torch.ones_like(norms), norms)
    bound = torch.where(norms == 0, torch.full_like(bound, float("inf")), bound)
    return bound[0] if single else bound
