"""Surviving pooled values (shiftlab.pooling), the glyph task (shiftlab.data) and the pooling
figures (shiftlab.figures.pooling): laws, exact values and argument validation."""

import itertools
from fractions import Fraction

import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from shiftlab.data import CLASSES, GLYPHS, glyph_images
from shiftlab.figures import slider
from shiftlab.figures.pooling import shift_maps, survival_explorer, survivor_histogram
from shiftlab.layers import max_pool
from shiftlab.metrics import fraction_exact, invariance_error, prediction_agreement
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.pooling import (
    changes_by_shift,
    pooled_shift,
    row_survival_probability,
    survival_probability,
    surviving,
    surviving_fraction,
)
from shiftlab.training import train_runs
from shiftlab.transforms import Identity, Shift, shift, translate


@given(st.integers(-20, 20), st.integers(-20, 20), st.integers(1, 5))
def test_pooled_shift_is_the_whole_number_of_windows(dy, dx, size):
    qy, qx = pooled_shift((dy, dx), size)
    assert 0 <= dy - size * qy < size and 0 <= dx - size * qx < size


@given(st.integers(-20, 20), st.integers(-20, 20), st.integers(1, 5))
def test_survival_probability_is_shared_over_union_and_one_on_the_stride_lattice(dy, dx, size):
    p = survival_probability((dy, dx), size)
    shared = (size - dy % size) * (size - dx % size)
    assert p == Fraction(shared, 2 * size**2 - shared)
    assert (p == 1) == (dy % size == 0 and dx % size == 0)
    assert survival_probability((dy + size, dx - size), size) == p


@given(st.integers(-9, 9), st.integers(-9, 9), st.integers(1, 4), st.integers(1, 4),
       st.integers(2, 3))
def test_survival_probability_knows_the_sides_of_the_image(dy, dx, rows, columns, size):
    p = survival_probability((dy, dx), size, sides=(rows * size, columns * size))
    overlap = [size if n == 1 else size - d % size for d, n in ((dy, rows), (dx, columns))]
    shared = overlap[0] * overlap[1]
    assert p == Fraction(shared, 2 * size**2 - shared)
    if rows > 1 and columns > 1:
        assert p == survival_probability((dy, dx), size)


def test_one_window_is_mapped_onto_itself_and_survives_every_shift():
    for t in [(0, 1), (1, 0), (1, 1)]:
        assert survival_probability(t, 2, sides=(2, 2)) == 1
        assert surviving(torch.randn(50, 1, 2, 2, generator=torch.Generator().manual_seed(0)),
                         t).all()
    assert survival_probability((1, 1), 2, sides=(2, 16)) == Fraction(1, 3)
    assert survival_probability((1, 0), 2, sides=(2, 16)) == 1


@given(st.integers(-6, 6), st.integers(-6, 6))
def test_zero_fill_survival_compares_with_the_translated_pooled_map(dy, dx):
    x = torch.randn(2, 1, 8, 6, generator=torch.Generator().manual_seed(dy * 13 + dx))
    kept = surviving(x, (dy, dx), zero_fill=True)
    moved = translate(max_pool(x, 2), pooled_shift((dy, dx)))
    assert torch.equal(kept, max_pool(translate(x, (dy, dx)), 2) == moved)
    assert surviving_fraction(x, (dy, dx), zero_fill=True) == kept.double().mean().item()


def test_survival_probability_of_2x2_pooling_is_a_third_and_a_seventh():
    assert survival_probability((0, 1)) == Fraction(1, 3)
    assert survival_probability((1, 0)) == Fraction(1, 3)
    assert survival_probability((1, 1)) == Fraction(1, 7)
    assert survival_probability((0, 2)) == 1


def _survives(values, n):
    """Exhaustive check: do the column maxima ``values`` (length 2n) have a peak at every even
    column around the cycle?"""
    m = 2 * n
    return all(values[2 * j] > values[2 * j - 1] and values[2 * j] > values[(2 * j + 1) % m]
               for j in range(n))


@pytest.mark.parametrize(("n", "exact"), [(2, Fraction(1, 6)), (3, Fraction(1, 15)),
                                          (4, Fraction(17, 630))])
