"""The checkers of chapter 2's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a useful
message on the likely wrong answers, on randomized inputs."""

import pytest
import torch

from shiftlab.convolution import Rotate90, rotate90
from shiftlab.exercises import _core, convolution
from shiftlab.exercises._core import ExerciseError
from shiftlab.layers import conv2d
from shiftlab.metrics import equivariance_error
from shiftlab.transforms import Identity, Shift, shift, translate

# Reference answers, as a learner would write them.

def conv_by_shifts(x, w, *, sign=1, move=shift, centre=True):
    k = w.shape[-1]
    r = (k - 1) // 2 if centre else 0
    return sum(w[u, v] * move(x, (sign * (r - u), sign * (r - v)))
               for u in range(k) for v in range(k))


def my_predictions():
    return {"a": "equivariant", "b": "equivariant", "c": "not equivariant",
            "d": "equivariant", "e": "not equivariant", "f": "not equivariant",
            "g": "equivariant"}


def band_mask(size, k, depth, t, *, width=None, seam=True, frame=True, zero_rule=True):
    width = depth * (k - 1) // 2 if width is None else width
    lines = torch.arange(size)

    def near(index):
        return (index < width) | (index >= size - width)

    def axis(d):
        if zero_rule and d % size == 0:
            return torch.zeros(size, dtype=torch.bool)
        return (near(lines) & frame) | (near((lines - d) % size) & seam)

    return axis(t[0])[:, None] | axis(t[1])[None, :]


def predicted_error_mask(size, k, depth, t):
    return band_mask(size, k, depth, t)


QUARTER_TURN = Rotate90(1)


def rotation_error(w, images, *, g_out=QUARTER_TURN, padding="circular", reduce="max",
                   g=QUARTER_TURN):
    def f(x):
        return conv2d(x, w[None, None], padding=padding)

    errors = equivariance_error(f, images, g, g_out)
    return getattr(errors, reduce)().item()


def rotate_lifted(y):
    return torch.roll(rotate90(y, 1), 1, dims=0)


CHECKS = [
    (convolution.check_conv_by_shifts, conv_by_shifts),
    (convolution.check_layer_predictions, my_predictions),
    (convolution.check_error_mask, predicted_error_mask),
    (convolution.check_rotation_error, rotation_error),
    (convolution.check_rotate_lifted, rotate_lifted),
]


