"""The claims chapter 5 states, as property tests over sizes, filters, depths and shifts, and on
the chapter's own data, with tolerances that fail when a claim is false."""

import functools
import os

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from shiftlab.boundary import (
    band_width,
    camera_error_map,
    coverage_map,
    distance_to_frame,
    influence_mask,
    output_size,
    receptive_field,
    tap_coverage,
)
from shiftlab.data import gaussian_images, sample_image
from shiftlab.layers import PADDINGS, conv2d, global_max_pool, pad
from shiftlab.metrics import (
    equivariance_bound_map,
    magnitude_network,
    rounding_bound,
)
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.position import decode_position, hypercolumns
from shiftlab.transforms import CropShift, Shift, shift, translate

MODES = ("valid", "same", "full", "circular", "reflect")


@pytest.fixture(autouse=True)
def one_thread():
    # Thousands of operations on small tensors, as in the chapter: one thread is faster. Not a
    # cure for rounding: where OMP_NUM_THREADS is set, as tests/book/test_cpu_paths.py sets it,
    # it is left alone.
    threads = torch.get_num_threads()
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
seeds = st.integers(0, 2**31 - 1)
odd_kernels = st.sampled_from([1, 3, 5])


# Five padding modes, one function.

@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 5), st.integers(1, 5),
       st.sampled_from(MODES))
def test_conv2d_output_sizes_follow_the_table(height, width, k_h, k_w, mode):
    if k_h > height or k_w > width:
        return
    x = torch.zeros(1, 1, height, width)
    y = conv2d(x, torch.zeros(1, 1, k_h, k_w), padding=mode)
    assert tuple(y.shape[-2:]) == output_size((height, width), (k_h, k_w), mode)
    growth = {"valid": 1 - k_h, "full": k_h - 1}.get(mode, 0)
    assert y.shape[-2] == height + growth


@given(st.integers(3, 8), st.integers(3, 8), odd_kernels, seeds)
def test_each_mode_pads_with_what_the_definition_says(height, width, k, seed):
    x = torch.randn(1, 1, height, width, generator=torch.Generator().manual_seed(seed))
    r = (k - 1) // 2
    inner = (..., slice(r, r + height), slice(r, r + width))
    assert torch.equal(pad(x, (k, k), "valid"), x)
    same = pad(x, (k, k), "same")
    assert torch.equal(same[inner], x)
    assert torch.count_nonzero(same) == torch.count_nonzero(x)   # the rest is zeros
    full = pad(x, (k, k), "full")
    assert full.shape[-2:] == (height + 2 * (k - 1), width + 2 * (k - 1))
    assert torch.count_nonzero(full) == torch.count_nonzero(x)
    if r and k <= min(height, width):
        circular = pad(x, (k, k), "circular")
        assert torch.equal(circular[..., r:-r, :r], x[..., :, -r:])  # the opposite edge
        reflect = pad(x, (k, k), "reflect")
        # mirrored about the edge pixel, which is not repeated
        assert torch.equal(reflect[..., r:-r, r - 1], x[..., :, 1])


def test_the_chapter_padding_figure_around_the_numbers_1_to_16():
    numbers = torch.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    assert pad(numbers, (3, 3), "reflect")[0, 0, 0, :3].tolist() == [6.0, 5.0, 6.0]
    assert pad(numbers, (3, 3), "circular")[0, 0, 0, :3].tolist() == [16.0, 13.0, 14.0]
    assert pad(numbers, (3, 3), "full").shape[-1] == 8
    assert sorted(MODES) == sorted(PADDINGS)


# Which taps see a corner pixel.

def brute_force_coverage(size, k, mode, pixel):
    """Count tap reads by walking every output position of the padded index image."""
    index = torch.arange(float(size * size)).reshape(1, 1, size, size) + 1
    padded = pad(index, (k, k), mode)[0, 0] if mode != "same" else F.pad(
        index, ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2))[0, 0]
    target = pixel[0] * size + pixel[1] + 1
    counts = torch.zeros(k, k, dtype=torch.long)
    rows, columns = padded.shape[0] - k + 1, padded.shape[1] - k + 1
    for i in range(rows):
        for j in range(columns):
            counts += (padded[i : i + k, j : j + k] == target).long()
    return counts


