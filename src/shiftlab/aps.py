"""Adaptive polyphase sampling (APS): downsample by keeping the polyphase component of largest
norm, so that the samples kept follow the content instead of the grid (Chaman & Dokmanić 2021).

With the polyphase components ``P_a x`` of chapter 3 (``stride.polyphase``),

    a*(x) = argmax_a ‖P_a x‖          (ties: the first a in the order (0,0), (0,1), ...)
    APS_s(x) = P_{a*(x)} x            x: (N, C, H, W) -> (N, C, H/s, W/s)

The norm is taken over all channels of a sample together, so every channel keeps the same
samples. A circular shift ``T_t`` permutes the components and shifts each one
(``P_a T_t = T_q P_{(a - t) mod s}``), and shifts keep norms; so the largest component of
``T_t x`` is the largest of ``x``, moved. Whenever the largest is unique,

    APS_s(T_t x) = T_q APS_s(x),   a' = (a* + t) mod s,   q = (t + a* - a') / s

for EVERY shift t, not only for t in ``sZ x sZ`` as with a fixed stride.
"""

from __future__ import annotations

import torch

from shiftlab import _validate
from shiftlab.stride import phase_after_shift, polyphase


def component_norms(x: torch.Tensor, s: int = 2) -> torch.Tensor:
    """``‖P_a x‖`` for every component ``a``: ``(H, W) -> (s, s)``, ``(N, C, H, W) -> (N, s, s)``.

    The norm of a batched sample runs over its channels and pixels together. It is summed in
    float64, so the rounding that a different order of the same values causes (a shifted input)
    is about 1e-16 of the norm: too small to reorder norms unless they tie to 16 digits.
    """
    parts = polyphase(_validate.image_tensor(x), s)  # (s, s, h, w) or (N, C, s, s, h, w)
    if x.dim() == 4:
        parts = parts.movedim(1, 3)  # (N, s, s, C, h, w)
    squares = parts.flatten(start_dim=-3 if x.dim() == 4 else -2).double().square()
    return squares.sum(dim=-1).sqrt()


def aps_phase(x: torch.Tensor, s: int = 2) -> torch.Tensor:
    """The component APS keeps, ``a*(x) = (a_y, a_x)``: shape ``(2,)`` for an ``(H, W)`` image,
    ``(N, 2)`` for a batch (``torch.long``). Ties go to the first in row-major order."""
    with torch.no_grad():  # a choice, not a function to differentiate: no graph for the norms
        norms = component_norms(x, s)
    # argmax returns the first of equal maxima: the deterministic tie-break
    k = norms.flatten(start_dim=-2).argmax(dim=-1)
    return torch.stack([k // s, k % s], dim=-1)


def aps_downsample(x: torch.Tensor, s: int = 2) -> torch.Tensor:
    """``APS_s(x) = P_{a*(x)} x``: the polyphase component of largest norm, per sample.

    x: ``(H, W)`` or ``(N, C, H, W)`` with ``H`` and ``W`` multiples of ``s``;
    returns ``(H/s, W/s)`` or ``(N, C, H/s, W/s)``.
    """
    phase = aps_phase(x, s)
    parts = polyphase(x, s)
    if x.dim() == 2:
        return parts[phase[0], phase[1]]
    samples = torch.arange(len(x))
    # parts[n, :, a_y(n), a_x(n)] for every sample n
    return parts.movedim(1, 3)[samples, phase[:, 0], phase[:, 1]]


def aps_output_shift(x: torch.Tensor, t: tuple[int, int], s: int = 2) -> tuple[int, int]:
    """The shift ``q`` with ``APS_s(T_t x) = T_q APS_s(x)``, for one ``(H, W)`` image ``x``.

    ``a' = (a*(x) + t) mod s`` is the component kept after the shift and
    ``q = (t + a* - a') / s``; it holds when the largest component of ``x`` is unique.
    """
    x = _validate.image_tensor(x, ranks=(2,))
    dy, dx = _validate.offset(t)
    s = _validate.positive_int(s, "s")
    a_y, a_x = (int(v) for v in aps_phase(x, s))
    kept = ((a_y + dy) % s, (a_x + dx) % s)
    _, q = phase_after_shift(kept, (dy, dx), s)  # chapter 3: it holds component a* of x
    return q
