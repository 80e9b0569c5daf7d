"""The checkers of chapter 6's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a useful
message on plausible wrong answers, on randomized inputs."""

import pytest
import torch
import torch.nn.functional as F

from shiftlab.exercises import _core
from shiftlab.exercises import rook as exercises
from shiftlab.exercises._core import EXPECT_ENV, ExerciseError
from shiftlab.layers import conv2d
from shiftlab.quadrant import photo_patches, quadrant_images
from shiftlab.rook import RookNet, corner_pair, rook_images

# Reference answers, as a learner would write them.

def rook_pair(patch, size, border):
    h, w = patch.shape
    side = size + 2 * border
    images = torch.zeros(2, 1, side, side, dtype=patch.dtype)
    images[0, 0, border:border + h, border:border + w] = patch
    far = border + size
    images[1, 0, far - h:far, far - w:far] = patch
    return images


def full_conv(x, weight):
    k = weight.shape[-1]
    return F.conv2d(F.pad(x, (k - 1,) * 4), weight)


def my_fraction(filters, padding):
    maps = torch.relu(conv2d(rook_images()[0], filters[:, None], padding=padding))
    pooled = maps.amax(dim=(-2, -1))
    return (pooled[0] == pooled[1]).double().mean().item()


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
    return torch.equal(values[:4], values[4:])


def _maxima_agree(maps):
    pooled = maps.amax(dim=(-2, -1))
    return torch.equal(pooled[:4], pooled[4:])


my_border = border_by(_sorted_agree)

CHECKS = [
    (exercises.check_rook_pair, rook_pair),
    (exercises.check_full_conv, full_conv),
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

def _padded_only(x, weight):
    k = weight.shape[-1]
    return F.pad(x, (k - 1,) * 4)[:, :1].expand(-1, weight.shape[0], -1, -1)


WRONG_FULL = [
    (lambda x, w: F.conv2d(x, w, padding="same"), "same padding"),
    (lambda x, w: full_conv(x, w.flip(-2, -1)), "flipped"),
    (lambda x, w: F.conv2d(F.pad(x, (2 * (w.shape[-1] - 1), 0) * 2), w), "four sides"),
    (_padded_only, "padded input's size"),
    (lambda x, w: full_conv(x, w) + 1e-3, "wrong values"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_FULL)
def test_wrong_full_convolutions_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_full_conv(answer)


# 6.3 ----------------------------------------------------------------------------------------

def _always_same(filters, padding):
    return my_fraction(filters, "same")


def _loose(filters, padding):
    maps = torch.relu(conv2d(rook_images()[0], filters[:, None], padding=padding))
    pooled = maps.amax(dim=(-2, -1))
    return torch.isclose(pooled[0], pooled[1], atol=10.0).double().mean().item()


@pytest.mark.parametrize(("answer", "message"), [
    (_always_same, "fraction for padding='same': use the padding you were given"),
    (lambda f, p: my_fraction(f, p) if p != "full" else 0.5, "theorem says every filter"),
    (_loose, "not with a loose tolerance"),
    (lambda f, p: "all", "fraction"),
])
def test_wrong_fractions_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_equal_pool_fraction(answer)


def test_the_fraction_is_one_exactly_for_full_and_circular_padding():
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
        final = train_rook_runs(padding, (0, 1, 2), epochs=40).accuracy[-1]
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
