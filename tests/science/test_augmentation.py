"""Chapter 9's science: the laws of shiftlab.augmentation (moved digits, parts, the stride
subgroup of the chapter's networks) and the argument checks of its functions and figures."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftlab.augmentation import (
    CANVAS,
    LOCAL_POOL,
    RECIPE,
    TOP_HALF,
    VARIANTS,
    WIDTHS,
    DenseHeadConfig,
    DenseHeadNet,
    accuracy_by_shift,
    accuracy_of,
    changed_fraction,
    displace_part,
    flip_rates,
    gradient_gap,
    moved,
    network,
    part_sensitivity,
    predictions_by_shift,
    table_row,
    train_variants,
)
from shiftlab.data import gaussian_images
from shiftlab.figures.augmentation import (
    accuracy_curves,
    flip_curves,
    learning_curves,
    prediction_explorer,
)
from shiftlab.metrics import exact_tolerance, relative_error
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.restoring import DownsamplingConfig
from shiftlab.training import train_runs
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


def test_train_variants_moves_the_training_digits_anew_every_epoch():
    x = gaussian_images(12, CANVAS, seed=5)
    labels = torch.arange(12) % 10
    small = {"baseline": VARIANTS["baseline"]}
    plain = train_variants(small, (x, labels), seeds=(0, 1), epochs=2)
    again = train_variants(small, (x, labels), seeds=(0, 1), epochs=2)
    augmented = train_variants(small, (x, labels), seeds=(0, 1), epochs=2, max_shift=2,
                               shift_seed=3)
    assert len(plain["baseline"]) == 2
    assert torch.equal(plain["baseline"].logits(x), again["baseline"].logits(x))
    assert not torch.equal(plain["baseline"].logits(x), augmented["baseline"].logits(x))
    # epoch e trains on moved(x, 2, seed=shift_seed + e), the same for every run
    drawn = []

    def augment(images, epoch):
        drawn.append(epoch)
        return moved(images, 2, seed=3 + epoch)

    by_hand = train_runs(lambda s: network(VARIANTS["baseline"], s), (0, 1), x, labels,
                         **{**RECIPE, "epochs": 2}, augment=augment)
    assert drawn == [0, 1]
    assert torch.equal(by_hand.logits(x), augmented["baseline"].logits(x))


@pytest.mark.law
@settings(max_examples=8)  # a network per case: a few cases suffice for a law
@given(st.integers(0, 10_000), st.integers(-4, 4), st.integers(-4, 4))
def test_aps_takes_the_same_training_step_on_moved_digits(seed, dy, dx):
    # its scores do not change under a circular shift, so neither do its loss and gradient
    x = gaussian_images(8, CANVAS, seed=seed + 50)
    labels = torch.arange(8) % 10
    moved_x = shift(x, (dy, dx))
    aps = network(VARIANTS["APS"], seed=seed % 997 + 100)
    assert gradient_gap(aps, x, labels, moved_x) <= 1e-4
    assert gradient_gap(aps, x, labels, x) == 0


def test_a_shift_off_the_subgroup_changes_the_baselines_gradient():
    x = gaussian_images(8, CANVAS, seed=7)
    labels = torch.arange(8) % 10
    base = network(VARIANTS["baseline"], seed=3)
    assert gradient_gap(base, x, labels, shift(x, (0, 1))) > 0.05


def test_the_dense_head_reads_the_baselines_convolutions_and_the_whole_map():
    config = DenseHeadConfig()
    net = DenseHeadNet(config, seed=4)
    plain = ConvNet(config.convolutions, seed=4)
    for mine, theirs in zip(net.weights, plain.weights, strict=True):
        assert torch.equal(mine, theirs)
    assert net.head.in_features == config.features == WIDTHS[-1] * (CANVAS // 4) ** 2
    x = gaussian_images(4, CANVAS, seed=2)
    assert net(x).shape == (4, 10)
    assert torch.equal(net(x), net.head(net.features(x).flatten(1)))


@pytest.mark.law
@settings(max_examples=8)
@given(st.integers(0, 10_000), st.integers(1, 3), st.integers(-3, 3))
def test_the_dense_head_is_not_invariant_even_to_shifts_by_the_total_stride(seed, ky, kx):
    # nothing in a dense head forgets where a feature is: a shift by 4 moves every feature
    # to another weight (unlike the global pool, which ignores it on the torus)
    x = gaussian_images(4, CANVAS, seed=seed + 50)
    net = network(DenseHeadConfig(padding="circular"), seed=seed % 997 + 100)
    with torch.no_grad():
        error = relative_error(net(shift(x, (4 * ky, 4 * kx))), net(x), batched=True)
    assert (error > 1e-3).all()


def test_predictions_by_shift_feed_the_flip_rates_and_the_accuracies():
    x = gaussian_images(20, CANVAS, seed=4)
    labels = torch.arange(20) % 10
    net = network(VARIANTS["baseline"], seed=2)
    shifts = [(0, 0), (1, -2), (0, 4)]
    predictions = predictions_by_shift(net, x, shifts)
    assert predictions.shape == (3, 20) and predictions.dtype == torch.long
    assert torch.equal(changed_fraction(predictions), flip_rates(net, x, shifts[1:]))
    assert torch.equal(accuracy_of(predictions, labels), accuracy_by_shift(net, x, labels, shifts))


def test_the_tables_columns_count_what_they_say():
    x = gaussian_images(16, CANVAS, seed=6)
    labels = torch.arange(16) % 10
    runs = train_runs(lambda s: network(VARIANTS["APS"], s), (0, 1), x, labels, epochs=1,
                      batch_size=8)
    row = table_row(runs, (x, labels), margin=3, seed=5)
    # APS on the torus: the same answer under both moves, and on the moved digits
    assert torch.equal(row["consistency"], torch.ones(2, dtype=torch.float64))
    assert torch.equal(row["moved accuracy"], row["accuracy"])
    first = runs.logits(moved(x, 3, seed=7)).argmax(-1)
    assert torch.equal(row["moved accuracy"], (first == labels).double().mean(-1))


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
    (lambda: learning_curves({"p": {"a": torch.zeros(2, 3), "b": torch.zeros(2, 2)}},
                             title="t"), ValueError, "panels"),
    (lambda: DenseHeadConfig(size=10), ValueError, "size"),
    (lambda: DenseHeadNet(ConvNetConfig()), TypeError, "config"),
    (lambda: DenseHeadNet(DenseHeadConfig(size=16))(torch.zeros(2, 1, 8, 8)), ValueError, "x"),
    (lambda: gradient_gap(NET, X, torch.zeros(2), X), ValueError, "labels"),
    (lambda: gradient_gap(NET, X, torch.zeros(2, dtype=torch.long), X[:1]), ValueError,
     "changed"),
    (lambda: changed_fraction(torch.zeros(3)), ValueError, "predictions"),
    (lambda: accuracy_of(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, dtype=torch.long)),
     ValueError, "labels"),
]


@pytest.mark.parametrize(("call", "error", "name"), BAD_CALLS)
def test_bad_arguments_raise_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_the_chapters_configurations_are_what_the_chapter_says():
    assert WIDTHS == (16, 32)
    assert set(VARIANTS) == {"baseline", "blur", "APS", "circular"}
    assert all(isinstance(c, DownsamplingConfig) and c.channels == WIDTHS and c.classes == 10
               for c in VARIANTS.values())
    assert VARIANTS["blur"].blur_size == 2 and VARIANTS["APS"].padding == "circular"
    assert LOCAL_POOL.local_pool and LOCAL_POOL.stride == 1 and LOCAL_POOL.channels == WIDTHS
    assert DenseHeadConfig().convolutions.stride == 2 and DenseHeadConfig().size == CANVAS
    assert RECIPE == {"epochs": 3, "lr": 0.01, "batch_size": 32, "optimizer": "adam",
                      "history": True}
