"""Chapter 10's laws and claims: polyphase upsampling, the encoder–decoders' equivariance (the
subgroup 4Z x 4Z for the stride and for APS with plain upsampling, every circular shift for
APS-U, trained and untrained), the glyph masks, the mean IoU and the price over seeds.

The theorem is tested on seeds the chapter does not use (it uses 0-9): untrained networks on
seeds drawn by hypothesis from 100 on, trained ones on seeds 10-14. Equivariance is measured in
float64 against its rounding bound (``shift_bounds``), as in the chapter.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from shiftlab import integer_images
from shiftlab.restoring import aps_downsample, aps_phase
from shiftlab.segmentation import (
    SegmentationConfig,
    SegmentationNet,
    aps_margins,
    glyph_segmentation,
    mask_changes,
    mean_iou,
    shift_bounds,
    shift_errors,
    upsample,
)
from shiftlab.stride import phase_after_shift, polyphase
from shiftlab.training import train_runs
from shiftlab.transforms import shift

BASELINE = SegmentationConfig("stride", "plain")
APS = SegmentationConfig("aps", "plain")
APS_U = SegmentationConfig("aps", "aps-u")
COMPONENTS = [(0, 0), (0, 1), (1, 0), (1, 1)]
offsets = st.tuples(st.integers(-20, 20), st.integers(-20, 20))


def _in_4z(t):
    return t[0] % 4 == 0 and t[1] % 4 == 0


# Polyphase upsampling: pure data movement, bit for bit ----------------------------------------

@pytest.mark.law
@given(seed=st.integers(0, 10**6), a=st.sampled_from(COMPONENTS), t=offsets)
def test_upsampling_puts_the_map_back_as_its_component_and_follows_shifts_into_another(seed, a,
                                                                                      t):
    y = integer_images(2, (3, 5), channels=2, seed=seed)
    up = upsample(y, a)
    assert up.shape == (2, 2, 6, 10)
    parts = polyphase(up, 2)
    for b in COMPONENTS:
        assert torch.equal(parts[:, :, b[0], b[1]], y if b == a else torch.zeros_like(y))
    a2 = ((a[0] + t[0]) % 2, (a[1] + t[1]) % 2)
    q = ((t[0] + a[0] - a2[0]) // 2, (t[1] + a[1] - a2[1]) // 2)
    assert torch.equal(shift(up, t), upsample(shift(y, q), a2))
    assert phase_after_shift(a2, t, 2) == (a, q)


def test_upsampling_takes_one_component_per_sample():
    y = integer_images(4, 3, seed=1)
    phase = torch.tensor(COMPONENTS)
    up = upsample(y, phase)
    for n, a in enumerate(COMPONENTS):
        assert torch.equal(up[n:n + 1], upsample(y[n:n + 1], a))


# The data -------------------------------------------------------------------------------------

def test_the_masks_mark_the_lit_pixels_of_each_glyph_with_its_class():
    images, masks = glyph_segmentation(64, 16, seed=3)
    clean, same = glyph_segmentation(64, 16, seed=3, noise=0.0)
    assert images.shape == (64, 1, 16, 16) and masks.shape == (64, 16, 16)
    assert masks.dtype == torch.long and set(masks.unique().tolist()) == {0, 1, 2}
    assert torch.equal(same, masks) and torch.equal(clean[:, 0] > 0, masks > 0)
    assert set(clean.unique().tolist()) == {0.0, 1.0}
    # a plus has its centre and its four neighbours lit: 5 pixels a glyph, up to overlaps
    assert 0.04 < (masks > 0).double().mean() < 0.08
    assert torch.equal(glyph_segmentation(64, 16, seed=3)[0], images)  # deterministic


# The networks ---------------------------------------------------------------------------------

def test_the_network_scores_every_pixel_and_its_aps_keeps_what_aps_downsample_keeps():
    x = glyph_segmentation(3, 16, seed=2)[0]
    for config in (BASELINE, APS, APS_U):
        assert SegmentationNet(config, seed=1)(x).shape == (3, 3, 16, 16)
    net = SegmentationNet(APS, seed=1)
    e1 = net._layer(0, x)
    kept, phase = net._down(e1, None)
    assert torch.equal(kept, aps_downsample(e1, 2)) and torch.equal(phase, aps_phase(e1, 2))
    assert torch.equal(net.phases(x)[0], phase)
    # with the phases given, the network computes the same as when it chooses them
    assert torch.equal(net(x, net.phases(x)), net(x))


@pytest.mark.law
@given(seed=st.integers(100, 10**6), t=offsets)
def test_untrained_aps_u_follows_every_circular_shift_within_rounding(seed, t):
    net = SegmentationNet(APS_U, seed=seed).double()
    x = glyph_segmentation(3, 16, seed=seed)[0].double()
    assert (aps_margins(net, x) > 1e-6).all()  # no tie: the theorem applies
    assert (shift_errors(net, x, [t]) <= shift_bounds(net, x, [t])).all()
    assert (mask_changes(net, x, t) == 0).all()


@pytest.mark.law
@given(seed=st.integers(100, 10**6), t=offsets)
def test_untrained_aps_u_follows_every_shift_in_float32_too(seed, t):
    net = SegmentationNet(APS_U, seed=seed)
    x = glyph_segmentation(3, 16, seed=seed)[0]
    assert (aps_margins(net, x) > 1e-4).all()
    assert (shift_errors(net, x, [t]) <= shift_bounds(net, x, [t])).all()


@pytest.mark.law
@given(seed=st.integers(100, 10**6), t=offsets, plain=st.sampled_from([BASELINE, APS]))
def test_stride_and_aps_with_plain_upsampling_follow_the_shifts_of_4z_and_no_others(seed, t,
                                                                                     plain):
    net = SegmentationNet(plain, seed=seed).double()
    x = glyph_segmentation(3, 16, seed=seed)[0].double()
    errors, bounds = shift_errors(net, x, [t]), shift_bounds(net, x, [t])
    if _in_4z(t):
        assert (errors <= bounds).all()
    else:
        assert (errors > 1000 * bounds).all()


def test_a_tie_between_aps_norms_shows_in_the_margin():
    net = SegmentationNet(APS_U, seed=0)
    x = torch.ones(2, 1, 16, 16)  # every component alike: every choice is a tie
    assert (aps_margins(net, x) == 0).all()


@pytest.fixture(scope="module")
def trained():
    """Five seeds the chapter does not use, each network trained as in the chapter, shorter."""
    images, masks = glyph_segmentation(96, 16, seed=20)
    return {config: train_runs(lambda s, c=config: SegmentationNet(c, seed=s), (10, 11, 12, 13,
                                                                                 14),
                               images, masks, epochs=2, lr=0.02, batch_size=32,
                               optimizer="adam")
            for config in (BASELINE, APS_U)}


@pytest.mark.law
def test_trained_aps_u_follows_every_circular_shift_within_rounding(trained):
    x = glyph_segmentation(2, 16, seed=21)[0].double()
    runs = trained[APS_U]
    every = [(dy, dx) for dy in range(16) for dx in range(16)]
    for k in range(len(runs)):
        net = runs.model(k).double()
        shifts = every if k == 0 else every[::7]  # all 256 on one seed, every 7th on the others
        assert (aps_margins(net, x) > 1e-6).all()
        assert (shift_errors(net, x, shifts) <= shift_bounds(net, x, shifts)).all()


@pytest.mark.law
def test_the_trained_baseline_follows_only_the_shifts_of_4z(trained):
    x = glyph_segmentation(4, 16, seed=21)[0].double()
    shifts = [(dy, dx) for dy in range(5) for dx in range(5)]
    inside = torch.tensor([_in_4z(t) for t in shifts])
    runs = trained[BASELINE]
    for k in range(len(runs)):
        net = runs.model(k).double()
        errors, bounds = shift_errors(net, x, shifts), shift_bounds(net, x, shifts)
        assert (errors[inside] <= bounds[inside]).all()
        assert (errors[~inside] > 1000 * bounds[~inside]).all()


def test_the_price_of_aps_u_is_within_the_spread_of_seeds_and_the_networks_learn():
    """The chapter's claim on the mean IoU, on five other seeds (5-9) and other data."""
    train_x, train_y = glyph_segmentation(256, 16, seed=30)
    test_x, test_y = glyph_segmentation(256, 16, seed=31)
    floor = mean_iou(torch.zeros_like(test_y), test_y, 3)  # "background" everywhere
    miou = {}
    for config in (BASELINE, APS, APS_U):
        runs = train_runs(lambda s, c=config: SegmentationNet(c, seed=s), (5, 6, 7, 8, 9),
                          train_x, train_y, epochs=4, lr=0.02, batch_size=32, optimizer="adam")
        miou[config] = torch.tensor([mean_iou(m, test_y, 3)
                                     for m in runs.logits(test_x).argmax(dim=2)])
        assert miou[config].min() > floor  # every seed finds glyphs
    spread = max(v.std() for v in miou.values())
    gap = (miou[APS_U] - miou[BASELINE]).mean()
    assert abs(gap) < 2 * spread


