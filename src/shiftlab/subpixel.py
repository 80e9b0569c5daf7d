"""Between the pixels (chapter 8): the band-limited shift by any real ``t``, and what commutes
with it.

An ``H x W`` image is read as the samples of the band-limited function on the torus whose
Fourier coefficients are the image's DFT ``X(ω)``. Shifting that function by a real
``t = (t_y, t_x)`` and sampling it again is the *band-limited (Fourier) shift*

    (T_t x) = IDFT( X(ω) · e^{-i (ω_y t_y + ω_x t_x)} )        ω = 2π k / n

At the *Nyquist frequency* ω = π of an even side the function is ambiguous (the samples of
``cos(πn)`` and ``e^{iπn}`` agree); we give it the real factor ``cos(π t)``, the mean of the
factors at ``+π`` and ``-π``, so that ``T_t x`` stays real. Then ``T_0 = id``, ``T_t = shift``
for integer ``t``, and ``T_s T_t = T_{s+t}`` whenever ``s`` or ``t`` is an integer or the image
has no energy at the Nyquist frequency (``lowpass(x)``): on such *band-limited* images the
shifts by all real ``t`` form a group.

- ``fourier_shift`` / ``FourierShift``: ``T_t``; ``lowpass``: keep ``|ω| < cutoff · π`` only;
- ``resample``: the band-limited image on a finer or coarser grid (zero-padding or cropping
  the spectrum); ``alias_free_relu``: ``resample`` up by ``m`` → ReLU → low-pass and resample
  down (Karras et al. 2021). ``m = 1`` is the plain ReLU;
- ``fft_tolerance``: the rounding level of a law computed through FFTs;
- ``subpixel_error``: ``‖f(T_t x) − T_{t/s} f(x)‖ / ‖T_{t/s} f(x)‖``; ``eq_t_db``: the same
  mismatch as a PSNR in dB, as StyleGAN3's EQ-T metric reports it.

The classifier of the chapter (``AliasFreeNet``, ``flip_rates``) lives in
``shiftlab.subpixel_net``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch

from shiftlab import _validate
from shiftlab.metrics import relative_error, unit_roundoff


def fft_tolerance(dtype: torch.dtype, size: int) -> float:
    """A bound on the relative rounding error of the few FFTs behind one result on ``size``
    samples: ``16 · u · log2(size)`` (an FFT's error grows with ``log2`` of its length; 16 covers
    the forward and inverse transforms of both sides of a law, with room for the CPU's order)."""
    size = _validate.positive_int(size, "size")
    return 16 * unit_roundoff(dtype) * max(1.0, math.log2(size))


def _fft_image(x: Any, name: str = "x", *, ranks: tuple[int, ...] = (2, 4)) -> torch.Tensor:
    """``_validate.image_tensor``, in a dtype the FFTs take on every device: float32 or float64."""
    x = _validate.image_tensor(x, name, ranks=ranks)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be float32 or float64 (the FFTs of this module), got "
                        f"{x.dtype}")
    return x


def real_offset(t: Any, name: str = "t") -> tuple[float, float]:
    """Check that ``t`` is a pair of finite real numbers ``(t_y, t_x)``; return it as floats."""
    name = _validate.text(name, "name")
    if isinstance(t, torch.Tensor) or not isinstance(t, tuple | list) or len(t) != 2:
        raise TypeError(f"{name} must be a pair of real numbers (t_y, t_x), got {t!r}")
    out = []
    for value, axis in zip(t, ("t_y", "t_x"), strict=True):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} ({axis}) must be a real number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} ({axis}) must be finite, got {value!r}")
        out.append(float(value))
    return out[0], out[1]


