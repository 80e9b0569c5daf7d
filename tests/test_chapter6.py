"""The claims chapter 6 (the rook experiment) states, on the chapter's own data and on random
inputs, asserted with tolerances that fail when a claim is false."""

import functools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from shiftlab.data import sample_image
from shiftlab.glyphs import GLYPHS
from shiftlab.layers import conv2d
from shiftlab.quadrant import (
    CANVAS,
    PAPER_BORDERS,
    PAPER_QUADRANT,
    PATCH,
    border_sweep,
    fit,
    multiply_adds,
    photo_patches,
    quadrant_images,
)
from shiftlab.rook import (
    PAPER_SAME_RUNS,
    RookNet,
    RookNetConfig,
    corner_pair,
    pooled_features,
    rook_images,
    rook_patch,
    single_thread,
    train_rook_experiment,
    train_rook_runs,
)
from shiftlab.training import accuracy, train
from shiftlab.transforms import translate

heavy = settings(max_examples=20)
SEEDS = (0, 1, 2, 3, 4)


@functools.cache
def experiment():
    """The chapter's training: the paper's recipe, five seeds, four paddings at once."""
    return train_rook_experiment(("valid", "same", "full", "circular"), SEEDS)


def runs(padding):
    return experiment()[padding]


# The rook images -------------------------------------------------------------------------------

def test_the_rook_patch_is_16_by_13_with_ink_on_all_four_sides():
    patch = rook_patch()
    assert patch.shape == (16, 13)
    assert patch.min() >= 0 and patch.max() <= 1
    for side in (patch[0], patch[-1], patch[:, 0], patch[:, -1]):
        assert side.max() > 0.5
    assert torch.equal(patch, rook_patch())


def test_the_rook_has_battlements_on_top_and_a_solid_body():
    patch = rook_patch()
    top = patch[0]
    ink = (top > 0.5).int()
    assert (ink[1:] - ink[:-1]).clamp(min=0).sum() >= 2  # at least 3 merlons, 2 gaps between
    assert patch[4:11, 4:9].min() > 0.9                     # the body is filled


def test_the_bottom_right_image_is_the_top_left_one_translated():
    images, labels = rook_images()
    assert images.shape == (2, 1, 32, 32) and labels.tolist() == [0, 1]
    assert torch.equal(images[1, 0], translate(images[0, 0], (16, 19)))
    assert images[0, 0, :16, :13].equal(rook_patch())


@given(st.integers(0, 5))
def test_a_border_adds_black_pixels_on_all_four_sides(border):
    images, _ = rook_images(border=border)
    side = 32 + 2 * border
    assert images.shape == (2, 1, side, side)
    inner = images[..., border:side - border, border:side - border]
    assert torch.equal(inner, rook_images()[0])
    outside = images.clone()
    outside[..., border:side - border, border:side - border] = 0
    assert (outside == 0).all()


# The network and its training -------------------------------------------------------------------

def test_the_rook_network_is_conv_relu_global_max_linear_with_29_numbers():
    net = RookNet(seed=3)
    assert sum(p.numel() for p in net.parameters()) == 29
    conv = torch.nn.Conv2d(1, 1, 5, padding=2, bias=False)
    head = torch.nn.Linear(1, 2)
    with torch.no_grad():
        conv.weight.copy_(net.weights[0])
        head.load_state_dict(net.head.state_dict())
    images, _ = rook_images()
    reference = head(torch.relu(conv(images)).amax(dim=(-2, -1)))
    assert torch.allclose(net(images), reference, atol=1e-6)


def test_stacked_training_is_the_courses_train_with_batch_size_1():
    images, labels = rook_images()
    stacked = train_rook_runs("same", (0, 3), epochs=30)
    for k, seed in enumerate((0, 3)):
        net = RookNet(RookNetConfig(padding="same"), seed=seed)
        with single_thread():
            train(net, images, labels, epochs=30, lr=0.1, batch_size=1, momentum=0.9,
                  seed=seed)
        assert torch.allclose(net.weights[0][0, 0], stacked.filters[-1, k], atol=1e-5)
        assert torch.allclose(net.head.bias, stacked.heads[-1, k][:, 1], atol=1e-5)
        assert accuracy(net, images, labels) == stacked.accuracy[-1, k]


