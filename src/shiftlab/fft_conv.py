"""Circular convolution through the Fourier transform: the same law, rounded differently.

``conv2d(x, w, padding="circular")`` computes, for a ``k_h x k_w`` filter and ``p = (k - 1) // 2``,

    y[o, i, j] = Σ_c Σ_{u, v} w[o, c, u, v] · x[c, (i + u − p_h) mod H, (j + v − p_w) mod W].

Placing the filter in an ``H x W`` array,

    K[o, c, (u − p_h) mod H, (v − p_w) mod W] = w[o, c, u, v],

makes this a cross-correlation on the torus, ``y[o] = Σ_c Σ_a K[o, c, a] · x[c, i + a]``, which
the discrete Fourier transform turns into a product at every frequency:

    ŷ[o] = Σ_c conj(K̂[o, c]) · x̂[c].

Mathematically ``fft_conv2d`` and the direct ``conv2d`` are the same map, so both commute with
circular shifts. Numerically they differ: the direct sum multiplies the same numbers in the same
order at every pixel, while the FFT mixes all pixels, so its rounding depends on where the content
sits and the equivariance error is a few machine epsilons instead of zero.
"""

from __future__ import annotations

import torch

from shiftlab.layers import image_and_filter


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
