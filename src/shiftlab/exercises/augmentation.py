"""Checkers for chapter 9, invariance learned from data.

Each checker draws its trials from a seeded generator (images, shifts, rows, networks), so a
notebook shows the same output on every run.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from shiftlab import _validate
from shiftlab.augmentation import displace_part, flip_rates
from shiftlab.exercises._core import (
    ExerciseError,
    as_number,
    as_tensor,
    attempt,
    describe_value,
    exercise,
    random_int,
)
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.transforms import shift


def _images(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 1, size, size, generator=generator, dtype=torch.float64)


# Exercise 9.1 ---------------------------------------------------------------------------------

def _found_shift(original: torch.Tensor, got: torch.Tensor, a: int) -> tuple[int, int] | None:
    """The shift ``t`` with ``|dy|, |dx| <= a`` and ``T_t original == got``, if there is one."""
    for dy in range(-a, a + 1):
        for dx in range(-a, a + 1):
            if torch.equal(shift(original, (dy, dx)), got):
                return dy, dx
    return None


@exercise("9.1", "random-shift augmentation")
def check_augment(my_augment: Callable[[torch.Tensor, int, torch.Generator], torch.Tensor], *,
                  seed: int = 0) -> None:
    """``my_augment(images, a, generator)`` must return every image ``(N, C, H, W)`` shifted
    circularly by its own ``(dy, dx)``, drawn uniformly from ``-a ... a`` with ``generator``."""
    generator = torch.Generator().manual_seed(seed)
    for a in (1, 2, 3):
        size = 2 * a + 4 + random_int(0, 3, generator)
        images = _images(400, size, generator)
        original = images.clone()
        call = f"my_augment(images, {a}, generator) with images of shape {tuple(images.shape)}"
        got = as_tensor(attempt(my_augment, images, a, generator, call=call), call)
        if not torch.equal(images, original):
            raise ExerciseError(f"{call} changed images in place; return new images")
        if got.shape != images.shape:
            raise ExerciseError(f"{call} returned shape {tuple(got.shape)}; expected "
                                f"{tuple(images.shape)}, one moved copy of every image")
        shifts = []
        for k in range(len(images)):
            t = _found_shift(images[k : k + 1], got[k : k + 1], a)
            if t is None:
                wider = _found_shift(images[k : k + 1], got[k : k + 1], a + 1)
                hint = (f" It is the shift {wider}: the largest allowed is {a}."
                        if wider is not None else
                        " Use a circular shift (torch.roll over the last two dimensions).")
                raise ExerciseError(f"{call}: image {k} is not a circular shift of its input "
                                    f"by at most {a} pixels in each direction.{hint}")
            shifts.append(t)
        drawn = torch.tensor(shifts)
        if len(set(shifts)) == 1:
            raise ExerciseError(f"{call} moved every image by the same shift {shifts[0]}: draw "
                                "a new (dy, dx) for each image")
        for axis, name in ((0, "dy"), (1, "dx")):
            values = set(drawn[:, axis].tolist())
            if min(values) > -a:
                raise ExerciseError(f"{call}: {name} never reached {-a} in {len(images)} "
                                    f"images; draw from -a to a, not from 0")
            if max(values) < a:
                raise ExerciseError(f"{call}: {name} never reached {a} in {len(images)} "
                                    "images; torch.randint's upper bound is exclusive: use "
                                    "a + 1")
        if (drawn[:, 0] == drawn[:, 1]).all():
            raise ExerciseError(f"{call} always moved dy and dx by the same amount: draw them "
                                "independently")


# Exercise 9.2 ---------------------------------------------------------------------------------

def _network(seed: int) -> ConvNet:
    return ConvNet(ConvNetConfig(channels=(4, 8), padding="same", stride=2, classes=5,
                                 global_pool="max"), seed=seed)


@exercise("9.2", "how often the top-1 class changes")
def check_flip_rate(my_flip_rate: Callable, *, seed: int = 0) -> None:
    """``my_flip_rate(model, images, t)`` must return the fraction of ``images`` whose top-1
    class (arg max of ``model``'s scores) changes when the image is shifted circularly by
    ``t``: one number in ``[0, 1]``."""
    generator = torch.Generator().manual_seed(seed)
    for trial in range(6):
        model = _network(seed * 100 + trial)
        images = _images(random_int(20, 60, generator), 12, generator).float()
        t = (random_int(-3, 3, generator), random_int(1, 3, generator))
        call = f"my_flip_rate(model, images, {t}) with {len(images)} images"
        got = as_number(attempt(my_flip_rate, model, images, t, call=call), call)
        want = float(flip_rates(model, images, [t])[0])
        if abs(got - want) <= 1e-6:  # fractions of at most 60 images: steps of 1/60
            continue
        hint = ""
        if abs(got - (1 - want)) <= 1e-6:
            hint = " That is the fraction that stays the same: count the changes."
        elif abs(got - want * len(images)) <= 1e-6:
            hint = " That is the number of changes: divide by the number of images."
        elif got > want:
            hint = (" Compare the predicted classes (argmax over the class axis), not the "
                    "scores: almost every score changes a little.")
        raise ExerciseError(f"{call} returned {got:.4f}; expected {want:.4f}.{hint}")


# Exercise 9.3 ---------------------------------------------------------------------------------

SHIFTS_93 = ((0, 0), (0, 1), (0, 2), (0, 4), (4, 4), (2, 6), (8, 4))
"""The shifts of exercise 9.3: which of them can change an answer of the untrained network
``ConvNetConfig(channels=(4, 8), padding="circular", stride=2)`` on 16 x 16 images?"""


def measured_changes(*, n: int = 64, networks: int = 3, seed: int = 0) -> dict[tuple, bool]:
    """For each shift of ``SHIFTS_93``: does it change the top-1 class of any of ``n`` random
    images under any of ``networks`` untrained circular, strided networks?"""
    n = _validate.positive_int(n, "n", high=1024)
    networks = _validate.positive_int(networks, "networks", high=16)
    seed = _validate.integer(seed, "seed")
    generator = torch.Generator().manual_seed(seed)
    images = _images(n, 16, generator).float()
    changed = dict.fromkeys(SHIFTS_93, False)
    for k in range(networks):
        model = ConvNet(ConvNetConfig(channels=(4, 8), padding="circular", stride=2,
                                      classes=5, global_pool="max"), seed=seed + k)
        for t, rate in zip(SHIFTS_93, flip_rates(model, images, list(SHIFTS_93)).tolist(),
                           strict=True):
            changed[t] = changed[t] or rate > 0
    return changed


@exercise("9.3", "predict, then measure: which shifts can change the answer?")
def check_sawtooth_predictions(my_predictions: Callable[[], dict]) -> None:
    """``my_predictions()`` returns ``{t: bool}`` for every shift ``t`` of ``SHIFTS_93``: can
    the shift change the top-1 class of the untrained circular network with two stride-2
    layers and a global max pool?"""
    answer = attempt(my_predictions, call="my_predictions()")
    if not isinstance(answer, dict) or set(answer) != set(SHIFTS_93):
        raise ExerciseError(f"my_predictions() must return a dict with one bool for each shift "
                            f"of {list(SHIFTS_93)}, got {describe_value(answer)}")
    measured = measured_changes()
    wrong = []
    for t in SHIFTS_93:
        if not isinstance(answer[t], bool):
            raise ExerciseError(f"my_predictions()[{t}] must be True or False, got "
                                f"{answer[t]!r}")
        if answer[t] != measured[t]:
            why = ("both components are multiples of the total stride 4, so the global pool "
                   "sees the same values, moved" if not measured[t] else
                   "a component is not a multiple of the total stride 4, so the strides keep "
                   "other samples")
            wrong.append(f"  shift {t}: you predicted {'can' if answer[t] else 'cannot'} "
                         f"change, measured {'changes' if measured[t] else 'never changes'} "
                         f"({why})")
    if wrong:
        raise ExerciseError(f"{len(wrong)} of {len(SHIFTS_93)} predictions disagree with the "
                            "measurement:\n" + "\n".join(wrong))


# Exercise 9.4 ---------------------------------------------------------------------------------

@exercise("9.4", "move one part of a digit")
def check_displace_part(my_displace_part: Callable, *, seed: int = 0) -> None:
    """``my_displace_part(images, t, rows)`` must shift rows ``[start, stop)`` of every image
    ``(N, C, H, W)`` circularly by ``t`` pixels along the row (right for ``t > 0``) and leave
    every other row as it was."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(8):
        size = random_int(6, 12, generator)
        images = torch.rand(random_int(1, 4, generator), random_int(1, 2, generator), size,
                            size, generator=generator, dtype=torch.float64)
        start = random_int(0, size - 2, generator)
        rows = (start, random_int(start + 1, size, generator))
        t = random_int(-2, 2, generator) or 1
        original = images.clone()
        call = f"my_displace_part(images, {t}, {rows}) with images of shape {tuple(images.shape)}"
        got = as_tensor(attempt(my_displace_part, images, t, rows, call=call), call)
        if not torch.equal(images, original):
            raise ExerciseError(f"{call} changed images in place; work on a copy (clone)")
        want = displace_part(original, t, rows)
        if got.shape == want.shape and torch.equal(got, want):
            continue
        hint = ""
        if got.shape == want.shape and torch.equal(got, shift(original, (0, t))):
            hint = " Every row moved: move only the rows of the part."
        elif got.shape == want.shape and torch.equal(got, displace_part(original, -t, rows)):
            hint = " The part moved the wrong way: t > 0 moves it right."
        elif got.shape == want.shape and torch.equal(got[..., :rows[0], :],
                                                     want[..., :rows[0], :]) and torch.equal(
                got[..., rows[1]:, :], want[..., rows[1]:, :]):
            hint = (" The other rows are right; in the part, the pixels that leave one side "
                    "must come back at the other (a circular shift along the row).")
        raise ExerciseError(f"{call} is not the expected result.{hint}")
