"""Checkers for chapter 10, equivariant dense prediction.

Each checker draws its trials from a seeded generator (shapes, maps, components, label maps,
networks), so a notebook shows the same output on every run.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from shiftlab.exercises._core import (
    ExerciseError,
    as_number,
    as_tensor,
    attempt,
    describe_value,
    exercise,
    grid_text,
    random_int,
)
from shiftlab.restoring import aps_downsample, aps_phase
from shiftlab.segmentation import (
    SegmentationConfig,
    SegmentationNet,
    glyph_segmentation,
    mean_iou,
    shift_bounds,
    shift_errors,
    upsample,
)
from shiftlab.transforms import shift

COMPONENTS = ((0, 0), (0, 1), (1, 0), (1, 1))


def _random_map(generator: torch.Generator) -> torch.Tensor:
    shape = (random_int(1, 3, generator), random_int(1, 3, generator),
             random_int(1, 5, generator), random_int(1, 5, generator))
    return torch.randn(shape, generator=generator, dtype=torch.float64)


# Exercise 10.1 --------------------------------------------------------------------------------

@exercise("10.1", "polyphase upsampling")
def check_upsample(my_upsample: Callable[[torch.Tensor, tuple[int, int]], torch.Tensor], *,
                   seed: int = 0) -> None:
    """``my_upsample(y, a)`` for ``y`` of shape ``(N, C, h, w)`` and a component ``a = (a_y,
    a_x)`` in ``{0, 1}²`` must return the ``(N, C, 2h, 2w)`` map that holds ``y[..., i, j]`` at
    ``(2i + a_y, 2j + a_x)`` and zeros elsewhere."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(8):
        y = _random_map(generator)
        for a in COMPONENTS:
            original = y.clone()
            call = f"my_upsample(y, {a}) with y of shape {tuple(y.shape)}"
            got = as_tensor(attempt(my_upsample, y, a, call=call), call)
            want = upsample(original, a)
            if not torch.equal(y, original):
                raise ExerciseError(f"{call} changed y in place; leave y as it is")
            if got.shape != want.shape:
                raise ExerciseError(f"{call} returned shape {tuple(got.shape)}; expected "
                                    f"{tuple(want.shape)}: twice the height and the width")
            got = got.detach().to(want.dtype)
            if torch.equal(got, want):
                continue
            hint = ""
            for b in COMPONENTS:
                if b != a and torch.equal(got, upsample(original, b)):
                    hint = (f" Your map has y at component {b}: row 2i + a_y and column "
                            "2j + a_x, with a = (a_y, a_x) in that order.")
            if not hint and bool((got[..., a[0]::2, a[1]::2] == original).all()):
                hint = " Component a is right, but the other three must be 0 (not copies of y)."
            raise ExerciseError(f"{call} returned\n{grid_text(got)}\nexpected\n"
                                f"{grid_text(want)}.{hint}")


# Exercise 10.2 --------------------------------------------------------------------------------

