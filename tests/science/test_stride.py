"""shiftlab.stride: downsampling, polyphase components, output shifts, the nearest shifted copy,
the zone plate and the slider figure; and its argument checks."""

import re

import matplotlib.pyplot as plt
import pytest
import torch

from shiftlab import stride
from shiftlab.figures.stride import stride_explorer
from shiftlab.stride import (
    above_nyquist,
    aliased_region,
    best_output_shift,
    downsample,
    in_subgroup,
    merge_polyphase,
    output_shift,
    phase_after_shift,
    polyphase,
    shifted_copy_bound,
    shifted_copy_error,
    zone_plate,
)
from shiftlab.transforms import shift

GRID = torch.arange(36.0).reshape(6, 6)


def test_downsampling_keeps_every_s_th_row_and_column():
    assert downsample(GRID, 2).tolist() == [[0, 2, 4], [12, 14, 16], [24, 26, 28]]
    assert downsample(GRID, 3).tolist() == [[0, 3], [18, 21]]
    assert torch.equal(downsample(GRID, 1), GRID)
    assert downsample(torch.zeros(2, 3, 8, 4), 4).shape == (2, 3, 2, 1)


def test_polyphase_component_a_starts_at_offset_a():
    p = polyphase(GRID, 2)
    assert p.shape == (2, 2, 3, 3)
    assert p[0, 1].tolist() == [[1, 3, 5], [13, 15, 17], [25, 27, 29]]
    assert p[1, 0, 0].tolist() == [6, 8, 10]
    assert torch.equal(merge_polyphase(p), GRID)
    batch = torch.arange(2 * 3 * 6 * 9.0).reshape(2, 3, 6, 9)
    q = polyphase(batch, 3)
    assert q.shape == (2, 3, 3, 3, 2, 3)
    assert torch.equal(q[1, 2, 2, 1], batch[1, 2, 2::3, 1::3])
    assert torch.equal(merge_polyphase(q), batch)


def test_integer_images_are_accepted_by_the_index_operations():
    ints = torch.arange(16).reshape(4, 4)
    assert downsample(ints, 2).dtype == torch.int64
    assert torch.equal(merge_polyphase(polyphase(ints, 2)), ints)


def test_output_shift_divides_by_the_stride_on_the_subgroup_only():
    assert output_shift((4, -6), 2) == (2, -3)
    assert output_shift((0, 9), 3) == (0, 3)
    assert in_subgroup((4, -6), 2) and not in_subgroup((4, -5), 2)
    with pytest.raises(ValueError, match=r"2Z x 2Z.*\(1, 2\)"):
        output_shift((1, 2), 2)


def test_phase_after_shift_worked_examples():
    assert phase_after_shift((0, 0), (0, 1), 2) == ((0, 1), (0, 1))
    assert phase_after_shift((0, 1), (0, 1), 2) == ((0, 0), (0, 0))
    assert phase_after_shift((0, 0), (2, 4), 2) == ((0, 0), (1, 2))
    assert phase_after_shift((0, 0), (-1, -4), 3) == ((1, 1), (0, -1))


def test_the_nearest_shifted_copy_is_found_with_its_shift():
    x = torch.randn(12, 12, generator=torch.Generator().manual_seed(0))

    def stride_2(z):
        return downsample(z, 2)

    assert shifted_copy_error(stride_2, x, (4, -2)) == 0
    assert best_output_shift(stride_2, x, (4, -2)) == (2, 5)  # (2, -1) modulo the size 6
    assert shifted_copy_error(stride_2, x, (0, 1)) > 0.5
    batch = torch.randn(5, 2, 8, 8, generator=torch.Generator().manual_seed(1))
    errors = shifted_copy_error(stride_2, batch, (2, 2))
    assert errors.shape == (5,) and torch.all(errors == 0)


def test_the_nearest_copy_of_a_zero_output_is_exact_only_for_a_zero_output():
    zero = torch.zeros(4, 4)
    assert shifted_copy_error(lambda z: z * 0, zero, (1, 0)) == 0
    one_hot = torch.zeros(4, 4)
    one_hot[0, 1] = 1
    assert shifted_copy_error(stride_2_of, one_hot, (0, 1)) == float("inf")


def stride_2_of(z):
    return downsample(z, 2)


