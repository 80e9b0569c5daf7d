"""The checkers of chapter 7's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a hint on
plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F

from shiftlab.consistency import shift_each
from shiftlab.exercises import _core
from shiftlab.exercises import restoring as exercises
from shiftlab.exercises._core import ExerciseError
from shiftlab.transforms import shift

# Reference answers, as a learner would write them.

def pascal_row(k):
    taps = torch.ones(1, dtype=torch.float64)
    for _ in range(k - 1):
        taps = F.conv1d(taps[None, None], torch.ones(1, 1, 2, dtype=torch.float64),
                        padding=1)[0, 0]
    return taps


def binomial(k):
    taps = pascal_row(k)
    return taps / taps.sum()


def _components(x):
    return torch.stack([x[:, :, a_y::2, a_x::2] for a_y in range(2) for a_x in range(2)], dim=1)


def _pick(x, choose):
    parts = _components(x)
    best = choose(parts.flatten(start_dim=2).norm(dim=2))
    return parts[torch.arange(len(x)), best]


def aps(x):
    return _pick(x, lambda norms: norms.argmax(dim=1))


def _in_subgroup(t):
    return t[0] % 2 == 0 and t[1] % 2 == 0


def exact_predictions():
    return {"stride": {t: _in_subgroup(t) for t in exercises.SHIFTS_73},
            "blur": {t: _in_subgroup(t) for t in exercises.SHIFTS_73},
            "aps": {t: True for t in exercises.SHIFTS_73}}


def _agreement(model, images, shifts_a, shifts_b):
    with torch.no_grad():
        first = model(shift_each(images, shifts_a)).argmax(dim=1)
        second = model(shift_each(images, shifts_b)).argmax(dim=1)
    return (first == second).double().mean().item()


def consistency_by_loop(model, images, shifts_a, shifts_b):
    def shifted(shifts):
        return torch.cat([shift(image[None], tuple(t.tolist()))
                          for image, t in zip(images, shifts, strict=True)])

    with torch.no_grad():
        first = model(shifted(shifts_a)).argmax(dim=1)
        second = model(shifted(shifts_b)).argmax(dim=1)
    return (first == second).double().mean().item()


UNTRAINED_ANSWERS = {"a": False, "b": False, "c": True, "d": False, "e": True}


def untrained_predictions():
    return dict(UNTRAINED_ANSWERS)


CHECKS = [
    (exercises.check_binomial, binomial),
    (exercises.check_aps, aps),
    (exercises.check_exact_predictions, exact_predictions),
    (exercises.check_consistency, consistency_by_loop),
    (exercises.check_untrained_predictions, untrained_predictions),
]


def test_other_right_answers_pass_too():
    exercises.check_binomial(lambda k: binomial(k).float())
    exercises.check_consistency(_agreement)
    exercises.check_consistency(lambda *args: torch.tensor(_agreement(*args)))


WRONG_BINOMIALS = [
    (pascal_row, "divide by their sum"),
    (lambda k: torch.ones(k, dtype=torch.float64) / k, "box filter"),
    (lambda k: binomial(k + 1), "adds one tap"),
    (lambda k: binomial(k).tolist(), "torch.Tensor"),
    (lambda k: torch.outer(binomial(k), binomial(k)), "1-D filter"),
    (lambda k: torch.arange(k, 0, -1, dtype=torch.float64) / (k * (k + 1) / 2), "expected"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_BINOMIALS)
def test_wrong_binomial_filters_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_binomial(answer)
    assert list(_core.results().values()) == ["failed"]


def _per_channel(x):
    n, c, h, w = x.shape
    return aps(x.reshape(n * c, 1, h, w)).reshape(n, c, h // 2, w // 2)


def _swapped(x):
    parts = _components(x)
    best = parts.flatten(start_dim=2).norm(dim=2).argmax(dim=1)
    swapped = (best % 2) * 2 + best // 2  # (a_y, a_x) read as (a_x, a_y)
    return parts[torch.arange(len(x)), swapped]


def _in_place(x):
    result = aps(x).clone()
    x.zero_()
    return result


WRONG_APS = [
    (_per_channel, "one choice per"),
    (lambda x: x[:, :, ::2, ::2], "plain stride"),
    (lambda x: _pick(x, lambda norms: norms.argmin(dim=1)), "argmax, not argmin"),
    (_swapped, "swapped"),
    (_components, "shape"),
    (_in_place, "in place"),
    (lambda x: aps(x).numpy(), "torch.Tensor"),
    (lambda x: aps(x) * 1.5, "largest norm"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_APS)
def test_wrong_aps_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_aps(answer)


def _predictions_with(name, t, value):
    def answer():
        predictions = exact_predictions()
        predictions[name][t] = value
        return predictions

    return answer


WRONG_EXACT = [
    (_predictions_with("blur", (0, 1), True), "alike, not equal"),
    (_predictions_with("aps", (1, 1), False), "follows every shift"),
    (_predictions_with("stride", (3, 0), True), "another polyphase component"),
    (_predictions_with("stride", (2, 4), False), "only after shifts in 2Z"),
    (lambda: {"stride": {}, "blur": {}}, "keys"),
    (lambda: {name: {} for name in exercises.DOWNSAMPLERS_73}, "one bool per shift"),
    (_predictions_with("aps", (0, 2), "yes"), "True or False"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_EXACT)
def test_wrong_exact_copy_predictions_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_exact_predictions(answer)


def _scores_equal(model, images, shifts_a, shifts_b):
    with torch.no_grad():
        first = model(shift_each(images, shifts_a))
        second = model(shift_each(images, shifts_b))
    return (first == second).all(dim=1).double().mean().item()


WRONG_CONSISTENCIES = [
    (lambda *args: 100 * _agreement(*args), "percentage"),
    (lambda *args: 1 - _agreement(*args), "changes"),
    (lambda m, x, a, b: _agreement(m, x, a[:1].expand_as(a), b[:1].expand_as(b)),
     "same shift"),
    (lambda m, x, a, b: _agreement(m, x, torch.zeros_like(a), b), "One side"),
    (_scores_equal, "predicted classes"),
    (lambda *args: "all of them", "float"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_CONSISTENCIES)
def test_wrong_consistencies_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_consistency(answer)


def _untrained_with(name, value):
    return lambda: {**UNTRAINED_ANSWERS, name: value}


WRONG_UNTRAINED = [
    (_untrained_with("a", True), "4Z x 4Z"),
    (_untrained_with("b", True), "less, not never"),
    (_untrained_with("c", False), "every layer follows every circular shift"),
    (_untrained_with("d", True), "zeros at the border"),
    (_untrained_with("e", False), "stride-1"),
    (lambda: {"c": True}, "one bool"),
    (_untrained_with("c", 1), "True or False"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_UNTRAINED)
def test_wrong_untrained_predictions_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_untrained_predictions(answer)


def test_the_measurements_agree_with_the_right_predictions():
    measured = exercises.measured_exact_copies()
    for name, row in exact_predictions().items():
        for t, exact in row.items():
            assert measured[name][str(t)] == (1.0 if exact else 0.0)
    consistency = exercises.measured_untrained()
    for name, always in UNTRAINED_ANSWERS.items():
        assert (consistency[name] == 1.0) == always
        assert consistency[name] > 0.5
