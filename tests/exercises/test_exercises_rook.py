"""The checkers of chapter 6's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a useful
message on plausible wrong answers, on randomized inputs."""

import pytest
import torch

from shiftlab.exercises import _core
from shiftlab.exercises import rook as exercises
from shiftlab.exercises._core import EXPECT_ENV, ExerciseError
from shiftlab.layers import conv2d
from shiftlab.metrics import exact_tolerance
from shiftlab.quadrant import photo_patches, quadrant_images
from shiftlab.rook import RookNet, corner_pair, pooled_features, rook_images

# Reference answers, as a learner would write them.

def rook_pair(patch, size, border):
    h, w = patch.shape
    side = size + 2 * border
    images = torch.zeros(2, 1, side, side, dtype=patch.dtype)
    images[0, 0, border:border + h, border:border + w] = patch
    far = border + size
    images[1, 0, far - h:far, far - w:far] = patch
    return images


def separating_filter():
    w = -torch.ones(5, 5)
    w[4, 1:4] = 1.0   # the rook's top edge, seen from two rows above
    return w


def my_fraction(filters, padding):
    maps = torch.relu(conv2d(rook_images()[0], filters[:, None], padding=padding))
    p0, p1 = maps.amax(dim=(-2, -1))
    tol = exact_tolerance(torch.float32)
    return ((p0 - p1).abs() <= tol * torch.maximum(p0, p1)).double().mean().item()


SEPARABLE = {"valid": True, "same": True, "full": False, "circular": False, "reflect": True}


def my_separable():
    return dict(SEPARABLE)


def border_by(compare, start=0):
    def my_border(config):
        patches = photo_patches(4, split="test", seed=3)
        for border in range(start, 20):
            images, _ = quadrant_images(patches, border=border)
            if all(compare(RookNet(config, seed=s).features(images).detach())
                   for s in range(3)):
                return border
        return 20

    return my_border


def _sorted_agree(maps):
    values = maps.flatten(2).sort(dim=-1).values
    return torch.allclose(values[:4], values[4:], rtol=0,
                          atol=exact_tolerance(torch.float32) * values.abs().max().item())


def _maxima_agree(maps):
    pooled = maps.amax(dim=(-2, -1))
    return torch.allclose(pooled[:4], pooled[4:], rtol=0,
                          atol=exact_tolerance(torch.float32) * pooled.abs().max().item())


my_border = border_by(_sorted_agree)

CHECKS = [
    (exercises.check_rook_pair, rook_pair),
    (exercises.check_separating_filter, separating_filter),
    (exercises.check_equal_pool_fraction, my_fraction),
    (exercises.check_separable, my_separable),
    (exercises.check_invisible_border, my_border),
]


@pytest.mark.parametrize(("check", "answer"), CHECKS[:4])
def test_a_solution_fails_in_an_untouched_lesson(check, answer, monkeypatch):
    monkeypatch.setenv(EXPECT_ENV, "pending")
    with pytest.raises(ExerciseError, match="contains a solution"):
        check(answer)


def test_a_checker_wants_the_function_not_its_result():
    with pytest.raises(ExerciseError, match="without calling it"):
        exercises.check_separable(my_separable())


# 6.1 ----------------------------------------------------------------------------------------

def _in_place(patch, size, border):
    patch *= 1
    patch += 0.25
    return corner_pair(patch - 0.25, size, border)


