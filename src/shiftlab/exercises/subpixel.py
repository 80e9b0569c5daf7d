"""Checkers for chapter 8, between the pixels.

Each checker draws its trials from a seeded generator (shapes, images, real shifts, filters),
so a notebook shows the same output on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from shiftlab import _validate
from shiftlab.exercises._core import (
    ExerciseError,
    as_number,
    as_tensor,
    attempt,
    close,
    describe_value,
    disagreements,
    exercise,
    random_int,
)
from shiftlab.layers import conv2d
from shiftlab.metrics import fraction_exact
from shiftlab.subpixel import (
    alias_free_relu,
    eq_t_db,
    fourier_shift,
    lowpass,
    subpixel_error,
)


def _image(generator: torch.Generator, height: int, width: int) -> torch.Tensor:
    return torch.randn(height, width, generator=generator, dtype=torch.float64)


def _real(generator: torch.Generator, low: float, high: float) -> float:
    draw = float(torch.rand(1, generator=generator, dtype=torch.float64))
    return round(low + (high - low) * draw, 3)


# Exercise 8.1 ---------------------------------------------------------------------------------

@exercise("8.1", "the band-limited shift by a real t")
def check_fourier_shift(my_shift: Callable[[torch.Tensor, tuple[float, float]], torch.Tensor],
                        *, seed: int = 0) -> None:
    """``my_shift(x, t)`` for ``x`` of shape ``(H, W)`` and real ``t = (t_y, t_x)`` must return
    the band-limited shift ``T_t x`` (``subpixel.fourier_shift``): real, the same shape, for odd
    and even sides, with the factor ``cos(π t)`` at the Nyquist frequency of an even side."""
    generator = torch.Generator().manual_seed(seed)
    cases = [((7, 9), (0.5, 0.25)), ((8, 8), (1.0, -2.0)), ((8, 10), (0.5, 0.3))]
    for _ in range(8):
        shape = (random_int(3, 12, generator), random_int(3, 12, generator))
        cases.append((shape, (_real(generator, -3, 3), _real(generator, -3, 3))))
    for shape, t in cases:
        x = _image(generator, *shape)
        original = x.clone()
        call = f"my_shift(x, {t}) with x of shape {shape}"
        got = as_tensor(attempt(my_shift, x, t, call=call), call)
        want = fourier_shift(original, t)
        if not torch.equal(x, original):
            raise ExerciseError(f"{call} changed x in place; leave x as it is")
        if got.is_complex():
            raise ExerciseError(f"{call} returned a complex tensor; T_t x is real: take .real "
                                "after the inverse transform (and check the Nyquist factor)")
        if got.shape != want.shape:
            raise ExerciseError(f"{call} returned shape {tuple(got.shape)}; expected {shape}")
        if close(got.double(), want, 1e-9):
            continue
        hint = ""
        if all(float(v).is_integer() for v in t):
            hint = " For an integer t the answer is the whole-pixel shift torch.roll(x, t, (0, 1))."
        elif close(got.double(), fourier_shift(original, (-t[0], -t[1])), 1e-9):
            hint = " It moved the content by -t: the factor is e^{-iωt}, not e^{+iωt}."
        elif shape[0] % 2 == 0 or shape[1] % 2 == 0:
            hint = (" On an even side the Nyquist frequency ω = π needs the real factor "
                    "cos(π t) (the mean of e^{-iπt} and e^{+iπt}).")
        raise ExerciseError(f"{call} differs from T_t x by a relative error of "
                            f"{_relative(got, want):.2e}.{hint}")


def _relative(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.double() - want).norm() / want.norm().clamp_min(1e-300))


# Exercise 8.2 ---------------------------------------------------------------------------------

@exercise("8.2", "the alias-free ReLU")
def check_alias_free_relu(my_relu: Callable[[torch.Tensor, int], torch.Tensor], *,
                          seed: int = 0) -> None:
    """``my_relu(x, m)`` for a band-limited ``x`` of shape ``(H, W)`` must return
    ``R_{1/m} ReLU(R_m x)``: upsample by ``m`` (zero-pad the spectrum), ReLU, keep the
    frequencies strictly below the coarse Nyquist frequency, sample back on ``H x W``."""
    generator = torch.Generator().manual_seed(seed)
    cases = [((8, 8), 1), ((8, 8), 2), ((9, 7), 3)]
    for _ in range(6):
        cases.append(((random_int(4, 12, generator), random_int(4, 12, generator)),
                      random_int(1, 4, generator)))
    for shape, m in cases:
        x = lowpass(_image(generator, *shape))
        call = f"my_relu(x, {m}) with a band-limited x of shape {shape}"
        got = as_tensor(attempt(my_relu, x.clone(), m, call=call), call)
        want = alias_free_relu(x, m)
        if got.shape != want.shape:
            raise ExerciseError(f"{call} returned shape {tuple(got.shape)}; expected {shape}, "
                                "the input's grid")
        if close(got.double(), want, 1e-9):
            continue
        hint = ""
        if m > 1 and close(got.double(), torch.relu(x), 1e-9):
            hint = " That is the plain ReLU: upsample by m first."
        elif m > 1 and close(got.double(), want * m * m, 1e-6):
            hint = (" It is m² times too large: scale the spectrum by the change of the number "
                    "of samples (or use ifft2 of the padded spectrum times m²).")
        elif m > 1:
            hint = (" Keep only the frequencies strictly below the coarse Nyquist frequency "
                    "when you go back down: on an even side drop ω = π too.")
        raise ExerciseError(f"{call} differs from the alias-free ReLU by a relative error of "
                            f"{_relative(got, want):.2e}.{hint}")


# Exercise 8.3 ---------------------------------------------------------------------------------

OPERATIONS_83 = ("convolution", "ReLU after convolution", "alias-free ReLU, m = 2",
                 "alias-free ReLU, m = 3", "ideal low-pass, then stride 2")
SHIFTS_83 = (1 / 3, 1 / 2, 1.0)


def _operations(seed: int) -> dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], int]]:
    weight = torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(seed),
                         dtype=torch.float64)

    def conv(x: torch.Tensor) -> torch.Tensor:
        return conv2d(x, weight, padding="circular")

    return {
        "convolution": (conv, 1),
        "ReLU after convolution": (lambda x: torch.relu(conv(x)), 1),
        "alias-free ReLU, m = 2": (lambda x: alias_free_relu(conv(x), 2), 1),
        "alias-free ReLU, m = 3": (lambda x: alias_free_relu(conv(x), 3), 1),
        "ideal low-pass, then stride 2": (lambda x: lowpass(x, 0.5)[..., ::2, ::2], 2),
    }


def measured_83(seed: int = 0) -> dict[str, dict[float, bool]]:
    """For each operation and shift ``(0, t)``: is ``f(T_t x) = T_{t/s} f(x)`` up to rounding,
    on a band-limited random ``12 x 12`` image?"""
    seed = _validate.integer(seed, "seed")
    x = lowpass(torch.randn(1, 1, 12, 12, generator=torch.Generator().manual_seed(seed + 1),
                            dtype=torch.float64))
    return {name: {t: fraction_exact(torch.tensor([subpixel_error(f, x, (0.0, t), s)]),
                                     1e-12) == 1.0 for t in SHIFTS_83}
            for name, (f, s) in _operations(seed).items()}


@exercise("8.3", "which operations follow which sub-pixel shifts")
def check_subpixel_predictions(my_predictions: Callable[[], dict], *, seed: int = 0) -> None:
    """``my_predictions()`` returns ``{operation: {t: bool}}`` for every operation of
    ``OPERATIONS_83`` and shift of ``SHIFTS_83``: does it commute with ``T_(0, t)`` up to
    rounding (moving its output by ``t / s``, ``s`` its stride)? Then it is measured."""
    answer = attempt(my_predictions, call="my_predictions()")
    if not isinstance(answer, dict) or set(answer) != set(OPERATIONS_83):
        raise ExerciseError(f"my_predictions() must return a dict with the keys "
                            f"{list(OPERATIONS_83)}, got {describe_value(answer)}")
    for name, row in answer.items():
        if not isinstance(row, dict) or set(row) != set(SHIFTS_83) or not all(
                isinstance(v, bool) for v in row.values()):
            raise ExerciseError(f"my_predictions()[{name!r}] must map each t of SHIFTS_83 = "
                                f"(1/3, 1/2, 1.0) to True or False, got {row!r:.120}")
    measured = measured_83(seed)
    wrong = [f"  {name}, t = {t:.3g}: you predicted {answer[name][t]}, measured "
             f"{measured[name][t]}" for name in OPERATIONS_83 for t in SHIFTS_83
             if answer[name][t] != measured[name][t]]
    disagreements(wrong, len(OPERATIONS_83) * len(SHIFTS_83),
                  "predictions disagree with the measurement (the alias-free ReLU with m "
                  "is exact on the finer grid's shifts, multiples of 1/m)")


# Exercise 8.4 ---------------------------------------------------------------------------------

@exercise("8.4", "EQ-T in decibels")
def check_eq_t(my_eq_t: Callable[..., float], *, seed: int = 0) -> None:
    """``my_eq_t(f, x, t)`` must return ``10 log10(peak² / MSE)`` in dB, the MSE between
    ``f(T_t x)`` and ``T_t f(x)`` and ``peak`` the range (max − min) of ``T_t f(x)``."""
    generator = torch.Generator().manual_seed(seed)
    operations = _operations(seed)
    for name in ("ReLU after convolution", "alias-free ReLU, m = 2", "alias-free ReLU, m = 3"):
        f, _ = operations[name]
        for _ in range(2):
            x = lowpass(torch.randn(1, 1, 10, 10, generator=generator, dtype=torch.float64))
            t = (_real(generator, -1, 1), _real(generator, -1, 1))
            call = f"my_eq_t(f, x, {t}) with f the {name}"
            got = as_number(attempt(my_eq_t, f, x, t, call=call), call)
            want = eq_t_db(f, x, t)
            if abs(got - want) <= 1e-6 * max(1.0, abs(want)):
                continue
            hint = ""
            if abs(got - want / 2) <= 1e-6 * abs(want):
                hint = " Half the answer: the PSNR squares the peak, 10 log10(peak²/MSE)."
            elif math.isfinite(got) and abs(got + want) <= 1e-6 * abs(want):
                hint = " The sign is flipped: the ratio is peak² over the MSE."
            raise ExerciseError(f"{call} returned {got:.4f} dB; expected {want:.4f} dB.{hint}")
