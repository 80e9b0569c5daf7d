"""The claims chapter 1 states, on the chapter's own data, asserted with tolerances that fail
when a claim is false."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from shiftlab.data import gaussian_images, integer_images, sample_image
from shiftlab.layers import conv2d, edge_kernel, global_avg_pool, global_max_pool
from shiftlab.metrics import (
    equivariance_bound,
    equivariance_error,
    exact_tolerance,
    invariance_error,
    relative_error,
    rounding_bound,
    sequential_sum,
    symmetry_table,
)
from shiftlab.transforms import (
    Identity,
    Shift,
    align_peak_to_even,
    center_crop,
    crop_shift,
    shift,
    translate,
)

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


def conv(x):
    return conv2d(x, EDGE, padding="circular")


def conv_magnitude(x):
    return conv2d(x, EDGE.abs(), padding="circular")


@pytest.mark.law
@given(st.integers(-40, 40), st.integers(1, 63))
def test_convolution_of_the_photo_is_equivariant_up_to_rounding_and_far_from_invariant(dy, dx):
    g = Shift(dy, dx)
    bound = equivariance_bound(conv, conv_magnitude, IMAGE, g, terms=9)
    assert equivariance_error(conv, IMAGE, g) <= bound
    assert bound < 1e-4  # far below a broken law
    assert invariance_error(conv, IMAGE, g) > 0.5


@pytest.mark.law
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_mean_of_the_photo_moves_only_by_rounding_under_every_shift(dtype):
    photo = sample_image(64, dtype=dtype)
    for dx in range(1, 64):
        g = Shift(0, dx)
        bound = equivariance_bound(global_avg_pool, global_avg_pool, photo, g, 4097, Identity())
        assert invariance_error(global_avg_pool, photo, g) <= bound
        assert bound <= 1.001 * exact_tolerance(dtype, 4097) < 1e-3  # positive: no cancellation


def chapter_sums():
    """The chapter's 1000 sums of 1000 random floats and of 1000 small integers."""
    generator = torch.Generator().manual_seed(4)
    floats = torch.randn(1000, 1000, generator=generator)
    integers = torch.randint(-8, 9, (1000, 1000), generator=generator).float()
    return floats, integers


def test_the_chapter_sums_of_integers_agree_in_both_orders_and_most_float_sums_do_not():
    floats, integers = chapter_sums()
    assert torch.equal(sequential_sum(integers), sequential_sum(integers.flip(1)))
    forward, backward = sequential_sum(floats), sequential_sum(floats.flip(1))
    assert (forward != backward).double().mean() > 0.5
    bound = rounding_bound(floats.abs().sum(dim=1), 1000)
    assert torch.all((forward - backward).abs() <= 2 * bound)


@pytest.mark.law
def test_the_mean_of_zero_mean_noise_is_within_its_bound_yet_above_64_epsilons():
    noise = gaussian_images(500, 32, seed=1)
    errors = invariance_error(global_avg_pool, noise, Shift(3, -5))
    bounds = equivariance_bound(global_avg_pool, lambda z: global_avg_pool(z.abs()), noise,
                                Shift(3, -5), 1025, Identity())
    assert torch.all(errors <= bounds)
    assert errors.max() > exact_tolerance(torch.float32)
    assert bounds.median() > 10 * exact_tolerance(torch.float32)  # cancellation: a larger bound


# A map that follows every shift only up to an image-dependent shift is not equivariant.

def output_moves(images, t):
    """For each (H, W) image, the column shifts q with f(T_t x) = T_(0, q) f(x)."""
    moves = []
    for x in images:
        moved, still = align_peak_to_even(shift(x, t)), align_peak_to_even(x)
        moves.append({q for q in range(x.shape[-1])
                      if torch.equal(moved, shift(still, (0, q)))})
    return moves


even_widths = st.integers(2, 6).map(lambda half: 2 * half)  # column parity survives wrapping


