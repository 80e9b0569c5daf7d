"""Convolution under every padding mode, global pooling, edge filters (shiftlab.layers)."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import images, shifts

from shiftlab.data import integer_images
from shiftlab.layers import PADDINGS, conv2d, edge_kernel, global_avg_pool, global_max_pool
from shiftlab.metrics import equivariance_bound_map
from shiftlab.transforms import Shift, shift


def _weight(out_channels, in_channels, k, dtype, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(out_channels, in_channels, k, k, generator=generator, dtype=dtype)


@given(images(batched=True, min_side=5), st.sampled_from(PADDINGS), st.integers(1, 4),
       st.integers(1, 3))
def test_conv2d_output_shape_follows_the_padding_mode(x, padding, k, stride):
    height, width = x.shape[-2:]
    y = conv2d(x, _weight(2, x.shape[1], k, x.dtype), padding=padding, stride=stride)
    size = {"valid": (height - k + 1, width - k + 1), "full": (height + k - 1, width + k - 1)}
    full_h, full_w = size.get(padding, (height, width))
    assert y.shape == (len(x), 2, (full_h - 1) // stride + 1, (full_w - 1) // stride + 1)


@given(images(batched=True, min_side=3), st.sampled_from([1, 3]))
def test_conv2d_matches_torch_for_circular_and_same_padding(x, k):
    weight = _weight(2, x.shape[1], k, x.dtype)
    layer = torch.nn.Conv2d(x.shape[1], 2, k, padding=k // 2, padding_mode="circular",
                            bias=False).to(x.dtype)
    layer.weight.data = weight
    torch.testing.assert_close(conv2d(x, weight, padding="circular"), layer(x))
    torch.testing.assert_close(conv2d(x, weight, padding="same"),
                               F.conv2d(x, weight, padding="same"))


@given(images(batched=True, min_side=1), st.sampled_from([1, 3, 5]), st.integers(1, 3))
def test_same_padding_by_the_convolution_is_zero_padding_then_the_convolution(x, k, stride):
    # conv2d lets F.conv2d pad odd kernels itself: the zeros are the same, and so are the sums
    weight = _weight(2, x.shape[1], k, x.dtype)
    padded = F.pad(x, (k // 2,) * 4)
    gap = (conv2d(x, weight, padding="same", stride=stride)
           - F.conv2d(padded, weight, stride=stride)).abs()
    # at most the rounding of two orders of the same k·k·C products (Higham's bound)
    terms = k * k * x.shape[1]
    bound = 2 * terms * torch.finfo(x.dtype).eps * F.conv2d(padded.abs(), weight.abs(),
                                                            stride=stride)
    assert torch.all(gap <= bound)


@given(images(batched=False, min_side=3), st.sampled_from(PADDINGS))
def test_single_image_convolution_equals_the_batched_one(x, padding):
    kernel = edge_kernel(dtype=x.dtype)
    torch.testing.assert_close(conv2d(x, kernel, padding=padding),
                               conv2d(x[None, None], kernel[None, None], padding=padding)[0, 0])


@pytest.mark.law
@given(images(batched=True, min_side=3), shifts)
def test_circular_convolution_commutes_with_circular_shift_within_the_rounding_bound(x, t):
    weight = _weight(3, x.shape[1], 3, x.dtype)
    gap = (conv2d(shift(x, t), weight) - shift(conv2d(x, weight), t)).abs()
    bound = equivariance_bound_map(lambda z: conv2d(z, weight.abs()), x, Shift(*t),
                                   terms=x.shape[1] * 9)
    assert torch.all(gap <= bound)


@pytest.mark.law
@given(st.integers(0, 2**31 - 1), st.integers(1, 3), st.integers(3, 12), st.integers(3, 12),
       shifts, st.sampled_from([torch.float32, torch.float64]))
def test_circular_convolution_of_integer_images_commutes_with_shifts_bit_for_bit(
        seed, channels, height, width, t, dtype):
    x = integer_images(2, (height, width), channels=channels, seed=seed, dtype=dtype)
    weight = torch.randint(-4, 5, (3, channels, 3, 3),
                           generator=torch.Generator().manual_seed(seed)).to(dtype)
    assert torch.equal(conv2d(shift(x, t), weight), shift(conv2d(x, weight), t))


@given(images())
def test_global_pools_remove_the_spatial_axes(x):
    assert global_max_pool(x).shape == x.shape[:-2]
    assert global_avg_pool(x).shape == x.shape[:-2]
    assert global_max_pool(x).max() == x.max()
    torch.testing.assert_close(global_avg_pool(x).mean(), x.mean())


def test_edge_kernels_are_the_sobel_filters():
    vertical = edge_kernel("vertical")
    assert vertical.tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert torch.equal(edge_kernel("horizontal"), vertical.T)
    assert vertical.sum() == 0


def test_vertical_edge_kernel_responds_to_a_vertical_edge_only():
    step = torch.zeros(8, 8)
    step[:, 4:] = 1.0
    assert conv2d(step, edge_kernel("vertical"), padding="valid").abs().max() == 4
    assert conv2d(step, edge_kernel("horizontal"), padding="valid").abs().max() == 0


@pytest.mark.parametrize("padding", ["circular", "reflect"])
def test_wrapping_paddings_refuse_kernels_larger_than_the_image(padding):
    with pytest.raises(ValueError, match="kernel"):
        conv2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 5, 5), padding=padding)
