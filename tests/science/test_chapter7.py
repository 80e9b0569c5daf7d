"""The claims chapter 7 (restoring invariance) states, on the chapter's own data and on random
inputs, asserted with tolerances that fail when a claim is false."""

import math
from itertools import pairwise

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftlab.antialias import (
    aliased_energy,
    binomial_aliasing,
    binomial_filter,
    binomial_kernel,
    blur,
    blur_pool,
    frequency_response,
    ideal_lowpass,
)
from shiftlab.consistency import (
    KAYHAN_2020,
    PAPERS,
    ZHANG_2019,
    consistency,
    consistency_table,
    crop_each,
    glyph_scenes,
    shift_each,
)
from shiftlab.data import gaussian_images, glyph_images, random_kernel, sample_image
from shiftlab.figures.restoring import downsampling_explorer
from shiftlab.layers import conv2d, global_avg_pool, global_max_pool
from shiftlab.metrics import exact_tolerance, fraction_exact, invariance_error
from shiftlab.pooling import changes_by_shift
from shiftlab.restoring import (
    DownsamplingConfig,
    DownsamplingNet,
    aps_downsample,
    aps_output_shift,
    aps_phase,
    median_split,
)
from shiftlab.stride import component_norms, downsample, polyphase, shifted_copy_error, zone_plate
from shiftlab.training import train_runs
from shiftlab.transforms import Shift, crop_shift, shift

seeds = st.integers(0, 2**31 - 1)
offsets = st.integers(-9, 9)
PHOTO = sample_image(32)


# Binomial filters and BlurPool ----------------------------------------------------------------

@pytest.mark.parametrize("size", range(1, 8))
def test_the_binomial_filter_is_a_normalised_row_of_pascals_triangle(size):
    taps = binomial_filter(size, torch.float64)
    assert (taps * 2 ** (size - 1)).tolist() == [math.comb(size - 1, j) for j in range(size)]
    assert taps.sum() == 1
    assert torch.equal(taps, taps.flip(0))


@pytest.mark.parametrize("size", range(2, 10))
def test_each_binomial_filter_is_the_last_one_convolved_with_one_one_and_halved(size):
    previous = binomial_filter(size - 1, torch.float64)
    grown = torch.cat([previous, torch.zeros(1, dtype=torch.float64)])
    grown = grown + torch.cat([torch.zeros(1, dtype=torch.float64), previous])
    assert torch.equal(binomial_filter(size, torch.float64), grown / 2)


