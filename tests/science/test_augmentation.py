"""Chapter 9's science: the laws of shiftlab.augmentation (moved digits, parts, the stride
subgroup of the chapter's networks) and the argument checks of its functions and figures."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftlab.augmentation import (
    CANVAS,
    LOCAL_POOL,
    TOP_HALF,
    VARIANTS,
    accuracy_by_shift,
    displace_part,
    flip_rates,
    moved,
    network,
    part_sensitivity,
    train_variants,
)
from shiftlab.data import gaussian_images
from shiftlab.figures.augmentation import accuracy_curves, flip_curves, prediction_explorer
from shiftlab.metrics import exact_tolerance, relative_error
from shiftlab.models import ConvNetConfig
from shiftlab.restoring import DownsamplingConfig
from shiftlab.transforms import shift


@pytest.mark.law
@given(st.integers(0, 3), st.integers(0, 10_000), st.integers(1, 2))
def test_augmentation_moves_each_image_by_its_own_shift_within_the_range(a, seed, copies):
    images = gaussian_images(6, 8, channels=2, seed=seed)
    out = moved(images, a, seed=seed, copies=copies)
    assert out.shape == (copies * 6, 2, 8, 8)
    for k in range(len(out)):
        source = images[k % 6 : k % 6 + 1]
        assert any(torch.equal(shift(source, (dy, dx)), out[k : k + 1])
                   for dy in range(-a, a + 1) for dx in range(-a, a + 1))
    assert torch.equal(out, moved(images, a, seed=seed, copies=copies))


def test_augmentation_draws_every_shift_of_the_range():
    x = torch.zeros(400, 1, 9, 9)
    x[:, 0, 4, 4] = 1
    out = moved(x, 2, seed=0)
    where = out[:, 0].flatten(1).argmax(dim=1)
    offsets = {(int(i) // 9 - 4, int(i) % 9 - 4) for i in where}
    assert offsets == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}


@pytest.mark.law
@given(st.integers(0, 10_000), st.integers(-3, 3), st.integers(0, 7), st.integers(1, 8))
def test_a_displaced_part_moves_its_rows_only_and_moves_back(seed, t, start, length):
    images = gaussian_images(3, 8, channels=2, seed=seed, dtype=torch.float64)
    stop = min(start + length, 8)
    out = displace_part(images, t, (start, stop))
    assert torch.equal(out[..., :start, :], images[..., :start, :])
    assert torch.equal(out[..., stop:, :], images[..., stop:, :])
    assert torch.equal(out[..., start:stop, :], shift(images, (0, t))[..., start:stop, :])
    assert torch.equal(displace_part(out, -t, (start, stop)), images)


def test_displacing_the_whole_image_is_the_horizontal_shift():
    x = gaussian_images(2, 6, seed=1)
    assert torch.equal(displace_part(x, 2, (0, 6)), shift(x, (0, 2)))


def _scores_and_flips(net, x, t):
    with torch.no_grad():
        before, after = net(x), net(shift(x, t))
    error = relative_error(after, before, batched=True)
    return error, flip_rates(net, x, [t])[0]


@pytest.mark.law
@settings(max_examples=10)  # a network per case: a few cases suffice for a law
@given(st.integers(0, 10_000), st.integers(-2, 2), st.integers(-2, 2))
def test_the_circular_strided_network_ignores_shifts_by_multiples_of_its_total_stride(
        seed, ky, kx):
    x = gaussian_images(4, CANVAS, seed=seed + 50)  # seeds the chapter does not use
    net = network(VARIANTS["circular"], seed=seed % 997 + 100)
    error, flips = _scores_and_flips(net, x, (4 * ky, 4 * kx))
    assert (error <= exact_tolerance(torch.float32)).all() and flips == 0


@pytest.mark.law
@settings(max_examples=10)  # a network per case: a few cases suffice for a law
@given(st.integers(0, 10_000), st.integers(-5, 5), st.integers(-5, 5))
def test_the_aps_network_ignores_every_circular_shift(seed, dy, dx):
    x = gaussian_images(4, CANVAS, seed=seed + 50)
    net = network(VARIANTS["APS"], seed=seed % 997 + 100)
    error, flips = _scores_and_flips(net, x, (dy, dx))
    assert (error <= exact_tolerance(torch.float32)).all() and flips == 0


@pytest.mark.law
@settings(max_examples=10)  # a network per case: a few cases suffice for a law
@given(st.integers(0, 10_000), st.integers(-3, 3), st.integers(-3, 3))
def test_a_global_max_after_local_max_pools_ignores_shifts_by_multiples_of_2(seed, ky, kx):
    # the max over the windows of the last pool is the max of the map before it
    config = ConvNetConfig(channels=(8, 16), padding="circular", local_pool=True, classes=10,
                           global_pool="max")
    x = gaussian_images(4, CANVAS, seed=seed + 50)
    net = network(config, seed=seed % 997 + 100)
    change = part_sensitivity(net, x, shift(x, (2 * ky, 2 * kx)))
    assert change["pooled features"] <= exact_tolerance(torch.float32)
    assert change["prediction"] == 0


def test_nothing_changes_when_nothing_moves():
    x = gaussian_images(4, CANVAS, seed=3)
    for config in (VARIANTS["baseline"], LOCAL_POOL):
        change = part_sensitivity(network(config, seed=1), x, x.clone())
        assert change == {"feature map": 0.0, "pooled features": 0.0, "prediction": 0.0}


def test_accuracy_by_shift_is_the_accuracy_of_the_shifted_images():
    x = gaussian_images(20, CANVAS, seed=4)
    labels = torch.arange(20) % 10
    net = network(VARIANTS["baseline"], seed=2)
    got = accuracy_by_shift(net, x, labels, [(0, 0), (1, -2)])
    with torch.no_grad():
        want = [(net(shift(x, t)).argmax(-1) == labels).double().mean() for t in [(0, 0), (1, -2)]]
    assert torch.equal(got, torch.stack(want))


def test_train_variants_moves_the_training_digits_when_asked():
    x = gaussian_images(12, CANVAS, seed=5)
    labels = torch.arange(12) % 10
    small = {"baseline": VARIANTS["baseline"]}
    plain = train_variants(small, (x, labels), seeds=(0, 1), epochs=1)
    again = train_variants(small, (x, labels), seeds=(0, 1), epochs=1)
    augmented = train_variants(small, (x, labels), seeds=(0, 1), epochs=1, max_shift=2)
    assert len(plain["baseline"]) == 2
    assert torch.equal(plain["baseline"].logits(x), again["baseline"].logits(x))
    assert not torch.equal(plain["baseline"].logits(x), augmented["baseline"].logits(x))


X = torch.zeros(2, 1, 8, 8)
NET = network(VARIANTS["baseline"])
BAD_CALLS = [
    (lambda: moved(X[0, 0], 1), ValueError, "images"),
    (lambda: moved(X, 8), ValueError, "max_shift"),
    (lambda: moved(X, 1.5), TypeError, "max_shift"),
    (lambda: moved(X, 1, copies=0), ValueError, "copies"),
    (lambda: network("baseline"), TypeError, "config"),
    (lambda: train_variants({}, (X, torch.zeros(2, dtype=torch.long))), ValueError, "variants"),
    (lambda: train_variants({"a": "b"}, (X, torch.zeros(2, dtype=torch.long))), TypeError,
     "variants"),
    (lambda: flip_rates(NET, X, []), ValueError, "shifts"),
    (lambda: flip_rates(NET, X, [(0, 0.5)]), TypeError, "shifts"),
    (lambda: flip_rates("net", X, [(0, 1)]), TypeError, "model"),
    (lambda: flip_rates(lambda z: z.sum(), X, [(0, 1)]), ValueError, "model"),
    (lambda: accuracy_by_shift(NET, X, torch.zeros(3, dtype=torch.long), [(0, 1)]), ValueError,
     "labels"),
    (lambda: displace_part(X, 1, (4, 2)), ValueError, "rows"),
    (lambda: displace_part(X, 1, [0, 2]), TypeError, "rows"),
    (lambda: displace_part(X, 0.5, TOP_HALF), TypeError, "t"),
    (lambda: part_sensitivity(NET, X, X[:1]), ValueError, "changed"),
    (lambda: part_sensitivity(torch.nn.Linear(2, 2), X, X), TypeError, "net"),
    (lambda: flip_curves({"a": torch.zeros(2, 3)}, [0, 1], period=4, title="t"), ValueError,
     "values"),
    (lambda: flip_curves({"a": torch.zeros(2, 2)}, [0, 1], period=0, title="t"), ValueError,
     "period"),
    (lambda: accuracy_curves({"a": torch.zeros(2, 2)}, [0, 0.5], title="t"), TypeError, "steps"),
    (lambda: prediction_explorer(X, torch.zeros(2), {}, [(0, 1)], title="t"), ValueError,
     "predictors"),
    (lambda: prediction_explorer(X, torch.zeros(2), {"a": 3}, [(0, 1)], title="t"), TypeError,
     "predictors"),
]


@pytest.mark.parametrize(("call", "error", "name"), BAD_CALLS)
def test_bad_arguments_raise_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_the_chapters_configurations_are_what_the_chapter_says():
    assert set(VARIANTS) == {"baseline", "blur", "APS", "circular"}
    assert all(isinstance(c, DownsamplingConfig) and c.channels == (8, 16) and c.classes == 10
               for c in VARIANTS.values())
    assert VARIANTS["blur"].blur_size == 2 and VARIANTS["APS"].padding == "circular"
    assert LOCAL_POOL.local_pool and LOCAL_POOL.stride == 1 and LOCAL_POOL.channels == (8, 16)
