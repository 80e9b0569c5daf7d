"""Equivariance and invariance errors, and what "exact" means (shiftlab.metrics)."""

import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import dtypes, images, shifts

from shiftlab.data import gaussian_images
from shiftlab.layers import conv2d, global_avg_pool, global_max_pool
from shiftlab.metrics import (
    equivariance_error,
    exact_tolerance,
    fraction_exact,
    invariance_error,
    relative_error,
    symmetry_table,
)
from shiftlab.transforms import Identity, Shift, translate


def test_exact_tolerance_is_64_machine_epsilons():
    assert exact_tolerance(torch.float32) == 64 * 2.0**-23
    assert exact_tolerance(torch.float64) == 64 * 2.0**-52


@given(st.data(), dtypes, shifts)
def test_circular_convolution_is_exactly_equivariant_in_both_precisions(data, dtype, t):
    x = data.draw(images(batched=True, min_side=3, dtype=dtype))
    k = data.draw(st.integers(1, 3))
    weight = torch.randn(2, x.shape[1], k, k, dtype=dtype,
                         generator=torch.Generator().manual_seed(data.draw(st.integers(0, 99))))
    errors = equivariance_error(lambda z: conv2d(z, weight, padding="circular"), x, Shift(*t))
    assert errors.shape == (len(x),)
    assert torch.all(errors <= exact_tolerance(dtype))


@given(images(batched=True, min_side=4, dtype=torch.float64), st.integers(1, 3))
def test_circular_convolution_is_not_invariant(x, dx):
    x = x + torch.linspace(0, 5, x.shape[-1], dtype=x.dtype)  # not periodic with period dx
    weight = torch.ones(1, x.shape[1], 3, 3, dtype=x.dtype)
    errors = invariance_error(lambda z: conv2d(z, weight, padding="circular"), x, Shift(0, dx))
    assert torch.all(errors > 0.1)


@given(images(dtype=torch.float64), shifts)
def test_invariance_error_is_equivariance_error_with_identity_output(x, t):
    f = torch.tanh
    assert torch.equal(invariance_error(f, x, Shift(*t)),
                       equivariance_error(f, x, Shift(*t), Identity()))


@given(images(), shifts)
def test_global_max_pool_is_exactly_invariant_to_circular_shifts(x, t):
    assert torch.all(invariance_error(global_max_pool, x, Shift(*t)) == 0)


@given(images(), shifts)
def test_global_average_pool_of_positive_images_is_invariant_up_to_rounding(x, t):
    x = x.abs() + 0.1  # no cancellation: the sum of magnitudes is the sum
    errors = invariance_error(global_avg_pool, x, Shift(*t))
    assert torch.all(errors <= exact_tolerance(x.dtype))


def test_global_average_pool_of_zero_mean_noise_can_miss_the_float32_tolerance():
    # The chapter's caveat: the same 500 noise images, the same shift.
    noise = gaussian_images(500, 32, seed=1)
    worst = invariance_error(global_avg_pool, noise, Shift(3, -5)).max().item()
    assert worst > exact_tolerance(torch.float32)
    assert invariance_error(global_avg_pool, noise.double(), Shift(3, -5)).max() < 1e-11


@given(images(min_side=2, dtype=torch.float64), shifts)
def test_a_law_broken_in_one_pixel_is_not_exact(x, t):
    def almost_equivariant(z):
        out = z.clone()
        out[..., 0, 0] = 0.0  # one pixel forgets its input: the law fails there
        return out

    assume(t[0] % x.shape[-2] or t[1] % x.shape[-1])
    assume(not torch.equal(x[..., 0, 0], torch.roll(x, t, (-2, -1))[..., 0, 0]))
    errors = equivariance_error(almost_equivariant, x, Shift(*t))
    assert errors.max() > exact_tolerance(torch.float64)


@given(images(dtype=torch.float64), st.floats(0.01, 100))
def test_relative_error_does_not_depend_on_scale(x, scale):
    y = x + 0.1
    batched = x.dim() == 4
    assert torch.allclose(relative_error(scale * y, scale * x, batched=batched),
                          relative_error(y, x, batched=batched), rtol=1e-10, atol=0)


def test_relative_error_against_zero_is_zero_or_infinite():
    zero = torch.zeros(3)
    assert relative_error(zero, zero, batched=False) == 0
    assert math.isinf(relative_error(torch.ones(3), zero, batched=False))


def test_fraction_exact_counts_errors_within_the_tolerance():
    errors = torch.tensor([0.0, 1e-15, 1e-3, 1.0], dtype=torch.float64)
    assert fraction_exact(errors) == 0.5
    assert fraction_exact(errors, tol=1e-2) == 0.75


def test_equivariance_error_needs_an_output_transformation_that_fits_the_output():
    with pytest.raises(ValueError, match="g_out"):
        equivariance_error(lambda z: z.sum(dim=1), torch.ones(2, 1, 4, 4), Shift(1, 0))
    with pytest.raises(ValueError, match="g_out"):
        equivariance_error(lambda z: z, torch.ones(2, 1, 4, 4), Shift(1, 0),
                           lambda y: y[..., 1:, :])


@given(st.integers(0, 10_000))
def test_symmetry_table_sorts_the_chapter_functions(seed):
    x = torch.randn(20, 1, 12, 12, generator=torch.Generator().manual_seed(seed))
    weight = torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(seed + 1))

    def circular(z):
        return conv2d(z, weight, padding="circular")

    table = symmetry_table(
        {
            "circular": circular,
            "zero padded": lambda z: conv2d(z, weight, padding="same"),
            "relu": lambda z: torch.relu(circular(z)),
            "max": lambda z: global_max_pool(torch.relu(circular(z))),
            "mean": lambda z: global_avg_pool(torch.relu(circular(z))),
            "zero-fill": lambda z: translate(z, (2, 1)),
        },
        x,
        [Shift(0, 1), Shift(3, -5), Shift(-7, 11)],
    )
    assert table["circular"]["exactly equivariant"] == 1.0
    assert table["circular"]["exactly invariant"] == 0.0
    assert table["relu"]["exactly equivariant"] == 1.0
    assert table["zero padded"]["exactly equivariant"] == 0.0
    assert table["zero-fill"]["exactly equivariant"] == 0.0
    assert table["max"]["exactly invariant"] == 1.0
    assert table["mean"]["exactly invariant"] == 1.0
    assert table["max"]["exactly equivariant"] is None
