"""Argument validation of chapter 7's modules: antialias, aps, consistency, downsampling and
their figures. Each bad call raises TypeError or ValueError naming the argument and saying
what was expected and what came."""

import pytest
import torch
import torch.nn.functional as F

from shiftlab.antialias import (
    aliased_energy,
    binomial_aliasing,
    binomial_filter,
    blur,
    blur_pool,
    frequency_response,
    ideal_lowpass,
)
from shiftlab.consistency import consistency, consistency_table, crop_each, glyph_scenes, shift_each
from shiftlab.data import glyph_images
from shiftlab.figures.restoring import (
    aliasing_figure,
    consistency_bars,
    downsampling_explorer,
    gain_curves,
)
from shiftlab.layers import pad
from shiftlab.restoring import (
    DownsamplingConfig,
    DownsamplingNet,
    aps_downsample,
    aps_output_shift,
    aps_phase,
    median_split,
)
from shiftlab.stride import component_norms

X = torch.zeros(1, 1, 8, 8)
LONG = torch.long


def identity(z):
    return z


BAD_CALLS = [
    (lambda: binomial_filter(0), ValueError, "size must be >= 1, got 0"),
    (lambda: binomial_filter(2.5), TypeError, "size must be an int, got float"),
    (lambda: binomial_filter(3, torch.int64), TypeError, "floating-point torch.dtype"),
    (lambda: blur(X, padding="full"), ValueError, "padding must be one of .*got 'full'"),
    (lambda: blur(X, size=9), ValueError, r"at most the image size \(8, 8\).*got 9"),
    (lambda: blur([[1.0]]), TypeError, "x must be a torch.Tensor"),
    (lambda: blur_pool(X, 0), ValueError, "s must be >= 1, got 0"),
    (lambda: frequency_response(torch.ones(3, 3)), ValueError, r"taps must have shape \(k,\)"),
    (lambda: frequency_response(torch.ones(3, dtype=LONG)), TypeError, "floating-point"),
    (lambda: frequency_response(torch.ones(8), n=4), ValueError, "at least the number of taps"),
    (lambda: aps_downsample(torch.zeros(7, 8)), ValueError, r"divisible by s = 2.*\(7, 8\)"),
    (lambda: aps_downsample(X, 0), ValueError, "s must be >= 1, got 0"),
    (lambda: aps_phase(torch.zeros(2, 8, 8)), ValueError, r"\(H, W\) or \(N, C, H, W\)"),
    (lambda: aps_output_shift(X, (1, 1)), ValueError, r"x must have shape \(H, W\)"),
    (lambda: aps_output_shift(X[0, 0], 1), TypeError, r"t must be a pair of ints"),
    (lambda: component_norms(torch.zeros(8, 8, dtype=LONG)), TypeError, "floating-point"),
    (lambda: shift_each(X, torch.zeros(2, 2, dtype=LONG)), ValueError,
     r"shifts must have shape \(1, 2\).*got \(2, 2\)"),
    (lambda: shift_each(X, torch.zeros(1, 2)), TypeError, "shifts must be a torch.long"),
    (lambda: crop_each(X, torch.zeros(1, 2, dtype=LONG), 5), ValueError,
     "margin must satisfy .*got 5"),
    (lambda: crop_each(X, torch.tensor([[3, 0]]), 2), ValueError, "<= margin = 2"),
    (lambda: consistency(identity, X, kind="rotate"), ValueError, "kind must be one of"),
    (lambda: consistency(3, X), TypeError, "model must be callable"),
    (lambda: consistency(identity, X, pairs=0), ValueError, "pairs must be >= 1"),
    (lambda: glyph_scenes(4, 12, -1), ValueError, "so that the glyph fits in every view"),
    (lambda: glyph_scenes(4, 12, 2, noise=-1), ValueError, "noise must be >= 0"),
    (lambda: consistency_table({}, None, None, None, margin=1, epochs=1), ValueError,
     "variants must name at least one"),
    (lambda: consistency_table({"a": 1}, None, None, None, margin=1, epochs=1), TypeError,
     r"variants\['a'\] must be a DownsamplingConfig"),
    (lambda: aliased_energy(X), ValueError, "all zeros"),
    (lambda: aliased_energy([[1.0]]), TypeError, "x must be a torch.Tensor"),
    (lambda: binomial_aliasing(3, 30), ValueError, "multiple of 4"),
    (lambda: binomial_aliasing(0, 32), ValueError, "size must be >= 1"),
    (lambda: ideal_lowpass(torch.zeros(8, 8, dtype=LONG)), TypeError, "floating-point"),
    (lambda: aliasing_figure([], {}), ValueError, "must not be empty"),
    (lambda: glyph_images(4, wrap=1), TypeError, "wrap must be a bool"),
    (lambda: DownsamplingConfig("max"), ValueError, "downsample must be one of .*got 'max'"),
    (lambda: DownsamplingConfig(padding="valid"), ValueError, "padding must be one of"),
    (lambda: DownsamplingConfig(channels=(4, 0)), ValueError, "channels must be positive"),
    (lambda: DownsamplingConfig(blur_size=0), ValueError, "blur_size must be >= 1"),
    (lambda: DownsamplingNet(DownsamplingConfig("aps", "circular"))(torch.zeros(1, 1, 6, 6)),
     ValueError, "APS needs feature maps with even sides"),
    (lambda: DownsamplingNet()(torch.zeros(1, 2, 8, 8)), ValueError,
     r"in_channels = 1 channels \(axis 1\), got shape \(1, 2, 8, 8\)"),
    (lambda: median_split(torch.nn.Linear(2, 2), X), TypeError, "model.head with 2 outputs"),
    (lambda: gain_curves({}), ValueError, "curves must name at least one"),
    (lambda: downsampling_explorer(X[0, 0], {}, [(0, 0)]), ValueError, "must not be empty"),
    (lambda: downsampling_explorer(X[0, 0], {"a": 3}, [(0, 0)]), TypeError,
     r"downsamplers\['a'\] must be callable"),
    (lambda: consistency_bars({}, []), ValueError, "rows and columns must not be empty"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_CALLS)
def test_chapter_7_functions_refuse_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("padding", ["circular", "same", "reflect"])
@pytest.mark.parametrize("side", [2, 8, 16])
def test_blur_pool_with_b2_at_stride_2_is_the_2x2_average_pool(padding, side):
    # on even sides the pad of b_2 falls after the last stride-2 window: the fast path
    # (avg_pool2d alone) reads the general path's windows; small integers make each window's
    # average exact in any order of additions, so the comparison is bit for bit on any CPU
    x = torch.randint(-8, 9, (3, 2, side, side),
                      generator=torch.Generator().manual_seed(side)).float()
    general = F.avg_pool2d(pad(x, (2, 2), padding), 2, stride=2)
    assert torch.equal(blur_pool(x, 2, 2, padding), general)
    assert torch.equal(blur_pool(x[0, 0], 2, 2, padding), general[0, 0])
    # odd sides keep the general path: the last window reads the padding
    if side > 2:
        odd = x[..., :-1, :-1]
        assert torch.equal(blur_pool(odd, 2, 2, padding),
                           F.avg_pool2d(pad(odd, (2, 2), padding), 2, stride=2))
