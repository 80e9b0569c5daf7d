"""The claims chapter 3 (stride and subgroups) states, on the chapter's own data and on random
inputs, asserted with tolerances that fail when a claim is false."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from shiftlab.data import gaussian_images, random_kernel, sample_image
from shiftlab.layers import conv2d, max_pool
from shiftlab.metrics import (
    equivariance_bound,
    equivariance_error,
    exact_tolerance,
    fraction_exact,
    invariance_error,
    magnitude_network,
    rounding_bound,
)
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.stride import (
    above_nyquist,
    aliased_region,
    downsample,
    in_subgroup,
    merge_polyphase,
    output_shift,
    phase_after_shift,
    polyphase,
    shifted_copy_bound,
    shifted_copy_error,
    zone_plate,
)
from shiftlab.transforms import Identity, Shift, shift

PHOTO = sample_image(48)
strides = st.integers(1, 4)
offsets = st.integers(-12, 12)


@st.composite
def grid_images(draw, s, *, batched=True, max_cells=4):
    """Random normal images whose sides are multiples of the stride ``s``."""
    height = s * draw(st.integers(1, max_cells))
    width = s * draw(st.integers(1, max_cells))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 2)), height, width) if batched \
        else (height, width)
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def _stride(s):
    return lambda x: downsample(x, s)


# Theorem part 1: D_s T_t = T_{t/s} D_s on the subgroup sZ x sZ -----------------------------

@given(st.data(), strides, offsets, offsets)
def test_downsampling_commutes_with_shifts_in_the_stride_subgroup(data, s, ky, kx):
    x = data.draw(grid_images(s))
    t = (s * ky, s * kx)
    assert output_shift(t, s) == (ky, kx)
    assert torch.equal(downsample(shift(x, t), s), shift(downsample(x, s), (ky, kx)))


@pytest.mark.law
@given(st.data(), strides, st.sampled_from([1, 2, 3]), st.integers(0, 1000))
def test_a_strided_circular_convolution_is_downsampling_after_the_stride_1_convolution(
        data, s, k, seed):
    x = data.draw(grid_images(s, max_cells=5)).float()
    if min(x.shape[-2:]) < k:
        x = x.repeat(1, 1, k, k)
    weight = random_kernel(2, x.shape[1], k, seed=seed)
    strided = conv2d(x, weight, stride=s)
    magnitude = downsample(conv2d(x.abs(), weight.abs()), s)
    gap = (strided - downsample(conv2d(x, weight), s)).abs()
    assert torch.all(gap <= 2 * rounding_bound(magnitude, weight[0].numel()))


@pytest.mark.law
@given(st.data(), st.sampled_from([2, 3]), offsets, offsets, st.integers(0, 1000))
def test_a_strided_circular_convolution_moves_by_t_over_s_on_the_subgroup(
        data, s, ky, kx, seed):
    x = data.draw(grid_images(s, max_cells=5))
    if min(x.shape[-2:]) < 3:  # circular padding needs the filter to fit in the image
        x = x.repeat(1, 1, 2, 2)
    weight = random_kernel(3, x.shape[1], 3, seed=seed, dtype=torch.float64)
    t = (s * ky, s * kx)

    def layer(z):
        return conv2d(z, weight, stride=s)

    def magnitude(z):
        return conv2d(z, weight.abs(), stride=s)

    g, g_out = Shift(*t), Shift(*output_shift(t, s))
    errors = equivariance_error(layer, x, g, g_out)
    assert torch.all(errors <= equivariance_bound(layer, magnitude, x, g, weight[0].numel(),
                                                  g_out))


@pytest.mark.law
def test_the_photo_obeys_the_law_bit_for_bit_when_downsampled_and_up_to_rounding_convolved():
    kernel = random_kernel(seed=0)[0, 0]
    t = (4, -6)
    assert output_shift(t, 2) == (2, -3)
    assert torch.equal(downsample(shift(PHOTO, t), 2), shift(downsample(PHOTO, 2), (2, -3)))

    def layer(z):
        return conv2d(z, kernel, stride=2)

    error = equivariance_error(layer, PHOTO, Shift(*t), Shift(2, -3))
    assert error <= equivariance_bound(layer, lambda z: conv2d(z, kernel.abs(), stride=2),
                                       PHOTO, Shift(*t), 9, Shift(2, -3))


@given(st.integers(1, 3), st.integers(2, 9), st.integers(2, 9), st.integers(0, 1000))
def test_a_strided_max_pool_is_every_window_then_every_second_one(n, height, width, seed):
    x = gaussian_images(n, (height, width), seed=seed)
    assert torch.equal(max_pool(x, 2), max_pool(x, 2, stride=1)[..., ::2, ::2])
    assert torch.equal(max_pool(PHOTO, 2), max_pool(PHOTO, 2, stride=1)[::2, ::2])


# Theorem part 2: no map of the output works outside the subgroup -----------------------------

@given(st.integers(2, 4), offsets, offsets, st.integers(1, 3))
def test_outside_the_subgroup_an_impulse_off_the_grid_lands_on_it(s, dy, dx, cells):
    if in_subgroup((dy, dx), s):
        return
    x = torch.zeros(s * cells, s * cells)
    x[(-dy) % s, (-dx) % s] = 1.0  # the impulse of the proof
    assert torch.all(downsample(x, s) == 0)
    assert downsample(shift(x, (dy, dx)), s).abs().sum() == 1


def test_one_pixel_stripes_turn_from_white_to_black():
    stripes = (torch.arange(8) % 2 == 0).float().repeat(8, 1)
    assert torch.all(downsample(stripes, 2) == 1)
    assert torch.all(downsample(shift(stripes, (0, 1)), 2) == 0)


# Measured: exact copies at even shifts only -------------------------------------------------

def test_the_chapter_counts_exact_copies_at_even_shifts_only():
    noise = gaussian_images(256, 12, seed=3)
    bank = random_kernel(1, 1, 3, seed=1)

    def conv(x):
        return conv2d(x, bank, stride=2)

    for t in [(dy, dx) for dy in range(4) for dx in range(4)]:
        errors = shifted_copy_error(conv, noise, t)
        bounds = shifted_copy_bound(conv, lambda x: conv2d(x, bank.abs(), stride=2), noise, t,
                                    9)
        kept = shifted_copy_error(_stride(2), noise, t)  # data movement: errors of exactly 0
        if in_subgroup(t, 2):
            assert fraction_exact(errors, bounds) == 1.0 and torch.all(kept == 0)
        else:
            assert fraction_exact(errors, bounds) == 0.0 and torch.all(kept > 0)
            assert errors.min() > 0.5  # a different output, not rounding


@given(st.sampled_from([2, 3]), st.integers(0, 5), st.integers(0, 5), st.integers(0, 10**6))
def test_random_inputs_are_exact_copies_for_all_or_none_by_the_subgroup(s, dy, dx, seed):
    noise = gaussian_images(32, 6 * s, seed=seed)
    fraction = fraction_exact(shifted_copy_error(_stride(s), noise, (dy, dx)), 0.0)
    assert fraction == (1.0 if in_subgroup((dy, dx), s) else 0.0)


# Stacking: L stride-2 layers keep 2^L Z x 2^L Z ---------------------------------------------

def _strided_net(layers, seed):
    return ConvNet(ConvNetConfig(channels=(8,) * layers, stride=2), seed=seed).double()


def _terms(layers, size, features_only=False):
    """All the terms the network adds: every layer's products and bias, and unless
    ``features_only`` the global average and the linear head."""
    convs = 10 + (layers - 1) * 73
    side = size // 2**layers
    return convs if features_only else convs + side * side + 1 + 9


def _exact_invariance(net, images, g, layers):
    bound = equivariance_bound(net, magnitude_network(net), images, g,
                               _terms(layers, images.shape[-1]), Identity())
    return fraction_exact(invariance_error(net, images, g), bound)


def test_the_chapter_table_keeps_exactly_the_multiples_of_2_to_the_l():
    images = gaussian_images(64, 24, seed=5, dtype=torch.float64)
    for layers in (1, 2, 3):
        net = _strided_net(layers, layers)
        for dx in range(9):
            exact = _exact_invariance(net, images, Shift(0, dx), layers)
            assert exact == (1.0 if dx % 2**layers == 0 else 0.0)
    one_pixel = invariance_error(_strided_net(3, 3), images, Shift(0, 1))
    # "changes the scores of 100% of the images"
    assert _exact_invariance(_strided_net(3, 3), images, Shift(0, 1), 3) == 0.0
    assert one_pixel.median() > 0.1  # by far more than rounding


@pytest.mark.law
@given(st.integers(1, 3), st.integers(-2, 2), st.integers(-2, 2), st.integers(0, 1000))
def test_strided_features_move_by_t_over_2_to_the_l(layers, ky, kx, seed):
    net = _strided_net(layers, seed)
    images = gaussian_images(4, 16, seed=seed, dtype=torch.float64)
    step = 2**layers
    t = (step * ky, step * kx)
    errors = equivariance_error(net.features, images, Shift(*t), Shift(ky, kx))
    bounds = equivariance_bound(net.features, magnitude_network(net).features, images,
                                Shift(*t), _terms(layers, 16, features_only=True), Shift(ky, kx))
    assert torch.all(errors <= bounds)


@pytest.mark.law
@given(st.integers(1, 3), st.integers(0, 15), st.integers(0, 1000))
def test_strided_nets_are_invariant_exactly_at_multiples_of_2_to_the_l(layers, dx, seed):
    net = _strided_net(layers, seed)
    images = gaussian_images(16, 16, seed=seed, dtype=torch.float64)
    exact = _exact_invariance(net, images, Shift(0, dx), layers)
    assert exact == (1.0 if dx % 2**layers == 0 else 0.0)


# Polyphase components -----------------------------------------------------------------------

@given(st.data(), strides)
def test_the_polyphase_components_hold_every_pixel_once(data, s):
    x = data.draw(grid_images(s))
    p = polyphase(x, s)
    assert p.shape == (*x.shape[:2], s, s, x.shape[-2] // s, x.shape[-1] // s)
    assert torch.equal(merge_polyphase(p), x)
    assert torch.equal(p[..., 0, 0, :, :], downsample(x, s))
    assert torch.equal(p.flatten().sort().values, x.flatten().sort().values)


@given(st.data(), strides, offsets, offsets)
def test_a_shift_permutes_the_polyphase_components(data, s, dy, dx):
    x = data.draw(grid_images(s))
    parts, moved = polyphase(x, s), polyphase(shift(x, (dy, dx)), s)
    for a_y in range(s):
        for a_x in range(s):
            r, q = phase_after_shift((a_y, a_x), (dy, dx), s)
            assert torch.equal(moved[..., a_y, a_x, :, :], shift(parts[..., r[0], r[1], :, :], q))


@given(strides, offsets, offsets)
def test_the_stride_keeps_component_zero_exactly_on_the_subgroup(s, dy, dx):
    r, q = phase_after_shift((0, 0), (dy, dx), s)
    assert (r == (0, 0)) == in_subgroup((dy, dx), s)
    if r == (0, 0):
        assert q == output_shift((dy, dx), s)


@pytest.mark.law
@given(st.data(), st.integers(2, 3), offsets, offsets)
def test_a_shift_only_permutes_the_norms_of_the_components(data, s, dy, dx):
    x = data.draw(grid_images(s, batched=False))
    norms = polyphase(x, s).square().sum(dim=(-2, -1))
    moved = polyphase(shift(x, (dy, dx)), s).square().sum(dim=(-2, -1))
    terms = x.numel() // s**2
    for a_y in range(s):
        for a_x in range(s):
            r, _ = phase_after_shift((a_y, a_x), (dy, dx), s)
            # the same positive terms in another order: within twice their rounding bound
            assert abs(moved[a_y, a_x] - norms[r]) <= 2 * rounding_bound(norms[r], terms)


def _zone_regions(size):
    offsets = torch.arange(size) - size // 2
    radius = (offsets[:, None] ** 2 + offsets[None, :] ** 2).sqrt()
    largest = torch.maximum(offsets[:, None].abs(), offsets[None, :].abs())
    limit = size / (2 * 2**0.5)
    return {"disc": radius < 0.9 * limit,
            "corners": (radius > 1.1 * limit) & (largest < 0.9 * limit),
            "outside": largest > 1.1 * limit}, largest, limit


@pytest.mark.parametrize("size", [64, 128, 256])
def test_the_zone_plate_aliases_on_a_stride_2_grid_outside_a_square_not_a_disc(size):
    zone = zone_plate(size, torch.float64)
    lost = above_nyquist(zone, 2)
    regions, largest, limit = _zone_regions(size)
    share = {name: (lost[m].norm() / zone[m].norm()).item() for name, m in regions.items()}
    assert share["outside"] > 0.85            # nearly all of it aliases outside the square
    assert share["corners"] < 0.6             # a disc would make these alias as much
    assert share["corners"] < share["outside"] - 0.3
    assert torch.equal(aliased_region(size), largest > limit)


def test_above_nyquist_keeps_what_a_stride_can_carry_and_removes_the_rest():
    n = 16
    k = torch.arange(n, dtype=torch.float64)
    slow = torch.cos(2 * torch.pi * 2 * k / n)[:, None] * torch.ones(n)   # pi/4 per pixel
    fast = torch.cos(2 * torch.pi * 6 * k / n)[None, :] * torch.ones(n, 1)  # 3 pi/4 per pixel
    torch.testing.assert_close(above_nyquist(slow + fast, 2), fast)


def test_after_a_one_pixel_shift_the_stride_keeps_the_other_component_of_the_zone_plate():
    zone = zone_plate(64)
    kept = downsample(shift(zone, (0, 1)), 2)
    assert torch.equal(kept, shift(polyphase(zone, 2)[0, 1], (0, 1)))
    assert shifted_copy_error(_stride(2), zone, (0, 1)) > 0.5
    norms = polyphase(zone, 2).square().sum(dim=(-2, -1)).sqrt()
    moved = polyphase(shift(zone, (0, 1)), 2).square().sum(dim=(-2, -1)).sqrt()
    # the same 1024 squares in another order: equal up to rounding
    assert torch.allclose(moved, norms.flip(1), rtol=exact_tolerance(torch.float32, 1024),
                          atol=0)


# The slider: zeros exactly at the multiples of the stride -----------------------------------

@given(st.sampled_from([2, 3]), st.integers(0, 12), st.integers(0, 12))
def test_the_best_error_on_the_photo_is_zero_exactly_at_multiples_of_the_stride(s, dy, dx):
    error = shifted_copy_error(_stride(s), PHOTO, (dy, dx)).item()
    if in_subgroup((dy, dx), s):
        assert error == 0
    else:
        assert error > 0.1  # far from rounding: the chapter quotes at least 0.3


def test_the_slider_curves_of_the_chapter():
    for s in (2, 3):
        errors = [shifted_copy_error(_stride(s), PHOTO, (0, dx)).item() for dx in range(13)]
        assert [e == 0 for e in errors] == [dx % s == 0 for dx in range(13)]
        assert min(e for e in errors if e > 0) > 0.3


def test_the_photo_misses_its_nearest_copy_by_less_than_noise_does():
    photo = max(shifted_copy_error(_stride(2), PHOTO, (0, dx)).item() for dx in (1, 3, 5))
    noise = gaussian_images(256, 12, seed=3)
    bank = random_kernel(1, 1, 3, seed=1)
    nearest = min(shifted_copy_error(lambda x: conv2d(x, bank, stride=2), noise, t).min()
                  for t in [(0, 1), (1, 0), (1, 1), (3, 2)])
    assert photo < nearest
