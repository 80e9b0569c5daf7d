"""Checkers for chapter 7, restoring invariance.

Each checker draws its trials from a seeded generator (filter sizes, shapes, images, shifts,
networks), so a notebook shows the same output on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from shiftlab import _validate
from shiftlab.antialias import binomial_filter, blur_pool
from shiftlab.consistency import consistency, shift_each
from shiftlab.data import glyph_images
from shiftlab.exercises._core import (
    ExerciseError,
    as_tensor,
    attempt,
    describe_value,
    exercise,
    random_int,
)
from shiftlab.metrics import fraction_exact
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.restoring import DownsamplingConfig, DownsamplingNet, aps_downsample, median_split
from shiftlab.stride import downsample, polyphase, shifted_copy_error


def _taps(values: torch.Tensor) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in values) + "]"


# Exercise 7.1 ---------------------------------------------------------------------------------

@exercise("7.1", "the binomial filter by repeated convolution")
def check_binomial(my_binomial: Callable[[int], torch.Tensor], *, seed: int = 0) -> None:
    """``my_binomial(k)`` must return the ``k`` taps ``[1, 1]^{*(k-1)} / 2^(k-1)`` as a 1-D
    floating-point tensor, for every size ``k`` from 1 to 9."""
    generator = torch.Generator().manual_seed(seed)
    sizes = [3, *(1 + torch.randperm(9, generator=generator)).tolist()]
    for size in sizes:
        want = binomial_filter(size, torch.float64)
        call = f"my_binomial({size})"
        got = as_tensor(attempt(my_binomial, size, call=call), call).double()
        if got.dim() != 1:
            raise ExerciseError(
                f"{call} returned shape {tuple(got.shape)}; expected ({size},), the 1-D filter "
                "(the 2-D one is the outer product of two of them)"
            )
        if len(got) != size:
            hint = (" Start from [1] and convolve with [1, 1] k - 1 times: each convolution "
                    "adds one tap.") if abs(len(got) - size) == 1 else ""
            raise ExerciseError(
                f"{call} returned {len(got)} taps {_taps(got)}; expected {size}: "
                f"{_taps(want)}.{hint}"
            )
        if torch.allclose(got, want, rtol=1e-6, atol=1e-9):
            continue
        hint = ""
        total = float(got.sum())
        if total != 0 and torch.allclose(got / total, want, rtol=1e-6, atol=1e-9):
            hint = (f"The shape is right but the taps add up to {total:g}: divide by their sum "
                    f"(2^(k-1) = {2 ** (size - 1)}) so that a constant image stays unchanged.")
        elif size > 2 and torch.allclose(got, torch.full_like(got, float(got[0]))):
            hint = ("All taps are equal: that is a box filter. Convolve [1, 1] with itself "
                    "instead of repeating it: [1, 1] * [1, 1] = [1, 2, 1].")
        raise ExerciseError(f"{call} returned {_taps(got)}; expected {_taps(want)}. {hint}")


# Exercise 7.2 ---------------------------------------------------------------------------------

def _per_channel(x: torch.Tensor) -> torch.Tensor:
    """APS with one choice per channel: the likely mistake."""
    n, c, height, width = x.shape
    return aps_downsample(x.reshape(n * c, 1, height, width)).reshape(n, c, height // 2,
                                                                      width // 2)


def _by_norm(x: torch.Tensor, pick: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """The component chosen per sample by ``pick`` applied to the norms ``(N, 4)``."""
    parts = polyphase(x, 2).movedim(1, 3)  # (N, 2, 2, C, h, w)
    norms = parts.flatten(start_dim=3).norm(dim=-1).flatten(1)  # (N, 4)
    k = pick(norms)
    samples = torch.arange(len(x))
    return parts[samples, k // 2, k % 2]


def _aps_cases(generator: torch.Generator) -> list[torch.Tensor]:
    """Random batches, and one whose per-channel largest components disagree."""
    cases = []
    for _ in range(12):
        shape = (random_int(1, 4, generator), random_int(1, 3, generator),
                 2 * random_int(1, 5, generator), 2 * random_int(1, 5, generator))
        cases.append(torch.randn(shape, generator=generator, dtype=torch.float64))
    # channel 0 is largest at (0, 1), channel 1 at (1, 0); together (1, 0) wins; (1, 1) is
    # the smallest, so that every likely mistake gives a different answer
    x = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
    x[0, :, 0::2, 0::2] = 0.5
    x[0, 0, 0::2, 1::2] = 1.0
    x[0, 1, 1::2, 0::2] = 1.5
    x = x + 0.01 * torch.randn(x.shape, generator=generator, dtype=torch.float64)
    return [x, *cases]


@exercise("7.2", "adaptive polyphase sampling")
def check_aps(my_aps: Callable[[torch.Tensor], torch.Tensor], *, seed: int = 0) -> None:
    """``my_aps(x)`` for ``x`` of shape ``(N, C, H, W)`` (H, W even) must return, per sample,
    the polyphase component (stride 2) of largest norm over all channels: ``(N, C, H/2, W/2)``."""
    generator = torch.Generator().manual_seed(seed)
    for x in _aps_cases(generator):
        original = x
        want = aps_downsample(original)
        call = f"my_aps(x) with x of shape {tuple(x.shape)}"
        got = as_tensor(attempt(my_aps, x, call=call), call)
        if got.shape != want.shape:
            raise ExerciseError(
                f"{call} returned shape {tuple(got.shape)}; expected {tuple(want.shape)}: one "
                "component (N, C, H/2, W/2) per sample, not all s·s of them"
            )
        if torch.allclose(got.double(), want, rtol=1e-9, atol=1e-12):
            continue
        wrong = {
            "per channel": _per_channel(original),
            "stride": downsample(original, 2),
            "smallest": _by_norm(original, lambda norms: norms.argmin(dim=1)),
            "swapped": _by_norm(original, lambda norms: norms.reshape(-1, 2, 2)
                                .transpose(1, 2).flatten(1).argmax(dim=1)),
        }
        hints = {
            "per channel": "Each channel chose its own component. APS makes one choice per "
                           "sample, with the norm over all channels together, so that the "
                           "channels stay aligned.",
            "stride": "This is component (0, 0) for every sample: a plain stride. Keep the "
                      "component of largest norm instead.",
            "smallest": "This is the component of *smallest* norm: argmax, not argmin.",
            "swapped": "The component indices are swapped: component (a_y, a_x) is "
                       "x[..., a_y::2, a_x::2], the row offset first.",
        }
        hint = next((hints[k] for k, v in wrong.items()
                     if v.shape == got.shape and torch.allclose(got.double(), v)), "")
        raise ExerciseError(
            f"{call} does not keep the component of largest norm; the largest differs from "
            f"yours by {float((got.double() - want).abs().max()):.3g} at most. {hint}"
        )


# Exercise 7.3 ---------------------------------------------------------------------------------

SHIFTS_73: tuple[tuple[int, int], ...] = ((0, 1), (1, 1), (0, 2), (2, 4), (1, 2), (3, 0))
"""The shifts of exercise 7.3."""

DOWNSAMPLERS_73: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "stride": lambda x: downsample(x, 2),
    "blur": lambda x: blur_pool(x, 2, 3),
    "aps": aps_downsample,
}
"""Stride 2, BlurPool with b₃ (circular padding) and APS, each halving a map."""

_WHY_73 = {
    "stride": "a stride keeps another polyphase component after an odd shift, and an exact "
              "shifted copy only after shifts in 2Z x 2Z",
    "blur": "the blur makes the components alike, not equal: after an odd shift BlurPool "
            "still keeps another component (the blur leaves some energy above the new Nyquist "
            "frequency, and the stride folds it back), so only the shifts in 2Z x 2Z give an "
            "exact copy",
    "aps": "APS follows every shift: the largest component of the shifted map is the "
           "largest of the map, moved",
}


def measured_exact_copies(*, n: int = 50, seed: int = 0) -> dict[str, dict[str, float]]:
    """For each downsampler and shift of exercise 7.3, the fraction of ``n`` noise images of
    16 x 16 whose output after the shift is an exact shifted copy of their output."""
    n = _validate.positive_int(n, "n", high=10_000)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    x = torch.randn(n, 1, 16, 16, generator=generator)
    return {name: {str(t): fraction_exact(shifted_copy_error(f, x, t)) for t in SHIFTS_73}
            for name, f in DOWNSAMPLERS_73.items()}


@exercise("7.3", "predict, then measure: which shifts give an exact copy?")
def check_exact_predictions(my_predictions: Callable[[], dict]) -> None:
    """``my_predictions()`` returns ``{downsampler: {t: bool}}`` for every downsampler of
    ``DOWNSAMPLERS_73`` and shift of ``SHIFTS_73``: is ``f(T_t x)`` an exact shifted copy of
    ``f(x)`` for random images?"""
    truths = {name: {t: name == "aps" or (t[0] % 2 == 0 and t[1] % 2 == 0) for t in SHIFTS_73}
              for name in DOWNSAMPLERS_73}
    answer = attempt(my_predictions, call="my_predictions()")
    if not isinstance(answer, dict) or set(answer) != set(DOWNSAMPLERS_73):
        raise ExerciseError(
            f"my_predictions() must return a dict with the keys {sorted(DOWNSAMPLERS_73)}, "
            f"got {describe_value(answer)}"
        )
    for name in DOWNSAMPLERS_73:
        row = answer[name]
        if not isinstance(row, dict) or set(row) != set(SHIFTS_73):
            raise ExerciseError(
                f"my_predictions()[{name!r}] must be a dict with one bool per shift in "
                f"SHIFTS_73 = {SHIFTS_73}, got {describe_value(row)}"
            )
        for t in SHIFTS_73:
            exact = truths[name][t]
            if not isinstance(row[t], bool):
                raise ExerciseError(
                    f"my_predictions()[{name!r}][{t}] must be True or False, got {row[t]!r}"
                )
            if row[t] != exact:
                raise ExerciseError(
                    f"{name} after the shift {t}: you predicted "
                    f"{'an exact' if row[t] else 'no exact'} shifted copy, but there is "
                    f"{'one' if exact else 'none'} for random images: {_WHY_73[name]}."
                )


# Exercise 7.4 ---------------------------------------------------------------------------------

def _reference_consistency(model: Callable, images: torch.Tensor, shifts_a: torch.Tensor,
                           shifts_b: torch.Tensor) -> float:
    with torch.no_grad():
        first = model(shift_each(images, shifts_a)).argmax(dim=1)
        second = model(shift_each(images, shifts_b)).argmax(dim=1)
    return (first == second).double().mean().item()


@exercise("7.4", "the consistency of a classifier")
def check_consistency(my_consistency: Callable, *, seed: int = 0) -> None:
    """``my_consistency(model, images, shifts_a, shifts_b)`` returns the fraction of images
    whose top-1 class is the same after shifting image ``n`` circularly by ``shifts_a[n]`` and
    by ``shifts_b[n]``."""
    generator = torch.Generator().manual_seed(seed)
    images, _ = glyph_images(48, 12, noise=0.2, seed=seed)
    configs = [DownsamplingConfig("stride", "circular"), DownsamplingConfig("blur", "same"),
               DownsamplingConfig("stride", "same")]
    for k, config in enumerate(configs):
        model = median_split(DownsamplingNet(config, seed=k), images)
        shifts_a = torch.randint(0, 12, (len(images), 2), generator=generator)
        shifts_b = torch.randint(0, 12, (len(images), 2), generator=generator)
        call = (f"my_consistency(model, images, shifts_a, shifts_b) with a {config.downsample}"
                f"/{config.padding} network and {len(images)} images")
        want = _reference_consistency(model, images, shifts_a, shifts_b)
        got = attempt(my_consistency, model, images, shifts_a, shifts_b, call=call)
        if isinstance(got, torch.Tensor) and got.numel() == 1 and got.dtype != torch.bool:
            got = got.item()
        if type(got) not in (float, int):
            raise ExerciseError(
                f"{call} returned {describe_value(got)}; expected a float in [0, 1]")
        if abs(got - want) <= 1e-6:  # a fraction of 48 images, perhaps in float32
            continue
        same_for_all = _reference_consistency(
            model, images, shifts_a[:1].expand_as(shifts_a), shifts_b[:1].expand_as(shifts_b))
        unshifted = _reference_consistency(model, images, torch.zeros_like(shifts_a), shifts_b)
        if abs(got - 100 * want) <= 1e-4:
            hint = "That is a percentage: return the fraction, in [0, 1]."
        elif abs(got - (1 - want)) <= 1e-6:
            hint = "That is the fraction whose prediction changes: return the fraction that agrees."
        elif abs(got - same_for_all) <= 1e-6:
            hint = ("Every image was shifted by the same shift: shift image n by shifts_a[n] "
                    "and by shifts_b[n] (shiftlab.consistency.shift_each, or a loop).")
        elif abs(got - unshifted) <= 1e-6:
            hint = "One side was not shifted: use both shifts_a and shifts_b."
        elif got < want:
            hint = ("Compare the predicted classes (argmax over the classes), not the scores: "
                    "scores that differ in the last bit still give the same class.")
        else:
            hint = "Compare argmax(dim=1) of the two score tensors, image by image."
        raise ExerciseError(f"{call} returned {got:.4f}; expected {want:.4f}. {hint}")


# Exercise 7.5 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Untrained:
    """One untrained network of exercise 7.5."""

    description: str
    build: Callable[[], nn.Module]
    always: bool
    why: str

    def __post_init__(self) -> None:
        _validate.text(self.description, "description")
        _validate.function(self.build, "build")
        _validate.boolean(self.always, "always")
        _validate.text(self.why, "why")


UNTRAINED: dict[str, Untrained] = {
    "a": Untrained(
        "stride 2 twice, circular padding",
        lambda: DownsamplingNet(DownsamplingConfig("stride", "circular")), False,
        "two strides keep only the shifts in 4Z x 4Z; a random pair of shifts usually "
        "differs by another shift, and the prediction can change"),
    "b": Untrained(
        "BlurPool (b₃) twice, circular padding",
        lambda: DownsamplingNet(DownsamplingConfig("blur", "circular")), False,
        "the blur makes a shift change the output less, not never; untrained and split at "
        "the median, many images sit near the threshold"),
    "c": Untrained(
        "APS twice, circular padding",
        lambda: DownsamplingNet(DownsamplingConfig("aps", "circular")), True,
        "every layer follows every circular shift, and the global pool forgets it: exact "
        "invariance, trained or not"),
    "d": Untrained(
        "APS twice, zero padding",
        lambda: DownsamplingNet(DownsamplingConfig("aps", "same")), False,
        "the zeros at the border do not move with the image, so the convolutions are not "
        "equivariant to circular shifts, and APS cannot repair that"),
    "e": Untrained(
        "no downsampling (stride 1), circular padding",
        lambda: ConvNet(ConvNetConfig(channels=(4, 8), global_pool="max")), True,
        "stride-1 circular convolutions and ReLUs are equivariant to every shift, and the "
        "global pool makes the network invariant (chapters 2 and 4)"),
}
"""Five untrained two-layer networks (4 and 8 channels, global max pool), split at the median
of the exercise's images."""


