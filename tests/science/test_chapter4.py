"""The claims chapter 4 (pooling: local and global) states, asserted with tolerances that fail
when a claim is false."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftlab.data import gaussian_images, glyph_images, random_kernel, sample_image
from shiftlab.layers import conv2d, global_avg_pool, global_max_pool, max_pool
from shiftlab.metrics import equivariance_error, exact_tolerance, fraction_exact, invariance_error
from shiftlab.models import ConvNet, ConvNetConfig, SqueezeExcitation
from shiftlab.pooling import (
    changes_by_shift,
    row_survival_probability,
    survival_probability,
    surviving,
    surviving_fraction,
)
from shiftlab.training import train_runs
from shiftlab.transforms import Identity, Shift, shift

seeds = st.integers(0, 2**31 - 1)
heavy = settings(max_examples=15)  # each example is a large measurement
odd = st.integers(-4, 3).map(lambda k: 2 * k + 1)
even = st.integers(-4, 4).map(lambda k: 2 * k)


def _noise(seed, n=1000, size=16):
    """1000 noise images of 16 x 16: 64 000 pooled values, more than the 20 000 the claim needs."""
    return gaussian_images(n, size, seed=seed)


@heavy
@given(seeds, odd, even, st.booleans())
def test_an_odd_shift_along_one_axis_keeps_a_third_of_the_pooled_values(seed, d, e, rows):
    t = (d, e) if rows else (e, d)
    x = _noise(seed)
    assert max_pool(x, 2).numel() >= 20_000
    assert abs(surviving_fraction(x, t) - 1 / 3) <= 0.01


@heavy
@given(seeds, odd, odd)
def test_an_odd_shift_along_both_axes_keeps_a_seventh_of_the_pooled_values(seed, dy, dx):
    assert abs(surviving_fraction(_noise(seed), (dy, dx)) - 1 / 7) <= 0.01


@heavy
@given(seeds, st.integers(0, 3), st.integers(0, 3))
def test_the_slider_grid_of_survival_fractions_follows_the_proposition(seed, dy, dx):
    law = float(survival_probability((dy, dx)))
    assert law == {0: 1.0, 1: 1 / 3, 2: 1 / 7}[dy % 2 + dx % 2]
    assert abs(surviving_fraction(_noise(seed), (dy, dx)) - law) <= 0.01


@heavy
@given(seeds, st.sampled_from([3, 4]), st.integers(-5, 5), st.integers(-5, 5))
def test_the_shared_over_union_count_holds_for_larger_windows(seed, size, dy, dx):
    x = gaussian_images(600, 6 * size, seed=seed)
    assert abs(surviving_fraction(x, (dy, dx), size) - survival_probability((dy, dx), size)) \
        <= 0.015


def test_a_spot_moved_inside_its_window_keeps_the_pooled_map_and_across_a_border_does_not():
    spot = torch.zeros(8, 8)
    spot[2, 2] = 1.0
    pooled = max_pool(spot, 2)
    assert torch.equal(max_pool(shift(spot, (0, 1)), 2), pooled)
    assert not torch.equal(max_pool(shift(spot, (0, 2)), 2), pooled)
    assert not torch.equal(max_pool(shift(spot, (0, 2)), 2), max_pool(shift(spot, (0, 1)), 2))


@pytest.mark.parametrize("t", [(0, 1), (1, 1)])
def test_no_whole_8x8_pooled_map_survives_a_one_pixel_shift(t):
    counts = surviving(gaussian_images(2000, 16, seed=3), t).flatten(1).sum(dim=1)
    assert (counts == 64).sum() == 0
    expected = 64 * float(survival_probability(t))
    assert abs(counts.double().mean().item() - expected) <= 0.5
    assert counts.max() < 48


@pytest.mark.parametrize("n", range(2, 7))
def test_whole_rows_survive_with_the_exact_probability_not_the_independent_one(n):
    strips = gaussian_images(20_000, (2, 2 * n), seed=10 + n)
    measured = surviving(strips, (0, 1)).flatten(1).all(dim=1).double().mean().item()
    assert abs(measured - row_survival_probability(n)) <= 0.01
    if n <= 4:  # where the two predictions are more than the tolerance apart
        assert abs(measured - (1 / 3) ** n) > 0.01


def test_a_whole_map_is_five_orders_of_magnitude_likelier_than_independence_and_still_never():
    exact, independent = row_survival_probability(8) ** 8, (1 / 3) ** 64
    assert 5 <= math.log10(exact / independent) < 6
    assert exact < 1e-24
    assert abs(row_survival_probability(40) ** (1 / 40) - 4 / math.pi**2) < 1e-3


@given(seeds, even, even, st.sampled_from([torch.float32, torch.float64]))
def test_a_shift_by_the_stride_moves_the_pooled_map_exactly_for_every_input(seed, dy, dx, dtype):
    x = gaussian_images(50, (8, 12), seed=seed, dtype=dtype)
    assert torch.equal(max_pool(shift(x, (dy, dx)), 2), shift(max_pool(x, 2), (dy // 2, dx // 2)))
    assert surviving(x, (dy, dx)).all()


FEATURES = torch.relu(conv2d(gaussian_images(100, 16, seed=4), random_kernel(4, 1, 3, seed=5)))


@heavy
@given(st.integers(-40, 40), st.integers(-40, 40))
def test_global_pools_of_relu_features_are_exactly_invariant_to_every_shift(dy, dx):
    g = Shift(dy, dx)
    assert torch.equal(global_max_pool(g(FEATURES)), global_max_pool(FEATURES))
    assert fraction_exact(invariance_error(global_avg_pool, FEATURES, g)) == 1.0


def test_the_chapter_measures_the_average_on_features_whose_mean_is_not_near_zero():
    assert global_avg_pool(FEATURES).min() > 0.1


@given(seeds)
def test_a_global_max_pool_absorbs_a_local_max_pool_and_an_average_does_not(seed):
    x = gaussian_images(8, (6, 10), channels=2, seed=seed)
    assert torch.equal(global_max_pool(max_pool(x, 2)), global_max_pool(x))
    assert not torch.equal(global_avg_pool(max_pool(x, 2)), global_avg_pool(x))


@given(seeds)
def test_a_convolution_after_a_global_pool_is_a_linear_layer(seed):
    vector = global_avg_pool(torch.relu(gaussian_images(4, 16, channels=8, seed=seed)))
    assert vector.shape == (4, 8)
    weight = random_kernel(16, 8, 3, seed=seed + 1)
    convolved = conv2d(vector[:, :, None, None], weight, padding="same")
    assert convolved.shape == (4, 16, 1, 1)
    torch.testing.assert_close(convolved[:, :, 0, 0], vector @ weight[:, :, 1, 1].T)
    assert torch.equal(global_avg_pool(convolved), convolved[:, :, 0, 0])


# Where the third does not hold ------------------------------------------------------------------

PHOTO = sample_image(64, dtype=torch.float64)


def test_a_photograph_keeps_fewer_pooled_values_than_noise():
    assert surviving_fraction(PHOTO, (0, 1)) < 0.3
    assert surviving_fraction(PHOTO, (1, 1)) < 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_feature_maps_of_the_photograph_keep_more_than_noise(seed):
    maps = torch.relu(conv2d(PHOTO[None, None], random_kernel(8, 1, 3, seed=seed,
                                                                dtype=torch.float64)))
    assert surviving_fraction(maps, (0, 1)) > 0.4 and surviving_fraction(maps, (1, 1)) > 0.3


@heavy
@given(seeds)
def test_a_zero_fill_translation_keeps_about_0_35_and_0_155_with_8_windows_per_row(seed):
    x = _noise(seed, n=2000)
    assert abs(surviving_fraction(x, (0, 1), zero_fill=True) - 0.35) <= 0.01
    assert abs(surviving_fraction(x, (1, 1), zero_fill=True) - 0.155) <= 0.01


@heavy
@given(seeds)
def test_one_window_high_a_diagonal_shift_is_an_axis_shift(seed):
    x = gaussian_images(2000, (2, 16), seed=seed)
    law = float(survival_probability((1, 1), 2, sides=(2, 16)))
    assert law == 1 / 3 and abs(surviving_fraction(x, (1, 1)) - law) <= 0.01
    assert surviving(x, (1, 0)).all()


@pytest.mark.parametrize("size", [64, 128])
def test_max_pooling_damps_the_change_of_the_photograph_but_does_not_remove_it(size):
    photo = sample_image(size, dtype=torch.float64)
    change = {name: equivariance_error(f, photo, Shift(0, 1), Identity()).item()
              for name, f in [("none", lambda x: x), ("stride", lambda x: x[..., ::2, ::2]),
                              ("pool", lambda x: max_pool(x, 2))]}
    assert change["pool"] < change["none"] < change["stride"]
    assert change["pool"] > 0.5 * change["none"]


# A global pool in the middle: squeeze-and-excitation ----------------------------------------------

@settings(max_examples=25)
@given(seeds, st.integers(-20, 20), st.integers(-20, 20), st.sampled_from([4, 8]))
def test_a_network_with_a_squeeze_excitation_block_is_exactly_equivariant(seed, dy, dx, width):
    x = gaussian_images(4, 12, seed=seed, dtype=torch.float64)
    first = random_kernel(width, 1, 3, seed=seed + 1, dtype=torch.float64)
    second = random_kernel(width, width, 3, seed=seed + 2, dtype=torch.float64)
    block = SqueezeExcitation(width, seed=seed % 1000).double()

    def network(z):
        return torch.relu(conv2d(block(torch.relu(conv2d(z, first))), second))

    with torch.no_grad():
        errors = equivariance_error(network, x, Shift(dy, dx), Shift(dy, dx))
        invariant = invariance_error(lambda z: global_avg_pool(network(z)), x, Shift(dy, dx))
    assert errors.max() <= exact_tolerance(torch.float64)
    assert invariant.max() <= exact_tolerance(torch.float64)


def test_the_squeeze_excitation_block_rescales_channels_by_the_global_average():
    block = SqueezeExcitation(4, seed=0)
    x = torch.rand(3, 4, 5, 5, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = block(x)
        weights = y.flatten(2)[..., 0] / x.flatten(2)[..., 0]
        assert torch.allclose(y, x * weights[:, :, None, None], atol=1e-6)
        assert ((weights > 0) & (weights < 1)).all()
        assert not torch.allclose(block(2 * x), 2 * y)  # the weights depend on the input


def test_channel_weights_read_from_one_pixel_instead_of_a_global_pool_break_the_law():
    x = gaussian_images(2, 8, channels=2, seed=3, dtype=torch.float64)

    def broken(z):  # the weights of the first pixel, not of the global average
        return z * torch.sigmoid(z[..., :1, :1])

    def pooled(z):
        return z * torch.sigmoid(global_avg_pool(z))[..., None, None]

    assert equivariance_error(broken, x, Shift(1, 2), Shift(1, 2)).max() > 1e-3
    assert equivariance_error(pooled, x, Shift(1, 2), Shift(1, 2)).max() <= exact_tolerance(
        torch.float64)


# The classifiers of the chapter, trained as the chapter trains them: five seeds each --------------

CONFIGS = {
    "stride 1": ConvNetConfig(channels=(8, 16), global_pool="max"),
    "stride 2": ConvNetConfig(channels=(8, 16), stride=2, global_pool="max"),
    "max pool": ConvNetConfig(channels=(8, 16), local_pool=True, global_pool="max"),
}
STEPS = torch.arange(5)
BY_4 = (STEPS[:, None] % 4 == 0) & (STEPS[None, :] % 4 == 0)
BY_2 = (STEPS[:, None] % 2 == 0) & (STEPS[None, :] % 2 == 0)


def _train(seeds, epochs=8):
    images, labels = glyph_images(600, 12, noise=0.2, seed=0)
    return {name: train_runs(lambda s, c=config: ConvNet(c, seed=s), seeds, images, labels,
                             epochs=epochs, lr=0.08, batch_size=50)
            for name, config in CONFIGS.items()}


@pytest.fixture(scope="module")
def trained():
    runs = _train((0, 1, 2, 3, 4))
    test_images, test_labels = glyph_images(300, 12, noise=0.2, seed=1)
    changes = {name: changes_by_shift(r.logits, test_images, 5) for name, r in runs.items()}
    return runs, test_images, test_labels, changes


def test_the_three_classifiers_learn_the_task_on_every_seed(trained):
    runs, images, labels, _ = trained
    assert (runs["stride 1"].accuracy(images, labels) >= 0.95).all()
    assert (runs["max pool"].accuracy(images, labels) >= 0.95).all()
    assert (runs["stride 2"].accuracy(images, labels) >= 0.85).all()


def test_the_stride_1_classifier_is_exactly_invariant_on_every_seed(trained):
    predictions, scores = trained[3]["stride 1"]
    assert predictions.max() == 0 and scores.max() == 0


@pytest.mark.parametrize("name", ["stride 2", "max pool"])
def test_strided_classifiers_are_exactly_invariant_on_multiples_of_four(trained, name):
    predictions, scores = trained[3][name]
    assert (scores[:, BY_4] == 0).all() and (predictions[:, BY_4] == 0).all()


def test_the_stride_2_classifier_changes_every_score_off_the_subgroup(trained):
    _, scores = trained[3]["stride 2"]
    assert (scores[:, ~BY_4] == 1).all()


def test_the_max_pool_classifier_is_invariant_to_even_shifts_and_changes_every_odd_one(trained):
    _, scores = trained[3]["max pool"]
    assert (scores[:, BY_2] == 0).all() and (scores[:, ~BY_2] == 1).all()


def test_one_pixel_shifts_change_the_stride_net_more_than_any_shift_the_pool_net(trained):
    changes = trained[3]
    stride = (changes["stride 2"][0][:, 0, 1] + changes["stride 2"][0][:, 1, 0]) / 2
    pool_worst = changes["max pool"][0].flatten(1).amax(dim=1)
    assert 0.03 <= stride.mean() <= 0.2
    assert (pool_worst < stride / 3).all()  # on every seed, not only on average


def test_the_theorems_hold_for_networks_of_seeds_the_chapter_does_not_use():
    runs = _train((20, 21, 22), epochs=1)
    images, _ = glyph_images(64, 12, noise=0.2, seed=7)
    for name, r in runs.items():
        _, scores = changes_by_shift(r.logits, images, 5)
        if name == "stride 1":
            assert scores.max() == 0
        assert (scores[:, BY_4] == 0).all()
        if name == "max pool":
            assert (scores[:, BY_2] == 0).all()


def test_the_max_pool_network_computes_its_first_convolution_at_four_times_the_pixels(trained):
    runs, images, _, _ = trained
    first = {name: conv2d(images, runs[name].model(0).weights[0].detach(),
                          stride=runs[name].template.config.stride)
             for name in ["stride 2", "max pool"]}
    assert first["max pool"][0, 0].numel() == 4 * first["stride 2"][0, 0].numel()