@given(st.sampled_from(MODES), st.integers(5, 8), odd_kernels, st.data())
def test_tap_coverage_counts_what_a_walk_over_the_padded_image_counts(mode, size, k, data):
    pixel = (data.draw(st.integers(0, size - 1)), data.draw(st.integers(0, size - 1)))
    assert torch.equal(tap_coverage(size, k, mode, pixel), brute_force_coverage(size, k, mode,
                                                                                pixel))


@given(st.integers(5, 10), odd_kernels, st.sampled_from([(0, 0), (0, -1), (-1, 0), (-1, -1)]))
def test_a_corner_meets_one_tap_valid_r_plus_1_squared_same_and_reflect_all_full_circular(
        size, k, corner):
    pixel = (corner[0] % size, corner[1] % size)
    seen = {mode: int((tap_coverage(size, k, mode, pixel) > 0).sum()) for mode in MODES}
    r = (k - 1) // 2
    assert seen == {"valid": 1, "same": (r + 1) ** 2, "reflect": (r + 1) ** 2,
                    "full": k * k, "circular": k * k}


def test_the_chapter_counts_of_taps_on_the_top_left_pixel():
    seen = {mode: int((tap_coverage(6, 3, mode, (0, 0)) > 0).sum()) for mode in MODES}
    assert seen == {"valid": 1, "same": 4, "full": 9, "circular": 9, "reflect": 4}