def test_row_survival_probability_equals_the_count_over_all_orderings(n, exact):
    orderings = list(itertools.permutations(range(2 * n)))
    count = sum(_survives(p, n) for p in orderings)
    assert Fraction(count, len(orderings)) == exact
    assert row_survival_probability(n) == pytest.approx(float(exact), rel=1e-10)


def test_row_survival_probability_decays_by_four_over_pi_squared_per_window():
    ratios = [row_survival_probability(n + 1) / row_survival_probability(n) for n in range(2, 30)]
    assert all(0.39 < r < 0.41 for r in ratios)  # not the 1/3 of independent windows
    assert ratios[-1] == pytest.approx(4 / torch.pi**2, rel=1e-6)


@given(st.integers(0, 2**31 - 1), st.integers(-6, 6), st.integers(-6, 6))
def test_surviving_marks_the_values_equal_to_the_moved_pooled_map(seed, dy, dx):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 8, 6, generator=generator)
    kept = surviving(x, (dy, dx))
    assert kept.shape == (2, 3, 4, 3) and kept.dtype == torch.bool
    moved = shift(max_pool(x, 2), pooled_shift((dy, dx)))
    assert torch.equal(kept, max_pool(shift(x, (dy, dx)), 2) == moved)
    assert surviving_fraction(x, (dy, dx)) == kept.double().mean().item()


def test_a_constant_image_survives_every_shift():
    assert surviving(torch.ones(6, 6), (1, 1)).all()


BAD = [
    (lambda: surviving(torch.zeros(5, 6), (0, 1)), ValueError, "multiples"),
    (lambda: surviving([[0.0]], (0, 1)), TypeError, "x"),
    (lambda: surviving(torch.zeros(4, 4), (0.5, 1)), TypeError, "dy"),
    (lambda: surviving(torch.zeros(4, 4), (0, 1), 0), ValueError, "size"),
    (lambda: surviving_fraction(torch.zeros(4, 4, dtype=torch.long), (0, 1)), TypeError, "x"),
    (lambda: survival_probability((0, 1), size=2.0), TypeError, "size"),
    (lambda: survival_probability(1), TypeError, "t"),
    (lambda: survival_probability((0, 1), 2, sides=(3, 4)), ValueError, "sides"),
    (lambda: survival_probability((0, 1), 2, sides=(0, 4)), ValueError, "sides"),
    (lambda: survival_probability((0, 1), 2, sides=4), TypeError, "sides"),
    (lambda: surviving(torch.zeros(4, 4), (0, 1), zero_fill=1), TypeError, "zero_fill"),
    (lambda: pooled_shift((0, 1), -1), ValueError, "size"),
    (lambda: row_survival_probability(1), ValueError, "n"),
    (lambda: row_survival_probability(2.5), TypeError, "n"),
    (lambda: row_survival_probability(3, terms=0), ValueError, "terms"),
    (lambda: changes_by_shift("model", torch.zeros(2, 1, 4, 4), 2), TypeError, "model"),
    (lambda: changes_by_shift(lambda x: x, torch.zeros(4, 4), 2), ValueError, "images"),
    (lambda: changes_by_shift(lambda x: x, torch.zeros(2, 1, 4, 4), 2), ValueError, "scores"),
    (lambda: changes_by_shift(lambda x: x[0, 0], torch.zeros(2, 1, 4, 4), 2),
     ValueError, "scores"),
    (lambda: changes_by_shift(lambda x: x[:, 0, 0], torch.zeros(2, 1, 4, 4), 0), ValueError,
     "size"),
    (lambda: glyph_images(0), ValueError, "n"),
    (lambda: glyph_images(4, size=2), ValueError, "size"),
    (lambda: glyph_images(4, noise=-1.0), ValueError, "noise"),
    (lambda: glyph_images(4, seed=1.5), TypeError, "seed"),
    (lambda: glyph_images(4, dtype=torch.long), TypeError, "dtype"),
    (lambda: shift_maps({}), ValueError, "maps"),
    (lambda: shift_maps({"a": torch.zeros(3)}), ValueError, "maps"),
    (lambda: survivor_histogram({}, 64, {}), ValueError, "counts"),
    (lambda: survival_explorer(torch.zeros(4, 4), [], torch.zeros(2, 2)), ValueError, "shifts"),
    (lambda: survival_explorer(torch.zeros(1, 1, 4, 4), [(0, 1)], torch.zeros(2, 2)),
     ValueError, "x"),
]


