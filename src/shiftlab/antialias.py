"""Anti-aliasing: blur before the stride, so a shift changes the downsampled output less.

A *binomial filter* of size ``k`` is ``[1, 1]`` convolved with itself ``k - 1`` times, normalised
to sum 1: a row of Pascal's triangle over ``2^(k-1)``,

    b_1 = [1],  b_2 = [1, 1]/2,  b_3 = [1, 2, 1]/4,  b_4 = [1, 3, 3, 1]/8,  ...

and its 2-D version is the outer product ``B = b bᵀ``. BlurPool (Zhang 2019) blurs every channel
with ``B`` and then keeps every ``s``-th sample:

    blur_pool(x) = D_s (B * x)        x: (N, C, H, W) -> (N, C, ⌈H/s⌉, ⌈W/s⌉)

The blur removes most of the content that varies faster than the stride-``s`` grid can follow,
so the ``s²`` polyphase components of ``B * x`` look alike and a shift off the subgroup
``sZ x sZ`` changes the output little. Little, not nothing: ``D_s`` still keeps another
component after an odd shift.

*Aliasing* is measured as what it is (``aliased_energy``): the fraction of the energy of a map
at frequencies a stride-2 grid cannot carry, ``|ω_y| > π/2`` or ``|ω_x| > π/2``; the stride
folds it back onto the frequencies it keeps. An ideal low-pass filter (``ideal_lowpass``)
leaves none; a binomial filter leaves less the more taps it has (``binomial_aliasing``, for
white noise).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from shiftlab import _validate
from shiftlab.layers import pad

BLUR_PADDINGS = ("circular", "same", "reflect")

MAX_TAPS = 1024
"""The largest binomial filter: ``b_k`` sums ``2^(k-1)`` in float64, which overflows past 2^1023."""
MAX_FREQUENCIES = 2**20
"""The most DFT samples ``frequency_response`` and ``binomial_aliasing`` take."""
"""The paddings that keep the size of the blurred map (``conv2d``'s modes of that kind)."""


def _full_convolution(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(a * b)[n] = Σ_k a[k] b[n - k]``, all ``len(a) + len(b) - 1`` outputs."""
    # conv1d cross-correlates, so the flipped b makes it a convolution
    out = F.conv1d(a[None, None], b.flip(0)[None, None], padding=len(b) - 1)
    return out[0, 0]


def binomial_filter(size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The binomial filter ``b_k = [1, 1]^{*(k-1)} / 2^(k-1)``, shape ``(size,)``, sum 1.

    ``b_k[j] = C(k-1, j) / 2^(k-1)``: row ``k - 1`` of Pascal's triangle, computed by ``k - 1``
    convolutions with ``[1, 1]`` (in float64, exact in integers, then cast to ``dtype``).
    """
    size = _validate.positive_int(size, "size", high=MAX_TAPS)
    dtype = _validate.float_dtype(dtype)
    taps = torch.ones(1, dtype=torch.float64)
    pair = torch.ones(2, dtype=torch.float64)
    for _ in range(size - 1):
        taps = _full_convolution(taps, pair)
    return (taps / taps.sum()).to(dtype)


def binomial_kernel(size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The 2-D binomial filter ``B[u, v] = b[u] b[v]``, shape ``(size, size)``, sum 1."""
    taps = binomial_filter(size, dtype)
    return torch.outer(taps, taps)


def _blur(x: torch.Tensor, size: int, padding: str, s: int) -> torch.Tensor:
    """``(B * x)[..., s·i, s·j]``: the blur, then every ``s``-th sample."""
    x = _validate.image_tensor(x)
    size = _validate.positive_int(size, "size", high=MAX_TAPS)
    _validate.one_of(padding, "padding", BLUR_PADDINGS)
    height, width = x.shape[-2:]
    if s > max(height, width):
        raise ValueError(f"s must be at most the image size {(height, width)}, got {s}")
    if size > 2 * max(height, width):
        raise ValueError(f"size must be at most twice the image size {(height, width)}, "
                         f"got {size}")
    if padding != "same" and size > min(height, width):
        raise ValueError(
            f"size must be at most the image size {(height, width)} for {padding} padding, "
            f"got {size}"
        )
    batch = x if x.dim() == 4 else x[None, None]
    if size == 2 and s == 2 and height % 2 == 0 and width % 2 == 0:
        # b_2 at stride 2 on even sides is the 2 x 2 average pool: the padding falls after the
        # last window, so this is the general path below without the pad (the same numbers)
        out = F.avg_pool2d(batch, 2)
        return out if x.dim() == 4 else out[0, 0]
    # B * x is k - 1 averages of neighbouring 2 x 2 pixels (the definition of the binomial
    # filter, b_k = [1, 1]/2 * b_(k-1), on both axes at once): a 2 x 2 average pool with stride
    # 1, repeated. With s = 2 the last average takes stride 2 and computes only what D_2 keeps.
    out = pad(batch, (size, size), padding)
    for step in range(size - 1):
        last = step == size - 2 and s == 2
        out = F.avg_pool2d(out, 2, stride=2 if last else 1)
    if size == 1 or s != 2:
        out = out[..., ::s, ::s]
    return out if x.dim() == 4 else out[0, 0]


def blur(x: torch.Tensor, size: int = 3, padding: str = "circular") -> torch.Tensor:
    """Every channel convolved with the binomial filter ``B`` of ``size``: ``B * x``.

    x: ``(H, W)`` or ``(N, C, H, W)``; returns the same shape. padding: one of ``BLUR_PADDINGS``
    (``"circular"`` keeps the blur equivariant to every circular shift). An even ``size`` puts
    its centre half a pixel down and right, as ``conv2d`` does for even filters.
    """
    return _blur(x, size, padding, 1)


def blur_pool(
    x: torch.Tensor, s: int = 2, size: int = 3, padding: str = "circular"
) -> torch.Tensor:
    """BlurPool: blur with the binomial filter of ``size``, then keep every ``s``-th sample.

    ``blur_pool(x)[..., i, j] = (B * x)[..., s·i, s·j]``. x: ``(H, W)`` or ``(N, C, H, W)``;
    returns ``(..., ⌈H/s⌉, ⌈W/s⌉)``. On sides that are multiples of ``s`` it is
    ``stride.downsample(blur(x, size, padding), s)``; ``size = 1`` is plain downsampling.
    """
    return _blur(x, size, padding, _validate.positive_int(s, "s"))


def frequency_response(taps: torch.Tensor, n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The gain ``|Σ_j b[j] e^{-iωj}|`` of a 1-D filter at ``n // 2 + 1`` frequencies ``0 … π``.

    taps: ``(k,)``. Returns ``(ω, gain)``, both ``(n // 2 + 1,)`` float64. For the binomial
    filter the gain is ``|cos(ω/2)|^(k-1)``: 1 at ω = 0, 0 at ω = π (the pixel-to-pixel
    alternation). A stride-2 grid carries frequencies up to π/2 only; the rest aliases.
    """
    if not isinstance(taps, torch.Tensor) or not taps.is_floating_point():
        raise TypeError(f"taps must be a floating-point torch.Tensor, got {taps!r:.60}")
    if taps.dim() != 1 or taps.numel() == 0:
        raise ValueError(f"taps must have shape (k,), got {tuple(taps.shape)}")
    _validate.finite_values(taps, "taps")
    n = _validate.positive_int(n, "n", high=MAX_FREQUENCIES)
    if n < len(taps):
        raise ValueError(f"n must be at least the number of taps ({len(taps)}), got {n}")
    gain = torch.fft.rfft(taps.double(), n=n).abs()
    return torch.linspace(0, torch.pi, len(gain), dtype=torch.float64, device=taps.device), gain


def _frequencies(n: int, device: torch.device | None = None) -> torch.Tensor:
    """The DFT frequencies ``ω_j = 2π j / n`` of ``n`` samples, in ``torch.fft`` order."""
    return 2 * torch.pi * torch.fft.fftfreq(n, dtype=torch.float64, device=device)


def _carried(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """``(H, W)`` bool: the frequencies a stride-2 grid carries, ``|ω_y|, |ω_x| <= π/2``."""
    limit = torch.pi / 2 + 1e-9
    return ((_frequencies(height, device).abs() <= limit)[:, None]
            & (_frequencies(width, device).abs() <= limit)[None, :])


def aliased_energy(x: torch.Tensor) -> float:
    """The fraction of the energy of ``x`` at frequencies a stride-2 grid cannot carry.

    ``Σ_{ω aliased} |X(ω)|² / Σ_ω |X(ω)|²`` with ``X`` the 2-D DFT of each ``(H, W)`` map and
    ``ω`` aliased when ``|ω_y| > π/2`` or ``|ω_x| > π/2`` (the outside of a square), summed over
    all maps of ``x``: ``(H, W)`` or ``(N, C, H, W)``. Keeping every second sample folds that
    energy onto the frequencies it keeps: 0 means nothing aliases.
    """
    x = _validate.values(_validate.image_tensor(x), "x")
    power = torch.fft.fft2(x.double()).abs().square()
    total = power.sum()
    if total == 0:
        raise ValueError("x must not be all zeros: its energy is the denominator")
    aliased = power[..., ~_carried(*x.shape[-2:], x.device)].sum()
    return (aliased / total).item()


def binomial_aliasing(size: int, n: int) -> float:
    """The aliased energy fraction of white noise blurred by ``B`` of ``size`` on an ``n x n``
    torus, in expectation: ``1 - (Σ_{|ω|<=π/2} g(ω) / Σ_ω g(ω))²`` with the power gain
    ``g(ω) = cos(ω/2)^(2(size - 1))`` over the ``n`` DFT frequencies of one axis.

    White noise has the same power at every frequency; the blur multiplies it by ``g(ω_y)
    g(ω_x)``, and the carried frequencies are a square, so the carried fraction is the 1-D
    fraction squared. ``size = 1`` (no blur) gives ``1 - (1/2 + 1/n)²``: three quarters, less
    the frequencies at exactly ``±π/2``, which the coarse grid still carries.
    """
    size = _validate.positive_int(size, "size", high=MAX_TAPS)
    n = _validate.positive_int(n, "n", high=MAX_FREQUENCIES)
    if n % 4:
        raise ValueError(f"n must be a multiple of 4 (a stride-2 grid of even side), got {n}")
    omega = _frequencies(n)
    gain = torch.cos(omega / 2).square().pow(size - 1)
    carried = gain[omega.abs() <= torch.pi / 2 + 1e-9].sum() / gain.sum()
    return 1.0 - carried.item() ** 2


def ideal_lowpass(x: torch.Tensor) -> torch.Tensor:
    """``x`` with every frequency a stride-2 grid cannot carry removed (``|ω_y| > π/2`` or
    ``|ω_x| > π/2``), through the 2-D DFT of each map: the ideal anti-aliasing filter, whose
    ``aliased_energy`` is 0 up to rounding. ``(H, W)`` or ``(N, C, H, W)``, same dtype; it
    has infinitely many taps, on the torus."""
    x = _validate.image_tensor(x)
    spectrum = torch.fft.fft2(x.double()) * _carried(*x.shape[-2:], x.device)
    return torch.fft.ifft2(spectrum).real.to(x.dtype)