# mean IoU ------------------------------------------------------------------------------------

def test_mean_iou_averages_over_the_classes_present():
    target = torch.tensor([[0, 0, 1, 1]])
    assert mean_iou(target, target, 3) == 1.0
    # class 0: 1 of 2; class 1: 2 of 3; class 2 in neither map: left out
    assert mean_iou(torch.tensor([[0, 1, 1, 1]]), target, 3) == pytest.approx((1 / 2 + 2 / 3) / 2)
    # a class only in the prediction counts with IoU 0
    assert mean_iou(torch.tensor([[0, 0, 1, 2]]), target, 3) == pytest.approx((1 + 1 / 2 + 0) / 3)


# Bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "error", "word"), [
    (lambda: upsample(torch.zeros(2, 2), (0, 0)), ValueError, "y"),
    (lambda: upsample(torch.zeros(1, 1, 2, 2), (2, 0)), ValueError, "phase"),
    (lambda: upsample(torch.zeros(1, 1, 2, 2), (0.5, 0)), TypeError, "phase"),
    (lambda: upsample(torch.zeros(2, 1, 2, 2), torch.zeros(3, 2, dtype=torch.long)),
     ValueError, "phase"),
    (lambda: SegmentationConfig("blur"), ValueError, "down"),
    (lambda: SegmentationConfig("stride", "aps-u"), ValueError, "down='aps'"),
    (lambda: SegmentationConfig(channels=(8,)), ValueError, "channels"),
    (lambda: SegmentationNet(seed=1.5), TypeError, "seed"),
    (lambda: SegmentationNet()(torch.zeros(1, 1, 6, 6)), ValueError, "divisible by 4"),
    (lambda: SegmentationNet()(torch.zeros(1, 2, 8, 8)), ValueError, "channels"),
    (lambda: glyph_segmentation(0), ValueError, "n"),
    (lambda: glyph_segmentation(2, glyphs=0), ValueError, "glyphs"),
    (lambda: glyph_segmentation(2, noise=-1.0), ValueError, "noise"),
    (lambda: shift_errors(SegmentationNet(), torch.zeros(1, 1, 8, 8), []), ValueError, "shifts"),
    (lambda: shift_bounds(torch.relu, torch.zeros(1, 1, 8, 8), [(0, 1)]), TypeError, "net"),
    (lambda: aps_margins(SegmentationNet(), torch.zeros(1, 1, 8, 8)), TypeError, "down='aps'"),
    (lambda: mask_changes(SegmentationNet(), torch.zeros(1, 1, 8, 8), (0.5, 1)), TypeError, "dy"),
    (lambda: mean_iou(torch.zeros(2), torch.zeros(2, dtype=torch.long), 2), TypeError,
     "predicted"),
    (lambda: mean_iou(torch.zeros(2, dtype=torch.long), torch.zeros(3, dtype=torch.long), 2),
     ValueError, "shape"),
    (lambda: mean_iou(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), 2),
     ValueError, "pixel"),
])
def test_bad_input_names_the_argument(call, error, word):
    with pytest.raises(error, match=word):
        call()
