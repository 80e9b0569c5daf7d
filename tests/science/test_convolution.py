"""Rotations by quarter turns, zooms and the rotation average (shiftlab.convolution); the FFT
convolution (shiftlab.convolution); chapter 2's figures (shiftlab.figures.convolution)."""

import re

import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from shiftlab.convolution import Rotate90, Zoom, fft_conv2d, rotate90, rotation_average, zoom
from shiftlab.figures import slider
from shiftlab.figures.convolution import equivariance_row, error_curves, moving_maps_explorer
from shiftlab.layers import conv2d
from shiftlab.transforms import Shift, shift
from tests.strategies import images

turns = st.integers(-9, 9)


@given(images(), turns, turns)
def test_quarter_turns_compose_by_adding(x, a, b):
    assert torch.equal(rotate90(rotate90(x, a), b), rotate90(x, a + b))


@given(images(), turns)
def test_four_quarter_turns_are_the_identity_and_minus_k_undoes_k(x, k):
    assert torch.equal(rotate90(x, 4 * k), x)
    assert torch.equal(Rotate90(k).inverse()(Rotate90(k)(x)), x)


def test_a_quarter_turn_follows_the_index_formula_counter_clockwise():
    x = torch.arange(6.0).reshape(2, 3)
    turned = rotate90(x)
    assert turned.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert turned[i, j] == x[j, 3 - 1 - i]  # (R x)[i, j] = x[j, W - 1 - i]
    assert turned[0].tolist() == [2.0, 5.0]  # the right column comes to the top


@given(images(), st.integers(1, 4))
def test_zoom_repeats_every_pixel_into_a_block(x, s):
    big = zoom(x, s)
    assert big.shape[-2:] == (s * x.shape[-2], s * x.shape[-1])
    rows = torch.arange(big.shape[-2]) // s
    columns = torch.arange(big.shape[-1]) // s
    assert torch.equal(big, x[..., rows, :][..., columns])
    assert torch.equal(Zoom(s)(x), big)


@given(images(batched=True, min_side=3), st.integers(1, 3), st.integers(-6, 6),
       st.integers(-6, 6))
def test_a_zoom_turns_a_shift_by_t_into_a_shift_by_s_t(x, s, dy, dx):
    assert torch.equal(zoom(shift(x, (dy, dx)), s), shift(zoom(x, s), (s * dy, s * dx)))


@given(st.integers(1, 3), st.sampled_from([1, 3, 5]), st.integers(0, 2**31 - 1))
def test_the_rotation_average_is_rotation_symmetric_and_a_projection(c, k, seed):
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(2, c, k, k, generator=generator, dtype=torch.float64)
    symmetric = rotation_average(w)
    assert torch.allclose(rotate90(symmetric), symmetric, rtol=0, atol=1e-15)
    assert torch.allclose(rotation_average(symmetric), symmetric, rtol=0, atol=1e-15)


def test_the_transforms_have_readable_names():
    assert repr(Rotate90(3)) == "Rotate90(k=3)"
    assert repr(Zoom(2)) == "Zoom(factor=2)"


GEOMETRY_CASES = [
    (lambda: rotate90([[1.0]]), TypeError, "x"),
    (lambda: rotate90(torch.zeros(4)), ValueError, "x"),
    (lambda: rotate90(torch.zeros(2, 2), 1.0), TypeError, "k"),
    (lambda: rotate90(torch.zeros(2, 2, dtype=torch.long)), TypeError, "x"),
    (lambda: zoom(torch.zeros(2, 2), 0), ValueError, "factor"),
    (lambda: zoom(torch.zeros(2, 2), 1.5), TypeError, "factor"),
    (lambda: zoom(torch.zeros(1, 1, 1, 2, 2)), ValueError, "x"),
    (lambda: rotation_average(torch.zeros(3, 2)), ValueError, "square"),
    (lambda: rotation_average("w"), TypeError, "weight"),
    (lambda: Rotate90(0.5), TypeError, "k"),
    (lambda: Zoom(-1), ValueError, "factor"),
    (lambda: fft_conv2d(torch.zeros(4, 4), torch.zeros(1, 1, 3, 3)), ValueError, "weight"),
    (lambda: fft_conv2d(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 3, 3)), ValueError,
     "channels"),
    (lambda: fft_conv2d(torch.zeros(4, 4), torch.zeros(5, 3)), ValueError, "fit"),
    (lambda: fft_conv2d(torch.zeros(4, 4), torch.zeros(3, 3, dtype=torch.float64)), TypeError,
     "dtype"),
    (lambda: fft_conv2d(torch.zeros(4, 4, dtype=torch.int32), torch.zeros(3, 3)), TypeError,
     "x"),
]