WRONG_PAIRS = [
    (lambda p, s, b: rook_pair(p, s, b).flip(0), "swapped"),
    (lambda p, s, b: rook_pair(p, s, b)[:, 0], "channel axis"),
    (lambda p, s, b: corner_pair(p, s + b, 0) if b else corner_pair(p, s, 0),
     "all four sides"),
    (lambda p, s, b: torch.stack([rook_pair(p, s, b)[0],
                                  rook_pair(p, s, b)[1].roll((-1, -1), dims=(-2, -1))]),
     "bottom-right pixel sits at"),
    (lambda p, s, b: rook_pair(p, s, b) * 2, "exactly once"),
    (_in_place, "in place"),
    (lambda p, s, b: rook_pair(p, s, b).tolist(), "torch.Tensor"),
    (lambda p, s, b: p[100], "IndexError"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_PAIRS)
def test_wrong_rook_pairs_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_rook_pair(answer)
    assert list(_core.results().values()) == ["failed"]


# 6.2 ----------------------------------------------------------------------------------------

def _filter(fill, **taps):
    w = torch.full((5, 5), fill)
    for (i, j), v in ((tuple(map(int, k[1:].split("_"))), v) for k, v in taps.items()):
        w[i, j] = v
    return w


WRONG_FILTERS = [
    (lambda: -torch.ones(5, 5), "never fires"),
    (lambda: torch.ones(5, 5), "fires on both images"),
    (lambda: _filter(-1.0, t0_0=1.0, t1_0=1.0, t2_0=1.0, t3_0=1.0, t4_0=1.0),
     "fires on both images"),
    (lambda: 0.01 * separating_filter(), "weakly"),
    (lambda: separating_filter()[:, :4], "5 x 5"),
    (lambda: separating_filter() * float("nan"), "nan"),
    (lambda: separating_filter().tolist(), "torch.Tensor"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_FILTERS)
def test_wrong_filters_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_separating_filter(answer)


def test_the_designed_filter_separates_under_same_padding_and_not_under_full():
    w = separating_filter()[None, None]
    same = pooled_features(w, rook_images()[0], "same")[0]
    full = pooled_features(w, rook_images()[0], "full")[0]
    assert same.min() == 0 and same.max() >= exercises.SEPARATING_MARGIN
    assert torch.allclose(full[0], full[1], rtol=exact_tolerance(torch.float32))
    exercises.check_separating_filter(lambda: separating_filter()[None, None])


# 6.3 ----------------------------------------------------------------------------------------

def _always_same(filters, padding):
    return my_fraction(filters, "same")


def _loose(filters, padding):
    maps = torch.relu(conv2d(rook_images()[0], filters[:, None], padding=padding))
    pooled = maps.amax(dim=(-2, -1))
    return torch.isclose(pooled[0], pooled[1], atol=10.0).double().mean().item()


def _bitwise_or_nearly(filters, padding):
    fraction = my_fraction(filters, padding)
    return 0.95 if fraction == 1.0 else fraction  # as if a few maxima differed in the last bits


@pytest.mark.parametrize(("answer", "message"), [
    (_always_same, "fraction for padding='same': use the padding you were given"),
    (lambda f, p: my_fraction(f, p) if p != "full" else 0.5, "theorem says every filter"),
    (_loose, "not a loose one"),
    (_bitwise_or_nearly, "not with =="),
    (lambda f, p: "all", "fraction"),
])
def test_wrong_fractions_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_equal_pool_fraction(answer)


def test_the_fraction_is_one_for_full_and_circular_padding_and_below_for_the_others():
    filters = torch.randn(500, 5, 5, generator=torch.Generator().manual_seed(9))
    for padding in exercises.PADDINGS:
        fraction = exercises.equal_pool_fraction(filters, padding)
        assert (fraction == 1.0) == (padding in ("full", "circular"))


# 6.4 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("answer", "message"), [
    ({**SEPARABLE, "reflect": False}, r"(?s)1 of 5.*reflect: you said False.*mirror"),
    ({p: True for p in SEPARABLE}, r"2 of 5"),
    ({p: False for p in SEPARABLE}, r"3 of 5"),
    ({"same": True}, "keys"),
    ({**SEPARABLE, "same": "yes"}, "True or False"),
])
def test_wrong_separability_answers_name_the_padding_and_the_reason(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_separable(lambda: answer)


def test_the_separability_answers_are_what_training_finds():
    from shiftlab.rook import train_rook_runs

    for padding, (separable, _) in exercises.SEPARABLE.items():
        final = train_rook_runs(padding, range(10), epochs=40).accuracy[-1]
        assert bool((final == 1).any()) == separable


# 6.5 ----------------------------------------------------------------------------------------

def test_every_network_hides_the_position_exactly_from_its_reach_on():
    for network in exercises.NETWORKS.values():
        assert exercises.invisible_border(network.config) == network.config.receptive_radius


def _plus(k):
    def answer(config):
        return my_border(config) + k

    return answer


@pytest.mark.parametrize(("answer", "message"), [
    (_plus(1), "One too many"),
    (lambda c: 2 * c.receptive_radius + 1, "width of the receptive field"),
    (lambda c: 2 * c.receptive_radius, "twice the reach"),
    (lambda c: float(c.receptive_radius), "expected an int"),
    (lambda c: c.receptive_radius - 1, "not only their maximum"),
])
def test_wrong_borders_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_invisible_border(answer)


def test_comparing_only_the_maxima_can_stop_too_early():
    answer = border_by(_maxima_agree)
    assert any(answer(n.config) < n.config.receptive_radius
               for n in exercises.NETWORKS.values())
