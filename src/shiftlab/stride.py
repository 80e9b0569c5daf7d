"""Stride: downsampling keeps one sample in ``s`` along each axis, and with it only some shifts.

Downsampling by ``s`` keeps the samples on the grid ``sZ x sZ``; a stride-``s`` convolution is
the stride-1 convolution followed by it:

    (D_s x)[i, j] = x[s·i, s·j]                 x: (..., H, W) -> (..., H/s, W/s)

On images whose sides are multiples of ``s`` (so that ``D_s x`` again lives on a torus)

    D_s T_t = T_{t/s} D_s        for every shift t in sZ x sZ, and for no other shift.

The polyphase components say which samples a shift brings onto the grid:

    (P_a x)[i, j] = x[s·i + a_y, s·j + a_x]      a in {0, ..., s-1}^2,   D_s = P_(0, 0)
    P_a T_t = T_q P_r     with r = (a - t) mod s  and  q = (t - a + r) / s  (= ceil((t - a) / s))

so ``D_s T_t = T_q P_r`` keeps component ``r = -t mod s`` of the input: for ``t`` outside
``sZ x sZ`` other samples than before, which no shift of ``D_s x`` can reproduce (aliasing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from shiftlab import _validate
from shiftlab.metrics import rounding_bound
from shiftlab.transforms import shift

Image = Callable[[torch.Tensor], torch.Tensor]


def _grid_image(x: Any, s: int, name: str = "x") -> torch.Tensor:
    """Check that ``x`` is a real ``(H, W)`` or ``(N, C, H, W)`` tensor, sides divisible by s."""
    x = _validate.any_tensor(x, name)
    if x.dim() not in (2, 4):
        raise ValueError(f"{name} must have shape (H, W) or (N, C, H, W), got {tuple(x.shape)}")
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f"{name} must have a real numeric dtype (float or int), got {x.dtype}")
    height, width = x.shape[-2:]
    if height % s or width % s:
        raise ValueError(
            f"{name} must have a height and width divisible by s = {s}, so that the samples "
            f"kept form a torus again, got shape {tuple(x.shape)}"
        )
    return x


def downsample(x: torch.Tensor, s: int) -> torch.Tensor:
    """Keep every ``s``-th sample along both axes: ``(D_s x)[i, j] = x[s·i, s·j]``.

    x: ``(H, W)`` or ``(N, C, H, W)`` with ``H`` and ``W`` multiples of ``s``;
    returns ``(H/s, W/s)`` or ``(N, C, H/s, W/s)``.
    """
    s = _validate.positive_int(s, "s")
    x = _grid_image(x, s)
    return x[..., ::s, ::s]


def polyphase(x: torch.Tensor, s: int) -> torch.Tensor:
    """The ``s·s`` polyphase components: ``p[..., a_y, a_x, i, j] = x[..., s·i + a_y, s·j + a_x]``.

    x: ``(H, W)`` or ``(N, C, H, W)`` with ``H`` and ``W`` multiples of ``s``;
    returns ``(s, s, H/s, W/s)`` or ``(N, C, s, s, H/s, W/s)``. Component ``(0, 0)`` is
    ``downsample(x, s)``; together the components hold every pixel once.
    """
    s = _validate.positive_int(s, "s")
    x = _grid_image(x, s)
    height, width = x.shape[-2:]
    # (..., H, W) -> (..., H/s, s, W/s, s): row s·i + a_y is [i, a_y], column s·j + a_x is [j, a_x]
    split = x.reshape(*x.shape[:-2], height // s, s, width // s, s)
    return split.movedim((-3, -1), (-4, -3))


def merge_polyphase(p: torch.Tensor) -> torch.Tensor:
    """Put the polyphase components back together: the inverse of ``polyphase``.

    p: ``(s, s, h, w)`` or ``(N, C, s, s, h, w)``; returns ``(s·h, s·w)`` or ``(N, C, s·h, s·w)``.
    """
    p = _validate.any_tensor(p, "p")
    if p.dim() not in (4, 6) or p.shape[-4] != p.shape[-3]:
        raise ValueError(
            f"p must have shape (s, s, h, w) or (N, C, s, s, h, w), got {tuple(p.shape)}"
        )
    s, height, width = p.shape[-4], p.shape[-2], p.shape[-1]
    return p.movedim((-4, -3), (-3, -1)).reshape(*p.shape[:-4], s * height, s * width)


def in_subgroup(t: tuple[int, int], s: int) -> bool:
    """Whether the shift ``t = (dy, dx)`` lies in ``sZ x sZ``: both offsets multiples of ``s``."""
    dy, dx = _validate.offset(t)
    s = _validate.positive_int(s, "s")
    return dy % s == 0 and dx % s == 0


def output_shift(t: tuple[int, int], s: int) -> tuple[int, int]:
    """The shift ``t / s`` of the output of a stride-``s`` layer: ``D_s T_t = T_{t/s} D_s``.

    Defined only for ``t`` in ``sZ x sZ``; any other ``t`` raises ``ValueError``, because then no
    shift of the output matches (see ``phase_after_shift``).
    """
    dy, dx = _validate.offset(t)
    s = _validate.positive_int(s, "s")
    if not in_subgroup((dy, dx), s):
        raise ValueError(
            f"t must lie in the subgroup {s}Z x {s}Z (both offsets multiples of s = {s}) for "
            f"t / s to be a shift, got t = {(dy, dx)}"
        )
    return dy // s, dx // s


def phase_after_shift(
    a: tuple[int, int], t: tuple[int, int], s: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Where component ``a`` of a shifted image comes from: ``P_a T_t x = T_q P_r x``.

    Returns ``(r, q)`` with ``r = (a - t) mod s`` (the component of ``x`` it holds) and
    ``q = (t - a + r) / s`` (how far that component moves), per axis. With ``a = (0, 0)`` this
    says what a stride keeps: ``D_s T_t x = T_q P_r x``, and ``r = (0, 0)`` only for ``t`` in
    ``sZ x sZ``, where ``q = t / s``.
    """
    a_y, a_x = _validate.offset(a, "a")
    dy, dx = _validate.offset(t)
    s = _validate.positive_int(s, "s")
    if not (0 <= a_y < s and 0 <= a_x < s):
        raise ValueError(f"a must have both entries in 0 ... s - 1 = {s - 1}, got {(a_y, a_x)}")
    r = ((a_y - dy) % s, (a_x - dx) % s)
    q = ((dy - a_y + r[0]) // s, (dx - a_x + r[1]) // s)
    return r, q


_CHUNK_ELEMENTS = 2**24
"""At most this many numbers in the shifted copies held at once (64 MB in float32)."""


def _copy_errors(moved: torch.Tensor, fx: torch.Tensor, batched: bool) -> torch.Tensor:
    """``‖moved − T_q fx‖ / ‖fx‖`` for every output shift q, shape ``(h·w,)`` or ``(h·w, N)``.

    Where ``‖fx‖ = 0`` the error is 0 if ``moved = 0`` and ``inf`` otherwise, as in
    ``metrics.relative_error``.
    """
    height, width = fx.shape[-2:]
    space = tuple(range(1 if batched else 0, fx.dim()))  # every axis but the batch axis
    reference = torch.linalg.vector_norm(fx, dim=space)
    zero = reference == 0
    # rows[qy, i] = (i - qy) mod h, columns[qx, j] = (j - qx) mod w: (T_q fx)[i, j] for all q
    index = torch.arange(max(height, width), device=fx.device)
    rows = (index[None, :height] - index[:height, None]) % height
    columns = (index[None, :width] - index[:width, None]) % width
    chunk = max(1, _CHUNK_ELEMENTS // (fx.numel() * width))  # few large steps: fast on CPU
    distances = []
    for start in range(0, height, chunk):
        some_rows = rows[start : start + chunk]
        copies = fx[..., some_rows[:, None, :, None], columns[None, :, None, :]]
        copies = copies.movedim((-4, -3), (0, 1))  # (qy, qx, ...)
        distance = torch.linalg.vector_norm(moved - copies, dim=tuple(d + 2 for d in space))
        distances.append(distance.flatten(0, 1))
    distance = torch.cat(distances)
    error = distance / torch.where(zero, torch.ones_like(reference), reference)
    return torch.where(zero & (distance > 0), torch.full_like(error, float("inf")), error)


def _moved_and_reference(
    f: Image, x: torch.Tensor, t: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    _validate.function(f, "f")
    x = _validate.image_tensor(x)
    t = _validate.offset(t)
    with torch.no_grad():
        fx, moved = f(x), f(shift(x, t))
    for name, value in (("f(x)", fx), ("f(T_t x)", moved)):
        if not isinstance(value, torch.Tensor) or value.dim() != x.dim():
            raise ValueError(
                f"{name} must be an image of the rank of x ({x.dim()}), so that it can be "
                f"shifted; got {type(value).__name__} of shape {tuple(getattr(value, 'shape', ()))}"
            )
    if moved.shape != fx.shape:
        raise ValueError(
            f"f must give outputs of one shape for x and its shift, got f(x) of shape "
            f"{tuple(fx.shape)} and f(T_t x) of shape {tuple(moved.shape)}"
        )
    return moved, fx, x.dim() == 4


def shifted_copy_error(f: Image, x: torch.Tensor, t: tuple[int, int]) -> torch.Tensor:
    """How far ``f(T_t x)`` is from every shifted copy of ``f(x)``:

        min over output shifts q of  ‖f(T_t x) − T_q f(x)‖ / ‖f(x)‖

    the smallest equivariance error any circular shift ``T'`` of the output can achieve. It is 0
    exactly when the output of the shifted input is a shifted copy of the output.
    f: image to image; x: ``(H, W)`` (a 0-dim result) or ``(N, C, H, W)`` (shape ``(N,)``).
    """
    moved, fx, batched = _moved_and_reference(f, x, t)
    return _copy_errors(moved, fx, batched).amin(dim=0)


def shifted_copy_bound(
    f: Image, magnitude: Image, x: torch.Tensor, t: tuple[int, int], terms: int
) -> torch.Tensor:
    """The largest ``shifted_copy_error`` that rounding alone can cause:

        γ_n ( ‖M(T_t |x|)‖ + ‖M(|x|)‖ ) / ‖f(x)‖,     n = terms

    with ``M = magnitude``, ``f`` with every weight replaced by its absolute value
    (``shiftlab.metrics.magnitude_network``). Where the output of the shifted input is a shifted
    copy in exact arithmetic, the measured error is at most this, on every CPU. Shaped like
    ``shifted_copy_error(f, x, t)``. For pure data movement (``downsample``) use 0: nothing is
    rounded.
    """
    _validate.function(magnitude, "magnitude")
    _, fx, batched = _moved_and_reference(f, x, t)
    terms = _validate.positive_int(terms, "terms")
    with torch.no_grad():
        m_moved, m_still = magnitude(shift(x, t).abs()), magnitude(x.abs())
    space = tuple(range(1 if batched else 0, fx.dim()))
    norms = [torch.linalg.vector_norm(v, dim=space) for v in (m_moved, m_still, fx)]
    reference = torch.where(norms[2] == 0, torch.ones_like(norms[2]), norms[2])
    bound = rounding_bound(norms[0] + norms[1], terms) / reference
    return torch.where(norms[2] == 0, torch.full_like(bound, float("inf")), bound)


def best_output_shift(f: Image, x: torch.Tensor, t: tuple[int, int]) -> tuple[int, int]:
    """The output shift ``q`` that brings ``f(x)`` closest to ``f(T_t x)``, for one ``(H, W)`` x.

    For ``t`` in ``sZ x sZ`` and a stride-``s`` map it is ``t / s`` (modulo the output size).
    """
    x = _validate.values(_validate.image_tensor(x, ranks=(2,)), "x")
    moved, fx, _ = _moved_and_reference(f, x, t)
    for name, value in (("f(x)", fx), ("f(T_t x)", moved)):
        _validate.finite_values(value, name)
    errors = _copy_errors(moved, fx, False)
    if bool(torch.isnan(errors).all()):
        raise ValueError("f(x) must not be all zeros while f(T_t x) is zero too: no output "
                         "shift is closer than another")
    k = int(errors.argmin())
    return divmod(k, fx.shape[-1])


def zone_plate(size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The test pattern of aliasing: rings ``cos(π (x² + y²) / (√2 size))``, ``(size, size)``.

    ``(x, y)`` is the position relative to the centre. The rings' local frequency along the
    columns is ``√2 π |x| / size`` radians per pixel, along the rows ``√2 π |y| / size``: at
    most ``π / √2`` at the edges, below the ``π`` a pixel grid can carry. A stride-2 grid carries
    at most ``π / 2`` along each axis, so it aliases the rings wherever ``|x|`` or ``|y|``
    exceeds ``size / (2√2)`` (``aliased_region``): outside a square, not a disc.
    """
    size = _validate.positive_int(size, "size", high=4096)
    dtype = _validate.float_dtype(dtype)
    index = torch.arange(size, dtype=torch.float64) - size / 2
    squared = index[:, None] ** 2 + index[None, :] ** 2
    return torch.cos(torch.pi * squared / (2**0.5 * size)).to(dtype)


def aliased_region(size: int, s: int = 2) -> torch.Tensor:
    """Where a stride-``s`` grid aliases ``zone_plate(size)``: a bool ``(size, size)`` map, True
    where ``|x|`` or ``|y|`` (from the centre) exceeds ``size / (s √2)``, the distance at which
    the rings' frequency along that axis passes ``π / s``. The outside of a square."""
    size = _validate.positive_int(size, "size", high=4096)
    s = _validate.positive_int(s, "s")
    offset = (torch.arange(size, dtype=torch.float64) - size / 2).abs()
    beyond = offset > size / (s * 2**0.5)
    return beyond[:, None] | beyond[None, :]


def above_nyquist(x: torch.Tensor, s: int) -> torch.Tensor:
    """The part of ``x`` that a stride-``s`` grid cannot carry: ``x`` minus its ideal low-pass.

    The low-pass keeps, in the discrete Fourier transform of each ``(H, W)`` image, the
    frequencies of at most ``π / s`` radians per pixel along each axis (the Nyquist frequency
    of the grid ``sZ x sZ``) and removes the rest; what it removes is what folds back, as
    aliasing, when the image is downsampled by ``s``. x: ``(H, W)`` or ``(N, C, H, W)`` with
    sides that are multiples of ``2 s``; returns the same shape.
    """
    s = _validate.positive_int(s, "s")
    x = _grid_image(x, 2 * s)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"x must have dtype float32 or float64 (the FFT's), got {x.dtype}")
    height, width = x.shape[-2:]
    _validate.finite_values(x, "x")
    rows = torch.fft.fftfreq(height, dtype=torch.float64, device=x.device).abs() <= 1 / (2 * s)
    columns = torch.fft.fftfreq(width, dtype=torch.float64, device=x.device).abs() <= 1 / (2 * s)
    low = torch.fft.ifft2(torch.fft.fft2(x) * (rows[:, None] & columns[None, :])).real
    return x - low.to(x.dtype)


def component_norms(x: torch.Tensor, s: int = 2) -> torch.Tensor:
    """``‖P_a x‖`` for every component ``a``: ``(H, W) -> (s, s)``, ``(N, C, H, W) -> (N, s, s)``.

    The norm of a batched sample runs over its channels and pixels together. It is summed in
    float64, so the rounding that a different order of the same values causes (a shifted input)
    is about 1e-16 of the norm: too small to reorder norms unless they tie to 16 digits.
    """
    parts = polyphase(_validate.image_tensor(x), s)  # (s, s, h, w) or (N, C, s, s, h, w)
    if x.dim() == 4:
        parts = parts.movedim(1, 3)  # (N, s, s, C, h, w)
    # one pass to contiguous float64 (the order flatten would give), then the squares
    squares = parts.to(torch.float64, memory_format=torch.contiguous_format).square()
    return squares.flatten(start_dim=-3 if x.dim() == 4 else -2).sum(dim=-1).sqrt()
