"""Bad input fails at once with a TypeError or ValueError that names the argument."""

import re

import matplotlib.pyplot as plt
import pytest
import torch

import shiftlab
from shiftlab import data, layers, metrics, transforms
from shiftlab.figures import sliders

IMAGE = torch.zeros(4, 4)
BATCH = torch.zeros(2, 1, 4, 4)

CASES = [
    # (call, error, a word the message must contain)
    (lambda: transforms.shift([[1.0]], (1, 0)), TypeError, "x"),
    (lambda: transforms.shift(torch.zeros(2, 4, 4), (1, 0)), ValueError, "x"),
    (lambda: transforms.shift(torch.zeros(0, 4), (1, 0)), ValueError, "empty"),
    (lambda: transforms.shift(IMAGE, (1.0, 0)), TypeError, "dy"),
    (lambda: transforms.shift(IMAGE, (1, 0.5)), TypeError, "dx"),
    (lambda: transforms.shift(IMAGE, 1), TypeError, "t"),
    (lambda: transforms.shift(IMAGE, (1, 2, 3)), TypeError, "t"),
    (lambda: transforms.shift(IMAGE.bool(), (1, 0)), TypeError, "dtype"),
    (lambda: transforms.translate(torch.zeros(3), (1, 0)), ValueError, "x"),
    (lambda: transforms.translate(IMAGE, (True, 0)), TypeError, "dy"),
    (lambda: transforms.translate(IMAGE.to(torch.complex64), (1, 0)), TypeError, "dtype"),
    (lambda: transforms.center_crop(IMAGE, 2), ValueError, "margin"),
    (lambda: transforms.center_crop(IMAGE, -1), ValueError, "margin"),
    (lambda: transforms.crop_shift(IMAGE, (2, 0), 1), ValueError, "margin"),
    (lambda: transforms.crop_shift(IMAGE, (0, 0), 1.0), TypeError, "margin"),
    (lambda: transforms.Shift(1.5, 0), TypeError, "dy"),
    (lambda: transforms.CropShift(3, 0, 1), ValueError, "margin"),
    (lambda: metrics.equivariance_error("f", IMAGE, transforms.Shift(1, 0)), TypeError, "f"),
    (lambda: metrics.equivariance_error(torch.relu, IMAGE.long(), transforms.Shift(1, 0)),
     TypeError, "x"),
    (lambda: metrics.equivariance_error(torch.relu, torch.zeros(3, 4, 4), transforms.Shift(1, 0)),
     ValueError, "x"),
    (lambda: metrics.equivariance_error(torch.relu, IMAGE, (1, 0)), TypeError, "g"),
    (lambda: metrics.equivariance_error(torch.relu, IMAGE, transforms.Shift(1, 0), 3),
     TypeError, "g_out"),
    (lambda: metrics.equivariance_error(lambda x: x.long(), IMAGE, transforms.Shift(1, 0)),
     TypeError, "f(x)"),
    (lambda: metrics.equivariance_error(lambda x: x.sum(), BATCH, transforms.Shift(1, 0),
                                        transforms.Identity()), ValueError, "samples"),
    (lambda: metrics.invariance_error(torch.relu, torch.zeros(4, 0), transforms.Shift(1, 0)),
     ValueError, "empty"),
    (lambda: metrics.fraction_exact(torch.zeros(0)), ValueError, "errors"),
    (lambda: metrics.fraction_exact(torch.zeros(3, dtype=torch.long)), TypeError, "errors"),
    (lambda: metrics.fraction_exact(torch.zeros(3), tol=-1.0), ValueError, "tol"),
    (lambda: metrics.exact_tolerance(torch.int32), TypeError, "dtype"),
    (lambda: metrics.exact_tolerance(torch.float32, terms=0), ValueError, "terms"),
    (lambda: metrics.exact_tolerance(torch.float32, terms=10**8), ValueError, "terms"),
    (lambda: metrics.unit_roundoff("float32"), TypeError, "dtype"),
    (lambda: metrics.rounding_bound(torch.ones(3, dtype=torch.long), 3), TypeError, "magnitude"),
    (lambda: metrics.rounding_bound(-torch.ones(3), 3), ValueError, "magnitude"),
    (lambda: metrics.rounding_bound(torch.ones(3), 2.5), TypeError, "terms"),
    (lambda: metrics.magnitude_network(torch.relu), TypeError, "net"),
    (lambda: metrics.sequential_sum(torch.ones(3)), ValueError, "values"),
    (lambda: metrics.sequential_sum(torch.ones(2, 3).long()), TypeError, "values"),
    (lambda: metrics.sequential_sum(torch.ones(2, 3), torch.tensor([0, 0, 1])), ValueError,
     "order"),
    (lambda: metrics.equivariance_bound_map("M", IMAGE, transforms.Shift(1, 0), 9), TypeError,
     "magnitude"),
    (lambda: metrics.equivariance_bound_map(torch.relu, IMAGE, transforms.Shift(1, 0), 0),
     ValueError, "terms"),
    (lambda: metrics.equivariance_bound(torch.relu, lambda z: z.sum(), IMAGE,
                                        transforms.Shift(1, 0), 9), ValueError, "shape"),
    (lambda: metrics.fraction_exact(torch.zeros(3), tol=torch.zeros(4)), ValueError, "tol"),
    (lambda: metrics.symmetry_table({"f": torch.relu}, BATCH, [transforms.Shift(1, 0)],
                                    tol=-1.0), ValueError, "tol"),
    (lambda: metrics.relative_error(torch.zeros(3), torch.zeros(4), batched=False),
     ValueError, "shape"),
    (lambda: metrics.symmetry_table({}, BATCH, [transforms.Shift(1, 0)]), ValueError,
     "functions"),
    (lambda: layers.conv2d(IMAGE, torch.zeros(1, 1, 3, 3)), ValueError, "weight"),
    (lambda: layers.conv2d(BATCH, torch.zeros(1, 2, 3, 3)), ValueError, "channels"),
    (lambda: layers.conv2d(IMAGE, torch.zeros(3, 3), padding="zeros"), ValueError, "padding"),
    (lambda: layers.conv2d(IMAGE, torch.zeros(3, 3), stride=0), ValueError, "stride"),
    (lambda: layers.conv2d(IMAGE, torch.zeros(3, 3), stride=1.5), TypeError, "stride"),
    (lambda: layers.conv2d(IMAGE, torch.zeros(3, 3, dtype=torch.float64)), TypeError,
     "weight"),
    (lambda: layers.conv2d(IMAGE, torch.zeros(5, 5), padding="valid"), ValueError, "kernel"),
    (lambda: layers.global_max_pool(torch.zeros(4)), ValueError, "x"),
    (lambda: layers.global_avg_pool(IMAGE.int()), TypeError, "x"),
    (lambda: layers.edge_kernel("diagonal"), ValueError, "direction"),
    (lambda: data.sample_image(0), ValueError, "size"),
    (lambda: data.gaussian_images(0, 4), ValueError, "n"),
    (lambda: data.gaussian_images(2, (4, 4, 4)), ValueError, "size"),
    (lambda: data.gaussian_images(2, 4, seed=0.5), TypeError, "seed"),
    (lambda: data.random_kernel(size=-1), ValueError, "size"),
    (lambda: data.integer_images(2, 4, low=3, high=2), ValueError, "low"),
    (lambda: data.integer_images(2, 4, dtype=torch.int32), TypeError, "dtype"),
    (lambda: data.digits_on_canvas(7), ValueError, "size"),
    (lambda: data.digits_on_canvas(16, split="val"), ValueError, "split"),
    (lambda: data.digits_on_canvas(16, max_shift=5), ValueError, "max_shift"),
    (lambda: data.digits_on_canvas(16, test_fraction=1.0), ValueError, "test_fraction"),
    (lambda: data.digits_on_canvas(16, dtype=torch.int64), TypeError, "dtype"),
    (lambda: transforms.align_peak_to_even(BATCH), ValueError, "x"),
    (lambda: transforms.align_peak_to_even(IMAGE.long()), TypeError, "dtype"),
    (lambda: sliders.slider("figure", print, [1]), TypeError, "fig"),
    (lambda: sliders.slider(plt.figure(), "update", [1]), TypeError, "update"),
    (lambda: sliders.slider(plt.figure(), print, []), ValueError, "values"),
    (lambda: sliders.slider(plt.figure(), print, "abc"), TypeError, "values"),
    (lambda: sliders.slider(plt.figure(), print, range(sliders.MAX_FRAMES + 1)), ValueError,
     "values"),
    (lambda: sliders.slider(plt.figure(), print, [1], dpi=0), ValueError, "dpi"),
]


@pytest.mark.parametrize(("call", "error", "word"), CASES)
def test_bad_arguments_raise_an_error_that_names_them(call, error, word):
    with pytest.raises(error, match=re.escape(word)) as info:
        call()
    assert "got" in str(info.value) or "must" in str(info.value)
    plt.close("all")


def test_public_api_is_importable_from_the_package():
    for name in shiftlab.__all__:
        value = getattr(shiftlab, name)
        assert callable(value) or (name.isupper() and isinstance(value, tuple | dict)), name