@given(st.integers(0, 2**31 - 1), st.integers(4, 12), even_widths)
def test_after_a_one_column_shift_the_aligned_output_moves_by_zero_or_two(seed, height, width):
    x = gaussian_images(1, (height, width), seed=seed)[0, 0]
    (moves,) = output_moves([x], (0, 1))
    even = int(x.argmax()) % width % 2 == 0
    # The brightest pixel moves from column c to c + 1: the output stays where it was when c
    # is even (now odd, moved back) and jumps by 2 when c is odd (now even, kept).
    assert moves == ({0} if even else {2})


@given(st.integers(0, 2**31 - 1), st.integers(4, 12), even_widths)
def test_two_images_with_one_aligned_output_part_after_one_more_shift(seed, height, width):
    x = gaussian_images(1, (height, width), seed=seed)[0, 0]
    column = int(x.argmax()) % width
    x = shift(x, (0, -(column % 2)))  # its brightest pixel now in an even column
    y = shift(x, (0, 1))
    assert torch.equal(align_peak_to_even(x), align_peak_to_even(y))
    assert not torch.equal(align_peak_to_even(shift(x, (0, 1))),
                           align_peak_to_even(shift(y, (0, 1))))


def test_about_half_of_the_images_move_by_zero_and_half_by_two_on_other_seeds():
    for seed in (11, 12):
        moves = output_moves(gaussian_images(400, 16, seed=seed)[:, 0], (0, 1))
        assert all(len(m) == 1 for m in moves)
        stays = sum(m == {0} for m in moves) / len(moves)
        assert sum(m == {2} for m in moves) / len(moves) == pytest.approx(1 - stays)
        assert 0.4 < stays < 0.6


# The chapter's table, on integer images: bit for bit, on every CPU.

def symmetry_table_on_integer_images(seed, n):
    images = integer_images(n, 32, seed=seed)
    bank = EDGE[None, None]

    def circular(x):
        return conv2d(x, bank, padding="circular")

    functions = {
        "circular": circular,
        "zero": lambda x: conv2d(x, bank, padding="same"),
        "relu": lambda x: torch.relu(circular(x)),
        "max": lambda x: global_max_pool(torch.relu(circular(x))),
        "mean": lambda x: global_avg_pool(torch.relu(circular(x))),
    }
    shifts = [Shift(0, 1), Shift(3, -5), Shift(-7, 11), Shift(16, 16)]
    return symmetry_table(functions, images, shifts, tol=0)


def test_the_chapter_symmetry_table_on_integer_images_is_exact_bit_for_bit():
    check_symmetry_table(symmetry_table_on_integer_images(2, 500))


@pytest.mark.law
@pytest.mark.parametrize("seed", [21, 22])
def test_the_symmetry_table_on_other_integer_images_is_exact_bit_for_bit(seed):
    check_symmetry_table(symmetry_table_on_integer_images(seed, 40))


def check_symmetry_table(table):
    assert table["circular"]["exactly equivariant"] == 1.0
    assert table["circular"]["exactly invariant"] == 0.0
    assert table["relu"]["exactly equivariant"] == 1.0
    assert table["max"]["exactly invariant"] == table["mean"]["exactly invariant"] == 1.0
    assert table["zero"]["exactly equivariant"] == 0.0
    assert table["circular"]["max equivariance error"] == 0  # the error itself is 0


@pytest.mark.law
@given(st.integers(0, 64))
def test_the_slider_claims_pools_stay_put_and_a_fixed_pixel_does_not(dx):
    def feature(x):
        return torch.relu(conv(x))

    g = Shift(0, dx)
    for pool in (global_max_pool, global_avg_pool):
        terms = 9 if pool is global_max_pool else 9 + 64 * 64 + 1
        bound = equivariance_bound(lambda x, pool=pool: pool(feature(x)),
                                   lambda x, pool=pool: pool(conv_magnitude(x)), IMAGE, g,
                                   terms, Identity())
        assert invariance_error(lambda x, pool=pool: pool(feature(x)), IMAGE, g) <= bound
    moved, still = feature(shift(IMAGE, (0, dx))), feature(IMAGE)
    if dx % 64:
        assert relative_error(moved, still, batched=False) > 0.1
    else:
        assert torch.equal(shift(IMAGE, (0, dx)), IMAGE)  # the shift by the width is the identity
