"""The checkers of chapter 10's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a hint on
plausible wrong answers."""

import pytest
import torch

from shiftlab.exercises import _core
from shiftlab.exercises import segmentation as exercises
from shiftlab.exercises._core import ExerciseError

# Reference answers, as a learner would write them.


def upsample(y, a):
    n, c, h, w = y.shape
    out = torch.zeros(n, c, 2 * h, 2 * w, dtype=y.dtype)
    out[..., a[0]::2, a[1]::2] = y
    return out


def _ious(predicted, target, classes):
    for k in range(classes):
        p, t = predicted == k, target == k
        yield int((p & t).sum()), int((p | t).sum())


def my_mean_iou(predicted, target, classes):
    ratios = [i / u for i, u in _ious(predicted, target, classes) if u]
    return sum(ratios) / len(ratios)


def _follows(t):
    return t[0] % 4 == 0 and t[1] % 4 == 0


def predictions():
    return {"baseline": {t: _follows(t) for t in exercises.SHIFTS_103},
            "aps": {t: _follows(t) for t in exercises.SHIFTS_103},
            "aps-u": {t: True for t in exercises.SHIFTS_103}}


def _largest(x):
    parts = [(a_y, a_x) for a_y in range(2) for a_x in range(2)]
    norms = torch.stack([torch.stack([x[n, :, a_y::2, a_x::2].norm() for a_y, a_x in parts])
                         for n in range(len(x))])
    return [parts[int(k)] for k in norms.argmax(dim=1)]


def roundtrip(x, place=None):
    out = torch.zeros_like(x)
    for n, (a_y, a_x) in enumerate(_largest(x)):
        b_y, b_x = (a_y, a_x) if place is None else place
        out[n, :, b_y::2, b_x::2] = x[n, :, a_y::2, a_x::2]
    return out


CHECKS = [
    (exercises.check_upsample, upsample),
    (exercises.check_mean_iou, my_mean_iou),
    (exercises.check_follow_predictions, predictions),
    (exercises.check_aps_roundtrip, roundtrip),
]


def test_other_right_answers_pass_too():
    def by_kron(y, a):  # each sample times a 2 x 2 block with a single 1, at a
        block = torch.zeros(1, 1, 2, 2, dtype=y.dtype)
        block[0, 0, a[0], a[1]] = 1
        return torch.kron(y, block)

    exercises.check_upsample(by_kron)
    exercises.check_mean_iou(lambda *args: torch.tensor(my_mean_iou(*args)))


def test_the_measurement_agrees_with_the_right_predictions():
    measured = exercises.measured_follows(n=3)
    right = predictions()
    for name, row in measured.items():
        for t in exercises.SHIFTS_103:
            assert row[str(t)] == (1.0 if right[name][t] else 0.0)


def _in_place(y, a):
    result = upsample(y, a)
    y.zero_()
    return result


WRONG_UPSAMPLES = [
    (lambda y, a: upsample(y, (a[1], a[0])), "in that order"),
    (lambda y, a: torch.repeat_interleave(torch.repeat_interleave(y, 2, -2), 2, -1),
     "must be 0"),
    (lambda y, a: upsample(y, (0, 0)), "expected"),
    (lambda y, a: y, "shape"),
    (_in_place, "in place"),
    (lambda y, a: upsample(y, a).numpy(), "torch.Tensor"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_UPSAMPLES)
def test_wrong_upsamplings_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_upsample(answer)
    assert list(_core.results().values()) == ["failed"]


def _every_class(predicted, target, classes):
    return sum(i / u if u else 0.0 for i, u in _ious(predicted, target, classes)) / classes


WRONG_IOUS = [
    (_every_class, "neither map"),
    (lambda p, t, k: float((p == t).double().mean()), "pixel accuracy"),
    (lambda p, t, k: my_mean_iou(p, t, k) / 2, "expected"),
    (lambda p, t, k: "0.5", "one number"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_IOUS)
def test_wrong_mean_ious_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_mean_iou(answer)


def _flip(name, t):
    answer = predictions()
    answer[name][t] = not answer[name][t]
    return lambda: answer


WRONG_PREDICTIONS = [
    (_flip("aps", (0, 1)), "plain upsampling puts them back"),
    (_flip("baseline", (0, 2)), "4Z x 4Z"),
    (_flip("aps-u", (3, 5)), "every circular shift"),
    (lambda: {"baseline": {}}, "keys"),
    (lambda: {**predictions(), "aps": {t: 1 for t in exercises.SHIFTS_103}}, "True or False"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_PREDICTIONS)
def test_wrong_predictions_are_caught_with_the_reason(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_follow_predictions(answer)


WRONG_ROUNDTRIPS = [
    (lambda x: roundtrip(x, place=(0, 0)), "plain upsampling"),
    (lambda x: x, "expected"),
    (lambda x: roundtrip(x)[:, :, ::2, ::2], "shape"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_ROUNDTRIPS)
def test_wrong_roundtrips_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_aps_roundtrip(answer)