@pytest.mark.parametrize("padding", ["valid", "same", "full", "circular"])
def test_training_all_paddings_at_once_is_training_each_on_its_own(padding):
    alone = train_rook_runs(padding, SEEDS)
    assert torch.allclose(alone.filters, runs(padding).filters, atol=1e-4)
    assert torch.equal(alone.accuracy, runs(padding).accuracy)


def test_same_padding_separates_the_rook_images_in_every_run_like_the_paper():
    final = runs("same").accuracy[-1]
    assert int((final == 1).sum()) == PAPER_SAME_RUNS[0] == 5
    first_perfect = (runs("same").accuracy == 1).double().argmax(0)
    assert first_perfect.max() <= 29  # the chapter's "at 100% by epoch ..."


def test_valid_convolution_separates_them_too():
    assert (runs("valid").accuracy[-1] == 1).all()


@pytest.mark.parametrize("padding", ["full", "circular"])
def test_full_and_circular_padding_stay_at_exactly_50_percent_at_every_epoch(padding):
    history = runs(padding)
    assert (history.accuracy == 0.5).all()
    assert torch.equal(history.pooled[..., 0], history.pooled[..., 1])


def test_same_padding_leaves_a_gap_between_the_pooled_features_of_every_run():
    pooled = runs("same").pooled[-1]
    assert (pooled[:, 0] - pooled[:, 1]).abs().min() > 1.0
    assert not torch.equal(runs("valid").pooled[..., 0], runs("valid").pooled[..., 1])


def test_reflect_padding_separates_in_four_runs_and_one_run_dies():
    history = train_rook_runs("reflect", SEEDS)
    final = history.accuracy[-1]
    assert int((final == 1).sum()) == 4
    dead = int((final == 0.5).nonzero()[0])
    assert (history.pooled[-1, dead] == 0).all()  # the ReLU never fires: no gradient


# The theorem: translated images, equal pooled features ------------------------------------------

@st.composite
def translated_pairs(draw):
    """An image zero outside a box, and its translate with the box still inside: (2, 1, H, W)."""
    height, width = draw(st.integers(6, 16)), draw(st.integers(6, 16))
    h, w = draw(st.integers(1, height)), draw(st.integers(1, width))
    first = (draw(st.integers(0, height - h)), draw(st.integers(0, width - w)))
    second = (draw(st.integers(0, height - h)), draw(st.integers(0, width - w)))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    content = torch.randn(h, w, generator=generator, dtype=torch.float64)
    images = torch.zeros(2, 1, height, width, dtype=torch.float64)
    for n, (i, j) in enumerate((first, second)):
        images[n, 0, i:i + h, j:j + w] = content
    return images, draw(st.integers(0, 2**31 - 1))


def _sorted_maps(images, weight, padding):
    return torch.relu(conv2d(images, weight, padding=padding)).flatten(1).sort(dim=1).values


@heavy
@given(translated_pairs(), st.sampled_from([1, 2, 3, 5]))
def test_full_convolution_gives_translated_images_the_same_feature_values(pair, k):
    images, seed = pair
    weight = torch.randn(3, 1, k, k, generator=torch.Generator().manual_seed(seed),
                         dtype=torch.float64)
    values = _sorted_maps(images, weight, "full")
    assert torch.allclose(values[0], values[1], rtol=0, atol=1e-12)
    pooled = pooled_features(weight, images, "full")
    assert torch.allclose(pooled[:, 0], pooled[:, 1], rtol=0, atol=1e-12)


@heavy
@given(translated_pairs(), st.sampled_from([1, 3, 5]))
def test_circular_padding_gives_translated_images_the_same_feature_values(pair, k):
    images, seed = pair
    if k > min(images.shape[-2:]):
        k = 1
    weight = torch.randn(2, 1, k, k, generator=torch.Generator().manual_seed(seed),
                         dtype=torch.float64)
    values = _sorted_maps(images, weight, "circular")
    assert torch.allclose(values[0], values[1], rtol=0, atol=1e-12)