def _phase(n: int, t: float, dtype: torch.dtype) -> torch.Tensor:
    """``e^{-iωt}`` at the ``n`` DFT frequencies (``torch.fft`` order); ``cos(πt)`` at ω = π."""
    k = torch.fft.fftfreq(n, d=1.0 / n, dtype=torch.float64)  # integers -n/2 ... n/2 - 1
    # reduce k·t modulo n first: exact for integer t, and keeps the angle small
    angle = 2 * torch.pi * torch.remainder(k * t, n) / n
    factor = torch.polar(torch.ones_like(angle), -angle)
    if n % 2 == 0:
        factor[n // 2] = math.cos(math.pi * math.remainder(t, 2.0))
    return factor.to(dtype)


def _complex(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def fourier_shift(x: torch.Tensor, t: tuple[float, float]) -> torch.Tensor:
    """The band-limited shift ``T_t x`` by a real ``t = (t_y, t_x)``, on the torus.

    x: ``(H, W)`` or ``(N, C, H, W)``, float; returns the same shape and dtype. What was at
    ``(i, j)`` ends up at ``(i + t_y, j + t_x)``, as with ``shiftlab.shift``, which it equals for
    integer ``t`` up to rounding.
    """
    x = _fft_image(x)
    t_y, t_x = real_offset(t)
    height, width = x.shape[-2:]
    kind = _complex(x.dtype)
    factor = _phase(height, t_y, kind)[:, None] * _phase(width, t_x, kind)[None, :]
    return torch.fft.ifft2(torch.fft.fft2(x) * factor.to(x.device)).real.to(x.dtype)


class FourierShift:
    """``T_t`` as a callable object with a readable name, for ``metrics.equivariance_error``."""

    def __init__(self, t_y: float, t_x: float) -> None:
        self.t = real_offset((t_y, t_x))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return fourier_shift(x, self.t)

    def __repr__(self) -> str:
        return f"FourierShift({self.t[0]:g}, {self.t[1]:g})"


def _cutoff(cutoff: Any) -> float:
    cutoff = _validate.non_negative_float(cutoff, "cutoff")
    if not 0 < cutoff <= 1:
        raise ValueError(f"cutoff must lie in (0, 1] (a fraction of the Nyquist frequency π), "
                         f"got {cutoff}")
    return cutoff


def _passband(n: int, cutoff: float) -> torch.Tensor:
    """``(n,)`` bool: the frequencies ``|ω| < cutoff · π`` (strictly: ω = cutoff · π is cut)."""
    k = torch.fft.fftfreq(n, d=1.0 / n, dtype=torch.float64)
    return 2 * k.abs() < cutoff * n - 1e-9


def lowpass(x: torch.Tensor, cutoff: float = 1.0) -> torch.Tensor:
    """``x`` with every frequency ``|ω_y| >= cutoff·π`` or ``|ω_x| >= cutoff·π`` removed.

    The ideal low-pass filter on the torus, through the DFT. ``cutoff = 1`` removes only the
    Nyquist frequency: the result is *band-limited* in the sense of this module, and the shifts
    ``T_t`` act on it as a group. ``cutoff = 1/s`` before a stride ``s`` leaves nothing to alias.
    x: ``(H, W)`` or ``(N, C, H, W)``; same shape and dtype.
    """
    x = _fft_image(x)
    cutoff = _cutoff(cutoff)
    height, width = x.shape[-2:]
    keep = _passband(height, cutoff)[:, None] & _passband(width, cutoff)[None, :]
    return torch.fft.ifft2(torch.fft.fft2(x) * keep.to(x.device)).real.to(x.dtype)


def _resize_axis(spectrum: torch.Tensor, dim: int, n_new: int) -> torch.Tensor:
    """The DFT along ``dim`` of the same band-limited function sampled ``n_new`` times."""
    n = spectrum.shape[dim]
    if n_new == n:
        return spectrum
    k = torch.fft.fftfreq(n, d=1.0 / n, dtype=torch.float64).long()
    spectrum = spectrum.movedim(dim, -1)
    out = spectrum.new_zeros((*spectrum.shape[:-1], n_new))
    inside = 2 * k.abs() < min(n, n_new)  # strictly below both Nyquist frequencies
    out[..., k[inside] % n_new] = spectrum[..., inside]
    if n_new > n and n % 2 == 0:  # the old Nyquist term cos(πn) splits between ±π
        half = spectrum[..., n // 2] / 2
        out[..., n // 2] += half
        out[..., n_new - n // 2] += half
    return (out * (n_new / n)).movedim(-1, dim)


def resample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``x`` sampled on an ``size = (H', W')`` grid, through its band-limited function.

    Upsampling (``H' > H``) zero-pads the spectrum: exact interpolation. Downsampling keeps
    the frequencies strictly below both Nyquist frequencies: the ideal low-pass filter, then
    the samples. x: ``(H, W)`` or ``(N, C, H, W)``; returns ``(..., H', W')``, same dtype.
    """
    x = _fft_image(x)
    new = _validate.offset(size, "size")
    for value, axis in zip(new, ("H'", "W'"), strict=True):
        if value < 1:
            raise ValueError(f"size ({axis}) must be >= 1, got {size}")
    if new == tuple(x.shape[-2:]):
        return x.clone()  # the same grid: nothing to interpolate
    spectrum = torch.fft.fft2(x)
    spectrum = _resize_axis(_resize_axis(spectrum, -2, new[0]), -1, new[1])
    return torch.fft.ifft2(spectrum).real.to(x.dtype)


def resample_matrix(n: int, n_new: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The real ``(n_new, n)`` matrix ``M`` of ``resample`` along one axis: ``resample(x, (H', W'))
    = M_H x M_Wᵀ``. A network multiplies by it instead of taking FFTs: the same linear map."""
    n, n_new = _validate.positive_int(n, "n"), _validate.positive_int(n_new, "n_new")
    if n * n_new > 2**22:
        raise ValueError(f"n * n_new must be at most 2**22 (an (n_new, n) matrix), got "
                         f"n = {n}, n_new = {n_new}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    columns = torch.fft.fft(torch.eye(n, dtype=torch.float64), dim=0)
    return torch.fft.ifft(_resize_axis(columns, 0, n_new), dim=0).real.to(dtype)


def alias_free_relu(
    x: torch.Tensor, m: int = 2, size: tuple[int, int] | None = None
) -> torch.Tensor:
    """The filtered ReLU: ``resample`` up by ``m``, ReLU, low-pass and ``resample`` back down.

    ``F_m(x) = R_{1/m} ReLU(R_m x)`` (Karras et al. 2021, with ideal filters on the torus).
    ``m = 1`` is the plain ReLU. For a band-limited ``x``, ``F_m`` commutes with ``T_t`` for
    every ``t`` in ``(1/m)·Z²`` up to rounding, and approximately for every other ``t``.
    x: ``(H, W)`` or ``(N, C, H, W)``; returns the same shape, or ``(..., H', W')`` on the
    grid ``size = (H', W')`` (a coarser grid: the filter and the downsampling in one step).
    """
    x = _fft_image(x)
    m = _validate.positive_int(m, "m")
    height, width = x.shape[-2:]
    size = (height, width) if size is None else _validate.offset(size, "size")
    if m * height * m * width > 2**22:
        raise ValueError(f"m = {m} makes a {m * height} x {m * width} grid: too large")
    if m == 1:
        return resample(torch.relu(x), size)
    return resample(torch.relu(resample(x, (m * height, m * width))), size)


def error_curve(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, ts: Sequence[float],
    s: int = 1,
) -> torch.Tensor:
    """``subpixel_error(f, x, (0, t), s)`` for every horizontal shift ``t`` in ``ts``, computed
    in one batch: ``(len(ts),)`` float64. x: one image ``(1, C, H, W)``."""
    _validate.function(f, "f")
    x = _fft_image(x, ranks=(4,))
    if len(x) != 1:
        raise ValueError(f"x must hold one image, shape (1, C, H, W), got {tuple(x.shape)}")
    if isinstance(ts, str) or not isinstance(ts, Sequence) or not 1 <= len(ts) <= 256:
        raise ValueError(f"ts must be a sequence of 1 to 256 real shifts, got {ts!r:.60}")
    s = _validate.positive_int(s, "s")
    ts = [real_offset((0.0, t), "ts[k]")[1] for t in ts]
    with torch.no_grad():
        fx = f(x)
        got = f(torch.cat([fourier_shift(x, (0.0, t)) for t in ts]))
        want = torch.cat([fourier_shift(fx, (0.0, t / s)) for t in ts])
    return relative_error(got.double(), want.double(), batched=True)


def energy_above(x: torch.Tensor, cutoff: float = 1.0) -> float:
    """The fraction of the energy of ``x`` at frequencies ``|ω_y|`` or ``|ω_x| >= cutoff·π``:
    what ``lowpass(x, cutoff)`` removes, and what a grid ``1/cutoff`` times coarser aliases."""
    x = _validate.values(_fft_image(x), "x")
    cutoff = _cutoff(cutoff)
    height, width = x.shape[-2:]
    power = torch.fft.fft2(x.double()).abs().square()
    keep = _passband(height, cutoff)[:, None] & _passband(width, cutoff)[None, :]
    total = power.sum()
    if total == 0:
        raise ValueError("x must not be all zeros: its energy is the denominator")
    return (power[..., ~keep.to(x.device)].sum() / total).item()


def subpixel_error(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, t: tuple[float, float],
    s: int = 1,
) -> float:
    """``‖f(T_t x) − T_{t/s} f(x)‖ / ‖T_{t/s} f(x)‖`` over the whole batch: how far ``f`` is
    from moving its output by ``t / s`` when its input moves by ``t`` (``s``: its stride)."""
    _validate.function(f, "f")
    x = _validate.values(_fft_image(x), "x")
    t_y, t_x = real_offset(t)
    s = _validate.positive_int(s, "s")
    with torch.no_grad():
        want = fourier_shift(f(x), (t_y / s, t_x / s))
        got = f(fourier_shift(x, (t_y, t_x)))
    return float(relative_error(got, want, batched=False))


def eq_t_db(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, t: tuple[float, float],
    s: int = 1,
) -> float:
    """The EQ-T-style PSNR, in dB: ``10 log10(peak² / MSE)`` of ``f(T_t x)`` against
    ``T_{t/s} f(x)``, with ``peak`` the range (max − min) of ``T_{t/s} f(x)``. StyleGAN3's EQ-T
    uses ``peak = 2``, the range of its images in [-1, 1]. ``inf`` when they agree exactly."""
    _validate.function(f, "f")
    x = _validate.values(_fft_image(x), "x")
    t_y, t_x = real_offset(t)
    s = _validate.positive_int(s, "s")
    with torch.no_grad():
        want = fourier_shift(f(x), (t_y / s, t_x / s)).double()
        got = f(fourier_shift(x, (t_y, t_x))).double()
    mse = (got - want).square().mean().item()
    peak = (want.max() - want.min()).item()
    if peak == 0:
        raise ValueError("f(x) must not be constant: its range is the peak of the PSNR")
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)
