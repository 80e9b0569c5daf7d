"""Checkers for chapter 4, pooling: local and global.

Each checker draws its trials from a seeded generator, so the same answer gets the same verdict
on every run; a wrong answer gets what was tried, what was expected, what came, and a hint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from shiftlab import _validate
from shiftlab.data import glyph_images
from shiftlab.exercises._core import (
    ExerciseError,
    as_number,
    as_tensor,
    attempt,
    close,
    describe_value,
    exercise,
)
from shiftlab.layers import max_pool
from shiftlab.metrics import (
    exact_tolerance,
    fraction_exact,
    invariance_error,
    prediction_agreement,
    relative_error,
)
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.pooling import survival_probability, surviving_fraction
from shiftlab.transforms import Identity, Shift, shift, translate


def _random_shape(generator: torch.Generator, *, even: bool) -> tuple[int, int, int, int]:
    n, c = torch.randint(1, 4, (2,), generator=generator).tolist()
    h, w = torch.randint(1, 7, (2,), generator=generator).tolist()
    return (n, c, 2 * h, 2 * w) if even else (n, c, h + 2, w + 2)


@exercise("4.1", "max pooling by reshaping")
def check_max_pool(max_pool_2x2: Callable, *, seed: int = 0, trials: int = 30) -> None:
    """``max_pool_2x2(x)`` maps ``(N, C, H, W)`` (even ``H``, ``W``) to ``(N, C, H/2, W/2)``, the
    largest value of every 2x2 block: it must equal ``shiftlab.layers.max_pool(x, 2)``."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(trials):
        shape = _random_shape(generator, even=True)
        original = x = torch.randn(shape, generator=generator)
        want = max_pool(original, 2)
        call = f"max_pool_2x2(x) with x of shape {shape}"
        got = as_tensor(attempt(max_pool_2x2, x, call=call), call, dtype=x.dtype)
        n, c, h, w = shape
        if got.shape != want.shape:
            hint = ""
            if got.shape == (n, c, h - 1, w - 1):
                hint = ("That is a stride of 1: the windows overlap. With stride 2 they tile the "
                        "image, and the output is half as high and half as wide.")
            raise ExerciseError(
                f"{call} returned shape {tuple(got.shape)}; expected {tuple(want.shape)}. {hint}"
            )
        if torch.equal(got, want):
            continue
        hint = ""
        blocks = original.reshape(n, c, 2, h // 2, 2, w // 2).amax(dim=(2, 4))
        if torch.allclose(got, F.avg_pool2d(original, 2)):
            hint = "That is the average of each window: take the largest value (amax)."
        elif torch.equal(got, blocks):
            hint = ("You grouped row i with row i + H/2. Split each spatial axis as (H/2, 2), so "
                    "that rows 2i and 2i + 1 fall in one window: reshape(N, C, H//2, 2, W//2, 2).")
        raise ExerciseError(f"{call} is wrong: expected\n{want[0, 0]}\ngot\n{got[0, 0]}\n{hint}")


SHIFTS_3X3 = ((0, 1), (0, 2), (1, 1), (1, 2), (2, 2), (0, 3))
"""The shifts of exercise 4.2, for 3x3 max pooling with stride 3."""


def measured_survival_3x3(seed: int = 0) -> dict[tuple[int, int], float]:
    """The surviving fraction of 3x3 / stride-3 max pooling for each shift in ``SHIFTS_3X3``,
    measured on 700 noise images of 18 x 18 pixels (25 200 pooled values)."""
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    x = torch.randn(700, 1, 18, 18, generator=generator)
    return {t: surviving_fraction(x, t, 3) for t in SHIFTS_3X3}


@exercise("4.2", "derive, then measure: what survives 3x3 pooling?")
def check_survival_3x3(my_survival_predictions: Callable[[], dict]) -> None:
    """``my_survival_predictions()`` returns ``{t: probability}`` for every ``t`` in
    ``SHIFTS_3X3``: the chance that a 3x3 / stride-3 max-pooled value of iid noise survives."""
    derived = {t: survival_probability(t, 3) for t in SHIFTS_3X3}
    call = "my_survival_predictions()"
    answers = attempt(my_survival_predictions, call=call)
    if not isinstance(answers, dict) or set(answers) != set(SHIFTS_3X3):
        raise ExerciseError(
            f"{call} must return a dict with the keys {list(SHIFTS_3X3)}, "
            f"got {describe_value(answers)}"
        )
    measured = measured_survival_3x3()
    wrong = []
    for t in SHIFTS_3X3:
        got = as_number(answers[t], f"{call}[{t}]")
        want = derived[t]
        if close(got, float(want), 1e-3):
            continue
        shared = (3 - t[0] % 3) * (3 - t[1] % 3)
        hint = ""
        if t[0] % 3 == 0 and t[1] % 3 == 0:
            hint = ("a shift by the stride moves every window onto its neighbour: compare with "
                    "the pooled map moved by one, and every value survives")
        elif close(got, shared / 9, 1e-3):
            hint = (f"{shared}/9 is the part of the window that is shared; the value survives when "
                    "the largest pixel of BOTH windows together lies in the shared part")
        elif close(got, shared / 18, 1e-3):
            hint = (f"the two windows hold 18 - {shared} distinct pixels, not 18: the {shared} "
                    "shared ones are counted once")
        wrong.append(f"  t = {t}: you said {got:.4f}, derived {want} = {float(want):.4f}, "
                     f"measured {measured[t]:.4f}. {hint}")
    if wrong:
        raise ExerciseError(
            f"{len(wrong)} of {len(SHIFTS_3X3)} answers disagree with the derivation (we accept "
            "±0.001):\n" + "\n".join(wrong)
        )


def _power_mean(x: torch.Tensor, p: float) -> torch.Tensor:
    return x.pow(p).mean(dim=(-2, -1)).pow(1 / p)


@exercise("4.3", "a global power-mean pool, invariant to every shift")
def check_power_mean(global_power_mean: Callable, *, seed: int = 0, trials: int = 20) -> None:
    """``global_power_mean(x, p)`` maps non-negative ``(N, C, H, W)`` to ``(N, C)``:
    ``(mean_{i, j} x[..., i, j]^p)^(1/p)``; it must not change under circular shifts."""
    generator = torch.Generator().manual_seed(seed)
    powers = (1.0, 2.0, 3.0, 0.5, 8.0)
    for trial in range(trials):
        p = powers[trial % len(powers)]
        shape = _random_shape(generator, even=False)
        x = torch.relu(torch.randn(shape, generator=generator, dtype=torch.float64)) + 0.01
        want = _power_mean(x, p)
        dy, dx = torch.randint(-9, 10, (2,), generator=generator).tolist()
        call = f"global_power_mean(x, p={p}) with x of shape {shape}"
        got = as_tensor(attempt(global_power_mean, x, p, call=call), call)
        if got.shape != want.shape:
            hint = ""
            if got.shape == (*want.shape, 1, 1):
                hint = "Remove the spatial axes (no keepdim): the result has no H and no W."
            elif got.shape == want.shape[:1]:
                hint = "Pool over the spatial axes only (dim=(-2, -1)); keep the channels."
            raise ExerciseError(
                f"{call} returned shape {tuple(got.shape)}; expected {tuple(want.shape)}. {hint}"
            )
        if not torch.allclose(got.double(), want, rtol=1e-6, atol=1e-9):
            hint = ""
            if torch.allclose(got.double(), x.pow(p).mean(dim=(-2, -1))):
                hint = "That is the mean of x^p: take its p-th root, .pow(1 / p)."
            elif torch.allclose(got.double(), x.pow(p).sum(dim=(-2, -1)).pow(1 / p)):
                hint = "That is a sum: average over the H·W pixels (mean) before the root."
            raise ExerciseError(
                f"{call} is wrong: expected (first sample)\n{want[0]}\ngot\n{got[0]}\n{hint}"
            )
        moved = as_tensor(attempt(global_power_mean, shift(x, (dy, dx)), p, call=call), call)
        change = float(relative_error(moved.double(), got.double(), batched=False))
        if not change <= 1e-9:
            raise ExerciseError(
                f"{call}: shifting x circularly by {(dy, dx)} changed the result by {change:.2g} "
                "(relative). A global pool must treat every pixel alike: pool over all of them."
            )


def calibrated_classifier(config: ConvNetConfig, seed: int = 0) -> ConvNet:
    """A random (untrained) ``ConvNet`` whose head bias is set so that it predicts each of two
    classes for about half of the glyph images: a classifier with borderline cases to flip."""
    seed = _validate.integer(seed, "seed", low=-2**62, high=2**62)
    model = ConvNet(config, seed=seed)
    reference, _ = glyph_images(256, 16, noise=0.5, seed=seed + 100)
    with torch.no_grad():
        scores = model(reference)
        margin = (scores[:, 1] - scores[:, 0]).median()
        model.head.bias[1] -= margin
    return model.eval()


CLASSIFIER_CONFIGS = (
    ConvNetConfig(channels=(4, 4), stride=2),
    ConvNetConfig(channels=(4, 4), local_pool=True),
    ConvNetConfig(channels=(4,)),
    ConvNetConfig(channels=(4, 4, 4), stride=2, global_pool="max"),
)


def _changed(model: ConvNet, images: torch.Tensor, g: Callable) -> float:
    return 1 - prediction_agreement(model, images, g, Identity())


@exercise("4.4", "measure how many predictions a shift changes")
def check_prediction_changes(prediction_changes: Callable, *, seed: int = 0) -> None:
    """``prediction_changes(model, images, t)`` is the fraction of ``images`` whose predicted class
    (the arg max of ``model``'s scores) changes when they are shifted circularly by ``t``."""
    generator = torch.Generator().manual_seed(seed)
    images, _ = glyph_images(128, 16, noise=0.5, seed=seed + 1)
    for k, config in enumerate(CLASSIFIER_CONFIGS):
        model = calibrated_classifier(config, seed=seed + k)
        for _ in range(3):
            dy, dx = 0, 0
            while dy % 2 == 0 and dx % 2 == 0:
                dy, dx = torch.randint(-5, 6, (2,), generator=generator).tolist()
            t = (dy, dx)
            want = _changed(model, images, Shift(dy, dx))
            call = f"prediction_changes(model, images, t={t}) for a model with {config}"
            got = as_number(attempt(prediction_changes, model, images, t, call=call), call)
            if close(got, want):
                continue
            hint = ""
            scores_changed = 1 - fraction_exact(invariance_error(model, images, Shift(dy, dx)))
            if close(got, 1 - want):
                hint = "That is the fraction that stays the same: return the fraction that changes."
            elif close(got, want * len(images)):
                hint = f"That is a count: divide by the number of images ({len(images)})."
            elif close(got, _changed(model, images, lambda x, t=t: translate(x, t))):
                hint = "Zeros came in at the border: shift circularly (shiftlab.shift)."
            elif close(got, _changed(model, images, Shift(dx, dy))):
                hint = "dy and dx are swapped: t = (dy, dx), rows first."
            elif close(got, scores_changed):
                hint = ("That counts images whose scores change at all: compare the predicted "
                        "classes, scores.argmax(dim=1).")
            raise ExerciseError(f"{call} returned {got:.4f}; expected {want:.4f}. {hint}")


ARCHITECTURES: dict[str, ConvNetConfig] = {
    "a": ConvNetConfig(channels=(4, 4)),
    "b": ConvNetConfig(channels=(4,), stride=2),
    "c": ConvNetConfig(channels=(4, 4), stride=2),
    "d": ConvNetConfig(channels=(4, 4, 4), stride=2),
    "e": ConvNetConfig(channels=(4, 4), local_pool=True, global_pool="avg"),
    "f": ConvNetConfig(channels=(4, 4), local_pool=True, global_pool="max"),
}
"""The architectures of exercise 4.5 (all with circular padding)."""

PERIODS = (1, 2, 4, 8)


def unchanged_shifts(config: ConvNetConfig, *, size: int = 8, seed: int = 0) -> torch.Tensor:
    """``(size, size)`` bool: for each shift ``(dy, dx)``, whether the class scores of a random
    network of this architecture stay exactly the same (≤ 64 ε) on 32 images of 16 x 16 pixels."""
    size = _validate.positive_int(size, "size", high=16)  # shifts of a 16 x 16 image
    seed = _validate.integer(seed, "seed", low=-2**62, high=2**62)
    model = ConvNet(config, seed=seed).eval()
    images, _ = glyph_images(32, 16, noise=0.5, seed=seed + 7)
    tol = exact_tolerance(torch.float32)
    with torch.no_grad():
        before = model(images)
        return torch.tensor([
            [bool((relative_error(model(shift(images, (dy, dx))), before, batched=True)
                   <= tol).all()) for dx in range(size)]
            for dy in range(size)
        ])


def measured_period(config: ConvNetConfig, *, seed: int = 0) -> int:
    """The period ``p`` whose lattice ``pZ x pZ`` is exactly the set of shifts (in 0..7) that
    leave every score unchanged; 0 if the set is no such lattice."""
    unchanged = unchanged_shifts(config, seed=seed)
    steps = torch.arange(8)
    for p in PERIODS:
        lattice = ((steps[:, None] % p) == 0) & ((steps[None, :] % p) == 0)
        if torch.equal(unchanged, lattice):
            return p
    return 0


@functools.cache
def _measured_period(config: ConvNetConfig) -> int:
    """``measured_period(config)``, measured once per session (it takes seconds)."""
    return measured_period(config)


def describe(config: ConvNetConfig) -> str:
    """A ``ConvNetConfig`` as a chain of layers, e.g. ``conv 3x3 stride 2 → ReLU → … → linear``."""
    if not isinstance(config, ConvNetConfig):
        raise TypeError(f"config must be a ConvNetConfig, got {type(config).__name__}")
    stride = f" stride {config.stride}" if config.stride > 1 else ""
    layer = f"conv {config.kernel_size}x{config.kernel_size}{stride} → ReLU"
    if config.local_pool:
        layer += " → max pool 2x2"
    pool = {"avg": "global average pool", "max": "global max pool"}[config.global_pool]
    return " → ".join([layer] * len(config.channels) + [pool, "linear"])


def _why(config: ConvNetConfig) -> str:
    layers = len(config.channels)
    if config.stride > 1:
        plural = "s" if layers > 1 else ""
        return (f"{layers} stride-{config.stride} convolution{plural}: "
                f"S = {config.stride}^{layers}")
    if config.local_pool and config.global_pool == "max":
        return (f"{layers} local max pools, but the global max absorbs the last one "
                f"(max of window maxima = max): S = 2^{layers - 1}")
    if config.local_pool:
        return f"{layers} local max pools before a global average: S = 2^{layers}"
    return "stride 1 and circular padding: equivariant to every shift, S = 1"


@exercise("4.5", "predict, then measure the period of six classifiers")
def check_periods(my_periods: Callable[[], dict]) -> None:
    """``my_periods()`` returns ``{name: p}`` for every architecture in ``ARCHITECTURES``: the
    smallest ``p`` such that every shift in ``pZ x pZ`` leaves every prediction unchanged."""
    architectures = dict(ARCHITECTURES)  # the questions, fixed before the learner's code runs
    call = "my_periods()"
    answers = attempt(my_periods, call=call)
    if not isinstance(answers, dict) or set(answers) != set(ARCHITECTURES):
        raise ExerciseError(
            f"{call} must return a dict with the keys {sorted(ARCHITECTURES)}, "
            f"got {describe_value(answers)}"
        )
    bad = {k: v for k, v in answers.items() if type(v) is not int or v not in PERIODS}
    if bad:
        raise ExerciseError(f"every period must be one of {PERIODS}, got {bad}")
    wrong = []
    for name, config in architectures.items():
        period = _measured_period(config)
        if answers[name] != period:
            wrong.append(f"  {name}: {describe(config)}\n     you said {answers[name]}, "
                         f"measured {period}: {_why(config)}.")
    if wrong:
        raise ExerciseError(
            f"{len(wrong)} of {len(ARCHITECTURES)} periods disagree with the measurement:\n"
            + "\n".join(wrong)
        )

