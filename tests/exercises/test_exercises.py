"""The checkers of chapter 1's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a useful
message on wrong answers, on randomized inputs."""

import pytest
import torch
from checkers import stub

from shiftlab.exercises import _core, invariance
from shiftlab.exercises import summary as exercise_summary
from shiftlab.exercises._core import EXPECT_ENV, ExerciseError, exercise
from shiftlab.layers import conv2d, edge_kernel, global_avg_pool
from shiftlab.transforms import shift, translate

# Reference answers, as a learner would write them.

def circular_shift(x, dy, dx):
    height, width = x.shape[-2:]
    return x[..., (torch.arange(height) - dy) % height, :][..., (torch.arange(width) - dx) % width]


def my_equivariance_error(f, x, g, g_out):
    norm = torch.linalg.vector_norm
    return (norm(f(g(x)) - g_out(f(x))) / norm(f(x))).item()


def my_predictions():
    return {"a": "equivariant", "b": "invariant", "c": "equivariant", "d": "neither",
            "e": "invariant", "f": "neither"}


def collision(x, t):
    x2 = x.clone()
    if t[0] != 0:
        x2[-1 if t[0] > 0 else 0, :] += 1
    else:
        x2[:, -1 if t[1] > 0 else 0] += 1
    return x2


def orientation_score(x):
    def edges(direction):
        return conv2d(x, edge_kernel(direction)[None, None], padding="circular").abs()

    return global_avg_pool(edges("vertical") - edges("horizontal"))[:, 0]


CHECKS = [
    (invariance.check_circular_shift, circular_shift),
    (invariance.check_equivariance_error, my_equivariance_error),
    (invariance.check_predictions, my_predictions),
    (invariance.check_collision, collision),
    (invariance.check_orientation_score, orientation_score),
]


def test_a_checker_wants_the_function_not_its_result():
    with pytest.raises(ExerciseError, match="without calling it"):
        invariance.check_circular_shift(circular_shift(torch.zeros(2, 2), 1, 1))


