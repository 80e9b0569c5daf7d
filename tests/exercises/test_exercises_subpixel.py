"""The checkers of chapter 8's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a hint on
plausible wrong answers."""

import math

import pytest
import torch

from shiftlab.exercises import _core
from shiftlab.exercises import subpixel as exercises
from shiftlab.exercises._core import ExerciseError
from shiftlab.subpixel import fourier_shift as reference_shift

# Reference answers, as a learner would write them.


def _factor(n, t, nyquist=True, sign=-1):
    k = torch.fft.fftfreq(n, d=1 / n, dtype=torch.float64)
    phase = torch.exp(sign * 2j * math.pi * k * t / n)
    if nyquist and n % 2 == 0:
        phase[n // 2] = math.cos(math.pi * t)
    return phase


def fourier_shift(x, t, nyquist=True, sign=-1):
    height, width = x.shape
    spectrum = (torch.fft.fft2(x) * _factor(height, t[0], nyquist, sign)[:, None]
                * _factor(width, t[1], nyquist, sign)[None, :])
    return torch.fft.ifft2(spectrum).real


def _move(spectrum, shape, strict=True):
    (h, w), (big_h, big_w) = spectrum.shape, shape
    out = torch.zeros(shape, dtype=spectrum.dtype)
    ky = torch.fft.fftfreq(h, d=1 / h).long()
    kx = torch.fft.fftfreq(w, d=1 / w).long()
    if strict:
        keep_y, keep_x = 2 * ky.abs() < min(h, big_h), 2 * kx.abs() < min(w, big_w)
    else:  # keeps the coarse Nyquist frequency on the way down
        keep_y, keep_x = 2 * ky.abs() <= min(h, big_h), 2 * kx.abs() <= min(w, big_w)
        keep_y &= (ky >= -min(h, big_h) // 2) & (ky < (min(h, big_h) + 1) // 2)
        keep_x &= (kx >= -min(w, big_w) // 2) & (kx < (min(w, big_w) + 1) // 2)
    rows, cols = ky[keep_y] % big_h, kx[keep_x] % big_w
    out[rows[:, None], cols[None, :]] = spectrum[keep_y][:, keep_x]
    return out * (big_h * big_w) / (h * w)


def alias_free_relu(x, m, strict=True, scale=True):
    if m == 1:
        return torch.relu(x)
    height, width = x.shape
    fine = torch.fft.ifft2(_move(torch.fft.fft2(x), (m * height, m * width))).real
    back = torch.fft.ifft2(_move(torch.fft.fft2(torch.relu(fine)), (height, width), strict)).real
    return back if scale else back * m * m


def predictions():
    third, half, one = exercises.SHIFTS_83
    return {
        "convolution": {third: True, half: True, one: True},
        "ReLU after convolution": {third: False, half: False, one: True},
        "alias-free ReLU, m = 2": {third: False, half: True, one: True},
        "alias-free ReLU, m = 3": {third: True, half: False, one: True},
        "ideal low-pass, then stride 2": {third: True, half: True, one: True},
    }


def eq_t(f, x, t):
    want = reference_shift(f(x), t)
    got = f(reference_shift(x, t))
    mse = (got - want).square().mean().item()
    peak = (want.max() - want.min()).item()
    return 10 * math.log10(peak**2 / mse)


CHECKS = [
    (exercises.check_fourier_shift, fourier_shift),
    (exercises.check_alias_free_relu, alias_free_relu),
    (exercises.check_subpixel_predictions, predictions),
    (exercises.check_eq_t, eq_t),
]


def test_the_predictions_are_what_is_measured_on_other_seeds_too():
    for seed in (5, 6, 7):
        assert exercises.measured_83(seed) == predictions()


WRONG_SHIFTS = [
    (lambda x, t: fourier_shift(x, t, sign=+1), "by -t"),
    (lambda x, t: fourier_shift(x, t, nyquist=False), "Nyquist"),
    (lambda x, t: torch.fft.ifft2(torch.fft.fft2(x) * _factor(x.shape[0], t[0])[:, None]
                                  * _factor(x.shape[1], t[1])[None, :]), "complex"),
    (lambda x, t: fourier_shift(x, t).T, "shape"),
    (lambda x, t: torch.roll(x, (round(t[0]), round(t[1])), (0, 1)), "relative error"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_SHIFTS)
def test_wrong_shifts_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_fourier_shift(answer)
    assert list(_core.results().values()) == ["failed"]


WRONG_RELUS = [
    (lambda x, m: torch.relu(x), "plain ReLU"),
    (lambda x, m: alias_free_relu(x, m, scale=False), "m² times"),
    (lambda x, m: alias_free_relu(x, m, strict=False), "strictly below"),
    (lambda x, m: alias_free_relu(x, m)[:-1], "shape"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_RELUS)
def test_wrong_alias_free_relus_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_alias_free_relu(answer)


def _flipped(name, t):
    def answer():
        table = predictions()
        table[name][t] = not table[name][t]
        return table

    return answer


@pytest.mark.parametrize(("answer", "message"), [
    (_flipped("ReLU after convolution", 0.5), "1 of 15 predictions disagree"),
    (_flipped("alias-free ReLU, m = 3", 0.5), "m = 3, t = 0.5"),
    (lambda: {"convolution": {}}, "keys"),
    (lambda: {name: {t: 1 for t in exercises.SHIFTS_83} for name in exercises.OPERATIONS_83},
     "True or False"),
])
def test_wrong_predictions_are_caught_with_what_was_measured(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_subpixel_predictions(answer)


@pytest.mark.parametrize(("answer", "message"), [
    (lambda f, x, t: eq_t(f, x, t) / 2, "squares the peak"),
    (lambda f, x, t: -eq_t(f, x, t), "sign"),
    (lambda f, x, t: eq_t(f, x, t) + 3.0, "expected"),
    (lambda f, x, t: "40 dB", "one number"),
])
def test_wrong_decibels_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_eq_t(answer)