@given(st.integers(3, 9), st.integers(3, 9), odd_kernels)
def test_full_and_circular_read_every_pixel_k_squared_times_and_the_others_do_not(
        height, width, k):
    assert torch.all(coverage_map((height, width), k, "full") == k * k)
    if k > min(height, width):
        return  # the filter does not fit: no valid output, no circular padding
    assert torch.all(coverage_map((height, width), k, "circular") == k * k)
    if k > 1:
        assert coverage_map((height, width), k, "same")[0, 0] == ((k + 1) // 2) ** 2
        assert coverage_map((height, width), k, "valid")[0, 0] == 1


def test_the_chapter_coverage_maps():
    coverage = {mode: coverage_map(6, 3, mode) for mode in MODES}
    assert coverage["valid"][0, 0] == 1 and coverage["valid"][2, 2] == 9
    assert coverage["same"][0, 0] == 4 and coverage["same"][0, 2] == 6
    assert coverage["reflect"].max() == 16 == coverage["reflect"][1, 1]
    assert coverage["reflect"][0, 0] == 4


def test_the_blind_filter_loses_the_top_left_pixel_under_valid_and_same_only():
    top_left = torch.zeros(8, 8)
    top_left[0, 0] = 1
    bottom_right = torch.flip(top_left, dims=(0, 1))
    blind = torch.zeros(3, 3)
    blind[2, :] = 1
    blind[:, 2] = 1
    for mode in ("valid", "same"):
        assert conv2d(top_left, blind, padding=mode).max() == 0
        assert conv2d(bottom_right, blind, padding=mode).max() > 0
    lost, kept = (conv2d(x, blind, padding="full") for x in (top_left, bottom_right))
    assert lost.max() > 0
    assert torch.equal(lost.flatten().sort().values, kept.flatten().sort().values)
    assert global_max_pool(lost) == global_max_pool(kept) == 1


@given(st.integers(6, 12), odd_kernels, st.integers(-2, 2), st.integers(-2, 2), seeds)
def test_full_convolution_of_content_that_stays_inside_moves_without_losing_a_value(
        size, k, dy, dx, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.zeros(size, size, dtype=torch.float64)
    x[2:-2, 2:-2] = torch.randn(size - 4, size - 4, generator=generator, dtype=torch.float64)
    w = torch.randn(k, k, generator=generator, dtype=torch.float64)
    moved = conv2d(translate(x, (dy, dx)), w, padding="full")
    assert torch.allclose(moved, translate(conv2d(x, w, padding="full"), (dy, dx)), atol=1e-12)


# Where the error lives.

def linear_stack(filters, mode, absolute=False):
    """The stack of convolutions (with ``absolute``, of their absolute values: the magnitude of
    its sums, for the rounding bound)."""
    def f(x):
        for w in filters:
            x = conv2d(x, w.abs() if absolute else w, padding=mode)
        return x

    return f


def camera_bound(filters, mode, scene, t, margin):
    """The rounding bound of the camera error map: both sides, every layer's sums."""
    terms = sum(w[0].numel() for w in filters)
    return equivariance_bound_map(linear_stack(filters, mode, absolute=True), scene,
                                  CropShift(*t, margin), terms).amax(dim=(0, 1))


@given(st.integers(1, 4), odd_kernels, st.sampled_from(["same", "circular", "reflect"]), seeds)
def test_the_measured_receptive_field_is_a_square_of_side_1_plus_l_times_k_minus_1(
        depth, k, mode, seed):
    generator = torch.Generator().manual_seed(seed)
    filters = [torch.randn(2, 1 if n == 0 else 2, k, k, generator=generator,
                           dtype=torch.float64) for n in range(depth)]
    x = torch.randn(1, 1, 24, 24, generator=generator, dtype=torch.float64)
    seen = influence_mask(linear_stack(filters, mode), x, (12, 12))
    side, reach = receptive_field(depth, k)
    rows = torch.nonzero(seen.any(dim=1)).flatten()
    assert int(seen.sum()) == side**2 and int(rows.min()) == 12 - reach


def test_the_chapter_receptive_fields_of_the_frozen_relu_networks():
    probe = gaussian_images(1, 24, seed=1, dtype=torch.float64)
    for depth in range(1, 5):
        seen = influence_mask(frozen_cnn(depth, "same").features, probe, (12, 12))
        assert int(seen.sum()) == receptive_field(depth, 3)[0] ** 2


@pytest.mark.law
@given(st.integers(1, 4), odd_kernels, st.sampled_from(["same", "circular", "reflect"]),
       st.integers(-3, 3), st.integers(-3, 3), seeds)
def test_the_camera_law_holds_up_to_rounding_beyond_the_reach_and_fails_inside_it(
        depth, k, mode, dy, dx, seed):
    reach = receptive_field(depth, k)[1]
    generator = torch.Generator().manual_seed(seed)
    filters = [torch.randn(2, 1 if n == 0 else 2, k, k, generator=generator,
                           dtype=torch.float64) for n in range(depth)]
    scene = torch.randn(1, 1, 40, 40, generator=generator, dtype=torch.float64)
    error = camera_error_map(linear_stack(filters, mode), scene, (dy, dx), 12)
    bound = camera_bound(filters, mode, scene, (dy, dx), 12)
    outside = distance_to_frame(error.shape) >= reach
    assert torch.all(error[outside] <= bound[outside])
    assert torch.all(error[~outside] > bound[~outside])
    assert band_width(error, bound) == reach


@pytest.mark.law
@given(st.integers(1, 4), odd_kernels, st.integers(-3, 3), st.integers(-3, 3), seeds)
def test_valid_convolution_obeys_the_camera_law_everywhere_up_to_rounding(depth, k, dy, dx, seed):
    generator = torch.Generator().manual_seed(seed)
    filters = [torch.randn(1, 1, k, k, generator=generator, dtype=torch.float64)
               for _ in range(depth)]
    scene = torch.randn(1, 1, 48, 48, generator=generator, dtype=torch.float64)
    error = camera_error_map(linear_stack(filters, "valid"), scene, (dy, dx), 12)
    assert error.shape == (24 - depth * (k - 1),) * 2
    assert torch.all(error <= camera_bound(filters, "valid", scene, (dy, dx), 12))


@pytest.mark.law
@given(st.integers(1, 4), odd_kernels, st.integers(-3, 3), st.integers(-3, 3), seeds)
def test_valid_convolution_of_integer_scenes_obeys_the_camera_law_bit_for_bit(depth, k, dy, dx,
                                                                            seed):
    generator = torch.Generator().manual_seed(seed)
    filters = [torch.randint(-2, 3, (1, 1, k, k), generator=generator).double()
               for _ in range(depth)]
    scene = torch.randint(-8, 9, (1, 1, 48, 48), generator=generator).double()
    assert torch.all(camera_error_map(linear_stack(filters, "valid"), scene, (dy, dx), 12) == 0)


def frozen_cnn(depth, padding, channels=8, seed=0):
    return ConvNet(ConvNetConfig(channels=(channels,) * depth, padding=padding),
                   seed=seed).double()


SCENE = sample_image(64, dtype=torch.float64)[None, None]


@functools.cache
def chapter_error_maps():
    """The chapter's relative camera error maps and their rounding bounds (seed 0)."""
    def relative(depth, mode):
        net = frozen_cnn(depth, mode)
        with torch.no_grad():
            scale = net.features(SCENE).abs().max()
        error = camera_error_map(net.features, SCENE, (3, -5), 16)
        bound = equivariance_bound_map(magnitude_network(net).features, SCENE,
                                       CropShift(3, -5, 16), terms=depth * 73)
        return error / scale, bound.amax(dim=(0, 1)) / scale

    return {(d, mode): relative(d, mode) for d in range(1, 9) for mode in MODES}


@pytest.mark.law
def test_the_chapter_band_is_l_r_wide_for_same_reflect_and_circular_at_depths_1_to_8():
    maps = chapter_error_maps()
    for depth in range(1, 9):
        reach = receptive_field(depth, 3)[1]
        for mode in ("same", "reflect", "circular"):
            error, bound = maps[depth, mode]
            inside = distance_to_frame(error.shape) < reach
            assert band_width(error, bound) == reach
            assert torch.all(error[inside] > bound[inside])
            assert torch.all(error[~inside] <= bound[~inside])
        assert band_width(*maps[depth, "valid"]) == 0  # on every CPU path
        assert band_width(*maps[depth, "full"]) == 2 * reach
        assert maps[depth, "same"][1].max() < 1e-5  # the bound: far below the band's errors


@pytest.mark.law
def test_the_chapter_error_profile_stops_at_the_reach():
    maps = chapter_error_maps()
    for depth in range(1, 5):
        error, bound = maps[depth, "same"]
        shown = torch.where(error > bound, error, 0.0)
        d = distance_to_frame(error.shape)
        rings = [float(shown[d == k].max()) for k in range(7)]
        assert all(v > 1e-3 for v in rings[:depth]) and all(v == 0 for v in rings[depth:])


def band_mean(depth, mode, seed):
    f = frozen_cnn(depth, mode, seed=seed).features
    with torch.no_grad():
        scale = f(SCENE).abs().max()
    error = camera_error_map(f, SCENE, (3, -5), 16) / scale
    return float(error[distance_to_frame(error.shape) < depth].mean())


@pytest.mark.parametrize("seed", [100, 101, 102, 103, 104])
def test_on_the_photo_reflect_and_circular_padding_err_less_in_the_band_than_zero_padding(seed):
    # on seeds the chapter does not use (it uses 0 to 9)
    for depth in range(1, 5):
        means = {mode: band_mean(depth, mode, seed) for mode in ("same", "reflect", "circular")}
        assert means["reflect"] < means["same"] and means["circular"] < means["same"]
        assert means["reflect"] < 0.75 * means["same"]


def test_on_average_reflect_padding_errs_less_than_half_as_much_as_zero_padding():
    ratios = [band_mean(depth, "reflect", seed) / band_mean(depth, "same", seed)
              for depth in range(1, 5) for seed in range(100, 110)]
    assert sum(ratios) / len(ratios) < 0.5


@pytest.mark.law
@given(st.integers(1, 4), st.integers(-15, 15), st.integers(-15, 15), seeds)
def test_the_circular_shift_error_is_the_border_term_at_the_frame_minus_it_at_the_seam(
        depth, dy, dx, seed):
    zero, circular = frozen_cnn(depth, "same").features, frozen_cnn(depth, "circular").features
    zero_abs = magnitude_network(frozen_cnn(depth, "same")).features
    circular_abs = magnitude_network(frozen_cnn(depth, "circular")).features
    x = gaussian_images(2, 16, seed=seed % 1000, dtype=torch.float64)
    terms = depth * 73

    def border_term(z):
        with torch.no_grad():
            return zero(z) - circular(z)

    with torch.no_grad():
        law = zero(shift(x, (dy, dx))) - shift(zero(x), (dy, dx))
    expected = border_term(shift(x, (dy, dx))) - shift(border_term(x), (dy, dx))
    # the two differ by the circular network's own law, which holds up to rounding
    assert torch.all((law - expected).abs()
                     <= equivariance_bound_map(circular_abs, x, Shift(dy, dx), terms))
    bound = (rounding_bound(zero_abs(x.abs()), terms)
             + rounding_bound(circular_abs(x.abs()), terms)).amax(dim=(0, 1))
    assert band_width(border_term(x).abs().amax(dim=(0, 1)), bound) == depth


# Absolute position from a frozen random network.

@functools.cache
def decoded_r2(seeds=tuple(range(100, 105))):
    """R² of the read-out from the first L layers, L = 1 ... 8, for the chapter's three paddings
    and networks of seeds the chapter does not use (it uses 0 to 9)."""
    train_images, test_images = gaussian_images(16, 16, seed=2), gaussian_images(16, 16, seed=3)
    r2 = {}
    for name, mode in (("zero", "same"), ("circular", "circular"), ("reflect", "reflect")):
        for seed in seeds:
            net = ConvNet(ConvNetConfig(channels=(32,) * 8, padding=mode), seed=seed)
            a, b = hypercolumns(net, train_images), hypercolumns(net, test_images)
            r2[name, seed] = [float(decode_position(a[:, : 32 * L], b[:, : 32 * L]).r2.mean())
                              for L in range(1, 9)]
    return r2, seeds


def test_position_is_decoded_from_zero_padded_features_and_not_from_circular_ones():
    r2, seeds = decoded_r2()
    for seed in seeds:
        assert r2["zero", seed][-1] > 0.4
        assert abs(r2["circular", seed][-1]) < 0.1
        assert r2["reflect", seed][-1] < r2["zero", seed][-1] / 2


def test_the_decoded_position_grows_with_depth_for_zero_padding_only():
    r2, seeds = decoded_r2()
    for seed in seeds:
        zero = r2["zero", seed]
        assert zero == sorted(zero) and zero[0] < 0.2 and zero[-1] > 0.4
        assert all(abs(v) < 0.1 for v in r2["circular", seed])


@given(st.integers(1, 4), st.integers(0, 11), st.integers(0, 11), seeds)
def test_circular_features_at_a_pixel_are_the_features_at_the_origin_of_a_shifted_image(
        depth, i, j, seed):
    net = ConvNet(ConvNetConfig(channels=(4,) * depth, padding="circular"), seed=seed % 100)
    x = gaussian_images(2, 12, seed=seed % 997, dtype=torch.float32)
    with torch.no_grad():
        here = net.features(x)[:, :, i, j]
        origin = net.features(shift(x, (-i, -j)))[:, :, 0, 0]
    assert torch.allclose(here, origin, atol=1e-5)


def test_a_read_out_of_zero_padded_features_beats_one_of_circular_features_with_every_seed():
    train_images, test_images = gaussian_images(12, 12, seed=5), gaussian_images(12, 12, seed=6)
    for seed in range(3):
        r2 = {}
        for mode in ("same", "circular"):
            net = ConvNet(ConvNetConfig(channels=(16,) * 6, padding=mode), seed=seed)
            r2[mode] = float(decode_position(hypercolumns(net, train_images),
                                             hypercolumns(net, test_images)).r2.mean())
        assert r2["same"] > 0.3 > 0.1 > abs(r2["circular"])
