"""Issue 17, item by item: bad input gets a clear error, never a wrong answer, a hang or a CPU
tensor made for a computation on the input. Each case was wrong before the fix; the fuzz test
(test_fuzz.py) covers every public callable, these name the ones the issue listed."""

import math
import time

import pytest
import torch

import shiftlab
from shiftlab import (
    antialias,
    boundary,
    consistency,
    convolution,
    data,
    layers,
    local_max,
    metrics,
    pooling,
    position,
    quadrant,
    rook,
    stride,
    training,
)
from shiftlab.local_max import WindowNet
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.rook import RookNetConfig

X = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(11))
IMAGE = X[0, 0]


def _nan(x: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[..., 3, 3] = math.nan
    return y


def identity_scores(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1)[:, :2]


SILENTLY_WRONG = [
    # (call, error, words the message must contain): each returned a wrong answer before
    (lambda: antialias.binomial_filter(1100), ValueError, ["size", "1024"]),
    (lambda: antialias.blur(X, size=1100, padding="same"), ValueError, ["size", "1024"]),
    (lambda: data.sample_image(16, torch.int64), TypeError, ["dtype", "int64"]),
    (lambda: stride.zone_plate(16, torch.int64), TypeError, ["dtype"]),
    (lambda: position.coordinate_targets(2, 4, torch.int64), TypeError, ["dtype"]),
    (lambda: layers.edge_kernel(dtype=torch.bool), TypeError, ["dtype"]),
    (lambda: layers.pad(X, (1, 0), "same"), ValueError, ["kernel_size"]),
    (lambda: quadrant.multiply_adds(RookNetConfig(padding="valid"), 3), ValueError, ["size"]),
    (lambda: quadrant.linear_readout(torch.ones(1, 3), torch.tensor([1]), torch.ones(2, 3)),
     ValueError, ["train_features", "2 rows"]),
    (lambda: quadrant.linear_readout(torch.randn(8, 3), torch.arange(8) % 2, torch.ones(2, 3),
                                     ridge=math.nan), ValueError, ["ridge"]),
    (lambda: quadrant.linear_readout(torch.randn(8, 3), torch.arange(8) % 2, torch.ones(2, 3),
                                     ridge=-1.0), ValueError, ["ridge"]),
    (lambda: position.r2_score(torch.zeros(1, 2), torch.zeros(1, 2)), ValueError, ["targets"]),
    (lambda: position.decode_position(torch.randn(1, 3, 1, 1), torch.randn(1, 3, 1, 1)),
     ValueError, ["train_features"]),
    (lambda: position.fit_readout(torch.randn(1, 3), torch.randn(1, 2)), ValueError,
     ["features"]),
    (lambda: position.fit_readout(torch.randn(8, 3), torch.randn(8, 2), ridge=math.inf),
     ValueError, ["ridge"]),
    (lambda: position.fit_readout(_nan(torch.randn(8, 8)), torch.randn(8, 2)), ValueError,
     ["features", "finite"]),
    (lambda: boundary.band_width(_nan(torch.zeros(8, 8))), ValueError, ["error", "finite"]),
    (lambda: stride.best_output_shift(lambda z: z[::2, ::2], _nan(IMAGE), (2, 2)), ValueError,
     ["x", "finite"]),
    (lambda: stride.best_output_shift(lambda z: z[::2, ::2] * math.nan, IMAGE, (2, 2)),
     ValueError, ["f(x)", "finite"]),
    (lambda: consistency.consistency(identity_scores, _nan(X)), ValueError, ["images"]),
    (lambda: consistency.consistency(lambda x: identity_scores(x) * math.nan, X), ValueError,
     ["model"]),
    (lambda: training.accuracy(lambda x: identity_scores(x) * math.nan, X, torch.tensor([0, 1])),
     ValueError, ["model"]),
    (lambda: metrics.relative_error(X, X, batched="False"), TypeError, ["batched"]),
    (lambda: WindowNet(channels=(4, 2), head="invariant", seed="0"), TypeError, ["seed"]),
    (lambda: ConvNetConfig(local_pool="False"), TypeError, ["local_pool"]),
    (lambda: RookNetConfig(bias="False"), TypeError, ["bias"]),
    (lambda: data.glyph_images(4, wrap="False"), TypeError, ["wrap"]),
    (lambda: pooling.surviving(X, (1, 0), zero_fill="False"), TypeError, ["zero_fill"]),
    (lambda: consistency.consistency(identity_scores, X, kind="crop"), ValueError, ["margin"]),
    (lambda: training.train(ConvNet(ConvNetConfig(channels=(2,))), X, torch.tensor([0, 1]),
                            epochs=1, lr=math.inf), ValueError, ["lr"]),
    (lambda: training.train(ConvNet(ConvNetConfig(channels=(2,))), X, torch.tensor([0, 1]),
                            epochs=1, momentum=math.inf), ValueError, ["momentum"]),
    (lambda: data.glyph_images(4, noise=math.inf), ValueError, ["noise"]),
    (lambda: rook.train_rook_runs("same", (0,), epochs=1, lr=math.inf), ValueError, ["lr"]),
]

HANGS = [
    # each ran for minutes (or asked for terabytes) before: refused at once, with its bound
    (lambda: antialias.blur(X, size=10**6), ValueError, ["size", "1024"]),
    (lambda: antialias.binomial_filter(10**6), ValueError, ["size", "1024"]),
    (lambda: pooling.changes_by_shift(identity_scores, X, 300), ValueError, ["size", "8"]),
    (lambda: convolution.zoom(X, 10**6), ValueError, ["factor", "64"]),
    (lambda: convolution.zoom(torch.zeros(2, 1, 2048, 2048), 8), ValueError, ["factor"]),
    (lambda: data.gaussian_images(10**6, 64), ValueError, ["n", "values"]),
    (lambda: local_max.centred_windows(10**7), ValueError, ["n"]),
    (lambda: training.rate_interval(3, 10**6), ValueError, ["runs"]),
]

RAW_ERRORS = [
    # a raw AttributeError, IndexError, OverflowError, ... or a message naming the wrong argument
    (lambda: ConvNet(ConvNetConfig(channels=(2,)))(X.double()), TypeError, ["x", "float32"]),
    (lambda: quadrant.border_sweep((0,), train_patches=torch.zeros(4, 5), seeds=(0,),
                                   test_patches=torch.zeros(4, 6, 6)), ValueError,
     ["train_patches"]),
    (lambda: shiftlab.train_runs(lambda s: ConvNet(), "01", X, torch.tensor([0, 1]), epochs=1),
     ValueError, ["seeds"]),
    (lambda: rook.train_rook_experiment(3), ValueError, ["paddings"]),
    (lambda: data.random_kernel(seed=2**63), ValueError, ["seed", "64 bits"]),
    (lambda: shiftlab.shift(IMAGE, (2**63, 0)), ValueError, ["dy"]),
    (lambda: training.rate_interval(3, 2000), ValueError, ["runs"]),
    (lambda: quadrant.BorderSweep((0,), ("same",), RookNetConfig(), (0,), {}).mean("x", "same"),
     ValueError, ["training"]),
    (lambda: rook.RookRuns("same", "fixed", (0,), *[torch.zeros(2, 1, 2)] * 4).net(5),
     ValueError, ["run"]),
    (lambda: metrics.fraction_exact(torch.tensor([math.nan, 0.0])), ValueError, ["errors"]),
]


def _consistency_table_with_bad_scenes():
    from shiftlab.restoring import DownsamplingConfig
    train = (torch.randn(8, 1, 8, 8), torch.arange(8) % 2)
    return consistency.consistency_table(
        {"stride": DownsamplingConfig(channels=(2,))}, train, train, torch.zeros(2, 1, 3, 3),
        margin=2, epochs=50, seeds=(0,))


@pytest.mark.parametrize(("call", "error", "words"), SILENTLY_WRONG + HANGS + RAW_ERRORS)
def test_bad_input_raises_an_error_naming_the_argument(call, error, words):
    start = time.perf_counter()
    with pytest.raises(error) as raised:
        call()
    for word in words:
        assert word in str(raised.value), (word, str(raised.value))
    assert time.perf_counter() - start < 2.0, "the check must come before the work"


def test_consistency_table_refuses_its_scenes_before_training_anything():
    start = time.perf_counter()
    with pytest.raises(ValueError, match="scenes"):
        _consistency_table_with_bad_scenes()
    assert time.perf_counter() - start < 2.0  # 50 epochs of training would take longer


def test_binomial_filter_is_finite_up_to_its_largest_size():
    taps = antialias.binomial_filter(antialias.MAX_TAPS, torch.float64)
    assert bool(torch.isfinite(taps).all())
    assert abs(float(taps.sum()) - 1) < 1e-12


def test_functions_that_take_images_work_on_the_inputs_device():
    """A meta tensor (shape and dtype, no data, no GPU needed) stands for a GPU tensor: the
    functions the issue listed return meta tensors, with no CPU tensor made along the way."""
    meta = X.to("meta")
    w = torch.randn(1, 1, 3, 3).to("meta")
    outputs = {
        "fft_conv2d": convolution.fft_conv2d(meta, w),
        "shift_each": consistency.shift_each(meta, torch.tensor([[1, 2], [0, 1]]).to("meta")),
        "crop_each": consistency.crop_each(torch.zeros(2, 1, 12, 12, device="meta"),
                                           torch.tensor([[1, 2], [0, 1]], device="meta"), 2),
        "influence_mask": boundary.influence_mask(lambda z: z * 2, meta, (3, 4)),
        "fit_readout": position.fit_readout(torch.randn(8, 3, device="meta"),
                                            torch.randn(8, 2, device="meta")).weight,
        "linear_readout": quadrant.linear_readout(
            torch.randn(8, 3, device="meta"), torch.zeros(8, dtype=torch.long, device="meta"),
            torch.randn(2, 3, device="meta")),
        "place": rook.place(torch.ones(3, 3, device="meta"), 8, (0, 0)),
        "blur": antialias.blur(meta),
        "blur_pool": antialias.blur_pool(meta),
        "ideal_lowpass": antialias.ideal_lowpass(meta),
        "hand_built_detector": local_max.hand_built_detector(meta),
        "sequential_sum": metrics.sequential_sum(torch.randn(3, 4, device="meta")),
        "above_nyquist": stride.above_nyquist(meta, 2),
    }
    for name, out in outputs.items():
        assert out.device.type == "meta", name


def test_functions_that_read_values_refuse_a_meta_tensor_by_name():
    with pytest.raises(ValueError, match="x must hold values"):
        antialias.aliased_energy(X.to("meta"))
    with pytest.raises(ValueError, match="images must hold values"):
        consistency.consistency(identity_scores, X.to("meta"))
