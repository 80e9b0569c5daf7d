"""Equivariance and invariance errors, and what "exact" means (shiftlab.metrics)."""

import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import dtypes, images, shifts

from shiftlab.data import gaussian_images, integer_images
from shiftlab.layers import conv2d, global_avg_pool, global_max_pool
from shiftlab.metrics import (
    equivariance_bound,
    equivariance_bound_map,
    equivariance_error,
    exact_tolerance,
    fraction_exact,
    invariance_error,
    magnitude_network,
    relative_error,
    rounding_bound,
    sequential_sum,
    symmetry_table,
    unit_roundoff,
)
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.transforms import Identity, Shift, translate

seeds = st.integers(0, 2**31 - 1)


def test_exact_tolerance_is_twice_gamma_64_about_64_machine_epsilons():
    for dtype in (torch.float32, torch.float64):
        eps = torch.finfo(dtype).eps
        assert unit_roundoff(dtype) == eps / 2
        assert exact_tolerance(dtype) == pytest.approx(64 * eps, rel=1e-5)
        assert exact_tolerance(dtype) > 64 * eps
        assert exact_tolerance(dtype, terms=9) == pytest.approx(9 * eps, rel=1e-5)


@pytest.mark.law
@given(st.integers(2, 400), dtypes, seeds)
def test_a_sum_in_any_order_is_within_the_rounding_bound_of_the_exact_sum(n, dtype, seed):
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(16, n, generator=generator, dtype=dtype) * torch.exp(
        3 * torch.randn(16, n, generator=generator, dtype=dtype))  # magnitudes over decades
    order = torch.randperm(n, generator=generator)
    computed = sequential_sum(values, order)
    exact = values.double().sum(dim=1) if dtype == torch.float32 else torch.tensor(
        [math.fsum(row) for row in values.tolist()], dtype=torch.float64)
    bound = rounding_bound(values.abs().sum(dim=1), n)
    assert torch.all((computed.double() - exact).abs() <= bound.double())


@pytest.mark.law
@given(st.integers(2, 2000), st.sampled_from([torch.float32, torch.float64]), seeds)
def test_small_integers_add_to_the_same_float_in_every_order(n, dtype, seed):
    generator = torch.Generator().manual_seed(seed)
    values = torch.randint(-8, 9, (8, n), generator=generator).to(dtype)
    shuffled = sequential_sum(values, torch.randperm(n, generator=generator))
    assert torch.equal(shuffled, sequential_sum(values))
    assert torch.equal(shuffled, values.sum(dim=1))  # the library's own order, whatever it is


@pytest.mark.law
@given(st.data(), dtypes, shifts)
def test_circular_convolution_is_equivariant_within_the_rounding_bound(data, dtype, t):
    x = data.draw(images(batched=True, min_side=3, dtype=dtype))
    k = data.draw(st.integers(1, 3))
    weight = torch.randn(2, x.shape[1], k, k, dtype=dtype,
                         generator=torch.Generator().manual_seed(data.draw(st.integers(0, 99))))

    def conv(z):
        return conv2d(z, weight, padding="circular")

    errors = equivariance_error(conv, x, Shift(*t))
    bounds = equivariance_bound(conv, lambda z: conv2d(z, weight.abs(), padding="circular"), x,
                                Shift(*t), terms=x.shape[1] * k * k)
    assert errors.shape == bounds.shape == (len(x),)
    assert torch.all(errors <= bounds)
    assert torch.all(bounds < 1e-3)  # far below a broken law


@pytest.mark.law
@given(st.integers(1, 4), st.sampled_from(["circular", "same", "reflect"]), seeds,
       st.integers(-9, 9), st.integers(-9, 9))
def test_the_magnitude_network_bounds_the_rounding_of_a_relu_network(depth, padding, seed,
                                                                     dy, dx):
    net = ConvNet(ConvNetConfig(channels=(4,) * depth, padding=padding), seed=seed % 1000)
    with torch.no_grad():
        for bias in net.biases:
            bias.normal_(generator=torch.Generator().manual_seed(seed))
    x = gaussian_images(2, 12, seed=seed % 997)
    terms = 1 * 9 + 1 + (depth - 1) * (4 * 9 + 1)
    magnitude = magnitude_network(net).features
    with torch.no_grad():
        computed = net.features(x)
        exact = ConvNet(net.config, seed=0).double()  # the same weights, in float64
        exact.load_state_dict({k: v.double() for k, v in net.state_dict().items()})
        reference = exact.features(x.double())
    # One float32 computation is within the bound of the (nearly) exact float64 one ...
    assert torch.all((computed.double() - reference).abs()
                     <= rounding_bound(magnitude(x.abs()), terms).double())
    # ... and two computations on shifted copies within twice that, where the law holds.
    if padding == "circular":
        bound = equivariance_bound_map(magnitude, x, Shift(dy, dx), terms)
        with torch.no_grad():
            gap = (net.features(Shift(dy, dx)(x)) - Shift(dy, dx)(computed)).abs()
        assert torch.all(gap <= bound)