WRONG_CONVOLUTIONS = [
    (lambda x, w: conv_by_shifts(x, w, sign=-1), "flipped filter"),
    (lambda x, w: conv_by_shifts(x, w.T), "swapped"),
    (lambda x, w: conv_by_shifts(x, w, move=translate), "Zeros came in"),
    (lambda x, w: conv_by_shifts(x, w, centre=False), "not centred"),
    (lambda x, w: conv_by_shifts(x, w).float(), "dtype"),
    (lambda x, w: conv_by_shifts(x, w)[:1], "shape"),
    (lambda x, w: x.mul_(2), "in place"),
    (lambda x, w: conv_by_shifts(x, w).tolist(), "torch.Tensor"),
    (lambda x, w: conv_by_shifts(x, w) + 1e-3, "differs"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_CONVOLUTIONS)
def test_wrong_convolutions_by_shifts_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        convolution.check_conv_by_shifts(answer)
    assert list(_core.results().values()) == ["failed"]


def test_a_wrong_layer_prediction_names_the_layer_and_the_measurement():
    def predictions():
        return {**my_predictions(), "d": "not equivariant", "e": "equivariant"}

    with pytest.raises(ExerciseError, match=r"(?s)2 of 7 .*d: 3x3 max pooling.*e: F.max_pool2d"):
        convolution.check_layer_predictions(predictions)


def test_layer_predictions_must_cover_every_layer_with_a_known_answer():
    with pytest.raises(ExerciseError, match="keys"):
        convolution.check_layer_predictions(lambda: {"a": "equivariant"})
    with pytest.raises(ExerciseError, match="one of"):
        convolution.check_layer_predictions(lambda: {**my_predictions(), "a": "invariant"})


def test_the_layer_verdicts_are_the_documented_answers():
    verdicts = {name: convolution.layer_verdict(convolution.measure_layer(layer.f))
                for name, layer in convolution.LAYERS.items()}
    assert verdicts == my_predictions()


WRONG_MASKS = [
    (lambda size, k, depth, t: band_mask(size, k, 1, t), "depth \\* r wide"),
    (lambda size, k, depth, t: band_mask(size, k, depth, t, seam=False), "seam"),
    (lambda size, k, depth, t: band_mask(size, k, depth, t, frame=False), "near the frame"),
    (lambda size, k, depth, t: band_mask(size, k, depth, t, zero_rule=False), "shift is 0"),
    (lambda size, k, depth, t: band_mask(size, k, depth, t, width=depth * (k - 1)), "too wide"),
    (lambda size, k, depth, t: band_mask(size, k, depth, t).int(), "bool"),
    (lambda size, k, depth, t: torch.zeros(size, size, dtype=torch.bool), "measured ="),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_MASKS)
def test_wrong_error_masks_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        convolution.check_error_mask(answer)


def test_the_reference_mask_is_what_is_measured_for_many_stacks():
    generator = torch.Generator().manual_seed(3)
    for trial in range(60):
        k = (1, 3, 5)[trial % 3]
        depth = 1 + trial % 4
        size = 2 * depth * (k - 1) // 2 + 1 + int(torch.randint(0, 10, (1,), generator=generator))
        t = tuple(torch.randint(-size, size + 1, (2,), generator=generator).tolist())
        if trial % 5 == 0:
            t = (0, t[1])
        assert torch.equal(convolution.measured_error_mask(size, k, depth, t, seed=trial),
                           band_mask(size, k, depth, t)), (size, k, depth, t)


WRONG_ROTATION_ERRORS = [
    (lambda w, images: rotation_error(w, images, reduce="mean"), "mean over the images"),
    (lambda w, images: rotation_error(w, images, g_out=Rotate90(-1)), "other way"),
    (lambda w, images: rotation_error(w, images, g_out=Identity()), "invariance error"),
    (lambda w, images: rotation_error(w, images, g=Shift(1, 0), g_out=Shift(1, 0)),
     "for a shift"),
    (lambda w, images: rotation_error(w, images, padding="same"), "zero padding"),
    (lambda w, images: "large", "one number"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_ROTATION_ERRORS)
def test_wrong_rotation_errors_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        convolution.check_rotation_error(answer)


def test_the_rotation_check_reports_which_filters_commute(capsys):
    convolution.check_rotation_error(rotation_error)
    out = capsys.readouterr().out
    for name in ("box", "binomial blur", "Laplacian", "rotation-averaged"):
        assert f"{name}" in out
    lines = {line.split("  ")[1].strip(): line for line in out.splitlines()
             if line.startswith("  ")}
    commuting = {name for name, line in lines.items() if line.endswith(" commutes")}
    assert commuting == {"box (all ones / 9)", "binomial blur", "Laplacian",
                         "random, rotation-averaged"}


WRONG_LIFTS = [
    (lambda y: rotate90(y, 1), "wrong order"),
    (lambda y: torch.roll(rotate90(y, 1), -1, dims=0), "other way"),
    (lambda y: torch.roll(y, 1, dims=0), "turned as well"),
    (lambda y: torch.roll(rotate90(y, -1), 1, dims=0), "counter-clockwise"),
    (lambda y: y[:3], "shape"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_LIFTS)
def test_wrong_output_transformations_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        convolution.check_rotate_lifted(answer)


def test_an_output_transformation_that_cheats_with_the_input_is_caught():
    # Right only on lifting outputs it recognises: recompute from a stored input.
    memory = {}

    def cheat(y):
        key = y.shape
        if key not in memory:
            memory[key] = y
            return rotate_lifted(y)
        return torch.zeros_like(y)

    with pytest.raises(ExerciseError, match="arbitrary"):
        convolution.check_rotate_lifted(cheat)


def test_the_lifting_layer_is_equivariant_with_the_documented_output_transformation():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(9, 9, generator=generator, dtype=torch.float64)
    w = torch.randn(3, 3, generator=generator, dtype=torch.float64)
    got = convolution.lifting_conv(rotate90(x), w)
    assert torch.allclose(got, rotate_lifted(convolution.lifting_conv(x, w)), atol=1e-12)
    assert not torch.allclose(got, rotate90(convolution.lifting_conv(x, w)), atol=1e-3)