WRONG_SHIFTS = [
    (lambda x, dy, dx: torch.roll(x, (-dy, -dx), (-2, -1)), "opposite way"),
    (lambda x, dy, dx: torch.roll(x, (dx, dy), (-2, -1)), "swapped"),
    (lambda x, dy, dx: translate(x, (dy, dx)), "Zeros came in"),
    (lambda x, dy, dx: shift(x, (dy, dx)) if x.shape[-2] != 5 else x, "wrong"),
    (lambda x, dy, dx: x.copy_(shift(x, (dy, dx))), "in place"),
    (lambda x, dy, dx: shift(x, (dy, dx))[..., :1, :], "shape"),
    (lambda x, dy, dx: shift(x, (dy, dx)).tolist(), "torch.Tensor"),
    (lambda x, dy, dx: x[..., 10], "IndexError"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_SHIFTS)
def test_wrong_circular_shifts_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        invariance.check_circular_shift(answer)
    assert list(_core.results().values()) == ["failed"]


def _norm(t):
    return torch.linalg.vector_norm(t).item()


WRONG_ERRORS = [
    (lambda f, x, g, g_out: _norm(f(g(x)) - g_out(f(x))), "divide it by"),
    (lambda f, x, g, g_out: _norm(f(g(x)) - f(x)) / _norm(f(x)), "g_out was not applied"),
    (lambda f, x, g, g_out: (_norm(f(g(x)) - g_out(f(x))) / _norm(f(x))) ** 2, "Squares"),
    (lambda f, x, g, g_out: "small", "one number"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_ERRORS)
def test_wrong_equivariance_errors_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        invariance.check_equivariance_error(answer)


def test_a_wrong_prediction_names_the_function_and_the_measurement():
    def predictions():
        return {**my_predictions(), "f": "equivariant"}

    with pytest.raises(ExerciseError, match=r"(?s)1 of 6 .*f: conv2d.*padding='same'.*neither"):
        invariance.check_predictions(predictions)


def test_predictions_must_cover_every_function_with_a_known_answer():
    with pytest.raises(ExerciseError, match="keys"):
        invariance.check_predictions(lambda: {"a": "equivariant"})
    with pytest.raises(ExerciseError, match="one of"):
        invariance.check_predictions(lambda: {**my_predictions(), "a": "covariant"})


def test_the_reference_predictions_are_what_the_measurement_says():
    measured = {name: invariance.classify(invariance.measure_mystery(m.f))
                for name, m in invariance.MYSTERIES.items()}
    assert measured == my_predictions()


WRONG_COLLISIONS = [
    (lambda x, t: x, "returned x itself"),
    (lambda x, t: x + 1, "survives the translation"),
    (lambda x, t: x.add_(1), "in place"),
    (lambda x, t: x[1:], "shape"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_COLLISIONS)
def test_wrong_collisions_are_caught(answer, message):
    with pytest.raises(ExerciseError, match=message):
        invariance.check_collision(answer)


def _zero_padded_score(x):
    return global_avg_pool(conv2d(x, edge_kernel()[None, None], padding="same").abs())[:, 0]


WRONG_SCORES = [
    (_zero_padded_score, "shifted"),
    (lambda x: conv2d(x, edge_kernel()[None, None]).abs()[:, 0, 3, 3], "shifted"),
    (lambda x: x.sum(dim=(1, 2, 3)), "not above"),
    (lambda x: orientation_score(x)[:, None], "shape"),
    (lambda x: -orientation_score(x), "not above"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_SCORES)
def test_wrong_orientation_scores_are_caught(answer, message):
    with pytest.raises(ExerciseError, match=message):
        invariance.check_orientation_score(answer)


@pytest.mark.parametrize("seed", range(5))
def test_checkers_draw_new_trials_from_each_seed(seed):
    shapes = []

    def recording_shift(x, dy, dx):
        shapes.append((tuple(x.shape), dy, dx))
        return shift(x, (dy, dx))

    invariance.check_circular_shift(recording_shift, seed=seed)
    other = []
    invariance.check_circular_shift(lambda x, dy, dx: other.append((tuple(x.shape), dy, dx))
                                    or shift(x, (dy, dx)), seed=seed + 100)
    assert len(set(shapes)) > 20 and shapes != other


def test_summary_lists_every_exercise_with_its_status(capsys):
    invariance.check_circular_shift(circular_shift)
    invariance.check_collision(stub)
    exercise_summary()
    out = capsys.readouterr().out
    assert "1 of 2 passed" in out
    assert "✅ Exercise 1.1" in out and "⏳ Exercise 1.4" in out


def test_summary_enforces_the_expected_state(monkeypatch):
    invariance.check_collision(stub)
    monkeypatch.setenv(EXPECT_ENV, "pending")
    exercise_summary()
    monkeypatch.setenv(EXPECT_ENV, "solved")
    with pytest.raises(ExerciseError, match="not passed"):
        exercise_summary()


def test_summary_in_a_checked_notebook_needs_at_least_one_exercise(monkeypatch):
    monkeypatch.setenv(EXPECT_ENV, "solved")
    with pytest.raises(ExerciseError, match="no exercise"):
        exercise_summary()


def test_an_unknown_expectation_is_refused(monkeypatch):
    monkeypatch.setenv(EXPECT_ENV, "maybe")
    with pytest.raises(ValueError, match=EXPECT_ENV):
        exercise_summary()


def test_the_exercise_decorator_names_the_exercise_in_failures():
    @exercise("9.9", "a test exercise")
    def check(answer):
        if answer() != 42:
            raise ExerciseError("expected 42")

    with pytest.raises(ExerciseError, match=r"❌ Exercise 9.9: a test exercise: expected 42"):
        check(lambda: 41)
