"""The checkers of chapter 3's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a useful
message on plausible wrong answers, on randomized inputs."""

import pytest
import torch

from shiftlab.exercises import _core
from shiftlab.exercises import stride as exercises
from shiftlab.exercises._core import ExerciseError
from shiftlab.metrics import exact_tolerance, invariance_error
from shiftlab.stride import polyphase
from shiftlab.transforms import Shift

# Reference answers, as a learner would write them.

def my_polyphase(x, s):
    rows = [torch.stack([x[..., a_y::s, a_x::s] for a_x in range(s)], dim=-3)
            for a_y in range(s)]
    return torch.stack(rows, dim=-4)


def kept_component(t, s):
    r = ((-t[0]) % s, (-t[1]) % s)
    return r, ((t[0] + r[0]) // s, (t[1] + r[1]) // s)


PREDICTIONS = {"a": 0.0, "b": 1.0, "c": 0.0, "d": 0.0, "e": 1.0, "f": 0.0, "g": 0.0, "h": 1.0}


def my_copy_fractions():
    return dict(PREDICTIONS)


def steps_with(tolerance):
    def invariance_steps(f, size):
        x = torch.randn(8, 1, size, size, generator=torch.Generator().manual_seed(0))

        def smallest(direction):
            for d in range(1, size + 1):
                if invariance_error(f, x, Shift(d * direction[0], d * direction[1])).max() \
                        <= tolerance:
                    return d
            return size

        return smallest((1, 0)), smallest((0, 1))

    return invariance_steps


invariance_steps = steps_with(exact_tolerance(torch.float32))

CHECKS = [
    (exercises.check_polyphase, my_polyphase),
    (exercises.check_kept_component, kept_component),
    (exercises.check_copy_predictions, my_copy_fractions),
    (exercises.check_invariance_steps, invariance_steps),
]


def test_a_checker_wants_the_function_not_its_result():
    with pytest.raises(ExerciseError, match="without calling it"):
        exercises.check_copy_predictions(my_copy_fractions())


# 3.1 ----------------------------------------------------------------------------------------

def _tiles(x, s):
    height, width = x.shape[-2:]
    return x.reshape(*x.shape[:-2], s, height // s, s, width // s).movedim(-2, -3)


def _modify(x, s):
    x += 1
    return polyphase(x - 1, s)


WRONG_POLYPHASES = [
    (lambda x, s: polyphase(x, s).transpose(-4, -3), "offsets are swapped"),
    (_tiles, "tiles"),
    (lambda x, s: polyphase(x, s).flatten(-4, -3), "two axes"),
    (lambda x, s: polyphase(x, s).transpose(-2, -1), "shape"),
    (lambda x, s: polyphase(x, s).roll(1, dims=-1), "a_y::s, a_x::s"),
    (_modify, "in place"),
    (lambda x, s: polyphase(x, s).tolist(), "torch.Tensor"),
    (lambda x, s: x[..., 100], "IndexError"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_POLYPHASES)
def test_wrong_polyphase_decompositions_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_polyphase(answer)
    assert list(_core.results().values()) == ["failed"]


# 3.2 ----------------------------------------------------------------------------------------

def _sign_wrong(t, s):  # right for s = 2, where -t and t agree modulo 2
    r = (t[0] % s, t[1] % s)
    return r, ((t[0] + r[0]) // s, (t[1] + r[1]) // s)


WRONG_COMPONENTS = [
    (_sign_wrong, "wrong sign"),
    (lambda t, s: (kept_component(t, s)[0], (t[0] // s, t[1] // s)), "rounded the wrong way"),
    (lambda t, s: (kept_component(t, s)[0], (0, 0)), "r is right"),
    (lambda t, s: tuple(v[::-1] for v in kept_component(t, s)), "axes are swapped"),
    (lambda t, s: ((-t[0], -t[1]), (0, 0)), "component index"),
    (lambda t, s: kept_component(t, s)[0], "pair"),
    (lambda t, s: ((0.0, 1.0), (0, 1)), "pair of ints"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_COMPONENTS)
def test_wrong_kept_components_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_kept_component(answer)


def test_any_equivalent_output_shift_is_accepted(capsys):
    def modulo_the_size(t, s):  # the checker's images have 6 rows and columns per component
        r, q = kept_component(t, s)
        return r, (q[0] + 6, q[1] - 12)

    exercises.check_kept_component(modulo_the_size)
    assert "✅" in capsys.readouterr().out


# 3.3 ----------------------------------------------------------------------------------------

def test_the_reference_predictions_are_what_the_measurement_says():
    measured = {name: exercises.measure_copy_fraction(case)
                for name, case in exercises.COPY_CASES.items()}
    assert measured == PREDICTIONS


@pytest.mark.parametrize(("predictions", "message"), [
    ({**PREDICTIONS, "g": 1.0}, r"(?s)1 of 8 .*g: two stride-2.*4Z x 4Z"),
    ({name: 1.0 for name in PREDICTIONS}, r"5 of 8"),
    ({name: 0.5 for name in PREDICTIONS}, r"8 of 8"),
    ({"a": 0.0}, "keys"),
    ({**PREDICTIONS, "a": 50}, "between 0 and 1"),
    ({**PREDICTIONS, "a": "none"}, "between 0 and 1"),
])
def test_wrong_predictions_name_the_case_and_the_measurement(predictions, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_copy_predictions(lambda: predictions)


def test_predictions_within_five_points_pass(capsys):
    exercises.check_copy_predictions(
        lambda: {name: abs(value - 0.04) for name, value in PREDICTIONS.items()})
    assert "✅" in capsys.readouterr().out


# 3.4 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 4321])
def test_every_network_has_the_steps_it_is_built_for(seed):
    for network in exercises.NETWORKS.values():
        assert exercises.measured_steps(network.build(seed)) == network.steps


def test_the_networks_cover_several_subgroups():
    steps = {network.steps for network in exercises.NETWORKS.values()}
    assert len(steps) == len(exercises.NETWORKS)
    assert any(step_y != step_x for step_y, step_x in steps)


WRONG_STEPS = [
    (lambda f, size: (1, 1), "expected"),
    (lambda f, size: invariance_steps(f, size)[::-1], "swapped"),
    (lambda f, size: (0, 0), "1 ... 24"),
    (steps_with(1e-1), "expected"),
    (lambda f, size: (2.0, 2.0), "pair of ints"),
    (lambda f, size: f(torch.zeros(1, 1, 3)), "ValueError"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_STEPS)
def test_wrong_invariance_steps_are_caught(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_invariance_steps(answer)


@pytest.mark.parametrize("seed", range(3))
def test_checkers_draw_new_trials_from_each_seed(seed):
    calls = {0: [], 1: []}
    for k, run in ((0, seed), (1, seed + 10)):
        def recording(t, s, k=k):
            calls[k].append((t, s))
            return kept_component(t, s)

        exercises.check_kept_component(recording, seed=run)
    assert calls[0] != calls[1]
