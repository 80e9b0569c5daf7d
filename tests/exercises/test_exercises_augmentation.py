"""The checkers of chapter 9's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a hint on
plausible wrong answers."""

import pytest
import torch

from shiftlab.exercises import augmentation as exercises
from shiftlab.exercises._core import ExerciseError

# Reference answers, as a learner would write them.


def _rolled(images, shifts):
    return torch.stack([torch.roll(x, (int(dy), int(dx)), dims=(-2, -1))
                        for x, (dy, dx) in zip(images, shifts, strict=True)])


def augment(images, a, generator):
    return _rolled(images, torch.randint(-a, a + 1, (len(images), 2), generator=generator))


def flip_rate(model, images, t):
    with torch.no_grad():
        before = model(images).argmax(dim=-1)
        after = model(torch.roll(images, t, dims=(-2, -1))).argmax(dim=-1)
    return (before != after).double().mean().item()


def sawtooth_predictions():
    return {t: not (t[0] % 4 == 0 and t[1] % 4 == 0) for t in exercises.SHIFTS_93}


def displace_part(images, t, rows):
    start, stop = rows
    out = images.clone()
    out[..., start:stop, :] = torch.roll(images[..., start:stop, :], t, dims=-1)
    return out


CHECKS = [
    (exercises.check_augment, augment),
    (exercises.check_flip_rate, flip_rate),
    (exercises.check_sawtooth_predictions, sawtooth_predictions),
    (exercises.check_displace_part, displace_part),
]


def test_other_right_answers_pass_too():
    def augment_vectorised(images, a, generator):
        from shiftlab.consistency import shift_each
        shifts = torch.randint(-a, a + 1, (len(images), 2), generator=generator)
        return shift_each(images, shifts)

    def flip_rate_as_tensor(model, images, t):
        return torch.tensor(flip_rate(model, images, t))

    exercises.check_augment(augment_vectorised)
    exercises.check_flip_rate(flip_rate_as_tensor)


WRONG_AUGMENTS = [
    (lambda x, a, g: torch.roll(x, (a, a), dims=(-2, -1)), "the same shift"),
    (lambda x, a, g: _rolled(x, torch.randint(-a, a, (len(x), 2), generator=g)),
     "upper bound is exclusive"),
    (lambda x, a, g: _rolled(x, torch.randint(0, a + 1, (len(x), 2), generator=g)),
     "not from 0"),
    (lambda x, a, g: _rolled(x, torch.randint(-a, a + 1, (len(x), 1), generator=g).repeat(1, 2)),
     "independently"),
    (lambda x, a, g: _rolled(x, torch.randint(-a - 1, a + 2, (len(x), 2), generator=g)),
     "the largest allowed"),
    (lambda x, a, g: x.flip(-1), "not a circular shift"),
    (lambda x, a, g: x[:10], "one moved copy of every image"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_AUGMENTS)
def test_wrong_augmentations_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_augment(answer)


def test_an_augmentation_in_place_is_caught():
    def in_place(images, a, generator):
        images.copy_(augment(images, a, generator))
        return images

    with pytest.raises(ExerciseError, match="in place"):
        exercises.check_augment(in_place)


WRONG_FLIP_RATES = [
    (lambda m, x, t: 1 - flip_rate(m, x, t), "stays the same"),
    (lambda m, x, t: flip_rate(m, x, t) * len(x), "divide by the number of images"),
    (lambda m, x, t: (m(torch.roll(x, t, dims=(-2, -1))) != m(x)).any(-1).double().mean()
     .item(), "not the scores"),
    (lambda m, x, t: "often", "expected one number"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_FLIP_RATES)
def test_wrong_flip_rates_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_flip_rate(answer)


def test_the_measured_sawtooth_never_changes_on_the_stride_subgroup_and_does_elsewhere():
    measured = exercises.measured_changes(seed=7)
    assert measured == {t: not (t[0] % 4 == 0 and t[1] % 4 == 0) for t in exercises.SHIFTS_93}


@pytest.mark.parametrize("wrong", [
    {t: t != (0, 0) for t in exercises.SHIFTS_93},      # every shift can change it
    {t: t[1] % 2 == 1 for t in exercises.SHIFTS_93},    # only odd shifts
])
def test_wrong_sawtooth_predictions_are_caught_with_the_reason(wrong):
    with pytest.raises(ExerciseError, match="total stride 4"):
        exercises.check_sawtooth_predictions(lambda: wrong)


def test_sawtooth_predictions_of_the_wrong_form_are_caught():
    with pytest.raises(ExerciseError, match="one bool for each shift"):
        exercises.check_sawtooth_predictions(lambda: {(0, 0): False})
    with pytest.raises(ExerciseError, match="True or False"):
        exercises.check_sawtooth_predictions(lambda: dict.fromkeys(exercises.SHIFTS_93, "yes"))


def _zero_filled(images, t, rows):
    start, stop = rows
    out = images.clone()
    part = torch.zeros_like(images[..., start:stop, :])
    if t > 0:
        part[..., t:] = images[..., start:stop, :-t]
    else:
        part[..., :t] = images[..., start:stop, -t:]
    out[..., start:stop, :] = part
    return out


def _in_place_part(images, t, rows):
    start, stop = rows
    images[..., start:stop, :] = torch.roll(images[..., start:stop, :].clone(), t, dims=-1)
    return images


WRONG_PARTS = [
    (lambda x, t, rows: torch.roll(x, t, dims=-1), "Every row moved"),
    (lambda x, t, rows: displace_part(x, -t, rows), "wrong way"),
    (_zero_filled, "come back at the other"),
    (lambda x, t, rows: displace_part(x.transpose(-2, -1), t, rows).transpose(-2, -1),
     "not the expected result"),
    (_in_place_part, "in place"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_PARTS)
def test_wrong_part_displacements_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_displace_part(answer)