@pytest.mark.parametrize("size", range(1, 8))
def test_the_gain_of_the_binomial_filter_is_a_power_of_cos_half_omega(size):
    omega, gain = frequency_response(binomial_filter(size, torch.float64))
    assert torch.allclose(gain, torch.cos(omega / 2).abs() ** (size - 1), atol=1e-12)
    assert abs(gain[len(gain) // 2].item() - 2 ** (-(size - 1) / 2)) < 1e-12
    assert gain[-1].item() < 1e-12 or size == 1


def test_the_2d_binomial_filter_is_the_outer_product_and_sums_to_one():
    for size in range(1, 8):
        kernel = binomial_kernel(size, torch.float64)
        taps = binomial_filter(size, torch.float64)
        assert torch.equal(kernel, torch.outer(taps, taps))
        assert abs(kernel.sum().item() - 1) < 1e-15


@settings(max_examples=40, deadline=None)
@given(seeds, st.integers(1, 7), st.sampled_from(["circular", "same", "reflect"]),
       st.integers(1, 3))
def test_blur_pool_is_the_stride_after_the_blur(seed, size, padding, s):
    x = gaussian_images(2, (8 * s, 8 * s), channels=3, seed=seed, dtype=torch.float64)
    assert torch.allclose(blur_pool(x, s, size, padding), downsample(blur(x, size, padding), s),
                          atol=1e-12)
    reference = conv2d(x.reshape(6, 1, 8 * s, 8 * s),
                       binomial_kernel(size, torch.float64)[None, None], padding=padding)
    assert torch.allclose(blur(x, size, padding), reference.reshape(x.shape), atol=1e-12)


def test_blur_pool_with_one_tap_is_plain_downsampling():
    assert torch.equal(blur_pool(PHOTO, 2, 1), downsample(PHOTO, 2))


@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(1, 7), offsets, offsets)
def test_a_circular_blur_commutes_with_every_shift(seed, size, dy, dx):
    x = gaussian_images(2, 12, seed=seed, dtype=torch.float64)
    assert torch.allclose(blur(shift(x, (dy, dx)), size), shift(blur(x, size), (dy, dx)),
                          atol=1e-12)


def test_blurring_first_fades_the_phantom_rings_of_the_zone_plate():
    zone = zone_plate(64)
    kept = torch.arange(0, 64, 2.0) - 32
    edge = 64 / (2 * 2**0.5)
    outer = (kept[:, None].abs() > edge) | (kept[None, :].abs() > edge)
    phantom = {k: blur_pool(zone, 2, k)[outer].std().item() for k in (1, 3, 7)}
    assert phantom[7] < 0.1 * phantom[1]
    assert phantom[3] < phantom[1]


def test_the_zone_plates_aliased_region_is_the_outside_of_a_square_not_of_a_disc():
    n = 128
    zone = zone_plate(n, torch.float64)
    edge = n / (2 * 2**0.5)
    hann = torch.hann_window(16, periodic=False, dtype=torch.float64)
    window = torch.outer(hann, hann)

    def local_aliasing(y, x):  # the aliased energy of a 16 x 16 window around (y, x)
        i, j = int(n / 2 + y), int(n / 2 + x)
        return aliased_energy(zone[i - 8:i + 8, j - 8:j + 8] * window)

    radius = 1.13 * edge   # outside the disc of radius edge
    for sy, sx in [(1, 1), (-1, 1), (1, -1)]:   # inside the square: nothing aliases
        assert local_aliasing(sy * 0.8 * edge, sx * 0.8 * edge) < 0.1
    for y, x in [(0, radius), (radius, 0), (0, -radius)]:   # outside it: half the energy
        assert local_aliasing(y, x) > 0.3


@settings(max_examples=5, deadline=None)
@given(seeds, st.sampled_from([16, 32]))
def test_the_aliased_energy_of_blurred_noise_follows_the_proposition(seed, n):
    noise = gaussian_images(800 // (n // 16) ** 2, n, seed=seed, dtype=torch.float64)
    previous = 1.0
    for size in range(1, 8):
        predicted = binomial_aliasing(size, n)
        assert abs(aliased_energy(blur(noise, size)) - predicted) <= 0.03 * predicted
        assert predicted < previous
        previous = predicted


def test_without_a_blur_three_quarters_and_the_edge_frequencies_alias():
    for n in (16, 32, 64):
        assert abs(binomial_aliasing(1, n) - (1 - ((n // 2 + 1) / n) ** 2)) < 1e-12
    measured = aliased_energy(gaussian_images(200, 32, seed=9, dtype=torch.float64))
    assert abs(measured - binomial_aliasing(1, 32)) < 0.01


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_the_ideal_low_pass_leaves_no_aliased_energy(seed):
    x = gaussian_images(4, (16, 12), channels=2, seed=seed, dtype=torch.float64)
    assert aliased_energy(ideal_lowpass(x)) < 1e-25
    assert aliased_energy(ideal_lowpass(x)) < aliased_energy(blur(x, 7))


def test_each_tap_lowers_the_aliased_energy_of_the_photograph_and_none_removes_it():
    photo = PHOTO.double()
    energies = [aliased_energy(blur(photo, k)) for k in range(1, 8)]
    assert all(a > b for a, b in pairwise(energies))
    assert min(energies) > 1e-6


def test_the_aliased_energy_counts_the_outside_of_the_square():
    n = 16
    index = torch.arange(n, dtype=torch.float64)
    fast_rows = torch.cos(0.75 * torch.pi * index)[:, None].expand(n, n)  # |ω_y| = 3π/4
    slow = torch.cos(0.25 * torch.pi * index)[None, :].expand(n, n)       # |ω_x| = π/4
    assert aliased_energy(fast_rows) == pytest.approx(1.0)
    assert aliased_energy(slow) == pytest.approx(0.0, abs=1e-25)
    assert aliased_energy(fast_rows + slow) == pytest.approx(0.5)


# Blur, then average: exactly invariant ---------------------------------------------------------

TOL64 = exact_tolerance(torch.float64)


@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(2, 7), st.integers(2, 6), offsets, offsets)
def test_blur_pool_then_a_global_average_is_the_average_and_invariant(seed, size, half, dy, dx):
    x = torch.rand(3, 2, 2 * half, 2 * half + 2, dtype=torch.float64,
                   generator=torch.Generator().manual_seed(seed))
    if size > 2 * half:
        size = 2
    pooled = global_avg_pool(blur_pool(x, 2, size))
    assert torch.allclose(pooled, global_avg_pool(x), rtol=TOL64, atol=0)
    errors = invariance_error(lambda z: global_avg_pool(blur_pool(z, 2, size)), x,
                              Shift(dy, dx))
    assert errors.max() <= TOL64


@settings(max_examples=20, deadline=None)
@given(seeds, st.sampled_from([2, 3, 5]), offsets, offsets)
def test_two_blurred_stages_without_a_nonlinearity_stay_invariant_and_a_relu_breaks_them(
        seed, size, dy, dx):
    x = torch.rand(4, 1, 16, 16, dtype=torch.float64,
                   generator=torch.Generator().manual_seed(seed))
    w = random_kernel(4, 1, 3, seed=seed % 1000, dtype=torch.float64)
    w = w - w.mean(dim=(-2, -1), keepdim=True) + 0.2  # taps of both signs, a positive sum

    def linear(z):
        return global_avg_pool(blur_pool(conv2d(blur_pool(z, 2, size), w), 2, size))

    threshold = conv2d(blur_pool(x, 2, size), w).median()  # a fixed bias: the ReLU cuts

    def with_relu(z):
        inner = torch.relu(conv2d(blur_pool(z, 2, size), w) - threshold)
        return global_avg_pool(blur_pool(inner, 2, size))

    assert invariance_error(linear, x, Shift(dy, dx)).max() <= TOL64
    if dy % 2 or dx % 2:  # off the subgroup the ReLU sees another component
        assert invariance_error(with_relu, x, Shift(dy, dx)).max() > 1e-6


def test_the_chapters_pipelines_break_exactly_where_the_chapter_says():
    maps = torch.rand(16, 1, 16, 16, dtype=torch.float64,
                      generator=torch.Generator().manual_seed(3))
    shifts = [Shift(dy, dx) for dy in range(16) for dx in range(16)]

    def worst(f):
        return max(invariance_error(f, maps, g).max().item() for g in shifts)

    assert worst(lambda z: global_avg_pool(blur_pool(z, 2, 1))) > 0.05        # no blur
    for size in (2, 3, 5):
        assert worst(lambda z, k=size: global_avg_pool(blur_pool(z, 2, k))) <= TOL64
        assert worst(lambda z, k=size: global_max_pool(blur_pool(z, 2, k))) > 0.01


@settings(max_examples=20, deadline=None)
@given(seeds, st.integers(1, 7), st.integers(0, 3).map(lambda k: 2 * k + 1), offsets)
def test_blur_pool_gives_no_exact_copy_after_an_odd_shift(seed, size, odd, other):
    x = gaussian_images(8, 16, seed=seed)
    errors = shifted_copy_error(lambda y: blur_pool(y, 2, size), x, (other, odd))
    assert fraction_exact(errors) == 0.0


# Adaptive polyphase sampling ------------------------------------------------------------------

@st.composite
def feature_maps(draw, s):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    height, width = s * draw(st.integers(1, 5)), s * draw(st.integers(1, 5))
    generator = torch.Generator().manual_seed(draw(seeds))
    return torch.randn(n, c, height, width, generator=generator)


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(2, 3), offsets, offsets)
def test_aps_follows_every_circular_shift(data, s, dy, dx):
    x = data.draw(feature_maps(s))
    errors = shifted_copy_error(lambda y: aps_downsample(y, s), x, (dy, dx))
    assert (errors == 0).all()


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(2, 3), offsets, offsets)
def test_aps_moves_its_output_by_the_shift_the_theorem_predicts(seed, s, dy, dx):
    x = gaussian_images(1, 6 * s, seed=seed)[0, 0]
    q = aps_output_shift(x, (dy, dx), s)
    a = aps_phase(x, s).tolist()
    kept = ((a[0] + dy) % s, (a[1] + dx) % s)
    assert q == ((dy + a[0] - kept[0]) // s, (dx + a[1] - kept[1]) // s)
    assert torch.equal(aps_downsample(shift(x, (dy, dx)), s), shift(aps_downsample(x, s), q))


@settings(max_examples=30, deadline=None)
@given(st.data(), st.integers(2, 3))
def test_aps_keeps_the_component_of_largest_norm_over_all_channels(data, s):
    x = data.draw(feature_maps(s))
    parts = polyphase(x, s).movedim(1, 3)  # (N, s, s, C, h, w)
    norms = parts.flatten(start_dim=3).double().norm(dim=-1)
    kept = aps_downsample(x, s)
    for n in range(len(x)):
        a = norms[n].flatten().argmax().item()
        assert torch.equal(kept[n], parts[n, a // s, a % s])
    assert torch.allclose(component_norms(x, s), norms)


@settings(max_examples=30, deadline=None)
@given(seeds, offsets, offsets)
def test_a_shift_only_permutes_the_norms_of_the_components(seed, dy, dx):
    x = gaussian_images(3, 12, channels=2, seed=seed)
    before = component_norms(x).flatten(1).sort(dim=1).values
    after = component_norms(shift(x, (dy, dx))).flatten(1).sort(dim=1).values
    assert torch.allclose(before, after, rtol=1e-12)


def test_ties_go_to_the_first_component_in_row_major_order():
    assert aps_phase(torch.ones(4, 4)).tolist() == [0, 0]
    zone = zone_plate(32)
    norms = component_norms(zone)
    assert norms[0, 1] == norms[1, 0] == norms.max()
    assert aps_phase(zone).tolist() == [0, 1]


def test_the_photographs_largest_component_is_not_the_one_a_stride_keeps():
    phase = tuple(aps_phase(PHOTO).tolist())
    assert phase != (0, 0)
    assert torch.equal(aps_downsample(PHOTO), polyphase(PHOTO, 2)[phase])


def test_exact_copies_stride_and_blur_at_even_shifts_aps_at_every_shift():
    noise = gaussian_images(50, 16, seed=1)
    downsamplers = {"stride": lambda x: downsample(x, 2), "blur": lambda x: blur_pool(x, 2, 3),
                    "aps": aps_downsample}
    for name, f in downsamplers.items():
        for dy in range(4):
            for dx in range(4):
                exact = fraction_exact(shifted_copy_error(f, noise, (dy, dx)))
                even = dy % 2 == 0 and dx % 2 == 0
                assert exact == (1.0 if name == "aps" or even else 0.0)


def test_a_tie_breaks_aps_on_the_symmetric_zone_plate_exactly_at_odd_vertical_shifts():
    zone = zone_plate(32)
    shifts = [(dy, dx) for dy in range(4) for dx in range(4)]
    broken = [t for t in shifts if shifted_copy_error(aps_downsample, zone, t) > 0]
    assert broken == [t for t in shifts if t[0] % 2 == 1]


@settings(max_examples=15, deadline=None)
@given(seeds, offsets, offsets)
def test_an_untrained_aps_network_with_circular_padding_is_invariant_to_every_shift(seed, dy,
                                                                                    dx):
    x = gaussian_images(16, 12, seed=seed)
    net = DownsamplingNet(DownsamplingConfig("aps", "circular"), seed=seed % 1000)
    assert torch.equal(net(shift(x, (dy, dx))), net(x))


def test_the_chapters_untrained_networks_change_their_scores_as_stated():
    images, _ = glyph_images(64, 12, noise=0.2, seed=5)
    steps = torch.arange(5)
    by_4 = (steps[:, None] % 4 == 0) & (steps[None, :] % 4 == 0)
    maps = {}
    for name, config in {"aps": DownsamplingConfig("aps", "circular"),
                         "stride": DownsamplingConfig("stride", "circular"),
                         "aps zero": DownsamplingConfig("aps", "same")}.items():
        net = median_split(DownsamplingNet(config, seed=0), images)
        maps[name] = changes_by_shift(net, images, 5)
    assert (maps["aps"][0] == 0).all() and (maps["aps"][1] == 0).all()
    assert torch.equal(maps["stride"][1] == 0, by_4)
    assert maps["stride"][0].max() > 0.3
    assert (maps["aps zero"][1].flatten()[1:] > 0).all()


def test_the_slider_curves_stride_and_blur_exact_at_even_shifts_blur_closer_aps_always():
    downsamplers = {"stride 2": lambda x: downsample(x, 2),
                    "BlurPool": lambda x: blur_pool(x, 2, 3), "APS": aps_downsample}
    positions = [(0, dx) for dx in range(9)]
    _, _, errors = downsampling_explorer(PHOTO, downsamplers, positions)
    for name in ("stride 2", "BlurPool"):
        assert [e == 0 for e in errors[name]] == [dx % 2 == 0 for _, dx in positions]
    assert all(b < a for a, b in zip(errors["stride 2"], errors["BlurPool"], strict=True)
               if a > 0)
    assert max(errors["APS"]) == 0


# The border ---------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(3, 12), st.integers(1, 5))
def test_the_outputs_of_a_full_convolution_add_up_to_every_product(seed, size, k):
    x = gaussian_images(1, size, seed=seed, dtype=torch.float64)
    w = gaussian_images(1, k, seed=seed + 1, dtype=torch.float64)
    assert torch.allclose(conv2d(x, w, padding="full").sum(), x.sum() * w.sum())


def test_same_padding_misses_products_at_the_border():
    x = gaussian_images(1, 12, seed=2, dtype=torch.float64)
    w = gaussian_images(1, 3, seed=3, dtype=torch.float64)
    assert not torch.allclose(conv2d(x, w, padding="same").sum(), x.sum() * w.sum())


def test_full_convolution_grows_the_maps_of_the_network():
    x = torch.zeros(1, 1, 12, 12)
    shapes = {p: tuple(DownsamplingNet(DownsamplingConfig("stride", p)).features(x).shape[-2:])
              for p in ("same", "full", "circular")}
    assert shapes == {"same": (3, 3), "full": (5, 5), "circular": (3, 3)}


# The table ----------------------------------------------------------------------------------

VARIANTS = {
    "baseline": DownsamplingConfig("stride", "same"),
    "blur": DownsamplingConfig("blur", "same"),
    "APS": DownsamplingConfig("aps", "circular"),
    "full": DownsamplingConfig("stride", "full"),
    "circular": DownsamplingConfig("stride", "circular"),
    "blur + full": DownsamplingConfig("blur", "full"),
}
SIZE, MARGIN = 12, 3


def _table(seeds):
    train_set = glyph_images(512, SIZE, noise=0.1, seed=0, wrap=False)
    test_set = glyph_images(256, SIZE, noise=0.1, seed=1, wrap=False)
    scenes, _ = glyph_scenes(256, SIZE, MARGIN, noise=0.1, seed=2)
    rows, _ = consistency_table(VARIANTS, train_set, test_set, scenes, margin=MARGIN,
                                epochs=8, lr=0.03, batch_size=64, pairs=4, seeds=seeds)
    return rows


@pytest.fixture(scope="module")
def table():
    """The chapter's table: its sizes, its seeds."""
    return _table((0, 1, 2, 3, 4))


def test_every_network_learns_the_task_on_every_seed(table):
    for row in table.values():
        assert row["accuracy"].shape == (5,) and (row["accuracy"] > 0.85).all()
    assert table["baseline"]["accuracy"].mean() > 0.9


def test_aps_is_exactly_consistent_under_circular_shifts_on_every_seed(table):
    assert (table["APS"]["circular"] == 1).all() and (table["APS"]["untrained"] == 1).all()


def test_every_other_network_is_below_100_percent_under_circular_shifts(table):
    for name, row in table.items():
        if name != "APS":
            assert (row["circular"] < 1).all() and (row["untrained"] < 1).all()


def test_every_remedy_is_more_consistent_than_the_baseline_on_average(table):
    base = table["baseline"]
    for name, row in table.items():
        for kind in ("circular", "crop"):
            if name != "baseline":
                assert row[kind].mean() > base[kind].mean() + 0.01
                assert (row[kind] > base[kind]).sum() >= 3  # on most seeds


def test_the_order_of_blur_and_full_convolution_is_within_the_spread(table):
    for kind in ("circular", "crop"):
        difference = (table["full"][kind] - table["blur"][kind]).mean().abs()
        spread = max(table["full"][kind].std(), table["blur"][kind].std())
        assert difference < 2 * spread + 0.01


def test_aps_networks_trained_from_seeds_the_chapter_does_not_use_are_invariant():
    images, labels = glyph_images(128, SIZE, noise=0.1, seed=11, wrap=False)
    runs = train_runs(lambda s: DownsamplingNet(VARIANTS["APS"], seed=s), (30, 31, 32), images,
                      labels, epochs=2, lr=0.03, batch_size=32, optimizer="adam")
    assert (consistency(runs.logits, images, pairs=3, seed=4) == 1).all()


def test_no_glyph_of_the_table_wraps_around_the_border():
    lit = glyph_images(2000, SIZE, noise=0.0, seed=0, wrap=False)[0][:, 0] > 0
    index = torch.arange(SIZE)
    for along in (lit.any(dim=2), lit.any(dim=1)):
        first = torch.where(along, index, SIZE).amin(dim=1)
        last = torch.where(along, index, -1).amax(dim=1)
        assert (last - first == 2).all()
        assert first.min() == 0 and last.max() == SIZE - 1
    wrapped = glyph_images(2000, SIZE, noise=0.0, seed=0)[0][:, 0] > 0
    rows = wrapped.any(dim=2)
    assert (rows[:, 0] & rows[:, -1]).any()  # with wrap=True some do


def test_a_constant_classifier_is_perfectly_consistent():
    images, _ = glyph_images(32, 12, seed=3)
    assert consistency(lambda x: torch.ones(len(x), 2) * torch.tensor([1.0, 0.0]), images) == 1


def test_consistency_of_several_networks_at_once_is_that_of_each():
    images, labels = glyph_images(64, 12, noise=0.2, seed=3)
    runs = train_runs(lambda s: DownsamplingNet(VARIANTS["baseline"], seed=s), (0, 1), images,
                      labels, epochs=1, lr=0.03, batch_size=32, optimizer="adam")
    together = consistency(runs.logits, images, pairs=3, seed=2)
    for k in range(2):
        alone = consistency(runs.model(k), images, pairs=3, seed=2)
        assert together[k].item() == pytest.approx(alone)


def test_the_papers_numbers_are_those_of_the_course_plan():
    # adobe/antialiased-cnns README (2019), the paper's Table: accuracy / consistency
    assert ZHANG_2019["ResNet-50"] == {"baseline": (76.16, 89.20), "Rect-2": (76.81, 89.96),
                                       "Bin-5": (77.04, 91.31)}
    assert ZHANG_2019["VGG16"] == {"baseline": (71.59, 88.52), "Rect-2": (72.15, 89.24),
                                   "Bin-5": (72.33, 90.19)}
    assert KAYHAN_2020 == {"S": 86.43, "F": 88.38, "S+Blur": 88.32, "F+Blur": 90.03}
    assert set(PAPERS) == set(VARIANTS)
    for number in ("89.20", "88.52", "86.43"):
        assert number in PAPERS["baseline"]
    for number in ("91.31", "90.19", "88.32"):
        assert number in PAPERS["blur"]
    assert "88.38" in PAPERS["full"] and "90.03" in PAPERS["blur + full"]
    assert "ImageNet-A" in PAPERS["full"] and "ImageNet-A" not in PAPERS["APS"]


# The measuring tools --------------------------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(seeds)
def test_shift_each_and_crop_each_move_every_image_by_its_own_shift(seed):
    generator = torch.Generator().manual_seed(seed)
    x = gaussian_images(5, 10, channels=2, seed=seed)
    shifts = torch.randint(-12, 12, (5, 2), generator=generator)
    moved = shift_each(x, shifts)
    crops = crop_each(x, shifts.clamp(-3, 3), 3)
    for n in range(5):
        t = tuple(shifts[n].tolist())
        assert torch.equal(moved[n : n + 1], shift(x[n : n + 1], t))
        c = tuple(shifts[n].clamp(-3, 3).tolist())
        assert torch.equal(crops[n : n + 1], crop_shift(x[n : n + 1], c, 3))


def test_every_crop_shift_view_of_a_scene_shows_the_whole_glyph():
    scenes, _ = glyph_scenes(64, 12, 3, noise=0.0, seed=0)
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            views = crop_each(scenes, torch.tensor([[dy, dx]] * 64), 3)
            assert torch.equal(views.sum(dim=(1, 2, 3)), torch.full((64,), 5.0))


def test_median_split_puts_half_of_the_images_in_each_class():
    images, _ = glyph_images(101, 12, seed=4)
    net = median_split(DownsamplingNet(DownsamplingConfig("stride", "same")), images)
    ones = net(images).argmax(dim=1).sum().item()
    assert abs(ones - 50.5) <= 1.5


def test_training_lowers_the_loss_and_gives_the_same_weights_twice():
    images, labels = glyph_images(64, 12, noise=0.2, seed=0)
    runs = [train_runs(lambda s: DownsamplingNet(DownsamplingConfig("blur", "circular"),
                                                 seed=s), (1,), images, labels, epochs=15,
                       lr=0.05, batch_size=64, optimizer="adam") for _ in range(2)]
    losses = runs[0].losses[:, 0]
    assert torch.equal(losses, runs[1].losses[:, 0]) and losses[-1] < 0.8 * losses[0]
    for name, p in runs[0].params.items():
        assert torch.equal(p, runs[1].params[name])


def test_the_strided_network_is_the_stride_after_the_stride_1_convolution():
    x = gaussian_images(4, 12, seed=6)
    net = DownsamplingNet(DownsamplingConfig("stride", "circular"), seed=2)
    y = x
    for weight, bias in zip(net.weights, net.biases, strict=True):
        y = downsample(torch.relu(conv2d(y, weight) + bias[:, None, None]), 2)
    assert torch.allclose(net.features(x), y, atol=1e-6)
