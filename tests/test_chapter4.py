"""The claims chapter 4 (pooling: local and global) states, asserted with tolerances that fail
when a claim is false."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftlab.data import gaussian_images, random_kernel
from shiftlab.glyphs import glyph_images
from shiftlab.layers import conv2d, global_avg_pool, global_max_pool, max_pool
from shiftlab.metrics import fraction_exact, invariance_error
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.pooling import (
    row_survival_probability,
    survival_probability,
    surviving,
    surviving_fraction,
)
from shiftlab.training import accuracy, predict, train
from shiftlab.transforms import Shift, shift

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


# The classifiers of the chapter, trained as the chapter trains them.

CONFIGS = {
    "stride 1": ConvNetConfig(channels=(8, 16), global_pool="max"),
    "stride 2": ConvNetConfig(channels=(8, 16), stride=2, global_pool="max"),
    "max pool": ConvNetConfig(channels=(8, 16), local_pool=True, global_pool="max"),
}


@pytest.fixture(scope="module")
def trained():
    images, labels = glyph_images(600, 12, noise=0.2, seed=0)
    test_images, test_labels = glyph_images(300, 12, noise=0.2, seed=1)
    models = {}
    for name, config in CONFIGS.items():
        models[name] = ConvNet(config, seed=0)
        train(models[name], images, labels, epochs=15, lr=0.05, batch_size=50, seed=0)
    return models, test_images, test_labels


def _changed(model, images, t):
    return (predict(model, shift(images, t)) != predict(model, images)).double().mean().item()


def _scores_changed(model, images, t):
    return 1 - fraction_exact(invariance_error(model, images, Shift(*t)))


def test_the_three_classifiers_learn_the_task(trained):
    models, images, labels = trained
    assert accuracy(models["stride 1"], images, labels) >= 0.95
    assert accuracy(models["max pool"], images, labels) >= 0.95
    assert accuracy(models["stride 2"], images, labels) >= 0.85


@pytest.mark.parametrize("t", [(dy, dx) for dy in range(0, 12, 3) for dx in range(0, 12, 5)])
def test_the_stride_1_classifier_is_exactly_invariant_to_every_shift(trained, t):
    models, images, _ = trained
    assert _scores_changed(models["stride 1"], images, t) == 0
    assert _changed(models["stride 1"], images, t) == 0


@pytest.mark.parametrize("name", ["stride 2", "max pool"])
@pytest.mark.parametrize("t", [(0, 4), (4, 0), (4, 4), (-4, 8), (12, -4)])
def test_strided_classifiers_are_exactly_invariant_on_multiples_of_four(trained, name, t):
    models, images, _ = trained
    assert _scores_changed(models[name], images, t) == 0
    assert _changed(models[name], images, t) == 0


@pytest.mark.parametrize("t", [(0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (2, 2), (3, 1)])
def test_the_stride_2_classifier_changes_every_score_off_the_subgroup(trained, t):
    models, images, _ = trained
    assert _scores_changed(models["stride 2"], images, t) == 1


@pytest.mark.parametrize("t", [(0, 2), (2, 0), (2, 2), (-2, 6)])
def test_the_max_pool_classifier_is_invariant_to_even_shifts_the_global_max_absorbs(trained, t):
    models, images, _ = trained
    assert _scores_changed(models["max pool"], images, t) == 0


@pytest.mark.parametrize("t", [(0, 1), (1, 0), (1, 1), (1, 2)])
def test_the_max_pool_classifier_changes_every_score_under_odd_shifts(trained, t):
    models, images, _ = trained
    assert _scores_changed(models["max pool"], images, t) == 1


def test_one_pixel_shifts_change_predictions_of_the_stride_net_more_than_any_shift_the_pool_net(
        trained):
    models, images, _ = trained
    stride = (_changed(models["stride 2"], images, (0, 1))
              + _changed(models["stride 2"], images, (1, 0))) / 2
    pool_worst = max(_changed(models["max pool"], images, (dy, dx))
                     for dy in range(5) for dx in range(5))
    assert 0.03 <= stride <= 0.3
    assert pool_worst < stride / 3


def test_the_max_pool_network_computes_its_first_convolution_at_four_times_the_pixels(trained):
    models, images, _ = trained
    first = {name: conv2d(images, models[name].weights[0].detach(),
                          stride=models[name].config.stride) for name in ["stride 2", "max pool"]}
    assert first["max pool"][0, 0].numel() == 4 * first["stride 2"][0, 0].numel()

