"""Checkers for chapter 6, the rook experiment.

Each checker draws its trials from a seeded generator (patches, sizes, borders, filters,
network weights), so a notebook shows the same output on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from shiftlab import _validate
from shiftlab.exercises._core import (
    ExerciseError,
    as_int,
    as_number,
    as_tensor,
    attempt,
    describe_value,
    exercise,
    random_int,
)
from shiftlab.metrics import exact_tolerance
from shiftlab.quadrant import photo_patches, quadrant_images
from shiftlab.rook import RookNet, RookNetConfig, corner_pair, pooled_features, rook_images

# Exercise 6.1 ---------------------------------------------------------------------------------

@exercise("6.1", "the two rook images, for any patch")
def check_rook_pair(rook_pair: Callable, *, seed: int = 0, trials: int = 30) -> None:
    """``rook_pair(patch, size, border)`` must equal ``rook.corner_pair``: ``(2, 1, S, S)``."""
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        height, width = random_int(1, 6, generator), random_int(1, 6, generator)
        size = max(height, width) + random_int(0, 6, generator)
        border = random_int(0, 3, generator) if trial else 0
        if trial == 1:
            height, width, size, border = 3, 2, 6, 1  # small, not square, with a border
        patch = torch.rand(height, width, generator=generator) + 0.5  # no zero pixels
        original = patch
        want = corner_pair(original, size, border)
        call = f"rook_pair(patch of shape {(height, width)}, size={size}, border={border})"
        got = as_tensor(attempt(rook_pair, patch, size, border, call=call), call,
                        dtype=patch.dtype)
        if got.shape != want.shape:
            side = size + 2 * border
            hint = ""
            if got.shape == want.shape[:1] + want.shape[2:]:
                hint = " Keep the channel axis: (2, 1, S, S), as a batch of two images."
            elif got.shape[-1] in (size + border, size):
                hint = f" The border goes on all four sides: S = size + 2 · border = {side}."
            raise ExerciseError(
                f"{call} returned shape {tuple(got.shape)}; expected {tuple(want.shape)}.{hint}"
            )
        if torch.equal(got, want):
            continue
        hint = "Paste the patch with its top-left pixel at (border, border) in image 0."
        if torch.equal(got, want.flip(0)):
            hint = "The two images are swapped: image 0 has the patch at the top left."
        elif torch.equal(got[0], want[0]):
            hint = ("Image 0 is right. In image 1 the patch's bottom-right pixel sits at "
                    f"(border + size - 1, border + size - 1) = {(border + size - 1,) * 2}, so "
                    "its top-left pixel at (border + size - height, border + size - width).")
        elif got.sum() != want.sum():
            hint = "Each image must hold the patch exactly once, on a black (zero) canvas."
        raise ExerciseError(f"{call} is wrong. {hint}")


# Exercise 6.2 ---------------------------------------------------------------------------------

SEPARATING_MARGIN = 0.5
"""How large the pooled feature of the image a designed filter fires on must be, at least."""


@exercise("6.2", "design a filter that tells the corners apart")
def check_separating_filter(separating_filter: Callable, *, seed: int = 0,
                            trials: int = 12) -> None:
    """``separating_filter()`` returns a 5 x 5 filter whose pooled feature, under same padding,
    is 0 for one rook image and at least ``SEPARATING_MARGIN`` for the other; checked on the
    chapter's images at random brightnesses (the design must not rely on exact pixel values)."""
    call = "separating_filter()"
    got = as_tensor(attempt(separating_filter, call=call), call)
    if got.shape == (1, 1, 5, 5):
        got = got[0, 0]
    if got.shape != (5, 5):
        raise ExerciseError(f"{call} returned shape {tuple(got.shape)}; expected a 5 x 5 filter")
    if not torch.isfinite(got).all():
        raise ExerciseError(f"{call} returned a filter with inf or nan taps")
    weight = got.detach().float()[None, None]
    images, _ = rook_images()
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        brightness = 1.0 if trial == 0 else 0.5 + torch.rand((), generator=generator).item()
        pooled = pooled_features(weight, brightness * images, "same")[0]
        high, low = pooled.max().item(), pooled.min().item()
        where = f"with the rook at brightness {brightness:.2f}"
        if high == 0:
            raise ExerciseError(
                f"Your filter never fires {where}: both pooled features are 0 (a dead filter). "
                "Some taps must be positive, placed where they see the rook in one image."
            )
        if low > 0:
            raise ExerciseError(
                f"Your filter fires on both images {where}: pooled features "
                f"{pooled[0].item():.3f} (top left) and {pooled[1].item():.3f} (bottom right). "
                "Its strongest response lies where the border cuts nothing. Make every tap "
                "that can see the inside of the rook negative, and keep positive only a few "
                "taps on one edge of the window: they then fire only where the rook's edge "
                "meets that side of the window and nothing else of the rook is inside, a "
                "window that same padding computes in one image only."
            )
        if high < SEPARATING_MARGIN * brightness:
            raise ExerciseError(
                f"Your filter fires on one image only {where}, but weakly: its pooled feature "
                f"is {high:.3f}; make it at least {SEPARATING_MARGIN} at brightness 1 (scale "
                "the positive taps up), so that a read-out separates the two with a margin."
            )