def measured_untrained(*, n: int = 128, pairs: int = 4, seed: int = 0) -> dict[str, float]:
    """The circular-shift consistency of each network of ``UNTRAINED``, split at its median,
    on ``n`` glyph images of 12 x 12."""
    n = _validate.positive_int(n, "n", high=10_000)
    pairs = _validate.positive_int(pairs, "pairs", high=1_000)
    images, _ = glyph_images(n, 12, noise=0.2, seed=seed)
    results = {}
    for name, case in UNTRAINED.items():
        model = median_split(case.build(), images)
        results[name] = consistency(model, images, pairs=pairs, seed=seed)
    return results


@exercise("7.5", "predict, then measure: which untrained networks are always consistent?")
def check_untrained_predictions(my_predictions: Callable[[], dict[str, bool]]) -> None:
    """``my_predictions()`` returns ``{name: bool}`` for every network of ``UNTRAINED``: is its
    top-1 prediction the same under every pair of circular shifts, before any training?"""
    untrained = dict(UNTRAINED)
    answer = attempt(my_predictions, call="my_predictions()")
    if not isinstance(answer, dict) or set(answer) != set(UNTRAINED):
        raise ExerciseError(
            f"my_predictions() must return a dict with one bool for each of "
            f"{sorted(UNTRAINED)}, got {describe_value(answer)}"
        )
    for name, case in untrained.items():
        if not isinstance(answer[name], bool):
            raise ExerciseError(f"my_predictions()[{name!r}] must be True or False, "
                                f"got {answer[name]!r}")
        if answer[name] != case.always:
            raise ExerciseError(
                f"({name}) {case.description}: you predicted "
                f"{'always' if answer[name] else 'not always'} consistent, but it is "
                f"{'always' if case.always else 'not always'}: {case.why}."
            )