@pytest.mark.parametrize(("call", "error", "word"), BAD)
def test_bad_arguments_are_refused_with_a_message_naming_them(call, error, word):
    with pytest.raises(error, match=word):
        call()
    plt.close("all")


def test_glyph_images_are_a_shifted_glyph_and_the_labels_say_which():
    images, labels = glyph_images(40, 10, noise=0.0, seed=3)
    assert images.shape == (40, 1, 10, 10) and labels.dtype == torch.long
    assert set(labels.tolist()) == {0, 1}
    for image, label in zip(images[:, 0], labels, strict=True):
        stamp = torch.zeros(10, 10)
        stamp[:3, :3] = GLYPHS[CLASSES[label]]
        assert any(torch.equal(image, shift(stamp, (dy, dx)))
                   for dy in range(10) for dx in range(10))


def test_glyph_images_are_deterministic_and_the_seed_matters():
    first, labels = glyph_images(8, seed=5)
    again, labels_again = glyph_images(8, seed=5)
    assert torch.equal(first, again) and torch.equal(labels, labels_again)
    assert not torch.equal(first, glyph_images(8, seed=6)[0])


def test_glyph_positions_cover_the_torus():
    images, _ = glyph_images(2000, 8, noise=0.0, seed=0)
    assert (images.sum(dim=0)[0] > 0).all()  # every pixel is lit in some image


def test_the_two_glyphs_have_the_same_number_of_lit_pixels():
    assert [int(g.sum()) for g in GLYPHS.values()] == [5, 5]


def test_the_survival_explorer_draws_one_distinct_frame_per_shift():
    x = torch.randn(8, 8, generator=torch.Generator().manual_seed(0))
    fractions = torch.tensor([[1.0, 1 / 3], [1 / 3, 1 / 7]])
    shifts = [(0, 0), (0, 1), (1, 1)]
    fig, update = survival_explorer(x, shifts, fractions)
    result = slider(fig, update, shifts, label="shift")
    assert len(result) == 3 and len(set(result.frames)) == 3


def test_the_figures_return_closed_figures_with_one_panel_per_entry():
    maps = {"a": torch.rand(3, 3), "b": torch.zeros(3, 3)}
    fig = shift_maps(maps, title="t")
    assert len(fig.axes) == 2
    counts = {"(0, 1)": torch.randint(0, 64, (50,))}
    fig = survivor_histogram(counts, 64, {"(0, 1)": 21.3})
    assert fig.axes[0].get_xlabel().startswith("pooled values")
    assert not plt.get_fignums()


def test_changes_by_shift_agrees_with_the_metrics_shift_by_shift():
    model = ConvNet(ConvNetConfig(channels=(4, 4), stride=2), seed=1).eval()
    images, _ = glyph_images(40, 8, noise=0.5, seed=2)
    predictions, scores = changes_by_shift(model, images, 3)
    assert predictions.shape == scores.shape == (3, 3)
    for dy in range(3):
        for dx in range(3):
            g = Shift(dy, dx)
            assert predictions[dy, dx] == pytest.approx(
                1 - prediction_agreement(model, images, g, Identity()))
            assert scores[dy, dx] == pytest.approx(
                1 - fraction_exact(invariance_error(model, images, g)))
    assert predictions[0, 0] == 0 and scores[0, 0] == 0
    assert scores[0, 1] == 1  # a stride-2 network changes its scores under an odd shift


def test_changes_by_shift_measures_several_networks_at_once_as_it_measures_each():
    images, labels = glyph_images(40, 8, noise=0.5, seed=2)
    config = ConvNetConfig(channels=(4, 4), stride=2)
    runs = train_runs(lambda s: ConvNet(config, seed=s), (0, 3), images, labels, epochs=1,
                      lr=0.05)
    predictions, scores = changes_by_shift(runs.logits, images, 3)
    assert predictions.shape == scores.shape == (2, 3, 3)
    for k in range(2):
        alone = changes_by_shift(runs.model(k), images, 3)
        assert torch.allclose(predictions[k], alone[0]) and torch.allclose(scores[k], alone[1])