def _label_cases(generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    cases = []
    for _ in range(10):
        classes = random_int(2, 4, generator)
        shape = (random_int(1, 3, generator), random_int(2, 6, generator),
                 random_int(2, 6, generator))
        target = torch.randint(0, classes, shape, generator=generator)
        noise = torch.randint(0, classes, shape, generator=generator)
        keep = torch.rand(shape, generator=generator) < 0.6
        cases.append((torch.where(keep, target, noise), target, classes))
    # a class present in neither map: it must not count; one only in the prediction: IoU 0
    target = torch.tensor([[[0, 0, 1], [0, 1, 1]]])
    cases.append((torch.tensor([[[0, 2, 1], [0, 1, 1]]]), target, 4))
    return cases


@exercise("10.2", "the mean intersection over union")
def check_mean_iou(my_mean_iou: Callable[[torch.Tensor, torch.Tensor, int], float], *,
                   seed: int = 0) -> None:
    """``my_mean_iou(predicted, target, classes)`` for two label maps of one shape must return
    the mean, over the classes present in either map, of ``|P ∩ T| / |P ∪ T|``, counted over
    all pixels of all samples."""
    generator = torch.Generator().manual_seed(seed)
    for predicted, target, classes in _label_cases(generator):
        call = f"my_mean_iou(predicted, target, {classes}) on maps of shape {tuple(target.shape)}"
        got = as_number(attempt(my_mean_iou, predicted.clone(), target.clone(), classes,
                                call=call), call)
        want = mean_iou(predicted, target, classes)
        if abs(got - want) <= 1e-6:  # a float32 answer is right too
            continue
        hint = ""
        every = [int(((predicted == k) & (target == k)).sum())
                 / max(1, int(((predicted == k) | (target == k)).sum())) for k in range(classes)]
        if abs(got - sum(every) / classes) <= 1e-6:
            hint = (" You averaged over every class, also those in neither map (IoU 0/0): "
                    "leave those out.")
        elif abs(got - float((predicted == target).double().mean())) <= 1e-6:
            hint = " That is the pixel accuracy; the IoU is computed per class."
        raise ExerciseError(f"{call} returned {got:.6g}; expected {want:.6g}.{hint}")


# Exercise 10.3 --------------------------------------------------------------------------------

SHIFTS_103: tuple[tuple[int, int], ...] = ((0, 1), (1, 1), (0, 2), (2, 2), (4, 0), (4, 8),
                                           (3, 5))
"""The shifts of exercise 10.3."""

NETWORKS_103: dict[str, SegmentationConfig] = {
    "baseline": SegmentationConfig("stride", "plain"),
    "aps": SegmentationConfig("aps", "plain"),
    "aps-u": SegmentationConfig("aps", "aps-u"),
}
"""The three encoder–decoders of the chapter, untrained."""

_WHY_103 = {
    "baseline": "two stride-2 steps and plain upsampling follow only the shifts of 4Z x 4Z",
    "aps": "APS keeps the right samples after any shift, but plain upsampling puts them back "
           "at component (0, 0), so only the shifts of 4Z x 4Z are followed",
    "aps-u": "APS-U puts every sample back where APS took it: every circular shift is followed",
}


def measured_follows(*, n: int = 8, seed: int = 0) -> dict[str, dict[str, float]]:
    """For each untrained network of exercise 10.3 (float64) and each shift of ``SHIFTS_103``,
    the fraction of ``n`` glyph canvases whose scores follow the shift within rounding."""
    x = glyph_segmentation(n, 16, seed=seed)[0].double()
    table = {}
    for name, config in NETWORKS_103.items():
        net = SegmentationNet(config, seed=seed).double()
        within = shift_errors(net, x, list(SHIFTS_103)) <= shift_bounds(net, x, list(SHIFTS_103))
        table[name] = {str(t): float(row.double().mean()) for t, row in zip(SHIFTS_103, within,
                                                                             strict=True)}
    return table


@exercise("10.3", "predict, then measure: which shifts does the mask follow?")
def check_follow_predictions(my_predictions: Callable[[], dict]) -> None:
    """``my_predictions()`` returns ``{network: {t: bool}}`` for every network of
    ``NETWORKS_103`` and shift of ``SHIFTS_103``: does ``f(T_t x) = T_t f(x)`` hold (within
    rounding) for random canvases?"""
    answer = attempt(my_predictions, call="my_predictions()")
    if not isinstance(answer, dict) or set(answer) != set(NETWORKS_103):
        raise ExerciseError(f"my_predictions() must return a dict with the keys "
                            f"{sorted(NETWORKS_103)}, got {describe_value(answer)}")
    for name in NETWORKS_103:
        row = answer[name]
        if not isinstance(row, dict) or set(row) != set(SHIFTS_103):
            raise ExerciseError(f"my_predictions()[{name!r}] must be a dict with one bool per "
                                f"shift in SHIFTS_103 = {SHIFTS_103}, got {row!r:.120}")
        for t in SHIFTS_103:
            follows = name == "aps-u" or (t[0] % 4 == 0 and t[1] % 4 == 0)
            if not isinstance(row[t], bool):
                raise ExerciseError(f"my_predictions()[{name!r}][{t}] must be True or False, "
                                    f"got {row[t]!r}")
            if row[t] != follows:
                raise ExerciseError(
                    f"{name} after the shift {t}: you predicted that the scores "
                    f"{'follow' if row[t] else 'do not follow'} the shift, but they "
                    f"{'do' if follows else 'do not'}: {_WHY_103[name]}.")


# Exercise 10.4 --------------------------------------------------------------------------------

def _keep_largest(x: torch.Tensor) -> torch.Tensor:
    return upsample(aps_downsample(x, 2), aps_phase(x, 2))


@exercise("10.4", "APS and APS-U: keep the largest component in place")
def check_aps_roundtrip(my_roundtrip: Callable[[torch.Tensor], torch.Tensor], *,
                        seed: int = 0) -> None:
    """``my_roundtrip(x)`` for ``x`` of shape ``(N, C, H, W)`` (H, W even) must return, per
    sample, APS-U of APS: the polyphase component of largest norm (over all channels) left
    where it is, zeros at the three other components. The result follows every shift."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(10):
        shape = (random_int(1, 3, generator), random_int(1, 3, generator),
                 2 * random_int(1, 4, generator), 2 * random_int(1, 4, generator))
        x = torch.randn(shape, generator=generator, dtype=torch.float64)
        original = x.clone()
        call = f"my_roundtrip(x) with x of shape {shape}"
        got = as_tensor(attempt(my_roundtrip, x, call=call), call)
        want = _keep_largest(original)
        if not torch.equal(x, original):
            raise ExerciseError(f"{call} changed x in place; leave x as it is")
        if got.shape != want.shape:
            raise ExerciseError(f"{call} returned shape {tuple(got.shape)}; expected "
                                f"{tuple(want.shape)}, the shape of x")
        got = got.detach().to(want.dtype)
        if torch.equal(got, want):
            t = (random_int(-3, 3, generator), random_int(-3, 3, generator))
            moved = as_tensor(attempt(my_roundtrip, shift(original, t), call=call), call)
            if not torch.equal(moved.detach().to(want.dtype), shift(want, t)):
                raise ExerciseError(f"{call} is right on x but not on x shifted by {t}")
            continue
        plain = upsample(aps_downsample(original, 2), (0, 0))
        hint = ""
        if torch.equal(got, plain):
            hint = (" You upsampled into component (0, 0): that is plain upsampling, which "
                    "loses where APS took the samples. Put them back at APS's component.")
        raise ExerciseError(f"{call} returned\n{grid_text(got)}\nexpected\n"
                            f"{grid_text(want)}.{hint}")
