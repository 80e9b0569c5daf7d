"""Small networks, their training, local max pooling and prediction agreement."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from shiftlab.layers import max_pool
from shiftlab.metrics import exact_tolerance, invariance_error, prediction_agreement
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.training import accuracy, predict, train
from shiftlab.transforms import Identity, Shift, shift


def _images(n, size, seed=0):
    return torch.randn(n, 1, size, size, generator=torch.Generator().manual_seed(seed))


def test_the_same_config_and_seed_give_the_same_network():
    x = _images(4, 8)
    assert torch.equal(ConvNet(seed=3)(x), ConvNet(seed=3)(x))
    assert not torch.equal(ConvNet(seed=3)(x), ConvNet(seed=4)(x))


@given(st.sampled_from(["avg", "max"]), st.integers(-9, 9), st.integers(-9, 9),
       st.integers(0, 100))
def test_a_stride_1_circular_net_with_a_global_pool_is_invariant_to_every_shift(
        pool, dy, dx, seed):
    model = ConvNet(ConvNetConfig(channels=(4, 6), global_pool=pool), seed=seed)
    x = _images(8, 10, seed)
    errors = invariance_error(model, x, Shift(dy, dx))
    assert torch.all(errors <= exact_tolerance(torch.float32))


@given(st.integers(1, 3), st.integers(-3, 3), st.integers(-3, 3), st.integers(0, 100))
def test_l_stride_2_layers_keep_invariance_to_shifts_by_multiples_of_2_to_the_l(
        layers, ky, kx, seed):
    config = ConvNetConfig(channels=(4,) * layers, stride=2, global_pool="max")
    model = ConvNet(config, seed=seed)
    x = _images(6, 16, seed)
    step = 2**layers
    assert torch.all(invariance_error(model, x, Shift(step * ky, step * kx)) == 0)


def test_a_strided_net_is_not_invariant_to_a_one_pixel_shift():
    model = ConvNet(ConvNetConfig(channels=(8, 8), stride=2), seed=0)
    errors = invariance_error(model, _images(16, 16), Shift(0, 1))
    assert errors.min() > exact_tolerance(torch.float32)


@given(st.integers(1, 4), st.integers(0, 100))
def test_local_max_pooling_commutes_with_shifts_by_its_stride(k, seed):
    x = _images(3, 12, seed)
    assert torch.equal(max_pool(shift(x, (2 * k, -2 * k))), shift(max_pool(x), (k, -k)))


def test_max_pool_takes_the_largest_value_of_each_window():
    x = torch.arange(16.0).reshape(4, 4)
    assert max_pool(x).tolist() == [[5.0, 7.0], [13.0, 15.0]]
    assert max_pool(x, 3, 1).shape == (2, 2)


def test_training_separates_a_simple_problem_reproducibly():
    images = torch.cat([_images(20, 8, 1) + 2, _images(20, 8, 2) - 2])
    labels = torch.cat([torch.zeros(20, dtype=torch.long), torch.ones(20, dtype=torch.long)])
    histories, weights = [], []
    for _ in range(2):
        model = ConvNet(ConvNetConfig(channels=(4,)), seed=0)
        histories.append(train(model, images, labels, epochs=5, lr=0.05, batch_size=8, seed=1))
        weights.append(model.head.weight.detach().clone())
    assert histories[0] == histories[1] and torch.equal(weights[0], weights[1])
    assert histories[0][-1] < histories[0][0]
    assert accuracy(model, images, labels) == 1.0
    assert predict(model, images).shape == (40,)


def test_prediction_agreement_counts_unchanged_predictions():
    x = _images(10, 6)

    def by_first_column(z):  # class 1 when the left column is brighter than the right one
        score = z[:, 0, :, 0].sum(dim=1) - z[:, 0, :, -1].sum(dim=1)
        return torch.stack([-score, score], dim=1)

    assert prediction_agreement(by_first_column, x, Identity(), Identity()) == 1.0
    swapped = prediction_agreement(by_first_column, x, Identity(), lambda z: z.flip(-1))
    assert swapped == 0.0


@pytest.mark.parametrize(("config", "word"), [
    (dict(channels=()), "channels"),
    (dict(padding="zeros"), "padding"),
    (dict(global_pool="median"), "global_pool"),
    (dict(stride=0), "stride"),
])
def test_bad_configs_are_refused(config, word):
    with pytest.raises((ValueError, TypeError), match=word):
        ConvNetConfig(**config)


def test_training_refuses_labels_that_do_not_match_the_images():
    model = ConvNet()
    with pytest.raises(ValueError, match="labels"):
        train(model, _images(4, 8), torch.zeros(3, dtype=torch.long), epochs=1)
    with pytest.raises(TypeError, match="labels"):
        train(model, _images(4, 8), torch.zeros(4), epochs=1)


def test_the_squeeze_excitation_block_refuses_inputs_it_cannot_pool():
    from shiftlab.models import SqueezeExcitation

    with pytest.raises(ValueError, match="channels"):
        SqueezeExcitation(4)(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="x"):
        SqueezeExcitation(4)(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="reduction"):
        SqueezeExcitation(4, reduction=0)
    with pytest.raises(TypeError, match="seed"):
        SqueezeExcitation(4, seed="1")
    assert SqueezeExcitation(4, seed=2)(torch.ones(2, 4, 3, 3)).shape == (2, 4, 3, 3)