def test_the_zone_plate_is_a_symmetric_ring_pattern_bright_at_the_centre():
    zone = zone_plate(64, dtype=torch.float64)
    assert zone.shape == (64, 64) and zone.abs().max() <= 1
    assert zone[32, 32] == 1
    assert torch.allclose(zone[1:, 1:], zone[1:, 1:].flip(0, 1))
    assert torch.allclose(zone, zone.T)


def test_stride_explorer_draws_every_shift():
    photo = torch.rand(12, 12, generator=torch.Generator().manual_seed(0))
    positions = [(0, dx) for dx in range(4)]

    def stride_2(z):
        return downsample(z, 2)

    curves = {"stride 2": [float(shifted_copy_error(stride_2, photo, t)) for t in positions]}
    fig, update = stride_explorer(photo, stride_2, positions, curves, title="t")
    for t in positions:
        update(t)
    assert fig.axes[0].get_title() == "input shifted by (0, 3)"
    assert torch.equal(torch.from_numpy(fig.axes[0].images[0].get_array().data),
                       shift(photo, (0, 3)))
    plt.close(fig)


IMAGE = torch.zeros(6, 6)
CASES = [
    (lambda: downsample([[1.0]], 1), TypeError, "x"),
    (lambda: downsample(IMAGE, 0), ValueError, "s"),
    (lambda: downsample(IMAGE, 1.5), TypeError, "s"),
    (lambda: downsample(IMAGE, 4), ValueError, "divisible by s = 4"),
    (lambda: downsample(torch.zeros(2, 6, 6), 2), ValueError, "x"),
    (lambda: downsample(IMAGE.bool(), 2), TypeError, "dtype"),
    (lambda: polyphase(torch.zeros(6, 5), 2), ValueError, "divisible"),
    (lambda: merge_polyphase(torch.zeros(2, 3, 4, 4)), ValueError, "p"),
    (lambda: merge_polyphase(torch.zeros(2, 2, 4)), ValueError, "p"),
    (lambda: in_subgroup((1, 0.5), 2), TypeError, "dx"),
    (lambda: in_subgroup((1, 0), 0), ValueError, "s"),
    (lambda: output_shift(2, 2), TypeError, "t"),
    (lambda: phase_after_shift((2, 0), (1, 1), 2), ValueError, "a"),
    (lambda: phase_after_shift((0, 0), (1, 1), -1), ValueError, "s"),
    (lambda: shifted_copy_error("f", IMAGE, (1, 0)), TypeError, "f"),
    (lambda: shifted_copy_error(stride_2_of, IMAGE.long(), (1, 0)), TypeError, "x"),
    (lambda: shifted_copy_error(stride_2_of, IMAGE, 1), TypeError, "t"),
    (lambda: shifted_copy_error(lambda z: z.sum(), IMAGE, (1, 0)), ValueError, "f(x)"),
    (lambda: shifted_copy_error(lambda z: z[: 1 + int(z[0, 0])], GRID, (1, 0)), ValueError,
     "shape"),
    (lambda: best_output_shift(stride_2_of, torch.zeros(1, 1, 4, 4), (1, 0)), ValueError, "x"),
    (lambda: zone_plate(0), ValueError, "size"),
    (lambda: aliased_region(0), ValueError, "size"),
    (lambda: aliased_region(8, 0), ValueError, "s"),
    (lambda: above_nyquist(torch.zeros(6, 6), 2), ValueError, "divisible"),
    (lambda: above_nyquist(torch.zeros(8, 8, dtype=torch.long), 2), TypeError, "dtype"),
    (lambda: shifted_copy_bound(stride_2_of, "M", IMAGE, (1, 0), 9), TypeError, "magnitude"),
    (lambda: shifted_copy_bound(stride_2_of, stride_2_of, IMAGE, (1, 0), 0), ValueError,
     "terms"),
    (lambda: stride_explorer(IMAGE, stride_2_of, [], {}), ValueError, "shifts"),
    (lambda: stride_explorer(IMAGE, stride_2_of, [(0, 1)], {"a": [1.0, 2.0]}), ValueError,
     "curve"),
]


@pytest.mark.parametrize(("call", "error", "word"), CASES)
def test_bad_arguments_raise_an_error_that_names_them(call, error, word):
    with pytest.raises(error, match=re.escape(word)) as info:
        call()
    assert "got" in str(info.value) or "must" in str(info.value)
    plt.close("all")


def test_the_module_documents_the_law_it_implements():
    assert "D_s T_t = T_{t/s} D_s" in stride.__doc__
