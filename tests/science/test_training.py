"""shiftlab.training: the plain loop, the vectorised runs over seeds, and rates over runs."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftlab.data import glyph_images
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.restoring import DownsamplingConfig, DownsamplingNet
from shiftlab.rook import RookNet, RookNetConfig, rook_images
from shiftlab.segmentation import SegmentationConfig, SegmentationNet, glyph_segmentation
from shiftlab.training import Recipe, Runs, accuracy, rate_interval, train, train_runs

IMAGES, LABELS = glyph_images(48, 8, noise=0.2, seed=0)


def _params(model):
    return {name: p.detach() for name, p in model.named_parameters()}


def _same_as_plain_loop(build, seeds, images, labels, atol, **recipe):
    runs = train_runs(build, seeds, images, labels, **recipe)
    for k, seed in enumerate(seeds):
        model = build(seed)
        losses = train(model, images, labels, seed=seed, **recipe)
        for name, p in _params(model).items():
            assert torch.allclose(runs.params[name][k], p, atol=atol), name
        assert torch.allclose(runs.losses[:, k], torch.tensor(losses, dtype=torch.float64),
                              atol=atol)
    return runs


@pytest.mark.parametrize("shuffle", [True, False])
def test_runs_are_the_plain_loop_with_minibatch_sgd(shuffle):
    config = ConvNetConfig(channels=(4,), stride=2, global_pool="max")
    _same_as_plain_loop(lambda s: ConvNet(config, seed=s), (0, 5, 9), IMAGES, LABELS, 1e-5,
                        epochs=3, lr=0.05, batch_size=10, shuffle=shuffle)


def test_runs_are_the_plain_loop_with_full_batch_adam():
    config = DownsamplingConfig("aps", "circular", channels=(3, 4))
    _same_as_plain_loop(lambda s: DownsamplingNet(config, seed=s), (1, 2), IMAGES, LABELS,
                        1e-5, epochs=6, lr=0.05, batch_size=len(IMAGES), optimizer="adam")


@pytest.mark.parametrize("batch_size", [8, 24])
def test_runs_are_the_plain_loop_with_per_pixel_labels(batch_size):
    # a segmentation network scores every pixel; 24 is the whole set (the shared-input path)
    images, masks = glyph_segmentation(24, 12, glyphs=2, seed=4)
    config = SegmentationConfig("aps", "aps-u", channels=(3, 4))
    runs = _same_as_plain_loop(lambda s: SegmentationNet(config, seed=s), (1, 2), images, masks,
                               1e-5, epochs=3, lr=0.02, batch_size=batch_size,
                               optimizer="adam")
    assert runs.logits(images).shape == (2, 24, 3, 12, 12)
    for k in range(2):
        assert runs.accuracy(images, masks)[k] == pytest.approx(
            accuracy(runs.model(k), images, masks))


def test_runs_are_the_plain_loop_with_batch_size_1_on_the_rook():
    images, labels = rook_images()
    _same_as_plain_loop(lambda s: RookNet(RookNetConfig(padding="valid"), seed=s), (0, 4),
                        images, labels, 1e-4, epochs=20, lr=0.1, batch_size=1)


def test_the_written_out_sgd_is_torch_optims():
    model, reference = ConvNet(seed=3), ConvNet(seed=3)
    train(model, IMAGES, LABELS, epochs=2, lr=0.05, batch_size=12, momentum=0.9, seed=1)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(1)
    for _ in range(2):
        for batch in torch.randperm(len(IMAGES), generator=generator).split(12):
            loss = torch.nn.functional.cross_entropy(reference(IMAGES[batch]), LABELS[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_the_written_out_adam_is_torch_optims():
    model, reference = ConvNet(seed=4), ConvNet(seed=4)
    train(model, IMAGES, LABELS, epochs=5, lr=0.02, batch_size=len(IMAGES), optimizer="adam")
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.02)
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(reference(IMAGES), LABELS)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_frozen_parameters_stay_as_built():
    def build(seed):
        model = ConvNet(ConvNetConfig(channels=(3,)), seed=seed)
        for p in model.weights.parameters():
            p.requires_grad_(False)
        return model

    runs = train_runs(build, (0, 1), IMAGES, LABELS, epochs=2, lr=0.1)
    for k in (0, 1):
        assert torch.equal(runs.params["weights.0"][k], build(k).weights[0])
        assert not torch.equal(runs.params["head.weight"][k], build(k).head.weight)


def test_the_snapshots_run_from_the_start_to_the_end_and_rebuild_every_model():
    runs = train_runs(lambda s: ConvNet(ConvNetConfig(channels=(3,)), seed=s), (2, 7), IMAGES,
                      LABELS, epochs=3, lr=0.05, history=True)
    assert isinstance(runs, Runs) and len(runs) == 2 and runs.losses.shape == (3, 2)
    assert len(runs.snapshots) == 4
    assert torch.equal(runs.snapshots[0]["head.weight"][1], ConvNet(
        ConvNetConfig(channels=(3,)), seed=7).head.weight)
    model = runs.model(1)
    assert torch.allclose(runs.logits(IMAGES)[1], model(IMAGES), atol=1e-6)
    start = runs.model(0, epoch=0)
    assert torch.allclose(runs.logits(IMAGES, epoch=0)[0], start(IMAGES), atol=1e-6)
    accuracy = runs.accuracy(IMAGES, LABELS)
    assert accuracy.shape == (2,) and accuracy.dtype == torch.float64
    assert accuracy[1] == (model(IMAGES).argmax(1) == LABELS).double().mean()


def test_an_augment_draws_each_epochs_images_and_the_identity_changes_nothing():
    config = ConvNetConfig(channels=(3,), stride=2, global_pool="max")
    build = lambda s: ConvNet(config, seed=s)  # noqa: E731
    plain = train_runs(build, (0, 1), IMAGES, LABELS, epochs=3, batch_size=16)
    epochs = []

    def identity(images, epoch):
        epochs.append(epoch)
        return images

    same = train_runs(build, (0, 1), IMAGES, LABELS, epochs=3, batch_size=16, augment=identity)
    assert epochs == [0, 1, 2]
    for name, p in plain.params.items():
        assert torch.equal(same.params[name], p), name
    # epoch e on augment(images, e): run k is the plain loop over those images, epoch by epoch
    flipped = train_runs(build, (0,), IMAGES, LABELS, epochs=1, batch_size=16,
                         augment=lambda images, epoch: images.flip(-1))
    by_hand = build(0)
    train(by_hand, IMAGES.flip(-1), LABELS, epochs=1, batch_size=16, seed=0)
    for name, p in _params(by_hand).items():
        assert torch.allclose(flipped.params[name][0], p, atol=1e-5), name


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: Recipe(0), ValueError, "epochs"),
    (lambda: Recipe(1, optimizer="rmsprop"), ValueError, "optimizer"),
    (lambda: Recipe(1, betas=(0.9,)), TypeError, "betas"),
    (lambda: Recipe(1, betas=(1.0, 0.9)), ValueError, "betas"),
    (lambda: Recipe(1, shuffle=1), TypeError, "shuffle"),
    (lambda: Recipe(1, batch_size=0), ValueError, "batch_size"),
    (lambda: train(ConvNet(), IMAGES, LABELS, epochs=1, optimizer="lbfgs"), ValueError,
     "optimizer"),
    (lambda: train_runs(3, (0,), IMAGES, LABELS, epochs=1), TypeError, "build"),
    (lambda: train_runs(ConvNet, (), IMAGES, LABELS, epochs=1), ValueError, "seeds"),
    (lambda: train_runs(ConvNet, "01", IMAGES, LABELS, epochs=1), ValueError, "seeds"),
    (lambda: train_runs(ConvNet, (0.5,), IMAGES, LABELS, epochs=1), TypeError, "seeds"),
    (lambda: train_runs(lambda s: ConvNet(seed=s), (0,), IMAGES, LABELS[:3], epochs=1),
     ValueError, "labels"),
    (lambda: train_runs(lambda s: ConvNet(seed=s) if s else RookNet(), (0, 1), IMAGES, LABELS,
                        epochs=1), TypeError, "architecture"),
    (lambda: train_runs(lambda s: torch.nn.BatchNorm2d(1), (0,), IMAGES, LABELS, epochs=1),
     ValueError, "buffers"),
    (lambda: train_runs(lambda s: ConvNet(seed=s), (0,), IMAGES, LABELS, epochs=1).logits(
        IMAGES, epoch=0), ValueError, "history"),
    (lambda: train_runs(lambda s: ConvNet(seed=s), (0,), IMAGES, LABELS, epochs=1).model(1),
     ValueError, "run"),
    (lambda: train_runs(lambda s: ConvNet(seed=s), (0,), IMAGES, LABELS, epochs=1,
                        history=True).model(0, epoch=5), ValueError, "epoch"),
    (lambda: train_runs(lambda s: ConvNet(seed=s), (0,), IMAGES, LABELS, epochs=1,
                        augment=3), TypeError, "augment"),
    (lambda: train_runs(lambda s: ConvNet(seed=s), (0,), IMAGES, LABELS, epochs=1,
                        augment=lambda x, e: x[:2]), ValueError, "augment"),
    (lambda: train_runs(lambda s: ConvNet(seed=s), (0,), IMAGES, LABELS, epochs=1,
                        augment=lambda x, e: x * float("nan")), ValueError, "augment"),
    (lambda: rate_interval(6, 5), ValueError, "successes"),
    (lambda: rate_interval(1, 0), ValueError, "runs"),
    (lambda: rate_interval(1, 5, level=1.0), ValueError, "level"),
    (lambda: rate_interval(1.0, 5), TypeError, "successes"),
])
def test_bad_arguments_raise_errors_that_name_them(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_interval_of_five_of_five_reaches_down_below_one_half():
    low, high = rate_interval(5, 5)
    assert math.isclose(low, 0.025 ** (1 / 5), rel_tol=1e-9) and high == 1
    assert rate_interval(0, 5) == (0.0, pytest.approx(1 - 0.025 ** (1 / 5), rel=1e-9))


@settings(max_examples=40)
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_the_interval_ends_leave_the_stated_tail_probability(count, level):
    k, n = count
    low, high = rate_interval(k, n, level)
    tail = (1 - level) / 2

    def at_most(j, p):
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(j + 1))

    assert 0 <= low <= k / n <= high <= 1
    if k > 0:
        assert math.isclose(1 - at_most(k - 1, low), tail, abs_tol=1e-9)
    if k < n:
        assert math.isclose(at_most(k, high), tail, abs_tol=1e-9)
    mirrored = rate_interval(n - k, n, level)
    assert math.isclose(low, 1 - mirrored[1], abs_tol=1e-9)