@pytest.mark.parametrize(("call", "error", "word"), GEOMETRY_CASES)
def test_bad_arguments_raise_an_error_that_names_them(call, error, word):
    with pytest.raises(error, match=re.escape(word)) as info:
        call()
    assert "got" in str(info.value) or "must" in str(info.value)


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 2**31 - 1), st.sampled_from([torch.float32, torch.float64]))
def test_fft_conv_is_the_circular_conv_up_to_rounding(k_h, k_w, c_in, c_out, seed, dtype):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, c_in, 7 + k_h, 5 + k_w, generator=generator, dtype=dtype)
    w = torch.randn(c_out, c_in, k_h, k_w, generator=generator, dtype=dtype)
    want = conv2d(x, w, padding="circular")
    got = fft_conv2d(x, w)
    scale = float(x.abs().max() * w.abs().sum(dim=(1, 2, 3)).max())
    assert torch.allclose(got, want, rtol=0, atol=64 * torch.finfo(dtype).eps * scale)
    assert torch.allclose(fft_conv2d(x[0, 0], w[0, 0]), conv2d(x[0, 0], w[0, 0]), rtol=0,
                          atol=64 * torch.finfo(dtype).eps * scale)


def test_fft_conv_rounds_differently_from_the_direct_conv():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 12, 12, generator=generator)
    w = torch.randn(3, 2, 3, 3, generator=generator)
    assert not torch.equal(fft_conv2d(x, w), conv2d(x, w, padding="circular"))


# The figures: they draw what they promise and reject what they cannot draw.

def test_the_equivariance_row_shows_the_two_sides_and_their_difference():
    x = torch.randn(10, 10, generator=torch.Generator().manual_seed(0))
    w = torch.randn(3, 3, generator=torch.Generator().manual_seed(1))
    fig = equivariance_row(x, lambda z: conv2d(z, w, padding="same"), Shift(2, 3),
                           g_name="T", title="a title")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["T x", "f(T x)", "T' f(x)"]
    assert titles[3].startswith("|difference|, max ") and not titles[3].endswith("0.0e+00")
    exact = equivariance_row(x, lambda z: conv2d(z, w, padding="circular"), Shift(2, 3))
    assert float(exact.axes[3].get_title().split()[-1]) <= 1e-5  # rounding at most
    assert plt.get_fignums() == []


def test_the_equivariance_row_rejects_outputs_it_cannot_compare():
    x = torch.zeros(4, 4)
    with pytest.raises(ValueError, match="f\\(g x\\)"):
        equivariance_row(x, lambda z: z.sum(), Shift(1, 0), lambda y: y)
    with pytest.raises(TypeError, match="f"):
        equivariance_row(x, "f", Shift(1, 0))


def test_error_curves_put_exact_zeros_on_their_own_floor():
    fig = error_curves([1, 2, 3], {"zero": [0.0, 0.0, 0.0], "big": [0.1, 0.2, 0.3]},
                       xlabel="depth", tolerance=1e-6)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "exactly 0"
    zero_line = ax.get_lines()[0]
    assert all(y > 0 for y in zero_line.get_ydata())  # drawable on the log axis
    assert ax.get_xlabel() == "depth" and ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="one value per step"):
        error_curves([1, 2], {"short": [0.1]}, xlabel="depth")
    with pytest.raises(ValueError, match="curves"):
        error_curves([1, 2], {}, xlabel="depth")


def test_moving_maps_explorer_follows_the_content_and_keeps_its_colours():
    x = torch.zeros(8, 8)
    x[2, 3] = 1.0
    values = [(0, 0), (1, 2), (3, 3)]

    def maps_at(t):
        moved = shift(x, t)
        return [moved, 2 * moved]

    fig, update = moving_maps_explorer(maps_at, values, ["input", "double"],
                                       marker_at=lambda t: (2 + t[0], 3 + t[1]))
    result = slider(fig, update, values, label="shift")
    assert len(set(result.frames)) == len(values)
    fig, update = moving_maps_explorer(maps_at, values, ["input", "double"],
                                       marker_at=lambda t: (2 + t[0], 3 + t[1]))
    update((1, 2))
    cross = fig.axes[1].get_lines()[0]
    assert list(cross.get_xdata()) == [5] and list(cross.get_ydata()) == [3]
    assert fig.axes[1].get_images()[0].get_clim() == (0.0, 2.0)
    plt.close(fig)
    with pytest.raises(ValueError, match="titles"):
        moving_maps_explorer(maps_at, values, ["only one"])
    with pytest.raises(ValueError, match="values"):
        moving_maps_explorer(maps_at, [], ["input", "double"])