# Exercise 6.3 ---------------------------------------------------------------------------------

PADDINGS = ("valid", "same", "full", "circular", "reflect")
"""The paddings of exercises 6.3 and 6.4."""


def equal_pool_fraction(filters: torch.Tensor, padding: str) -> float:
    """The reference for exercise 6.3: the fraction of filters ``(F, 5, 5)`` for which the two
    rook images have the same pooled feature under ``padding``, up to rounding: the two differ
    by at most ``exact_tolerance(float32)`` times the larger."""
    filters = _validate.image_tensor(filters, "filters", ranks=(3,))
    if filters.dtype != torch.float32 or filters.device.type != "cpu":
        raise TypeError(f"filters must be float32 on the CPU, like the rook images, got "
                        f"{filters.dtype} on {filters.device}")
    pooled = pooled_features(filters[:, None], rook_images()[0], padding)
    return _equal_up_to_rounding(pooled[:, 0], pooled[:, 1]).double().mean().item()


def _equal_up_to_rounding(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs() <= exact_tolerance(torch.float32) * torch.maximum(a.abs(), b.abs())


@exercise("6.3", "prove by computing: equal pooled features")
def check_equal_pool_fraction(my_fraction: Callable, *, seed: int = 0) -> None:
    """``my_fraction(filters, padding)`` returns the fraction of the filters ``(F, 5, 5)`` for
    which ``max ReLU(w ⋆ x_0)`` and ``max ReLU(w ⋆ x_1)`` agree up to rounding, for the two rook
    images (``equal_pool_fraction``)."""
    generator = torch.Generator().manual_seed(seed)
    for padding in PADDINGS:
        filters = torch.randn(200, 5, 5, generator=generator)
        want = equal_pool_fraction(filters, padding)
        call = f"my_fraction(200 random 5x5 filters, padding={padding!r})"
        got = as_number(attempt(my_fraction, filters, padding, call=call), call)
        if abs(got - want) < 1e-9:
            continue
        hint = ("Compute ReLU(conv2d(images, w, padding=padding)) for both rook images, take "
                "the max over all pixels and count the filters whose two maxima are equal up "
                "to rounding: |p0 - p1| <= exact_tolerance(torch.float32) * max(|p0|, |p1|).")
        others = [p for p in PADDINGS if p != padding
                  and abs(got - equal_pool_fraction(filters, p)) < 1e-9]
        if got == 1.0:
            hint += (" Under this padding some filters see the border differently in the two "
                     "images; use the rounding tolerance, not a loose one, and apply the ReLU.")
        elif want == 1.0 and got > 0.9:
            hint += (" Some maxima differ in the last bits only: two positions of a feature map "
                     "may add the same products in another order. Compare with the rounding "
                     "tolerance, not with ==.")
        elif others:
            hint = (f"That is the fraction for padding={others[0]!r}: use the padding you "
                    "were given.")
        elif want == 1.0:
            hint += (f" Under {padding!r} padding the theorem says every filter gives equal "
                     "maxima.")
        raise ExerciseError(f"{call} returned {got:.3f}; expected {want:.3f}. {hint}")


# Exercise 6.4 ---------------------------------------------------------------------------------

SEPARABLE = {
    "valid": (True, "valid convolution drops every window that hangs over the edge, "
                    "differently for the two corners"),
    "same": (True, "same padding drops the windows centred outside the image, which touch the "
                   "rook in one image and not in the other"),
    "full": (False, "full convolution computes every window that overlaps the image: the two "
                    "feature maps hold the same numbers (the chapter's theorem)"),
    "circular": (False, "on the torus the second image is a circular shift of the first, and "
                        "circular convolution commutes with it"),
    "reflect": (True, "the mirror image of the rook appears beyond the edge it touches, on the "
                      "top-left edges in one image and the bottom-right ones in the other"),
}
"""Whether some filter gives the two rook images different pooled features, and why."""


@exercise("6.4", "predict, then measure: which paddings separate?")
def check_separable(my_separable: Callable[[], dict[str, bool]]) -> None:
    """``my_separable()`` returns ``{padding: bool}`` for the five ``PADDINGS``: can a filter
    give the two rook images different pooled features?"""
    truths = {p: truth for p, (truth, _) in SEPARABLE.items()}
    call = "my_separable()"
    answer = attempt(my_separable, call=call)
    if not isinstance(answer, dict) or set(answer) != set(PADDINGS):
        raise ExerciseError(f"{call} must return a dict with the keys {list(PADDINGS)}, "
                            f"got {describe_value(answer)}")
    if not all(isinstance(v, bool) for v in answer.values()):
        raise ExerciseError(f"every answer must be True or False, got {answer!r}")
    wrong = [f"  {p}: you said {answer[p]}, but it is {truths[p]}: {why}."
             for p, (_, why) in SEPARABLE.items() if answer[p] != truths[p]]
    if wrong:
        raise ExerciseError(f"{len(wrong)} of {len(PADDINGS)} answers are wrong:\n"
                            + "\n".join(wrong))


# Exercise 6.5 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class BorderNetwork:
    """A bias-free network of exercise 6.5 and what the learner is told about it."""

    description: str
    config: RookNetConfig

    def __post_init__(self) -> None:
        _validate.text(self.description, "description")
        if not isinstance(self.config, RookNetConfig):
            raise TypeError(f"config must be a RookNetConfig, got {type(self.config).__name__}")


NETWORKS: dict[str, BorderNetwork] = {
    "A": BorderNetwork("one 5x5 layer, 1 channel (the rook network)", RookNetConfig()),
    "B": BorderNetwork("two 3x3 layers, 4 channels each", RookNetConfig((4, 4), 3)),
    "C": BorderNetwork("three 3x3 layers, 4 channels each", RookNetConfig((4, 4, 4), 3)),
    "D": BorderNetwork("one 7x7 layer, 4 channels", RookNetConfig((4,), 7)),
    "E": BorderNetwork("two 5x5 layers, 4 channels each", RookNetConfig((4, 4), 5)),
}


def invisible_border(config: RookNetConfig, *, seeds: int = 3, max_border: int = 10) -> int:
    """The reference for exercise 6.5: the smallest border ``b`` at which, for ``seeds`` random
    networks and four photograph crops, the final feature maps of the two quadrant images hold
    the same values in every channel (sorted, and equal up to rounding)."""
    if not isinstance(config, RookNetConfig):
        raise TypeError(f"config must be a RookNetConfig, got {type(config).__name__}")
    seeds = _validate.positive_int(seeds, "seeds", high=100)
    max_border = _validate.non_negative_int(max_border, "max_border", high=256)
    patches = photo_patches(4, split="test", seed=5)
    for border in range(max_border + 1):
        images, _ = quadrant_images(patches, border=border)
        half = len(patches)
        if all(_same_values(RookNet(config, seed=s).features(images).detach(), half)
               for s in range(seeds)):
            return border
    raise ValueError(f"max_border = {max_border} is too small: no border up to it hides the "
                     "position")


def _same_values(maps: torch.Tensor, half: int) -> bool:
    """Whether every channel of the first ``half`` maps holds the values of the second half,
    sorted and compared up to rounding (``exact_tolerance(float32)`` of the largest value)."""
    values = maps.flatten(2).sort(dim=-1).values
    scale = exact_tolerance(torch.float32) * max(values.abs().max().item(), 1e-30)
    return bool(((values[:half] - values[half:]).abs() <= scale).all())


@exercise("6.5", "the border at which a network falls to chance")
def check_invisible_border(my_border: Callable, *, seed: int = 0) -> None:
    """``my_border(config)`` returns the smallest border width ``b`` at which the two quadrant
    images give a bias-free ``RookNet(config)`` the same feature values for random weights."""
    generator = torch.Generator().manual_seed(seed)
    names = list(NETWORKS)
    for k in torch.randperm(len(names), generator=generator).tolist():
        network = NETWORKS[names[k]]
        layers, size = len(network.config.channels), network.config.kernel_size
        want = network.config.receptive_radius
        call = f"my_border(network {names[k]}: {network.description})"
        got = as_int(attempt(my_border, network.config, call=call), call)
        if got == want:
            continue
        hint = ""
        if got == want + 1:
            hint = (" One too many: at b = r the responses reach exactly to the edge and nothing "
                    "is cut yet. Start the search at b = 0.")
        elif got == 2 * want + 1:
            hint = " That is the width of the receptive field, 2r + 1; the border needs only r."
        elif got == 2 * want:
            hint = " That is twice the reach: the border is only cut by what the patch reaches."
        elif got < want:
            hint = (" Compare all values of the final feature maps (sorted), not only their "
                    "maximum: a maximum can hide a difference. Use several crops and seeds.")
        raise ExerciseError(
            f"{call} returned {got}; expected {want}: {layers} layer(s) of {size}x{size} "
            f"reach r = {layers} · ({size} - 1) / 2 = {want} pixels, and from b = r on "
            f"nothing the network computes is cut by the edge.{hint}"
        )