def test_the_magnitude_network_is_a_copy_with_absolute_parameters():
    net = ConvNet(ConvNetConfig(channels=(3, 2)), seed=1)
    before = [p.clone() for p in net.parameters()]
    magnitude = magnitude_network(net)
    for original, kept, absolute in zip(before, net.parameters(), magnitude.parameters(),
                                        strict=True):
        assert torch.equal(kept, original)  # net itself is untouched
        assert torch.equal(absolute, original.abs())


def test_a_broken_law_is_far_above_its_rounding_bound():
    x = gaussian_images(4, 12, seed=3, dtype=torch.float32)
    weight = torch.randn(2, 1, 3, 3, generator=torch.Generator().manual_seed(4))

    def conv(z):
        return conv2d(z, weight, padding="same")

    errors = equivariance_error(conv, x, Shift(1, 2))
    bounds = equivariance_bound(conv, lambda z: conv2d(z, weight.abs(), padding="same"), x,
                                Shift(1, 2), terms=9)
    assert torch.all(errors > 1000 * bounds)


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


@pytest.mark.law
@given(images(), shifts)
def test_global_average_pool_of_positive_images_is_invariant_up_to_rounding(x, t):
    x = x.abs() + 0.1  # no cancellation: the sum of magnitudes is the sum
    errors = invariance_error(global_avg_pool, x, Shift(*t))
    terms = x.shape[-2] * x.shape[-1] + 1
    bounds = equivariance_bound(global_avg_pool, global_avg_pool, x, Shift(*t), terms,
                                Identity())
    assert torch.all(errors <= bounds)
    assert torch.all(bounds <= 1.001 * exact_tolerance(x.dtype, terms))  # no cancellation: 2γ_n


@pytest.mark.law
def test_global_average_pool_of_zero_mean_noise_can_miss_the_float32_tolerance():
    # The chapter's caveat: the same 500 noise images, the same shift.
    noise = gaussian_images(500, 32, seed=1)
    errors = invariance_error(global_avg_pool, noise, Shift(3, -5))
    bounds = equivariance_bound(global_avg_pool, lambda z: global_avg_pool(z.abs()), noise,
                                Shift(3, -5), 1025, Identity())
    assert torch.all(errors <= bounds)
    assert errors.max() > exact_tolerance(torch.float32)
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
    per_error = torch.tensor([0.0, 0.0, 1e-2, 2.0], dtype=torch.float64)
    assert fraction_exact(errors, tol=per_error) == 0.75


def test_rounding_bound_is_gamma_n_times_the_magnitude():
    magnitude = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)
    u = 2.0**-53
    assert torch.allclose(rounding_bound(magnitude, 10), magnitude * 10 * u / (1 - 10 * u),
                          rtol=1e-12, atol=0)


def test_equivariance_error_needs_an_output_transformation_that_fits_the_output():
    with pytest.raises(ValueError, match="g_out"):
        equivariance_error(lambda z: z.sum(dim=1), torch.ones(2, 1, 4, 4), Shift(1, 0))
    with pytest.raises(ValueError, match="g_out"):
        equivariance_error(lambda z: z, torch.ones(2, 1, 4, 4), Shift(1, 0),
                           lambda y: y[..., 1:, :])


@pytest.mark.law
@given(st.integers(0, 10_000))
def test_symmetry_table_sorts_the_chapter_functions_bit_for_bit_on_integer_data(seed):
    x = integer_images(8, 12, seed=seed)
    weight = torch.randint(-3, 4, (1, 1, 3, 3), generator=torch.Generator().manual_seed(seed + 1))
    weight = weight.float()
    assume(weight.abs().sum() > 0)

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
        tol=0,
    )
    assert table["circular"]["exactly equivariant"] == 1.0
    assert table["circular"]["exactly invariant"] == 0.0
    assert table["relu"]["exactly equivariant"] == 1.0
    assert table["zero padded"]["exactly equivariant"] == 0.0
    assert table["zero-fill"]["exactly equivariant"] == 0.0
    assert table["max"]["exactly invariant"] == 1.0
    assert table["mean"]["exactly invariant"] == 1.0
    assert table["max"]["exactly equivariant"] is None
