"""The claims chapter 1 states, on the chapter's own data, asserted with tolerances that fail
when a claim is false."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from shiftlab.data import gaussian_images, sample_image
from shiftlab.layers import conv2d, edge_kernel, global_avg_pool, global_max_pool
from shiftlab.metrics import equivariance_error, exact_tolerance, invariance_error
from shiftlab.transforms import Shift, center_crop, crop_shift, shift, translate

SCENE = sample_image(96)
IMAGE = center_crop(SCENE, 16)
EDGE = edge_kernel("vertical")


@given(st.integers(-16, 16))
def test_the_three_translations_agree_inside_the_frame_and_differ_at_the_border(dx):
    circular = shift(IMAGE, (0, dx))
    zero_fill = translate(IMAGE, (0, dx))
    cropped = crop_shift(SCENE, (0, dx), 16)
    inside = slice(max(dx, 0), 64 + min(dx, 0))
    assert torch.equal(circular[:, inside], zero_fill[:, inside])
    assert torch.equal(circular[:, inside], cropped[:, inside])
    if dx != 0:
        assert not torch.equal(circular, zero_fill)
        assert not torch.equal(zero_fill, cropped)


@given(st.integers(-63, 63), st.integers(-63, 63))
def test_translating_the_photo_there_and_back_recovers_the_predicted_fraction(dy, dx):
    restored = translate(translate(IMAGE, (dy, dx)), (-dy, -dx))
    recovered = (restored == IMAGE).double().mean().item()
    assert recovered == pytest.approx((64 - abs(dy)) * (64 - abs(dx)) / 64**2, abs=1e-12)


@given(st.integers(1, 63))
def test_blacking_out_the_columns_that_leave_the_frame_changes_nothing(dx):
    blacked_out = IMAGE.clone()
    blacked_out[:, -dx:] = 0
    assert torch.equal(translate(blacked_out, (0, dx)), translate(IMAGE, (0, dx)))


@given(st.integers(-40, 40), st.integers(1, 63))
def test_convolution_of_the_photo_is_equivariant_and_far_from_invariant(dy, dx):
    def conv(x):
        return conv2d(x, EDGE, padding="circular")

    assert equivariance_error(conv, IMAGE, Shift(dy, dx)) <= exact_tolerance(torch.float32)
    assert invariance_error(conv, IMAGE, Shift(dy, dx)) > 0.5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_mean_of_the_photo_moves_only_by_rounding_under_every_shift(dtype):
    photo = sample_image(64, dtype=dtype)
    errors = [invariance_error(global_avg_pool, photo, Shift(0, dx)).item()
              for dx in range(1, 64)]
    assert max(errors) <= exact_tolerance(dtype)
    assert max(errors) > 0  # the summation order does change: exact is not bit-identical


def test_the_rounding_of_the_mean_is_of_the_order_of_epsilon():
    worst32 = max(invariance_error(global_avg_pool, sample_image(64), Shift(0, dx)).item()
                  for dx in range(1, 64))
    assert worst32 <= 4 * torch.finfo(torch.float32).eps


def test_the_mean_of_zero_mean_noise_misses_the_float32_tolerance():
    noise = gaussian_images(500, 32, seed=1)
    worst = invariance_error(global_avg_pool, noise, Shift(3, -5)).max().item()
    assert worst > exact_tolerance(torch.float32)


@given(st.integers(0, 64))
def test_the_slider_claims_pools_stay_put_and_a_fixed_pixel_does_not(dx):
    def feature(x):
        return torch.relu(conv2d(x, EDGE, padding="circular"))

    moved, still = feature(shift(IMAGE, (0, dx))), feature(IMAGE)
    assert global_max_pool(moved) == global_max_pool(still)
    assert abs(global_avg_pool(moved) - global_avg_pool(still)) <= exact_tolerance(
        torch.float32) * global_avg_pool(still)
    if dx % 64:
        assert not torch.equal(moved, still)
    else:
        assert torch.equal(moved, still)  # the shift by the width is the identity
