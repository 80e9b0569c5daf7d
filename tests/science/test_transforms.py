"""The laws of chapter 1 for the three translations (shiftlab.transforms)."""

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import images, shifts

from shiftlab.transforms import (
    CropShift,
    Identity,
    Shift,
    Translate,
    center_crop,
    crop_shift,
    shift,
    translate,
)


@given(images(), shifts, shifts)
def test_circular_shift_by_a_then_b_is_shift_by_a_plus_b(x, a, b):
    a_plus_b = (a[0] + b[0], a[1] + b[1])
    assert torch.equal(shift(shift(x, a), b), shift(x, a_plus_b))


@given(images(), st.integers(-3, 3), st.integers(-3, 3))
def test_circular_shift_by_multiples_of_the_image_size_is_the_identity(x, k, m):
    height, width = x.shape[-2:]
    assert torch.equal(shift(x, (k * height, m * width)), x)


@given(images(), shifts)
def test_circular_shift_by_minus_t_undoes_shift_by_t(x, t):
    assert torch.equal(shift(shift(x, t), (-t[0], -t[1])), x)


@given(images(batched=False), shifts)
def test_circular_shift_follows_the_index_formula(x, t):
    height, width = x.shape
    out = shift(x, t)
    for i in range(height):
        for j in range(width):
            assert out[i, j] == x[(i - t[0]) % height, (j - t[1]) % width]


def test_positive_shift_moves_content_down_and_right():
    x = torch.zeros(5, 6)
    x[1, 2] = 1.0
    assert shift(x, (2, 3))[3, 5] == 1.0
    assert translate(x, (2, 3))[3, 5] == 1.0


def test_shift_keeps_integer_images_as_integers():
    grid = torch.arange(12).reshape(3, 4)
    assert shift(grid, (1, 1)).dtype == torch.int64
    assert shift(grid, (1, 1))[0].tolist() == [11, 8, 9, 10]


@given(images(), shifts)
def test_zero_fill_translation_agrees_with_shift_on_pixels_that_stay_in_the_frame(x, t):
    height, width = x.shape[-2:]
    dy, dx = t
    kept = torch.zeros(height, width, dtype=torch.bool)
    kept[max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = True
    moved, wrapped = translate(x, t), shift(x, t)
    assert torch.equal(moved[..., kept], wrapped[..., kept])
    assert torch.all(moved[..., ~kept] == 0)


@given(images(batched=False), shifts)
def test_translating_back_recovers_exactly_the_pixels_that_stayed_in_the_frame(x, t):
    height, width = x.shape
    x = x.abs() + 1  # no pixel is 0, so a restored pixel is one that equals x
    restored = translate(translate(x, t), (-t[0], -t[1]))
    recovered = (restored == x).double().mean().item()
    kept = max(height - abs(t[0]), 0) * max(width - abs(t[1]), 0) / (height * width)
    assert recovered == pytest.approx(kept, abs=1e-12)


@given(images(batched=False, min_side=2), shifts)
def test_zero_fill_translation_is_not_injective(x, t):
    assume(t != (0, 0))
    dy, dx = t
    other = x.clone()
    if dy != 0:
        other[-1 if dy > 0 else 0, :] += 1.0
    else:
        other[:, -1 if dx > 0 else 0] += 1.0
    assert not torch.equal(other, x)
    assert torch.equal(translate(other, t), translate(x, t))


@given(images(), st.integers(1, 20), st.integers(1, 20))
def test_translation_past_the_frame_gives_zeros(x, extra_y, extra_x):
    height, width = x.shape[-2:]
    assert torch.all(translate(x, (height + extra_y - 1, 0)) == 0)
    assert torch.all(translate(x, (0, -(width + extra_x - 1))) == 0)


@given(images(min_side=5, max_side=12), st.data())
def test_crop_shift_is_the_centre_crop_of_the_circular_shift(x, data):
    height, width = x.shape[-2:]
    margin = data.draw(st.integers(0, (min(height, width) - 1) // 2))
    t = data.draw(st.tuples(st.integers(-margin, margin), st.integers(-margin, margin)))
    cropped = crop_shift(x, t, margin)
    assert cropped.shape[-2:] == (height - 2 * margin, width - 2 * margin)
    assert torch.equal(cropped, center_crop(shift(x, t), margin))
    assert torch.equal(cropped, center_crop(translate(x, t), margin))


def test_crop_shift_refuses_shifts_that_leave_the_scene():
    with pytest.raises(ValueError, match="margin"):
        crop_shift(torch.zeros(10, 10), (3, 0), 2)


@given(images(), shifts)
def test_transform_objects_apply_the_functions(x, t):
    assert torch.equal(Shift(*t)(x), shift(x, t))
    assert torch.equal(Translate(*t)(x), translate(x, t))
    assert torch.equal(Shift(*t).inverse()(Shift(*t)(x)), x)
    assert torch.equal(Identity()(x), x)


def test_transform_objects_have_readable_names():
    assert repr(Shift(1, -2)) == "Shift(dy=1, dx=-2)"
    assert repr(CropShift(1, 0, 4)) == "CropShift(dy=1, dx=0, margin=4)"
    assert torch.equal(CropShift(1, 0, 4)(torch.ones(12, 12)), torch.ones(4, 4))