def test_the_rook_images_give_equal_pooled_features_bit_for_bit_for_random_filters():
    images, _ = rook_images()
    filters = torch.randn(300, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    for padding in ("full", "circular"):
        pooled = pooled_features(filters, images, padding)
        assert torch.equal(pooled[:, 0], pooled[:, 1])
    same = pooled_features(filters, images, "same")
    assert not torch.equal(same[:, 0], same[:, 1])


def test_the_chapters_random_filter_sorts_to_the_same_values_except_under_same_padding():
    images, _ = rook_images()
    w = torch.randn(1, 1, 5, 5, generator=torch.Generator().manual_seed(7))
    for padding, agree in [("same", False), ("full", True), ("circular", True)]:
        values = _sorted_maps(images, w, padding)
        assert torch.equal(values[0], values[1]) == agree


# What the same-padded filter learns ---------------------------------------------------------------

def test_seed_0_learns_the_top_edge_seen_from_two_rows_above():
    history = runs("same")
    learned = history.filters[-1, 0]
    assert (learned[4, 1:4] > 0).all() and (learned[:4] < 0).all()
    images, _ = rook_images()
    maps = history.net(0).features(images).detach()[:, 0]
    assert maps[0].max() == 0
    assert divmod(int(maps[1].argmax()), 32)[0] == 16 - 2


def test_every_learned_filter_fires_on_one_image_only():
    pooled = runs("same").pooled[-1]
    assert ((pooled == 0).sum(dim=1) == 1).all()


def test_other_seeds_use_the_base_from_below_and_the_top_left_corner():
    images, _ = rook_images()
    history = runs("same")
    peaks = {}
    for seed in (2, 4):
        maps = history.net(seed).features(images).detach()[:, 0]
        fired = int(maps.amax(dim=(-2, -1)).argmax())
        peaks[seed] = (fired, divmod(int(maps[fired].argmax()), 32))
    assert peaks[2][0] == 0 and peaks[2][1][0] == 15 + 2     # two rows below the base
    assert peaks[4] == (1, (16 - 2, 19 - 2))                  # up and left of the corner


# The quadrant experiment --------------------------------------------------------------------------

def test_train_and_test_crops_come_from_disjoint_halves_of_the_photograph():
    photo = sample_image(96)
    windows = {half: photo[:, 48 * half:48 * (half + 1)].unfold(0, PATCH, 1)
               .unfold(1, PATCH, 1).reshape(-1, PATCH, PATCH) for half in (0, 1)}

    def found(patch, half):
        return bool((windows[half] == patch).flatten(1).all(dim=1).any())

    for split, half in (("train", 0), ("test", 1)):
        for patch in photo_patches(8 if split == "train" else 64, split=split,
                                   seed=0 if split == "train" else 1):
            assert found(patch, half) and not found(patch, 1 - half)


def test_quadrant_images_hold_every_crop_in_both_corners():
    patches = photo_patches(3, seed=2)
    images, labels = quadrant_images(patches, border=2)
    assert images.shape == (6, 1, CANVAS + 4, CANVAS + 4)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    for n, patch in enumerate(patches):
        assert torch.equal(images[n:n + 4:3], corner_pair(patch, CANVAS, 2))


@st.composite
def bias_free_networks(draw):
    layers = draw(st.integers(1, 3))
    k = draw(st.sampled_from([3, 5]))
    channels = tuple(draw(st.integers(1, 4)) for _ in range(layers))
    return RookNetConfig(channels, k), draw(st.integers(0, 1000))


def _same_values(maps, half):
    values = maps.flatten(2).sort(dim=-1).values
    return torch.allclose(values[:half], values[half:], rtol=0, atol=1e-5)


@heavy
@given(bias_free_networks(), st.integers(0, 2))
def test_beyond_the_reach_same_padding_gives_both_corners_the_same_values(network, extra):
    config, seed = network
    patches = photo_patches(2, split="test", seed=seed)
    images, _ = quadrant_images(patches, border=config.receptive_radius + extra)
    assert _same_values(RookNet(config, seed=seed).features(images).detach(), 2)


@heavy
@given(bias_free_networks(), st.integers(0, 4))
def test_full_convolution_gives_both_corners_the_same_values_at_every_border(network, border):
    config, seed = network
    config = RookNetConfig(config.channels, config.kernel_size, "full")
    images, _ = quadrant_images(photo_patches(2, split="test", seed=seed), border=border)
    assert _same_values(RookNet(config, seed=seed).features(images).detach(), 2)


def test_within_the_reach_same_padding_gives_the_corners_different_values():
    config = RookNetConfig((4, 4, 8), 3)
    images, _ = quadrant_images(photo_patches(4, split="test", seed=0),
                                border=config.receptive_radius - 1)
    assert not _same_values(RookNet(config, seed=0).features(images).detach(), 4)


@functools.cache
def chapter_sweep():
    """The chapter's sweep, with the chapter's sizes."""
    return border_sweep((0, 1, 2, 3, 4), ("same", "full"),
                        config=RookNetConfig((4, 4, 8), 3),
                        train_patches=photo_patches(8, split="train", seed=0),
                        test_patches=photo_patches(64, split="test", seed=1),
                        steps=30, lr=0.03, seed=0, show_progress=False)


def test_the_sweep_falls_to_exactly_chance_from_the_reach_on():
    sweep = chapter_sweep()
    reach = sweep.config.receptive_radius
    assert reach == 3
    for training in ("from scratch", "frozen random"):
        same = sweep.accuracy[training]["same"]
        assert all(a == 0.5 for b, a in zip(sweep.borders, same, strict=True) if b >= reach)
        assert all(a == 0.5 for a in sweep.accuracy[training]["full"])


def test_within_the_reach_the_corners_are_told_apart():
    sweep = chapter_sweep()
    assert min(sweep.accuracy["from scratch"]["same"][:3]) > 0.9
    frozen = sweep.accuracy["frozen random"]["same"]
    assert frozen[0] > 0.75 and frozen[2] > 0.5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_training_from_scratch_within_the_reach_is_robust_to_the_seed(seed):
    config = RookNetConfig((4, 4, 8), 3)
    train_images, train_labels = quadrant_images(photo_patches(8, seed=0), border=2)
    test_images, test_labels = quadrant_images(photo_patches(64, split="test", seed=1),
                                               border=2)
    with single_thread():
        net = RookNet(config, seed=seed)
        fit(net, train_images, train_labels, steps=30, lr=0.03)
    assert accuracy(net, test_images, test_labels) > 0.9


# Beside the paper ---------------------------------------------------------------------------------

def test_the_papers_numbers_quoted_in_the_prose():
    def last_above(row):
        return max(b for b, a in zip(PAPER_BORDERS, row, strict=True) if a > 51)

    bagnet = PAPER_QUADRANT["BagNet-33"]
    assert min(b for b, a in zip(PAPER_BORDERS, bagnet, strict=True) if a <= 51) == 32
    assert bagnet[PAPER_BORDERS.index(16)] == 96
    assert last_above(PAPER_QUADRANT["ResNet-18"]) == 128
    assert last_above(PAPER_QUADRANT["DenseNet-121"]) == 256


@pytest.mark.parametrize("padding", ["same", "full", "valid"])
def test_multiply_adds_counts_what_pytorch_counts(padding):
    config = RookNetConfig((4, 4, 8), 3, padding)
    net = RookNet(config)
    with FlopCounterMode(display=False) as counter:
        net.features(torch.zeros(1, 1, 20, 20))
    assert 2 * multiply_adds(config, 20) == counter.get_total_flops()


def test_one_resnet18_pass_on_the_papers_largest_image_outweighs_our_whole_sweep():
    resnet18 = 1.8e9 * ((120 + 2 * 512) / 224) ** 2
    ours = sum(
        multiply_adds(RookNetConfig((4, 4, 8), 3, p), CANVAS + 2 * b)
        * (3 * 30 * 16 + 2 * 2 * (8 + 64))
        for p in ("same", "full") for b in range(5))
    assert 10 < resnet18 / ours < 30


# Data efficiency does not show at this scale ------------------------------------------------------

def _glyph_data(n, seed, size=16, noise=0.3):
    """Glyphs (plus or cross) at random positions wholly inside the image, with noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=generator)
    corners = torch.randint(0, size - 2, (n, 2), generator=generator)
    images = noise * torch.randn(n, 1, size, size, generator=generator)
    stamps = list(GLYPHS.values())
    for k in range(n):
        i, j = corners[k].tolist()
        images[k, 0, i:i + 3, j:j + 3] += stamps[labels[k]]
    return images, labels


def test_with_few_samples_full_minus_same_is_within_the_spread_between_seeds():
    test_images, test_labels = _glyph_data(500, seed=999)
    scores = {"same": [], "full": []}
    with single_thread():
        for seed in range(6):
            images, labels = _glyph_data(8, seed=seed)
            for padding, row in scores.items():
                net = RookNet(RookNetConfig((8, 8), 3, padding), seed=seed)
                fit(net, images, labels, steps=150, lr=0.02)
                row.append(accuracy(net, test_images, test_labels))
    same, full = torch.tensor(scores["same"]), torch.tensor(scores["full"])
    assert (full - same).mean().abs() < same.std()
    assert F.relu(same - 0.5).mean() > 0.1  # the networks learn something
