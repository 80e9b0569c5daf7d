"""The checkers of chapter 4's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a hint on
plausible wrong answers."""

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F

from shiftlab.exercises import _core
from shiftlab.exercises import pooling as exercises
from shiftlab.exercises._core import ExerciseError
from shiftlab.models import ConvNetConfig
from shiftlab.transforms import shift, translate

# Reference answers, as a learner would write them.

def max_pool_2x2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def _survival(t):
    shared = (3 - t[0] % 3) * (3 - t[1] % 3)
    return Fraction(shared, 18 - shared)


def my_survival_predictions():
    return {t: _survival(t) for t in exercises.SHIFTS_3X3}


def global_power_mean(x, p):
    return x.pow(p).mean(dim=(-2, -1)).pow(1 / p)


def _changes(model, images, t, move=shift):
    with torch.no_grad():
        before = model(images).argmax(dim=1)
        after = model(move(images, t)).argmax(dim=1)
    return (before != after).double().mean().item()


def prediction_changes(model, images, t):
    return _changes(model, images, t)


PERIODS = {"a": 1, "b": 2, "c": 4, "d": 8, "e": 4, "f": 2}


def my_periods():
    return dict(PERIODS)


CHECKS = [
    (exercises.check_max_pool, max_pool_2x2),
    (exercises.check_survival_3x3, my_survival_predictions),
    (exercises.check_power_mean, global_power_mean),
    (exercises.check_prediction_changes, prediction_changes),
    (exercises.check_periods, my_periods),
]


def test_floats_are_accepted_as_probabilities():
    exercises.check_survival_3x3(
        lambda: {t: float(p) for t, p in my_survival_predictions().items()})


WRONG_POOLS = [
    (lambda x: F.avg_pool2d(x, 2), "average"),
    (lambda x: F.max_pool2d(x, 2, stride=1), "stride of 1"),
    (lambda x: x.reshape(x.shape[0], x.shape[1], 2, x.shape[2] // 2, 2, x.shape[3] // 2)
     .amax(dim=(2, 4)), "row i with row i"),
    (lambda x: max_pool_2x2(x)[..., :1, :], "shape"),
    (lambda x: max_pool_2x2(x) + 1, "is wrong"),
    (lambda x: x.copy_(x.flip(-1))[..., ::2, ::2], "in place"),
    (lambda x: max_pool_2x2(x).tolist(), "torch.Tensor"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_POOLS)
def test_wrong_max_pools_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_max_pool(answer)
    assert list(_core.results().values()) == ["failed"]


def _answers(rule):
    return lambda: {t: rule(t) for t in exercises.SHIFTS_3X3}


def _shared(t):
    return (3 - t[0] % 3) * (3 - t[1] % 3)


WRONG_SURVIVALS = [
    (_answers(lambda t: Fraction(_shared(t), 9)), "part of the window that is shared"),
    (_answers(lambda t: Fraction(_shared(t), 18) if _shared(t) < 9 else 1), "counted once"),
    (_answers(lambda t: 0 if _shared(t) == 9 else _survival(t)), "shift by the stride"),
    (_answers(lambda t: Fraction(1, 3)), r"measured 0\.\d+"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_SURVIVALS)
def test_wrong_survival_predictions_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_survival_3x3(answer)


def test_survival_predictions_must_cover_every_shift():
    with pytest.raises(ExerciseError, match="keys"):
        exercises.check_survival_3x3(lambda: {(0, 1): 0.5})
    with pytest.raises(ExerciseError, match="one number"):
        exercises.check_survival_3x3(_answers(lambda t: "half"))


WRONG_POWER_MEANS = [
    (lambda x, p: x.pow(p).mean(dim=(-2, -1)), "p-th root"),
    (lambda x, p: x.pow(p).sum(dim=(-2, -1)).pow(1 / p), "sum"),
    (lambda x, p: x.pow(p).mean(dim=(-3, -2, -1)).pow(1 / p), "spatial axes only"),
    (lambda x, p: x.pow(p).mean(dim=(-2, -1), keepdim=True).pow(1 / p), "no keepdim"),
    (lambda x, p: x[..., 0, :].pow(p).mean(dim=-1).pow(1 / p), "is wrong"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_POWER_MEANS)
def test_wrong_power_means_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_power_mean(answer)


def test_a_pool_that_is_right_on_the_image_but_not_invariant_is_caught():
    seen = []

    def remembers_the_first_image(x, p):
        seen.append(x)
        return global_power_mean(x, p) * (1.0 if torch.equal(x, seen[0]) else 1.5)

    with pytest.raises(ExerciseError, match="shifting x circularly"):
        exercises.check_power_mean(remembers_the_first_image)


WRONG_CHANGES = [
    (lambda m, x, t: 1 - _changes(m, x, t), "stays the same"),
    (lambda m, x, t: _changes(m, x, t) * len(x), "count"),
    (lambda m, x, t: _changes(m, x, t, move=translate), "Zeros came in"),
    (lambda m, x, t: _changes(m, x, (t[1], t[0])), "swapped"),
    (lambda m, x, t: float((m(shift(x, t)) != m(x)).any(dim=1).double().mean()), "argmax"),
    (lambda m, x, t: "some", "one number"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_CHANGES)
def test_wrong_prediction_changes_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_prediction_changes(answer)


def test_the_calibrated_classifiers_have_borderline_cases_to_flip():
    images, _ = exercises.glyph_images(128, 16, noise=0.5, seed=1)
    for k, config in enumerate(exercises.CLASSIFIER_CONFIGS):
        model = exercises.calibrated_classifier(config, seed=k)
        share = model(images).argmax(dim=1).double().mean().item()
        assert 0.3 < share < 0.7
        if config.stride > 1 or config.local_pool:
            assert _changes(model, images, (0, 1)) > 0.05


@pytest.mark.parametrize(("name", "period"), PERIODS.items())
def test_the_measured_period_of_each_architecture_is_its_predicted_one(name, period):
    assert exercises.measured_period(exercises.ARCHITECTURES[name]) == period


def test_a_period_that_is_no_lattice_is_reported_as_zero(monkeypatch):
    odd = torch.zeros(8, 8, dtype=torch.bool)
    odd[0, 0] = odd[1, 3] = True
    monkeypatch.setattr(exercises, "unchanged_shifts", lambda config, **kw: odd)
    assert exercises.measured_period(ConvNetConfig()) == 0


def test_a_wrong_period_names_the_architecture_and_the_reason():
    def periods():
        return {**PERIODS, "f": 4}

    with pytest.raises(ExerciseError, match=r"(?s)1 of 6.*f: conv.*global max pool.*absorbs"):
        exercises.check_periods(periods)


def test_wrong_periods_for_strides_explain_the_power_of_two():
    with pytest.raises(ExerciseError, match=r"(?s)3 of 6.*S = 2\^2.*S = 2\^3"):
        exercises.check_periods(lambda: {**PERIODS, "c": 2, "d": 2, "e": 2})


def test_periods_must_cover_every_architecture_with_an_allowed_value():
    with pytest.raises(ExerciseError, match="keys"):
        exercises.check_periods(lambda: {"a": 1})
    with pytest.raises(ExerciseError, match="one of"):
        exercises.check_periods(lambda: {**PERIODS, "a": 3})


def test_describe_names_every_layer():
    text = exercises.describe(ConvNetConfig(channels=(4, 4), stride=2, global_pool="max"))
    assert text.count("conv 3x3 stride 2") == 2 and text.endswith("global max pool → linear")
